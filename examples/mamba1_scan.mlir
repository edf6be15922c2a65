// The state-space core of one Mamba-1 layer (mamba-130m shapes: 1536
// channels, d_state 16), batch and length dynamic. `scan` runs the selective
// scan over a whole prompt and returns the final state; `step` advances a
// state by one token in place.
//
//   build/bin/ssm-opt examples/mamba1_scan.mlir --ssm-decompose

// u, delta, z: [B, D, L] (channel-major, as mamba_ssm lays them out);
// B and C: [B, groups, N, L].
func.func @scan(%u: tensor<?x1536x?xf32>, %delta: tensor<?x1536x?xf32>,
                %A: tensor<1536x16xf32>, %B: tensor<?x1x16x?xf32>,
                %C: tensor<?x1x16x?xf32>, %D: tensor<1536xf32>,
                %z: tensor<?x1536x?xf32>, %delta_bias: tensor<1536xf32>)
    -> (tensor<?x1536x?xf32>, tensor<?x1536x16xf32>) {
  %y, %state = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) gate(%z)
      delta_bias(%delta_bias) delta_softplus
      : (tensor<?x1536x?xf32>, tensor<?x1536x?xf32>, tensor<1536x16xf32>,
         tensor<?x1x16x?xf32>, tensor<?x1x16x?xf32>, tensor<1536xf32>,
         tensor<?x1536x?xf32>, tensor<1536xf32>)
      -> (tensor<?x1536x?xf32>, tensor<?x1536x16xf32>)
  return %y, %state : tensor<?x1536x?xf32>, tensor<?x1536x16xf32>
}

// One token: x, dt, z: [B, D]; B and C: [B, groups, N]; the state [B, D, N]
// is updated in place.
func.func @step(%x: tensor<?x1536xf32>, %dt: tensor<?x1536xf32>,
                %A: tensor<1536x16xf32>, %B: tensor<?x1x16xf32>,
                %C: tensor<?x1x16xf32>, %D: tensor<1536xf32>,
                %z: tensor<?x1536xf32>, %dt_bias: tensor<1536xf32>,
                %state: tensor<?x1536x16xf32>, %y_buf: tensor<?x1536xf32>)
    -> (tensor<?x1536x16xf32>, tensor<?x1536xf32>) {
  %new_state, %y = ssm.state_update
      ins(%x, %dt, %A, %B, %C : tensor<?x1536xf32>, tensor<?x1536xf32>,
          tensor<1536x16xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>)
      skip(%D : tensor<1536xf32>) gate(%z : tensor<?x1536xf32>)
      dt_bias(%dt_bias : tensor<1536xf32>) dt_softplus
      outs(%state, %y_buf : tensor<?x1536x16xf32>, tensor<?x1536xf32>)
  return %new_state, %y : tensor<?x1536x16xf32>, tensor<?x1536xf32>
}
