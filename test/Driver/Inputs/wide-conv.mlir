// A convolution far wider than any model's: ssmc must compile it in bounded
// time and memory (test/Driver/hostile-input.test).
func.func @conv(%x: tensor<?x16x?xf32>, %w: tensor<16x100000xf32>)
    -> (tensor<?x16x?xf32>, tensor<?x16x99999xf32>) {
  %o, %s = ssm.causal_conv1d %x, %w
      : (tensor<?x16x?xf32>, tensor<16x100000xf32>) -> (tensor<?x16x?xf32>, tensor<?x16x99999xf32>)
  return %o, %s : tensor<?x16x?xf32>, tensor<?x16x99999xf32>
}
