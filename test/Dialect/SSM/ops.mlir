// RUN: ssm-opt %s | ssm-opt | FileCheck %s
// RUN: ssm-opt %s --mlir-print-op-generic | ssm-opt | FileCheck %s
// Round trip of every op of the dialect, with static and dynamic shapes and
// every optional operand, in the custom and the generic form.

// CHECK-LABEL: func.func @discretize
func.func @discretize(%A: tensor<?x64x16xf32>, %B: tensor<?x64x16xf32>,
                      %dt: tensor<?x64x16xf32>, %A16: tensor<4xbf16>)
    -> (tensor<?x64x16xf32>, tensor<?x64x16xf32>, tensor<4xbf16>) {
  // CHECK: ssm.discretize zoh %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64x16xf32>
  %a, %b = ssm.discretize zoh %A, %B, %dt : tensor<?x64x16xf32>
  // CHECK: ssm.discretize bilinear
  %c, %d = ssm.discretize bilinear %A, %B, %dt : tensor<?x64x16xf32>
  // CHECK: ssm.discretize euler
  %e, %f = ssm.discretize euler %A, %B, %dt : tensor<?x64x16xf32>
  // CHECK: ssm.discretize mamba {{.*}} : tensor<4xbf16>
  %g, %h = ssm.discretize mamba %A16, %A16, %A16 : tensor<4xbf16>
  return %a, %d, %h : tensor<?x64x16xf32>, tensor<?x64x16xf32>, tensor<4xbf16>
}

// CHECK-LABEL: func.func @scan
func.func @scan(%x: tensor<?x?x64xf32>, %a: tensor<?x?x64x16xf32>,
                %b: tensor<?x?x64x16xf32>, %c: tensor<64x16xf32>,
                %d: tensor<64xf32>, %h0: tensor<?x64x16xf32>,
                %reset: tensor<?x?xi1>) -> (tensor<?x?x64xf32>, tensor<?x64x16xf32>) {
  // CHECK: ssm.scan forward %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} :
  %y0 = ssm.scan forward %x, %a, %b, %c
      : (tensor<?x?x64xf32>, tensor<?x?x64x16xf32>, tensor<?x?x64x16xf32>,
         tensor<64x16xf32>) -> tensor<?x?x64xf32>
  // CHECK: ssm.scan reverse {{.*}} skip(%{{.*}}) init(%{{.*}}) reset(%{{.*}}) :
  // CHECK-SAME: -> (tensor<?x?x64xf32>, tensor<?x64x16xf32>)
  %y, %h = ssm.scan reverse %y0, %a, %b, %c skip(%d) init(%h0) reset(%reset)
      : (tensor<?x?x64xf32>, tensor<?x?x64x16xf32>, tensor<?x?x64x16xf32>,
         tensor<64x16xf32>, tensor<64xf32>, tensor<?x64x16xf32>, tensor<?x?xi1>)
      -> (tensor<?x?x64xf32>, tensor<?x64x16xf32>)
  return %y, %h : tensor<?x?x64xf32>, tensor<?x64x16xf32>
}

// CHECK-LABEL: func.func @selective_scan
func.func @selective_scan(%u: tensor<?x1536x?xbf16>, %delta: tensor<?x1536x?xbf16>,
                          %A: tensor<1536x16xf32>, %B: tensor<?x2x16x?xbf16>,
                          %C: tensor<1536x16xf32>, %D: tensor<1536xf32>,
                          %z: tensor<?x1536x?xbf16>, %db: tensor<1536xf32>,
                          %h0: tensor<?x1536x16xf32>)
    -> (tensor<?x1536x?xbf16>, tensor<?x1536x?xbf16>, tensor<?x1536x16xf32>) {
  // CHECK: ssm.selective_scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} :
  %y0 = ssm.selective_scan %u, %delta, %A, %B, %C
      : (tensor<?x1536x?xbf16>, tensor<?x1536x?xbf16>, tensor<1536x16xf32>,
         tensor<?x2x16x?xbf16>, tensor<1536x16xf32>) -> tensor<?x1536x?xbf16>
  // CHECK: ssm.selective_scan {{.*}} skip(%{{.*}}) gate(%{{.*}}) delta_bias(%{{.*}}) init(%{{.*}}) delta_softplus method zoh :
  %y, %last = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) gate(%z)
      delta_bias(%db) init(%h0) delta_softplus method zoh
      : (tensor<?x1536x?xbf16>, tensor<?x1536x?xbf16>, tensor<1536x16xf32>,
         tensor<?x2x16x?xbf16>, tensor<1536x16xf32>, tensor<1536xf32>,
         tensor<?x1536x?xbf16>, tensor<1536xf32>, tensor<?x1536x16xf32>)
      -> (tensor<?x1536x?xbf16>, tensor<?x1536x16xf32>)
  return %y0, %y, %last : tensor<?x1536x?xbf16>, tensor<?x1536x?xbf16>, tensor<?x1536x16xf32>
}

// CHECK-LABEL: func.func @ssd
func.func @ssd(%x: tensor<?x?x24x64xf16>, %dt: tensor<?x?x24xf32>, %A: tensor<24xf32>,
               %B: tensor<?x?x2x128xf16>, %C: tensor<?x?x2x128xf16>,
               %D: tensor<24x64xf32>, %z: tensor<?x?x24x64xf16>, %dtb: tensor<24xf32>,
               %h0: tensor<?x24x64x128xf32>, %seq: tensor<?x?xi32>,
               %xp: tensor<1x?x24x64xf16>, %dtp: tensor<1x?x24xf32>,
               %Bp: tensor<1x?x2x128xf16>, %cu: tensor<4xi64>, %s0: tensor<3x24x64x128xf32>)
    -> (tensor<?x?x24x64xf16>, tensor<?x24x64x128xf32>, tensor<3x24x64x128xf32>) {
  // CHECK: ssm.ssd {{.*}} skip(%{{.*}}) gate(%{{.*}}) dt_bias(%{{.*}}) init(%{{.*}}) seq_idx(%{{.*}}) dt_softplus dt_limit [0.000000e+00, 1.000000e-01] {chunk_size = 128 : i64} :
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C skip(%D) gate(%z) dt_bias(%dtb) init(%h0)
      seq_idx(%seq) dt_softplus dt_limit [0.0, 0.1] {chunk_size = 128 : i64}
      : (tensor<?x?x24x64xf16>, tensor<?x?x24xf32>, tensor<24xf32>,
         tensor<?x?x2x128xf16>, tensor<?x?x2x128xf16>, tensor<24x64xf32>,
         tensor<?x?x24x64xf16>, tensor<24xf32>, tensor<?x24x64x128xf32>, tensor<?x?xi32>)
      -> (tensor<?x?x24x64xf16>, tensor<?x24x64x128xf32>)
  // CHECK: ssm.ssd {{.*}} init(%{{.*}}) cu_seqlens(%{{.*}}) :
  // CHECK-NOT: chunk_size
  // CHECK-SAME: -> (tensor<1x?x24x64xf16>, tensor<3x24x64x128xf32>)
  %yp, %hp = ssm.ssd %xp, %dtp, %A, %Bp, %Bp init(%s0) cu_seqlens(%cu)
      : (tensor<1x?x24x64xf16>, tensor<1x?x24xf32>, tensor<24xf32>,
         tensor<1x?x2x128xf16>, tensor<1x?x2x128xf16>, tensor<3x24x64x128xf32>,
         tensor<4xi64>) -> (tensor<1x?x24x64xf16>, tensor<3x24x64x128xf32>)
  // CHECK: ssm.ssd {{.*}} dt_softplus algorithm chunked {chunk_size = 64 : i64} :
  %yc = ssm.ssd %x, %dt, %A, %B, %C dt_softplus algorithm chunked {chunk_size = 64 : i64}
      : (tensor<?x?x24x64xf16>, tensor<?x?x24xf32>, tensor<24xf32>,
         tensor<?x?x2x128xf16>, tensor<?x?x2x128xf16>) -> tensor<?x?x24x64xf16>
  // CHECK: ssm.ssd {{.*}} algorithm recurrent :
  %yr = ssm.ssd %x, %dt, %A, %B, %C algorithm recurrent
      : (tensor<?x?x24x64xf16>, tensor<?x?x24xf32>, tensor<24xf32>,
         tensor<?x?x2x128xf16>, tensor<?x?x2x128xf16>) -> tensor<?x?x24x64xf16>
  return %y, %h, %hp : tensor<?x?x24x64xf16>, tensor<?x24x64x128xf32>, tensor<3x24x64x128xf32>
}

// CHECK-LABEL: func.func @causal_conv1d
func.func @causal_conv1d(%x: tensor<?x1536x?xf32>, %w: tensor<1536x4xf32>,
                         %b: tensor<1536xf32>, %s0: tensor<?x1536x3xf32>,
                         %w1: tensor<1536x1xf32>)
    -> (tensor<?x1536x?xf32>, tensor<?x1536x3xf32>, tensor<?x1536x?xf32>) {
  // CHECK: ssm.causal_conv1d %{{.*}}, %{{.*}} bias(%{{.*}}) init_state(%{{.*}}) silu :
  %out, %s = ssm.causal_conv1d %x, %w bias(%b) init_state(%s0) silu
      : (tensor<?x1536x?xf32>, tensor<1536x4xf32>, tensor<1536xf32>,
         tensor<?x1536x3xf32>) -> (tensor<?x1536x?xf32>, tensor<?x1536x3xf32>)
  // CHECK: ssm.causal_conv1d %{{.*}}, %{{.*}} : (tensor<?x1536x?xf32>, tensor<1536x1xf32>)
  %o1 = ssm.causal_conv1d %x, %w1
      : (tensor<?x1536x?xf32>, tensor<1536x1xf32>) -> tensor<?x1536x?xf32>
  return %out, %s, %o1 : tensor<?x1536x?xf32>, tensor<?x1536x3xf32>, tensor<?x1536x?xf32>
}

// CHECK-LABEL: func.func @state_update
func.func @state_update(%x1: tensor<?x1536xf32>, %dt1: tensor<?x1536xf32>,
                        %A1: tensor<1536x16xf32>, %B: tensor<?x1x16xf32>,
                        %D1: tensor<1536xf32>, %h1: tensor<?x1536x16xf32>,
                        %x2: tensor<?x24x64xbf16>, %dt2: tensor<?x24xf32>,
                        %A2: tensor<24xf32>, %B2: tensor<?x1x128xbf16>,
                        %D2: tensor<24x64xf32>, %dtb2: tensor<24xf32>,
                        %h2: tensor<?x24x64x128xf32>)
    -> (tensor<?x1536x16xf32>, tensor<?x1536xf32>, tensor<?x24x64x128xf32>, tensor<?x24x64xbf16>) {
  // CHECK: ssm.state_update ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x1536xf32>, tensor<?x1536xf32>, tensor<1536x16xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>) skip(%{{.*}} : tensor<1536xf32>) gate(%{{.*}} : tensor<?x1536xf32>) dt_softplus outs(%{{.*}}, %{{.*}} : tensor<?x1536x16xf32>, tensor<?x1536xf32>)
  %n1, %y1 = ssm.state_update ins(%x1, %dt1, %A1, %B, %B
      : tensor<?x1536xf32>, tensor<?x1536xf32>, tensor<1536x16xf32>,
        tensor<?x1x16xf32>, tensor<?x1x16xf32>)
      skip(%D1 : tensor<1536xf32>) gate(%x1 : tensor<?x1536xf32>) dt_softplus
      outs(%h1, %x1 : tensor<?x1536x16xf32>, tensor<?x1536xf32>)
  // CHECK: ssm.state_update {{.*}} dt_bias(%{{.*}} : tensor<24xf32>) dt_softplus dt_limit [1.000000e-03, 1.000000e-01] outs(%{{.*}}, %{{.*}} : tensor<?x24x64x128xf32>, tensor<?x24x64xbf16>)
  %n2, %y2 = ssm.state_update ins(%x2, %dt2, %A2, %B2, %B2
      : tensor<?x24x64xbf16>, tensor<?x24xf32>, tensor<24xf32>,
        tensor<?x1x128xbf16>, tensor<?x1x128xbf16>)
      skip(%D2 : tensor<24x64xf32>) dt_bias(%dtb2 : tensor<24xf32>) dt_softplus
      dt_limit [0.001, 0.1]
      outs(%h2, %x2 : tensor<?x24x64x128xf32>, tensor<?x24x64xbf16>)
  return %n1, %y1, %n2, %y2 : tensor<?x1536x16xf32>, tensor<?x1536xf32>, tensor<?x24x64x128xf32>, tensor<?x24x64xbf16>
}

// The core op: Mamba-2's SSD with a per-sequence state, and a reverse
// diagonal scan with a reset mask and no state destination.
// CHECK-LABEL: func.func @recurrence
func.func @recurrence(%x: tensor<1x?x24x64xf32>, %dt: tensor<1x?x24xf32>, %A: tensor<24xf32>,
                      %B: tensor<1x?x1x128xf32>, %cu: tensor<3xi32>,
                      %h0: tensor<2x24x64x128xf32>, %u: tensor<2x8x4xf16>,
                      %a: tensor<4x16xf32>, %r: tensor<2x8xi1>)
    -> (tensor<1x?x24x64xf32>, tensor<2x24x64x128xf32>, tensor<2x8x4xf16>) {
  %c1 = arith.constant 1 : index
  %L = tensor.dim %x, %c1 : tensor<1x?x24x64xf32>
  %y0 = tensor.empty(%L) : tensor<1x?x24x64xf32>
  // CHECK: ssm.recurrence scalar forward log_decay ins(%{{.*}} [b, t, (g, r), p], %{{.*}} [b, t, (g, r)], %{{.*}} [(g, r)], %{{.*}} [b, t, g, n] : tensor<1x?x24x64xf32>, tensor<1x?x24xf32>, tensor<24xf32>, tensor<1x?x1x128xf32>) cu_seqlens(%{{.*}} : tensor<3xi32>) outs(%{{.*}} [b, t, (g, r), p], %{{.*}} [b, (g, r), p, n] : tensor<1x?x24x64xf32>, tensor<2x24x64x128xf32>) {
  // CHECK: ^bb0(%{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32):
  // CHECK: ssm.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32, f32, f32
  %y, %h = ssm.recurrence scalar forward log_decay
      ins(%x [b, t, (g, r), p], %dt [b, t, (g, r)], %A [(g, r)], %B [b, t, g, n]
          : tensor<1x?x24x64xf32>, tensor<1x?x24xf32>, tensor<24xf32>, tensor<1x?x1x128xf32>)
      cu_seqlens(%cu : tensor<3xi32>)
      outs(%y0 [b, t, (g, r), p], %h0 [b, (g, r), p, n]
          : tensor<1x?x24x64xf32>, tensor<2x24x64x128xf32>) {
  ^bb0(%xe: f32, %dte: f32, %ae: f32, %be: f32):
    %ld = arith.mulf %dte, %ae : f32
    %v = arith.mulf %dte, %xe : f32
    %zero = arith.constant 0.0 : f32
    ssm.yield %ld, %v, %be, %be, %zero : f32, f32, f32, f32, f32
  }
  %z0 = tensor.empty() : tensor<2x8x4xf16>
  // CHECK: ssm.recurrence diagonal reverse ins(%{{.*}} [b, t, p], %{{.*}} [p, n] : tensor<2x8x4xf16>, tensor<4x16xf32>) reset(%{{.*}} : tensor<2x8xi1>) outs(%{{.*}} [b, t, p] : tensor<2x8x4xf16>)
  %z = ssm.recurrence diagonal reverse
      ins(%u [b, t, p], %a [p, n] : tensor<2x8x4xf16>, tensor<4x16xf32>)
      reset(%r : tensor<2x8xi1>)
      outs(%z0 [b, t, p] : tensor<2x8x4xf16>) {
  ^bb0(%ue: f32, %ae: f32):
    %zero = arith.constant 0.0 : f32
    ssm.yield %ae, %ue, %ae, %ae, %zero, %ue : f32, f32, f32, f32, f32, f32
  }
  return %y, %h, %z : tensor<1x?x24x64xf32>, tensor<2x24x64x128xf32>, tensor<2x8x4xf16>
}

// A configuration as ssm-select-gpu-algorithm records it: form, chunk
// length, tile and span order, in that order.
// Two input terms, one read at the previous step (a trapezoidal rule).
// CHECK-LABEL: func.func @recurrence_terms
// CHECK: ssm.recurrence scalar reverse terms 2 ins(%{{.*}} [b, t, p], %{{.*}} [b, t, p] previous, %{{.*}} [b, t, n], %{{.*}} [b, t, n] previous : tensor<2x?x4xf32>, tensor<2x?x4xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>) seq_idx(%{{.*}} : tensor<2x?xi64>) outs(
// CHECK: ssm.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32, f32, f32, f32, f32
func.func @recurrence_terms(%x: tensor<2x?x4xf32>, %B: tensor<2x?x8xf32>,
                            %s: tensor<2x?xi64>) -> tensor<2x?x4xf32> {
  %y = ssm.recurrence scalar reverse terms 2
      ins(%x [b, t, p], %x [b, t, p] previous, %B [b, t, n], %B [b, t, n] previous
          : tensor<2x?x4xf32>, tensor<2x?x4xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>)
      seq_idx(%s : tensor<2x?xi64>)
      outs(%x [b, t, p] : tensor<2x?x4xf32>) {
  ^bb0(%xe: f32, %xp: f32, %be: f32, %bp: f32):
    %half = arith.constant 0.5 : f32
    %zero = arith.constant 0.0 : f32
    ssm.yield %half, %xp, %bp, %xe, %be, %be, %zero : f32, f32, f32, f32, f32, f32, f32
  }
  return %y : tensor<2x?x4xf32>
}

// CHECK-LABEL: func.func @recurrence_configured
// CHECK: ssm.recurrence scalar forward log_decay form chunked chunk_size 64 tile 16 spans parallel ins(
// CHECK: ssm.recurrence scalar forward log_decay form chunked chunk_size 32 tile 16 spans sequential ins(
func.func @recurrence_configured(%x: tensor<2x?x24x64xf32>, %dt: tensor<2x?x24xf32>,
                                 %A: tensor<24xf32>, %B: tensor<2x?x1x128xf32>)
    -> (tensor<2x?x24x64xf32>, tensor<2x?x24x64xf32>) {
  %y = ssm.recurrence scalar forward log_decay form chunked chunk_size 64 tile 16 spans parallel
      ins(%x [b, t, (g, r), p], %dt [b, t, (g, r)], %A [(g, r)], %B [b, t, g, n]
          : tensor<2x?x24x64xf32>, tensor<2x?x24xf32>, tensor<24xf32>, tensor<2x?x1x128xf32>)
      outs(%x [b, t, (g, r), p] : tensor<2x?x24x64xf32>) {
  ^bb0(%xe: f32, %dte: f32, %ae: f32, %be: f32):
    %ld = arith.mulf %dte, %ae : f32
    %v = arith.mulf %dte, %xe : f32
    %zero = arith.constant 0.0 : f32
    ssm.yield %ld, %v, %be, %be, %zero : f32, f32, f32, f32, f32
  }
  %w = ssm.recurrence scalar forward log_decay form chunked chunk_size 32 tile 16 spans sequential
      ins(%x [b, t, (g, r), p], %dt [b, t, (g, r)], %A [(g, r)], %B [b, t, g, n]
          : tensor<2x?x24x64xf32>, tensor<2x?x24xf32>, tensor<24xf32>, tensor<2x?x1x128xf32>)
      outs(%x [b, t, (g, r), p] : tensor<2x?x24x64xf32>) {
  ^bb0(%xe: f32, %dte: f32, %ae: f32, %be: f32):
    %ld = arith.mulf %dte, %ae : f32
    %v = arith.mulf %dte, %xe : f32
    %zero = arith.constant 0.0 : f32
    ssm.yield %ld, %v, %be, %be, %zero : f32, f32, f32, f32, f32
  }
  return %y, %w : tensor<2x?x24x64xf32>, tensor<2x?x24x64xf32>
}

// Packed weights: the packed operand in 4-byte words (a weights buffer's)
// or in bytes; tensor and memref forms.
// CHECK-LABEL: func.func @packed
func.func @packed(%x: tensor<?x64xf32>, %wq: tensor<1088xf32>,
                  %wb: tensor<8192xi8>, %y: tensor<?x64xf32>,
                  %table: tensor<4352xf32>, %ids: tensor<?xi64>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: ssm.packed_matmul q8_0 ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<1088xf32>) outs(%{{.*}} : tensor<?x64xf32>) -> tensor<?x64xf32>
  %0 = ssm.packed_matmul q8_0 ins(%x, %wq : tensor<?x64xf32>, tensor<1088xf32>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  // CHECK: ssm.packed_matmul bf16 ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<8192xi8>)
  %1 = ssm.packed_matmul bf16 ins(%x, %wb : tensor<?x64xf32>, tensor<8192xi8>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  // CHECK: ssm.packed_gather q8_0 rows 256 ins(%{{.*}}, %{{.*}} : tensor<4352xf32>, tensor<?xi64>) outs(%{{.*}} : tensor<?x64xf32>) -> tensor<?x64xf32>
  %2 = ssm.packed_gather q8_0 rows 256 ins(%table, %ids : tensor<4352xf32>, tensor<?xi64>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %0, %1, %2 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func.func @packed_memrefs
func.func @packed_memrefs(%x: memref<?x64xf32>, %w: memref<576xf32>,
                          %y: memref<?x64xf32>, %ids: memref<?xi64>) {
  // CHECK: ssm.packed_matmul q4_0 ins(%{{.*}}, %{{.*}} : memref<?x64xf32>, memref<576xf32>) outs(%{{.*}} : memref<?x64xf32>)
  // CHECK-NOT: ->
  ssm.packed_matmul q4_0 ins(%x, %w : memref<?x64xf32>, memref<576xf32>)
      outs(%y : memref<?x64xf32>)
  // CHECK: ssm.packed_gather q4_0 rows 64 ins
  ssm.packed_gather q4_0 rows 64 ins(%w, %ids : memref<576xf32>, memref<?xi64>)
      outs(%y : memref<?x64xf32>)
  return
}
