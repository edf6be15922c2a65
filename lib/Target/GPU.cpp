//===- GPU.cpp - Kernels out of a module lowered for the GPU --------------===//
//
// Part of ssmc. See include/ssm/Target/GPU.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/GPU.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

LogicalResult ssm::checkDeviceBuffers(ModuleOp module) {
  bool bad = false;
  for (auto func : module.getOps<func::FuncOp>()) {
    func.walk([&](memref::AllocOp alloc) {
      alloc.emitError("this buffer would be allocated in host memory, where "
                      "GPU kernels cannot use it: --target=cuda needs every "
                      "buffer from the caller (pass results as destinations, "
                      "and do not read a state after updating it)");
      bad = true;
    });
    // Device buffers of results go to the caller, who frees them; those of
    // intermediate results were given a gpu.dealloc
    // (ssm-free-device-temporaries) unless they escape otherwise.
    llvm::SmallPtrSet<Value, 4> released;
    func.walk([&](func::ReturnOp ret) {
      released.insert(ret.getOperands().begin(), ret.getOperands().end());
    });
    func.walk([&](gpu::DeallocOp dealloc) { released.insert(dealloc.getMemref()); });
    func.walk([&](gpu::AllocOp alloc) {
      if (released.contains(alloc.getMemref()))
        return;
      alloc.emitError("this device buffer holds an intermediate result that "
                      "would never be freed (it leaves the block that "
                      "computes it, or is passed to a call); return it "
                      "instead");
      bad = true;
    });
  }
  return failure(bad);
}

LogicalResult ssm::writePTX(ModuleOp module, llvm::raw_ostream &os) {
  auto binaries = llvm::to_vector(module.getOps<gpu::BinaryOp>());
  if (binaries.empty())
    return module.emitError("no GPU kernels to emit: the module has no op "
                            "lowered to a kernel");
  if (binaries.size() > 1)
    return module.emitError("expected the kernels in one gpu.binary, found ")
           << binaries.size();
  ArrayAttr objects = binaries.front().getObjectsAttr();
  auto object = objects.size() == 1 ? dyn_cast<gpu::ObjectAttr>(objects[0])
                                    : gpu::ObjectAttr();
  if (!object || object.getFormat() != gpu::CompilationTarget::Assembly)
    return binaries.front().emitError(
        "expected one object in assembly (PTX) format");
  // An external function is one that libdevice should have provided; the
  // PTX would not load.
  StringRef ptx = object.getObject().getValue();
  if (ptx.contains(".extern .func"))
    return binaries.front().emitError(
        "the PTX calls functions it does not define (is libdevice missing?)");
  os << ptx;
  return success();
}
