// A chunked SSD with mamba2-130m's head shape (P = 64, N = 128), two heads,
// 128 steps: the wgmma kernel for sm_90a, the mma.sync one otherwise.
func.func @ssd(%x: tensor<1x128x2x64xf32>, %dt: tensor<1x128x2xf32>,
               %A: tensor<2xf32>, %B: tensor<1x128x1x128xf32>,
               %C: tensor<1x128x1x128xf32>) -> tensor<1x128x2x64xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C dt_softplus algorithm chunked
      : (tensor<1x128x2x64xf32>, tensor<1x128x2xf32>, tensor<2xf32>,
         tensor<1x128x1x128xf32>, tensor<1x128x1x128xf32>)
      -> tensor<1x128x2x64xf32>
  return %y : tensor<1x128x2x64xf32>
}
