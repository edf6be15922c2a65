//===- KernelBuilder.cpp - What the GPU kernel lowerings share ------------===//
//
// Part of ssmc. See KernelBuilder.h.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::gpu_lowering;

/// All kernels of a module go into one gpu.module, so that a target gets
/// one PTX module (one file, one load) whatever the number of ops.
static constexpr StringLiteral kKernelModuleName = "ssm_kernels";

static gpu::GPUModuleOp getOrCreateKernelModule(RewriterBase &rewriter,
                                                ModuleOp module) {
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModuleName))
    return existing;
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  rewriter.getUnitAttr());
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToEnd(module.getBody());
  return gpu::GPUModuleOp::create(rewriter, module.getLoc(), kKernelModuleName);
}

static MemRefType bufferTypeOf(RankedTensorType type) {
  return MemRefType::get(type.getShape(), type.getElementType());
}

static MemRefType bufferTypeOf(Value tensor) {
  return bufferTypeOf(cast<RankedTensorType>(tensor.getType()));
}

/// A buffer of `type` in device memory (gpu.alloc; the host lowering turns
/// it into the runtime's device allocation on the function's stream).
static Value allocateOnDevice(RewriterBase &rewriter, Location loc,
                              RankedTensorType type, ValueRange dynamicSizes) {
  return gpu::AllocOp::create(rewriter, loc, bufferTypeOf(type),
                              /*asyncToken=*/Type(), /*asyncDependencies=*/{},
                              dynamicSizes, /*symbolOperands=*/{},
                              /*hostShared=*/nullptr)
      .getMemref();
}

SmallVector<Value> gpu_lowering::launchKernel(RewriterBase &rewriter,
                                              Operation *op,
                                              const KernelSpec &spec) {
  Location loc = op->getLoc();
  // Destinations are bridged first: an input that aliases one is then read
  // after the write as one-shot bufferization sees it, and gets a copy.
  SmallVector<Value> buffers;
  for (Value d : spec.destinations) {
    // A tensor.empty destination (a `y_init` written the usual way) has no
    // values to keep: a fresh device buffer serves, where bufferization
    // would allocate host memory.
    if (auto empty = d.getDefiningOp<tensor::EmptyOp>()) {
      buffers.push_back(allocateOnDevice(rewriter, loc, empty.getType(),
                                         empty.getDynamicSizes()));
      continue;
    }
    buffers.push_back(bufferization::ToBufferOp::create(
        rewriter, loc, bufferTypeOf(d), d, /*read_only=*/false));
  }
  SmallVector<Type> resultTypes = llvm::to_vector(
      llvm::map_range(spec.destinations, [](Value d) { return d.getType(); }));
  for (const auto &[type, sizes] : spec.outputs) {
    buffers.push_back(allocateOnDevice(rewriter, loc, type, sizes));
    resultTypes.push_back(type);
  }
  for (Value in : spec.inputs)
    if (in)
      buffers.push_back(bufferization::ToBufferOp::create(
          rewriter, loc, bufferTypeOf(in), in, /*read_only=*/true));

  // The kernel: one argument per buffer, its name from the enclosing
  // function so that profiles and PTX read back to the source.
  auto module = op->getParentOfType<ModuleOp>();
  gpu::GPUModuleOp kernels = getOrCreateKernelModule(rewriter, module);
  std::string name = spec.name.str();
  if (auto func = op->getParentOfType<FunctionOpInterface>())
    name = (func.getName() + "_" + spec.name).str();
  SmallVector<Type> argTypes;
  for (Value buffer : buffers)
    argTypes.push_back(buffer.getType());
  gpu::GPUFuncOp kernel;
  {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToEnd(kernels.getBody());
    kernel = gpu::GPUFuncOp::create(rewriter, loc, name,
                                    rewriter.getFunctionType(argTypes, {}));
    kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                    rewriter.getUnitAttr());
    // A known block size lets the NVVM lowering bound thread ids (range
    // metadata, .maxntid) and ptxas budget registers for exactly that.
    kernel.setKnownBlockSizeAttr(rewriter.getDenseI32ArrayAttr(
        {static_cast<int32_t>(spec.blockSize), 1, 1}));
    SymbolTable(kernels).insert(kernel);
    Block &entry = kernel.getBody().front();
    rewriter.setInsertionPointToEnd(&entry);
    auto ret = gpu::ReturnOp::create(rewriter, loc);
    rewriter.setInsertionPoint(ret);
    SmallVector<Value> args;
    unsigned next = 0;
    for (size_t i = 0; i < resultTypes.size(); ++i)
      args.push_back(entry.getArgument(next++));
    for (Value in : spec.inputs)
      args.push_back(in ? entry.getArgument(next++) : Value());
    spec.body(rewriter, loc, args);
  }

  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value threads = arith::ConstantIndexOp::create(rewriter, loc, spec.blockSize);
  Value sharedBytes;
  if (spec.dynamicSharedBytes)
    sharedBytes = arith::ConstantIntOp::create(rewriter, loc,
                                               spec.dynamicSharedBytes, 32);
  gpu::LaunchFuncOp::create(rewriter, loc, kernel,
                            {spec.gridSize(rewriter, loc, buffers), one, one},
                            {threads, one, one}, sharedBytes, buffers);
  SmallVector<Value> results;
  for (auto [type, buffer] : llvm::zip(resultTypes, buffers))
    results.push_back(bufferization::ToTensorOp::create(
        rewriter, loc, type, buffer, /*restrict=*/rewriter.getUnitAttr(),
        /*writable=*/rewriter.getUnitAttr()));
  return results;
}

void gpu_lowering::replaceWithKernel(RewriterBase &rewriter, Operation *op,
                                     const KernelSpec &spec) {
  rewriter.replaceOp(op, launchKernel(rewriter, op, spec));
}

std::pair<RankedTensorType, SmallVector<Value>>
gpu_lowering::deviceOutput(RankedTensorType type, ArrayRef<Value> sizes) {
  SmallVector<Value> dynamic;
  for (auto [size, value] : llvm::zip(type.getShape(), sizes))
    if (ShapedType::isDynamic(size))
      dynamic.push_back(value);
  return {type, dynamic};
}

Value gpu_lowering::globalThreadIndex(OpBuilder &b, Location loc,
                                      int64_t blockSize) {
  Value first = arith::MulIOp::create(
      b, loc, gpu::BlockIdOp::create(b, loc, gpu::Dimension::x),
      arith::ConstantIndexOp::create(b, loc, blockSize));
  return arith::AddIOp::create(
      b, loc, first, gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
}

Value gpu_lowering::loadAs(OpBuilder &b, Location loc, Value buffer,
                           ValueRange indices, Type type) {
  return convertFloat(b, loc, memref::LoadOp::create(b, loc, buffer, indices),
                      type);
}

void gpu_lowering::storeAs(OpBuilder &b, Location loc, Value value,
                           Value buffer, ValueRange indices) {
  Type element = cast<MemRefType>(buffer.getType()).getElementType();
  memref::StoreOp::create(b, loc, convertFloat(b, loc, value, element), buffer,
                          indices);
}

Value gpu_lowering::warpSum(OpBuilder &b, Location loc, Value value) {
  // Any summation order is acceptable (docs/semantics.md fixes none for
  // sums over the state); the butterfly leaves the total in every lane.
  auto flags = arith::FastMathFlagsAttr::get(
      b.getContext(),
      arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
  for (int32_t offset = kWarpSize / 2; offset > 0; offset /= 2) {
    auto shuffle = gpu::ShuffleOp::create(b, loc, value, offset, kWarpSize,
                                          gpu::ShuffleMode::XOR);
    value =
        arith::AddFOp::create(b, loc, value, shuffle.getShuffleResult(), flags);
  }
  return value;
}

Value gpu_lowering::dimOf(OpBuilder &b, Location loc, Value buffer,
                          int64_t dim) {
  if (std::optional<int64_t> size = staticDimOf(buffer, dim))
    return arith::ConstantIndexOp::create(b, loc, *size);
  return memref::DimOp::create(b, loc, buffer, dim);
}

std::optional<int64_t> gpu_lowering::staticDimOf(Value buffer, int64_t dim) {
  int64_t size = cast<ShapedType>(buffer.getType()).getDimSize(dim);
  if (ShapedType::isDynamic(size))
    return std::nullopt;
  return size;
}

//===----------------------------------------------------------------------===//
// Kernels of ssm.recurrence
//===----------------------------------------------------------------------===//

std::string gpu_lowering::sourceOpName(RecurrenceOp op) {
  if (auto named = dyn_cast<NameLoc>(op.getLoc()))
    return named.getName().str();
  return op->getName().getStringRef().str();
}

/// The tensor.empty that `state` fills with zeros, if it is one: a state
/// that starts at zero needs no reads.
static Operation *zeroFilledEmpty(Value state) {
  auto fill = state ? state.getDefiningOp<linalg::FillOp>() : nullptr;
  if (!fill || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()) ||
      !fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>())
    return nullptr;
  return fill;
}

/// Whether an extent of `op` can only be read from its state.
static bool stateGivesExtent(RecurrenceOp op) {
  for (unsigned dim = 0; dim < RecurrenceOp::kNumDims; ++dim)
    if (op.hasDim(dim) && op.getExtentSource(dim)->operand->get() == op.getState())
      return true;
  return false;
}

RecurrenceKernel::RecurrenceKernel(RewriterBase &rewriter, RecurrenceOp op,
                                   bool inPlace)
    : op(op), inPlace(inPlace) {
  name = sourceOpName(op);
  if (StringRef(name).starts_with("ssm."))
    name = name.substr(4);
  Value state = op.getState();
  if (inPlace) {
    destinations = {state, op.getYInit()};
  } else {
    destinations = {op.getYInit()};
    zeroFill = zeroFilledEmpty(state);
    // A final state nobody reads is not written: its stores keep their
    // addressing live through the whole time loop (10 registers in the
    // lanes-over-time scan). A zero-filled state still comes along when the
    // kernel needs it for an extent.
    writesState = state && (!op.getFinalState().use_empty() ||
                            (zeroFill && stateGivesExtent(op)));
    if (writesState) {
      auto type = cast<RankedTensorType>(state.getType());
      SmallVector<Value> sizes;
      if (zeroFill) {
        auto empty = zeroFill->getOperand(1).getDefiningOp<tensor::EmptyOp>();
        sizes = llvm::to_vector(empty.getDynamicSizes());
      } else {
        for (auto [i, size] : llvm::enumerate(type.getShape()))
          if (ShapedType::isDynamic(size))
            sizes.push_back(tensor::DimOp::create(rewriter, op.getLoc(), state, i));
      }
      outputs.push_back({type, sizes});
    }
  }
  inputs = llvm::to_vector(op.getInputs());
  if (state && !inPlace && !zeroFill)
    inputs.push_back(state);
  for (Value segments : {op.getReset(), op.getSeqIdx(), op.getCuSeqlens()})
    if (segments)
      inputs.push_back(segments);
}

RecurrenceKernel::Buffers RecurrenceKernel::map(ValueRange buffers) const {
  Buffers result;
  Value state = op.getState();
  unsigned next = 0;
  if (inPlace)
    result.state = buffers[next++];
  result.y = buffers[next++];
  if (writesState && !inPlace)
    result.state = buffers[next++];
  result.sources.map(op.getYInit(), result.y);
  for (Value input : op.getInputs())
    result.sources.map(input, buffers[next++]);
  if (inPlace)
    result.initial = result.state;
  else if (state && !zeroFill)
    result.initial = buffers[next++];
  // Extents read from the state come from whichever buffer holds it.
  if (Value held = result.state ? result.state : result.initial)
    result.sources.map(state, held);
  for (Value segments : {op.getReset(), op.getSeqIdx(), op.getCuSeqlens()})
    if (segments)
      result.sources.map(segments, buffers[next++]);
  if (Value cu = op.getCuSeqlens())
    result.cuSeqlens = result.sources.lookup(cu);
  return result;
}

KernelSpec RecurrenceKernel::spec() const {
  KernelSpec spec;
  spec.name = StringRef(name);
  spec.destinations = destinations;
  spec.outputs = outputs;
  spec.inputs = inputs;
  return spec;
}

Value RecurrenceKernel::initialState() const {
  return zeroFill ? Value() : op.getState();
}

void RecurrenceKernel::launch(RewriterBase &rewriter, const KernelSpec &spec) {
  SmallVector<Value> results = launchKernel(rewriter, op, spec);
  if (inPlace)
    std::swap(results[0], results[1]);
  // The final state not written has no uses: any value of its type will do.
  if (op.getState() && !writesState)
    results.push_back(op.getState());
  replace(rewriter, results);
}

void RecurrenceKernel::launchWarps(
    RewriterBase &rewriter, int64_t warpsPerBlock,
    function_ref<void(OpBuilder &, Location, ArrayRef<Value>)> body) {
  KernelSpec s = spec();
  s.blockSize = warpsPerBlock * kWarpSize;
  auto gridSize = [&](OpBuilder &b, Location l, ValueRange buffers) -> Value {
    return blocksFor(b, l, buffers, warpsPerBlock);
  };
  s.gridSize = gridSize;
  s.body = body;
  launch(rewriter, s);
}

void RecurrenceKernel::replace(RewriterBase &rewriter, ValueRange results) {
  rewriter.replaceOp(op, results);
  if (zeroFill && zeroFill->use_empty()) {
    Operation *empty = zeroFill->getOperand(1).getDefiningOp();
    rewriter.eraseOp(zeroFill);
    if (empty->use_empty())
      rewriter.eraseOp(empty);
  }
}

/// The product of `values`, folding the constant ones into one factor.
static Value product(OpBuilder &b, Location loc, ArrayRef<Value> values) {
  int64_t constant = 1;
  Value result;
  for (Value v : values) {
    if (std::optional<int64_t> known = getConstantIntValue(v)) {
      constant *= *known;
      continue;
    }
    result = result ? arith::MulIOp::create(b, loc, result, v).getResult() : v;
  }
  Value factor = arith::ConstantIndexOp::create(b, loc, constant);
  if (!result)
    return factor;
  return constant == 1 ? result
                       : arith::MulIOp::create(b, loc, result, factor).getResult();
}

Value RecurrenceKernel::blocksFor(OpBuilder &b, Location loc, ValueRange buffers,
                                  int64_t perBlock) const {
  Buffers mapped = map(buffers);
  SmallVector<Value> extents = recurrenceExtents(b, loc, op, mapped.sources);
  return arith::CeilDivUIOp::create(b, loc, rowItems(b, loc, extents, mapped.cuSeqlens),
                                    arith::ConstantIndexOp::create(b, loc, perBlock));
}

Value gpu_lowering::rowItems(OpBuilder &b, Location loc, ArrayRef<Value> extents,
                             Value cuSeqlens) {
  return product(b, loc,
                 {recurrenceRows(b, loc, extents, cuSeqlens), extents[RecurrenceOp::kG], extents[RecurrenceOp::kR],
                  extents[RecurrenceOp::kP]});
}

Value gpu_lowering::bindRowItem(OpBuilder &b, Location loc,
                                CoefficientEmitter::Scope &scope, Value item,
                                ArrayRef<Value> extents, bool packed) {
  // The row, then the head (g and r linearized) and p, and g last, with
  // r as head - g·R: LLVM folds g·R + r back into the head, so the loads
  // indexed by the head (Mamba-2's δ, x, A) need not wait for the division
  // by R, which moves after them, next to the loads of keys and queries
  // that use g. Each 64-bit division is a long routine in SASS, and the
  // one with the most values live around it sets the kernel's registers:
  // dividing by P, R and G in turn, the decode kernel of dynamic sizes took
  // 40 on sm_80, this order 32 (scripts/ptx-report.sh).
  Value P = extents[RecurrenceOp::kP], R = extents[RecurrenceOp::kR];
  Value perRow = product(b, loc, {extents[RecurrenceOp::kG], R, P});
  Value row = arith::DivUIOp::create(b, loc, item, perRow);
  Value inRow = arith::RemUIOp::create(b, loc, item, perRow);
  Value head = arith::DivUIOp::create(b, loc, inRow, P);
  scope.index[RecurrenceOp::kP] = arith::RemUIOp::create(b, loc, inRow, P);
  Value g = arith::DivUIOp::create(b, loc, head, R);
  scope.index[RecurrenceOp::kG] = g;
  scope.index[RecurrenceOp::kR] = arith::SubIOp::create(
      b, loc, head, arith::MulIOp::create(b, loc, g, R));
  scope.index[RecurrenceOp::kB] =
      packed ? arith::ConstantIndexOp::create(b, loc, 0).getResult() : row;
  return row;
}

WarpItem gpu_lowering::warpItem(OpBuilder &b, Location loc, int64_t warpsPerBlock) {
  Value warpSize = arith::ConstantIndexOp::create(b, loc, kWarpSize);
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, loc, tid, warpSize);
  Value warp = arith::DivUIOp::create(b, loc, tid, warpSize);
  Value first = arith::MulIOp::create(
      b, loc, gpu::BlockIdOp::create(b, loc, gpu::Dimension::x),
      arith::ConstantIndexOp::create(b, loc, warpsPerBlock));
  return {lane, warp, arith::AddIOp::create(b, loc, first, warp)};
}

Value gpu_lowering::decayAt(OpBuilder &b, Location loc, RecurrenceOp op,
                            CoefficientEmitter &emitter,
                            CoefficientEmitter::Scope &scope) {
  Value decay = emitter.emit(b, loc, op.getYield().getRole(YieldOp::kDecay), scope);
  return op.getLogDecay() ? math::ExpOp::create(b, loc, decay).getResult() : decay;
}
