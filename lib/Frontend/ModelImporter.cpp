//===- ModelImporter.cpp - Whole language models as ssm IR ----------------===//
//
// Part of ssmc. See ModelImporter.h. The module is built with MLIR's op
// builders, one helper per step of transformers' forward pass (linear,
// rmsNorm, convolution, the mixers), so that the generator reads like the
// Python it mirrors. Shapes are static except the batch B, the prompt
// length L and their product M = B * L.
//
// Every op is located by a NameLoc naming the transformers module or the
// checkpoint tensor it comes from, inside the entry point's name, e.g.
// loc("backbone.layers.*.mixer.conv1d"("model_decode")): the layer loop's
// body serves every layer, hence the `*`.
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/ModelImporter.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Target/CHeader.h"
#include "ssm/runtime.h" // the packed formats (ssm_pack_weights)

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::ssm;
using llvm::StringRef;

//===----------------------------------------------------------------------===//
// Weights layout
//===----------------------------------------------------------------------===//

namespace {
uint64_t fnv1a(uint64_t hash, const void *data, size_t size) {
  const auto *bytes = static_cast<const uint8_t *>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

bool endsWith(StringRef name, StringRef suffix) { return name.ends_with(suffix); }
} // namespace

/// True for the matrices `ssmc --weight-type` packs: the projections that
/// hold almost all of a model's bytes, read once per token when decoding.
static bool isPackable(const ExpectedTensor &tensor) {
  StringRef name = tensor.name;
  return tensor.shape.size() == 2 &&
         (name == "backbone.embeddings.weight" || name == "lm_head.weight" ||
          endsWith(name, ".in_proj.weight") ||
          endsWith(name, ".x_proj.weight") ||
          endsWith(name, ".out_proj.weight"));
}

WeightsLayout WeightsLayout::forModel(const ModelDescription &model,
                                      std::optional<WeightFormat> packed) {
  WeightsLayout layout;
  uint64_t offset = 0, hash = 0xcbf29ce484222325ULL;
  for (const ExpectedTensor &tensor : model.tensors) {
    Slot slot;
    slot.name = tensor.name;
    slot.shape = tensor.shape;
    // conv1d.weight [C, 1, W] is used as [C, W].
    if (endsWith(tensor.name, ".conv1d.weight"))
      slot.shape = {tensor.shape[0], tensor.shape[2]};
    slot.negExp = endsWith(tensor.name, ".A_log");
    slot.numElements = 1;
    for (int64_t dim : slot.shape)
      slot.numElements *= static_cast<uint64_t>(dim);
    slot.words = slot.numElements;
    int64_t bytes = -1;
    if (packed && isPackable(tensor))
      bytes = ssm_packed_bytes(static_cast<int32_t>(*packed), slot.shape[0],
                               slot.shape[1]);
    if (bytes >= 0) { // Else a block format that does not divide the rows.
      slot.format = packed;
      slot.words = (static_cast<uint64_t>(bytes) + 3) / 4;
    }
    slot.offset = offset;
    // 16 words: every tensor starts on a 64-byte boundary (the buffer is
    // page aligned), so vector loads of whole rows are aligned.
    offset += (slot.words + 15) / 16 * 16;
    hash = fnv1a(hash, slot.name.data(), slot.name.size());
    for (int64_t dim : slot.shape)
      hash = fnv1a(hash, &dim, sizeof(dim));
    hash = fnv1a(hash, &slot.offset, sizeof(slot.offset));
    hash = fnv1a(hash, &slot.negExp, sizeof(slot.negExp));
    int32_t format = slot.format ? static_cast<int32_t>(*slot.format) : 0;
    hash = fnv1a(hash, &format, sizeof(format));
    layout.slots.push_back(std::move(slot));
  }
  layout.totalFloats = offset;
  // The info table stores the hash as int64_t; keep it non-negative so it
  // reads the same in every language.
  layout.hash = hash & 0x7fffffffffffffffULL;
  return layout;
}

const WeightsLayout::Slot *WeightsLayout::find(StringRef name) const {
  for (const Slot &slot : slots)
    if (slot.name == name)
      return &slot;
  return nullptr;
}

llvm::Error mlir::ssm::writeWeightsFile(StringRef path,
                                        const WeightsLayout &layout,
                                        const Checkpoint &checkpoint) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError(ec, "cannot write %s: %s", path.str().c_str(),
                                   ec.message().c_str());
  char header[SSM_WEIGHTS_HEADER_BYTES] = {};
  std::memcpy(header, SSM_WEIGHTS_MAGIC, SSM_WEIGHTS_MAGIC_BYTES);
  uint64_t count = layout.totalFloats, hash = layout.hash;
  std::memcpy(header + SSM_WEIGHTS_FLOAT_COUNT_OFFSET, &count, 8);
  std::memcpy(header + SSM_WEIGHTS_LAYOUT_HASH_OFFSET, &hash, 8);
  // A stream destroyed with an unchecked error stops the program (LLVM's
  // report_fatal_error): every way out closes it, takes its error, and
  // removes what was written of the file.
  auto abandon = [&](llvm::Error error) {
    os.close();
    os.clear_error();
    llvm::sys::fs::remove(path);
    return error;
  };
  os.write(header, sizeof(header));
  static const char zeros[64] = {};
  std::vector<char> packedBytes;
  for (const WeightsLayout::Slot &slot : layout.slots) {
    llvm::Expected<std::vector<float>> data = checkpoint.readF32(slot.name);
    if (!data)
      return abandon(data.takeError());
    if (data->size() != slot.numElements)
      return abandon(llvm::createStringError(
          "tensor '%s': %zu elements, expected %llu", slot.name.c_str(),
          data->size(), (unsigned long long)slot.numElements));
    if (slot.negExp)
      for (float &v : *data)
        v = -std::exp(v);
    uint64_t bytes = slot.words * 4;
    if (slot.format) {
      packedBytes.assign(bytes, 0);
      if (ssm_pack_weights(static_cast<int32_t>(*slot.format), slot.shape[0],
                           slot.shape[1], data->data(), slot.shape[1],
                           packedBytes.data()) != SSM_OK)
        return abandon(llvm::createStringError(
            "tensor '%s': cannot pack it: %s", slot.name.c_str(),
            ssm_last_error()));
      os.write(packedBytes.data(), bytes);
    } else {
      os.write(reinterpret_cast<const char *>(data->data()), bytes);
    }
    os.write(zeros, (64 - bytes % 64) % 64);
  }
  os.close();
  if (std::error_code error = os.error())
    return abandon(llvm::createStringError(error, "cannot write %s: %s",
                                           path.str().c_str(),
                                           error.message().c_str()));
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// The module
//===----------------------------------------------------------------------===//

namespace {

/// Dynamic dimensions: the batch, the prompt length and their product.
constexpr int64_t kB = -1, kL = -2, kM = -3;

/// The prefix of layer 0's tensors. The layer loop's body is built once:
/// it reads layer 0's names at an offset that moves to the loop's layer.
constexpr StringRef kLayer0 = "backbone.layers.0.";

llvm::Error importerError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "model importer: " + message);
}

/// A tensor value and its shape, whose negative sizes say which dynamic
/// size (kB, kL, kM) each `?` of the IR type is.
struct Val {
  Value value;
  std::vector<int64_t> shape;

  Type elementType() const {
    return cast<RankedTensorType>(value.getType()).getElementType();
  }
};

RankedTensorType typeOf(ArrayRef<int64_t> shape, Type elementType) {
  SmallVector<int64_t> sizes;
  for (int64_t d : shape)
    sizes.push_back(d < 0 ? ShapedType::kDynamic : d);
  return RankedTensorType::get(sizes, elementType);
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t d = shape[i];
    s += i ? ", " : "";
    s += d == kB ? "B" : d == kL ? "L" : d == kM ? "M" : std::to_string(d);
  }
  return s + "]";
}

std::vector<unsigned> identity(unsigned rank) {
  std::vector<unsigned> dims(rank);
  for (unsigned i = 0; i < rank; ++i)
    dims[i] = i;
  return dims;
}

/// `name` as diagnostics show it: layer 0's tensors stand for every layer's.
std::string displayName(StringRef name) {
  if (name.consume_front(kLayer0))
    return ("backbone.layers.*." + name).str();
  return name.str();
}

/// Builds one entry point's body. `b` is positioned in the function; the
/// values below are its arguments and the constants every step uses.
class EntryBuilder {
public:
  EntryBuilder(ImplicitLocOpBuilder &b, const WeightsLayout &layout,
               Location entry)
      : b(b), layout(layout), entry(entry), f32(b.getF32Type()) {}

  ImplicitLocOpBuilder &b;
  const WeightsLayout &layout;
  /// The entry point, as the root of every location.
  Location entry;
  Type f32;
  Value weights, B, L, M, zero, trueValue, zeroI64, vocabI64;
  /// Inside the layer loop: the layer and the offset (in floats) of its
  /// tensors from layer 0's; null outside.
  Value layer, layerBase;

  /// Builds, until the end of its scope, under a location naming `what`.
  class Step {
  public:
    Step(EntryBuilder &w, StringRef what) : b(w.b), saved(w.b.getLoc()) {
      b.setLoc(w.at(what));
    }
    ~Step() { b.setLoc(saved); }

  private:
    ImplicitLocOpBuilder &b;
    Location saved;
  };

  Location at(StringRef what) const {
    return NameLoc::get(b.getStringAttr(what), entry);
  }

  /// The SSA value of a dynamic size.
  Value size(int64_t d) const { return d == kB ? B : d == kL ? L : M; }
  OpFoldResult sizeOf(int64_t d) const {
    if (d < 0)
      return size(d);
    return b.getIndexAttr(d);
  }

  Val empty(const std::vector<int64_t> &shape, Type elementType = {}) {
    if (!elementType)
      elementType = f32;
    SmallVector<Value> dynamic;
    for (int64_t d : shape)
      if (d < 0)
        dynamic.push_back(size(d));
    RankedTensorType type = typeOf(shape, elementType);
    return {tensor::EmptyOp::create(b, type.getShape(), elementType, dynamic),
            shape};
  }

  Val zeros(const std::vector<int64_t> &shape) {
    Val e = empty(shape);
    return {linalg::FillOp::create(b, ValueRange{zero}, ValueRange{e.value})
                .getResult(0),
            shape};
  }

  /// The weight `name` (a slot of the layout) at its IR shape; layer 0's
  /// names are read at the loop's layer.
  llvm::Expected<Val> weight(StringRef name) {
    const WeightsLayout::Slot *slot = layout.find(name);
    if (!slot)
      return importerError("the weights layout has no tensor '" + name + "'");
    Step step(*this, displayName(name));
    OpFoldResult offset = b.getIndexAttr(slot->offset);
    if (layerBase && name.starts_with(kLayer0)) {
      Value first = arith::ConstantIndexOp::create(b, slot->offset);
      offset = arith::AddIOp::create(b, layerBase, first).getResult();
    }
    auto count = static_cast<int64_t>(slot->words);
    Val flat{tensor::ExtractSliceOp::create(
                 b, typeOf({count}, f32), weights,
                 ArrayRef<OpFoldResult>{offset},
                 ArrayRef<OpFoldResult>{b.getIndexAttr(count)},
                 ArrayRef<OpFoldResult>{b.getIndexAttr(1)}),
             {count}};
    // A packed matrix stays a run of words: only the packed ops read it.
    if (slot->shape.size() == 1 || slot->format)
      return flat;
    std::vector<unsigned> all = identity(slot->shape.size());
    return expand(flat, {all}, slot->shape);
  }

  /// The slot of `name`; the layout has it (weight() has read it).
  const WeightsLayout::Slot &slotOf(StringRef name) const {
    return *layout.find(name);
  }

  /// x[M, K] times the transpose of weight[N, K], plus bias[N] if given.
  llvm::Expected<Val> linear(const Val &x, StringRef weightName,
                             StringRef biasName = "") {
    llvm::Expected<Val> w = weight(weightName);
    if (!w)
      return w.takeError();
    const WeightsLayout::Slot &slot = slotOf(weightName);
    std::vector<int64_t> shape{x.shape[0], slot.shape[0]};
    Val init;
    if (!biasName.empty()) {
      llvm::Expected<Val> bias = weight(biasName);
      if (!bias)
        return bias.takeError();
      Val e = empty(shape);
      init = {linalg::BroadcastOp::create(b, bias->value, e.value,
                                          ArrayRef<int64_t>{0})
                  ->getResult(0),
              shape};
    } else {
      init = zeros(shape);
    }
    if (slot.format) {
      auto product = PackedMatmulOp::create(
          b, TypeRange{init.value.getType()}, *slot.format, x.value, w->value,
          init.value);
      return Val{product->getResult(0), shape};
    }
    auto product = linalg::MatmulTransposeBOp::create(
        b, b.getLoc(), TypeRange{typeOf(shape, f32)},
        ValueRange{x.value, w->value}, ValueRange{init.value});
    return Val{product->getResult(0), shape};
  }

  /// x[..., offset : offset + size, ...] along `dim`.
  Val slice(const Val &x, unsigned dim, int64_t offset, int64_t size) {
    std::vector<int64_t> shape = x.shape;
    shape[dim] = size;
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (size_t i = 0; i < shape.size(); ++i) {
      offsets.push_back(b.getIndexAttr(i == dim ? offset : 0));
      sizes.push_back(sizeOf(shape[i]));
      strides.push_back(b.getIndexAttr(1));
    }
    return {tensor::ExtractSliceOp::create(b, typeOf(shape, x.elementType()),
                                           x.value, offsets, sizes, strides),
            shape};
  }

  Val transpose(const Val &x, const std::vector<int64_t> &perm) {
    std::vector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(x.shape[p]);
    Val e = empty(shape, x.elementType());
    return {
        linalg::TransposeOp::create(b, x.value, e.value, perm)->getResult(0),
        shape};
  }

  static SmallVector<ReassociationIndices>
  reassociation(const std::vector<std::vector<unsigned>> &groups) {
    SmallVector<ReassociationIndices> result;
    for (const std::vector<unsigned> &group : groups)
      result.emplace_back(group.begin(), group.end());
    return result;
  }

  /// x with each of its dimensions split into the dims of `shape` that
  /// `groups` lists for it.
  Val expand(const Val &x, const std::vector<std::vector<unsigned>> &groups,
             const std::vector<int64_t> &shape) {
    RankedTensorType type = typeOf(shape, x.elementType());
    // Splitting M into B and L: MLIR 22's expand-strided-metadata crashes
    // on an expand_shape that makes two dynamic sizes of one, so that one
    // becomes a tensor.reshape (a memref.reshape after bufferization, of a
    // contiguous buffer: a copy when the source is a strided slice).
    bool twoDynamic =
        llvm::any_of(groups, [&](const std::vector<unsigned> &group) {
          return llvm::count_if(group,
                                [&](unsigned d) { return shape[d] < 0; }) > 1;
        });
    if (twoDynamic) {
      SmallVector<Value> extents;
      for (int64_t d : shape)
        extents.push_back(d < 0 ? size(d)
                                : Value(arith::ConstantIndexOp::create(b, d)));
      Value extentsTensor = tensor::FromElementsOp::create(b, extents);
      return {tensor::ReshapeOp::create(b, type, x.value, extentsTensor),
              shape};
    }
    SmallVector<OpFoldResult> sizes;
    for (int64_t d : shape)
      sizes.push_back(sizeOf(d));
    return {tensor::ExpandShapeOp::create(b, type, x.value,
                                          reassociation(groups), sizes),
            shape};
  }

  /// x with each of `groups` of its dimensions merged into one. Fails when
  /// the merged size is dynamic but none of B, L and M.
  llvm::Expected<Val>
  collapse(const Val &x, const std::vector<std::vector<unsigned>> &groups) {
    std::vector<int64_t> shape;
    for (const auto &group : groups) {
      int64_t size = 1;
      std::vector<int64_t> dynamic;
      for (unsigned d : group) {
        if (x.shape[d] < 0)
          dynamic.push_back(x.shape[d]);
        else
          size *= x.shape[d];
      }
      if (dynamic.empty())
        shape.push_back(size);
      else if (dynamic.size() == 1 && size == 1)
        shape.push_back(dynamic[0]);
      else if (dynamic == std::vector<int64_t>{kB, kL} && size == 1)
        shape.push_back(kM);
      else
        return importerError("no name for the size of a group of dimensions "
                             "collapsed in a " +
                             shapeString(x.shape) + " tensor");
    }
    return Val{tensor::CollapseShapeOp::create(b,
                                               typeOf(shape, x.elementType()),
                                               x.value, reassociation(groups)),
               shape};
  }

  /// Builds a scalar body from the block arguments (inputs, then the
  /// output) and returns the value it yields.
  using Body = llvm::function_ref<Value(ValueRange)>;

  /// A linalg.generic over the iteration space `space` (the output's shape
  /// when nothing is reduced). `ins` are (value, dims of the space it is
  /// indexed by); `outDims` index the output.
  Val generic(const std::vector<int64_t> &space,
              const std::vector<std::pair<Val, std::vector<unsigned>>> &ins,
              const Val &init, const std::vector<unsigned> &outDims,
              Body body) {
    unsigned rank = space.size();
    auto mapOf = [&](const std::vector<unsigned> &dims) {
      SmallVector<AffineExpr> results;
      for (unsigned d : dims)
        results.push_back(b.getAffineDimExpr(d));
      return AffineMap::get(rank, 0, results, b.getContext());
    };
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (const auto &[value, dims] : ins) {
      inputs.push_back(value.value);
      maps.push_back(mapOf(dims));
    }
    maps.push_back(mapOf(outDims));
    SmallVector<utils::IteratorType> iterators;
    for (unsigned i = 0; i < rank; ++i)
      iterators.push_back(llvm::is_contained(outDims, i)
                              ? utils::IteratorType::parallel
                              : utils::IteratorType::reduction);
    auto op = linalg::GenericOp::create(
        b, TypeRange{init.value.getType()}, inputs, ValueRange{init.value},
        maps, iterators, [&](OpBuilder &nested, Location, ValueRange args) {
          // The body's helpers build with `b`: move it into the block.
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.getInsertionBlock(),
                              nested.getInsertionPoint());
          linalg::YieldOp::create(b, body(args));
        });
    return {op.getResult(0), init.shape};
  }

  Value constant(double value) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(value));
  }
  /// silu(x) = x / (1 + exp(-x)).
  Value silu(Value x) {
    Value e = math::ExpOp::create(b, arith::NegFOp::create(b, x));
    Value one = constant(1.0);
    return arith::DivFOp::create(b, x, arith::AddFOp::create(b, one, e));
  }

  /// x + y, written over x's buffer (the residual stream is updated in
  /// place, which also keeps the layer loop's carried value in one buffer).
  Val add(const Val &x, const Val &y) {
    std::vector<unsigned> dims = identity(x.shape.size());
    return generic(x.shape, {{x, dims}, {y, dims}}, x, dims,
                   [&](ValueRange args) -> Value {
                     return arith::AddFOp::create(b, args[0], args[1]);
                   });
  }

  /// Sums of squares of x over the dims of the space that `outDims` leaves
  /// out, into zeros of the shape `outShape`.
  Val sumOfSquares(const Val &x, const std::vector<unsigned> &outDims,
                   const std::vector<int64_t> &outShape) {
    return generic(x.shape, {{x, identity(x.shape.size())}}, zeros(outShape),
                   outDims, [&](ValueRange args) -> Value {
                     Value square = arith::MulFOp::create(b, args[0], args[0]);
                     // In any order: LLVM then sums in vector lanes, where
                     // one running sum was a chain of dependent adds.
                     return arith::AddFOp::create(b, square, args[1],
                                                  arith::FastMathFlags::reassoc);
                   });
  }

  /// The body of RMS normalisation: x / sqrt(sum / count + eps) * w for the
  /// arguments (x, sum, w), as transformers' MambaRMSNorm computes
  /// x * rsqrt(mean(x^2) + eps) * w (libm has no rsqrtf for
  /// convert-math-to-libm).
  Value normalized(ValueRange args, int64_t count, double eps) {
    Value n = constant(static_cast<double>(count));
    Value mean = arith::DivFOp::create(b, args[1], n);
    Value e = constant(eps);
    Value root = math::SqrtOp::create(b, arith::AddFOp::create(b, mean, e));
    // x / root as x times a reciprocal that LLVM hoists out of the row.
    Value scaled = arith::DivFOp::create(b, args[0], root, arith::FastMathFlags::arcp);
    return arith::MulFOp::create(b, scaled, args[2]);
  }

  /// RMS normalisation of x[M, K] over K (weight [K]).
  llvm::Expected<Val> rmsNorm(const Val &x, StringRef weightName, double eps) {
    llvm::Expected<Val> w = weight(weightName);
    if (!w)
      return w.takeError();
    int64_t k = x.shape[1];
    Val sums = sumOfSquares(x, {0}, {x.shape[0]});
    return generic(x.shape, {{x, {0, 1}}, {sums, {0}}, {*w, {1}}},
                   empty(x.shape), {0, 1},
                   [&](ValueRange args) { return normalized(args, k, eps); });
  }

  /// Mamba-2's gated norm: g = y * silu(z), then RMS normalisation of g
  /// over `groups` equal parts of its K columns, times w[K].
  llvm::Expected<Val> gatedRMSNorm(const Val &y, const Val &z,
                                   StringRef weightName, double eps,
                                   int64_t groups) {
    int64_t k = y.shape[1], part = k / groups;
    llvm::Expected<Val> w = weight(weightName);
    if (!w)
      return w.takeError();
    Val gated =
        generic(y.shape, {{y, {0, 1}}, {z, {0, 1}}}, empty(y.shape), {0, 1},
                [&](ValueRange args) -> Value {
                  return arith::MulFOp::create(b, args[0], silu(args[1]));
                });
    Val g3 = expand(gated, {{0}, {1, 2}}, {y.shape[0], groups, part});
    Val w2 = expand(*w, {{0, 1}}, {groups, part});
    Val sums = sumOfSquares(g3, {0, 1}, {y.shape[0], groups});
    Val normed =
        generic(g3.shape, {{g3, {0, 1, 2}}, {sums, {0, 1}}, {w2, {1, 2}}},
                empty(g3.shape), {0, 1, 2},
                [&](ValueRange args) { return normalized(args, part, eps); });
    return collapse(normed, {{0}, {1, 2}});
  }

  /// The rows of the embedding table for ids[M] (i64): [M, hidden].
  llvm::Expected<Val> embed(const Val &ids, StringRef tableName) {
    llvm::Expected<Val> table = weight(tableName);
    if (!table)
      return table.takeError();
    const WeightsLayout::Slot &slot = slotOf(tableName);
    std::vector<int64_t> shape{ids.shape[0], slot.shape[1]};
    if (slot.format)
      return Val{PackedGatherOp::create(b, TypeRange{typeOf(shape, f32)},
                                        *slot.format, slot.shape[0],
                                        table->value, ids.value,
                                        empty(shape).value)
                     ->getResult(0),
                 shape};
    return generic(shape, {{ids, {0}}}, empty(shape), {0, 1},
                   [&](ValueRange args) -> Value {
                     Value row = arith::IndexCastOp::create(b, b.getIndexType(),
                                                            args[0]);
                     Value column = linalg::IndexOp::create(b, 1);
                     return tensor::ExtractOp::create(b, table->value,
                                                      ValueRange{row, column});
                   });
  }

  /// Stops the program with a message unless every id of ids[M] is in
  /// [0, vocab).
  void checkIds(const Val &ids, int64_t vocab) {
    Val init{
        tensor::FromElementsOp::create(
            b, RankedTensorType::get({}, b.getI1Type()), ValueRange{trueValue}),
        {}};
    Val ok = generic(
        ids.shape, {{ids, {0}}}, init, {}, [&](ValueRange args) -> Value {
          Value low = arith::CmpIOp::create(b, arith::CmpIPredicate::sge,
                                            args[0], zeroI64);
          Value high = arith::CmpIOp::create(b, arith::CmpIPredicate::slt,
                                             args[0], vocabI64);
          Value both = arith::AndIOp::create(b, low, high);
          return arith::AndIOp::create(b, both, args[1]);
        });
    Value flag = tensor::ExtractOp::create(b, ok.value, ValueRange{});
    cf::AssertOp::create(b, flag,
                         "token id out of range: every id must be in [0, " +
                             std::to_string(vocab) + ")");
  }
};

using Step = EntryBuilder::Step;

/// The two entry points of one model.
class ModelBuilder {
public:
  ModelBuilder(const ModelDescription &model, const WeightsLayout &layout,
               const ModelImportOptions &options)
      : config(model.config), layout(layout), options(options) {}

  llvm::Expected<OwningOpRef<ModuleOp>> build(MLIRContext &context) {
    llvm::Expected<uint64_t> stride = layerStride();
    if (!stride)
      return stride.takeError();
    context.loadDialect<arith::ArithDialect, cf::ControlFlowDialect,
                        func::FuncDialect, linalg::LinalgDialect,
                        math::MathDialect, memref::MemRefDialect,
                        scf::SCFDialect, SSMDialect, tensor::TensorDialect>();
    ImplicitLocOpBuilder b(
        NameLoc::get(StringAttr::get(&context, options.name)), &context);
    OwningOpRef<ModuleOp> module = ModuleOp::create(b.getLoc());
    b.setInsertionPointToEnd(module->getBody());
    writeInfo(b);
    for (bool decode : {false, true})
      if (llvm::Error error = function(b, decode, *stride))
        return std::move(error);
    // The verifier's messages name the op and its location; an error here
    // is a bug of this file, not of the model.
    std::string diagnostics;
    ScopedDiagnosticHandler capture(&context, [&](Diagnostic &diagnostic) {
      llvm::raw_string_ostream(diagnostics)
          << "\n"
          << diagnostic.getLocation() << ": " << diagnostic;
      return success();
    });
    if (failed(verify(*module)))
      return importerError("the module built for the model is invalid:" +
                           diagnostics);
    return std::move(module);
  }

private:
  bool mamba2() const { return config.modelType == ModelType::Mamba2; }
  int64_t width() const { return config.convKernel; }
  int64_t convFloats() const {
    return config.numHiddenLayers * config.convDim() * (width() - 1);
  }
  int64_t ssmFloats() const {
    return config.numHiddenLayers * config.intermediateSize * config.stateSize;
  }
  /// Per-layer cache shapes after the kB dimension.
  std::vector<int64_t> convLayerShape() const {
    return {config.convDim(), width() - 1};
  }
  std::vector<int64_t> ssmLayerShape() const {
    if (mamba2())
      return {config.numHeads, config.headDim, config.stateSize};
    return {config.intermediateSize, config.stateSize};
  }

  void writeInfo(ImplicitLocOpBuilder &b) {
    int64_t info[SSM_MODEL_INFO_FIELD_COUNT] = {};
    info[SSM_MODEL_INFO_FORMAT_VERSION] = SSM_MODEL_FORMAT_VERSION;
    info[SSM_MODEL_INFO_MODEL_TYPE] =
        mamba2() ? SSM_MODEL_TYPE_MAMBA2 : SSM_MODEL_TYPE_MAMBA;
    info[SSM_MODEL_INFO_LAYERS] = config.numHiddenLayers;
    info[SSM_MODEL_INFO_HIDDEN] = config.hiddenSize;
    info[SSM_MODEL_INFO_VOCAB] = config.vocabSize;
    info[SSM_MODEL_INFO_CONV_CACHE_FLOATS] = convFloats();
    info[SSM_MODEL_INFO_SSM_CACHE_FLOATS] = ssmFloats();
    info[SSM_MODEL_INFO_WEIGHTS_FLOATS] =
        static_cast<int64_t>(layout.totalFloats);
    info[SSM_MODEL_INFO_WEIGHTS_HASH] = static_cast<int64_t>(layout.hash);
    auto table =
        RankedTensorType::get({SSM_MODEL_INFO_FIELD_COUNT}, b.getI64Type());
    memref::GlobalOp::create(
        b, b.getStringAttr(options.name + "_info"),
        /*sym_visibility=*/StringAttr(),
        TypeAttr::get(
            MemRefType::get(table.getShape(), table.getElementType())),
        DenseIntElementsAttr::get(table, ArrayRef<int64_t>(info)),
        /*constant=*/b.getUnitAttr(), /*alignment=*/IntegerAttr());
  }

  /// Per-layer view of a flat cache [B, floats]: [B, layers, shape...].
  Val layerView(EntryBuilder &w, const Val &flat,
                std::vector<int64_t> layerShape) {
    std::vector<int64_t> shape{kB, config.numHiddenLayers};
    shape.insert(shape.end(), layerShape.begin(), layerShape.end());
    std::vector<unsigned> rest;
    for (unsigned i = 1; i < shape.size(); ++i)
      rest.push_back(i);
    return w.expand(flat, {{0}, rest}, shape);
  }

  /// The offsets, sizes and strides of cache[:, layer] ([B, layers, ...]).
  struct LayerSlice {
    SmallVector<OpFoldResult> offsets, sizes, strides;
  };
  LayerSlice layerSlice(EntryBuilder &w, const Val &cache) const {
    LayerSlice s;
    s.offsets = {w.b.getIndexAttr(0), w.layer};
    s.sizes = {w.B, w.b.getIndexAttr(1)};
    s.strides = {w.b.getIndexAttr(1), w.b.getIndexAttr(1)};
    for (size_t i = 2; i < cache.shape.size(); ++i) {
      s.offsets.push_back(w.b.getIndexAttr(0));
      s.sizes.push_back(w.b.getIndexAttr(cache.shape[i]));
      s.strides.push_back(w.b.getIndexAttr(1));
    }
    return s;
  }

  /// cache[:, layer] as [B, shape...].
  Val cacheSlice(EntryBuilder &w, const Val &cache) {
    std::vector<int64_t> shape{kB};
    shape.insert(shape.end(), cache.shape.begin() + 2, cache.shape.end());
    LayerSlice s = layerSlice(w, cache);
    return {tensor::ExtractSliceOp::create(w.b, typeOf(shape, w.f32),
                                           cache.value, s.offsets, s.sizes,
                                           s.strides),
            shape};
  }

  /// cache with [:, layer] replaced by `value` [B, shape...].
  Val cacheInsert(EntryBuilder &w, const Val &value, const Val &cache) {
    LayerSlice s = layerSlice(w, cache);
    return {tensor::InsertSliceOp::create(w.b, value.value, cache.value,
                                          s.offsets, s.sizes, s.strides),
            cache.shape};
  }

  /// Layer tensors are named as layer 0's; EntryBuilder::weight moves them to
  /// the layer of the loop iteration.
  static std::string layerName(StringRef what) {
    return (kLayer0 + what).str();
  }
  static std::string mixer(StringRef what) {
    return layerName(("mixer." + what).str());
  }

  /// The mixer's linear layer `proj` (in_proj, x_proj ...) of x, plus its
  /// bias when `withBias`.
  llvm::Expected<Val> projection(EntryBuilder &w, const Val &x, StringRef proj,
                                 bool withBias) {
    Step step(w, ("backbone.layers.*.mixer." + proj).str());
    std::string bias = withBias ? mixer((proj + ".bias").str()) : "";
    return w.linear(x, mixer((proj + ".weight").str()), bias);
  }

  /// The per-channel (Mamba) or per-head (Mamba-2) parameters of the scan.
  struct ScanParameters {
    Val A, D, dtBias;
  };
  llvm::Expected<ScanParameters> scanParameters(EntryBuilder &w,
                                                StringRef dtBiasName) {
    llvm::Expected<Val> A = w.weight(mixer("A_log"));
    if (!A)
      return A.takeError();
    llvm::Expected<Val> D = w.weight(mixer("D"));
    if (!D)
      return D.takeError();
    llvm::Expected<Val> dtBias = w.weight(mixer(dtBiasName));
    if (!dtBias)
      return dtBias.takeError();
    return ScanParameters{*A, *D, *dtBias};
  }

  /// Floats between the tensors of consecutive layers: every layer has the
  /// same table, so layer l's copy of a layer-0 tensor is l strides on.
  llvm::Expected<uint64_t> layerStride() const {
    if (config.numHiddenLayers < 2)
      return 0;
    const WeightsLayout::Slot *first = layout.find(layerName("norm.weight"));
    const WeightsLayout::Slot *second =
        layout.find("backbone.layers.1.norm.weight");
    if (!first || !second)
      return importerError("the weights layout lacks the norm weight of layer "
                           "0 or 1");
    uint64_t stride = second->offset - first->offset;
    for (const WeightsLayout::Slot &slot : layout.slots) {
      StringRef name = slot.name;
      if (!name.consume_front("backbone.layers."))
        continue;
      auto [index, rest] = name.split('.');
      uint64_t layerIndex = 0;
      const WeightsLayout::Slot *zero = layout.find(layerName(rest));
      if (index.getAsInteger(10, layerIndex) || !zero)
        return importerError("tensor '" + slot.name +
                             "' has no layer-0 counterpart in the weights "
                             "layout");
      if (slot.offset != zero->offset + layerIndex * stride)
        return importerError(
            "tensor '" + slot.name + "' is not at a constant stride of " +
            std::to_string(stride) + " floats from its layer-0 counterpart");
    }
    return stride;
  }

  llvm::Error function(ImplicitLocOpBuilder &b, bool decode, uint64_t stride) {
    std::string name = options.name + (decode ? "_decode" : "_prefill");
    Location entry = NameLoc::get(b.getStringAttr(name));
    OpBuilder::InsertionGuard guard(b);
    b.setLoc(entry);
    EntryBuilder w(b, layout, entry);
    Type i64 = b.getI64Type();
    auto weightsType =
        typeOf({static_cast<int64_t>(layout.totalFloats)}, w.f32);
    auto idsType = decode ? typeOf({kB}, i64) : typeOf({kB, kL}, i64);
    auto convType = typeOf({kB, convFloats()}, w.f32);
    auto ssmType = typeOf({kB, ssmFloats()}, w.f32);
    auto func = func::FuncOp::create(
        b, name,
        b.getFunctionType(
            {weightsType, idsType, convType, ssmType},
            {typeOf({kB, config.vocabSize}, w.f32), convType, ssmType}));
    // The caches are updated in place: the C header says so, and the
    // driver checks that bufferization kept them.
    func.setArgAttr(2, "ssm.in_place", b.getUnitAttr());
    func.setArgAttr(3, "ssm.in_place", b.getUnitAttr());
    // The header's names, those of docs/models.md; the caches' results are
    // the arguments they update.
    StringRef argNames[] = {"weights", "ids", "conv_cache", "ssm_cache"};
    StringRef resultNames[] = {"logits", "conv_cache", "ssm_cache"};
    for (auto [i, argName] : llvm::enumerate(argNames))
      func.setArgAttr(i, kNameAttrName, b.getStringAttr(argName));
    for (auto [i, resultName] : llvm::enumerate(resultNames))
      func.setResultAttr(i, kNameAttrName, b.getStringAttr(resultName));
    b.setInsertionPointToStart(func.addEntryBlock());
    w.weights = func.getArgument(0);
    Val ids{func.getArgument(1),
            decode ? std::vector<int64_t>{kB} : std::vector<int64_t>{kB, kL}};
    Val convFlat{func.getArgument(2), {kB, convFloats()}};
    Val ssmFlat{func.getArgument(3), {kB, ssmFloats()}};

    Value c0 = arith::ConstantIndexOp::create(b, 0);
    Value c1 = arith::ConstantIndexOp::create(b, 1);
    w.zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
    w.trueValue = arith::ConstantIntOp::create(b, b.getI1Type(), 1);
    w.zeroI64 = arith::ConstantIntOp::create(b, i64, 0);
    w.vocabI64 = arith::ConstantIntOp::create(b, i64, config.vocabSize);
    w.B = tensor::DimOp::create(b, ids.value, c0);
    if (decode) {
      w.L = arith::ConstantIndexOp::create(b, 1);
    } else {
      w.L = tensor::DimOp::create(b, ids.value, c1);
      w.M = arith::MulIOp::create(b, w.B, w.L);
      Value nonempty =
          arith::CmpIOp::create(b, arith::CmpIPredicate::sge, w.L, c1);
      cf::AssertOp::create(b, nonempty,
                           "the prompt must hold at least one token");
    }
    Val flatIds = ids;
    if (!decode) {
      llvm::Expected<Val> collapsed = w.collapse(ids, {{0, 1}});
      if (!collapsed)
        return collapsed.takeError();
      flatIds = *collapsed;
    }
    {
      Step step(w, "input_ids");
      w.checkIds(flatIds, config.vocabSize);
    }
    // Rows are tokens: [M, hidden] (M = B in decode).
    llvm::Expected<Val> hidden = [&] {
      Step step(w, "backbone.embeddings");
      return w.embed(flatIds, "backbone.embeddings.weight");
    }();
    if (!hidden)
      return hidden.takeError();

    Val conv = layerView(w, convFlat, convLayerShape());
    Val ssm = layerView(w, ssmFlat, ssmLayerShape());
    // One loop over the layers, whose body is built once: LLVM compiles
    // one copy of the kernels, whatever the depth of the model.
    Value layers = arith::ConstantIndexOp::create(b, config.numHiddenLayers);
    Value strideFloats = arith::ConstantIndexOp::create(b, stride);
    auto loop = [&] {
      Step step(w, "backbone.layers");
      return scf::ForOp::create(
          b, c0, layers, c1, ValueRange{hidden->value, conv.value, ssm.value});
    }();
    {
      OpBuilder::InsertionGuard inLoop(b);
      b.setInsertionPointToStart(loop.getBody());
      w.layer = loop.getInductionVar();
      w.layerBase = arith::MulIOp::create(b, w.layer, strideFloats);
      Val hIn{loop.getRegionIterArg(0), hidden->shape};
      Val layerConv{loop.getRegionIterArg(1), conv.shape};
      Val layerSSM{loop.getRegionIterArg(2), ssm.shape};
      llvm::Expected<Val> normed = [&] {
        Step step(w, "backbone.layers.*.norm");
        return w.rmsNorm(hIn, layerName("norm.weight"),
                         config.layerNormEpsilon);
      }();
      if (!normed)
        return normed.takeError();
      llvm::Expected<Val> mixed = [&] {
        Step step(w, "backbone.layers.*.mixer");
        return mamba2() ? mamba2Mixer(w, *normed, decode, layerConv, layerSSM)
                        : mambaMixer(w, *normed, decode, layerConv, layerSSM);
      }();
      if (!mixed)
        return mixed.takeError();
      Step step(w, "backbone.layers.*");
      Val hOut = w.add(hIn, *mixed);
      scf::YieldOp::create(
          b, ValueRange{hOut.value, layerConv.value, layerSSM.value});
      w.layer = w.layerBase = Value();
    }
    Val last{loop.getResult(0), hidden->shape};
    conv.value = loop.getResult(1);
    ssm.value = loop.getResult(2);
    if (!decode) {
      // Only the last position's logits: generation needs no more, and the
      // vocabulary projection of a whole prompt would dominate memory.
      Val rows = w.expand(last, {{0, 1}, {2}}, {kB, kL, config.hiddenSize});
      Value position = arith::SubIOp::create(b, w.L, c1);
      std::vector<int64_t> rowShape{kB, 1, config.hiddenSize};
      Val lastRow{
          tensor::ExtractSliceOp::create(
              b, typeOf(rowShape, w.f32), rows.value,
              ArrayRef<OpFoldResult>{b.getIndexAttr(0), position,
                                     b.getIndexAttr(0)},
              ArrayRef<OpFoldResult>{w.B, b.getIndexAttr(1),
                                     b.getIndexAttr(config.hiddenSize)},
              ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                     b.getIndexAttr(1)}),
          rowShape};
      llvm::Expected<Val> collapsed = w.collapse(lastRow, {{0, 1}, {2}});
      if (!collapsed)
        return collapsed.takeError();
      last = *collapsed;
    }
    llvm::Expected<Val> final = [&] {
      Step step(w, "backbone.norm_f");
      return w.rmsNorm(last, "backbone.norm_f.weight", config.layerNormEpsilon);
    }();
    if (!final)
      return final.takeError();
    llvm::Expected<Val> logits = [&] {
      Step step(w, "lm_head");
      return w.linear(*final, config.tieWordEmbeddings
                                  ? "backbone.embeddings.weight"
                                  : "lm_head.weight");
    }();
    if (!logits)
      return logits.takeError();
    llvm::Expected<Val> convOut =
        w.collapse(conv, {{0}, rangeFrom(1, conv.shape.size())});
    if (!convOut)
      return convOut.takeError();
    llvm::Expected<Val> ssmOut =
        w.collapse(ssm, {{0}, rangeFrom(1, ssm.shape.size())});
    if (!ssmOut)
      return ssmOut.takeError();
    func::ReturnOp::create(
        b, ValueRange{logits->value, convOut->value, ssmOut->value});
    return llvm::Error::success();
  }

  static std::vector<unsigned> rangeFrom(unsigned begin, unsigned end) {
    std::vector<unsigned> dims;
    for (unsigned i = begin; i < end; ++i)
      dims.push_back(i);
    return dims;
  }

  /// The causal convolution with SiLU of seq[B, L, C] (tokens major),
  /// reading and updating the layer's conv cache. Returns [B, L, C].
  llvm::Expected<Val> convolution(EntryBuilder &w, const Val &seq, bool decode,
                                  Val &conv) {
    Step step(w, "backbone.layers.*.mixer.conv1d");
    int64_t channels = seq.shape[2];
    Val channelsMajor = w.transpose(seq, {0, 2, 1});
    llvm::Expected<Val> weight = w.weight(mixer("conv1d.weight"));
    if (!weight)
      return weight.takeError();
    Value bias;
    if (config.useConvBias) {
      llvm::Expected<Val> b = w.weight(mixer("conv1d.bias"));
      if (!b)
        return b.takeError();
      bias = b->value;
    }
    Value init;
    if (decode)
      init = cacheSlice(w, conv).value;
    std::vector<int64_t> lastShape{kB, channels, width() - 1};
    auto op = CausalConv1dOp::create(
        w.b, typeOf(channelsMajor.shape, w.f32), typeOf(lastShape, w.f32),
        channelsMajor.value, weight->value, bias, init, Activation::silu);
    conv = cacheInsert(w, {op.getFinalState(), lastShape}, conv);
    return w.transpose({op.getOut(), channelsMajor.shape}, {0, 2, 1});
  }

  /// The rows of x[M, C] as [B, L, C] (L = 1 when decoding). Split before
  /// any slice: a contiguous buffer splits as a view, where a strided slice
  /// split into two dynamic sizes is copied (see EntryBuilder::expand).
  Val tokens(EntryBuilder &w, const Val &x, bool decode) {
    return w.expand(x, {{0, 1}, {2}}, {kB, decode ? 1 : kL, x.shape[1]});
  }

  /// MambaMixer: in_proj, conv + SiLU, x_proj, dt_proj, selective scan with
  /// D and the SiLU gate, out_proj. x: [M, hidden].
  llvm::Expected<Val> mambaMixer(EntryBuilder &w, const Val &x, bool decode,
                                 Val &conv, Val &ssm) {
    int64_t inner = config.intermediateSize, state = config.stateSize;
    int64_t rank = config.timeStepRank;
    llvm::Expected<Val> projected = projection(w, x, "in_proj", config.useBias);
    if (!projected)
      return projected.takeError();
    Val gate = w.slice(*projected, 1, inner, inner);
    Val projected3 = tokens(w, *projected, decode);
    llvm::Expected<Val> u3 =
        convolution(w, w.slice(projected3, 2, 0, inner), decode, conv);
    if (!u3)
      return u3.takeError();
    llvm::Expected<Val> u = w.collapse(*u3, {{0, 1}, {2}});
    if (!u)
      return u.takeError();
    llvm::Expected<Val> params =
        projection(w, *u, "x_proj", /*withBias=*/false);
    if (!params)
      return params.takeError();
    Val dtLow = w.slice(*params, 1, 0, rank);
    // dt_proj without its bias: the scan adds it before the softplus.
    llvm::Expected<Val> dt =
        projection(w, dtLow, "dt_proj", /*withBias=*/false);
    if (!dt)
      return dt.takeError();
    llvm::Expected<ScanParameters> p = scanParameters(w, "dt_proj.bias");
    if (!p)
      return p.takeError();
    // B and C as [B, L, N]: views of x_proj's output.
    Val params3 = tokens(w, *params, decode);
    Val B3 = w.slice(params3, 2, rank, state), C3 = w.slice(params3, 2, rank + state, state);
    Val y;
    if (decode) {
      Val h = cacheSlice(w, ssm);
      Val yInit = w.empty({kB, inner});
      auto op = StateUpdateOp::create(
          w.b, u->value, dt->value, p->A.value, B3.value, C3.value, p->D.value,
          gate.value, p->dtBias.value, h.value, yInit.value,
          /*dt_softplus=*/w.b.getUnitAttr(),
          /*dt_limit=*/DenseF64ArrayAttr());
      ssm = cacheInsert(w, {op.getNewState(), h.shape}, ssm);
      y = {op.getY(), yInit.shape};
    } else {
      // The scan reads its inputs tokens-major: ssm-to-recurrence folds
      // these transposes into its layouts, and a 16-channel work item then
      // reads 64 contiguous bytes per step of each. u goes through its
      // rows: the convolution's [B, L, C] output transposed here would
      // cancel its transpose, and the scan read u channels-major (523 ->
      // 395 tokens/s).
      auto channelsMajor = [&](const Val &v3) { return w.transpose(v3, {0, 2, 1}); };
      Val uT = channelsMajor(tokens(w, *u, decode)),
          dtT = channelsMajor(tokens(w, *dt, decode)),
          zT = channelsMajor(w.slice(projected3, 2, inner, inner));
      auto grouped = [&](const Val &v3) {
        return w.expand(channelsMajor(v3), {{0, 1}, {2}, {3}}, {kB, 1, state, kL});
      };
      Val BT = grouped(B3), CT = grouped(C3);
      std::vector<int64_t> lastShape{kB, inner, state};
      auto op = SelectiveScanOp::create(
          w.b, typeOf(uT.shape, w.f32), typeOf(lastShape, w.f32), uT.value,
          dtT.value, p->A.value, BT.value, CT.value, p->D.value, zT.value,
          p->dtBias.value, /*init=*/Value(), /*delta_softplus=*/true,
          /*method=*/DiscretizationAttr());
      ssm = cacheInsert(w, {op.getFinalState(), lastShape}, ssm);
      llvm::Expected<Val> rows = w.collapse(
          w.transpose({op.getY(), uT.shape}, {0, 2, 1}), {{0, 1}, {2}});
      if (!rows)
        return rows.takeError();
      y = *rows;
    }
    return projection(w, y, "out_proj", config.useBias);
  }

  /// Mamba2Mixer: in_proj into (z, xBC, dt), conv + SiLU over xBC, SSD with
  /// dt_bias, softplus, dt limits and D, gated RMS norm, out_proj.
  llvm::Expected<Val> mamba2Mixer(EntryBuilder &w, const Val &x, bool decode,
                                  Val &conv, Val &ssm) {
    int64_t inner = config.intermediateSize, state = config.stateSize;
    int64_t heads = config.numHeads, headDim = config.headDim;
    int64_t groups = config.nGroups, convDim = config.convDim();
    llvm::Expected<Val> projected = projection(w, x, "in_proj", config.useBias);
    if (!projected)
      return projected.takeError();
    Val z = w.slice(*projected, 1, 0, inner);
    Val projected3 = tokens(w, *projected, decode);
    llvm::Expected<Val> mixed3 =
        convolution(w, w.slice(projected3, 2, inner, convDim), decode, conv);
    if (!mixed3)
      return mixed3.takeError();
    llvm::Expected<ScanParameters> p = scanParameters(w, "dt_bias");
    if (!p)
      return p.takeError();
    DenseF64ArrayAttr limit;
    if (config.timeStepLimitLow > 0.0 ||
        std::isfinite(config.timeStepLimitHigh))
      limit = w.b.getDenseF64ArrayAttr(
          {config.timeStepLimitLow, config.timeStepLimitHigh});
    Val y;
    if (decode) {
      llvm::Expected<Val> mixed = w.collapse(*mixed3, {{0, 1}, {2}});
      if (!mixed)
        return mixed.takeError();
      Val xs = w.slice(*mixed, 1, 0, inner);
      Val Bm = w.slice(*mixed, 1, inner, groups * state);
      Val Cm = w.slice(*mixed, 1, inner + groups * state, groups * state);
      Val dt = w.slice(*projected, 1, inner + convDim, heads);
      Val x3 = w.expand(xs, {{0}, {1, 2}}, {kB, heads, headDim});
      Val B3 = w.expand(Bm, {{0}, {1, 2}}, {kB, groups, state});
      Val C3 = w.expand(Cm, {{0}, {1, 2}}, {kB, groups, state});
      Val h = cacheSlice(w, ssm);
      Val yInit = w.empty({kB, heads, headDim});
      auto op = StateUpdateOp::create(
          w.b, x3.value, dt.value, p->A.value, B3.value, C3.value, p->D.value,
          /*z=*/Value(), p->dtBias.value, h.value, yInit.value,
          /*dt_softplus=*/w.b.getUnitAttr(), limit);
      ssm = cacheInsert(w, {op.getNewState(), h.shape}, ssm);
      llvm::Expected<Val> rows =
          w.collapse({op.getY(), yInit.shape}, {{0}, {1, 2}});
      if (!rows)
        return rows.takeError();
      y = *rows;
    } else {
      // Views of the tokens-major buffers, split by heads and groups.
      auto split = [&](const Val &v3, int64_t offset, int64_t outer, int64_t inner) {
        return w.expand(w.slice(v3, 2, offset, outer * inner), {{0}, {1}, {2, 3}},
                        {kB, kL, outer, inner});
      };
      Val x4 = split(*mixed3, 0, heads, headDim);
      Val dt3 = w.slice(projected3, 2, inner + convDim, heads);
      Val B4 = split(*mixed3, inner, groups, state);
      Val C4 = split(*mixed3, inner + groups * state, groups, state);
      std::vector<int64_t> lastShape{kB, heads, headDim, state};
      auto op = SSDOp::create(
          w.b, typeOf(x4.shape, w.f32), typeOf(lastShape, w.f32), x4.value,
          dt3.value, p->A.value, B4.value, C4.value, p->D.value, /*z=*/Value(),
          p->dtBias.value, /*init=*/Value(), /*seq_idx=*/Value(),
          /*cu_seqlens=*/Value(), /*dt_softplus=*/true, limit,
          static_cast<uint64_t>(config.chunkSize),
          /*algorithm=*/SSDAlgorithmAttr());
      ssm = cacheInsert(w, {op.getFinalState(), lastShape}, ssm);
      llvm::Expected<Val> rows =
          w.collapse({op.getY(), x4.shape}, {{0, 1}, {2, 3}});
      if (!rows)
        return rows.takeError();
      y = *rows;
    }
    // Per group of intermediate / n_groups channels, as mamba_ssm's
    // RMSNormGated (group_size = d_ssm // ngroups) and transformers do.
    llvm::Expected<Val> normed = [&] {
      Step step(w, "backbone.layers.*.mixer.norm");
      return w.gatedRMSNorm(y, z, mixer("norm.weight"), config.layerNormEpsilon,
                            groups);
    }();
    if (!normed)
      return normed.takeError();
    return projection(w, *normed, "out_proj", config.useBias);
  }

  const HFConfig &config;
  const WeightsLayout &layout;
  const ModelImportOptions &options;
};

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::ssm::buildModelModule(MLIRContext &context, const ModelDescription &model,
                            const WeightsLayout &layout,
                            const ModelImportOptions &options) {
  return ModelBuilder(model, layout, options).build(context);
}
