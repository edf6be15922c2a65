//===- CallerOutputs.cpp - Outputs the caller owns ------------------------===//
//
// Part of ssmc. See the pass description in Passes.td: tensor results of
// entry points become destinations the caller passes.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/CallerOutputs.h"
#include "ssm/Target/CHeader.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMCALLEROUTPUTSPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

/// The name the header gives output `index` of `func`: its result's, else
/// the C fallback's shape.
std::string outputName(func::FuncOp func, unsigned index) {
  if (auto name = func.getResultAttrOfType<StringAttr>(index, ssm::kNameAttrName))
    return name.str();
  return "r" + std::to_string(index);
}

/// Whether `value` is an argument of `func` that a call updates in place
/// (`ssm.in_place`), or what the function wrote into one: through
/// destinations (a decode step's new state), loops carrying it and
/// reshapes of it (a model's caches), which bufferization makes that
/// argument's buffer. The caller holds that buffer already.
bool isInPlaceArgument(func::FuncOp func, Value value) {
  while (true) {
    if (auto arg = dyn_cast<BlockArgument>(value))
      return arg.getOwner() == &func.getBody().front() &&
             func.getArgAttr(arg.getArgNumber(), "ssm.in_place");
    Operation *op = value.getDefiningOp();
    auto result = cast<OpResult>(value);
    if (auto cast = dyn_cast<tensor::CastOp>(op))
      value = cast.getSource();
    else if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
      value = collapse.getSrc();
    else if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op))
      value = expand.getSrc();
    else if (auto loop = dyn_cast<scf::ForOp>(op))
      value = loop.getInitArgs()[result.getResultNumber()];
    else if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
      value = dps.getTiedOpOperand(result)->get();
    else
      return false;
  }
}

struct SSMCallerOutputsPass
    : ssm::impl::SSMCallerOutputsPassBase<SSMCallerOutputsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection symbols;
    SymbolUserMap users(symbols, module);
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && !func.isPrivate() && users.getUsers(func).empty() &&
          func.getBody().hasOneBlock())
        rewrite(func);
  }

  /// The caller's buffer must have the result's sizes: the type fixes the
  /// static ones; the dynamic ones are compared before the op that writes
  /// the result runs (from its reified shape), so a wrong buffer stops the
  /// call before anything is written out of its bounds.
  LogicalResult checkSizes(func::FuncOp func, Value value, Value dest,
                           StringRef name) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.hasStaticShape())
      return success();
    // A cast changes no size: the op that writes is its source's.
    while (auto cast = value.getDefiningOp<tensor::CastOp>())
      value = cast.getSource();
    auto result = dyn_cast<OpResult>(value);
    ReifiedRankedShapedTypeDims shapes;
    OpBuilder b(value.getContext());
    if (result)
      b.setInsertionPoint(result.getOwner());
    if (!result || failed(reifyResultShapes(b, result.getOwner(), shapes)))
      return func.emitOpError("cannot check the sizes of output '")
             << name << "' before it is written: its producer reports no shape";
    Location loc = result.getLoc();
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (!type.isDynamicDim(d))
        continue;
      Value expected = getValueOrCreateConstantIndexOp(
          b, loc, shapes[result.getResultNumber()][d]);
      Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, expected,
                                         tensor::DimOp::create(b, loc, dest, d));
      cf::AssertOp::create(b, loc, same,
                           (func.getSymName() + ": output '" + name + "' dimension " +
                            std::to_string(d) + " does not match the result's size")
                               .str());
    }
    return success();
  }

  void rewrite(func::FuncOp func) {
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
      auto type = dyn_cast<RankedTensorType>(value.getType());
      // Already the caller's: an argument, or one updated in place.
      auto arg = dyn_cast<BlockArgument>(value);
      if (!type || (arg && arg.getOwner() == &func.getBody().front()) ||
          isInPlaceArgument(func, value))
        continue;
      std::string name = outputName(func, i);
      unsigned position = func.getNumArguments();
      if (failed(func.insertArgument(position, type, {}, value.getLoc())))
        return signalPassFailure();
      Value dest = func.getArgument(position);
      func.setArgAttr(position, bufferization::BufferizationDialect::kWritableAttrName,
                      b.getBoolAttr(true));
      func.setArgAttr(position, "ssm.in_place", b.getUnitAttr());
      func.setArgAttr(position, "ssm.output", b.getUnitAttr());
      func.setArgAttr(position, ssm::kNameAttrName, b.getStringAttr(name));
      if (failed(checkSizes(func, value, dest, name)))
        return signalPassFailure();
      auto written = bufferization::MaterializeInDestinationOp::create(b, loc, value, dest);
      ret->setOperand(i, written.getResult());
    }
  }
};

} // namespace
