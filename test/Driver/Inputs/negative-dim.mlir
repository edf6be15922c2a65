// A constant dim index outside the rank (test/Driver/hostile-input.test).
func.func @f(%x: tensor<?x16x?xf32>, %w: tensor<16x4xf32>)
    -> (tensor<?x16x?xf32>, index) {
  %c = arith.constant -1 : index
  // The verifier accepts this (the index could be dynamic); lowerings do not.
  %d = tensor.dim %x, %c : tensor<?x16x?xf32>
  %o = ssm.causal_conv1d %x, %w : (tensor<?x16x?xf32>, tensor<16x4xf32>) -> tensor<?x16x?xf32>
  return %o, %d : tensor<?x16x?xf32>, index
}
