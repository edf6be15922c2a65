//===- ParallelToRuntime.cpp - Marked loops onto the runtime's pool -------===//
//
// Part of ssmc. Each outermost scf.forall (bufferized: its iterations write
// disjoint parts of buffers; ssm-tile-recurrences and the lowerings build
// them over independent work items) becomes a call
//
//   ssm_parallel_for(0, count, /*grain=*/1, @body, &captures)
//
// where @body(ctx, lo, hi) is a new private function running iterations
// [lo, hi) of the loop, numbered in row-major order of its induction
// variables, and `captures` a stack struct holding the values the loop uses
// from above, in the layout the LLVM lowering gives their types.
// The values cross between the two typed worlds through
// builtin.unrealized_conversion_cast, which convert-to-llvm and
// reconcile-unrealized-casts fold away, so the pass runs on ordinary
// memref-level IR and needs no knowledge of descriptor layouts.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/ParallelToRuntime.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_PARALLELTORUNTIMEPASS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

constexpr StringLiteral kParallelFor = "ssm_parallel_for";

/// `(ctx, lo, hi) -> ()`, the C type ssm_parallel_body_t.
FunctionType bodyType(MLIRContext *ctx) {
  Type i64 = IntegerType::get(ctx, 64);
  return FunctionType::get(ctx, {LLVM::LLVMPointerType::get(ctx), i64, i64}, {});
}

/// Declares ssm_parallel_for (runtime.h) in `module` unless it is there.
func::FuncOp declareParallelFor(ModuleOp module) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(kParallelFor))
    return existing;
  MLIRContext *ctx = module.getContext();
  Type i64 = IntegerType::get(ctx, 64);
  auto type = FunctionType::get(
      ctx, {i64, i64, i64, bodyType(ctx), LLVM::LLVMPointerType::get(ctx)},
      {IntegerType::get(ctx, 32)});
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto decl = func::FuncOp::create(b, module.getLoc(), kParallelFor, type);
  decl.setPrivate();
  return decl;
}

/// `v` as type `to`: itself when it has that type already, else through a
/// cast that the LLVM lowering folds away.
Value fromField(OpBuilder &b, Value v, Type to) {
  if (v.getType() == to)
    return v;
  return UnrealizedConversionCastOp::create(b, v.getLoc(), to, v).getResult(0);
}

struct ParallelToRuntimePass
    : ssm::impl::ParallelToRuntimePassBase<ParallelToRuntimePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    LLVMTypeConverter converter(&getContext());
    SymbolTable symbols(module);

    SmallVector<scf::ForallOp> outermost;
    module.walk<WalkOrder::PreOrder>([&](scf::ForallOp loop) {
      if (loop.getNumResults() == 0)
        outermost.push_back(loop);
      // A parallel loop inside another runs within one work item (and
      // becomes serial loops with scf-forall-to-for, as does what could
      // not be outlined).
      return WalkResult::skip();
    });
    for (scf::ForallOp loop : outermost)
      outline(linearize(loop), converter, symbols);
  }

  /// `loop` as one scf.for over its iterations in row-major order, each
  /// recovering its induction variables from the iteration number.
  static scf::ForOp linearize(scf::ForallOp loop) {
    OpBuilder b(loop);
    Location loc = loop.getLoc();
    auto values = [&](ArrayRef<OpFoldResult> mixed) {
      return getValueOrCreateConstantIndexOp(b, loc, mixed);
    };
    SmallVector<Value> lbs = values(loop.getMixedLowerBound()),
                       ubs = values(loop.getMixedUpperBound()),
                       steps = values(loop.getMixedStep());
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    SmallVector<Value> counts;
    Value total = c1;
    for (auto [lb, ub, step] : llvm::zip(lbs, ubs, steps)) {
      // Signed: an empty range (ub < lb) has no iterations.
      Value count = b.createOrFold<arith::MaxSIOp>(
          loc, c0,
          b.createOrFold<arith::CeilDivSIOp>(
              loc, b.createOrFold<arith::SubIOp>(loc, ub, lb), step));
      counts.push_back(count);
      total = b.createOrFold<arith::MulIOp>(loc, total, count);
    }
    auto serial = scf::ForOp::create(b, loc, c0, total, c1);
    b.setInsertionPointToStart(serial.getBody());
    IRMapping map;
    Value rest = serial.getInductionVar();
    for (int64_t d = loop.getRank() - 1; d >= 0; --d) {
      Value i = rest;
      if (d) {
        i = b.createOrFold<arith::RemUIOp>(loc, rest, counts[d]);
        rest = b.createOrFold<arith::DivUIOp>(loc, rest, counts[d]);
      }
      map.map(loop.getInductionVar(d),
              b.createOrFold<arith::AddIOp>(
                  loc, lbs[d], b.createOrFold<arith::MulIOp>(loc, i, steps[d])));
    }
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    loop.erase();
    return serial;
  }

  /// Replaces `loop` (linearized: from 0, unit step, no results) by a call
  /// to the runtime, or leaves it serial when it captures values of types
  /// the LLVM lowering does not know.
  void outline(scf::ForOp loop, const LLVMTypeConverter &converter,
               SymbolTable &symbols) {
    llvm::SetVector<Value> used;
    getUsedValuesDefinedAbove(loop.getRegion(), used);
    SmallVector<Value> captured;
    SmallVector<Operation *> constants;
    SmallVector<Type> fields;
    for (Value v : used) {
      Operation *def = v.getDefiningOp();
      if (def && def->getNumOperands() == 0 && matchPattern(v, m_Constant())) {
        constants.push_back(def);
        continue;
      }
      Type field = converter.convertType(v.getType());
      if (!field)
        return;
      captured.push_back(v);
      fields.push_back(field);
    }

    MLIRContext *ctx = &getContext();
    Location loc = loop.getLoc();
    auto parent = loop->getParentOfType<func::FuncOp>();
    auto module = parent->getParentOfType<ModuleOp>();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    Type i64 = IntegerType::get(ctx, 64);
    auto record = LLVM::LLVMStructType::getLiteral(ctx, fields);

    // The body: iterations [lo, hi) with the captures read back from ctx.
    OpBuilder b(ctx);
    b.setInsertionPointAfter(parent);
    auto body = func::FuncOp::create(b, loc, (parent.getName() + "_parallel").str(),
                                     bodyType(ctx));
    body.setPrivate();
    // Internal in the object too: two kernel libraries loaded into one
    // process must not resolve each other's bodies.
    body->setAttr("llvm.linkage",
                  LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
    symbols.insert(body); // renames on a clash
    Block *entry = body.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping map;
    for (Operation *c : constants)
      b.clone(*c, map);
    for (auto [i, v] : llvm::enumerate(captured)) {
      Value at = LLVM::GEPOp::create(b, loc, ptr, record, entry->getArgument(0),
                                     ArrayRef<LLVM::GEPArg>{0, int32_t(i)});
      map.map(v, fromField(b, LLVM::LoadOp::create(b, loc, fields[i], at),
                           v.getType()));
    }
    auto index = [&](Value v) {
      return arith::IndexCastOp::create(b, loc, b.getIndexType(), v).getResult();
    };
    Value lo = index(entry->getArgument(1));
    Value hi = index(entry->getArgument(2));
    auto serial = scf::ForOp::create(b, loc, lo, hi,
                                     arith::ConstantIndexOp::create(b, loc, 1));
    map.map(loop.getInductionVar(), serial.getInductionVar());
    b.setInsertionPointToStart(serial.getBody());
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    b.setInsertionPointToEnd(entry);
    func::ReturnOp::create(b, loc);

    // The call: captures stored into a struct in the caller's frame (its
    // entry block, so a loop around the call does not grow the stack).
    func::FuncOp parallelFor = declareParallelFor(module);
    b.setInsertionPointToStart(&parent.getBody().front());
    Value one = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1));
    Value frame = LLVM::AllocaOp::create(b, loc, ptr, record, one);
    b.setInsertionPoint(loop);
    for (auto [i, v] : llvm::enumerate(captured)) {
      Value field = fromField(b, v, fields[i]);
      Value at = LLVM::GEPOp::create(b, loc, ptr, record, frame,
                                     ArrayRef<LLVM::GEPArg>{0, int32_t(i)});
      LLVM::StoreOp::create(b, loc, field, at);
    }
    auto toI64 = [&](Value v) {
      return arith::IndexCastOp::create(b, loc, i64, v).getResult();
    };
    Value fn = func::ConstantOp::create(b, loc, bodyType(ctx),
                                        FlatSymbolRefAttr::get(body));
    Value grain = arith::ConstantIntOp::create(b, loc, i64, 1);
    // The status is not checked: with a non-null body, grain 1 and bounds
    // that are loop bounds, ssm_parallel_for cannot fail (runtime.h).
    func::CallOp::create(b, loc, parallelFor,
                         ValueRange{toI64(loop.getLowerBound()),
                                    toI64(loop.getUpperBound()), grain, fn, frame});
    loop.erase();
  }
};

} // namespace
