// The state-space core of one Mamba-2 layer (mamba2-130m shapes: 24 heads of
// 64 channels, d_state 128, one group, conv width 4), batch and length
// dynamic. Prefill runs the convolution and the SSD over a whole prompt and
// returns both caches; decode advances them by one token in place.
//
//   build/bin/ssm-opt examples/mamba2_block.mlir --ssm-decompose

// xBC: the in_proj output that feeds the convolution, channel-major
// [B, 1536 + 2 * 128, L]; after the conv it is split into x, B and C.
func.func @prefill(%xBC: tensor<?x1792x?xf32>, %conv_w: tensor<1792x4xf32>,
                   %conv_b: tensor<1792xf32>,
                   %x: tensor<?x?x24x64xf32>, %dt: tensor<?x?x24xf32>,
                   %A: tensor<24xf32>, %B: tensor<?x?x1x128xf32>,
                   %C: tensor<?x?x1x128xf32>, %D: tensor<24xf32>,
                   %dt_bias: tensor<24xf32>, %z: tensor<?x?x24x64xf32>)
    -> (tensor<?x1792x?xf32>, tensor<?x1792x3xf32>,
        tensor<?x?x24x64xf32>, tensor<?x24x64x128xf32>) {
  %conv, %conv_state = ssm.causal_conv1d %xBC, %conv_w bias(%conv_b) silu
      : (tensor<?x1792x?xf32>, tensor<1792x4xf32>, tensor<1792xf32>)
      -> (tensor<?x1792x?xf32>, tensor<?x1792x3xf32>)
  %y, %ssm_state = ssm.ssd %x, %dt, %A, %B, %C skip(%D) gate(%z)
      dt_bias(%dt_bias) dt_softplus {chunk_size = 256 : i64}
      : (tensor<?x?x24x64xf32>, tensor<?x?x24xf32>, tensor<24xf32>,
         tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>, tensor<24xf32>,
         tensor<?x?x24x64xf32>, tensor<24xf32>)
      -> (tensor<?x?x24x64xf32>, tensor<?x24x64x128xf32>)
  return %conv, %conv_state, %y, %ssm_state
      : tensor<?x1792x?xf32>, tensor<?x1792x3xf32>,
        tensor<?x?x24x64xf32>, tensor<?x24x64x128xf32>
}

func.func @decode(%x: tensor<?x24x64xf32>, %dt: tensor<?x24xf32>,
                  %A: tensor<24xf32>, %B: tensor<?x1x128xf32>,
                  %C: tensor<?x1x128xf32>, %D: tensor<24xf32>,
                  %dt_bias: tensor<24xf32>, %z: tensor<?x24x64xf32>,
                  %state: tensor<?x24x64x128xf32>, %y_buf: tensor<?x24x64xf32>)
    -> (tensor<?x24x64x128xf32>, tensor<?x24x64xf32>) {
  %new_state, %y = ssm.state_update
      ins(%x, %dt, %A, %B, %C : tensor<?x24x64xf32>, tensor<?x24xf32>,
          tensor<24xf32>, tensor<?x1x128xf32>, tensor<?x1x128xf32>)
      skip(%D : tensor<24xf32>) gate(%z : tensor<?x24x64xf32>)
      dt_bias(%dt_bias : tensor<24xf32>) dt_softplus
      outs(%state, %y_buf : tensor<?x24x64x128xf32>, tensor<?x24x64xf32>)
  return %new_state, %y : tensor<?x24x64x128xf32>, tensor<?x24x64xf32>
}
