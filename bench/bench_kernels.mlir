// The headline CPU cases of shared/PERFORMANCE.md, compiled by ssmc for the
// benchmark (f32 I/O, single batch unless stated).

// Mamba-1 selective scan: B=1, D=1536, N=16, L=512, with D skip, z gate,
// delta bias and softplus.
func.func @selective_scan(%u: tensor<1x1536x512xf32>, %delta: tensor<1x1536x512xf32>,
                          %A: tensor<1536x16xf32>, %B: tensor<1x1x16x512xf32>,
                          %C: tensor<1x1x16x512xf32>, %D: tensor<1536xf32>,
                          %z: tensor<1x1536x512xf32>, %db: tensor<1536xf32>)
    -> tensor<1x1536x512xf32> {
  %y = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) gate(%z) delta_bias(%db)
      delta_softplus
      : (tensor<1x1536x512xf32>, tensor<1x1536x512xf32>, tensor<1536x16xf32>,
         tensor<1x1x16x512xf32>, tensor<1x1x16x512xf32>, tensor<1536xf32>,
         tensor<1x1536x512xf32>, tensor<1536xf32>) -> tensor<1x1536x512xf32>
  return %y : tensor<1x1536x512xf32>
}

// Mamba-2 SSD: H=48, P=64, N=128, one group; the recurrent form at L=512
// (the headline case), then the chunked form with chunks of 16 steps at
// L=512 and both forms at L=4096.
func.func @ssd(%x: tensor<1x512x48x64xf32>, %dt: tensor<1x512x48xf32>, %A: tensor<48xf32>,
               %B: tensor<1x512x1x128xf32>, %C: tensor<1x512x1x128xf32>,
               %D: tensor<48xf32>, %dtb: tensor<48xf32>) -> tensor<1x512x48x64xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C skip(%D) dt_bias(%dtb) dt_softplus algorithm recurrent
      : (tensor<1x512x48x64xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x128xf32>, tensor<1x512x1x128xf32>, tensor<48xf32>,
         tensor<48xf32>) -> tensor<1x512x48x64xf32>
  return %y : tensor<1x512x48x64xf32>
}

func.func @ssd_chunked(%x: tensor<1x512x48x64xf32>, %dt: tensor<1x512x48xf32>, %A: tensor<48xf32>,
               %B: tensor<1x512x1x128xf32>, %C: tensor<1x512x1x128xf32>,
               %D: tensor<48xf32>, %dtb: tensor<48xf32>) -> tensor<1x512x48x64xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C skip(%D) dt_bias(%dtb) dt_softplus algorithm chunked {chunk_size = 16 : i64}
      : (tensor<1x512x48x64xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x128xf32>, tensor<1x512x1x128xf32>, tensor<48xf32>,
         tensor<48xf32>) -> tensor<1x512x48x64xf32>
  return %y : tensor<1x512x48x64xf32>
}

func.func @ssd_long(%x: tensor<1x4096x48x64xf32>, %dt: tensor<1x4096x48xf32>, %A: tensor<48xf32>,
               %B: tensor<1x4096x1x128xf32>, %C: tensor<1x4096x1x128xf32>,
               %D: tensor<48xf32>, %dtb: tensor<48xf32>) -> tensor<1x4096x48x64xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C skip(%D) dt_bias(%dtb) dt_softplus algorithm recurrent
      : (tensor<1x4096x48x64xf32>, tensor<1x4096x48xf32>, tensor<48xf32>,
         tensor<1x4096x1x128xf32>, tensor<1x4096x1x128xf32>, tensor<48xf32>,
         tensor<48xf32>) -> tensor<1x4096x48x64xf32>
  return %y : tensor<1x4096x48x64xf32>
}

func.func @ssd_chunked_long(%x: tensor<1x4096x48x64xf32>, %dt: tensor<1x4096x48xf32>, %A: tensor<48xf32>,
               %B: tensor<1x4096x1x128xf32>, %C: tensor<1x4096x1x128xf32>,
               %D: tensor<48xf32>, %dtb: tensor<48xf32>) -> tensor<1x4096x48x64xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C skip(%D) dt_bias(%dtb) dt_softplus algorithm chunked {chunk_size = 16 : i64}
      : (tensor<1x4096x48x64xf32>, tensor<1x4096x48xf32>, tensor<48xf32>,
         tensor<1x4096x1x128xf32>, tensor<1x4096x1x128xf32>, tensor<48xf32>,
         tensor<48xf32>) -> tensor<1x4096x48x64xf32>
  return %y : tensor<1x4096x48x64xf32>
}

// Mamba-2 decode step: batch 32, H=80, P=64, N=128, state updated in place.
func.func @decode(%x: tensor<32x80x64xf32>, %dt: tensor<32x80xf32>, %A: tensor<80xf32>,
                  %B: tensor<32x1x128xf32>, %C: tensor<32x1x128xf32>, %D: tensor<80xf32>,
                  %dtb: tensor<80xf32>, %state: tensor<32x80x64x128xf32>,
                  %y: tensor<32x80x64xf32>) -> (tensor<32x80x64x128xf32>, tensor<32x80x64xf32>) {
  %s1, %y1 = ssm.state_update ins(%x, %dt, %A, %B, %C : tensor<32x80x64xf32>,
        tensor<32x80xf32>, tensor<80xf32>, tensor<32x1x128xf32>, tensor<32x1x128xf32>)
      skip(%D : tensor<80xf32>) dt_bias(%dtb : tensor<80xf32>) dt_softplus
      outs(%state, %y : tensor<32x80x64x128xf32>, tensor<32x80x64xf32>)
  return %s1, %y1 : tensor<32x80x64x128xf32>, tensor<32x80x64xf32>
}

// Causal conv1d: D=1536, W=4, L=512, bias and SiLU.
func.func @conv(%x: tensor<1x1536x512xf32>, %w: tensor<1536x4xf32>, %b: tensor<1536xf32>)
    -> tensor<1x1536x512xf32> {
  %o = ssm.causal_conv1d %x, %w bias(%b) silu
      : (tensor<1x1536x512xf32>, tensor<1536x4xf32>, tensor<1536xf32>) -> tensor<1x1536x512xf32>
  return %o : tensor<1x1536x512xf32>
}
