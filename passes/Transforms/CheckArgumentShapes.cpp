//===- CheckArgumentShapes.cpp - Static sizes checked at entry ------------===//
//
// Part of ssmc. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/CheckArgumentShapes.h"

#include "ssm/Support/Checks.h"
#include "ssm/Target/CHeader.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
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

/// `arg` (dynamic sizes) seen as `type`, its identity-layout static type.
/// A reinterpret_cast, not a memref.cast: the strides and offset it states
/// are what expand-strided-metadata later reads, while through a cast it
/// reaches the argument's dynamic strides, and the kernels lose their
/// constant strides (the Mamba-1 scan ran 2.5 times slower).
Operation *staticView(OpBuilder &b, Location loc, MemRefType type, Value arg) {
  SmallVector<int64_t> strides;
  int64_t offset;
  (void)type.getStridesAndOffset(strides, offset);
  SmallVector<OpFoldResult> sizes, strideValues(type.getRank());
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(type.isDynamicDim(d)
                        ? OpFoldResult(memref::DimOp::create(b, loc, arg, d).getResult())
                        : OpFoldResult(b.getIndexAttr(type.getDimSize(d))));
  // Row-major strides: constants where the type has them, else products
  // of the sizes inside.
  OpFoldResult inner = b.getIndexAttr(1);
  for (int64_t d = type.getRank() - 1; d >= 0; --d) {
    strideValues[d] = ShapedType::isDynamic(strides[d])
                          ? inner
                          : OpFoldResult(b.getIndexAttr(strides[d]));
    if (d == 0)
      break;
    std::optional<int64_t> here = getConstantIntValue(strideValues[d]),
                           size = getConstantIntValue(sizes[d]);
    inner = here && size
                ? OpFoldResult(b.getIndexAttr(*here * *size))
                : OpFoldResult(arith::MulIOp::create(
                                   b, loc,
                                   getValueOrCreateConstantIndexOp(
                                       b, loc, strideValues[d]),
                                   getValueOrCreateConstantIndexOp(b, loc, sizes[d]))
                                   .getResult());
  }
  return memref::ReinterpretCastOp::create(b, loc, type, arg,
                                           b.getIndexAttr(0), sizes,
                                           strideValues);
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
    // The body sees the static type; the checks, before the view, the
    // caller's sizes.
    // The uses to move are the body's, not those of the view's own sizes.
    SmallVector<OpOperand *> bodyUses(llvm::make_pointer_range(arg.getUses()));
    Operation *cast = staticView(b, loc, type, arg);
    for (OpOperand *use : bodyUses)
      use->set(cast->getResult(0));
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
