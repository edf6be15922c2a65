//===- Recurrence.cpp - ssm.recurrence, the core op -----------------------===//
//
// Part of ssmc. Assembly, verification and queries of ssm.recurrence
// (include/ssm/Dialect/SSM/IR/SSMOps.td): layouts, extents and the
// dimensions each value of the coefficient region depends on, which is what
// lets every kernel form place each computation at the loop level it
// belongs to.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::ssm;

static constexpr StringLiteral kDimNames[] = {"b", "t", "g", "r", "p", "n"};

//===----------------------------------------------------------------------===//
// Layouts and extents
//===----------------------------------------------------------------------===//

SmallVector<SmallVector<unsigned, 2>>
RecurrenceOp::getLayout(OpOperand &operand) {
  // Layouts are numbered over the tensor operands that have one: the
  // inputs, then y_init and state (segment operands have fixed shapes).
  unsigned index = operand.getOperandNumber();
  unsigned inputs = getInputs().size();
  unsigned segmentOperands = (getReset() ? 1 : 0) + (getSeqIdx() ? 1 : 0) +
                             (getCuSeqlens() ? 1 : 0);
  if (index >= inputs)
    index -= segmentOperands;
  SmallVector<SmallVector<unsigned, 2>> layout;
  for (Attribute group : cast<ArrayAttr>(getLayouts()[index])) {
    auto dims = cast<DenseI64ArrayAttr>(group).asArrayRef();
    layout.emplace_back(dims.begin(), dims.end());
  }
  return layout;
}

/// The tensor operands that have a layout, in layout order.
static SmallVector<OpOperand *> layoutOperands(RecurrenceOp op) {
  SmallVector<OpOperand *> operands;
  for (OpOperand &input : op.getInputsMutable())
    operands.push_back(&input);
  operands.push_back(&op.getYInitMutable());
  if (op.getState())
    operands.push_back(&op.getStateMutable()[0]);
  return operands;
}

YieldOp RecurrenceOp::getYield() {
  return cast<YieldOp>(getBody().front().getTerminator());
}

Type RecurrenceOp::getComputeType() {
  return getYield().getValues().front().getType();
}

bool RecurrenceOp::hasDim(unsigned dim) {
  for (OpOperand *operand : layoutOperands(*this))
    for (auto &group : getLayout(*operand))
      if (llvm::is_contained(group, dim))
        return true;
  return false;
}

/// Whether the extent of `dim` in `operand` is that of the iteration space:
/// with cu_seqlens, the state's `b` counts sequences instead.
static bool sharesExtent(RecurrenceOp op, OpOperand &operand, unsigned dim) {
  return !(dim == RecurrenceOp::kB && op.getCuSeqlens() && op.getState() &&
           operand.get() == op.getState());
}

std::optional<RecurrenceOp::ExtentSource>
RecurrenceOp::getExtentSource(unsigned dim) {
  SmallVector<OpOperand *> operands = layoutOperands(*this);
  auto single = [&](unsigned d) -> std::optional<ExtentSource> {
    for (OpOperand *operand : operands) {
      if (!sharesExtent(*this, *operand, d))
        continue;
      for (auto [i, group] : llvm::enumerate(getLayout(*operand)))
        if (group.size() == 1 && group[0] == d)
          return ExtentSource{operand, static_cast<int64_t>(i), {}};
    }
    return std::nullopt;
  };
  if (auto source = single(dim))
    return source;
  for (OpOperand *operand : operands) {
    if (!sharesExtent(*this, *operand, dim))
      continue;
    for (auto [i, group] : llvm::enumerate(getLayout(*operand))) {
      if (!llvm::is_contained(group, dim))
        continue;
      ExtentSource source{operand, static_cast<int64_t>(i), {}};
      bool resolved = true;
      for (unsigned other : group)
        if (other != dim) {
          resolved &= single(other).has_value();
          source.divideBy.push_back(other);
        }
      if (resolved)
        return source;
    }
  }
  return std::nullopt;
}

SmallVector<int64_t> RecurrenceOp::getStaticExtents() {
  SmallVector<int64_t> extents(kNumDims, 1);
  for (unsigned dim = 0; dim < kNumDims; ++dim) {
    if (!hasDim(dim))
      continue;
    std::optional<ExtentSource> source = getExtentSource(dim);
    if (!source) {
      extents[dim] = ShapedType::kDynamic;
      continue;
    }
    int64_t size = cast<RankedTensorType>(source->operand->get().getType())
                       .getDimSize(source->operandDim);
    for (unsigned other : source->divideBy) {
      std::optional<ExtentSource> divisor = getExtentSource(other);
      int64_t by = cast<RankedTensorType>(divisor->operand->get().getType())
                       .getDimSize(divisor->operandDim);
      size = ShapedType::isDynamic(size) || ShapedType::isDynamic(by) || by == 0
                 ? ShapedType::kDynamic
                 : size / by;
    }
    extents[dim] = size;
  }
  return extents;
}

llvm::DenseMap<Value, unsigned> RecurrenceOp::computeDependences() {
  llvm::DenseMap<Value, unsigned> deps;
  Block &block = getBody().front();
  for (auto [arg, input] : llvm::zip(block.getArguments(), getInputsMutable())) {
    unsigned bits = 0;
    for (auto &group : getLayout(input))
      for (unsigned dim : group)
        bits |= 1u << dim;
    deps[arg] = bits;
  }
  for (Operation &op : block) {
    unsigned bits = 0;
    for (Value operand : op.getOperands())
      bits |= deps.lookup(operand);
    for (Value result : op.getResults())
      deps[result] = bits;
  }
  return deps;
}

LogicalResult
RecurrenceOp::reifyResultShapes(OpBuilder &b, ReifiedRankedShapedTypeDims &shapes) {
  // Destination style: each result has the shape of its destination.
  for (OpOperand &init : getDpsInitsMutable())
    shapes.push_back(tensor::getMixedSizes(b, getLoc(), init.get()));
  return success();
}

MutableOperandRange RecurrenceOp::getDpsInitsMutable() {
  // y_init and the optional state are the last operands.
  unsigned first = getYInitMutable().getOperandNumber();
  return MutableOperandRange(*this, first, getState() ? 2 : 1);
}

//===----------------------------------------------------------------------===//
// Assembly
//===----------------------------------------------------------------------===//

/// `[b, t, (g, r), p]`: one entry per operand dimension.
static ParseResult parseLayout(OpAsmParser &parser, Attribute &layout) {
  MLIRContext *context = parser.getContext();
  auto parseDim = [&](SmallVectorImpl<int64_t> &dims) -> ParseResult {
    StringRef name;
    SMLoc at = parser.getCurrentLocation();
    if (parser.parseKeyword(&name))
      return failure();
    const auto *found = llvm::find(kDimNames, name);
    if (found == std::end(kDimNames))
      return parser.emitError(at) << "unknown dimension '" << name
                                  << "' (expected one of b, t, g, r, p, n)";
    dims.push_back(found - std::begin(kDimNames));
    return success();
  };
  SmallVector<Attribute> groups;
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Square, [&] {
        SmallVector<int64_t> dims;
        if (succeeded(parser.parseOptionalLParen())) {
          if (parser.parseCommaSeparatedList([&] { return parseDim(dims); }) ||
              parser.parseRParen())
            return failure();
        } else if (parseDim(dims)) {
          return failure();
        }
        groups.push_back(DenseI64ArrayAttr::get(context, dims));
        return success();
      }))
    return failure();
  layout = ArrayAttr::get(context, groups);
  return success();
}

static void printLayout(OpAsmPrinter &printer, ArrayRef<SmallVector<unsigned, 2>> layout) {
  printer << "[";
  llvm::interleaveComma(layout, printer, [&](ArrayRef<unsigned> group) {
    if (group.size() != 1)
      printer << "(";
    llvm::interleaveComma(group, printer,
                          [&](unsigned dim) { printer << kDimNames[dim]; });
    if (group.size() != 1)
      printer << ")";
  });
  printer << "]";
}

/// `(%v [layout], ... : type, ...)`; where `previous` is given, an operand
/// may be followed by the keyword `previous`, and its index is recorded.
static ParseResult
parseOperandsWithLayouts(OpAsmParser &parser,
                         SmallVectorImpl<OpAsmParser::UnresolvedOperand> &operands,
                         SmallVectorImpl<Type> &types,
                         SmallVectorImpl<Attribute> &layouts,
                         SmallVectorImpl<int64_t> *previous = nullptr) {
  if (parser.parseLParen())
    return failure();
  if (failed(parser.parseOptionalColon())) {
    if (parser.parseCommaSeparatedList([&] {
          if (parser.parseOperand(operands.emplace_back()) ||
              parseLayout(parser, layouts.emplace_back()))
            return failure();
          if (previous && succeeded(parser.parseOptionalKeyword("previous")))
            previous->push_back(operands.size() - 1);
          return success();
        }) ||
        parser.parseColon())
      return failure();
  }
  if (!operands.empty() && parser.parseTypeList(types))
    return failure();
  return parser.parseRParen();
}

ParseResult RecurrenceOp::parse(OpAsmParser &parser, OperationState &result) {
  MLIRContext *context = parser.getContext();
  StringRef transition, direction;
  SMLoc at = parser.getCurrentLocation();
  if (parser.parseKeyword(&transition))
    return failure();
  std::optional<Transition> kind = symbolizeTransition(transition);
  if (!kind)
    return parser.emitError(at) << "expected transition 'scalar' or 'diagonal'";
  at = parser.getCurrentLocation();
  if (parser.parseKeyword(&direction))
    return failure();
  std::optional<Direction> dir = symbolizeDirection(direction);
  if (!dir)
    return parser.emitError(at) << "expected direction 'forward' or 'reverse'";
  Properties &props = result.getOrAddProperties<Properties>();
  props.transition = TransitionAttr::get(context, *kind);
  props.direction = DirectionAttr::get(context, *dir);
  if (succeeded(parser.parseOptionalKeyword("log_decay")))
    props.log_decay = UnitAttr::get(context);
  if (succeeded(parser.parseOptionalKeyword("terms"))) {
    int64_t terms = 0;
    if (parser.parseInteger(terms))
      return failure();
    props.terms = IntegerAttr::get(IntegerType::get(context, 64), terms);
  }
  if (succeeded(parser.parseOptionalKeyword("form"))) {
    StringRef form;
    at = parser.getCurrentLocation();
    if (parser.parseKeyword(&form))
      return failure();
    std::optional<RecurrenceForm> parsed = symbolizeRecurrenceForm(form);
    if (!parsed)
      return parser.emitError(at) << "expected form 'recurrent' or 'chunked'";
    props.form = RecurrenceFormAttr::get(context, *parsed);
  }
  for (auto [keyword, attr] : {std::pair<StringRef, IntegerAttr *>{"chunk_size", &props.chunk_size},
                                {"tile", &props.tile}}) {
    if (failed(parser.parseOptionalKeyword(keyword)))
      continue;
    int64_t value = 0;
    if (parser.parseInteger(value))
      return failure();
    *attr = IntegerAttr::get(IntegerType::get(context, 64), value);
  }
  if (succeeded(parser.parseOptionalKeyword("spans"))) {
    StringRef spans;
    at = parser.getCurrentLocation();
    if (parser.parseKeyword(&spans))
      return failure();
    std::optional<SpanOrder> parsed = symbolizeSpanOrder(spans);
    if (!parsed)
      return parser.emitError(at) << "expected spans 'sequential' or 'parallel'";
    props.spans = SpanOrderAttr::get(context, *parsed);
  }

  SmallVector<OpAsmParser::UnresolvedOperand> inputs, outs;
  SmallVector<Type> inputTypes, outTypes;
  SmallVector<Attribute> layouts;
  SmallVector<int64_t> previous;
  if (parser.parseKeyword("ins") ||
      parseOperandsWithLayouts(parser, inputs, inputTypes, layouts, &previous))
    return failure();
  if (!previous.empty())
    props.previous = DenseI64ArrayAttr::get(context, previous);
  // At most one segment operand; the verifier reports a second one.
  std::array<SmallVector<OpAsmParser::UnresolvedOperand, 1>, 3> segments;
  std::array<SmallVector<Type, 1>, 3> segmentTypes;
  static constexpr StringLiteral kSegmentNames[] = {"reset", "seq_idx",
                                                    "cu_seqlens"};
  for (auto [i, name] : llvm::enumerate(kSegmentNames)) {
    if (failed(parser.parseOptionalKeyword(name)))
      continue;
    if (parser.parseLParen() ||
        parser.parseOperand(segments[i].emplace_back()) ||
        parser.parseColonType(segmentTypes[i].emplace_back()) ||
        parser.parseRParen())
      return failure();
  }
  at = parser.getCurrentLocation();
  if (parser.parseKeyword("outs") ||
      parseOperandsWithLayouts(parser, outs, outTypes, layouts))
    return failure();
  if (outs.empty() || outs.size() > 2)
    return parser.emitError(at) << "expected outs(%y_init [, %state])";
  props.layouts = ArrayAttr::get(context, layouts);

  SMLoc operandsLoc = parser.getCurrentLocation();
  if (parser.resolveOperands(inputs, inputTypes, operandsLoc, result.operands))
    return failure();
  for (auto [operands, types] : llvm::zip(segments, segmentTypes))
    if (parser.resolveOperands(operands, types, operandsLoc, result.operands))
      return failure();
  if (parser.resolveOperands(outs, outTypes, operandsLoc, result.operands))
    return failure();
  props.operandSegmentSizes = {static_cast<int32_t>(inputs.size()),
                               static_cast<int32_t>(segments[0].size()),
                               static_cast<int32_t>(segments[1].size()),
                               static_cast<int32_t>(segments[2].size()), 1,
                               static_cast<int32_t>(outs.size() - 1)};
  // Destination style: the results have the types of the destinations.
  result.addTypes(outTypes);

  if (parser.parseOptionalAttrDictWithKeyword(result.attributes))
    return failure();
  Region *body = result.addRegion();
  if (parser.parseRegion(*body, /*arguments=*/{}))
    return failure();
  return success();
}

void RecurrenceOp::print(OpAsmPrinter &printer) {
  printer << " " << stringifyTransition(getTransition()) << " "
          << stringifyDirection(getDirection());
  if (getLogDecay())
    printer << " log_decay";
  if (IntegerAttr terms = getTermsAttr())
    printer << " terms " << terms.getInt();
  if (std::optional<RecurrenceForm> form = getForm())
    printer << " form " << stringifyRecurrenceForm(*form);
  if (IntegerAttr chunk = getChunkSizeAttr())
    printer << " chunk_size " << chunk.getInt();
  if (IntegerAttr tile = getTileAttr())
    printer << " tile " << tile.getInt();
  if (std::optional<SpanOrder> spans = getSpans())
    printer << " spans " << stringifySpanOrder(*spans);
  auto printWithLayouts = [&](StringRef keyword, MutableArrayRef<OpOperand> operands) {
    printer << " " << keyword << "(";
    llvm::interleaveComma(operands, printer, [&](OpOperand &operand) {
      printer << operand.get() << " ";
      printLayout(printer, getLayout(operand));
      if (operand.getOperandNumber() < getInputs().size() &&
          readsPrevious(operand.getOperandNumber()))
        printer << " previous";
    });
    if (!operands.empty()) {
      printer << " : ";
      llvm::interleaveComma(operands, printer,
                            [&](OpOperand &operand) { printer << operand.get().getType(); });
    }
    printer << ")";
  };
  printWithLayouts("ins", getInputsMutable());
  auto printSegment = [&](StringRef name, Value value) {
    if (value)
      printer << " " << name << "(" << value << " : " << value.getType() << ")";
  };
  printSegment("reset", getReset());
  printSegment("seq_idx", getSeqIdx());
  printSegment("cu_seqlens", getCuSeqlens());
  printWithLayouts("outs", getDpsInitsMutable());
  printer.printOptionalAttrDictWithKeyword(
      (*this)->getAttrs(), {"transition", "direction", "log_decay", "layouts",
                            "form", "chunk_size", "tile", "spans", "terms",
                            "previous", "operandSegmentSizes"});
  printer << " ";
  printer.printRegion(getBody(), /*printEntryBlockArgs=*/true,
                      /*printBlockTerminators=*/true);
}

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

static std::string describeDims(unsigned bits) {
  std::string s;
  for (unsigned dim = 0; dim < RecurrenceOp::kNumDims; ++dim)
    if (bits & (1u << dim))
      s += (s.empty() ? "" : ", ") + kDimNames[dim].str();
  return s;
}

/// The conditions of the chunked form that the op's attributes and
/// operands decide (the region decides the rest: outer-product terms).
static bool chunkedFormAttributesAllow(RecurrenceOp op) {
  return op.getTransition() == Transition::scalar && op.getLogDecay() &&
         op.getDirection() == Direction::forward && !op.getReset() &&
         op.hasDim(RecurrenceOp::kT) && op.getNumTerms() == 1 && !op.getPrevious();
}

LogicalResult RecurrenceOp::verify() {
  SmallVector<OpOperand *> operands = layoutOperands(*this);
  if (getLayouts().size() != operands.size())
    return emitOpError() << "has " << getLayouts().size() << " layouts for "
                         << operands.size() << " tensor operands";
  for (auto [index, attr] : llvm::enumerate(getLayouts())) {
    auto groups = dyn_cast<ArrayAttr>(attr);
    if (!groups || !llvm::all_of(groups, [](Attribute g) {
          auto dims = dyn_cast<DenseI64ArrayAttr>(g);
          return dims && !dims.empty() && llvm::all_of(dims.asArrayRef(), [](int64_t d) {
            return d >= 0 && d < kNumDims;
          });
        }))
      return emitOpError() << "layout #" << index
                           << " must be a list of non-empty lists of dimensions 0..5";
  }
  unsigned segments = (getReset() ? 1 : 0) + (getSeqIdx() ? 1 : 0) +
                      (getCuSeqlens() ? 1 : 0);
  if (segments > 1)
    return emitOpError() << "takes at most one of reset, seq_idx and cu_seqlens";

  for (auto [index, operand] : llvm::enumerate(operands)) {
    auto type = cast<RankedTensorType>(operand->get().getType());
    auto layout = getLayout(*operand);
    if (static_cast<int64_t>(layout.size()) != type.getRank())
      return emitOpError() << "operand #" << operand->getOperandNumber()
                           << " has rank " << type.getRank() << " but its layout has "
                           << layout.size() << " dimensions";
    unsigned seen = 0;
    for (auto &group : layout)
      for (unsigned dim : group) {
        if (seen & (1u << dim))
          return emitOpError() << "operand #" << operand->getOperandNumber()
                               << " names dimension '" << kDimNames[dim] << "' twice";
        seen |= 1u << dim;
      }
    if (operand->get() == getYInit() && (seen & (1u << kN)))
      return emitOpError() << "y_init may not have dimension 'n'";
    if (getState() && operand->get() == getState() && (seen & (1u << kT)))
      return emitOpError() << "state may not have dimension 't'";
  }

  // Every size the types fix must agree with the extents.
  SmallVector<int64_t> extents = getStaticExtents();
  for (unsigned dim = 0; dim < kNumDims; ++dim)
    if (hasDim(dim) && !getExtentSource(dim))
      return emitOpError() << "cannot tell the extent of dimension '"
                           << kDimNames[dim]
                           << "': no operand has it alone or merged only with "
                              "dimensions of known extent";
  for (OpOperand *operand : operands) {
    auto type = cast<RankedTensorType>(operand->get().getType());
    for (auto [i, group] : llvm::enumerate(getLayout(*operand))) {
      int64_t expected = 1;
      for (unsigned dim : group) {
        int64_t extent = sharesExtent(*this, *operand, dim) ? extents[dim]
                                                            : ShapedType::kDynamic;
        expected = ShapedType::isDynamic(expected) || ShapedType::isDynamic(extent)
                       ? ShapedType::kDynamic
                       : expected * extent;
      }
      int64_t size = type.getDimSize(i);
      if (!ShapedType::isDynamic(expected) && !ShapedType::isDynamic(size) &&
          size != expected) {
        InFlightDiagnostic diag = emitOpError()
                                  << "operand #" << operand->getOperandNumber()
                                  << " dimension " << i << " has size " << size
                                  << " but its layout gives " << expected << " (";
        llvm::interleave(
            group, [&](unsigned dim) { diag << kDimNames[dim] << " = " << extents[dim]; },
            [&] { diag << " × "; });
        return diag << ")";
      }
    }
  }

  auto checkSegment = [&](Value segment, StringRef name) -> LogicalResult {
    if (!segment)
      return success();
    auto type = cast<RankedTensorType>(segment.getType());
    if (type.getRank() != 2)
      return emitOpError() << name << " must have rank 2 [b, t], got " << type;
    static constexpr unsigned kDims[] = {kB, kT};
    for (auto [i, dim] : llvm::enumerate(kDims))
      if (!ShapedType::isDynamic(type.getDimSize(i)) &&
          !ShapedType::isDynamic(extents[dim]) && type.getDimSize(i) != extents[dim])
        return emitOpError() << name << " dimension " << i << " has size "
                             << type.getDimSize(i) << " but '" << kDimNames[dim]
                             << "' has extent " << extents[dim];
    return success();
  };
  if (failed(checkSegment(getReset(), "reset")) ||
      failed(checkSegment(getSeqIdx(), "seq_idx")))
    return failure();
  if (Value cu = getCuSeqlens()) {
    if (cast<RankedTensorType>(cu.getType()).getRank() != 1)
      return emitOpError() << "cu_seqlens must have rank 1, got " << cu.getType();
  }
  if (getFinalState() && !getState())
    return emitOpError() << "returns a final state but has no state destination";
  // I64Attr accessors are unsigned: read the signed values to refuse
  // negative ones.
  for (auto [name, attr] : {std::pair<StringRef, IntegerAttr>{"chunk_size", getChunkSizeAttr()},
                            {"tile", getTileAttr()}, {"terms", getTermsAttr()}})
    if (attr && attr.getInt() < 1)
      return emitOpError() << name << " must be at least 1, got " << attr.getInt();
  if (std::optional<ArrayRef<int64_t>> previous = getPrevious()) {
    int64_t last = -1;
    for (int64_t index : *previous) {
      if (index <= last || index >= static_cast<int64_t>(getInputs().size()))
        return emitOpError() << "previous must list input indices in increasing "
                                "order, below the "
                             << getInputs().size() << " inputs";
      last = index;
      bool alongTime = llvm::any_of(getLayout(getInputsMutable()[index]),
                                    [](auto &group) { return llvm::is_contained(group, kT); });
      if (!alongTime)
        return emitOpError() << "input #" << index
                             << " is read at the previous step but its layout has no 't'";
    }
  }
  if (getForm() == RecurrenceForm::chunked && !chunkedFormAttributesAllow(*this))
    return emitOpError() << "the chunked form needs a scalar transition given "
                            "as log_decay, forward in time, without reset, with "
                            "one input term and no input read at the previous step";
  if (getSpans() && getForm() != RecurrenceForm::chunked)
    return emitOpError() << "spans order the chunks of the chunked form; "
                            "the op has no form chunked";
  if (getSpans() == SpanOrder::parallel && getCuSeqlens())
    return emitOpError() << "spans parallel needs batch rows: the packed "
                            "sequences of cu_seqlens are walked in order";
  return success();
}

bool RecurrenceOp::hasOuterProductTerms() {
  llvm::DenseMap<Value, unsigned> deps = computeDependences();
  YieldOp yield = getYield();
  auto on = [&](Value v, unsigned dim) { return (deps.lookup(v) & (1u << dim)) != 0; };
  for (unsigned i = 0; i < getNumTerms(); ++i) {
    auto [value, key] = yield.getTerm(i);
    if (on(value, kN) || on(key, kP))
      return false;
  }
  return !on(yield.getRole(YieldOp::kQuery), kP);
}

bool RecurrenceOp::allowsChunkedForm() {
  return chunkedFormAttributesAllow(*this) && hasOuterProductTerms();
}

Value YieldOp::getRole(Role role) {
  unsigned position = role <= kKey ? role : role + 2 * (getParentOp().getNumTerms() - 1);
  return position < getNumOperands() ? getOperand(position) : Value();
}

YieldOp::Role YieldOp::getRoleOf(unsigned position) {
  unsigned terms = getParentOp().getNumTerms();
  if (position == 0)
    return kDecay;
  if (position <= 2 * terms)
    return position % 2 ? kValue : kKey;
  return static_cast<Role>(position - 2 * (terms - 1));
}

LogicalResult RecurrenceOp::verifyRegions() {
  Block &block = getBody().front();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError() << "region has " << block.getNumArguments()
                         << " arguments for " << getInputs().size() << " inputs";
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return emitOpError() << "region must end with ssm.yield";
  int64_t terms = getTermsAttr() ? getTermsAttr().getInt() : 1;
  int64_t yields = yield.getNumOperands();
  auto yieldError = [&] {
    return yield.emitOpError() << "yields decay, a value and a key per input term ("
                               << terms << "), query, skip and optionally gate: ";
  };
  // Bounded by the yields first, so that 2·terms is exact.
  if (terms < 1 || terms > yields)
    return yieldError() << "got " << yields << " values";
  if (yields != 3 + 2 * terms && yields != 4 + 2 * terms)
    return yieldError() << "expected " << 3 + 2 * terms << " or " << 4 + 2 * terms
                        << " values, got " << yields;
  Type ct = yield.getOperand(0).getType();
  if (!ct.isF32() && !ct.isF64())
    return yield.emitOpError() << "values must be f32 or f64 (the compute type), got "
                               << ct;
  for (Value v : llvm::concat<Value>(block.getArguments(), yield.getOperands()))
    if (v.getType() != ct)
      return emitOpError() << "region arguments and yields must all have the compute type "
                           << ct << ", got " << v.getType();
  for (Operation &op : block.without_terminator())
    if (op.getNumRegions() != 0 || !isMemoryEffectFree(&op))
      return op.emitOpError()
             << "is not allowed in ssm.recurrence's region: coefficients are "
                "computed by side-effect-free ops without regions";

  llvm::DenseMap<Value, unsigned> deps = computeDependences();
  auto forbid = [&](YieldOp::Role role, StringRef name, unsigned dims,
                    StringRef why) -> LogicalResult {
    Value v = yield.getRole(role);
    if (v && (deps.lookup(v) & dims))
      return yield.emitOpError()
             << name << " depends on " << describeDims(deps.lookup(v) & dims)
             << ", which " << why;
    return success();
  };
  constexpr unsigned pn = (1u << kP) | (1u << kN);
  if (getTransition() == Transition::scalar &&
      failed(forbid(YieldOp::kDecay, "decay", pn,
                    "a scalar transition may not (it is one per step and head)")))
    return failure();
  if (failed(forbid(YieldOp::kSkip, "skip", 1u << kN, "an output term may not")) ||
      failed(forbid(YieldOp::kGate, "gate", 1u << kN, "an output term may not")))
    return failure();
  if (getForm() == RecurrenceForm::chunked && !hasOuterProductTerms())
    return yield.emitOpError()
           << "the chunked form needs a value that does not depend on n and a key "
              "and query that do not depend on p (its input term is value ⊗ key)";
  return success();
}
