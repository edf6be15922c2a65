// A scan whose abar has the wrong length (used by ../errors.test).
func.func @f(%x: tensor<2x8x4xf32>, %a: tensor<2x7x4x16xf32>) -> tensor<2x8x4xf32> {
  %y = ssm.scan forward %x, %a, %a, %a
      : (tensor<2x8x4xf32>, tensor<2x7x4x16xf32>, tensor<2x7x4x16xf32>, tensor<2x7x4x16xf32>) -> tensor<2x8x4xf32>
  return %y : tensor<2x8x4xf32>
}
