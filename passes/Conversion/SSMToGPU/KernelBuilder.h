//===- KernelBuilder.h - What the GPU kernel lowerings share ----*- C++ -*-===//
//
// Part of ssmc. Private to passes/Conversion/SSMToGPU: turning an ssm op on
// tensors into a gpu.func of the module's kernel module plus its
// gpu.launch_func, and the device-side pieces several kernels use.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_PASSES_CONVERSION_SSMTOGPU_KERNELBUILDER_H
#define SSM_PASSES_CONVERSION_SSMTOGPU_KERNELBUILDER_H

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/IR/PatternMatch.h"

#include <optional>
#include <string>

namespace mlir::ssm {
struct GPULoweringOptions;
} // namespace mlir::ssm

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

/// Adds the lowering of `ssm.causal_conv1d` (LowerCausalConv1d.cpp).
void populateCausalConv1dPatterns(RewritePatternSet &patterns);

/// Adds the lowering of `ssm.selective_scan` (LowerSelectiveScan.cpp).
void populateSelectiveScanPatterns(RewritePatternSet &patterns);

/// Why `op` cannot be lowered to a GPU kernel (the text follows "'op' "),
/// or nothing when it can.
std::optional<std::string> whyNoGPULowering(SelectiveScanOp op);

/// Adds the lowering of `ssm.ssd` (LowerSSD.cpp).
void populateSSDPatterns(RewritePatternSet &patterns);

/// Why `op` cannot be lowered to a GPU kernel, or nothing when it can.
std::optional<std::string> whyNoGPULowering(SSDOp op);

/// Adds the chunked (tensor-core) lowering of the `ssm.ssd` ops that ask
/// for `algorithm chunked`, or have no `algorithm` and a dynamic or long
/// sequence, and fit its limits (LowerSSDChunked.cpp); it takes precedence
/// over the recurrent kernel, which serves the others. With
/// `options.warpgroupMma`, the ops that fit it take the wgmma kernel.
void populateChunkedSSDPatterns(RewritePatternSet &patterns,
                                const GPULoweringOptions &options);

/// Adds the lowering of `ssm.state_update` (LowerStateUpdate.cpp).
void populateStateUpdatePatterns(RewritePatternSet &patterns);

} // namespace mlir::ssm::gpu_lowering

#endif // SSM_PASSES_CONVERSION_SSMTOGPU_KERNELBUILDER_H
