// A kernel named like a C math function (test/Driver/hostile-input.test).

func.func @expf(%x: tensor<?x16x?xf32>, %w: tensor<16x4xf32>) -> tensor<?x16x?xf32> {
  %o = ssm.causal_conv1d %x, %w silu : (tensor<?x16x?xf32>, tensor<16x4xf32>) -> tensor<?x16x?xf32>
  return %o : tensor<?x16x?xf32>
}
