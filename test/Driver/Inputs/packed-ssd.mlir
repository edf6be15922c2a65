// Packed sequences (cu_seqlens) through both CPU forms of the SSD, for the
// run-time check of the offsets (test/Driver/packed-checks.test).
func.func @recurrent(%x: tensor<1x8x2x4xf32>, %dt: tensor<1x8x2xf32>, %A: tensor<2xf32>,
                     %B: tensor<1x8x1x4xf32>, %cu: tensor<3xi64>) -> tensor<1x8x2x4xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B cu_seqlens(%cu) algorithm recurrent
      : (tensor<1x8x2x4xf32>, tensor<1x8x2xf32>, tensor<2xf32>, tensor<1x8x1x4xf32>,
         tensor<1x8x1x4xf32>, tensor<3xi64>) -> tensor<1x8x2x4xf32>
  return %y : tensor<1x8x2x4xf32>
}

func.func @chunked(%x: tensor<1x8x2x4xf32>, %dt: tensor<1x8x2xf32>, %A: tensor<2xf32>,
                   %B: tensor<1x8x1x4xf32>, %cu: tensor<3xi64>) -> tensor<1x8x2x4xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B cu_seqlens(%cu) algorithm chunked {chunk_size = 4 : i64}
      : (tensor<1x8x2x4xf32>, tensor<1x8x2xf32>, tensor<2xf32>, tensor<1x8x1x4xf32>,
         tensor<1x8x1x4xf32>, tensor<3xi64>) -> tensor<1x8x2x4xf32>
  return %y : tensor<1x8x2x4xf32>
}
