//===- SSMOps.td - Operations of the ssm dialect -----------*- tablegen -*-===//
//
// Part of ssmc. Every op states its shapes in its description; the verifiers
// in dialects/SSM/IR/SSMOps.cpp check each relation whose sides are static.
// docs/semantics.md is the normative definition of what each op computes.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SSMOPS_TD
#define SSM_DIALECT_SSM_IR_SSMOPS_TD

include "ssm/Dialect/SSM/IR/SSMDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/TilingInterface.td"

//===----------------------------------------------------------------------===//
// discretize
//===----------------------------------------------------------------------===//

def SSM_DiscretizeOp : SSM_Op<"discretize",
    [Pure, AllTypesMatch<["A", "B", "delta", "abar", "bbar"]>]> {
  let summary = "turns a continuous diagonal system and a step into a discrete one";
  let description = [{
    Elementwise over diagonal systems: every element of `A`, `B` and `delta`
    is one (a, b, Δ) triple. Callers broadcast first (for example a per-head
    scalar `A` or a per-channel `Δ`), so the op itself has a single shape.

    | method     | Abar                  | Bbar                              |
    |------------|-----------------------|-----------------------------------|
    | `zoh`      | exp(ΔA)               | (exp(ΔA) − 1)/(ΔA) · ΔB           |
    | `bilinear` | (1 + ΔA/2)/(1 − ΔA/2) | ΔB / (1 − ΔA/2)                   |
    | `euler`    | 1 + ΔA                | ΔB                                |
    | `mamba`    | exp(ΔA)               | ΔB                                |

    Example:

    ```mlir
    %abar, %bbar = ssm.discretize zoh %A, %B, %delta : tensor<?x64x16xf32>
    ```
  }];
  let arguments = (ins SSM_DiscretizationAttr:$method, SSM_FloatTensor:$A,
                   SSM_FloatTensor:$B, SSM_FloatTensor:$delta);
  let results = (outs SSM_FloatTensor:$abar, SSM_FloatTensor:$bbar);
  let assemblyFormat = [{
    $method $A `,` $B `,` $delta attr-dict `:` type($A)
  }];
}

//===----------------------------------------------------------------------===//
// scan
//===----------------------------------------------------------------------===//

def SSM_ScanOp : SSM_Op<"scan", [Pure, AttrSizedOperandSegments]> {
  let summary = "linear recurrence h_t = Abar_t ⊙ h_{t-1} + Bbar_t x_t, y_t = C_t · h_t + D x_t";
  let description = [{
    The discrete linear recurrence that every SSM reduces to, over already
    discretized operands. Shapes:

    - `x`: `[B, L, D]`
    - `abar`, `bbar`, `c`: each either time-varying `[B, L, D, N]` or
      time-invariant `[D, N]`
    - optional `d` (skip) `[D]`, `init` `[B, D, N]`, `reset` `[B, L]` (`i1`)
    - results `y` `[B, L, D]` and optionally `final_state` `[B, D, N]`

    `reset[b, t]` cuts the sequence between steps `t − 1` and `t` (the state
    restarts from zero there), so packed variable-length batches are one scan.
    `reverse` scans from `t = L − 1` down to `0` (bidirectional models use one
    scan each way). The final state is the state after the last step processed.

    Example:

    ```mlir
    %y, %h = ssm.scan forward %x, %abar, %bbar, %c skip(%d) init(%h0)
        : (tensor<?x?x64xf32>, tensor<?x?x64x16xf32>, tensor<?x?x64x16xf32>,
           tensor<?x?x64x16xf32>, tensor<64xf32>, tensor<?x64x16xf32>)
        -> (tensor<?x?x64xf32>, tensor<?x64x16xf32>)
    ```
  }];
  let arguments = (ins SSM_DirectionAttr:$direction,
                   SSM_FloatTensor:$x, SSM_FloatTensor:$abar,
                   SSM_FloatTensor:$bbar, SSM_FloatTensor:$c,
                   Optional<SSM_FloatTensor>:$d,
                   Optional<SSM_FloatTensor>:$init,
                   Optional<SSM_MaskTensor>:$reset);
  let results = (outs SSM_FloatTensor:$y,
                 Optional<SSM_FloatTensor>:$final_state);
  let assemblyFormat = [{
    $direction $x `,` $abar `,` $bbar `,` $c
    (`skip` `(` $d^ `)`)? (`init` `(` $init^ `)`)? (`reset` `(` $reset^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// selective_scan
//===----------------------------------------------------------------------===//

def SSM_SelectiveScanOp : SSM_Op<"selective_scan",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "Mamba-1 selective scan (S6) with fused discretization, D and z";
  let description = [{
    Mamba-1's selective SSM in mamba_ssm's layout:

    - `u`, `delta`: `[B, D, L]`; `A`: `[D, N]`
    - `B`, `C`: selective `[B, G, N, L]` or fixed `[D, N]`; channel `d` reads
      group `d / (D / G)`, so `D` must be a multiple of `G`
    - optional `D` `[D]` (skip), `z` `[B, D, L]` (gate),
      `delta_bias` `[D]`, `init` `[B, D, N]`
    - results `y` `[B, D, L]` and optionally `final_state` `[B, D, N]`

    Per element: `δ = delta + delta_bias`, `δ = softplus(δ)` when
    `delta_softplus` is set; `(Abar, Bbar) = discretize(method, A, B, δ)`
    (`method` defaults to `mamba`: Abar = exp(δA), Bbar = δB);
    `h = Abar ⊙ h + Bbar·u`; `y = C·h + D·u`; `y *= silu(z)` when `z` is
    given. `ssm-decompose` rewrites the op into exactly these steps.

    Example:

    ```mlir
    %y, %last = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) gate(%z)
        delta_bias(%db) delta_softplus
        : (tensor<?x1536x?xbf16>, tensor<?x1536x?xbf16>, tensor<1536x16xf32>,
           tensor<?x1x16x?xbf16>, tensor<?x1x16x?xbf16>, tensor<1536xf32>,
           tensor<?x1536x?xbf16>, tensor<1536xf32>)
        -> (tensor<?x1536x?xbf16>, tensor<?x1536x16xf32>)
    ```
  }];
  let arguments = (ins SSM_FloatTensor:$u, SSM_FloatTensor:$delta,
                   SSM_FloatTensor:$A, SSM_FloatTensor:$B, SSM_FloatTensor:$C,
                   Optional<SSM_FloatTensor>:$D,
                   Optional<SSM_FloatTensor>:$z,
                   Optional<SSM_FloatTensor>:$delta_bias,
                   Optional<SSM_FloatTensor>:$init,
                   UnitAttr:$delta_softplus,
                   OptionalAttr<SSM_DiscretizationAttr>:$method);
  let results = (outs SSM_FloatTensor:$y,
                 Optional<SSM_FloatTensor>:$final_state);
  let assemblyFormat = [{
    $u `,` $delta `,` $A `,` $B `,` $C
    (`skip` `(` $D^ `)`)? (`gate` `(` $z^ `)`)?
    (`delta_bias` `(` $delta_bias^ `)`)? (`init` `(` $init^ `)`)?
    (`delta_softplus` $delta_softplus^)? (`method` $method^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// The discretization rule, `mamba` when the attribute is absent.
    Discretization getDiscretization() {
      return getMethod().value_or(Discretization::mamba);
    }
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// ssd
//===----------------------------------------------------------------------===//

def SSM_SSDOp : SSM_Op<"ssd", [Pure, AttrSizedOperandSegments]> {
  let summary = "Mamba-2 state-space duality layer (scalar A per head)";
  let description = [{
    Mamba-2's SSM in mamba_ssm's `mamba_chunk_scan_combined` layout:

    - `x`: `[B, L, H, P]`; `dt`: `[B, L, H]`; `A`: `[H]`
    - `B`, `C`: `[B, L, G, N]`; head `h` reads group `h / (H / G)`
    - optional `D` `[H]` or `[H, P]`, `z` `[B, L, H, P]`, `dt_bias` `[H]`,
      `init`, and at most one of `seq_idx` `[B, L]` or `cu_seqlens`
      `[S + 1]` (`i32`/`i64`) for packed variable-length batches
    - results `y` `[B, L, H, P]` and optionally `final_state`; states are
      `[B, H, P, N]`, or `[S, H, P, N]` (one per sequence) with `cu_seqlens`,
      which requires `B = 1`

    `δ = clamp(softplus?(dt + dt_bias), dt_limit)`, then per head the
    recurrence `h = exp(δA)·h + δ·x ⊗ B`, `y = h·C + D·x`, gated by `silu(z)`.
    `chunk_size` picks the block length of the chunked (matmul) algorithm;
    it does not change the result.

    `algorithm` says how lowerings compute the op: `recurrent` (the
    recurrence, one step at a time) or `chunked` (state-space duality:
    matmuls inside chunks of `chunk_size` steps and a recurrence over the
    chunk states). Both compute the same map up to rounding. When absent,
    nothing has been chosen yet; `ssm-select-algorithm` chooses by a cost
    model (docs/performance.md).

    Example:

    ```mlir
    %y, %hT = ssm.ssd %x, %dt, %A, %B, %C skip(%D) dt_bias(%dtb) dt_softplus
        algorithm chunked {chunk_size = 128 : i64}
        : (tensor<?x?x24x64xf32>, tensor<?x?x24xf32>, tensor<24xf32>,
           tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>, tensor<24xf32>,
           tensor<24xf32>) -> (tensor<?x?x24x64xf32>, tensor<?x24x64x128xf32>)
    ```
  }];
  let arguments = (ins SSM_FloatTensor:$x, SSM_FloatTensor:$dt,
                   SSM_FloatTensor:$A, SSM_FloatTensor:$B, SSM_FloatTensor:$C,
                   Optional<SSM_FloatTensor>:$D,
                   Optional<SSM_FloatTensor>:$z,
                   Optional<SSM_FloatTensor>:$dt_bias,
                   Optional<SSM_FloatTensor>:$init,
                   Optional<SSM_IndexTensor>:$seq_idx,
                   Optional<SSM_IndexTensor>:$cu_seqlens,
                   UnitAttr:$dt_softplus,
                   OptionalAttr<DenseF64ArrayAttr>:$dt_limit,
                   DefaultValuedAttr<I64Attr, "256">:$chunk_size,
                   OptionalAttr<SSM_SSDAlgorithmAttr>:$algorithm);
  let results = (outs SSM_FloatTensor:$y,
                 Optional<SSM_FloatTensor>:$final_state);
  let assemblyFormat = [{
    $x `,` $dt `,` $A `,` $B `,` $C
    (`skip` `(` $D^ `)`)? (`gate` `(` $z^ `)`)?
    (`dt_bias` `(` $dt_bias^ `)`)? (`init` `(` $init^ `)`)?
    (`seq_idx` `(` $seq_idx^ `)`)? (`cu_seqlens` `(` $cu_seqlens^ `)`)?
    (`dt_softplus` $dt_softplus^)? (`dt_limit` custom<DtLimit>($dt_limit)^)?
    (`algorithm` $algorithm^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// causal_conv1d
//===----------------------------------------------------------------------===//

def SSM_CausalConv1dOp : SSM_Op<"causal_conv1d",
    [Pure, AttrSizedOperandSegments,
     DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>]> {
  let summary = "depthwise causal 1-D convolution with optional bias, SiLU and state";
  let description = [{
    `out[b,c,t] = bias[c] + Σ_k weight[c,k] · x̃[b,c,t − W + 1 + k]`, where
    `x̃` is `x` preceded by `init_state` (the last `W − 1` inputs of the
    previous call; zeros when absent), then SiLU when
    `activation = silu`. Any width `W ≥ 1`.

    - `x`: `[B, C, L]`; `weight`: `[C, W]`; optional `bias` `[C]`,
      `init_state` `[B, C, W − 1]`
    - results `out` `[B, C, L]` and optionally `final_state`
      `[B, C, W − 1]` (the last `W − 1` entries of `x̃`)

    Example:

    ```mlir
    %out, %s = ssm.causal_conv1d %x, %w bias(%b) init_state(%s0) silu
        : (tensor<?x1536x?xf32>, tensor<1536x4xf32>, tensor<1536xf32>,
           tensor<?x1536x3xf32>) -> (tensor<?x1536x?xf32>, tensor<?x1536x3xf32>)
    ```
  }];
  let arguments = (ins SSM_FloatTensor:$x, SSM_FloatTensor:$weight,
                   Optional<SSM_FloatTensor>:$bias,
                   Optional<SSM_FloatTensor>:$init_state,
                   DefaultValuedAttr<SSM_ActivationAttr,
                                     "::mlir::ssm::Activation::none">:$activation);
  let results = (outs SSM_FloatTensor:$out,
                 Optional<SSM_FloatTensor>:$final_state);
  let assemblyFormat = [{
    $x `,` $weight (`bias` `(` $bias^ `)`)?
    (`init_state` `(` $init_state^ `)`)? custom<Activation>($activation)
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// state_update
//===----------------------------------------------------------------------===//

def SSM_StateUpdateOp : SSM_Op<"state_update", [Pure,
    AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<DestinationStyleOpInterface>,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "one decoding step of Mamba-1 or Mamba-2, updating the state in place";
  let description = [{
    Advances the recurrent state of `selective_scan` (Mamba-1) or `ssd`
    (Mamba-2) by one token and emits that token's output. The op is in
    destination-passing style: `outs(%state, %y_init)` are its destinations
    and its results are tied to them, so after bufferization the new state
    is written over the buffer of `%state` (the in-place update decoding
    needs) and `y` into that of `%y_init`, whose values are never read.

    The form follows the rank of `state`:

    - Mamba-1: `state [B, D, N]`, `x [B, D]`, `dt [B, D]`, `A [D, N]`,
      `B`/`C` `[B, G, N]`, optional `D [D]`, `z [B, D]`, `dt_bias [D]`;
      `y [B, D]`.
    - Mamba-2: `state [B, H, P, N]`, `x [B, H, P]`, `dt [B, H]`, `A [H]`,
      `B`/`C` `[B, G, N]`, optional `D [H]` or `[H, P]`, `z [B, H, P]`,
      `dt_bias [H]`; `y [B, H, P]`.

    Discretization is Mamba's rule; `dt_softplus` and `dt_limit` act as on
    `ssm.ssd`.

    Example:

    ```mlir
    %h1, %y = ssm.state_update ins(%x, %dt, %A, %B, %C
        : tensor<?x24x64xf32>, tensor<?x24xf32>, tensor<24xf32>,
          tensor<?x1x128xf32>, tensor<?x1x128xf32>)
        skip(%D : tensor<24xf32>) dt_softplus
        outs(%h0, %y0 : tensor<?x24x64x128xf32>, tensor<?x24x64xf32>)
    ```
  }];
  let arguments = (ins SSM_FloatTensor:$x, SSM_FloatTensor:$dt,
                   SSM_FloatTensor:$A, SSM_FloatTensor:$B, SSM_FloatTensor:$C,
                   Optional<SSM_FloatTensor>:$D,
                   Optional<SSM_FloatTensor>:$z,
                   Optional<SSM_FloatTensor>:$dt_bias,
                   SSM_FloatTensor:$state, SSM_FloatTensor:$y_init,
                   UnitAttr:$dt_softplus,
                   OptionalAttr<DenseF64ArrayAttr>:$dt_limit);
  let results = (outs SSM_FloatTensor:$new_state, SSM_FloatTensor:$y);
  let assemblyFormat = [{
    `ins` `(` $x `,` $dt `,` $A `,` $B `,` $C `:` type($x) `,` type($dt) `,`
        type($A) `,` type($B) `,` type($C) `)`
    (`skip` `(` $D^ `:` type($D) `)`)? (`gate` `(` $z^ `:` type($z) `)`)?
    (`dt_bias` `(` $dt_bias^ `:` type($dt_bias) `)`)?
    (`dt_softplus` $dt_softplus^)? (`dt_limit` custom<DtLimit>($dt_limit)^)?
    `outs` `(` $state `,` $y_init `:` type($state) `,` type($y_init) `)`
    attr-dict
  }];
  let extraClassDeclaration = [{
    /// True for the Mamba-2 form (a `[B, H, P, N]` state).
    bool isMamba2() { return getState().getType().getRank() == 4; }
  }];
  let hasVerifier = 1;
}


//===----------------------------------------------------------------------===//
// packed_matmul, packed_gather (weights stored in 16 bits or quantized)
//===----------------------------------------------------------------------===//

// A ranked tensor (before bufferization) or memref (after).
def SSM_RankedTensorOrMemRef : AnyTypeOf<[AnyRankedTensor, AnyMemRef]>;

class SSM_PackedOp<string mnemonic> : SSM_Op<mnemonic, [
    DeclareOpInterfaceMethods<DestinationStyleOpInterface>,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let extraClassDeclaration = [{
    /// Rows and columns (n, k) of the packed matrix.
    std::pair<int64_t, int64_t> getMatrixShape();
  }];
  let hasVerifier = 1;
}

def SSM_PackedMatmulOp : SSM_PackedOp<"packed_matmul"> {
  let summary = "product with a packed weight matrix: out = init + x · Wᵀ";
  let description = [{
    `out[m, i] = init[m, i] + Σ_j x[m, j] · W[i, j]`, where the weight
    matrix `W [N, K]` (the layout of a PyTorch Linear weight) is stored in
    `packed` in `format`: bf16 or f16 elements, or blocks of 32 elements
    quantized to 8 (`q8_0`) or 4 (`q4_0`) bits with one f16 scale each.
    runtime/include/ssm/model_abi.h defines the byte layouts; `packed` is a
    1-D tensor or memref whose bytes are exactly those of the layout (its
    element type only sets the unit: bytes, or the 4-byte words of a
    weights buffer). This is how `ssmc --weight-type` keeps a model's large
    matrices in less than 32 bits: the elements are decoded where they are
    used, never written out as f32.

    - `x`: `[M, K]` f32; `init` and the result: `[M, N]` f32
    - `packed`: the bytes of `W [N, K]` in `format`; q8_0 and q4_0 need `K`
      to be a multiple of 32.

    In destination-passing style: on tensors the result is tied to `init`;
    on memrefs (after bufferization) the op has no result and accumulates
    into `init`, and the CPU lowering calls the runtime's
    `ssm_kernel_packed_matmul`.

    Example:

    ```mlir
    %y = ssm.packed_matmul q8_0 ins(%x, %w : tensor<?x768xf32>, tensor<151104xf32>)
        outs(%zeros : tensor<?x3072xf32>) -> tensor<?x3072xf32>
    ```
  }];
  let arguments = (ins SSM_WeightFormatAttr:$format,
                   SSM_RankedTensorOrMemRef:$x, SSM_RankedTensorOrMemRef:$packed,
                   SSM_RankedTensorOrMemRef:$init);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $format `ins` `(` $x `,` $packed `:` type($x) `,` type($packed) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
}

def SSM_PackedGatherOp : SSM_PackedOp<"packed_gather"> {
  let summary = "rows of a packed table: out[m, :] = W[ids[m], :]";
  let description = [{
    Reads the rows `ids` of the matrix `W [rows, K]` stored in `packed` in
    `format` (see `ssm.packed_matmul`), decoded to f32: an embedding lookup
    in a packed embedding table. An id outside `[0, rows)` is an error at
    run time.

    - `ids`: `[M]` i64; `init` and the result: `[M, K]` f32 (`init` is
      only written)

    Example:

    ```mlir
    %e = ssm.packed_gather q8_0 rows 50280 ins(%w, %ids
        : tensor<9895104xf32>, tensor<?xi64>)
        outs(%empty : tensor<?x768xf32>) -> tensor<?x768xf32>
    ```
  }];
  let arguments = (ins SSM_WeightFormatAttr:$format, I64Attr:$rows,
                   SSM_RankedTensorOrMemRef:$packed,
                   SSM_RankedTensorOrMemRef:$ids, SSM_RankedTensorOrMemRef:$init);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $format `rows` $rows `ins` `(` $packed `,` $ids `:` type($packed) `,`
    type($ids) `)` `outs` `(` $init `:` type($init) `)` attr-dict
    (`->` type($result)^)?
  }];
}

//===----------------------------------------------------------------------===//
// recurrence (the core every scan-like op is rewritten into)
//===----------------------------------------------------------------------===//

def SSM_RecurrenceOp : SSM_Op<"recurrence", [Pure, AttrSizedOperandSegments,
    SingleBlock, IsolatedFromAbove,
    DeclareOpInterfaceMethods<DestinationStyleOpInterface>,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
    DeclareOpInterfaceMethods<TilingInterface, ["getLoopIteratorTypes",
        "getIterationDomain", "getTiledImplementation", "getResultTilePosition"]>]> {
  let summary = "a linear recurrence over time with per-step coefficients computed in a region";
  let description = [{
    The core representation of every linear recurrence ssmc compiles
    (`ssm-to-recurrence` rewrites `ssm.scan`, `ssm.selective_scan`,
    `ssm.ssd` and `ssm.state_update` into it; docs/design.md). Kernel forms
    (the recurrent loop, the single-step decode, …) are written once against
    this op for each target.

    **Iteration space.** Six named dimensions: `b` (batch row, or packed
    sequence with `cu_seqlens`), `t` (time), `g` (group), `r` (head within
    the group), `p` (state row) and `n` (state entry). Every tensor operand
    has a *layout*: for each of its dimensions, the core dimensions it
    stores, row-major when several are merged (`(g, r)` is the head index
    `g·R + r`). A dimension that no layout names has extent 1 (a decode step
    has no `t`). Per (b, g, r) the state is a `P × N` matrix `h`:

        h[p, n] ← a · h[p, n] + Σ_i value_i · key_i    (a: the decay)
        y[p]     = (Σ_n query · h[p, n] + skip) · gate

    with `terms R` input terms (i = 1 … R; one when absent): a rank-R
    update when each value_i depends on p and each key_i on n.

    **Coefficients.** The region computes them from one scalar per input
    (the element at the current point of the iteration space, in the compute
    type: f64 if any operand stores f64, else f32) and yields `decay`,
    `value_1`, `key_1`, … `value_R`, `key_R`, `query`, `skip` and
    optionally `gate`. What a yielded
    value depends on follows from the layouts of the inputs it reads;
    lowerings evaluate each region value once at the outermost loop where
    its dimensions are fixed. The transition is `scalar` (the decay may not
    depend on `p` or `n`: one per step and head, Mamba-2) or `diagonal`
    (one per (p, n)). With `log_decay` the region yields log a (what the
    chunked form needs). `skip` and `gate` may not depend on `n`.

    **The previous step.** An input marked `previous` after its layout
    (which must name `t`) gives the region its element at the step
    processed before the current one — `t − 1` forward, `t + 1` reverse —
    of the same sequence, and 0 at a step that has none: the first of its
    row or packed sequence, or the first after a `reset` or a change of
    `seq_idx`. A trapezoidal discretization's term from the previous step
    (Mamba-3) is an input term built from such inputs; one tensor may be
    passed twice, once read at the current step and once at the previous.

    **Destinations.** `outs(%y_init [, %state])`: `y` is written over
    `%y_init` (whose values are not read); `%state`, when present, holds the
    initial state and receives the final one (layout `b, g, r, p, n`, no
    `t`). Without it the state starts at zero and is not returned.

    **Form.** `form recurrent|chunked`, `chunk_size N`, `tile N` and
    `spans sequential|parallel` record how a lowering computes the op, as
    the configuration step (`ssm-select-algorithm` for the CPU,
    `ssm-select-gpu-algorithm` for a GPU) chose it. `tile` is the number of
    state rows `p` one work item owns: on the CPU (absent: a whole head),
    and on the GPU the head channels of a block of the chunked kernels (16:
    mma.sync, 64: wgmma). Forms: `recurrent` (one step at a time) or
    `chunked` (state-space duality: matmuls inside chunks of `chunk_size`
    steps and a recurrence over the chunk states; needs a scalar transition
    given as `log_decay`, forward, without `reset`, with one input term
    and no `previous` input). `spans`, only with the
    chunked form, is how the GPU covers a row's chunks: `sequential` (one
    kernel walks them in order, carrying the state) or `parallel` (spans of
    256 steps at once, then a pass over the spans' states; not with
    `cu_seqlens`, whose sequences are walked in order). Absent, lowerings
    take the recurrent form (the decode form when there is no time
    dimension). The form never changes the result beyond rounding.

    **Segments.** At most one of `reset` (`[b, t]` i1: the state restarts
    from zero between steps `t − 1` and `t`), `seq_idx` (`[b, t]`: it
    restarts where the index changes) or `cu_seqlens` (`[S + 1]`: row `b` of
    the state is packed sequence `b`, steps `cu_seqlens[b] ≤ t <
    cu_seqlens[b + 1]` of batch row 0).

    Example (Mamba-2's SSD, one group):
    ```mlir
    %y, %h = ssm.recurrence scalar forward log_decay
        ins(%x [b, t, (g, r), p], %dt [b, t, (g, r)], %A [(g, r)],
            %B [b, t, g, n], %C [b, t, g, n]
            : tensor<?x?x24x64xf32>, tensor<?x?x24xf32>, tensor<24xf32>,
              tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>)
        outs(%y0 [b, t, (g, r), p], %h0 [b, (g, r), p, n]
            : tensor<?x?x24x64xf32>, tensor<?x24x64x128xf32>) {
    ^bb0(%xe: f32, %dte: f32, %a: f32, %be: f32, %ce: f32):
      %ld = arith.mulf %dte, %a : f32
      %v = arith.mulf %dte, %xe : f32
      %zero = arith.constant 0.0 : f32
      ssm.yield %ld, %v, %be, %ce, %zero : f32, f32, f32, f32, f32
    }
    ```

    A trapezoidal step, h ← a·h + β·(x_prev ⊗ B_prev) + γ·(x ⊗ B), as two
    input terms (`%x` and `%B` are passed twice):
    ```mlir
    %y = ssm.recurrence scalar forward terms 2
        ins(%x [b, t, (g, r), p], %x [b, t, (g, r), p] previous,
            %B [b, t, g, n], %B [b, t, g, n] previous, %C [b, t, g, n],
            %a [b, t, (g, r)], %beta [b, t, (g, r)], %gamma [b, t, (g, r)]
            : ...)
        outs(%y0 [b, t, (g, r), p] : ...) {
    ^bb0(%xe: f32, %xp: f32, %be: f32, %bp: f32, %ce: f32, %ae: f32,
         %beta_e: f32, %gamma_e: f32):
      %v0 = arith.mulf %beta_e, %xp : f32
      %v1 = arith.mulf %gamma_e, %xe : f32
      %zero = arith.constant 0.0 : f32
      ssm.yield %ae, %v0, %bp, %v1, %be, %ce, %zero
          : f32, f32, f32, f32, f32, f32, f32
    }
    ```
  }];
  let arguments = (ins Variadic<SSM_FloatTensor>:$inputs,
                   Optional<SSM_MaskTensor>:$reset,
                   Optional<SSM_IndexTensor>:$seq_idx,
                   Optional<SSM_IndexTensor>:$cu_seqlens,
                   SSM_FloatTensor:$y_init,
                   Optional<SSM_FloatTensor>:$state,
                   SSM_TransitionAttr:$transition,
                   SSM_DirectionAttr:$direction,
                   UnitAttr:$log_decay,
                   ArrayAttr:$layouts,
                   OptionalAttr<SSM_RecurrenceFormAttr>:$form,
                   OptionalAttr<I64Attr>:$chunk_size,
                   OptionalAttr<I64Attr>:$tile,
                   OptionalAttr<SSM_SpanOrderAttr>:$spans,
                   OptionalAttr<I64Attr>:$terms,
                   OptionalAttr<DenseI64ArrayAttr>:$previous);
  let results = (outs SSM_FloatTensor:$y,
                 Optional<SSM_FloatTensor>:$final_state);
  let regions = (region SizedRegion<1>:$body);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The core dimensions, in the order layouts number them.
    enum Dim : unsigned { kB = 0, kT, kG, kR, kP, kN, kNumDims };
    /// The layout of tensor operand `operand` (an input, `y_init` or
    /// `state`): per operand dimension, the core dimensions it merges.
    SmallVector<SmallVector<unsigned, 2>> getLayout(OpOperand &operand);
    /// The yield of the region.
    YieldOp getYield();
    /// Bit set of the core dimensions each region value depends on, for
    /// every value of the region (block arguments included).
    llvm::DenseMap<Value, unsigned> computeDependences();
    /// Whether every input term is value(p) ⊗ key(n) and the readout
    /// query(n): no value depends on n, no key and not the query on p. The
    /// chunked forms (matrix products over p and n) and the CPU's
    /// explicit-vector heads rely on it.
    bool hasOuterProductTerms();
    /// The number of input terms R (`terms`, 1 when absent).
    unsigned getNumTerms() { return getTerms() ? *getTerms() : 1; }
    /// Whether input `index` is read at the previous step.
    bool readsPrevious(unsigned index) {
      return getPrevious() && llvm::is_contained(*getPrevious(), index);
    }
    /// Whether the chunked form can compute the op (the verifier refuses
    /// `form chunked` otherwise; configuration steps never choose it).
    bool allowsChunkedForm();
    /// The extent of every core dimension where the operand types fix it
    /// (ShapedType::kDynamic elsewhere; 1 for a dimension no layout names).
    /// With `cu_seqlens`, `b` is the batch of the inputs (1), not the
    /// number of sequences.
    SmallVector<int64_t> getStaticExtents();
    /// The operand and dimension an extent is read from: the first single
    /// (unmerged) use of `dim` outside the state, or, for a dimension only
    /// ever merged, the first group whose other members have such a use
    /// (then the extent is that size divided by theirs).
    struct ExtentSource {
      OpOperand *operand = nullptr;
      int64_t operandDim = -1;
      SmallVector<unsigned, 2> divideBy;
    };
    std::optional<ExtentSource> getExtentSource(unsigned dim);
    /// The compute type: that of the region's arguments and yields.
    Type getComputeType();
    /// The chunk length of the chunked form: `chunk_size`, or ssm.ssd's
    /// default (256) when the op names none.
    int64_t getChunkLength() {
      return getChunkSizeAttr() ? getChunkSizeAttr().getInt() : 256;
    }
    /// Whether any layout names dimension `dim`.
    bool hasDim(unsigned dim);
  }];
}

def SSM_YieldOp : SSM_Op<"yield", [Pure, Terminator, ReturnLike,
    HasParent<"RecurrenceOp">]> {
  let summary = "the per-step coefficients of ssm.recurrence";
  let description = [{
    Yields, in order, `decay` (or its logarithm with `log_decay`), the
    `value` and `key` of each input term, `query`, `skip` and optionally
    `gate`, all in the compute type.
  }];
  let arguments = (ins Variadic<AnyFloat>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
  let extraClassDeclaration = [{
    enum Role : unsigned { kDecay = 0, kValue, kKey, kQuery, kSkip, kGate };
    /// The value of `role` (kValue and kKey: of the first input term);
    /// null for an absent gate.
    Value getRole(Role role);
    /// The role of yielded value `position` (kValue or kKey for every
    /// input term's).
    Role getRoleOf(unsigned position);
    /// Input term `i`: its value and key.
    std::pair<Value, Value> getTerm(unsigned i) {
      return {getOperand(1 + 2 * i), getOperand(2 + 2 * i)};
    }
  }];
}

#endif // SSM_DIALECT_SSM_IR_SSMOPS_TD
