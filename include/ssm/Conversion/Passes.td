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
    place. `ssm.ssd` becomes the recurrence, a loop nest over (row, head,
    p, t, n), unless it is marked `algorithm chunked`: then it becomes the
    chunked (state-space duality) form, one loop over (row, head) pairs
    marked `ssm.parallel` around loops over chunks of `chunk_size` steps
    that compute the cumulative log-decay, the intra-chunk product
    (C Bᵀ ∘ decay) X, the contribution C·h of the state each chunk starts
    from, and the state passed on. Arithmetic is carried out in f32 (f64
    when an operand is f64).

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
                           "::mlir::scf::SCFDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

#endif // SSM_CONVERSION_PASSES_TD
