// RUN: ssm-opt %s -split-input-file -convert-ssm-to-gpu -verify-diagnostics

// An op without a GPU lowering is an error at the op, naming it.
func.func @discretize(%A: tensor<4x16xf32>, %dt: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @below {{'ssm.discretize' op has no GPU lowering yet (convert-ssm-to-gpu lowers ssm.state_update, ssm.causal_conv1d, ssm.scan, ssm.selective_scan and ssm.ssd); compile it for the CPU instead}}
  %a, %b = ssm.discretize zoh %A, %A, %dt : tensor<4x16xf32>
  return %a : tensor<4x16xf32>
}

// -----

// The selective scan carries its states in registers: N must be static and
// at most 256 (8 per lane).
func.func @dynamic_n(%u: tensor<1x4x8xf32>, %A: tensor<4x?xf32>) -> tensor<1x4x8xf32> {
  // expected-error @below {{'ssm.selective_scan' op needs a static state size N of at most 256 on the GPU (its states are carried in registers)}}
  %y = ssm.selective_scan %u, %u, %A, %A, %A
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x?xf32>, tensor<4x?xf32>,
         tensor<4x?xf32>) -> tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}

// -----

func.func @wide(%u: tensor<1x4x8xf32>, %A: tensor<4x288xf32>) -> tensor<1x4x8xf32> {
  // expected-error @below {{'ssm.selective_scan' op needs a static state size N of at most 256}}
  %y = ssm.selective_scan %u, %u, %A, %A, %A
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x288xf32>, tensor<4x288xf32>,
         tensor<4x288xf32>) -> tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}

// -----

// The SSD's states too: the recurrent form is one for every op, and the
// diagnostic names the op the user wrote.
func.func @ssd_dynamic_n(%x: tensor<1x8x2x4xf32>, %dt: tensor<1x8x2xf32>, %A: tensor<2xf32>,
                         %B: tensor<1x8x1x?xf32>) -> tensor<1x8x2x4xf32> {
  // expected-error @below {{'ssm.ssd' op needs a static state size N of at most 256 on the GPU (its states are carried in registers)}}
  %y = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x8x2x4xf32>, tensor<1x8x2xf32>, tensor<2xf32>, tensor<1x8x1x?xf32>,
         tensor<1x8x1x?xf32>) -> tensor<1x8x2x4xf32>
  return %y : tensor<1x8x2x4xf32>
}
