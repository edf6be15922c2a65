// The headline GPU cases of shared/PERFORMANCE.md, compiled by ssmc with
// --target=cuda for the GPU benchmark (bench/gpu_bench.cpp).

// Mamba-2 decode step: batch 64, H=64, P=64, N=128, f32 state updated in
// place, D per head, z gate, dt bias and softplus.
func.func @decode(%x: tensor<64x64x64xf32>, %dt: tensor<64x64xf32>, %A: tensor<64xf32>,
                  %B: tensor<64x1x128xf32>, %C: tensor<64x1x128xf32>, %D: tensor<64xf32>,
                  %z: tensor<64x64x64xf32>, %dtb: tensor<64xf32>,
                  %state: tensor<64x64x64x128xf32>, %y: tensor<64x64x64xf32>)
    -> (tensor<64x64x64x128xf32>, tensor<64x64x64xf32>) {
  %s, %o = ssm.state_update ins(%x, %dt, %A, %B, %C : tensor<64x64x64xf32>,
      tensor<64x64xf32>, tensor<64xf32>, tensor<64x1x128xf32>, tensor<64x1x128xf32>)
      skip(%D : tensor<64xf32>) gate(%z : tensor<64x64x64xf32>)
      dt_bias(%dtb : tensor<64xf32>) dt_softplus
      outs(%state, %y : tensor<64x64x64x128xf32>, tensor<64x64x64xf32>)
  return %s, %o : tensor<64x64x64x128xf32>, tensor<64x64x64xf32>
}

// Causal conv1d of the Mamba-1 scan's input: B=8, D=2048, L=2048, W=4, bf16,
// bias and SiLU.
func.func @conv(%x: tensor<8x2048x2048xbf16>, %w: tensor<2048x4xbf16>, %b: tensor<2048xbf16>)
    -> (tensor<8x2048x2048xbf16>, tensor<8x2048x3xbf16>) {
  %o, %s = ssm.causal_conv1d %x, %w bias(%b) silu
      : (tensor<8x2048x2048xbf16>, tensor<2048x4xbf16>, tensor<2048xbf16>)
      -> (tensor<8x2048x2048xbf16>, tensor<8x2048x3xbf16>)
  return %o, %s : tensor<8x2048x2048xbf16>, tensor<8x2048x3xbf16>
}

// Mamba-1 selective scan: B=8, D=2048, L=2048, N=16, bf16 I/O, D skip,
// z gate, delta bias and softplus.
func.func @selective_scan(%u: tensor<8x2048x2048xbf16>, %delta: tensor<8x2048x2048xbf16>,
                          %A: tensor<2048x16xbf16>, %B: tensor<8x1x16x2048xbf16>,
                          %C: tensor<8x1x16x2048xbf16>, %D: tensor<2048xbf16>,
                          %z: tensor<8x2048x2048xbf16>, %db: tensor<2048xbf16>)
    -> (tensor<8x2048x2048xbf16>, tensor<8x2048x16xbf16>) {
  %y, %h = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) gate(%z)
      delta_bias(%db) delta_softplus
      : (tensor<8x2048x2048xbf16>, tensor<8x2048x2048xbf16>, tensor<2048x16xbf16>,
         tensor<8x1x16x2048xbf16>, tensor<8x1x16x2048xbf16>, tensor<2048xbf16>,
         tensor<8x2048x2048xbf16>, tensor<2048xbf16>)
      -> (tensor<8x2048x2048xbf16>, tensor<8x2048x16xbf16>)
  return %y, %h : tensor<8x2048x2048xbf16>, tensor<8x2048x16xbf16>
}

// Mamba-2 SSD: B=8, L=4096, H=64, P=64, N=128, G=1, bf16 I/O, D per head,
// dt bias and softplus (no z: the 562 MB case).
func.func @ssd(%x: tensor<8x4096x64x64xbf16>, %dt: tensor<8x4096x64xbf16>, %A: tensor<64xbf16>,
               %B: tensor<8x4096x1x128xbf16>, %C: tensor<8x4096x1x128xbf16>,
               %D: tensor<64xbf16>, %dtb: tensor<64xbf16>)
    -> (tensor<8x4096x64x64xbf16>, tensor<8x64x64x128xbf16>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C skip(%D) dt_bias(%dtb) dt_softplus
      : (tensor<8x4096x64x64xbf16>, tensor<8x4096x64xbf16>, tensor<64xbf16>,
         tensor<8x4096x1x128xbf16>, tensor<8x4096x1x128xbf16>, tensor<64xbf16>,
         tensor<64xbf16>)
      -> (tensor<8x4096x64x64xbf16>, tensor<8x64x64x128xbf16>)
  return %y, %h : tensor<8x4096x64x64xbf16>, tensor<8x64x64x128xbf16>
}

// The SSD of one prompt of mamba2-130m (batch 1, 24 heads): too few (row,
// head) blocks to fill a GPU, so spans of 256 steps run in parallel.
func.func @ssd_b1(%x: tensor<1x4096x24x64xbf16>, %dt: tensor<1x4096x24xbf16>, %A: tensor<24xbf16>,
                  %B: tensor<1x4096x1x128xbf16>, %C: tensor<1x4096x1x128xbf16>,
                  %D: tensor<24xbf16>, %dtb: tensor<24xbf16>)
    -> (tensor<1x4096x24x64xbf16>, tensor<1x24x64x128xbf16>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C skip(%D) dt_bias(%dtb) dt_softplus
      : (tensor<1x4096x24x64xbf16>, tensor<1x4096x24xbf16>, tensor<24xbf16>,
         tensor<1x4096x1x128xbf16>, tensor<1x4096x1x128xbf16>, tensor<24xbf16>,
         tensor<24xbf16>)
      -> (tensor<1x4096x24x64xbf16>, tensor<1x24x64x128xbf16>)
  return %y, %h : tensor<1x4096x24x64xbf16>, tensor<1x24x64x128xbf16>
}
