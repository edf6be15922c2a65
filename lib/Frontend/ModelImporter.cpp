//===- ModelImporter.cpp - Whole language models as ssm IR ----------------===//
//
// Part of ssmc. See ModelImporter.h. The module is written as MLIR text and
// parsed by the caller: the text is what `ssmc --emit=imported` shows the
// user, and a readable generator is easier to check against transformers'
// forward pass than a builder-call sequence. Shapes are static except the
// batch B, the prompt length L and their product M = B * L.
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/ModelImporter.h"
#include "ssm/model_abi.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

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

WeightsLayout WeightsLayout::forModel(const ModelDescription &model) {
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
    slot.offset = offset;
    // 16 floats: every tensor starts on a 64-byte boundary (the buffer is
    // page aligned), so vector loads of whole rows are aligned.
    offset += (slot.numElements + 15) / 16 * 16;
    hash = fnv1a(hash, slot.name.data(), slot.name.size());
    for (int64_t dim : slot.shape)
      hash = fnv1a(hash, &dim, sizeof(dim));
    hash = fnv1a(hash, &slot.offset, sizeof(slot.offset));
    hash = fnv1a(hash, &slot.negExp, sizeof(slot.negExp));
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
  uint64_t written = 0;
  static const float zeros[16] = {};
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
    os.write(reinterpret_cast<const char *>(data->data()),
             data->size() * sizeof(float));
    written += data->size();
    uint64_t padding = (16 - written % 16) % 16;
    os.write(reinterpret_cast<const char *>(zeros), padding * sizeof(float));
    written += padding;
  }
  os.close();
  if (std::error_code error = os.error())
    return abandon(llvm::createStringError(error, "cannot write %s: %s",
                                           path.str().c_str(),
                                           error.message().c_str()));
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// IR text
//===----------------------------------------------------------------------===//

namespace {

/// Dynamic dimensions: the batch, the prompt length and their product.
enum : int64_t { kB = -1, kL = -2, kM = -3 };

/// A tensor value of the text being written.
struct Val {
  std::string name;
  std::vector<int64_t> shape;
  std::string elt = "f32";
};

std::string typeOf(const std::vector<int64_t> &shape, StringRef elt) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
  return s + elt.str() + ">";
}
std::string typeOf(const Val &v) { return typeOf(v.shape, v.elt); }

std::string dimName(int64_t d) {
  switch (d) {
  case kB:
    return "%B";
  case kL:
    return "%L";
  case kM:
    return "%M";
  default:
    return std::to_string(d);
  }
}

std::string joined(const std::vector<std::string> &parts) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i)
    s += (i ? ", " : "") + parts[i];
  return s;
}

std::string floatLit(double v) {
  std::string s;
  llvm::raw_string_ostream(s) << llvm::format("%.9e", v);
  return s;
}

/// affine_map<(d0, ..., d{rank-1}) -> (d{dims...})>
std::string mapOf(unsigned rank, const std::vector<unsigned> &dims) {
  std::vector<std::string> in, out;
  for (unsigned i = 0; i < rank; ++i)
    in.push_back("d" + std::to_string(i));
  for (unsigned d : dims)
    out.push_back("d" + std::to_string(d));
  return "affine_map<(" + joined(in) + ") -> (" + joined(out) + ")>";
}

std::vector<unsigned> identity(unsigned rank) {
  std::vector<unsigned> dims(rank);
  for (unsigned i = 0; i < rank; ++i)
    dims[i] = i;
  return dims;
}

/// Writes one function body; every value name is fresh in the module.
class Writer {
public:
  Writer(std::string &text, unsigned &counter, const WeightsLayout &layout)
      : os(text), counter(counter), layout(layout) {}

  std::string fresh() { return "%v" + std::to_string(counter++); }
  llvm::raw_string_ostream os;

  /// The dynamic sizes of `shape`, as operands of tensor.empty.
  std::string dynSizes(const std::vector<int64_t> &shape) {
    std::vector<std::string> dyn;
    for (int64_t d : shape)
      if (d < 0)
        dyn.push_back(dimName(d));
    return joined(dyn);
  }

  Val empty(const std::vector<int64_t> &shape, StringRef elt = "f32") {
    Val v{fresh(), shape, elt.str()};
    os << "  " << v.name << " = tensor.empty(" << dynSizes(shape)
       << ") : " << typeOf(v) << "\n";
    return v;
  }

  Val zeros(const std::vector<int64_t> &shape) {
    Val e = empty(shape);
    Val v{fresh(), shape};
    os << "  " << v.name << " = linalg.fill ins(%zero : f32) outs(" << e.name
       << " : " << typeOf(e) << ") -> " << typeOf(v) << "\n";
    return v;
  }

  /// The weight `name` (a slot of the layout) at its IR shape. Names of
  /// layer 0 are read at `layerBase` floats further: the layer loop's body
  /// is written once, for every layer.
  Val weight(StringRef name) {
    const WeightsLayout::Slot *slot = layout.find(name);
    if (!slot)
      llvm::report_fatal_error("ssmc: model importer: no weight " + name);
    std::string offset = std::to_string(slot->offset);
    if (!layerBase.empty() && name.starts_with(kLayer0)) {
      std::string constant = fresh();
      offset = fresh();
      os << "  " << constant << " = arith.constant " << slot->offset
         << " : index\n  " << offset << " = arith.addi " << layerBase << ", "
         << constant << " : index\n";
    }
    Val flat{fresh(), {static_cast<int64_t>(slot->numElements)}};
    os << "  " << flat.name << " = tensor.extract_slice %weights["
       << offset << "] [" << slot->numElements << "] [1] : "
       << typeOf({static_cast<int64_t>(layout.totalFloats)}, "f32") << " to "
       << typeOf(flat) << "\n";
    if (slot->shape.size() == 1)
      return flat;
    Val v{fresh(), slot->shape};
    std::vector<std::string> dims, sizes;
    for (size_t i = 0; i < slot->shape.size(); ++i) {
      dims.push_back(std::to_string(i));
      sizes.push_back(std::to_string(slot->shape[i]));
    }
    os << "  " << v.name << " = tensor.expand_shape " << flat.name << " [["
       << joined(dims) << "]] output_shape [" << joined(sizes) << "] : "
       << typeOf(flat) << " into " << typeOf(v) << "\n";
    return v;
  }

  /// x[M, K] times the transpose of weight[N, K], plus bias[N] if given.
  Val linear(const Val &x, StringRef weightName, StringRef biasName = "") {
    Val w = weight(weightName);
    std::vector<int64_t> shape{x.shape[0], w.shape[0]};
    Val init;
    if (!biasName.empty()) {
      Val bias = weight(biasName);
      Val e = empty(shape);
      init = {fresh(), shape};
      os << "  " << init.name << " = linalg.broadcast ins(" << bias.name
         << " : " << typeOf(bias) << ") outs(" << e.name << " : "
         << typeOf(e) << ") dimensions = [0]\n";
    } else {
      init = zeros(shape);
    }
    Val v{fresh(), shape};
    os << "  " << v.name << " = linalg.matmul indexing_maps = ["
       << mapOf(3, {0, 2}) << ", " << mapOf(3, {1, 2}) << ", "
       << mapOf(3, {0, 1}) << "] ins(" << x.name << ", " << w.name << " : "
       << typeOf(x) << ", " << typeOf(w) << ") outs(" << init.name << " : "
       << typeOf(init) << ") -> " << typeOf(v) << "\n";
    return v;
  }

  /// x[..., offset : offset + size, ...] along `dim`.
  Val slice(const Val &x, unsigned dim, int64_t offset, int64_t size) {
    std::vector<int64_t> shape = x.shape;
    shape[dim] = size;
    std::vector<std::string> offsets, sizes, strides;
    for (size_t i = 0; i < shape.size(); ++i) {
      offsets.push_back(i == dim ? std::to_string(offset) : "0");
      sizes.push_back(dimName(shape[i]));
      strides.push_back("1");
    }
    Val v{fresh(), shape, x.elt};
    os << "  " << v.name << " = tensor.extract_slice " << x.name << "["
       << joined(offsets) << "] [" << joined(sizes) << "] [" << joined(strides)
       << "] : " << typeOf(x) << " to " << typeOf(v) << "\n";
    return v;
  }

  Val transpose(const Val &x, const std::vector<unsigned> &perm) {
    std::vector<int64_t> shape;
    std::vector<std::string> permText;
    for (unsigned p : perm) {
      shape.push_back(x.shape[p]);
      permText.push_back(std::to_string(p));
    }
    Val e = empty(shape, x.elt);
    Val v{fresh(), shape, x.elt};
    os << "  " << v.name << " = linalg.transpose ins(" << x.name << " : "
       << typeOf(x) << ") outs(" << e.name << " : " << typeOf(e)
       << ") permutation = [" << joined(permText) << "]\n";
    return v;
  }

  static std::string reassociation(const std::vector<std::vector<unsigned>> &groups) {
    std::vector<std::string> parts;
    for (const auto &group : groups) {
      std::vector<std::string> dims;
      for (unsigned d : group)
        dims.push_back(std::to_string(d));
      parts.push_back("[" + joined(dims) + "]");
    }
    return "[" + joined(parts) + "]";
  }

  Val expand(const Val &x, const std::vector<std::vector<unsigned>> &groups,
             const std::vector<int64_t> &shape) {
    std::vector<std::string> sizes;
    for (int64_t d : shape)
      sizes.push_back(dimName(d));
    Val v{fresh(), shape, x.elt};
    // Splitting M into B and L: MLIR 22's expand-strided-metadata crashes
    // on an expand_shape that makes two dynamic sizes of one, so that one
    // becomes a tensor.reshape (a memref.reshape after bufferization, of a
    // contiguous buffer: a copy when the source is a strided slice).
    bool twoDynamic = llvm::any_of(groups, [&](const std::vector<unsigned> &group) {
      return llvm::count_if(group, [&](unsigned d) { return shape[d] < 0; }) > 1;
    });
    if (twoDynamic) {
      std::string extents = fresh();
      for (std::string &size : sizes)
        if (size[0] != '%') {
          std::string constant = fresh();
          os << "  " << constant << " = arith.constant " << size << " : index\n";
          size = constant;
        }
      os << "  " << extents << " = tensor.from_elements " << joined(sizes)
         << " : tensor<" << shape.size() << "xindex>\n  " << v.name
         << " = tensor.reshape " << x.name << "(" << extents << ") : ("
         << typeOf(x) << ", tensor<" << shape.size() << "xindex>) -> " << typeOf(v)
         << "\n";
      return v;
    }
    os << "  " << v.name << " = tensor.expand_shape " << x.name << " "
       << reassociation(groups) << " output_shape [" << joined(sizes)
       << "] : " << typeOf(x) << " into " << typeOf(v) << "\n";
    return v;
  }

  Val collapse(const Val &x, const std::vector<std::vector<unsigned>> &groups) {
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
      else if (dynamic.size() == 2 && size == 1)
        shape.push_back(kM); // B and L
      else
        llvm::report_fatal_error("ssmc: model importer: unsupported collapse");
    }
    Val v{fresh(), shape, x.elt};
    os << "  " << v.name << " = tensor.collapse_shape " << x.name << " "
       << reassociation(groups) << " : " << typeOf(x) << " into " << typeOf(v)
       << "\n";
    return v;
  }

  /// A linalg.generic over the iteration space `space` (the output's shape
  /// when nothing is reduced). `ins` are (value, dims of the space it is
  /// indexed by); `outDims` index the output. `body` receives the block
  /// argument names (inputs, then the output) and writes the region,
  /// returning the name of the yielded value.
  Val generic(const std::vector<int64_t> &space,
              const std::vector<std::pair<Val, std::vector<unsigned>>> &ins,
              const Val &init, const std::vector<unsigned> &outDims,
              llvm::function_ref<std::string(const std::vector<std::string> &)> body) {
    unsigned rank = space.size();
    std::vector<std::string> maps, iterators, names, types, args;
    for (const auto &[value, dims] : ins) {
      maps.push_back(mapOf(rank, dims));
      names.push_back(value.name);
      types.push_back(typeOf(value));
    }
    maps.push_back(mapOf(rank, outDims));
    for (unsigned i = 0; i < rank; ++i)
      iterators.push_back(llvm::is_contained(outDims, i) ? "\"parallel\""
                                                         : "\"reduction\"");
    Val v{fresh(), init.shape, init.elt};
    os << "  " << v.name << " = linalg.generic {indexing_maps = ["
       << joined(maps) << "], iterator_types = [" << joined(iterators)
       << "]} ins(" << joined(names) << " : " << joined(types) << ") outs("
       << init.name << " : " << typeOf(init) << ") {\n  ^bb0(";
    std::vector<std::string> blockArgs;
    for (size_t i = 0; i <= ins.size(); ++i) {
      std::string arg = fresh();
      StringRef elt = i < ins.size() ? StringRef(ins[i].first.elt) : StringRef(init.elt);
      os << (i ? ", " : "") << arg << ": " << elt;
      blockArgs.push_back(arg);
    }
    os << "):\n";
    std::string result = body(blockArgs);
    os << "    linalg.yield " << result << " : " << init.elt << "\n  } -> "
       << typeOf(v) << "\n";
    return v;
  }

  /// One line `%r = <op> <operands> : f32` inside a region.
  std::string op(StringRef opName, const std::vector<std::string> &operands,
                 StringRef type = "f32") {
    std::string r = fresh();
    os << "    " << r << " = " << opName << " " << joined(operands) << " : "
       << type << "\n";
    return r;
  }
  std::string constant(double value) {
    std::string r = fresh();
    os << "    " << r << " = arith.constant " << floatLit(value) << " : f32\n";
    return r;
  }
  /// silu(x) = x / (1 + exp(-x)).
  std::string silu(const std::string &x) {
    std::string neg = op("arith.negf", {x});
    std::string e = op("math.exp", {neg});
    std::string one = constant(1.0);
    std::string d = op("arith.addf", {one, e});
    return op("arith.divf", {x, d});
  }

  /// a + b, written over a's buffer (the residual stream is updated in
  /// place, which also keeps the layer loop's carried value in one buffer).
  Val add(const Val &a, const Val &b) {
    return generic(a.shape, {{a, identity(a.shape.size())}, {b, identity(b.shape.size())}},
                   a, identity(a.shape.size()),
                   [&](const std::vector<std::string> &args) {
                     return op("arith.addf", {args[0], args[1]});
                   });
  }

  /// RMS normalisation of x[M, K] over K (weight [K]), as
  /// transformers' MambaRMSNorm: x * rsqrt(mean(x^2) + eps) * w, written
  /// x / sqrt(...) (libm has no rsqrtf for convert-math-to-libm).
  Val rmsNorm(const Val &x, StringRef weightName, double eps) {
    Val w = weight(weightName);
    int64_t k = x.shape[1];
    Val sums = generic(x.shape, {{x, {0, 1}}}, zeros({x.shape[0]}), {0},
                       [&](const std::vector<std::string> &args) {
                         std::string sq = op("arith.mulf", {args[0], args[0]});
                         return op("arith.addf", {sq, args[1]});
                       });
    return generic(x.shape, {{x, {0, 1}}, {sums, {0}}, {w, {1}}}, empty(x.shape),
                   {0, 1}, [&](const std::vector<std::string> &args) {
                     std::string n = constant(static_cast<double>(k));
                     std::string mean = op("arith.divf", {args[1], n});
                     std::string e = constant(eps);
                     std::string r = op("math.sqrt", {op("arith.addf", {mean, e})});
                     return op("arith.mulf", {op("arith.divf", {args[0], r}), args[2]});
                   });
  }

  /// Mamba-2's gated norm: g = y * silu(z), then RMS normalisation of g
  /// over `groups` equal parts of its K columns, times w[K].
  Val gatedRMSNorm(const Val &y, const Val &z, StringRef weightName, double eps,
                   int64_t groups) {
    int64_t k = y.shape[1], part = k / groups;
    Val w = weight(weightName);
    Val gated = generic(y.shape, {{y, {0, 1}}, {z, {0, 1}}}, empty(y.shape), {0, 1},
                        [&](const std::vector<std::string> &args) {
                          return op("arith.mulf", {args[0], silu(args[1])});
                        });
    Val g3 = expand(gated, {{0}, {1, 2}}, {y.shape[0], groups, part});
    Val w2 = expand(w, {{0, 1}}, {groups, part});
    Val sums = generic(g3.shape, {{g3, {0, 1, 2}}}, zeros({y.shape[0], groups}),
                       {0, 1}, [&](const std::vector<std::string> &args) {
                         std::string sq = op("arith.mulf", {args[0], args[0]});
                         return op("arith.addf", {sq, args[1]});
                       });
    Val normed = generic(
        g3.shape, {{g3, {0, 1, 2}}, {sums, {0, 1}}, {w2, {1, 2}}}, empty(g3.shape),
        {0, 1, 2}, [&](const std::vector<std::string> &args) {
          std::string n = constant(static_cast<double>(part));
          std::string mean = op("arith.divf", {args[1], n});
          std::string e = constant(eps);
          std::string r = op("math.sqrt", {op("arith.addf", {mean, e})});
          return op("arith.mulf", {op("arith.divf", {args[0], r}), args[2]});
        });
    return collapse(normed, {{0}, {1, 2}});
  }

  /// The rows of the embedding table for ids[M] (i64): [M, hidden].
  Val embed(const Val &ids, StringRef tableName) {
    Val table = weight(tableName);
    std::vector<int64_t> shape{ids.shape[0], table.shape[1]};
    return generic(shape, {{ids, {0}}}, empty(shape), {0, 1},
                   [&](const std::vector<std::string> &args) {
                     std::string row = op("arith.index_cast", {args[0]}, "i64 to index");
                     std::string col = fresh();
                     os << "    " << col << " = linalg.index 1 : index\n";
                     std::string v = fresh();
                     os << "    " << v << " = tensor.extract " << table.name << "["
                        << row << ", " << col << "] : " << typeOf(table) << "\n";
                     return v;
                   });
  }

  /// Aborts with a message unless every id of ids[M] is in [0, vocab).
  void checkIds(const Val &ids, int64_t vocab) {
    Val init{fresh(), {}, "i1"};
    os << "  " << init.name << " = tensor.from_elements %true : tensor<i1>\n";
    Val ok = generic(ids.shape, {{ids, {0}}}, init, {},
                     [&](const std::vector<std::string> &args) {
                       std::string lo = fresh(), hi = fresh(), v = fresh();
                       os << "    " << lo << " = arith.cmpi sge, " << args[0]
                          << ", %c0_i64 : i64\n";
                       os << "    " << hi << " = arith.cmpi slt, " << args[0]
                          << ", %vocab_i64 : i64\n";
                       std::string both = op("arith.andi", {lo, hi}, "i1");
                       return op("arith.andi", {both, args[1]}, "i1");
                     });
    std::string flag = fresh();
    os << "  " << flag << " = tensor.extract " << ok.name << "[] : tensor<i1>\n";
    os << "  cf.assert " << flag << ", \"token id out of range: every id must "
       << "be in [0, " << vocab << ")\"\n";
  }

  /// The prefix of layer 0's tensors, and the SSA value (in floats) that
  /// moves them to the layer being written; empty outside the layer loop.
  static constexpr const char *kLayer0 = "backbone.layers.0.";
  std::string layerBase;

private:
  unsigned &counter;
  const WeightsLayout &layout;
};

/// The two entry points of one model.
class ModelWriter {
public:
  ModelWriter(const ModelDescription &model, const WeightsLayout &layout,
              const ModelImportOptions &options)
      : config(model.config), layout(layout), options(options) {}

  std::string module() {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "// " << modelTypeName(config.modelType) << ": "
       << config.numHiddenLayers << " layers, hidden " << config.hiddenSize
       << ", state " << config.stateSize << ", vocabulary " << config.vocabSize
       << "\nmodule {\n";
    writeInfo(os);
    os << function(/*decode=*/false) << function(/*decode=*/true) << "}\n";
    return text;
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

  void writeInfo(llvm::raw_string_ostream &os) {
    int64_t info[SSM_MODEL_INFO_FIELD_COUNT] = {};
    info[SSM_MODEL_INFO_FORMAT_VERSION] = SSM_MODEL_FORMAT_VERSION;
    info[SSM_MODEL_INFO_MODEL_TYPE] =
        mamba2() ? SSM_MODEL_TYPE_MAMBA2 : SSM_MODEL_TYPE_MAMBA;
    info[SSM_MODEL_INFO_LAYERS] = config.numHiddenLayers;
    info[SSM_MODEL_INFO_HIDDEN] = config.hiddenSize;
    info[SSM_MODEL_INFO_VOCAB] = config.vocabSize;
    info[SSM_MODEL_INFO_CONV_CACHE_FLOATS] = convFloats();
    info[SSM_MODEL_INFO_SSM_CACHE_FLOATS] = ssmFloats();
    info[SSM_MODEL_INFO_WEIGHTS_FLOATS] = static_cast<int64_t>(layout.totalFloats);
    info[SSM_MODEL_INFO_WEIGHTS_HASH] = static_cast<int64_t>(layout.hash);
    std::vector<std::string> values;
    for (int64_t v : info)
      values.push_back(std::to_string(v));
    os << "  memref.global constant @" << options.name << "_info : memref<"
       << SSM_MODEL_INFO_FIELD_COUNT << "xi64> = dense<[" << joined(values) << "]>\n";
  }

  /// Per-layer view of a flat cache [B, floats]: [B, layers, shape...].
  Val layerView(Writer &w, const Val &flat, std::vector<int64_t> layerShape) {
    std::vector<int64_t> shape{kB, config.numHiddenLayers};
    shape.insert(shape.end(), layerShape.begin(), layerShape.end());
    std::vector<unsigned> rest;
    for (unsigned i = 1; i < shape.size(); ++i)
      rest.push_back(i);
    return w.expand(flat, {{0}, rest}, shape);
  }

  /// The offsets, sizes and strides of cache[:, layer] ([B, layers, ...]).
  std::string layerSlice(const Val &cache, const std::string &layer) const {
    std::vector<std::string> offsets{"0", layer},
        sizes{dimName(kB), "1"}, strides{"1", "1"};
    for (size_t i = 2; i < cache.shape.size(); ++i) {
      offsets.push_back("0");
      sizes.push_back(std::to_string(cache.shape[i]));
      strides.push_back("1");
    }
    return "[" + joined(offsets) + "] [" + joined(sizes) + "] [" + joined(strides) + "]";
  }

  /// cache[:, layer] as [B, shape...].
  Val cacheSlice(Writer &w, const Val &cache, const std::string &layer) {
    std::vector<int64_t> shape{kB};
    shape.insert(shape.end(), cache.shape.begin() + 2, cache.shape.end());
    Val v{w.fresh(), shape};
    w.os << "  " << v.name << " = tensor.extract_slice " << cache.name
         << layerSlice(cache, layer) << " : " << typeOf(cache) << " to "
         << typeOf(v) << "\n";
    return v;
  }

  /// cache with [:, layer] replaced by `value` [B, shape...].
  Val cacheInsert(Writer &w, const Val &value, const Val &cache,
                  const std::string &layer) {
    Val v{w.fresh(), cache.shape};
    w.os << "  " << v.name << " = tensor.insert_slice " << value.name << " into "
         << cache.name << layerSlice(cache, layer) << " : " << typeOf(value)
         << " into " << typeOf(cache) << "\n";
    return v;
  }

  /// Layer tensors are named as layer 0's; Writer::weight moves them to
  /// the layer of the loop iteration.
  static std::string layerName(StringRef what) {
    return (Writer::kLayer0 + what).str();
  }
  static std::string mixer(StringRef what) { return layerName(("mixer." + what).str()); }
  StringRef optionalBias(StringRef proj, std::string &storage) const {
    if (!config.useBias)
      return "";
    storage = mixer((proj + ".bias").str());
    return storage;
  }

  /// Floats between the tensors of consecutive layers: every layer has the
  /// same table, so layer l's copy of a layer-0 tensor is l strides on.
  uint64_t layerStride() const {
    if (config.numHiddenLayers < 2)
      return 0;
    const WeightsLayout::Slot *first = layout.find(layerName("norm.weight"));
    const WeightsLayout::Slot *second = layout.find("backbone.layers.1.norm.weight");
    uint64_t stride = second->offset - first->offset;
    for (const WeightsLayout::Slot &slot : layout.slots) {
      StringRef name = slot.name;
      if (!name.consume_front("backbone.layers."))
        continue;
      auto [index, rest] = name.split('.');
      const WeightsLayout::Slot *zero = layout.find(layerName(rest));
      if (!zero || slot.offset != zero->offset + std::stoull(index.str()) * stride)
        llvm::report_fatal_error("ssmc: model importer: layers are not laid out "
                                 "at a constant stride");
    }
    return stride;
  }

  std::string function(bool decode) {
    std::string text;
    Writer w(text, counter, layout);
    std::string weightsType = typeOf({static_cast<int64_t>(layout.totalFloats)}, "f32");
    std::string idsType = decode ? typeOf({kB}, "i64") : typeOf({kB, kL}, "i64");
    std::string convType = typeOf({kB, convFloats()}, "f32");
    std::string ssmType = typeOf({kB, ssmFloats()}, "f32");
    w.os << "  func.func @" << options.name << (decode ? "_decode" : "_prefill")
         << "(%weights: " << weightsType << ", %ids: " << idsType
         << ", %conv_cache: " << convType << " {ssm.in_place}, %ssm_cache: "
         << ssmType << " {ssm.in_place}) -> (" << typeOf({kB, config.vocabSize}, "f32")
         << ", " << convType << ", " << ssmType << ") {\n";
    w.os << "  %c0 = arith.constant 0 : index\n  %c1 = arith.constant 1 : index\n"
         << "  %zero = arith.constant 0.0 : f32\n  %true = arith.constant true\n"
         << "  %c0_i64 = arith.constant 0 : i64\n  %vocab_i64 = arith.constant "
         << config.vocabSize << " : i64\n"
         << "  %B = tensor.dim %ids, %c0 : " << idsType << "\n";
    if (decode) {
      w.os << "  %L = arith.constant 1 : index\n";
    } else {
      w.os << "  %L = tensor.dim %ids, %c1 : " << idsType << "\n"
           << "  %M = arith.muli %B, %L : index\n"
           << "  %nonempty = arith.cmpi sge, %L, %c1 : index\n"
           << "  cf.assert %nonempty, \"the prompt must hold at least one token\"\n";
    }
    Val ids{"%ids", decode ? std::vector<int64_t>{kB} : std::vector<int64_t>{kB, kL}, "i64"};
    Val flatIds = decode ? ids : w.collapse(ids, {{0, 1}});
    w.checkIds(flatIds, config.vocabSize);
    Val hidden = w.embed(flatIds, "backbone.embeddings.weight");
    // Rows are tokens: [M, hidden] (M = B in decode).

    Val convFlat{"%conv_cache", {kB, convFloats()}};
    Val ssmFlat{"%ssm_cache", {kB, ssmFloats()}};
    Val conv = layerView(w, convFlat, convLayerShape());
    Val ssm = layerView(w, ssmFlat, ssmLayerShape());
    // One loop over the layers, whose body is written once: LLVM compiles
    // one copy of the kernels, whatever the depth of the model.
    std::string results = w.fresh();
    Val hIn{w.fresh(), hidden.shape}, convIn{w.fresh(), conv.shape},
        ssmIn{w.fresh(), ssm.shape};
    w.os << "  %layers = arith.constant " << config.numHiddenLayers
         << " : index\n  %layer_stride = arith.constant " << layerStride()
         << " : index\n  " << results << ":3 = scf.for %layer = %c0 to %layers "
         << "step %c1 iter_args(" << hIn.name << " = " << hidden.name << ", "
         << convIn.name << " = " << conv.name << ", " << ssmIn.name << " = "
         << ssm.name << ") -> (" << typeOf(hidden) << ", " << typeOf(conv) << ", "
         << typeOf(ssm) << ") {\n  %layer_base = arith.muli %layer, %layer_stride"
         << " : index\n";
    w.layerBase = "%layer_base";
    Val layerConv = convIn, layerSSM = ssmIn;
    Val normed = w.rmsNorm(hIn, layerName("norm.weight"), config.layerNormEpsilon);
    Val mixed = mamba2() ? mamba2Mixer(w, normed, decode, layerConv, layerSSM)
                         : mambaMixer(w, normed, decode, layerConv, layerSSM);
    Val hOut = w.add(hIn, mixed);
    w.os << "  scf.yield " << hOut.name << ", " << layerConv.name << ", "
         << layerSSM.name << " : " << typeOf(hidden) << ", " << typeOf(conv)
         << ", " << typeOf(ssm) << "\n  }\n";
    w.layerBase.clear();
    hidden = {results + "#0", hidden.shape};
    conv = {results + "#1", conv.shape};
    ssm = {results + "#2", ssm.shape};
    if (!decode) {
      // Only the last position's logits: generation needs no more, and the
      // vocabulary projection of a whole prompt would dominate memory.
      Val rows = w.expand(hidden, {{0, 1}, {2}}, {kB, kL, config.hiddenSize});
      std::string last = w.fresh();
      w.os << "  " << last << " = arith.subi %L, %c1 : index\n";
      Val lastRow{w.fresh(), {kB, 1, config.hiddenSize}};
      w.os << "  " << lastRow.name << " = tensor.extract_slice " << rows.name
           << "[0, " << last << ", 0] [" << dimName(kB) << ", 1, " << config.hiddenSize
           << "] [1, 1, 1] : " << typeOf(rows) << " to " << typeOf(lastRow) << "\n";
      hidden = w.collapse(lastRow, {{0, 1}, {2}});
    }
    Val final = w.rmsNorm(hidden, "backbone.norm_f.weight", config.layerNormEpsilon);
    Val logits = w.linear(final, config.tieWordEmbeddings ? "backbone.embeddings.weight"
                                                          : "lm_head.weight");
    Val convOut = w.collapse(conv, {{0}, rangeFrom(1, conv.shape.size())});
    Val ssmOut = w.collapse(ssm, {{0}, rangeFrom(1, ssm.shape.size())});
    w.os << "  return " << logits.name << ", " << convOut.name << ", " << ssmOut.name
         << " : " << typeOf(logits) << ", " << convType << ", " << ssmType << "\n  }\n";
    return text;
  }

  static std::vector<unsigned> rangeFrom(unsigned begin, unsigned end) {
    std::vector<unsigned> dims;
    for (unsigned i = begin; i < end; ++i)
      dims.push_back(i);
    return dims;
  }

  /// The causal convolution with SiLU of x[M, C] (tokens as rows), reading
  /// and updating the layer's conv cache. Returns [M, C].
  Val convolution(Writer &w, const Val &x, bool decode, Val &conv) {
    int64_t channels = x.shape[1];
    Val seq = decode ? w.expand(x, {{0, 1}, {2}}, {kB, 1, channels})
                     : w.expand(x, {{0, 1}, {2}}, {kB, kL, channels});
    Val channelsMajor = w.transpose(seq, {0, 2, 1});
    Val weight = w.weight(mixer("conv1d.weight"));
    std::string biasText, biasType;
    if (config.useConvBias) {
      Val bias = w.weight(mixer("conv1d.bias"));
      biasText = " bias(" + bias.name + ")";
      biasType = ", " + typeOf(bias);
    }
    std::string initText, initType;
    if (decode) {
      Val state = cacheSlice(w, conv, "%layer");
      initText = " init_state(" + state.name + ")";
      initType = ", " + typeOf(state);
    }
    Val out{w.fresh(), channelsMajor.shape};
    Val last{w.fresh(), {kB, channels, width() - 1}};
    w.os << "  " << out.name << ", " << last.name << " = ssm.causal_conv1d "
         << channelsMajor.name << ", " << weight.name << biasText << initText
         << " silu : (" << typeOf(channelsMajor) << ", " << typeOf(weight) << biasType
         << initType << ") -> (" << typeOf(out) << ", " << typeOf(last) << ")\n";
    conv = cacheInsert(w, last, conv, "%layer");
    Val tokensMajor = w.transpose(out, {0, 2, 1});
    return w.collapse(tokensMajor, {{0, 1}, {2}});
  }

  /// MambaMixer: in_proj, conv + SiLU, x_proj, dt_proj, selective scan with
  /// D and the SiLU gate, out_proj. x: [M, hidden].
  Val mambaMixer(Writer &w, const Val &x, bool decode, Val &conv, Val &ssm) {
    int64_t inner = config.intermediateSize, state = config.stateSize;
    int64_t rank = config.timeStepRank;
    std::string bias;
    Val projected = w.linear(x, mixer("in_proj.weight"),
                             optionalBias("in_proj", bias));
    Val xs = w.slice(projected, 1, 0, inner);
    Val gate = w.slice(projected, 1, inner, inner);
    Val u = convolution(w, xs, decode, conv);
    Val params = w.linear(u, mixer("x_proj.weight"));
    Val dtLow = w.slice(params, 1, 0, rank);
    Val Bm = w.slice(params, 1, rank, state);
    Val Cm = w.slice(params, 1, rank + state, state);
    // dt_proj without its bias: the scan adds it before the softplus.
    Val dt = w.linear(dtLow, mixer("dt_proj.weight"));
    Val A = w.weight(mixer("A_log"));
    Val D = w.weight(mixer("D"));
    Val dtBias = w.weight(mixer("dt_proj.bias"));
    Val y;
    if (decode) {
      Val B3 = w.expand(Bm, {{0, 1}, {2}}, {kB, 1, state});
      Val C3 = w.expand(Cm, {{0, 1}, {2}}, {kB, 1, state});
      Val h = cacheSlice(w, ssm, "%layer");
      Val yInit = w.empty({kB, inner});
      Val newState{w.fresh(), h.shape};
      y = {w.fresh(), {kB, inner}};
      w.os << "  " << newState.name << ", " << y.name << " = ssm.state_update ins("
           << u.name << ", " << dt.name << ", " << A.name << ", " << B3.name << ", "
           << C3.name << " : " << typeOf(u) << ", " << typeOf(dt) << ", "
           << typeOf(A) << ", " << typeOf(B3) << ", " << typeOf(C3) << ") skip("
           << D.name << " : " << typeOf(D) << ") gate(" << gate.name << " : "
           << typeOf(gate) << ") dt_bias(" << dtBias.name << " : " << typeOf(dtBias)
           << ") dt_softplus outs(" << h.name << ", " << yInit.name << " : "
           << typeOf(h) << ", " << typeOf(yInit) << ")\n";
      ssm = cacheInsert(w, newState, ssm, "%layer");
    } else {
      auto channelsMajor = [&](const Val &v) {
        return w.transpose(w.expand(v, {{0, 1}, {2}}, {kB, kL, v.shape[1]}), {0, 2, 1});
      };
      Val uT = channelsMajor(u), dtT = channelsMajor(dt), zT = channelsMajor(gate);
      Val BT = w.expand(channelsMajor(Bm), {{0, 1}, {2}, {3}}, {kB, 1, state, kL});
      Val CT = w.expand(channelsMajor(Cm), {{0, 1}, {2}, {3}}, {kB, 1, state, kL});
      Val yT{w.fresh(), uT.shape};
      Val last{w.fresh(), {kB, inner, state}};
      w.os << "  " << yT.name << ", " << last.name << " = ssm.selective_scan "
           << uT.name << ", " << dtT.name << ", " << A.name << ", " << BT.name << ", "
           << CT.name << " skip(" << D.name << ") gate(" << zT.name
           << ") delta_bias(" << dtBias.name << ") delta_softplus : ("
           << joined({typeOf(uT), typeOf(dtT), typeOf(A), typeOf(BT), typeOf(CT),
                      typeOf(D), typeOf(zT), typeOf(dtBias)})
           << ") -> (" << typeOf(yT) << ", " << typeOf(last) << ")\n";
      ssm = cacheInsert(w, last, ssm, "%layer");
      y = w.collapse(w.transpose(yT, {0, 2, 1}), {{0, 1}, {2}});
    }
    return w.linear(y, mixer("out_proj.weight"),
                    optionalBias("out_proj", bias));
  }

  /// Mamba2Mixer: in_proj into (z, xBC, dt), conv + SiLU over xBC, SSD with
  /// dt_bias, softplus, dt limits and D, gated RMS norm, out_proj.
  Val mamba2Mixer(Writer &w, const Val &x, bool decode, Val &conv, Val &ssm) {
    int64_t inner = config.intermediateSize, state = config.stateSize;
    int64_t heads = config.numHeads, headDim = config.headDim;
    int64_t groups = config.nGroups, convDim = config.convDim();
    std::string bias;
    Val projected = w.linear(x, mixer("in_proj.weight"),
                             optionalBias("in_proj", bias));
    Val z = w.slice(projected, 1, 0, inner);
    Val xBC = w.slice(projected, 1, inner, convDim);
    Val dt = w.slice(projected, 1, inner + convDim, heads);
    Val mixed = convolution(w, xBC, decode, conv);
    Val xs = w.slice(mixed, 1, 0, inner);
    Val Bm = w.slice(mixed, 1, inner, groups * state);
    Val Cm = w.slice(mixed, 1, inner + groups * state, groups * state);
    Val A = w.weight(mixer("A_log"));
    Val D = w.weight(mixer("D"));
    Val dtBias = w.weight(mixer("dt_bias"));
    std::string limit;
    if (config.timeStepLimitLow > 0.0 || std::isfinite(config.timeStepLimitHigh)) {
      auto bound = [](double v) {
        return std::isinf(v) ? std::string(v < 0 ? "-inf" : "inf") : floatLit(v);
      };
      limit = " dt_limit [" + bound(config.timeStepLimitLow) + ", " +
              bound(config.timeStepLimitHigh) + "]";
    }
    Val y;
    if (decode) {
      Val x3 = w.expand(xs, {{0}, {1, 2}}, {kB, heads, headDim});
      Val B3 = w.expand(Bm, {{0}, {1, 2}}, {kB, groups, state});
      Val C3 = w.expand(Cm, {{0}, {1, 2}}, {kB, groups, state});
      Val h = cacheSlice(w, ssm, "%layer");
      Val yInit = w.empty({kB, heads, headDim});
      Val newState{w.fresh(), h.shape};
      Val y3{w.fresh(), {kB, heads, headDim}};
      w.os << "  " << newState.name << ", " << y3.name << " = ssm.state_update ins("
           << x3.name << ", " << dt.name << ", " << A.name << ", " << B3.name << ", "
           << C3.name << " : " << typeOf(x3) << ", " << typeOf(dt) << ", "
           << typeOf(A) << ", " << typeOf(B3) << ", " << typeOf(C3) << ") skip("
           << D.name << " : " << typeOf(D) << ") dt_bias(" << dtBias.name << " : "
           << typeOf(dtBias) << ") dt_softplus" << limit << " outs(" << h.name
           << ", " << yInit.name << " : " << typeOf(h) << ", " << typeOf(yInit)
           << ")\n";
      ssm = cacheInsert(w, newState, ssm, "%layer");
      y = w.collapse(y3, {{0}, {1, 2}});
    } else {
      Val x4 = w.expand(xs, {{0, 1}, {2, 3}}, {kB, kL, heads, headDim});
      Val dt3 = w.expand(dt, {{0, 1}, {2}}, {kB, kL, heads});
      Val B4 = w.expand(Bm, {{0, 1}, {2, 3}}, {kB, kL, groups, state});
      Val C4 = w.expand(Cm, {{0, 1}, {2, 3}}, {kB, kL, groups, state});
      Val y4{w.fresh(), x4.shape};
      Val last{w.fresh(), {kB, heads, headDim, state}};
      w.os << "  " << y4.name << ", " << last.name << " = ssm.ssd " << x4.name << ", "
           << dt3.name << ", " << A.name << ", " << B4.name << ", " << C4.name
           << " skip(" << D.name << ") dt_bias(" << dtBias.name << ") dt_softplus"
           << limit << " {chunk_size = " << config.chunkSize << " : i64} : ("
           << joined({typeOf(x4), typeOf(dt3), typeOf(A), typeOf(B4), typeOf(C4),
                      typeOf(D), typeOf(dtBias)})
           << ") -> (" << typeOf(y4) << ", " << typeOf(last) << ")\n";
      ssm = cacheInsert(w, last, ssm, "%layer");
      y = w.collapse(y4, {{0, 1}, {2, 3}});
    }
    // Per group of intermediate / n_groups channels, as mamba_ssm's
    // RMSNormGated (group_size = d_ssm // ngroups) and transformers do.
    Val normed = w.gatedRMSNorm(y, z, mixer("norm.weight"),
                                config.layerNormEpsilon, groups);
    return w.linear(normed, mixer("out_proj.weight"),
                    optionalBias("out_proj", bias));
  }

  const HFConfig &config;
  const WeightsLayout &layout;
  const ModelImportOptions &options;
  unsigned counter = 0;
};

} // namespace

std::string mlir::ssm::emitModelMLIR(const ModelDescription &model,
                                     const WeightsLayout &layout,
                                     const ModelImportOptions &options) {
  return ModelWriter(model, layout, options).module();
}
