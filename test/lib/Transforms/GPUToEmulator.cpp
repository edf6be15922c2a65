//===- GPUToEmulator.cpp - GPU kernels as host code for the emulator ------===//
//
// Part of ssmc's tests. See GPUToEmulator.h; the runtime half (threads,
// warps, the mma products, the racecheck) is in
// test/Integration/GPU/KernelEmulationTest.cpp.
//
//===----------------------------------------------------------------------===//

#include "GPUToEmulator.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;

namespace {

/// Moves one module's kernels to the host, one op at a time.
class KernelMover {
public:
  explicit KernelMover(ModuleOp module)
      : module(module), rewriter(module.getContext()), loc(module.getLoc()),
        arenaType(MemRefType::get({ssm::test::kEmulatorArenaBytes},
                                  rewriter.getI8Type())) {}

  void declareRuntime();
  LogicalResult moveKernel(gpu::GPUFuncOp kernel);

private:
  /// Workgroup attributions become views of the arena; returns the bytes
  /// they take.
  int64_t placeAttributions(func::FuncOp host, Value arena);
  /// Rewrites `op` of a moved kernel; false for an op the emulator does not
  /// model.
  bool rewrite(Operation *op);
  bool rewriteMma(nvgpu::MmaSyncOp mma);
  bool rewriteWgmma(NVVM::WgmmaMmaAsyncOp wgmma);
  bool rewriteShuffle(gpu::ShuffleOp shuffle);
  /// Reports a load or store of shared memory to the racecheck.
  void reportSharedAccess(Operation *op, Value memory, ValueRange indices,
                          bool isStore);
  Value call(Location l, StringRef callee, Type result, ValueRange args) {
    return func::CallOp::create(rewriter, l, callee, TypeRange{result}, args)
        .getResult(0);
  }
  void callVoid(Location l, StringRef callee, ValueRange args = {}) {
    func::CallOp::create(rewriter, l, callee, TypeRange{}, args);
  }
  Value i32(Location l, int64_t v) {
    return arith::ConstantIntOp::create(rewriter, l, v, 32);
  }

  ModuleOp module;
  IRRewriter rewriter;
  Location loc;
  MemRefType arenaType;
  // Per kernel: the arena, the views of shared memory and the bytes the
  // workgroup attributions take before the dynamic shared memory.
  Value arena;
  llvm::SmallPtrSet<Value, 16> shared;
  int64_t staticBytes = 0;
};

void KernelMover::declareRuntime() {
  rewriter.setInsertionPointToEnd(module.getBody());
  Type index = rewriter.getIndexType(), f32 = rewriter.getF32Type(),
       i32Type = rewriter.getI32Type(), i64 = rewriter.getI64Type();
  auto declare = [&](StringRef name, FunctionType type) {
    func::FuncOp::create(rewriter, loc, name, type).setPrivate();
  };
  declare("ssm_emu_thread_id", rewriter.getFunctionType({}, {index}));
  declare("ssm_emu_block_id", rewriter.getFunctionType({}, {index}));
  auto shuffleType = rewriter.getFunctionType({f32, i32Type, i32Type}, {f32});
  declare("ssm_emu_shuffle_xor_f32", shuffleType);
  declare("ssm_emu_shuffle_up_f32", shuffleType);
  declare("ssm_emu_shuffle_idx_f32", shuffleType);
  declare("ssm_emu_barrier", rewriter.getFunctionType({}, {}));
  declare("ssm_emu_mma_put", rewriter.getFunctionType({i32Type, f32}, {}));
  declare("ssm_emu_mma", rewriter.getFunctionType({}, {}));
  declare("ssm_emu_mma_get", rewriter.getFunctionType({i32Type}, {f32}));
  declare("ssm_emu_wgmma_put", rewriter.getFunctionType({i32Type, f32}, {}));
  declare("ssm_emu_wgmma", rewriter.getFunctionType({i64, i64, i64, i32Type}, {}));
  declare("ssm_emu_wgmma_get", rewriter.getFunctionType({i32Type}, {f32}));
  declare("ssm_emu_shared_access",
          rewriter.getFunctionType({i64, i32Type, i32Type}, {}));
  declare("ssm_emu_proxy_fence", rewriter.getFunctionType({}, {}));
  // Public: the emulator looks its address up.
  memref::GlobalOp::create(rewriter, loc, "ssm_emu_arena",
                           rewriter.getStringAttr("public"), arenaType,
                           rewriter.getUnitAttr(), /*constant=*/false,
                           rewriter.getI64IntegerAttr(ssm::test::kEmulatorArenaBytes));
}

int64_t KernelMover::placeAttributions(func::FuncOp host, Value arena) {
  // Shared memory is the arena: blocks run one after another, so one copy
  // serves. Workgroup attributions (block arguments after the kernel's
  // own) are views of it from its start, 16-byte aligned; the dynamic
  // shared memory follows them, as on the GPU. Views of the arena are what
  // the racecheck watches.
  Block &entry = host.getBody().front();
  int64_t bytes = 0;
  for (unsigned i = host.getNumArguments(); i < entry.getNumArguments(); ++i) {
    BlockArgument attribution = entry.getArgument(i);
    auto type = cast<MemRefType>(attribution.getType());
    auto plain = MemRefType::get(type.getShape(), type.getElementType());
    Value view = memref::ViewOp::create(
        rewriter, loc, plain, arena, arith::ConstantIndexOp::create(rewriter, loc, bytes),
        ValueRange{});
    attribution.replaceAllUsesWith(view);
    shared.insert(view);
    bytes += (type.getNumElements() * type.getElementType().getIntOrFloatBitWidth() / 8 +
              15) /
             16 * 16;
  }
  while (entry.getNumArguments() > host.getNumArguments())
    entry.eraseArgument(entry.getNumArguments() - 1);
  return bytes;
}

LogicalResult KernelMover::moveKernel(gpu::GPUFuncOp kernel) {
  rewriter.setInsertionPointToEnd(module.getBody());
  if (kernel.getNumPrivateAttributions())
    return failure();
  auto host =
      func::FuncOp::create(rewriter, loc, kernel.getName(), kernel.getFunctionType());
  host->setAttr("llvm.emit_c_interface", rewriter.getUnitAttr());
  host.getBody().takeBody(kernel.getBody());
  rewriter.setInsertionPointToStart(&host.getBody().front());
  arena = memref::GetGlobalOp::create(rewriter, loc, arenaType, "ssm_emu_arena");
  shared.clear();
  staticBytes = placeAttributions(host, arena);
  // Views of the dynamic shared memory lose the address space with it.
  host.walk([&](Operation *op) {
    for (Value result : op->getResults())
      if (auto type = dyn_cast<MemRefType>(result.getType()); type && type.getMemorySpace())
        result.setType(
            MemRefType::get(type.getShape(), type.getElementType(), type.getLayout()));
  });
  bool supported = true;
  host.walk([&](Operation *op) {
    if (supported)
      supported = rewrite(op);
  });
  return success(supported);
}

bool KernelMover::rewrite(Operation *op) {
  rewriter.setInsertionPoint(op);
  Location l = op->getLoc();
  Type index = rewriter.getIndexType();
  if (isa<gpu::ReturnOp>(op)) {
    rewriter.replaceOpWithNewOp<func::ReturnOp>(op);
  } else if (isa<gpu::BarrierOp>(op)) {
    callVoid(l, "ssm_emu_barrier");
    rewriter.eraseOp(op);
  } else if (auto mma = dyn_cast<nvgpu::MmaSyncOp>(op)) {
    return rewriteMma(mma);
  } else if (isa<gpu::DynamicSharedMemoryOp>(op)) {
    Value view = memref::ViewOp::create(
        rewriter, l, MemRefType::get({ShapedType::kDynamic}, rewriter.getI8Type()),
        arena, arith::ConstantIndexOp::create(rewriter, l, staticBytes),
        ValueRange{arith::ConstantIndexOp::create(
            rewriter, l, ssm::test::kEmulatorArenaBytes - staticBytes)});
    shared.insert(view);
    rewriter.replaceOp(op, view);
  } else if (auto fence = dyn_cast<NVVM::FenceProxyOp>(op)) {
    if (fence.getKind() != NVVM::ProxyKind::async_shared)
      return false;
    callVoid(l, "ssm_emu_proxy_fence");
    rewriter.eraseOp(op);
  } else if (isa<NVVM::WgmmaFenceAlignedOp, NVVM::WgmmaGroupSyncAlignedOp,
                 NVVM::WgmmaWaitGroupSyncOp>(op)) {
    // The emulated wgmma is synchronous and reads memory directly.
    rewriter.eraseOp(op);
  } else if (auto wgmma = dyn_cast<NVVM::WgmmaMmaAsyncOp>(op)) {
    return rewriteWgmma(wgmma);
  } else if (auto view = dyn_cast<memref::ViewOp>(op)) {
    if (shared.contains(view.getSource()))
      shared.insert(view.getResult());
  } else if (auto load = dyn_cast<memref::LoadOp>(op)) {
    reportSharedAccess(op, load.getMemRef(), load.getIndices(), /*isStore=*/false);
  } else if (auto store = dyn_cast<memref::StoreOp>(op)) {
    reportSharedAccess(op, store.getMemRef(), store.getIndices(), /*isStore=*/true);
  } else if (auto id = dyn_cast<gpu::ThreadIdOp>(op)) {
    if (id.getDimension() != gpu::Dimension::x)
      return false;
    rewriter.replaceOp(op, call(l, "ssm_emu_thread_id", index, {}));
  } else if (auto id = dyn_cast<gpu::BlockIdOp>(op)) {
    if (id.getDimension() != gpu::Dimension::x)
      return false;
    rewriter.replaceOp(op, call(l, "ssm_emu_block_id", index, {}));
  } else if (auto shuffle = dyn_cast<gpu::ShuffleOp>(op)) {
    return rewriteShuffle(shuffle);
  } else if (isa<gpu::GPUDialect, NVVM::NVVMDialect>(op->getDialect())) {
    return false;
  }
  return true;
}

bool KernelMover::rewriteMma(nvgpu::MmaSyncOp mma) {
  if (mma.getMmaShapeAsArray() != std::array<int64_t, 3>{16, 8, 16})
    return false;
  Location l = mma.getLoc();
  Type f32 = rewriter.getF32Type();
  int32_t slot = 0;
  for (Value operand : {mma.getMatrixA(), mma.getMatrixB(), mma.getMatrixC()}) {
    auto type = cast<VectorType>(operand.getType());
    for (int64_t i = 0; i < type.getNumElements(); ++i) {
      Value e = vector::ExtractOp::create(
          rewriter, l, operand,
          ArrayRef<int64_t>{i / type.getDimSize(1), i % type.getDimSize(1)});
      if (!e.getType().isF32())
        e = arith::ExtFOp::create(rewriter, l, f32, e);
      callVoid(l, "ssm_emu_mma_put", {i32(l, slot++), e});
    }
  }
  callVoid(l, "ssm_emu_mma");
  SmallVector<Value> d;
  for (int32_t i = 0; i < 4; ++i)
    d.push_back(call(l, "ssm_emu_mma_get", f32, {i32(l, i)}));
  rewriter.replaceOp(mma, vector::FromElementsOp::create(rewriter, l, mma.getType(), d));
  return true;
}

bool KernelMover::rewriteWgmma(NVVM::WgmmaMmaAsyncOp wgmma) {
  Location l = wgmma.getLoc();
  NVVM::MMAShapeAttr shape = wgmma.getShape();
  auto type = cast<LLVM::LLVMStructType>(wgmma.getType());
  int64_t count = type.getBody().size();
  if (shape.getM() != 64 || shape.getK() != 16 ||
      wgmma.getTypeA() != NVVM::WGMMATypes::f16 ||
      wgmma.getTypeB() != NVVM::WGMMATypes::f16 ||
      wgmma.getTypeD() != NVVM::WGMMATypes::f32 ||
      wgmma.getScaleD() != NVVM::WGMMAScaleOut::one ||
      wgmma.getScaleA() != NVVM::WGMMAScaleIn::one ||
      wgmma.getScaleB() != NVVM::WGMMAScaleIn::one ||
      wgmma.getLayoutA() != NVVM::MMALayout::row ||
      wgmma.getLayoutB() != NVVM::MMALayout::col || count != shape.getN() / 2)
    return false;
  for (int64_t i = 0; i < count; ++i)
    callVoid(l, "ssm_emu_wgmma_put",
             {i32(l, i), LLVM::ExtractValueOp::create(rewriter, l, wgmma.getInouts(), i)});
  Value base = arith::IndexCastOp::create(
      rewriter, l, rewriter.getI64Type(),
      memref::ExtractAlignedPointerAsIndexOp::create(
          rewriter, l, memref::GetGlobalOp::create(rewriter, l, arenaType, "ssm_emu_arena")));
  callVoid(l, "ssm_emu_wgmma",
           {base, wgmma.getDescriptorA(), wgmma.getDescriptorB(), i32(l, shape.getN())});
  Value d = LLVM::UndefOp::create(rewriter, l, type);
  for (int64_t i = 0; i < count; ++i)
    d = LLVM::InsertValueOp::create(
        rewriter, l, d, call(l, "ssm_emu_wgmma_get", rewriter.getF32Type(), {i32(l, i)}),
        i);
  rewriter.replaceOp(wgmma, d);
  return true;
}

bool KernelMover::rewriteShuffle(gpu::ShuffleOp shuffle) {
  StringRef callee;
  switch (shuffle.getMode()) {
  case gpu::ShuffleMode::XOR:
    callee = "ssm_emu_shuffle_xor_f32";
    break;
  case gpu::ShuffleMode::UP:
    callee = "ssm_emu_shuffle_up_f32";
    break;
  case gpu::ShuffleMode::IDX:
    callee = "ssm_emu_shuffle_idx_f32";
    break;
  default:
    return false;
  }
  // `valid` is emulated as true: only a xor shuffle over the whole warp may
  // have it read.
  if (!shuffle.getValue().getType().isF32() ||
      (shuffle.getMode() != gpu::ShuffleMode::XOR && !shuffle.getValid().use_empty()))
    return false;
  Location l = shuffle.getLoc();
  Value value = call(l, callee, rewriter.getF32Type(),
                     {shuffle.getValue(), shuffle.getOffset(), shuffle.getWidth()});
  Value valid = arith::ConstantOp::create(rewriter, l, rewriter.getBoolAttr(true));
  rewriter.replaceOp(shuffle, ValueRange{value, valid});
  return true;
}

void KernelMover::reportSharedAccess(Operation *op, Value memory, ValueRange indices,
                                     bool isStore) {
  if (!shared.contains(memory))
    return;
  // The element's address: the view's start plus its row-major offset
  // (shared buffers have static shapes).
  Location l = op->getLoc();
  auto type = cast<MemRefType>(memory.getType());
  int64_t bytes = type.getElementType().getIntOrFloatBitWidth() / 8;
  Value address = memref::ExtractAlignedPointerAsIndexOp::create(rewriter, l, memory);
  int64_t stride = bytes;
  for (int64_t d = type.getRank(); d-- > 0;) {
    address = arith::AddIOp::create(
        rewriter, l, address,
        arith::MulIOp::create(rewriter, l, indices[d],
                              arith::ConstantIndexOp::create(rewriter, l, stride)));
    stride *= type.getDimSize(d);
  }
  callVoid(l, "ssm_emu_shared_access",
           {arith::IndexCastOp::create(rewriter, l, rewriter.getI64Type(), address),
            i32(l, bytes), i32(l, isStore ? 1 : 0)});
}

struct TestGPUToEmulatorPass
    : PassWrapper<TestGPUToEmulatorPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestGPUToEmulatorPass)
  StringRef getArgument() const final { return "test-ssm-gpu-to-emulator"; }
  StringRef getDescription() const final {
    return "move gpu.module kernels to host functions that call the SIMT "
           "emulator of the GPU kernel tests";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, func::FuncDialect, memref::MemRefDialect,
                    vector::VectorDialect, LLVM::LLVMDialect>();
  }
  void runOnOperation() override {
    if (failed(ssm::test::moveKernelsToHost(getOperation()))) {
      getOperation().emitError("kernels use GPU operations the emulator does not model");
      signalPassFailure();
    }
  }
};

} // namespace

LogicalResult ssm::test::moveKernelsToHost(ModuleOp module) {
  auto kernels = llvm::to_vector(module.getOps<gpu::GPUModuleOp>());
  if (kernels.size() != 1)
    return failure();
  // The host functions that launch the kernels go: the emulator runs the
  // kernels itself, as their launches would.
  for (auto func : llvm::to_vector(module.getOps<func::FuncOp>()))
    if (func.walk([](gpu::LaunchFuncOp) { return WalkResult::interrupt(); })
            .wasInterrupted())
      func.erase();
  KernelMover mover(module);
  mover.declareRuntime();
  for (auto kernel : llvm::to_vector(kernels[0].getOps<gpu::GPUFuncOp>()))
    if (failed(mover.moveKernel(kernel)))
      return failure();
  kernels[0].erase();
  return success();
}

void ssm::test::registerTestPasses() { PassRegistration<TestGPUToEmulatorPass>(); }
