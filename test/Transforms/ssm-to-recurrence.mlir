// RUN: ssm-opt %s -ssm-to-recurrence -split-input-file | FileCheck %s
// Each scan-like op as the core op: its operands keep their layouts (no
// transposes, no copies) and its coefficients become the region.

// Mamba-1: channel d = (g, p); a diagonal transition exp(δA) per (p, n);
// δ = softplus(delta + bias) in the region; the input B̄u = (δu) ⊗ B, so
// that δu is a value per (t, p); the state starts from `init`.
// CHECK-LABEL: func.func @selective_scan
// CHECK: %[[Y0:.*]] = tensor.empty() : tensor<2x8x5xf32>
// CHECK: %[[Y:.*]], %[[H:.*]] = ssm.recurrence diagonal forward ins(%{{.*}} [b, (g, p), t], %{{.*}} [b, (g, p), t], %{{.*}} [(g, p), n], %{{.*}} [b, g, n, t], %{{.*}} [b, g, n, t], %{{.*}} [(g, p)], %{{.*}} [(g, p)] : {{.*}}) outs(%[[Y0]] [b, (g, p), t], %{{.*}} [b, (g, p), n] : tensor<2x8x5xf32>, tensor<2x8x4xf32>) {
// CHECK: ^bb0(%[[U:.*]]: f32, %[[DT:.*]]: f32, %[[A:.*]]: f32, %[[B:.*]]: f32, %[[C:.*]]: f32, %[[D:.*]]: f32, %[[BIAS:.*]]: f32):
// CHECK: %[[S:.*]] = arith.addf %[[DT]], %[[BIAS]]
// CHECK: math.log1p
// CHECK: %[[STEP:.*]] = arith.addf
// CHECK: %[[X:.*]] = arith.mulf %[[STEP]], %[[A]]
// CHECK: %[[DECAY:.*]] = math.exp %[[X]]
// CHECK: %[[DU:.*]] = arith.mulf %[[STEP]], %[[U]]
// CHECK: %[[SKIP:.*]] = arith.mulf %[[D]], %[[U]]
// CHECK: ssm.yield %[[DECAY]], %[[DU]], %[[B]], %[[C]], %[[SKIP]]
// CHECK: return %[[Y]], %[[H]]
func.func @selective_scan(%u: tensor<2x8x5xf32>, %delta: tensor<2x8x5xf32>, %A: tensor<8x4xf32>,
                          %B: tensor<2x2x4x5xf32>, %C: tensor<2x2x4x5xf32>, %D: tensor<8xf32>,
                          %bias: tensor<8xf32>, %h0: tensor<2x8x4xf32>)
    -> (tensor<2x8x5xf32>, tensor<2x8x4xf32>) {
  %y, %h = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) delta_bias(%bias) init(%h0) delta_softplus
      : (tensor<2x8x5xf32>, tensor<2x8x5xf32>, tensor<8x4xf32>, tensor<2x2x4x5xf32>,
         tensor<2x2x4x5xf32>, tensor<8xf32>, tensor<8xf32>, tensor<2x8x4xf32>)
      -> (tensor<2x8x5xf32>, tensor<2x8x4xf32>)
  return %y, %h : tensor<2x8x5xf32>, tensor<2x8x4xf32>
}

// -----

// Mamba-2: head h = (g, r); a scalar transition given as its logarithm
// δ·A; the final state without an initial one starts from zeros; the gate
// silu(z) is the sixth yield; bf16 storage, f32 compute.
// CHECK-LABEL: func.func @ssd
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x4x3x5xf32>)
// CHECK: ssm.recurrence scalar forward log_decay chunk_size 256 ins(%{{.*}} [b, t, (g, r), p], %{{.*}} [b, t, (g, r)], %{{.*}} [(g, r)], %{{.*}} [b, t, g, n], %{{.*}} [b, t, g, n] : {{.*}}) seq_idx(%{{.*}} : tensor<1x7xi32>) outs(%{{.*}} [b, t, (g, r), p], %[[Z]] [b, (g, r), p, n] : tensor<1x7x4x3xbf16>, tensor<1x4x3x5xf32>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[DT:.*]]: f32, %[[A:.*]]: f32, %[[B:.*]]: f32, %[[C:.*]]: f32):
// CHECK: %[[LD:.*]] = arith.mulf %[[DT]], %[[A]]
// CHECK: %[[V:.*]] = arith.mulf %[[DT]], %[[X]]
// CHECK: %[[G:.*]] = arith.divf %[[X]]
// CHECK: ssm.yield %[[LD]], %[[V]], %[[B]], %[[C]], %{{.*}}, %[[G]]
func.func @ssd(%x: tensor<1x7x4x3xbf16>, %dt: tensor<1x7x4xf32>, %A: tensor<4xf32>,
               %B: tensor<1x7x2x5xf32>, %C: tensor<1x7x2x5xf32>, %s: tensor<1x7xi32>)
    -> (tensor<1x7x4x3xbf16>, tensor<1x4x3x5xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C gate(%x) seq_idx(%s)
      : (tensor<1x7x4x3xbf16>, tensor<1x7x4xf32>, tensor<4xf32>, tensor<1x7x2x5xf32>,
         tensor<1x7x2x5xf32>, tensor<1x7x4x3xbf16>, tensor<1x7xi32>)
      -> (tensor<1x7x4x3xbf16>, tensor<1x4x3x5xf32>)
  return %y, %h : tensor<1x7x4x3xbf16>, tensor<1x4x3x5xf32>
}

// -----

// The form an ssd's algorithm names, and its chunk size, go with it.
// CHECK-LABEL: func.func @ssd_chunked
// CHECK: ssm.recurrence scalar forward log_decay form chunked chunk_size 16 ins(
func.func @ssd_chunked(%x: tensor<1x7x4x3xf32>, %dt: tensor<1x7x4xf32>, %A: tensor<4xf32>,
                       %B: tensor<1x7x2x5xf32>) -> tensor<1x7x4x3xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B algorithm chunked {chunk_size = 16 : i64}
      : (tensor<1x7x4x3xf32>, tensor<1x7x4xf32>, tensor<4xf32>, tensor<1x7x2x5xf32>,
         tensor<1x7x2x5xf32>) -> tensor<1x7x4x3xf32>
  return %y : tensor<1x7x4x3xf32>
}

// -----

// A decode step has no time dimension and updates its state destination.
// CHECK-LABEL: func.func @state_update
// CHECK: %[[Y:.*]], %[[H:.*]] = ssm.recurrence scalar forward log_decay ins({{.*}}) outs(%{{.*}} [b, (g, r), p], %{{.*}} [b, (g, r), p, n] : tensor<2x4x3xf32>, tensor<2x4x3x5xf32>)
// CHECK: return %[[H]], %[[Y]]
func.func @state_update(%x: tensor<2x4x3xf32>, %dt: tensor<2x4xf32>, %A: tensor<4xf32>,
                        %B: tensor<2x1x5xf32>, %h: tensor<2x4x3x5xf32>)
    -> (tensor<2x4x3x5xf32>, tensor<2x4x3xf32>) {
  %h1, %y = ssm.state_update ins(%x, %dt, %A, %B, %B
      : tensor<2x4x3xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<2x1x5xf32>, tensor<2x1x5xf32>)
      outs(%h, %x : tensor<2x4x3x5xf32>, tensor<2x4x3xf32>)
  return %h1, %y : tensor<2x4x3x5xf32>, tensor<2x4x3xf32>
}

// -----

// ssm.scan: discretized operands read as they are; a tensor passed twice is
// one input.
// CHECK-LABEL: func.func @scan
// CHECK: ssm.recurrence diagonal reverse ins(%{{.*}} [b, t, p], %{{.*}} [p, n] : tensor<2x8x4xf32>, tensor<4x16xf32>) reset(%{{.*}} : tensor<2x8xi1>) outs(%{{.*}} [b, t, p] : tensor<2x8x4xf32>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[A:.*]]: f32):
// CHECK: ssm.yield %[[A]], %[[X]], %[[A]], %[[A]], %{{.*}} : f32, f32, f32, f32, f32
func.func @scan(%x: tensor<2x8x4xf32>, %a: tensor<4x16xf32>, %r: tensor<2x8xi1>) -> tensor<2x8x4xf32> {
  %y = ssm.scan reverse %x, %a, %a, %a reset(%r)
      : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<2x8xi1>)
      -> tensor<2x8x4xf32>
  return %y : tensor<2x8x4xf32>
}

// -----

// Packed sequences with per-sequence states and no initial one: the state
// starts from zeros with one row per sequence (cu_seqlens' size - 1, so
// dynamic), and the result is cast back to the type the op declared,
// after the core op and outside its region.
// CHECK-LABEL: func.func @ssd_cu_seqlens_states
// CHECK: %[[Z:.*]] = linalg.fill {{.*}} -> tensor<?x4x2x16xf32>
// CHECK: %[[Y:.*]], %[[H:.*]] = ssm.recurrence scalar forward log_decay {{.*}} cu_seqlens(%{{.*}} : tensor<3xi32>) outs(%{{.*}} [b, t, (g, r), p], %[[Z]] [b, (g, r), p, n]
// CHECK: ssm.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[CAST:.*]] = tensor.cast %[[H]] : tensor<?x4x2x16xf32> to tensor<2x4x2x16xf32>
// CHECK-NEXT: return %[[CAST]]
func.func @ssd_cu_seqlens_states(%x: tensor<1x?x4x2xf32>, %dt: tensor<1x?x4xf32>, %A: tensor<4xf32>,
                                 %B: tensor<1x?x1x16xf32>, %cu: tensor<3xi32>)
    -> tensor<2x4x2x16xf32> {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %B cu_seqlens(%cu)
      : (tensor<1x?x4x2xf32>, tensor<1x?x4xf32>, tensor<4xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>,
         tensor<3xi32>) -> (tensor<1x?x4x2xf32>, tensor<2x4x2x16xf32>)
  return %h : tensor<2x4x2x16xf32>
}

// -----

// Transposes around the op become layouts: u read token-major
// [b, t, (g, p)] from the tensor the transpose copied, y written
// token-major into a destination of the transpose's shape; no
// linalg.transpose is left.
// CHECK-LABEL: func.func @token_major
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x5x8xf32>
// CHECK-NOT: linalg.transpose
// CHECK: %[[Y0:.*]] = tensor.empty() : tensor<2x5x8xf32>
// CHECK: %[[Y:.*]] = ssm.recurrence diagonal forward ins(%[[X]] [b, t, (g, p)], %{{.*}} [b, (g, p), t], {{.*}} outs(%[[Y0]] [b, t, (g, p)] : tensor<2x5x8xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: return %[[Y]] : tensor<2x5x8xf32>
func.func @token_major(%x: tensor<2x5x8xf32>, %delta: tensor<2x8x5xf32>, %A: tensor<8x4xf32>,
                       %B: tensor<2x2x4x5xf32>) -> tensor<2x5x8xf32> {
  %e = tensor.empty() : tensor<2x8x5xf32>
  %u = linalg.transpose ins(%x : tensor<2x5x8xf32>) outs(%e : tensor<2x8x5xf32>) permutation = [0, 2, 1]
  %y = ssm.selective_scan %u, %delta, %A, %B, %B
      : (tensor<2x8x5xf32>, tensor<2x8x5xf32>, tensor<8x4xf32>, tensor<2x2x4x5xf32>,
         tensor<2x2x4x5xf32>) -> tensor<2x8x5xf32>
  %e2 = tensor.empty() : tensor<2x5x8xf32>
  %yt = linalg.transpose ins(%y : tensor<2x8x5xf32>) outs(%e2 : tensor<2x5x8xf32>) permutation = [0, 2, 1]
  return %yt : tensor<2x5x8xf32>
}
