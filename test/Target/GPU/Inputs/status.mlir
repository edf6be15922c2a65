func.func @conv(%x: tensor<?x64x?xf32>, %w: tensor<64x4xf32>) -> tensor<?x64x?xf32> {
  %y = ssm.causal_conv1d %x, %w silu : (tensor<?x64x?xf32>, tensor<64x4xf32>) -> tensor<?x64x?xf32>
  return %y : tensor<?x64x?xf32>
}
