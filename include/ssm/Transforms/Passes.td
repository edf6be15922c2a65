//===- Passes.td - Transformations of the ssm dialect ------*- tablegen -*-===//
//
// Part of ssmc. Passes are declared here only; their options and
// registration are generated.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_PASSES_TD
#define SSM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SSMDecomposePass : Pass<"ssm-decompose"> {
  let summary = "rewrite selective_scan and ssd into discretize + scan + elementwise ops";
  let description = [{
    Spells out the model-level ops in terms of the core ones, as the
    semantic definition in IR (docs/semantics.md): biasing, softplus and
    clamping of the step size, broadcasts, layout changes and the output
    gate become `linalg.generic` ops; the discretization becomes
    `ssm.discretize`; the recurrence, with the skip connection and the
    initial and final states, becomes `ssm.scan`. Packed sequences given by
    `seq_idx`, or by `cu_seqlens` without states, become the scan's `reset`
    mask. An `ssm.ssd` with `cu_seqlens` and per-sequence states has no
    single-scan form and is left as it is.

    Groups stay affine: the channel (or head) dimension is split into
    (group, member) with `tensor.expand_shape`, so "channel d reads group
    d / (D / G)" is a projection of the iteration space.

    The result materializes `[B, L, D, N]` tensors: it states meaning, and
    is what optimizing lowerings must agree with, not what they emit.

    Before:

    ```mlir
    %y = ssm.selective_scan %u, %delta, %A, %B, %C delta_softplus
        : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<8x4xf32>,
           tensor<2x1x4x16xf32>, tensor<2x1x4x16xf32>) -> tensor<2x8x16xf32>
    ```

    After (abridged; `G = 1` group of `R = 8` channels):

    ```mlir
    %step = linalg.generic ... -> tensor<2x16x1x8xf32>     // softplus(delta)
    %abar, %bbar = ssm.discretize mamba %A5, %B5, %step5 : tensor<2x16x1x8x4xf32>
    %a = tensor.collapse_shape %abar [[0], [1], [2, 3], [4]] ...
    %y0 = ssm.scan forward %x, %a, %b, %c : (...) -> tensor<2x16x8xf32>
    %y = linalg.generic ... -> tensor<2x8x16xf32>          // back to [B, D, L]
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

def SSMToRecurrencePass : Pass<"ssm-to-recurrence"> {
  let summary = "rewrite scan, selective_scan, ssd and state_update into ssm.recurrence";
  let description = [{
    Every scan-like op becomes the core op `ssm.recurrence`: its operands
    keep their layouts (stated on the core op, so nothing is transposed or
    copied), and its per-step coefficients (step size, softplus, bias,
    clamps, the discretization rule, the skip and the gate) become the
    core op's region. Kernel forms are written once against the core op
    (docs/design.md). An `ssm.ssd`'s `algorithm` and `chunk_size` become
    the core op's `form` and `chunk_size`. A `linalg.transpose` that makes
    an input, or that is the one use of the output, becomes the core op's
    layout for that operand instead: a model written for mamba_ssm's
    `[B, D, L]` ops on token-major activations reads and writes them in
    place, with no strided copies.

    ```mlir
    %y = ssm.ssd %x, %dt, %A, %B, %C dt_softplus algorithm recurrent : ...
    // becomes
    %y = ssm.recurrence scalar forward log_decay
        ins(%x [b, t, (g, r), p], %dt [b, t, (g, r)], %A [(g, r)],
            %B [b, t, g, n], %C [b, t, g, n] : ...)
        outs(%y0 [b, t, (g, r), p] : ...) {
    ^bb0(%xe: f32, %dte: f32, %a: f32, %be: f32, %ce: f32):
      ...   // softplus(dt), dt * A, dt * x
      ssm.yield %logdecay, %value, %be, %ce, %zero : f32, f32, f32, f32, f32
    }
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def SSMMarkInPlaceArgumentsPass
    : Pass<"ssm-mark-in-place-arguments", "ModuleOp"> {
  let summary = "let bufferization write only the arguments ssm ops update in place";
  let description = [{
    Tensor arguments of a function have value semantics, but one-shot
    bufferization treats function arguments as writable and may reuse an
    input's buffer for a result (a scan's initial state for its final
    state, say), so a C caller would see its input overwritten. This pass
    marks every tensor argument of public functions
    `bufferization.writable = false`, except the destinations of
    `ssm.state_update` (`outs`), which are the point of the op: those are
    marked writable and `ssm.in_place`, an attribute that survives
    bufferization so the generated C header can say which buffers a call
    updates. Arguments that already carry `ssm.in_place` (a model's caches,
    which the importer updates through slices) are marked writable too.

    Example: after this pass

    ```mlir
    func.func @decode(%x: tensor<?x4xf32> {bufferization.writable = false},
                      %state: tensor<?x4x16xf32> {bufferization.writable = true,
                                                  ssm.in_place})
    ```
  }];
}

def SSMCallerOutputsPass : Pass<"ssm-caller-outputs", "ModuleOp"> {
  let summary = "let the caller own the outputs of entry points (destination passing)";
  let description = [{
    By default an entry point allocates each tensor result and the C
    caller frees it, an allocation and page faults per call. With this
    pass each tensor result of a public function becomes a trailing
    argument the caller passes and the call writes: its value is
    `bufferization.materialize_in_destination`'d into the new argument
    (writable, `ssm.in_place`, `ssm.output`, named after the result), and
    empty-tensor elimination then lets the computation write the caller's
    buffer directly; after bufferization `ssm-drop-argument-results`
    removes the results, so the function returns nothing. A dynamic size
    of an output must equal the result's: it is checked when the function
    runs (`cf.assert`, like `ssm-insert-shape-checks`). A result that is
    already an argument updated in place (a decode step's state) is left
    as it is. Functions called inside the module keep their signature.

    Before:

    ```mlir
    func.func @f(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
      %y = ... : tensor<?x8xf32>
      return %y : tensor<?x8xf32>
    }
    ```

    After:

    ```mlir
    func.func @f(%x: tensor<?x8xf32>, %y_out: tensor<?x8xf32> {bufferization.writable = true,
                 ssm.in_place, ssm.output}) -> tensor<?x8xf32> {
      %y = ... : tensor<?x8xf32>
      // cf.assert that dim 0 of %y and %y_out agree
      %w = bufferization.materialize_in_destination %y in %y_out
          : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
      return %w : tensor<?x8xf32>
    }
    ```
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::tensor::TensorDialect"];
}

def SSMDropArgumentResultsPass : Pass<"ssm-drop-argument-results", "ModuleOp"> {
  let summary = "drop memref results of functions that are one of their arguments";
  let description = [{
    After bufferization, a function that updates a destination in place
    (the decode step's state) returns the argument it wrote. Returned to a
    C caller, such a result would have to be a copy the caller owns (the
    deallocation pipeline inserts `bufferization.clone`), so an in-place
    update would copy the whole state at every step. The caller already
    holds that buffer: this pass removes such results from functions that
    no call in the module uses, public ones included, which changes their
    C signature (the generated header reflects it). Upstream
    `drop-equivalent-buffer-results` leaves public functions alone.

    Before:

    ```mlir
    func.func @decode(%x: memref<4xf32>, %state: memref<4x16xf32>)
        -> memref<4x16xf32> {
      ...
      return %state : memref<4x16xf32>
    }
    ```

    After:

    ```mlir
    func.func @decode(%x: memref<4xf32>, %state: memref<4x16xf32>) {
      ...
      return
    }
    ```
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def SSMCheckInputPass : Pass<"ssm-check-input", "ModuleOp"> {
  let summary = "refuse valid IR that the lowerings or LLVM cannot take safely";
  let description = [{
    The first pass of every ssmc pipeline. Some IR verifies but would crash
    a later pass or LLVM itself, or silently link against the wrong code.
    This pass reports such IR with its location and fails:

    - A function whose name is reserved: the C math and memory functions
      that lowered code calls (`expf`, `log1pf`, `malloc`, `memcpy`, ...)
      and the prefixes of the runtime and of MLIR's generated symbols
      (`ssm_`, `mgpu`, `_mlir_`, `__`, `_ZGV`). A kernel called `expf`
      would capture the calls of every vectorized exponential.
    - `tensor.dim` or `memref.dim` with a constant index outside
      `[0, rank)`: undefined behaviour that some upstream folds assert on.

    ```mlir
    func.func @expf(%x: tensor<?xf32>) -> tensor<?xf32> { ... }
    // error: function name 'expf' is reserved: it is the C library's
    //        (generated code calls it); rename the function
    ```
  }];
}

def SSMCheckArgumentShapesPass
    : Pass<"ssm-check-argument-shapes", "ModuleOp"> {
  let summary = "check at entry that a caller's buffers have the static sizes of the signature";
  let description = [{
    A memref descriptor carries its sizes whatever the type says, and code
    compiled for `memref<4x8xf32>` trusts the type: called with a buffer
    of 3 rows it reads and writes out of bounds. For each public function
    with a body, this pass gives every identity-layout memref argument with
    a static size a fully dynamic type (the same C descriptor), casts it
    back at entry, and asserts each static size first; the checks stop the
    call with a message naming the function, the argument (its `ssm.name`
    where the header has one) and the size expected (reported by
    `ssm-lower-asserts`). Calls of the function inside the module pass
    their buffers through a cast. Runs after the C header is written, so
    the header still shows the static sizes.

    ```mlir
    func.func @f(%x: memref<4x8xf32>) { ... uses of %x ... }
    // becomes
    func.func @f(%arg: memref<?x?xf32>) {
      %d0 = memref.dim %arg, %c0 : memref<?x?xf32>
      %ok0 = arith.cmpi eq, %d0, %c4 : index
      cf.assert %ok0, "f.mlir:1:1: @f: argument 'x' dimension 0 is not 4"
      ...
      %x = memref.cast %arg : memref<?x?xf32> to memref<4x8xf32>
      ... uses of %x ...
    }
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::memref::MemRefDialect"];
}

def SSMInsertShapeChecksPass : Pass<"ssm-insert-shape-checks"> {
  let summary = "check at run time the shape relations dynamic sizes left open";
  let description = [{
    The verifiers relate the operands of each op through named dimensions
    (B, L, D, N, H, P, G, W ...); a dynamic size matches anything at compile
    time. Before each such op, this pass inserts a `cf.assert` for every
    relation that involves a dynamic size: equal sizes for one name,
    `W - 1` for a convolution's state, `S + 1` entries of `cu_seqlens` for
    `S` per-sequence states, and channels (or heads) a positive multiple of
    the groups. The relations are taken from the verifiers themselves, so
    the two never disagree. A compiled kernel called with inconsistent
    sizes stops with a message naming the op, its source location
    (file:line:col, or for an op built by the model importer the
    transformers module it computes), and the two operand dimensions that
    disagree, instead of reading out of bounds.

    ```mlir
    %y = ssm.selective_scan %u, %delta, ... : (tensor<?x?x?xf32>, ...)
    // becomes
    %0 = tensor.dim %u, %c2
    %1 = tensor.dim %delta, %c2
    %2 = arith.cmpi eq, %1, %0 : index
    cf.assert %2, "model.mlir:7:8: ssm.selective_scan: operand 'delta' dimension 2 (L) does not match operand 'u' dimension 2"
    %y = ssm.selective_scan ...
    ```

    The contents of `cu_seqlens` and `seq_idx` are not checked.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::tensor::TensorDialect"];
}

def SSMSelectAlgorithmPass : Pass<"ssm-select-algorithm"> {
  let summary = "configure each ssm.recurrence for the CPU: its kernel form and tile";
  let description = [{
    The configuration step of the CPU pipeline, run on the core op after
    `ssm-to-recurrence`; lowerings only read what it records:

    - `form`: where the op has none and can take the chunked form (a scalar
      transition given as `log_decay`, forward, with a time dimension and
      no `reset`: Mamba-2's SSD), `recurrent` or `chunked`. An op that
      already has a form keeps it (an `ssm.ssd`'s `algorithm` becomes its
      form). With `force=recurrent` or `force=chunked` every such op gets
      that form; with `force=auto` (the default) a cost model chooses per
      op and shape. Both forms compute the same map, so the choice is about
      speed only.
    - `tile`: the state rows `p` one work item owns: a whole head for a
      scalar transition (its decay is one number per step and head, and
      the head's rows are contiguous), 16 rows (one AVX-512 vector of f32)
      for a diagonal one. Not recorded for a scalar transition of dynamic P
      (a whole head of any size).

    The cost model estimates the time per (row, head) and time step of each
    form as the lowerings of `convert-ssm-to-scf` run on one CPU core, from
    the head dimension P, the state size N, the chunk length
    q = min(chunk_size, L) (chunk_size when L is dynamic), in ns:

    - recurrent: `P·N·κr + τr` from P = 8 (the head's P channels as one
      vector; κr = 0.032, τr = 37 per step for the decay, the coefficients
      and the output), times 1.7 for heads wider than 64 channels, 1.7 for
      a state of more than 32 KiB (it leaves L1), 1.18 when the sequence's
      B and C (2·L·N·4 bytes) outgrow L2 (1 MiB); below P = 8 scalar
      loops, `P·N·0.175`.
    - chunked: `P'·N·(κs + κc/q) + (q + 1)·(N + P')·κq·m + τc`, P' being P
      rounded up to whole vectors (16 f32). κs = 0.0143 per element of the
      state (C·h and the update); κc = 0.192 per element once per chunk
      (the state's trip through the cache between the heads of a work
      item, its decay); κq = 0.0136 for the intra-chunk products, for each
      step (q + 1)/2 dot products C_i·B_j of length N and as many updates
      of length P; τc = 48.8 per step. m = max(1, q·(N + P')·4 / 64 KiB)
      (64 KiB fitted) accounts for the chunk's rows of B and x no longer
      staying in L1, which is what makes long chunks slow. Times 1.1 when B
      and C outgrow L2: a work item reads a chunk of them once for a block
      of heads.

    The constants are least-squares fits (relative error) to times of both
    lowerings on this project's development machine (docs/performance.md,
    "The cost model"), H = 48, L = 512, P from 4 to 128, N from 16 to 256,
    chunks of 8 to 64: within 15 % for P ≥ 16 and N ≥ 64 (the recurrence's
    slowdowns are ratios of single measurements). At the
    bench shape (P = 64, N = 128) with chunks of 16 the forms are within
    5 % at L = 512 (0.037 ns per (h, p, n, t) recurrent, 0.035 chunked),
    where the model keeps the recurrence, and the chunked form is 12 %
    faster at L = 4096 (0.044 against 0.038), where it takes it; heads of
    128 channels take the chunked form (0.107 against 0.034), heads of 32
    channels or fewer the recurrence. An op whose P or N is dynamic stays
    recurrent: the model has nothing to weigh.

    Before:

    ```mlir
    %y = ssm.ssd %x, %dt, %A, %B, %C {chunk_size = 64 : i64}
        : (tensor<1x512x48x64xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
           tensor<1x512x1x128xf32>, tensor<1x512x1x128xf32>)
        -> tensor<1x512x48x64xf32>
    ```

    After:

    ```mlir
    %y = ssm.ssd %x, %dt, %A, %B, %C algorithm chunked {chunk_size = 64 : i64}
        : ...
    ```
  }];
  let options = [
    Option<"force", "force", "::mlir::ssm::SSDAlgorithmChoice",
           /*default=*/"::mlir::ssm::SSDAlgorithmChoice::automatic",
           "which form ops without an algorithm get: auto (the cost model), "
           "recurrent or chunked",
           [{::mlir::ssm::ssdAlgorithmValues()}]>
  ];
}

def SSMTileRecurrencesPass : Pass<"ssm-tile-recurrences"> {
  let summary = "split each ssm.recurrence, transpose and elementwise or row op into independent work items (scf.forall)";
  let description = [{
    Tiles every `ssm.recurrence` through its TilingInterface into an
    `scf.forall` whose iterations are the CPU forms' work items, the
    destinations of the op being the loop's `shared_outs`: one per row
    (batch row; all packed sequences of a row with `cu_seqlens`), group and
    head, and per `tile` state rows when the op records one
    (`ssm-select-algorithm`); the chunked form's work item is a block of
    whole heads of a group, so that its chunks read the group's B and C
    once for the block: at most 4 heads, but at least 8 work items per
    batch row where the heads allow (the pool's thread count is only known
    at run time), blocks as even as the heads allow (48 heads in one group:
    12 blocks of 4; 30: 7 of 4 and one of 2; 24: 8 of 3; 8 or fewer: one
    head each). Each
    iteration holds the same op on slices of the operands, which the kernel
    forms of `convert-ssm-to-scf` lower unchanged. The loop is what runs on
    the runtime's thread pool (`ssm-parallel-to-runtime`) or, without it,
    becomes an `scf.for` (`scf-forall-to-for`).

    A `linalg.transpose` on tensors (what is left of them after
    `ssm-to-recurrence` folded those around the core ops into layouts, and
    those around an `ssm.causal_conv1d` that `convert-ssm-to-scf` reads
    and writes through) is tiled the same way, into blocks
    of 16 along each dimension it moves and 1 along each it keeps: a block
    reads and writes 16 whole cache lines, where the whole copy walked one
    side with the stride of a row (a cache miss per element at
    [512, 1536]).

    The other linalg ops on tensors (elementwise ops, row reductions such
    as a norm's sum of squares) are tiled into row blocks along their first
    parallel loop with more than one iteration, each block at least 4096
    iterations of the other loops, so that they too run on the pool.
    Contractions stay whole for `matmul-to-blas`, and so do fills, which it
    reads as a product's beta = 0; an op that fits one block stays as it
    is. An input that is also the op's destination through the same
    indexing map (a residual added in place) is read from the loop's
    shared output, which keeps it in place through bufferization.

    Before tiling, a destination-style op's result that is read collapsed
    (a model's [B, L, H, P] core-op output read as [B·L, H·P] rows), whose
    destination is a `tensor.empty` of its own, gets that destination
    allocated collapsed and expanded for the op: after bufferization the
    readers of the rows get the buffer itself, not a collapsed view of a
    4-d one, which LLVM reads through a division per element and cannot
    vectorize on a work item's buffers (which it cannot prove apart).

    Before:

    ```mlir
    %y, %h = ssm.recurrence scalar forward log_decay tile 64 ins(...)
        outs(%y0 [b, t, (g, r), p], %h0 [b, (g, r), p, n] : ...) {...}
    ```

    After (abridged):

    ```mlir
    %y, %h = scf.forall (%b, %g, %r, %p) = (0, 0, 0, 0) to (%B, 1, 24, 64)
        step (1, 1, 1, 64) shared_outs(%ys = %y0, %hs = %h0) -> (...) {
      %x1 = tensor.extract_slice %x[%b, 0, %r, %p] [1, %L, 1, 64] [1, 1, 1, 1]
      ...
      %y1, %h1 = ssm.recurrence scalar forward log_decay tile 64 ins(%x1 ...)
          outs(%ys1 [b, t, (g, r), p], %hs1 [b, (g, r), p, n] : ...) {...}
      scf.forall.in_parallel {
        tensor.parallel_insert_slice %y1 into %ys[%b, 0, %r, %p] [1, %L, 1, 64] [1, 1, 1, 1]
        tensor.parallel_insert_slice %h1 into %hs[...]
      }
    }
    ```
  }];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def SSMSelectGPUAlgorithmPass : Pass<"ssm-select-gpu-algorithm"> {
  let summary = "configure each ssm.recurrence for a GPU: form, chunk length, tile and span order";
  let description = [{
    The configuration step of the GPU pipeline, the twin of
    `ssm-select-algorithm`: run on the core op after `ssm-to-recurrence`,
    it records how the kernels of `convert-ssm-to-gpu` compute each op, and
    those only read it. An op that has a GPU configuration (a form other
    than chunked, or `spans`) keeps it; ops that cannot take the chunked
    form (a diagonal transition, no time dimension: the decode form) get
    nothing. For the others:

    - `form`: `chunked` when the op asks for it (an `ssm.ssd`'s `algorithm
      chunked`) or has no form and a dynamic length or at least 128 steps
      (a prefill); shorter static sequences take the recurrent form, whose
      4x more blocks have no chunk to fill first (a guess: neither kernel
      has been timed on a GPU). An op outside the chunked kernels' limits
      becomes `recurrent` whatever it asked for (both compute the same
      map): keys and queries per (step, entry), values per (step, channel);
      f32 arithmetic; P static and a multiple of 16; N static, a multiple
      of 32 and at most 256; static groups and heads (the state-passing
      kernel splits the head index).
    - `tile` and `chunk_size`: with `chip=sm_90a`, the wgmma kernel (64 head
      channels per block, chunks of 64) where P is a multiple of 64 and the
      op's chunk_size allows 64; otherwise the mma.sync kernel, 16 head
      channels per block and chunks of 64 or 32, the larger that is at most
      the op's chunk_size (ssm.ssd's default is 256) and whose tiles fit 48
      KB of static workgroup memory (64 up to N = 96; 128 would need more
      for any N). The chunk length changes rounding only.
    - `spans`: `parallel` (spans of 256 steps at once: span states, state
      passing, span outputs, three kernels) or `sequential` (one kernel
      walks a row's chunks carrying the state), as `ssd-chunks` says. Its
      default, `auto`, takes the parallel form unless the op has
      `cu_seqlens` (packed sequences are always walked), its static length
      is at most one span, or the static rows x heads x channel tiles make
      264 blocks or more (two H100s' worth of 132 SMs: with fewer blocks
      the one kernel leaves SMs idle; a guess, nothing was timed).

    Before (`chip=sm_90a`):

    ```mlir
    %y = ssm.recurrence scalar forward log_decay chunk_size 256
        ins(%x [b, t, (g, r), p], ...) outs(%y0 [b, t, (g, r), p] : ...) {...}
    ```

    After, with 24 heads of 64 channels and a dynamic length:

    ```mlir
    %y = ssm.recurrence scalar forward log_decay form chunked chunk_size 64
        tile 64 spans parallel ins(...) outs(...) {...}
    ```
  }];
  let options = [
    Option<"chip", "chip", "::mlir::ssm::GPUChip",
           /*default=*/"::mlir::ssm::GPUChip::sm_80",
           "NVIDIA architecture the kernels are for",
           [{::mlir::ssm::gpuChipValues()}]>,
    Option<"ssdChunks", "ssd-chunks", "::mlir::ssm::SSDChunkOrder",
           /*default=*/"::mlir::ssm::SSDChunkOrder::Automatic",
           "how the chunked SSD covers a row's chunks",
           [{::mlir::ssm::ssdChunkOrderValues()}]>
  ];
}

def SSMStridedCopiesToLinalgPass
    : Pass<"ssm-strided-copies-to-linalg", "func::FuncOp"> {
  let summary = "turn memref.copy between non-contiguous views into linalg.copy";
  let description = [{
    MLIR lowers `memref.copy` between identity-layout buffers to a memcpy,
    but a copy from or into a strided view (a cache slice of one layer,
    say) to a call of `memrefCopy` from MLIR's C runner library, which
    generated code does not link. This pass rewrites those copies as
    `linalg.copy`, which `convert-linalg-to-loops` turns into a loop nest.

    ```mlir
    memref.copy %a, %s : memref<?x256x3xf32> to memref<?x256x3xf32, strided<[1536, 3, 1]>>
    // becomes
    linalg.copy ins(%a : memref<?x256x3xf32>) outs(%s : memref<?x256x3xf32, strided<[1536, 3, 1]>>)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def SSMFreeDeviceTemporariesPass
    : Pass<"ssm-free-device-temporaries", "func::FuncOp"> {
  let summary = "free device buffers that hold intermediate results";
  let description = [{
    `convert-ssm-to-gpu` allocates the results of ops without destinations
    in device memory (`gpu.alloc`). A result returned by the function goes
    to the caller, who frees it; one consumed inside the function (the
    convolution's output feeding a scan, say) is freed here, by a
    `gpu.dealloc` after its last use. Launches are ordered on the
    function's stream (`gpu-async-region`) and the runtime's
    `mgpuMemFree` waits for that stream before freeing, so no kernel still
    reads the buffer. Buffers used in other blocks or passed to calls are
    left alone (and then refused by ssmc's buffer check).

    ```mlir
    %a = gpu.alloc (%n) : memref<?x64x8xf32>
    gpu.launch_func @ssm_kernels::@f_conv ... args(..., %a : memref<?x64x8xf32>)
    gpu.launch_func @ssm_kernels::@f_conv_0 ... args(%a : memref<?x64x8xf32>, ...)
    // added:
    gpu.dealloc %a : memref<?x64x8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def SSMInlineMathPass : Pass<"ssm-inline-math", "func::FuncOp"> {
  let summary = "replace f32 exp, expm1, log and log1p by inline polynomials";
  let description = [{
    On the CPU, a `math.exp` left as a call of `expf` keeps its loop scalar
    unless LLVM knows a vector variant (libmvec on x86-64 Linux, and only
    for the loops it vectorizes); and a vector call spills every vector
    value live across it to the stack, where an unaligned caller's frame
    makes the slots straddle cache lines. This pass rewrites the f32
    transcendental functions the kernels use (exp, expm1, log, log1p) into
    MLIR's polynomial approximations (range reduction, a polynomial, the
    exponent put back with integer operations): plain arithmetic, which
    LLVM vectorizes with the loop around it and keeps in registers. Their
    error is a few ulp (libm's is under one); the numeric tests'
    tolerances are unchanged. f64 keeps libm.

    ```mlir
    %e = math.exp %x : f32
    // becomes (abridged)
    %k = math.floor ...      // x / ln 2, rounded down
    %p = math.fma ...        // the polynomial on x − k ln 2
    %e = arith.mulf %p, %two_to_k : f32   // 2^k built from k's bits
    ```

    With `scale-exponent` (ssmc sets it for targets with AVX-512), f32 exp
    is written so that the exponent goes back with `llvm.intr.ldexp`, one
    `vscalefps` there: the argument clamped to [-104, 89] (NaN kept),
    k = roundeven(x log2 e), r = x - k ln 2 in two parts, a degree-7
    polynomial for e^r (Cephes' expf), ldexp(p, k). About 15 vector
    operations instead of 20; the same 4-ulp sweep holds
    (test/Driver/inline-math.mlir). Elsewhere ldexp would be a libm call.
  }];
  let options = [
    Option<"scaleExponent", "scale-exponent", "bool", /*default=*/"false",
           "f32 exp puts its exponent back with llvm.ldexp (for AVX-512)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // SSM_TRANSFORMS_PASSES_TD
