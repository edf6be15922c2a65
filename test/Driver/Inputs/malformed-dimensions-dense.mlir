func.func @f(%x: tensor<5xf32>, %e: tensor<5x2xf32>) -> tensor<5x2xf32> {
  %u = linalg.broadcast ins(%x : tensor<5xf32>) outs(%e : tensor<5x2xf32>) dimensions = dense<
  return %u : tensor<5x2xf32>
}
