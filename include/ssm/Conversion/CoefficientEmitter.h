//===- CoefficientEmitter.h - ssm.recurrence's region in loops --*- C++ -*-===//
//
// Part of ssmc. The one mechanism by which kernel forms fuse the per-step
// coefficients of ssm.recurrence (step sizes, discretization, skip, gate)
// into their loops: each value of the op's region depends on a set of core
// dimensions (from the layouts of the inputs it reads), and a kernel form
// asks for a value inside a loop nest (a Scope, which binds some
// dimensions); the emitter clones the value's computation there, reusing
// what an enclosing scope already computed or what the form stored in a
// scratch buffer at the level the value belongs to. The CPU forms read the
// op's tensors; a GPU kernel form maps them to its buffer arguments, and
// the emitter then loads from those.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_COEFFICIENTEMITTER_H
#define SSM_CONVERSION_COEFFICIENTEMITTER_H

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

#include <array>

namespace mlir::ssm {

class CoefficientEmitter {
public:
  using Dim = RecurrenceOp::Dim;
  static constexpr unsigned bit(unsigned dim) { return 1u << dim; }

  /// `extents` holds the extent of every core dimension as an index value
  /// (what merged layout dimensions are linearized with). `sources` maps
  /// the op's operands to what they are read from where that is not the
  /// operand itself: the buffer arguments of a GPU kernel.
  CoefficientEmitter(RecurrenceOp op, ArrayRef<Value> extents,
                     IRMapping sources = {});

  /// A point in a kernel's loop nest: the core indices bound there (b is
  /// the row inputs are read at), the tile-local index of `p` (`lane`), the
  /// index of the step within the block of steps a form computes its
  /// per-step values for (`step`), whether the step has a previous one in
  /// its sequence (`hasPrevious`, an i1 from hasPreviousStep(); needed where
  /// inputs marked `previous` are read) and the values computed at this
  /// level. A child scope sees its parents'.
  struct Scope {
    explicit Scope(const Scope *parent = nullptr) : parent(parent) {
      if (parent) {
        index = parent->index;
        lane = parent->lane;
        step = parent->step;
        hasPrevious = parent->hasPrevious;
      }
    }
    const Scope *parent;
    std::array<Value, RecurrenceOp::kNumDims> index{};
    Value lane, step, hasPrevious;
    IRMapping values;
  };

  /// The dimensions (bit set) region value `v` depends on.
  unsigned dependences(Value v) const { return deps.lookup(v); }

  /// The region values a form must compute ahead of their use: those used
  /// by an operation, or consumed by the form, at a level other than their
  /// own. `consumedAt[role]` is where the form consumes each yield;
  /// `levels` restricts dependences to the dimensions the form loops over
  /// inside a work item.
  void planLevels(ArrayRef<unsigned> consumedAt, unsigned levels);
  /// The planned values whose level (dependences within `levels`) is
  /// exactly `level`.
  SmallVector<Value> plannedAt(unsigned level) const;

  /// `v` at `scope`: found in the scope or a parent, loaded from the
  /// scratch buffer it was stored in (indexed by the lane and/or the `n`
  /// index, following its dependences), or computed here.
  Value emit(OpBuilder &b, Location loc, Value v, Scope &scope);

  /// Records that `v` has been stored in `scratch`: [N, lane], [N] or
  /// [lane] by its dependences on n and p, preceded by the block's `step`
  /// index when `perStep` (a form that computes a block of steps' values
  /// ahead of the steps).
  void materialize(Value v, Value scratch, bool perStep = false) {
    scratches[v] = {scratch, perStep};
  }
  /// Computes `v` at `scope` and stores it into `scratch` where emit()
  /// reads it once materialize(v, scratch, perStep) is called (after the
  /// loops that fill the scratch are built).
  void store(OpBuilder &b, Location loc, Value v, Scope &scope, Value scratch,
             bool perStep = false);
  /// The scratch buffer `v` was stored in, or null.
  Value scratchOf(Value v) const { return scratches.lookup(v).buffer; }

  /// The indices of tensor operand `operand` at `scope` (merged layout
  /// dimensions linearized row-major), replacing the `b` index by `row`
  /// when given (the state's row is the sequence with cu_seqlens).
  SmallVector<Value> indicesOf(OpBuilder &b, Location loc, OpOperand &operand,
                               const Scope &scope, Value row = Value()) const;

  /// Element `indices` of operand `operand` as stored, from its source
  /// (tensor.extract of a tensor, memref.load of a buffer).
  Value read(OpBuilder &b, Location loc, Value operand, ValueRange indices) const;

  /// Whether the state restarts before step `i` of the steps [begin, ...)
  /// of row `row` (time index `ti`, which runs backward for a reverse op),
  /// by the op's `reset` or `seq_idx`; null when it has neither. The first
  /// step processed never restarts.
  Value cutBefore(OpBuilder &b, Location loc, Value i, Value ti, Value begin,
                  Value row) const;
  /// Whether step `i` (as for cutBefore) has a previous step in its
  /// sequence: it is not the first processed and no restart comes before
  /// it. Null when the op reads no input at the previous step; a form
  /// stores it in the step's Scope::hasPrevious.
  Value hasPreviousStep(OpBuilder &b, Location loc, Value i, Value ti, Value begin,
                        Value row) const;

  /// The input of the state update at `scope`: Σ_i value_i · key_i over the
  /// op's input terms.
  Value emitInput(OpBuilder &b, Location loc, Scope &scope);

  /// How a form makes a step the identity (decay 1, or 0 as a log, and
  /// value · key 0, whatever the inputs, taken to be finite) by setting
  /// some of `candidates`, the region values it holds per step: one
  /// candidate set to zero, and each other candidate computed from it set
  /// to the constant (0 or 1) that zero gives it. Empty when no candidate
  /// does. A form pads steps so, a select per held value and step instead
  /// of two per (step, entry).
  SmallVector<std::pair<Value, double>>
  identityAtZero(ArrayRef<Value> candidates) const;

  Type computeType() const { return ct; }

private:
  /// The first step processed and the restart before step `i` (null
  /// without reset or seq_idx); cutBefore and hasPreviousStep combine them.
  std::pair<Value, Value> boundaryBefore(OpBuilder &b, Location loc, Value i,
                                         Value ti, Value begin, Value row) const;
  /// Element `arg` of an input read at the previous step: at t ∓ 1, or 0
  /// where the scope's step has no previous step.
  Value readPrevious(OpBuilder &b, Location loc, BlockArgument arg,
                     const Scope &scope) const;
  /// Where `v` is in its scratch at `scope`: the block's step (when
  /// `perStep`), then n and the lane where `v` depends on n and p.
  SmallVector<Value> scratchIndices(Value v, const Scope &scope, bool perStep) const;

  // Op accessors are not const; the emitter never changes the op.
  mutable RecurrenceOp op;
  SmallVector<Value> extents;
  IRMapping sources;
  Type ct;
  llvm::DenseMap<Value, unsigned> deps;
  struct Scratch {
    Value buffer;
    bool perStep = false;
  };
  llvm::DenseMap<Value, Scratch> scratches;
  llvm::SetVector<Value> planned;
  unsigned levelMask = 0;
};

} // namespace mlir::ssm

#endif // SSM_CONVERSION_COEFFICIENTEMITTER_H
