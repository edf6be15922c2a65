//===- LowerSSDChunked.cpp - ssd, chunked form on tensor cores ------------===//
//
// Part of ssmc. The state-space-duality form of the Mamba-2 SSD
// (docs/semantics.md; the CPU's LowerSSDChunked.cpp computes the same
// terms with loops). One block of 4 warps per (batch row, head, tile of 16
// head channels) walks the sequence chunk by chunk, Q steps at a time; the
// inter-chunk recurrence is that walk, the 16 x N state tile living in the
// warps' mma accumulators (registers) from one chunk to the next. Per
// chunk, with cum the cumulative log-decay (Σ δ·A) inside the chunk:
//
//   S  = C Bᵀ                        [Q x Q]   (mma)
//   M  = S ∘ exp(cum_i − cum_j), i ≥ j, else 0
//   Y  = exp(cum_i) · (C hᵀ)[i, p] + (M · δx)[i, p]         (mma, mma)
//   h' = exp(cum_last) · h + (w ∘ δx)ᵀ B,  w_j = exp(cum_last − cum_j)  (mma)
//
// The products run on nvgpu.mma.sync m16n8k16 (f16 operands, f32
// accumulation): C, B, δx, M and a copy of the state are rounded to f16 in
// workgroup memory; everything else (δ, decays, the state itself, the
// epilogue) stays in f32. Lanes build their fragments with plain loads in
// the layout of PTX's mma.m16n8k16 (see loadA/loadB and the accumulator
// comment below).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::gpu_lowering;

namespace {

/// Warps per block: each takes 16 x 8 output tiles of the products in turn.
constexpr int64_t kWarps = 4;
/// Head channels per block: the M dimension of one mma tile of the state.
constexpr int64_t kChannelTile = 16;
/// Static workgroup memory a block may use without the opt-in of dynamic
/// shared memory.
constexpr int64_t kSharedBytes = 48 * 1024;

/// Operand positions in the kernel's argument list (y, [final], inputs).
enum Arg { Y, FinalState, X, Dt, A, Bm, Cm, Skip, Gate, DtBias, Init };

/// Workgroup bytes of the chunked kernel for chunk length `q` and state
/// size `n`: C, B (q x n), δx and its weighted transpose (q x 16), M
/// (q x q) and the state copy (16 x n) in f16; δ and cum (q) in f32.
int64_t sharedBytes(int64_t q, int64_t n) {
  return 2 * (2 * q * n + 2 * q * kChannelTile + q * q + kChannelTile * n) +
         4 * 2 * q;
}

/// The chunk length of the kernel: 64 or 32, the larger that is at most the
/// op's chunk_size and fits the workgroup memory (64 up to N = 96). Any
/// length gives the same map, so the kernel's own choice is free; 128 would
/// need more than 48 KB for any N (M alone takes 32 KB).
std::optional<int64_t> chunkLength(SSDOp op) {
  int64_t n = op.getB().getType().getDimSize(3);
  for (int64_t q : {64, 32})
    if (q <= static_cast<int64_t>(op.getChunkSize()) &&
        sharedBytes(q, n) <= kSharedBytes)
      return q;
  return std::nullopt;
}

/// Ops without an `algorithm` take the chunked kernel from this many steps
/// on, or when L is dynamic (a prefill); shorter static sequences keep the
/// recurrence, whose 4x more blocks have no chunk to fill first. A guess:
/// neither kernel has been timed on a GPU.
constexpr int64_t kChunkedFromLength = 128;

/// Whether `op` takes the chunked kernel: asked for (or, without an
/// `algorithm`, long or of dynamic length), and within its limits.
bool takesChunkedKernel(SSDOp op) {
  int64_t length = op.getX().getType().getDimSize(1);
  bool wanted = op.getAlgorithm()
                    ? *op.getAlgorithm() == SSDAlgorithm::chunked
                    : ShapedType::isDynamic(length) ||
                          length >= kChunkedFromLength;
  if (!wanted || op.getSeqIdx() || op.getCuSeqlens())
    return false;
  int64_t p = op.getX().getType().getDimSize(3);
  int64_t n = op.getB().getType().getDimSize(3);
  Type ct = computeTypeFor(op.getContext(), op->getOperandTypes());
  return ct.isF32() && !ShapedType::isDynamic(p) && p % kChannelTile == 0 &&
         !ShapedType::isDynamic(n) && n % (8 * kWarps) == 0 && n <= 256 &&
         chunkLength(op).has_value();
}

struct LowerChunkedSSD : OpRewritePattern<SSDOp> {
  // Before the recurrent kernel, which serves every other ssd.
  LowerChunkedSSD(MLIRContext *context)
      : OpRewritePattern<SSDOp>(context, /*benefit=*/2) {}

  LogicalResult matchAndRewrite(SSDOp op,
                                PatternRewriter &rewriter) const override {
    if (!takesChunkedKernel(op))
      return rewriter.notifyMatchFailure(op, "not a chunked ssd in limits");
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type(), f16 = rewriter.getF16Type();
    int64_t q = *chunkLength(op);
    int64_t n = op.getB().getType().getDimSize(3);
    // Each warp keeps N / 32 accumulator tiles (16 x 8) of the state.
    int64_t stateTiles = n / (8 * kWarps);
    bool hasFinal = static_cast<bool>(op.getFinalState());
    auto argIndex = [&](Arg a) { return !hasFinal && a > Y ? a - 1 : a; };

    auto dim = [&](Value t, int64_t i) -> Value {
      return tensor::DimOp::create(rewriter, loc, t, i);
    };
    Value x = op.getX();
    SmallVector<std::pair<RankedTensorType, SmallVector<Value>>> outputs;
    outputs.push_back(deviceOutput(
        op.getY().getType(), {dim(x, 0), dim(x, 1), dim(x, 2), dim(x, 3)}));
    if (hasFinal)
      outputs.push_back(
          deviceOutput(cast<RankedTensorType>(op.getFinalState().getType()),
                       {dim(x, 0), dim(x, 2), dim(x, 3), dim(op.getB(), 3)}));

    // One block per (row, head, channel tile).
    auto gridSize = [&](OpBuilder &b, Location l, ValueRange buffers) -> Value {
      Value xb = buffers[argIndex(X)];
      return arith::MulIOp::create(
          b, l, dimOf(b, l, xb, 0),
          arith::MulIOp::create(b, l, dimOf(b, l, xb, 2),
                                arith::ConstantIndexOp::create(
                                    b, l, *staticDimOf(xb, 3) / kChannelTile)));
    };

    auto body = [&](OpBuilder &b, Location l, ArrayRef<Value> kernelArgs) {
      auto arg = [&](Arg a) { return kernelArgs[argIndex(a)]; };
      auto index = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, l, v);
      };
      auto f32c = [&](double v) { return buildFloat(b, l, f32, v); };
      auto add = [&](Value a, Value c) -> Value {
        return arith::AddIOp::create(b, l, a, c);
      };
      auto mul = [&](Value a, Value c) -> Value {
        return arith::MulIOp::create(b, l, a, c);
      };
      auto addf = [&](Value a, Value c) -> Value {
        return arith::AddFOp::create(b, l, a, c);
      };
      auto mulf = [&](Value a, Value c) -> Value {
        return arith::MulFOp::create(b, l, a, c);
      };
      auto load = [&](Value buffer, ValueRange at) -> Value {
        return memref::LoadOp::create(b, l, buffer, at);
      };
      auto store = [&](Value v, Value buffer, ValueRange at) {
        memref::StoreOp::create(b, l, v, buffer, at);
      };
      auto barrier = [&] { gpu::BarrierOp::create(b, l); };
      // Through f32: bf16 and f16 have the same width, which truncf refuses.
      auto toF16 = [&](Value v) { return convertFloat(b, l, v, f16); };
      // for (i = from; i < to; i += step) with `fn(i)` as its body.
      auto forEach = [&](Value from, Value to, Value step,
                         function_ref<void(Value)> fn) {
        scf::ForOp::create(b, l, from, to, step, ValueRange{},
                           [&](OpBuilder &, Location, Value i, ValueRange) {
                             fn(i);
                             scf::YieldOp::create(b, l);
                           });
      };
      auto when = [&](Value cond, function_ref<void()> fn) {
        auto guard = scf::IfOp::create(b, l, cond, /*withElseRegion=*/false);
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(guard.thenBlock()->getTerminator());
        fn();
      };
      auto select = [&](Value cond, Value t, Value f) -> Value {
        return arith::SelectOp::create(b, l, cond, t, f);
      };
      auto ult = [&](Value a, Value c) -> Value {
        return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, a, c);
      };

      Value xb = arg(X);
      Value heads = dimOf(b, l, xb, 2), length = dimOf(b, l, xb, 1);
      Value tiles = index(*staticDimOf(xb, 3) / kChannelTile);
      Value block = gpu::BlockIdOp::create(b, l, gpu::Dimension::x);
      Value tid = gpu::ThreadIdOp::create(b, l, gpu::Dimension::x);
      Value lane =
          arith::RemUIOp::create(b, l, tid, index(gpu_lowering::kWarpSize));
      Value warp =
          arith::DivUIOp::create(b, l, tid, index(gpu_lowering::kWarpSize));
      // The mma fragment layout indexes lanes as (group, thread in group).
      Value group = arith::DivUIOp::create(b, l, lane, index(4));
      Value pair = mul(arith::RemUIOp::create(b, l, lane, index(4)), index(2));
      Value ri = arith::DivUIOp::create(b, l, block, mul(heads, tiles));
      Value rest = arith::RemUIOp::create(b, l, block, mul(heads, tiles));
      Value hi = arith::DivUIOp::create(b, l, rest, tiles);
      Value p0 =
          mul(arith::RemUIOp::create(b, l, rest, tiles), index(kChannelTile));
      Value gi = arith::DivUIOp::create(
          b, l, hi,
          arith::DivUIOp::create(b, l, heads, dimOf(b, l, arg(Bm), 2)));

      auto shared = [&](ArrayRef<int64_t> shape, Type element) -> Value {
        auto func = cast<gpu::GPUFuncOp>(b.getBlock()->getParentOp());
        return func.addWorkgroupAttribution(
            MemRefType::get(shape, element, AffineMap(),
                            gpu::AddressSpaceAttr::get(
                                b.getContext(), gpu::AddressSpace::Workgroup)),
            l);
      };
      Value cs = shared({q, n}, f16), bs = shared({q, n}, f16);
      Value xs = shared({q, kChannelTile}, f16);
      Value xw = shared({kChannelTile, q}, f16);
      Value ms = shared({q, q}, f16), hs = shared({kChannelTile, n}, f16);
      Value deltas = shared({q}, f32), cum = shared({q}, f32);

      // Fragments of mma.m16n8k16 (PTX ISA, "Matrix Fragments for
      // mma.m16n8k16"): with g = lane / 4 and c = 2 (lane % 4), A (16 x 16)
      // holds (g, c..c+1), (g+8, c..c+1), (g, c+8..c+9), (g+8, c+8..c+9);
      // B (16 x 8, K x N) holds (c..c+1, g), (c+8..c+9, g); the accumulator
      // (16 x 8) holds (g, c..c+1), (g+8, c..c+1).
      auto loadA = [&](function_ref<Value(Value, Value)> at) -> Value {
        SmallVector<Value> e;
        for (int64_t half : {0, 8})
          for (int64_t row : {0, 8})
            for (int64_t k : {0, 1})
              e.push_back(
                  at(add(group, index(row)), add(pair, index(half + k))));
        return vector::FromElementsOp::create(b, l,
                                              VectorType::get({4, 2}, f16), e);
      };
      auto loadB = [&](function_ref<Value(Value, Value)> at) -> Value {
        SmallVector<Value> e;
        for (int64_t half : {0, 8})
          for (int64_t k : {0, 1})
            e.push_back(at(add(pair, index(half + k)), group));
        return vector::FromElementsOp::create(b, l,
                                              VectorType::get({2, 2}, f16), e);
      };
      // Accumulator element k (0..3) is at (row(k), col(k)) of its tile.
      auto accRow = [&](int64_t k) { return add(group, index(k < 2 ? 0 : 8)); };
      auto accCol = [&](int64_t k) { return add(pair, index(k % 2)); };
      auto mma = [&](Value a, Value bv, ValueRange acc) -> SmallVector<Value> {
        Value c = vector::FromElementsOp::create(
            b, l, VectorType::get({2, 2}, f32), acc);
        Value d = nvgpu::MmaSyncOp::create(b, l, a, bv, c,
                                           ArrayRef<int64_t>{16, 8, 16});
        SmallVector<Value> out;
        for (int64_t k = 0; k < 4; ++k)
          out.push_back(vector::ExtractOp::create(
              b, l, d, ArrayRef<int64_t>{k / 2, k % 2}));
        return out;
      };
      // The product of 16 rows of `a` (from row `row`) by the 16 x 8 block
      // of `bm` at column `col`, over K = `k` (a multiple of 16, or the
      // dynamic `kEnd`), added to `acc`.
      using Element = function_ref<Value(Value, Value)>;
      auto product = [&](Element aAt, Element bAt, Value kEnd,
                         SmallVector<Value> acc) -> SmallVector<Value> {
        auto loop = scf::ForOp::create(
            b, l, index(0), kEnd, index(16), acc,
            [&](OpBuilder &, Location, Value k0, ValueRange acc) {
              Value a =
                  loadA([&](Value r, Value c) { return aAt(r, add(c, k0)); });
              Value bv =
                  loadB([&](Value r, Value c) { return bAt(add(r, k0), c); });
              scf::YieldOp::create(b, l, mma(a, bv, acc));
            });
        return SmallVector<Value>(loop.getResults());
      };
      auto zeros = [&] { return SmallVector<Value>(4, f32c(0.0)); };

      Value aHead = loadAs(b, l, arg(A), {hi}, f32);
      Value bias = arg(DtBias) ? loadAs(b, l, arg(DtBias), {hi}, f32) : Value();

      // The state tile of warp w: columns 8 (w + 4 t) of the 16 x N state.
      auto stateCol = [&](int64_t t, int64_t k) {
        return add(mul(add(warp, index(kWarps * t)), index(8)), accCol(k));
      };
      SmallVector<Value> h0;
      for (int64_t t = 0; t < stateTiles; ++t)
        for (int64_t k = 0; k < 4; ++k)
          h0.push_back(
              arg(Init)
                  ? loadAs(b, l, arg(Init),
                           {ri, hi, add(p0, accRow(k)), stateCol(t, k)}, f32)
                  : f32c(0.0));

      Value chunks = arith::CeilDivUIOp::create(b, l, length, index(q));
      auto chunkLoop = scf::ForOp::create(
          b, l, index(0), chunks, index(1), h0,
          [&](OpBuilder &, Location, Value chunk, ValueRange state) {
            Value t0 = mul(chunk, index(q));
            // Steps past L read as zero input with δ = 0: they add nothing
            // and decay nothing.
            auto stepOf = [&](Value j) { return add(t0, j); };
            // The previous chunk's products are done with workgroup memory.
            barrier();
            when(ult(tid, index(q)), [&] {
              Value t = stepOf(tid);
              auto delta = scf::IfOp::create(
                  b, l, ult(t, length),
                  [&](OpBuilder &, Location) {
                    scf::YieldOp::create(
                        b, l,
                        buildStepSize(
                            b, l, loadAs(b, l, arg(Dt), {ri, t, hi}, f32), bias,
                            op.getDtSoftplus(), op.getDtLimit()));
                  },
                  [&](OpBuilder &, Location) {
                    scf::YieldOp::create(b, l, f32c(0.0));
                  });
              store(delta.getResult(0), deltas, {tid});
            });
            forEach(
                tid, index(q * n), index(kWarps * gpu_lowering::kWarpSize),
                [&](Value i) {
                  Value j = arith::DivUIOp::create(b, l, i, index(n));
                  Value nn = arith::RemUIOp::create(b, l, i, index(n));
                  Value t = stepOf(j);
                  auto values = scf::IfOp::create(
                      b, l, ult(t, length),
                      [&](OpBuilder &, Location) {
                        scf::YieldOp::create(
                            b, l,
                            ValueRange{toF16(loadAs(b, l, arg(Cm),
                                                    {ri, t, gi, nn}, f32)),
                                       toF16(loadAs(b, l, arg(Bm),
                                                    {ri, t, gi, nn}, f32))});
                      },
                      [&](OpBuilder &, Location) {
                        Value zero = buildFloat(b, l, f16, 0.0);
                        scf::YieldOp::create(b, l, ValueRange{zero, zero});
                      });
                  store(values.getResult(0), cs, {j, nn});
                  store(values.getResult(1), bs, {j, nn});
                });
            // The state as the B operand of C hᵀ.
            for (int64_t t = 0; t < stateTiles; ++t)
              for (int64_t k = 0; k < 4; ++k)
                store(toF16(state[4 * t + k]), hs, {accRow(k), stateCol(t, k)});
            barrier();
            // cum: a running sum over at most 64 steps, in one thread.
            when(arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, tid,
                                       index(0)),
                 [&] {
                   scf::ForOp::create(
                       b, l, index(0), index(q), index(1),
                       ValueRange{f32c(0.0)},
                       [&](OpBuilder &, Location, Value j, ValueRange sum) {
                         Value next =
                             addf(sum[0], mulf(load(deltas, {j}), aHead));
                         store(next, cum, {j});
                         scf::YieldOp::create(b, l, next);
                       });
                 });
            barrier();
            Value cumLast = load(cum, {index(q - 1)});
            forEach(
                tid, index(q * kChannelTile),
                index(kWarps * gpu_lowering::kWarpSize), [&](Value i) {
                  Value j =
                      arith::DivUIOp::create(b, l, i, index(kChannelTile));
                  Value pp =
                      arith::RemUIOp::create(b, l, i, index(kChannelTile));
                  Value t = stepOf(j);
                  auto xv = scf::IfOp::create(
                      b, l, ult(t, length),
                      [&](OpBuilder &, Location) {
                        scf::YieldOp::create(
                            b, l,
                            loadAs(b, l, xb, {ri, t, hi, add(p0, pp)}, f32));
                      },
                      [&](OpBuilder &, Location) {
                        scf::YieldOp::create(b, l, f32c(0.0));
                      });
                  Value dx = mulf(load(deltas, {j}), xv.getResult(0));
                  Value w = math::ExpOp::create(
                      b, l,
                      arith::SubFOp::create(b, l, cumLast, load(cum, {j})));
                  store(toF16(dx), xs, {j, pp});
                  store(toF16(mulf(w, dx)), xw, {pp, j});
                });
            // M = C Bᵀ ∘ L, one 16 x 8 tile per warp at a time.
            forEach(warp, index((q / 16) * (q / 8)), index(kWarps),
                    [&](Value tile) {
                      Value r0 =
                          mul(arith::DivUIOp::create(b, l, tile, index(q / 8)),
                              index(16));
                      Value c0 =
                          mul(arith::RemUIOp::create(b, l, tile, index(q / 8)),
                              index(8));
                      SmallVector<Value> s = product(
                          [&](Value r, Value c) {
                            return load(cs, {add(r0, r), c});
                          },
                          [&](Value r, Value c) {
                            return load(bs, {add(c0, c), r});
                          },
                          index(n), zeros());
                      for (int64_t k = 0; k < 4; ++k) {
                        Value i = add(r0, accRow(k)), j = add(c0, accCol(k));
                        Value decay = math::ExpOp::create(
                            b, l,
                            arith::SubFOp::create(b, l, load(cum, {i}),
                                                  load(cum, {j})));
                        Value masked =
                            select(arith::CmpIOp::create(
                                       b, l, arith::CmpIPredicate::uge, i, j),
                                   mulf(s[k], decay), f32c(0.0));
                        store(toF16(masked), ms, {i, j});
                      }
                    });
            barrier();
            // Y = exp(cum_i) · C hᵀ + M δx: Q/16 x 2 tiles.
            forEach(warp, index(q / 8), index(kWarps), [&](Value tile) {
              Value rowTile = arith::DivUIOp::create(b, l, tile, index(2));
              Value r0 = mul(rowTile, index(16));
              Value c0 =
                  mul(arith::RemUIOp::create(b, l, tile, index(2)), index(8));
              SmallVector<Value> acc = product(
                  [&](Value r, Value c) {
                    return load(cs, {add(r0, r), c});
                  },
                  [&](Value r, Value c) {
                    return load(hs, {add(c0, c), r});
                  },
                  index(n), zeros());
              for (int64_t k = 0; k < 4; ++k)
                acc[k] = mulf(
                    acc[k],
                    math::ExpOp::create(b, l, load(cum, {add(r0, accRow(k))})));
              // M is lower triangular: its columns past the tile's last row
              // are zero.
              acc = product(
                  [&](Value r, Value c) {
                    return load(ms, {add(r0, r), c});
                  },
                  [&](Value r, Value c) {
                    return load(xs, {r, add(c0, c)});
                  },
                  add(r0, index(16)), acc);
              for (int64_t k = 0; k < 4; ++k) {
                Value t = stepOf(add(r0, accRow(k)));
                Value pp = add(p0, add(c0, accCol(k)));
                when(ult(t, length), [&] {
                  Value y = acc[k];
                  if (Value d = arg(Skip)) {
                    SmallVector<Value> at{hi};
                    if (cast<ShapedType>(d.getType()).getRank() == 2)
                      at.push_back(pp);
                    y = addf(y, mulf(loadAs(b, l, d, at, f32),
                                     loadAs(b, l, xb, {ri, t, hi, pp}, f32)));
                  }
                  if (Value gate = arg(Gate))
                    y = mulf(
                        y, buildSilu(b, l,
                                     loadAs(b, l, gate, {ri, t, hi, pp}, f32)));
                  storeAs(b, l, y, arg(Y), {ri, t, hi, pp});
                });
              }
            });
            // h' = exp(cum_last) h + (w ∘ δx)ᵀ B, in the warp's registers.
            Value total = math::ExpOp::create(b, l, cumLast);
            SmallVector<Value> next;
            for (int64_t t = 0; t < stateTiles; ++t) {
              SmallVector<Value> acc;
              for (int64_t k = 0; k < 4; ++k)
                acc.push_back(mulf(total, state[4 * t + k]));
              Value c0 = mul(add(warp, index(kWarps * t)), index(8));
              llvm::append_range(next, product(
                                           [&](Value r, Value c) {
                                             return load(xw, {r, c});
                                           },
                                           [&](Value r, Value c) {
                                             return load(bs, {r, add(c0, c)});
                                           },
                                           index(q), acc));
            }
            scf::YieldOp::create(b, l, next);
          });

      if (hasFinal)
        for (int64_t t = 0; t < stateTiles; ++t)
          for (int64_t k = 0; k < 4; ++k)
            storeAs(b, l, chunkLoop.getResult(4 * t + k), arg(FinalState),
                    {ri, hi, add(p0, accRow(k)), stateCol(t, k)});
    };

    KernelSpec spec{"ssd",
                    /*destinations=*/{},
                    outputs,
                    {op.getX(), op.getDt(), op.getA(), op.getB(), op.getC(),
                     op.getD(), op.getZ(), op.getDtBias(), op.getInit()},
                    kWarps * gpu_lowering::kWarpSize,
                    gridSize,
                    body};
    replaceWithKernel(rewriter, op, spec);
    return success();
  }
};

} // namespace

void gpu_lowering::populateChunkedSSDPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerChunkedSSD>(patterns.getContext());
}
