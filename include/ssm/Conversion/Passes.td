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
    The straightforward lowering of the core ops and of the model ops that
    have a direct loop form, on tensors, before bufferization: `ssm.discretize` becomes an elementwise
    `linalg.generic`; `ssm.selective_scan` a loop nest over (b, d, t, n)
    with the step size, discretization, skip and gate computed inside it (no
    `[B, L, D, N]` tensor, unlike `ssm-decompose`); `ssm.scan` a loop nest
    over (b, d, t, n) that carries
    the output and the state as loop-carried tensors (`tensor.extract` /
    `tensor.insert`, which one-shot bufferization turns into loads and
    stores); `ssm.causal_conv1d` a `linalg.generic` with a loop over the
    taps; `ssm.state_update` a loop nest whose carried tensors start from
    its destinations, so the new state is stored into the state's buffer in
    place. Arithmetic is carried out in f32 (f64 when an operand is f64).

    Together with `ssm-decompose` this gives every model-level op an
    executable meaning that does not depend on the optimizing lowerings;
    the numeric tests run it against the reference evaluator. It is not
    the fast path: it neither fuses, tiles nor vectorizes.

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
                           "::mlir::scf::SCFDialect"];
}

def ParallelToRuntimePass : Pass<"ssm-parallel-to-runtime", "::mlir::ModuleOp"> {
  let summary = "run loops marked ssm.parallel on the runtime's thread pool";
  let description = [{
    The lowerings build their outermost loop over independent work items (a
    batch row and a channel tile, a row and a head, ...) as an `scf.for`
    marked with the unit attribute `ssm.parallel`. On bufferized IR, this
    pass outlines the body of each outermost marked loop into a private
    function `@<caller>_parallel(ctx, lo, hi)` that runs iterations
    `[lo, hi)`, and replaces the loop by a call to the runtime:

    ```c
    ssm_parallel_for(lb, ub, /*grain=*/1, body, &captures);
    ```

    `captures` is a struct on the caller's stack holding every value the
    loop reads from above (memref descriptors, sizes, scalars), stored in
    the layout the LLVM lowering gives those types; constants are cloned
    into the body instead. The generated code then needs `libssm_runtime`
    at link time, and takes its thread count from `SSM_NUM_THREADS` or
    `ssm_set_num_threads` (see runtime/include/ssm/runtime.h).

    A marked loop nested in another runs inside one work item. A loop the
    pass cannot handle (a step other than 1, loop results, a captured value
    of a type with no LLVM form) stays serial; the marks are removed either
    way. Run it after bufferization and before `convert-scf-to-cf`.

    Before:

    ```mlir
    scf.for %i = %c0 to %n step %c1 {
      memref.store %v, %out[%i] : memref<?xf32>
    } {ssm.parallel}
    ```

    After (abridged):

    ```mlir
    func.func @f(...) {
      %frame = llvm.alloca %one x !llvm.struct<(f32, struct<(ptr, ptr, i64, ...)>)>
      // store %v and %out's descriptor into %frame
      %body = constant @f_parallel : (!llvm.ptr, i64, i64) -> ()
      call @ssm_parallel_for(%lb, %ub, %c1_i64, %body, %frame)
    }
    func.func private @f_parallel(%ctx: !llvm.ptr, %lo: i64, %hi: i64) {
      // load %v and %out back from %ctx
      scf.for %i = %lo to %hi step %c1 { memref.store %v, %out[%i] }
    }
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

#endif // SSM_CONVERSION_PASSES_TD
