// Every kernel form convert-ssm-to-gpu lowers; shared by the PTX
// and ptxas tests of test/Target/GPU.

// Mamba-2, f32, static N = 128: the register path (4 entries per lane),
// every optional operand and a dt_limit.
func.func @mamba2_f32(%x: tensor<?x24x64xf32>, %dt: tensor<?x24xf32>,
                      %A: tensor<24xf32>, %B: tensor<?x2x128xf32>,
                      %C: tensor<?x2x128xf32>, %D: tensor<24xf32>,
                      %z: tensor<?x24x64xf32>, %bias: tensor<24xf32>,
                      %h: tensor<?x24x64x128xf32>, %y: tensor<?x24x64xf32>)
    -> (tensor<?x24x64x128xf32>, tensor<?x24x64xf32>) {
  %h1, %y1 = ssm.state_update ins(%x, %dt, %A, %B, %C
      : tensor<?x24x64xf32>, tensor<?x24xf32>, tensor<24xf32>,
        tensor<?x2x128xf32>, tensor<?x2x128xf32>)
      skip(%D : tensor<24xf32>) gate(%z : tensor<?x24x64xf32>)
      dt_bias(%bias : tensor<24xf32>) dt_softplus dt_limit [0.001, 0.1]
      outs(%h, %y : tensor<?x24x64x128xf32>, tensor<?x24x64xf32>)
  return %h1, %y1 : tensor<?x24x64x128xf32>, tensor<?x24x64xf32>
}

// Mamba-2 with bf16 inputs and state, D per channel, every size dynamic:
// the loop path.
func.func @mamba2_bf16_dynamic(%x: tensor<?x?x?xbf16>, %dt: tensor<?x?xbf16>,
                               %A: tensor<?xf32>, %B: tensor<?x?x?xbf16>,
                               %C: tensor<?x?x?xbf16>, %D: tensor<?x?xf32>,
                               %h: tensor<?x?x?x?xbf16>, %y: tensor<?x?x?xbf16>)
    -> (tensor<?x?x?x?xbf16>, tensor<?x?x?xbf16>) {
  %h1, %y1 = ssm.state_update ins(%x, %dt, %A, %B, %C
      : tensor<?x?x?xbf16>, tensor<?x?xbf16>, tensor<?xf32>,
        tensor<?x?x?xbf16>, tensor<?x?x?xbf16>)
      skip(%D : tensor<?x?xf32>) dt_softplus
      outs(%h, %y : tensor<?x?x?x?xbf16>, tensor<?x?x?xbf16>)
  return %h1, %y1 : tensor<?x?x?x?xbf16>, tensor<?x?x?xbf16>
}

// Mamba-1, f16 activations and an f32 state, N = 16: fewer entries than
// lanes, so the loop path with half the lanes idle.
func.func @mamba1_f16(%x: tensor<?x1536xf16>, %dt: tensor<?x1536xf16>,
                      %A: tensor<1536x16xf32>, %B: tensor<?x1x16xf16>,
                      %C: tensor<?x1x16xf16>, %D: tensor<1536xf32>,
                      %z: tensor<?x1536xf16>, %bias: tensor<1536xf32>,
                      %h: tensor<?x1536x16xf32>, %y: tensor<?x1536xf16>)
    -> (tensor<?x1536x16xf32>, tensor<?x1536xf16>) {
  %h1, %y1 = ssm.state_update ins(%x, %dt, %A, %B, %C
      : tensor<?x1536xf16>, tensor<?x1536xf16>, tensor<1536x16xf32>,
        tensor<?x1x16xf16>, tensor<?x1x16xf16>)
      skip(%D : tensor<1536xf32>) gate(%z : tensor<?x1536xf16>)
      dt_bias(%bias : tensor<1536xf32>) dt_softplus
      outs(%h, %y : tensor<?x1536x16xf32>, tensor<?x1536xf16>)
  return %h1, %y1 : tensor<?x1536x16xf32>, tensor<?x1536xf16>
}

// Mamba-1, f32, N = 64: the register path with the per-entry exp.
func.func @mamba1_f32(%x: tensor<?x?xf32>, %dt: tensor<?x?xf32>,
                      %A: tensor<?x64xf32>, %B: tensor<?x?x64xf32>,
                      %C: tensor<?x?x64xf32>, %h: tensor<?x?x64xf32>,
                      %y: tensor<?x?xf32>)
    -> (tensor<?x?x64xf32>, tensor<?x?xf32>) {
  %h1, %y1 = ssm.state_update ins(%x, %dt, %A, %B, %C
      : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x64xf32>,
        tensor<?x?x64xf32>, tensor<?x?x64xf32>)
      outs(%h, %y : tensor<?x?x64xf32>, tensor<?x?xf32>)
  return %h1, %y1 : tensor<?x?x64xf32>, tensor<?x?xf32>
}

// Causal conv1d as in Mamba-1 (W = 4, bias, carried state, SiLU) with bf16
// activations: results in device memory, the final state included.
func.func @conv_bf16(%x: tensor<?x1536x?xbf16>, %w: tensor<1536x4xf32>,
                     %b: tensor<1536xf32>, %s0: tensor<?x1536x3xbf16>)
    -> (tensor<?x1536x?xbf16>, tensor<?x1536x3xbf16>) {
  %out, %s = ssm.causal_conv1d %x, %w bias(%b) init_state(%s0) silu
      : (tensor<?x1536x?xbf16>, tensor<1536x4xf32>, tensor<1536xf32>,
         tensor<?x1536x3xbf16>) -> (tensor<?x1536x?xbf16>, tensor<?x1536x3xbf16>)
  return %out, %s : tensor<?x1536x?xbf16>, tensor<?x1536x3xbf16>
}

// Causal conv1d with every size dynamic and nothing optional.
func.func @conv_f32(%x: tensor<?x?x?xf32>, %w: tensor<?x?xf32>) -> tensor<?x?x?xf32> {
  %out = ssm.causal_conv1d %x, %w : (tensor<?x?x?xf32>, tensor<?x?xf32>) -> tensor<?x?x?xf32>
  return %out : tensor<?x?x?xf32>
}

// Mamba-1 scan as in mamba-130m (N = 16, one group, bf16 activations, every
// optional operand, the final state in f32).
func.func @scan_bf16(%u: tensor<?x1536x?xbf16>, %delta: tensor<?x1536x?xbf16>,
                     %A: tensor<1536x16xf32>, %B: tensor<?x1x16x?xbf16>,
                     %C: tensor<?x1x16x?xbf16>, %D: tensor<1536xf32>,
                     %z: tensor<?x1536x?xbf16>, %db: tensor<1536xf32>)
    -> (tensor<?x1536x?xbf16>, tensor<?x1536x16xf32>) {
  %y, %h = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) gate(%z)
      delta_bias(%db) delta_softplus
      : (tensor<?x1536x?xbf16>, tensor<?x1536x?xbf16>, tensor<1536x16xf32>,
         tensor<?x1x16x?xbf16>, tensor<?x1x16x?xbf16>, tensor<1536xf32>,
         tensor<?x1536x?xbf16>, tensor<1536xf32>)
      -> (tensor<?x1536x?xbf16>, tensor<?x1536x16xf32>)
  return %y, %h : tensor<?x1536x?xbf16>, tensor<?x1536x16xf32>
}

// Fixed B and C, dynamic sizes, an initial state, zero-order hold.
func.func @scan_f32_fixed(%u: tensor<?x?x?xf32>, %delta: tensor<?x?x?xf32>,
                          %A: tensor<?x32xf32>, %B: tensor<?x32xf32>,
                          %C: tensor<?x32xf32>, %h0: tensor<?x?x32xf32>)
    -> tensor<?x?x?xf32> {
  %y = ssm.selective_scan %u, %delta, %A, %B, %C init(%h0) method zoh
      : (tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x32xf32>,
         tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x?xf32>
  return %y : tensor<?x?x?xf32>
}

// The largest state accepted: N = 256 (8 carried states per lane), f16
// storage, groups, every optional operand, both states.
func.func @scan_f16_n256(%u: tensor<?x?x?xf16>, %delta: tensor<?x?x?xf16>,
                         %A: tensor<?x256xf32>, %B: tensor<?x2x256x?xf16>,
                         %C: tensor<?x2x256x?xf16>, %D: tensor<?xf32>,
                         %z: tensor<?x?x?xf16>, %db: tensor<?xf32>,
                         %h0: tensor<?x?x256xf32>)
    -> (tensor<?x?x?xf16>, tensor<?x?x256xf32>) {
  %y, %h = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) gate(%z)
      delta_bias(%db) init(%h0) delta_softplus
      : (tensor<?x?x?xf16>, tensor<?x?x?xf16>, tensor<?x256xf32>,
         tensor<?x2x256x?xf16>, tensor<?x2x256x?xf16>, tensor<?xf32>,
         tensor<?x?x?xf16>, tensor<?xf32>, tensor<?x?x256xf32>)
      -> (tensor<?x?x?xf16>, tensor<?x?x256xf32>)
  return %y, %h : tensor<?x?x?xf16>, tensor<?x?x256xf32>
}

// Mamba-2 with f64 storage: f64 arithmetic, each shuffle split in two
// 32-bit halves.
func.func @mamba2_f64(%x: tensor<?x8x64xf64>, %dt: tensor<?x8xf64>,
                      %A: tensor<8xf64>, %B: tensor<?x1x64xf64>,
                      %C: tensor<?x1x64xf64>, %h: tensor<?x8x64x64xf64>,
                      %y: tensor<?x8x64xf64>)
    -> (tensor<?x8x64x64xf64>, tensor<?x8x64xf64>) {
  %h1, %y1 = ssm.state_update ins(%x, %dt, %A, %B, %C
      : tensor<?x8x64xf64>, tensor<?x8xf64>, tensor<8xf64>,
        tensor<?x1x64xf64>, tensor<?x1x64xf64>)
      dt_softplus outs(%h, %y : tensor<?x8x64x64xf64>, tensor<?x8x64xf64>)
  return %h1, %y1 : tensor<?x8x64x64xf64>, tensor<?x8x64xf64>
}

// Mamba-2 SSD as in mamba2-130m (H = 24, P = 64, N = 128), every optional
// operand, recurrent (asked for: with its dynamic L it would be chunked).
func.func @ssd_f32(%x: tensor<?x?x24x64xf32>, %dt: tensor<?x?x24xf32>,
                   %A: tensor<24xf32>, %B: tensor<?x?x1x128xf32>,
                   %C: tensor<?x?x1x128xf32>, %D: tensor<24xf32>,
                   %z: tensor<?x?x24x64xf32>, %bias: tensor<24xf32>,
                   %h0: tensor<?x24x64x128xf32>)
    -> (tensor<?x?x24x64xf32>, tensor<?x24x64x128xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C skip(%D) gate(%z) dt_bias(%bias)
      init(%h0) dt_softplus dt_limit [0.0, inf] algorithm recurrent
      : (tensor<?x?x24x64xf32>, tensor<?x?x24xf32>, tensor<24xf32>,
         tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>, tensor<24xf32>,
         tensor<?x?x24x64xf32>, tensor<24xf32>, tensor<?x24x64x128xf32>)
      -> (tensor<?x?x24x64xf32>, tensor<?x24x64x128xf32>)
  return %y, %h : tensor<?x?x24x64xf32>, tensor<?x24x64x128xf32>
}

// SSD with bf16 storage, N = 48 (lanes past N idle on their second entry)
// and packed sequences (cu_seqlens).
func.func @ssd_bf16_packed(%x: tensor<1x?x8x32xbf16>, %dt: tensor<1x?x8xbf16>,
                           %A: tensor<8xf32>, %B: tensor<1x?x2x48xbf16>,
                           %C: tensor<1x?x2x48xbf16>, %cu: tensor<?xi32>)
    -> (tensor<1x?x8x32xbf16>, tensor<?x8x32x48xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C cu_seqlens(%cu) dt_softplus
      : (tensor<1x?x8x32xbf16>, tensor<1x?x8xbf16>, tensor<8xf32>,
         tensor<1x?x2x48xbf16>, tensor<1x?x2x48xbf16>, tensor<?xi32>)
      -> (tensor<1x?x8x32xbf16>, tensor<?x8x32x48xf32>)
  return %y, %h : tensor<1x?x8x32xbf16>, tensor<?x8x32x48xf32>
}

// Chunked SSD on tensor cores, mamba2-130m's shapes (H = 24, P = 64,
// N = 128; chunk_size 256, so the kernel's 32-step chunks), every optional
// operand but the packings.
func.func @ssd_chunked_f32(%x: tensor<?x?x24x64xf32>, %dt: tensor<?x?x24xf32>,
                           %A: tensor<24xf32>, %B: tensor<?x?x1x128xf32>,
                           %C: tensor<?x?x1x128xf32>, %D: tensor<24xf32>,
                           %z: tensor<?x?x24x64xf32>, %bias: tensor<24xf32>,
                           %h0: tensor<?x24x64x128xf32>)
    -> (tensor<?x?x24x64xf32>, tensor<?x24x64x128xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C skip(%D) gate(%z) dt_bias(%bias)
      init(%h0) dt_softplus dt_limit [0.0, inf] algorithm chunked
      : (tensor<?x?x24x64xf32>, tensor<?x?x24xf32>, tensor<24xf32>,
         tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>, tensor<24xf32>,
         tensor<?x?x24x64xf32>, tensor<24xf32>, tensor<?x24x64x128xf32>)
      -> (tensor<?x?x24x64xf32>, tensor<?x24x64x128xf32>)
  return %y, %h : tensor<?x?x24x64xf32>, tensor<?x24x64x128xf32>
}

// Chunked SSD with bf16 storage, N = 64 and 64-step chunks, no options.
func.func @ssd_chunked_bf16(%x: tensor<?x?x8x64xbf16>, %dt: tensor<?x?x8xbf16>,
                            %A: tensor<8xf32>, %B: tensor<?x?x2x64xbf16>,
                            %C: tensor<?x?x2x64xbf16>)
    -> tensor<?x?x8x64xbf16> {
  %y = ssm.ssd %x, %dt, %A, %B, %C dt_softplus algorithm chunked
      {chunk_size = 64 : i64}
      : (tensor<?x?x8x64xbf16>, tensor<?x?x8xbf16>, tensor<8xf32>,
         tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>) -> tensor<?x?x8x64xbf16>
  return %y : tensor<?x?x8x64xbf16>
}
