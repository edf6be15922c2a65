func.func @f(%x: tensor<2x5xf32>, %e: tensor<5x2xf32>) -> tensor<5x2xf32> {
  %u = linalg.transpose ins(%x : tensor<2x5xf32>) outs(%e : tensor<5x2xf32>) permutation = [99999999999999999999, 0]
  return %u : tensor<5x2xf32>
}
