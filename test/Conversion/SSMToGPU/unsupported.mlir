// RUN: ssm-opt %s -convert-ssm-to-gpu -verify-diagnostics

// An op without a GPU lowering is an error at the op, naming it.
func.func @scan(%x: tensor<2x8x4xf32>, %a: tensor<4x16xf32>) -> tensor<2x8x4xf32> {
  // expected-error @below {{'ssm.scan' op has no GPU lowering yet (convert-ssm-to-gpu lowers ssm.state_update and ssm.causal_conv1d); compile it for the CPU instead}}
  %y = ssm.scan forward %x, %a, %a, %a
      : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>)
      -> tensor<2x8x4xf32>
  return %y : tensor<2x8x4xf32>
}
