//===- KernelBuilder.h - What the GPU kernel lowerings share ----*- C++ -*-===//
//
// Part of ssmc. Private to passes/Conversion/SSMToGPU: turning an ssm op on
// tensors into a gpu.func of the module's kernel module plus its
// gpu.launch_func, and the device-side pieces several kernels use.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_PASSES_CONVERSION_SSMTOGPU_KERNELBUILDER_H
#define SSM_PASSES_CONVERSION_SSMTOGPU_KERNELBUILDER_H

#include "ssm/Conversion/CoefficientEmitter.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/Configuration.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>
#include <string>

namespace mlir::ssm::gpu_lowering {

/// Threads of a warp on every NVIDIA GPU; the kernels' shuffles assume it.
constexpr int64_t kWarpSize = 32;

/// One kernel that replaces one op.
struct KernelSpec {
  /// Appended to the enclosing function's name to name the kernel.
  StringRef name;
  /// Tensors the kernel writes in place, in the order of the op's results
  /// they become.
  SmallVector<Value> destinations;
  /// Results without a destination operand, allocated in device memory
  /// (gpu.alloc) with these types and dynamic sizes; they become the op's
  /// results after those of `destinations`. The caller owns them.
  SmallVector<std::pair<RankedTensorType, SmallVector<Value>>> outputs;
  /// Tensors the kernel only reads; null entries (absent optional operands)
  /// pass no argument and reach the body as null.
  SmallVector<Value> inputs;
  /// Threads per block (one dimension).
  int64_t blockSize;
  /// Blocks of the grid (one dimension), computed on the host from the
  /// buffers (destinations, outputs, then the non-null inputs).
  function_ref<Value(OpBuilder &, Location, ValueRange)> gridSize;
  /// Emits the kernel's body; it receives the buffers in the order of
  /// `destinations`, `outputs`, `inputs` (null where an input is absent). The
  /// builder's insertion point is before the kernel's gpu.return.
  function_ref<void(OpBuilder &, Location, ArrayRef<Value>)> body;
  /// Bytes of dynamic shared memory per block (gpu.dynamic_shared_memory
  /// in the body); above 48 KB the runtime raises the kernel's limit.
  int64_t dynamicSharedBytes = 0;
};

/// Replaces `op` by a launch of the kernel `spec` describes. On the host,
/// the tensors are bridged to buffers (bufferization.to_buffer; writable
/// for destinations, so one-shot bufferization writes them in place or
/// copies first when it must), the outputs and the destinations made by
/// tensor.empty are allocated with gpu.alloc, and the op's results become
/// bufferization.to_tensor of those buffers.
void replaceWithKernel(RewriterBase &rewriter, Operation *op,
                       const KernelSpec &spec);

/// The launch of replaceWithKernel, before `op` (whose location and
/// enclosing function name the kernel), without replacing it: returns the
/// tensors of the destinations and outputs, for ops lowered to several
/// kernels.
SmallVector<Value> launchKernel(RewriterBase &rewriter, Operation *op,
                                const KernelSpec &spec);

/// An entry of KernelSpec::outputs: `type`, with those of `sizes` (one per
/// dimension) that are dynamic in it.
std::pair<RankedTensorType, SmallVector<Value>>
deviceOutput(RankedTensorType type, ArrayRef<Value> sizes);

/// blockIdx.x * blockSize + threadIdx.x, as an index (64-bit in the PTX).
Value globalThreadIndex(OpBuilder &b, Location loc, int64_t blockSize);

/// memref.load of `buffer[indices]` converted to `type`.
Value loadAs(OpBuilder &b, Location loc, Value buffer, ValueRange indices,
             Type type);

/// memref.store of `value` converted to `buffer`'s element type.
void storeAs(OpBuilder &b, Location loc, Value value, Value buffer,
             ValueRange indices);

/// The sum of `value` over the 32 lanes of a warp, in every lane
/// (butterfly of gpu.shuffle xor). All lanes of the warp must take part.
Value warpSum(OpBuilder &b, Location loc, Value value);

/// Size `dim` of `buffer` as an index.
Value dimOf(OpBuilder &b, Location loc, Value buffer, int64_t dim);

/// The compile-time size `dim` of `buffer`, if it is static.
std::optional<int64_t> staticDimOf(Value buffer, int64_t dim);

//===----------------------------------------------------------------------===//
// Kernels of ssm.recurrence
//===----------------------------------------------------------------------===//

/// What a GPU kernel of an `ssm.recurrence` reads and writes, as the
/// KernelSpec fields it fills, and how the op's tensors map onto the
/// kernel's buffers. The buffers come in the order: written (see below),
/// the op's inputs, the tensor the initial state is read from (unless the
/// state starts at zero), then reset, seq_idx and cu_seqlens as present.
class RecurrenceKernel {
public:
  /// In place (the decode form), the kernel updates the state destination
  /// and writes y: destinations {state, y_init}. Otherwise it writes y
  /// (destination y_init) and, when the op's final state has uses, that
  /// state into a new device buffer, reading the initial state from the
  /// state destination, unless that is known to be zero (zeros filled into
  /// tensor.empty).
  RecurrenceKernel(RewriterBase &rewriter, RecurrenceOp op, bool inPlace);

  /// The op's buffers in a kernel (or on the host, at the launch).
  struct Buffers {
    /// The op's tensors to their buffers; the state to the one written.
    IRMapping sources;
    /// Where the initial state is read; null when it is zero.
    Value initial;
    /// `state`: where the final state is written; null when it is not.
    Value y, state, cuSeqlens;
  };
  /// `buffers`: the kernel's arguments, or the launch's buffers.
  Buffers map(ValueRange buffers) const;
  /// The launch grid of a form that gives each block `perBlock` of the
  /// op's rowItems work items: their count over `perBlock`, rounded up.
  Value blocksFor(OpBuilder &b, Location loc, ValueRange buffers,
                  int64_t perBlock) const;

  /// A KernelSpec with the buffers filled in, named after the model op the
  /// recurrence states (`<op>` of `ssm.<op>`).
  KernelSpec spec() const;

  /// The tensor the initial state is read from; null when it is zero.
  Value initialState() const;

  /// Launches `spec` and replaces the op by the kernel's results.
  void launch(RewriterBase &rewriter, const KernelSpec &spec);
  /// Launches a kernel of a warp per work item (rowItems), `warpsPerBlock`
  /// to a block, whose body `body` emits; replaces the op.
  void launchWarps(RewriterBase &rewriter, int64_t warpsPerBlock,
                   function_ref<void(OpBuilder &, Location, ArrayRef<Value>)> body);
  /// Replaces the op by `results` (y, then the final state when the op
  /// has one), for an op lowered to several kernels.
  void replace(RewriterBase &rewriter, ValueRange results);

private:
  // Op accessors are not const; map() never changes the op.
  mutable RecurrenceOp op;
  bool inPlace;
  /// Whether the kernel writes the final state (always in place).
  bool writesState = true;
  std::string name;
  /// The zero-filled tensor.empty the state destination comes from, if so.
  Operation *zeroFill = nullptr;
  SmallVector<Value> destinations, inputs;
  SmallVector<std::pair<RankedTensorType, SmallVector<Value>>> outputs;
};

/// The work items of a recurrence kernel with a warp per state row: rows
/// (batch rows, or the sequences of cu_seqlens) × g × r × p, in row-major
/// order, from the extents and, with cu_seqlens, its buffer.
Value rowItems(OpBuilder &b, Location loc, ArrayRef<Value> extents, Value cuSeqlens);

/// Binds the core indices of work item `item` (rowItems' order) in `scope`;
/// returns the row (with cu_seqlens, the sequence; `b` is then 0).
Value bindRowItem(OpBuilder &b, Location loc, CoefficientEmitter::Scope &scope,
                  Value item, ArrayRef<Value> extents, bool packed);

/// The calling thread's place when each block runs `warpsPerBlock` warps,
/// one work item each.
struct WarpItem {
  /// The lane, the warp within the block and the warp's work item.
  Value lane, warp, item;
};
WarpItem warpItem(OpBuilder &b, Location loc, int64_t warpsPerBlock);

/// The decay `yield` gives at `scope` (exp of it with log_decay).
Value decayAt(OpBuilder &b, Location loc, RecurrenceOp op,
              CoefficientEmitter &emitter, CoefficientEmitter::Scope &scope);

/// Why the recurrence `op` cannot be lowered to a GPU kernel for `chip`
/// (the text follows "'<op>' op ", the op it states), or nothing when it
/// can.
std::optional<std::string> whyNoGPULowering(RecurrenceOp op, GPUChip chip);

/// The name of the model op `op` states (`ssm.ssd`), from its location.
std::string sourceOpName(RecurrenceOp op);

/// Adds the lowering of `ssm.causal_conv1d` (LowerCausalConv1d.cpp).
void populateCausalConv1dPatterns(RewritePatternSet &patterns);

/// Whether `op` is configured for the chunked form with a chunk length and
/// tile that the chunked kernels for `chip` take.
bool hasChunkedKernel(RecurrenceOp op, GPUChip chip);

/// Adds the chunked (tensor-core) form of `ssm.recurrence`, for the ops
/// that hasChunkedKernel accepts (ChunkedForm.cpp): the wgmma kernel for a
/// tile of 64 channels, the mma.sync kernel for 16; the spans as `spans`
/// says. The recurrent form serves the ops of any other form.
void populateChunkedPatterns(RewritePatternSet &patterns, GPUChip chip);

/// Adds the decode form of `ssm.recurrence`: one step, no time dimension,
/// the state updated in place (DecodeForm.cpp).
void populateDecodePatterns(RewritePatternSet &patterns);

/// Adds the recurrent form of `ssm.recurrence` (RecurrentForm.cpp).
void populateRecurrentPatterns(RewritePatternSet &patterns);

} // namespace mlir::ssm::gpu_lowering

#endif // SSM_PASSES_CONVERSION_SSMTOGPU_KERNELBUILDER_H
