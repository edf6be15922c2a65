//===- InsertShapeChecks.cpp - Run-time checks of dynamic dimensions ------===//
//
// Part of ssmc. See the pass description in Passes.td. The relations come
// from the ops' verifiers themselves (verifyShapes with an observer), so
// what is checked at run time is exactly what the verifier would have
// checked had the sizes been static.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Dialect/SSM/IR/ShapeChecker.h"
#include "ssm/Support/Checks.h"
#include "ssm/Transforms/InsertShapeChecks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMINSERTSHAPECHECKSPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Records the relations as the verifier states them.
struct Recorder : ShapeChecker::Observer {
  struct Dim {
    std::string name, what;
    Value value;
    unsigned index;
  };
  SmallVector<Dim> dims;
  SmallVector<std::pair<std::string, std::string>> multiples;

  void onDim(StringRef dim, const std::string &what, Value value,
             unsigned index) override {
    dims.push_back({dim.str(), what, value, index});
  }
  void onMultiple(StringRef dim, StringRef by) override {
    multiples.push_back({dim.str(), by.str()});
  }
};

/// Names that are other names shifted by a constant: `W-1` (the history of
/// a convolution) and `S` (the sequences of `cu_seqlens`, whose length is
/// `S+1`). Returns the base name and the shift, or nothing.
std::optional<std::pair<StringRef, int64_t>> derivedName(StringRef name) {
  if (name == "W-1")
    return std::make_pair(StringRef("W"), int64_t(-1));
  if (name == "S")
    return std::make_pair(StringRef("S+1"), int64_t(-1));
  return std::nullopt;
}

struct SSMInsertShapeChecksPass
    : ssm::impl::SSMInsertShapeChecksPassBase<SSMInsertShapeChecksPass> {
  void runOnOperation() override {
    getOperation()->walk([&](Operation *op) {
      Recorder recorder;
      ShapeChecker shapes(op, &recorder);
      LogicalResult described =
          llvm::TypeSwitch<Operation *, LogicalResult>(op)
              .Case<ScanOp, SelectiveScanOp, SSDOp, CausalConv1dOp, StateUpdateOp>(
                  [&](auto typed) { return verifyShapes(typed, shapes); })
              .Default([](Operation *) { return failure(); });
      // Ops without named dimensions, or (impossible after verification)
      // ones whose relations do not hold statically, get no checks.
      if (succeeded(described))
        insertChecks(op, recorder);
    });
  }

  void insertChecks(Operation *op, const Recorder &recorder) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    // Ops built by the model importer have no file; their name says which
    // layer.
    std::string where =
        checkMessagePrefix(loc, op->getName().getStringRef());

    struct Bound {
      Value size;
      bool dynamic;
      std::string from;
    };
    llvm::StringMap<Bound> bound;
    auto sizeOf = [&](const Recorder::Dim &d) -> std::pair<Value, bool> {
      auto type = cast<RankedTensorType>(d.value.getType());
      if (type.isDynamicDim(d.index))
        return {tensor::DimOp::create(b, loc, d.value, d.index), true};
      return {arith::ConstantIndexOp::create(b, loc, type.getDimSize(d.index)),
              false};
    };
    auto check = [&](Value ok, const Twine &message) {
      cf::AssertOp::create(b, loc, ok, (where + message).str());
    };
    auto bind = [&](StringRef name, Value size, bool dynamic, const std::string &from) {
      auto it = bound.find(name);
      if (it == bound.end()) {
        bound[name] = Bound{size, dynamic, from};
        return;
      }
      if (!dynamic && !it->second.dynamic)
        return; // The verifier has compared them.
      Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size,
                                         it->second.size);
      check(same, from + " (" + name + ") does not match " + it->second.from);
    };

    for (const Recorder::Dim &d : recorder.dims) {
      // Results take their sizes from the operands when the op runs.
      if (d.value.getDefiningOp() == op)
        continue;
      auto [size, dynamic] = sizeOf(d);
      std::string from = d.what + " dimension " + std::to_string(d.index);
      bind(d.name, size, dynamic, from);
      // A derived name binds its base too: init_state's W-1 checks W.
      if (auto derived = derivedName(d.name)) {
        Value base = arith::SubIOp::create(
            b, loc, size, arith::ConstantIndexOp::create(b, loc, derived->second));
        bind(derived->first, base, dynamic, from + " + 1");
      }
    }
    for (auto &[dim, by] : recorder.multiples) {
      auto n = bound.find(dim), d = bound.find(by);
      if (n == bound.end() || d == bound.end() ||
          (!n->second.dynamic && !d->second.dynamic))
        continue;
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value positive = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt,
                                             d->second.size, zero);
      check(positive, by + " (" + d->second.from + ") must be positive");
      Value rem = arith::RemUIOp::create(b, loc, n->second.size, d->second.size);
      Value divides =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rem, zero);
      check(divides, dim + " (" + n->second.from + ") must be a multiple of " +
                         by + " (" + d->second.from + ")");
    }
  }
};

} // namespace
