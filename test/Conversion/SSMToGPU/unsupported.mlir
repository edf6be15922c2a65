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

// -----

// A configuration the chip has no kernel for (wgmma's tile of 64 channels
// on sm_80, as an ssm-select-gpu-algorithm run for sm_90a records it) is
// refused, not lowered some other way.
func.func @configured_for_another_chip(%x: tensor<2x?x2x64xf32>, %dt: tensor<2x?x2xf32>,
                                       %A: tensor<2xf32>, %B: tensor<2x?x1x64xf32>)
    -> tensor<2x?x2x64xf32> {
  // expected-error @below {{'ssm.recurrence' op is configured for a chunked kernel that sm_80 does not have (chunk_size 64, tile 64); ssm-select-gpu-algorithm records one it has}}
  %y = ssm.recurrence scalar forward log_decay form chunked chunk_size 64 tile 64 spans sequential
      ins(%x [b, t, (g, r), p], %dt [b, t, (g, r)], %A [(g, r)], %B [b, t, g, n]
          : tensor<2x?x2x64xf32>, tensor<2x?x2xf32>, tensor<2xf32>, tensor<2x?x1x64xf32>)
      outs(%x [b, t, (g, r), p] : tensor<2x?x2x64xf32>) {
  ^bb0(%xe: f32, %dte: f32, %ae: f32, %be: f32):
    %ld = arith.mulf %dte, %ae : f32
    %v = arith.mulf %dte, %xe : f32
    %zero = arith.constant 0.0 : f32
    ssm.yield %ld, %v, %be, %be, %zero : f32, f32, f32, f32, f32
  }
  return %y : tensor<2x?x2x64xf32>
}
