//===- CheckArgumentShapes.cpp - Static sizes checked at entry ------------===//
//
// Part of ssmc. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/CheckArgumentShapes.h"

#include "ssm/Support/Checks.h"
#include "ssm/Target/CHeader.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMCHECKARGUMENTSHAPESPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

/// `type` with every size dynamic, when it is an identity-layout memref
/// with a static size (the descriptor the caller passes is the same);
/// null otherwise.
MemRefType relaxed(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref || !memref.getLayout().isIdentity() ||
      static_cast<int64_t>(memref.getNumDynamicDims()) == memref.getRank())
    return nullptr;
  return MemRefType::get(
      SmallVector<int64_t>(memref.getRank(), ShapedType::kDynamic),
      memref.getElementType(), AffineMap(), memref.getMemorySpace());
}

/// Relaxes the static sizes of `func`'s arguments and checks them at entry;
/// returns whether the signature changed.
bool checkArguments(func::FuncOp func) {
  Block &entry = func.front();
  OpBuilder b = OpBuilder::atBlockBegin(&entry);
  Location loc = func.getLoc();
  std::string where =
      ssm::checkMessagePrefix(loc, "@" + func.getSymName().str());
  SmallVector<Type> inputs(func.getArgumentTypes());
  bool changed = false;
  for (BlockArgument arg : func.getArguments()) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    MemRefType dynamic = relaxed(arg.getType());
    if (!dynamic)
      continue;
    changed = true;
    unsigned i = arg.getArgNumber();
    std::string name = "argument " + std::to_string(i);
    if (auto given = func.getArgAttrOfType<StringAttr>(i, ssm::kNameAttrName))
      name = "argument '" + given.str() + "'";
    arg.setType(dynamic);
    inputs[i] = dynamic;
    // The body sees the static type; the checks, before the cast, the
    // caller's sizes.
    auto cast = memref::CastOp::create(b, loc, type, arg);
    arg.replaceAllUsesExcept(cast, cast);
    b.setInsertionPoint(cast);
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (type.isDynamicDim(d))
        continue;
      Value size = memref::DimOp::create(b, loc, arg, d);
      Value ok = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq, size,
          arith::ConstantIndexOp::create(b, loc, type.getDimSize(d)));
      cf::AssertOp::create(b, loc, ok,
                           where + name + " dimension " + std::to_string(d) +
                               " is not " + std::to_string(type.getDimSize(d)));
    }
    b.setInsertionPointAfter(cast);
  }
  if (changed)
    func.setFunctionType(
        FunctionType::get(func.getContext(), inputs, func.getResultTypes()));
  return changed;
}

struct SSMCheckArgumentShapesPass
    : ssm::impl::SSMCheckArgumentShapesPassBase<SSMCheckArgumentShapesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection symbols;
    SymbolUserMap users(symbols, module);
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isPrivate() || func.isExternal() || !checkArguments(func))
        continue;
      // Calls inside the module pass their (static) buffers through a cast.
      for (Operation *user : users.getUsers(func)) {
        auto call = dyn_cast<func::CallOp>(user);
        if (!call)
          continue;
        OpBuilder b(call);
        for (OpOperand &operand : call->getOpOperands()) {
          Type want = func.getArgumentTypes()[operand.getOperandNumber()];
          if (operand.get().getType() != want)
            operand.set(memref::CastOp::create(b, call.getLoc(), want,
                                               operand.get()));
        }
      }
    }
  }
};

} // namespace
