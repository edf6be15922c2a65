// RUN: ssm-opt %s -split-input-file -ssm-to-recurrence -ssm-select-gpu-algorithm | FileCheck %s
// RUN: ssm-opt %s -split-input-file -ssm-to-recurrence -ssm-select-gpu-algorithm="chip=sm_90a" | FileCheck %s --check-prefix=SM90A
// RUN: ssm-opt %s -split-input-file -ssm-to-recurrence -ssm-select-gpu-algorithm="ssd-chunks=parallel" | FileCheck %s --check-prefix=PAR
// RUN: ssm-opt %s -split-input-file -ssm-to-recurrence -ssm-select-gpu-algorithm="ssd-chunks=sequential" | FileCheck %s --check-prefix=SEQ
// RUN: not ssm-opt %s -ssm-select-gpu-algorithm="ssd-chunks=sideways" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: for the --ssd-chunks option: Cannot find option named 'sideways'!

// A prefill (dynamic batch and length) takes the chunked form. N = 128:
// chunks of 64 need 49.7 KB of workgroup memory in the mma.sync kernel,
// so 32 on sm_80; the wgmma kernel on sm_90a (P = 64) takes 64 x 64
// tiles. A dynamic batch may be small: spans in parallel. N = 64 leaves
// room for chunks of 64, unless chunk_size says less.
// CHECK-LABEL: func.func @prefill
// CHECK:       ssm.recurrence scalar forward log_decay form chunked chunk_size 32 tile 16 spans parallel ins
// CHECK:       ssm.recurrence scalar forward log_decay form chunked chunk_size 64 tile 16 spans parallel ins
// CHECK:       ssm.recurrence scalar forward log_decay form chunked chunk_size 32 tile 16 spans parallel ins
// SM90A-LABEL: func.func @prefill
// SM90A:       form chunked chunk_size 64 tile 64 spans parallel ins
// SM90A:       form chunked chunk_size 64 tile 64 spans parallel ins
// SM90A:       form chunked chunk_size 32 tile 16 spans parallel ins
// SEQ-LABEL:   func.func @prefill
// SEQ:         form chunked chunk_size 32 tile 16 spans sequential ins
func.func @prefill(%x: tensor<?x?x24x64xf32>, %dt: tensor<?x?x24xf32>, %A: tensor<24xf32>,
                   %B: tensor<?x?x1x128xf32>, %B64: tensor<?x?x1x64xf32>)
    -> (tensor<?x?x24x64xf32>, tensor<?x?x24x64xf32>, tensor<?x?x24x64xf32>) {
  %y = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<?x?x24x64xf32>, tensor<?x?x24xf32>, tensor<24xf32>, tensor<?x?x1x128xf32>,
         tensor<?x?x1x128xf32>) -> tensor<?x?x24x64xf32>
  %n64 = ssm.ssd %x, %dt, %A, %B64, %B64
      : (tensor<?x?x24x64xf32>, tensor<?x?x24xf32>, tensor<24xf32>, tensor<?x?x1x64xf32>,
         tensor<?x?x1x64xf32>) -> tensor<?x?x24x64xf32>
  %q32 = ssm.ssd %x, %dt, %A, %B64, %B64 {chunk_size = 32 : i64}
      : (tensor<?x?x24x64xf32>, tensor<?x?x24xf32>, tensor<24xf32>, tensor<?x?x1x64xf32>,
         tensor<?x?x1x64xf32>) -> tensor<?x?x24x64xf32>
  return %y, %n64, %q32 : tensor<?x?x24x64xf32>, tensor<?x?x24x64xf32>, tensor<?x?x24x64xf32>
}

// -----

// Static lengths: below 128 steps the recurrence, unless the op asks for
// chunks; up to one span (256 steps) the chunks in one kernel; longer,
// spans in parallel while the one kernel's grid is small (2 rows x 24
// heads x 4 channel tiles = 192 blocks), in order once it fills the GPU
// (8 rows: 768 blocks). The order an option forces applies to all of them.
// CHECK-LABEL: func.func @lengths
// CHECK:       ssm.recurrence scalar forward log_decay form recurrent chunk_size 256 ins
// CHECK:       ssm.recurrence scalar forward log_decay form chunked chunk_size 64 tile 16 spans sequential ins
// CHECK:       ssm.recurrence scalar forward log_decay form chunked chunk_size 64 tile 16 spans sequential ins
// CHECK:       ssm.recurrence scalar forward log_decay form chunked chunk_size 64 tile 16 spans parallel ins
// CHECK:       ssm.recurrence scalar forward log_decay form chunked chunk_size 64 tile 16 spans sequential ins
// On sm_90a the wgmma kernel's blocks of 64 channels make 4x fewer: 8 rows
// give 192 blocks, spans in parallel.
// SM90A-LABEL: func.func @lengths
// SM90A:       form recurrent chunk_size 256 ins
// SM90A-COUNT-2: form chunked chunk_size 64 tile 64 spans sequential ins
// SM90A-COUNT-2: form chunked chunk_size 64 tile 64 spans parallel ins
// PAR-LABEL:   func.func @lengths
// PAR:         form recurrent chunk_size 256 ins
// PAR-COUNT-4: spans parallel ins
func.func @lengths(%x: tensor<2x64x24x64xf32>, %dt: tensor<2x64x24xf32>, %A: tensor<24xf32>,
                   %B: tensor<2x64x1x64xf32>, %x256: tensor<2x256x24x64xf32>,
                   %dt256: tensor<2x256x24xf32>, %B256: tensor<2x256x1x64xf32>,
                   %x512: tensor<2x512x24x64xf32>, %dt512: tensor<2x512x24xf32>,
                   %B512: tensor<2x512x1x64xf32>, %x8: tensor<8x512x24x64xf32>,
                   %dt8: tensor<8x512x24xf32>, %B8: tensor<8x512x1x64xf32>)
    -> (tensor<2x64x24x64xf32>, tensor<2x64x24x64xf32>, tensor<2x256x24x64xf32>,
        tensor<2x512x24x64xf32>, tensor<8x512x24x64xf32>) {
  %short = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<2x64x24x64xf32>, tensor<2x64x24xf32>, tensor<24xf32>, tensor<2x64x1x64xf32>,
         tensor<2x64x1x64xf32>) -> tensor<2x64x24x64xf32>
  %asked = ssm.ssd %x, %dt, %A, %B, %B algorithm chunked
      : (tensor<2x64x24x64xf32>, tensor<2x64x24xf32>, tensor<24xf32>, tensor<2x64x1x64xf32>,
         tensor<2x64x1x64xf32>) -> tensor<2x64x24x64xf32>
  %span = ssm.ssd %x256, %dt256, %A, %B256, %B256
      : (tensor<2x256x24x64xf32>, tensor<2x256x24xf32>, tensor<24xf32>, tensor<2x256x1x64xf32>,
         tensor<2x256x1x64xf32>) -> tensor<2x256x24x64xf32>
  %spans = ssm.ssd %x512, %dt512, %A, %B512, %B512
      : (tensor<2x512x24x64xf32>, tensor<2x512x24xf32>, tensor<24xf32>, tensor<2x512x1x64xf32>,
         tensor<2x512x1x64xf32>) -> tensor<2x512x24x64xf32>
  %full = ssm.ssd %x8, %dt8, %A, %B8, %B8
      : (tensor<8x512x24x64xf32>, tensor<8x512x24xf32>, tensor<24xf32>, tensor<8x512x1x64xf32>,
         tensor<8x512x1x64xf32>) -> tensor<8x512x24x64xf32>
  return %short, %asked, %span, %spans, %full
      : tensor<2x64x24x64xf32>, tensor<2x64x24x64xf32>, tensor<2x256x24x64xf32>,
        tensor<2x512x24x64xf32>, tensor<8x512x24x64xf32>
}

// -----

// Packed sequences walk their chunks in order whatever the option says.
// An op outside the chunked kernels' limits is recurrent even if it asked
// for chunks (P = 40 is no multiple of 16; N = 48 no multiple of 32).
// PAR-LABEL: func.func @packed_and_limits
// PAR:       form chunked chunk_size 64 tile 16 spans sequential ins
// PAR:       form recurrent chunk_size 256 ins
// PAR:       form recurrent chunk_size 256 ins
func.func @packed_and_limits(%x: tensor<1x?x2x32xf32>, %dt: tensor<1x?x2xf32>, %A: tensor<2xf32>,
                             %B: tensor<1x?x1x64xf32>, %cu: tensor<?xi64>,
                             %x40: tensor<1x?x2x40xf32>, %B48: tensor<1x?x1x48xf32>)
    -> (tensor<1x?x2x32xf32>, tensor<1x?x2x40xf32>, tensor<1x?x2x32xf32>) {
  %y = ssm.ssd %x, %dt, %A, %B, %B cu_seqlens(%cu)
      : (tensor<1x?x2x32xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x1x64xf32>,
         tensor<1x?x1x64xf32>, tensor<?xi64>) -> tensor<1x?x2x32xf32>
  %p40 = ssm.ssd %x40, %dt, %A, %B, %B algorithm chunked
      : (tensor<1x?x2x40xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x1x64xf32>,
         tensor<1x?x1x64xf32>) -> tensor<1x?x2x40xf32>
  %n48 = ssm.ssd %x, %dt, %A, %B48, %B48 algorithm chunked
      : (tensor<1x?x2x32xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x1x48xf32>,
         tensor<1x?x1x48xf32>) -> tensor<1x?x2x32xf32>
  return %y, %p40, %n48 : tensor<1x?x2x32xf32>, tensor<1x?x2x40xf32>, tensor<1x?x2x32xf32>
}

// -----

// A configuration is kept (here one sm_90a could improve on); ops that
// cannot take the chunked form (Mamba-1's diagonal transition, a decode
// step) get none.
// SM90A-LABEL: func.func @kept_and_none
// SM90A:       ssm.recurrence scalar forward log_decay form chunked chunk_size 32 tile 16 spans sequential ins
// SM90A:       ssm.recurrence diagonal forward ins
// SM90A:       ssm.recurrence scalar forward log_decay ins
func.func @kept_and_none(%x: tensor<2x?x24x64xf32>, %dt: tensor<2x?x24xf32>, %A: tensor<24xf32>,
                         %B: tensor<2x?x1x64xf32>, %u: tensor<2x32x?xf32>, %d: tensor<2x32x?xf32>,
                         %a: tensor<32x16xf32>, %b: tensor<2x1x16x?xf32>,
                         %h: tensor<2x24x64x64xf32>, %xs: tensor<2x24x64xf32>,
                         %dts: tensor<2x24xf32>, %bs: tensor<2x1x64xf32>)
    -> (tensor<2x?x24x64xf32>, tensor<2x32x?xf32>, tensor<2x24x64x64xf32>, tensor<2x24x64xf32>) {
  %y = ssm.recurrence scalar forward log_decay form chunked chunk_size 32 tile 16 spans sequential
      ins(%x [b, t, (g, r), p], %dt [b, t, (g, r)], %A [(g, r)], %B [b, t, g, n]
          : tensor<2x?x24x64xf32>, tensor<2x?x24xf32>, tensor<24xf32>, tensor<2x?x1x64xf32>)
      outs(%x [b, t, (g, r), p] : tensor<2x?x24x64xf32>) {
  ^bb0(%xe: f32, %dte: f32, %ae: f32, %be: f32):
    %ld = arith.mulf %dte, %ae : f32
    %v = arith.mulf %dte, %xe : f32
    %zero = arith.constant 0.0 : f32
    ssm.yield %ld, %v, %be, %be, %zero : f32, f32, f32, f32, f32
  }
  %s = ssm.selective_scan %u, %d, %a, %b, %b
      : (tensor<2x32x?xf32>, tensor<2x32x?xf32>, tensor<32x16xf32>, tensor<2x1x16x?xf32>,
         tensor<2x1x16x?xf32>) -> tensor<2x32x?xf32>
  %y0 = tensor.empty() : tensor<2x24x64xf32>
  %h1, %ys = ssm.state_update ins(%xs, %dts, %A, %bs, %bs
      : tensor<2x24x64xf32>, tensor<2x24xf32>, tensor<24xf32>, tensor<2x1x64xf32>, tensor<2x1x64xf32>)
      outs(%h, %y0 : tensor<2x24x64x64xf32>, tensor<2x24x64xf32>)
  return %y, %s, %h1, %ys : tensor<2x?x24x64xf32>, tensor<2x32x?xf32>, tensor<2x24x64x64xf32>, tensor<2x24x64xf32>
}
