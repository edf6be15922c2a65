//===- Passes.td - Conversions out of the ssm dialect ------*- tablegen -*-===//
//
// Part of ssmc. Conversions are declared here only; their options and
// registration are generated.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_PASSES_TD
#define SSM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSSMToSCFPass : Pass<"convert-ssm-to-scf"> {
  let summary = "lower the core ssm ops to linalg and scf loops on tensors";
  let description = [{
    Lowers every ssm op to loops on tensors, before bufferization.
    `ssm.discretize` becomes an elementwise `linalg.generic`. The scan-like
    ops become `ssm.recurrence` (the patterns of `ssm-to-recurrence`), which
    takes the kernel form its configuration names (`ssm-select-algorithm`;
    absent, the recurrent form), each written once for every recurrence:

    - recurrent: a loop over work items (row x head x tile of `tile` state
      rows, a row being a batch row or, with `cu_seqlens`, one packed
      sequence with its own state); the item's state `[N, tile]` lives in a
      scratch buffer in the compute type; per time step the region's
      coefficients are computed at the loop level they depend on (the step
      size once per step and head, exp(δ·A) per state element), and every
      innermost loop runs over the tile's state rows with unit stride, so
      LLVM vectorizes across them with no horizontal sums, and no
      `[B, L, D, N]` tensor exists (unlike `ssm-decompose`).
    - decode (no time dimension): one pass over the state, read and written
      in its destination, so the new state is stored in place.
    - chunked (state-space duality): a loop over (row, group) units
      around loops over chunks of `chunk_size` steps and, in each chunk,
      over the unit's heads, that compute the cumulative log-decay, the
      intra-chunk product (C Bᵀ ∘ decay) X, the contribution C·h of the
      state each chunk starts from, and the state passed on. A chunk's
      C Bᵀ is computed once for all its heads unless the region makes the
      keys or queries depend on the head.

    The loop over work items has one iteration for each tile that
    `ssm-tile-recurrences` made (which then run in parallel).
    `ssm.causal_conv1d` becomes an `scf.forall` over (batch, channel) rows
    with its destinations as `shared_outs`; the left history of a row
    comes from the carried state. A convolution between transposes from
    and to tokens-major `[B, L, C]` tensors (`linalg.transpose` with
    permutation `[0, 2, 1]` on x, and as out's one use: a model's layout)
    reads and writes those tensors instead, and the transposes go: its
    work items are blocks of 64 channels of a batch row, each step a loop
    over the block's channels (contiguous, so LLVM vectorizes it), the
    taps' weights copied once per item to a `[W, 64]` scratch.
    `ssm-tile-recurrences` leaves those two transposes whole for it.

    Arithmetic is carried out in f32 (f64 when an operand is f64); states
    kept across steps stay in that type and are rounded to the storage type
    once, when returned.

    Together with `ssm-decompose` this gives every model-level op an
    executable meaning; the numeric tests run both against the reference
    evaluator.

    Before:

    ```mlir
    %y = ssm.scan forward %x, %a, %b, %c
        : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>,
           tensor<4x16xf32>) -> tensor<2x8x4xf32>
    ```

    After (abridged):

    ```mlir
    %r:2 = scf.for %b = %c0 to %c2 step %c1 iter_args(%y0 = %empty, %h0 = %zero) {
      scf.for %d ... {
        scf.for %t ... {
          %x = tensor.extract %x[%b, %t, %d]
          scf.for %n ... iter_args(%h = ..., %acc = ...) {
            // h' = a * h + b * x;  acc += c * h'
          }
          tensor.insert %acc into %y[%b, %t, %d]
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

def MatmulToBLASPass : Pass<"ssm-matmul-to-blas", "::mlir::ModuleOp"> {
  let summary = "send f32 matrix products to the runtime's BLAS";
  let description = [{
    On bufferized IR, rewrites each `linalg.matmul` on f32 memrefs whose
    operands have unit inner strides, with the plain maps (C = A B) or with
    B transposed (C = A Bᵀ, a weight stored `[out, in]`, as every dense
    projection of a language model is), into a call to
    ```c
    void ssm_kernel_sgemm(int trans_b, int64_t m, int64_t n, int64_t k,
                          const float *a, int64_t lda, const float *b,
                          int64_t ldb, float beta, float *c, int64_t ldc);
    ```
    which libssm_runtime forwards to the CBLAS it opens at run time
    (OpenBLAS by default, `SSM_BLAS` to choose; docs/runtime.md). `beta` is
    1: the product accumulates into C as linalg.matmul does, except after a
    `linalg.fill` of zeros into the same C with nothing touching memory in
    between: then `beta` is 0 and the fill goes. Other matmuls
    are left to the loop lowering. Run it after bufferization and before
    `convert-linalg-to-loops`; the code then links against the runtime.

    The memref forms of `ssm.packed_matmul` and `ssm.packed_gather` (weights
    in bf16, f16, q8_0 or q4_0) become calls of the runtime's
    `ssm_kernel_packed_matmul` and `ssm_kernel_packed_gather`, which decode
    the weights in registers or in cache-sized blocks (docs/runtime.md); a
    packed op still on tensors here is an error.

    Before:
    ```mlir
    linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>]
        ins(%x, %w : memref<?x64xf32>, memref<128x64xf32>)
        outs(%y : memref<?x128xf32>)
    ```
    After (abridged):
    ```mlir
    %pa = llvm.inttoptr %xaddr : i64 to !llvm.ptr   // base + offset of %x
    call @ssm_kernel_sgemm(%c1_i32, %m, %c128, %c64, %pa, %c64, %pw, %c64,
                           %one, %py, %c128)
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def ConvertSSMToGPUPass : Pass<"convert-ssm-to-gpu", "::mlir::ModuleOp"> {
  let summary = "lower ssm ops to GPU kernels (gpu.func + gpu.launch_func)";
  let description = [{
    Replaces each ssm op that has a GPU lowering by a launch of a kernel of
    its own, a `gpu.func` in the module's `gpu.module @ssm_kernels` (one
    module, so a target gets one PTX file). It runs on tensors, before
    one-shot bufferization: the op's operands are bridged to buffers with
    `bufferization.to_buffer` (read-only for inputs; writable for the
    destinations, so that the state of `ssm.state_update` is updated in its
    own buffer, or in a copy where bufferization finds the old state still
    used), and its results become `bufferization.to_tensor` of the
    destination buffers. Scan-like ops become `ssm.recurrence` first; the
    kernels of a recurrence follow its configuration (form, chunk length,
    tile, span order) as `ssm-select-gpu-algorithm` recorded it, and ops
    it did not configure get that pass's defaults for `chip` here. Results without a destination, and destinations
    made by `tensor.empty` (whose values are undefined), are allocated in
    device memory (`gpu.alloc`) and belong to the caller. Kernels index with `index` values (64-bit after
    `convert-gpu-to-nvvm`) and compute in f32 (f64 for f64 operands),
    whatever the storage type (f16, bf16, f32).

    - `ssm.state_update` (Mamba-1 and Mamba-2): one warp per state row, a
      (batch, channel) or a (batch, head, head channel), 4 warps per block.
      Lane `l` owns entries `l, l + 32, ...` of the row's N states: when N is
      static, a multiple of 32 and at most 256, the lane loads all of them
      into registers before updating any; otherwise it loops over them. The
      step size (dt bias, softplus, dt_limit) and exp(δ·A) are computed in
      registers; C·h is summed across the warp with `gpu.shuffle xor`, and
      lane 0 adds D·x, applies the silu(z) gate and writes y.

    - `ssm.causal_conv1d`: one thread per (batch, channel, step), steps
      fastest (coalesced), 256 threads per block, over max(L, W − 1) steps
      per channel: each thread sums its W taps over x preceded by the
      carried state, adds the bias and applies SiLU; the threads of the
      first W − 1 steps also write the final state. Its results have no
      destination operand: they are allocated in device memory
      (`gpu.alloc`) and belong to the caller.

    - `ssm.selective_scan` (Mamba-1): a parallel scan across time, one warp
      per (batch, channel), 4 per block. Time goes in rounds of 256 steps,
      lane `l` owning the 8 consecutive steps from `8 l`. Loads and stores
      along time are coalesced (lane `l` at step `32 j + l`) and reach the
      lanes' chunks through the warp's row of workgroup memory (between
      `gpu.barrier`s; warps past the last channel recompute it and store
      nothing, so that every thread reaches them). Per state index n
      each lane discretizes its steps in registers (softplus, exp(δ·A)),
      composes them into one pair (Π Ā, h from zero), and an inclusive warp
      scan over the pairs with `gpu.shuffle up` gives it the state entering
      its steps from the state carried into the round (`init` or zero at
      first); it re-runs its steps from there, accumulating C·h into its 8
      outputs, and lane 31's last state is carried to the next round. D·u
      and the silu(z) gate are applied before y is stored; the final state
      is stored after the last round. The carried state is spread over the
      lanes (lane `l` holds n = l, l + 32, ...): N must be static and at
      most 256. Any of the four discretization rules (`mamba`, `zoh`,
      `bilinear`, `euler`).

    - `ssm.ssd` (Mamba-2), recurrent form (`form recurrent`): one
      warp per (row, head, head channel), a row being a batch row or a
      packed sequence of `cu_seqlens`, 4 per block; lane `l` carries the
      state entries `l, l + 32, ...` in registers through the time loop (N
      static, at most 256), each step discretizes, updates them, sums C·h
      with `gpu.shuffle xor`, and lane 0 writes y (D, gate); `seq_idx`
      restarts the state, `init` and the final state are read and written
      once.

    - `ssm.ssd` in the chunked form (state-space duality on tensor cores;
      `form chunked` with `tile 16`: the mma.sync kernel): one block of 4
      warps per (row, head, 16 head channels), a row being a batch row or a
      `cu_seqlens` sequence, walks the sequence in chunks of Q =
      `chunk_size` steps (64 or 32, within 48 KB of workgroup memory); per
      chunk it computes δ and the cumulative log-decay, the
      masked scores M = C Bᵀ ∘ exp(cum_i − cum_j), the outputs
      y = exp(cum_i)·C hᵀ + M·(δx) (then D, gate) and the next state
      exp(cum_last)·h + (w ∘ δx)ᵀ B, every product with `nvgpu.mma.sync`
      m16n8k16 (f16 operands in workgroup memory, f32 accumulation); the
      16 x N state tile stays in the warps' accumulators from one chunk to
      the next. With `seq_idx`, the thread that sums the decay also marks
      each step's segment (where its sequence began in the chunk, or -1
      while the carried state's goes on), and terms across segments are
      dropped.

    - With `tile 64` (`chip=sm_90a`), the same per block of 64 head
      channels in chunks of 64, every product one warpgroup-wide wgmma.

    - The chunks of a chunked `ssm.ssd` run in order in that one kernel
      (`spans sequential`), or spans of 256 steps in parallel in three
      (`spans parallel`): span states (a block per
      row, span, head and channel tile walks the span's chunks from a zero
      state: the span's state, and the product of its chunks' decays of
      the entering state, into f32 device buffers [B, spans, H, P, N] and
      [B, spans, H]), state passing (a thread per state entry runs
      h = decay · h + state over the spans, storing each span's entering
      state in place and the final state) and span outputs (y of each
      chunk of the span from the span's entering state).

    Any other ssm op left in the module is an error naming the op and its
    location (and, for a scan or SSD outside those limits, why): the GPU
    pipeline has no other way to run it.

    Before:

    ```mlir
    %h1, %y = ssm.state_update ins(%x, %dt, %A, %B, %C : ...)
        outs(%h0, %y0 : tensor<?x24x64x128xf32>, tensor<?x24x64xf32>)
    ```

    After (abridged):

    ```mlir
    %h = bufferization.to_buffer %h0 : tensor<?x24x64x128xf32> to memref<?x24x64x128xf32>
    %xb = bufferization.to_buffer %x read_only : ...
    gpu.launch_func @ssm_kernels::@decode_state_update
        blocks in (%grid, %c1, %c1) threads in (%c128, %c1, %c1)
        args(%h : memref<?x24x64x128xf32>, %yb : ..., %xb : ..., ...)
    %h1 = bufferization.to_tensor %h restrict writable : ...
    ...
    gpu.module @ssm_kernels {
      gpu.func @decode_state_update(%h: memref<?x24x64x128xf32>, ...) kernel
          attributes {known_block_size = array<i32: 128, 1, 1>} {
        // item = block_id * 4 + thread_id / 32, lane = thread_id % 32
        // h'[n] = exp(δ·A)·h[n] + δ·x·B[n] for the lane's n; acc += C[n]·h'[n]
        // five gpu.shuffle xor steps; lane 0: y = acc + D·x, y *= silu(z)
      }
    }
    ```
  }];
  let options = [
    Option<"chip", "chip", "::mlir::ssm::GPUChip",
           /*default=*/"::mlir::ssm::GPUChip::sm_80",
           "NVIDIA architecture the kernels are for",
           [{::mlir::ssm::gpuChipValues()}]>
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

def ParallelToRuntimePass : Pass<"ssm-parallel-to-runtime", "::mlir::ModuleOp"> {
  let summary = "run scf.forall loops on the runtime's thread pool";
  let description = [{
    Work items run in parallel as the iterations of an `scf.forall`
    (`ssm-tile-recurrences` makes one per recurrence, a lowering may build
    one directly). On bufferized IR, this pass numbers the iterations of each
    outermost `scf.forall` in row-major order of its induction variables,
    outlines the body into a private function `@<caller>_parallel(ctx, lo,
    hi)` that runs iterations `[lo, hi)`, and replaces the loop by a call to
    the runtime:

    ```c
    ssm_parallel_for(0, count, /*grain=*/1, body, &captures);
    ```

    `captures` is a struct on the caller's stack holding every value the
    loop reads from above (memref descriptors, sizes, scalars), stored in
    the layout the LLVM lowering gives those types; constants are cloned
    into the body instead. The generated code then needs `libssm_runtime`
    at link time, and takes its thread count from `SSM_NUM_THREADS` or
    `ssm_set_num_threads` (see runtime/include/ssm/runtime.h).

    An `scf.forall` nested in another runs inside one work item, and one
    whose captured values include a type with no LLVM form stays a serial
    loop; `scf-forall-to-for` turns both into `scf.for` nests. Run it after
    bufferization and before `convert-scf-to-cf`.

    Before:

    ```mlir
    scf.forall (%i, %j) in (%m, %n) {
      memref.store %v, %out[%i, %j] : memref<?x?xf32>
    }
    ```

    After (abridged):

    ```mlir
    func.func @f(...) {
      %frame = llvm.alloca %one x !llvm.struct<(f32, struct<(ptr, ptr, i64, ...)>)>
      // store %v, %out's descriptor and %n into %frame
      %body = constant @f_parallel : (!llvm.ptr, i64, i64) -> ()
      call @ssm_parallel_for(%c0_i64, %count, %c1_i64, %body, %frame)  // count = m·n
    }
    func.func private @f_parallel(%ctx: !llvm.ptr, %lo: i64, %hi: i64) {
      // load %v, %out and %n back from %ctx
      scf.for %k = %lo to %hi step %c1 {
        // %i = %k / %n, %j = %k mod %n
        memref.store %v, %out[%i, %j]
      }
    }
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

def LowerAssertsPass : Pass<"ssm-lower-asserts", "::mlir::ModuleOp"> {
  let summary = "what a failed cf.assert check does: abort with a message, return a status, or nothing";
  let description = [{
    Replaces each `cf.assert %ok, "message"` (the run-time checks of
    `ssm-insert-shape-checks`, `ssm-check-argument-shapes` and
    `ssm-caller-outputs`) by a branch on `%ok`. Runs on control flow
    (after `convert-scf-to-cf`), so every check sits in its function's CFG.

    - `on-failure=abort` (the default): the failing branch writes the
      message and a newline to file descriptor 2 with `write` and calls
      `abort`. Upstream's lowering prints with `puts`, whose buffered output
      `abort` discards when stdout is not a terminal. Needs only libc.
    - `on-failure=status`: in a public function (an entry point), the
      failing branch records the message with libssm_runtime's
      `ssm_set_error` (status `SSM_ERROR_INVALID_ARGUMENT`) and returns
      before the function reads or writes anything else. A function with
      results returns new buffers for them, of size 0 in each dynamic
      dimension, which the caller frees as after any call (`device-results`,
      set for GPU host code: allocated with `gpu.alloc` on a stream of their
      own, freed with `ssm_cuda_free`). Every such
      function calls `ssm_clear_error` on entry, so after a call
      `ssm_last_error()` is empty if and only if the call succeeded. A
      check anywhere else (a private function, the body of a parallel loop)
      still aborts.
    - `on-failure=none`: the checks are removed.

    ```mlir
    cf.assert %ok, "f.mlir:3:8: ssm.ssd: operand 'B' dimension 1 (L) does not match operand 'x' dimension 1"
    // on-failure=status becomes
    cf.cond_br %ok, ^continue, ^failed
    ^failed:
      %m = llvm.mlir.addressof @ssm_check_0 : !llvm.ptr
      llvm.call @ssm_set_error(%c1, %format, %m) vararg(...) : (i32, !llvm.ptr, !llvm.ptr) -> i32
      return
    ^continue:
    ```
  }];
  let options = [
    Option<"onFailure", "on-failure", "::mlir::ssm::CheckFailure",
           /*default=*/"::mlir::ssm::CheckFailure::abort",
           "what a failed check does",
           [{::mlir::ssm::checkFailureValues()}]>,
    Option<"deviceResults", "device-results", "bool", /*default=*/"false",
           "results are GPU buffers (--target=cuda host code): a failed "
           "check returns empty ones from gpu.alloc, which callers free "
           "with ssm_cuda_free like any result">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::gpu::GPUDialect"];
}

#endif // SSM_CONVERSION_PASSES_TD
