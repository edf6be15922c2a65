// Kernels compiled ahead of time by ssmc into an object and a C header that
// AOTTest.cpp links and includes: the path an application takes.

func.func @selective(%u: tensor<2x6x33xf32>, %delta: tensor<2x6x33xf32>,
                     %A: tensor<6x4xf32>, %B: tensor<2x2x4x33xf32>,
                     %C: tensor<2x2x4x33xf32>, %D: tensor<6xf32>,
                     %z: tensor<2x6x33xf32>, %db: tensor<6xf32>,
                     %h0: tensor<2x6x4xf32>)
    -> (tensor<2x6x33xf32>, tensor<2x6x4xf32>) {
  %y, %h = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) gate(%z)
      delta_bias(%db) init(%h0) delta_softplus
      : (tensor<2x6x33xf32>, tensor<2x6x33xf32>, tensor<6x4xf32>,
         tensor<2x2x4x33xf32>, tensor<2x2x4x33xf32>, tensor<6xf32>,
         tensor<2x6x33xf32>, tensor<6xf32>, tensor<2x6x4xf32>)
      -> (tensor<2x6x33xf32>, tensor<2x6x4xf32>)
  return %y, %h : tensor<2x6x33xf32>, tensor<2x6x4xf32>
}

// Dynamic batch and length.
func.func @ssd(%x: tensor<?x?x4x3xf32>, %dt: tensor<?x?x4xf32>, %A: tensor<4xf32>,
               %B: tensor<?x?x2x5xf32>, %C: tensor<?x?x2x5xf32>, %D: tensor<4xf32>,
               %dtb: tensor<4xf32>, %h0: tensor<?x4x3x5xf32>)
    -> (tensor<?x?x4x3xf32>, tensor<?x4x3x5xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C skip(%D) dt_bias(%dtb) init(%h0) dt_softplus
      : (tensor<?x?x4x3xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x2x5xf32>,
         tensor<?x?x2x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<?x4x3x5xf32>)
      -> (tensor<?x?x4x3xf32>, tensor<?x4x3x5xf32>)
  return %y, %h : tensor<?x?x4x3xf32>, tensor<?x4x3x5xf32>
}

// The decode step: state and y are updated in the caller's buffers.
func.func @decode(%x: tensor<?x4x3xf32>, %dt: tensor<?x4xf32>, %A: tensor<4xf32>,
                  %B: tensor<?x2x5xf32>, %C: tensor<?x2x5xf32>, %D: tensor<4xf32>,
                  %dtb: tensor<4xf32>, %state: tensor<?x4x3x5xf32>,
                  %y: tensor<?x4x3xf32>)
    -> (tensor<?x4x3x5xf32>, tensor<?x4x3xf32>) {
  %s1, %y1 = ssm.state_update ins(%x, %dt, %A, %B, %C : tensor<?x4x3xf32>,
        tensor<?x4xf32>, tensor<4xf32>, tensor<?x2x5xf32>, tensor<?x2x5xf32>)
      skip(%D : tensor<4xf32>) dt_bias(%dtb : tensor<4xf32>) dt_softplus
      outs(%state, %y : tensor<?x4x3x5xf32>, tensor<?x4x3xf32>)
  return %s1, %y1 : tensor<?x4x3x5xf32>, tensor<?x4x3xf32>
}
