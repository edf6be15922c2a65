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
    semantic definition in IR: delta biasing, softplus and clamping become
    `linalg.generic` ops; broadcasting and layout changes become
    `linalg.generic` copies; the discretization becomes `ssm.discretize`;
    the recurrence becomes `ssm.scan`; the skip connection is the scan's `d`
    operand and the gate a final `linalg.generic`. Packed sequences given by
    `seq_idx` become the scan's `reset` mask. `cu_seqlens` with per-sequence
    states is left alone (a scan has one state per batch row); so is nothing
    else.

    The result materializes `[B, L, D, N]` tensors. It defines meaning; the
    fused lowerings never take this path.

    Before:

    ```mlir
    %y = ssm.selective_scan %u, %delta, %A, %B, %C delta_softplus
        : (...) -> tensor<2x8x16xf32>
    ```

    After (abridged):

    ```mlir
    %sp = linalg.generic ... { softplus }            // δ
    %a, %b = ssm.discretize mamba %Ab, %Bb, %db : tensor<2x16x8x4xf32>
    %ys = ssm.scan forward %x, %a, %b, %c : (...) -> tensor<2x16x8xf32>
    %y = linalg.generic ... { transpose }            // back to [B, D, L]
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

#endif // SSM_TRANSFORMS_PASSES_TD
