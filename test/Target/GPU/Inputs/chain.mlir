func.func @chain(%x: tensor<2x64x8xf32>, %w: tensor<64x4xf32>) -> tensor<2x64x8xf32> {
  %a = ssm.causal_conv1d %x, %w : (tensor<2x64x8xf32>, tensor<64x4xf32>) -> tensor<2x64x8xf32>
  %b = ssm.causal_conv1d %a, %w silu : (tensor<2x64x8xf32>, tensor<64x4xf32>) -> tensor<2x64x8xf32>
  return %b : tensor<2x64x8xf32>
}
