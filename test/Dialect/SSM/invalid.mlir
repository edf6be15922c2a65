// RUN: ssm-opt %s -split-input-file -verify-diagnostics
// One case for every diagnostic the ssm verifiers emit.

// == discretize ==

func.func @discretize_type_mismatch(%a: tensor<4xf32>, %b: tensor<4xf16>) {
  // expected-error @+1 {{failed to verify that all of {A, B, delta, abar, bbar} have same type}}
  %0:2 = "ssm.discretize"(%a, %b, %a) <{method = 0 : i32}>
      : (tensor<4xf32>, tensor<4xf16>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @discretize_bad_method(%a: tensor<4xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'method' [zoh, bilinear, euler, mamba]}}
  %0:2 = ssm.discretize rk4 %a, %a, %a : tensor<4xf32>
  return
}

// == scan ==

// -----

func.func @scan_x_rank(%x: tensor<2x8xf32>, %a: tensor<2x8x4x16xf32>) {
  // expected-error @+1 {{operand 'x' must have rank 3 [B, L, D], got 'tensor<2x8xf32>'}}
  %y = ssm.scan forward %x, %a, %a, %a
      : (tensor<2x8xf32>, tensor<2x8x4x16xf32>, tensor<2x8x4x16xf32>, tensor<2x8x4x16xf32>) -> tensor<2x8x4xf32>
  return
}

// -----

func.func @scan_abar_rank(%x: tensor<2x8x4xf32>, %a: tensor<8x4x16xf32>, %b: tensor<2x8x4x16xf32>) {
  // expected-error @+1 {{operand 'abar' must have rank 4 [B, L, D, N] or 2 [D, N], got 'tensor<8x4x16xf32>'}}
  %y = ssm.scan forward %x, %a, %b, %b
      : (tensor<2x8x4xf32>, tensor<8x4x16xf32>, tensor<2x8x4x16xf32>, tensor<2x8x4x16xf32>) -> tensor<2x8x4xf32>
  return
}

// -----

func.func @scan_length_mismatch(%x: tensor<2x8x4xf32>, %a: tensor<2x7x4x16xf32>) {
  // expected-error @+1 {{operand 'abar' dimension 1 (L) is 7, but operand 'x' dimension 1 gives L = 8}}
  %y = ssm.scan forward %x, %a, %a, %a
      : (tensor<2x8x4xf32>, tensor<2x7x4x16xf32>, tensor<2x7x4x16xf32>, tensor<2x7x4x16xf32>) -> tensor<2x8x4xf32>
  return
}

// -----

func.func @scan_state_size_mismatch(%x: tensor<?x?x4xf32>, %a: tensor<?x?x4x16xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{operand 'c' dimension 1 (N) is 8, but operand 'abar' dimension 3 gives N = 16}}
  %y = ssm.scan forward %x, %a, %a, %c
      : (tensor<?x?x4xf32>, tensor<?x?x4x16xf32>, tensor<?x?x4x16xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @scan_skip(%x: tensor<?x?x4xf32>, %a: tensor<4x16xf32>, %d: tensor<5xf32>) {
  // expected-error @+1 {{operand 'd' dimension 0 (D) is 5, but operand 'x' dimension 2 gives D = 4}}
  %y = ssm.scan forward %x, %a, %a, %a skip(%d)
      : (tensor<?x?x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<5xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @scan_reset(%x: tensor<2x?x4xf32>, %a: tensor<4x16xf32>, %r: tensor<3x?xi1>) {
  // expected-error @+1 {{operand 'reset' dimension 0 (B) is 3, but operand 'x' dimension 0 gives B = 2}}
  %y = ssm.scan forward %x, %a, %a, %a reset(%r)
      : (tensor<2x?x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<3x?xi1>) -> tensor<2x?x4xf32>
  return
}

// -----

func.func @scan_reset_type(%x: tensor<2x?x4xf32>, %a: tensor<4x16xf32>, %r: tensor<2x?xi8>) {
  // expected-error @+1 {{operand #4 must be ranked tensor of 1-bit signless integer values}}
  %y = ssm.scan forward %x, %a, %a, %a reset(%r)
      : (tensor<2x?x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<2x?xi8>) -> tensor<2x?x4xf32>
  return
}

// -----

func.func @scan_result_shape(%x: tensor<2x8x4xf32>, %a: tensor<4x16xf32>) {
  // expected-error @+1 {{result 'y' dimension 2 (D) is 3, but operand 'x' dimension 2 gives D = 4}}
  %y = ssm.scan forward %x, %a, %a, %a
      : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<2x8x3xf32>
  return
}

// -----

func.func @scan_final_state(%x: tensor<2x8x4xf32>, %a: tensor<4x16xf32>) {
  // expected-error @+1 {{result 'final_state' must have rank 3 [B, D, N], got 'tensor<4x16xf32>'}}
  %y, %h = ssm.scan forward %x, %a, %a, %a
      : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> (tensor<2x8x4xf32>, tensor<4x16xf32>)
  return
}

// -----

func.func @scan_result_type(%x: tensor<2x8x4xf32>, %a: tensor<4x16xf32>) {
  // expected-error @+1 {{result 'y' element type 'bf16' must match operand 'x' element type 'f32'}}
  %y = ssm.scan forward %x, %a, %a, %a
      : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<2x8x4xbf16>
  return
}

// -----

func.func @scan_state_type(%x: tensor<2x8x4xf32>, %a: tensor<4x16xf32>, %h0: tensor<2x4x16xf32>) {
  // expected-error @+1 {{result 'final_state' element type 'f16' must match operand 'init' element type 'f32'}}
  %y, %h = ssm.scan forward %x, %a, %a, %a init(%h0)
      : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<2x4x16xf32>) -> (tensor<2x8x4xf32>, tensor<2x4x16xf16>)
  return
}

// -----

func.func @scan_int(%x: tensor<2x8x4xi32>, %a: tensor<4x16xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values}}
  %y = ssm.scan forward %x, %a, %a, %a
      : (tensor<2x8x4xi32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<2x8x4xf32>
  return
}

// == selective_scan ==

// -----

func.func @selective_scan_groups(%u: tensor<1x6x8xf32>, %A: tensor<6x4xf32>, %B: tensor<1x4x4x8xf32>) {
  // expected-error @+1 {{D = 6 (from operand 'u') must be a multiple of G = 4 (from operand 'B')}}
  %y = ssm.selective_scan %u, %u, %A, %B, %B
      : (tensor<1x6x8xf32>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>) -> tensor<1x6x8xf32>
  return
}

// -----

func.func @selective_scan_zero_groups(%u: tensor<1x6x8xf32>, %A: tensor<6x4xf32>, %B: tensor<1x0x4x8xf32>) {
  // expected-error @+1 {{G (from operand 'B') must be positive, got 0}}
  %y = ssm.selective_scan %u, %u, %A, %B, %B
      : (tensor<1x6x8xf32>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<1x0x4x8xf32>, tensor<1x0x4x8xf32>) -> tensor<1x6x8xf32>
  return
}

// -----

func.func @selective_scan_B_rank(%u: tensor<1x6x8xf32>, %A: tensor<6x4xf32>, %B: tensor<1x4x8xf32>) {
  // expected-error @+1 {{operand 'B' must have rank 4 [B, G, N, L] or 2 [D, N], got 'tensor<1x4x8xf32>'}}
  %y = ssm.selective_scan %u, %u, %A, %B, %B
      : (tensor<1x6x8xf32>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x6x8xf32>
  return
}

// -----

func.func @selective_scan_C_state(%u: tensor<?x6x?xf32>, %A: tensor<6x4xf32>, %B: tensor<?x1x4x?xf32>, %C: tensor<?x1x5x?xf32>) {
  // expected-error @+1 {{operand 'C' dimension 2 (N) is 5, but operand 'A' dimension 1 gives N = 4}}
  %y = ssm.selective_scan %u, %u, %A, %B, %C
      : (tensor<?x6x?xf32>, tensor<?x6x?xf32>, tensor<6x4xf32>, tensor<?x1x4x?xf32>, tensor<?x1x5x?xf32>) -> tensor<?x6x?xf32>
  return
}

// -----

func.func @selective_scan_delta(%u: tensor<1x6x8xf32>, %d: tensor<1x6x7xf32>, %A: tensor<6x4xf32>) {
  // expected-error @+1 {{operand 'delta' dimension 2 (L) is 7, but operand 'u' dimension 2 gives L = 8}}
  %y = ssm.selective_scan %u, %d, %A, %A, %A
      : (tensor<1x6x8xf32>, tensor<1x6x7xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>) -> tensor<1x6x8xf32>
  return
}

// -----

func.func @selective_scan_delta_type(%u: tensor<1x6x8xbf16>, %d: tensor<1x6x8xf32>, %A: tensor<6x4xf32>) {
  // expected-error @+1 {{operand 'delta' element type 'f32' must match operand 'u' element type 'bf16'}}
  %y = ssm.selective_scan %u, %d, %A, %A, %A
      : (tensor<1x6x8xbf16>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>) -> tensor<1x6x8xbf16>
  return
}

// -----

func.func @selective_scan_gate(%u: tensor<1x6x8xf32>, %A: tensor<6x4xf32>, %z: tensor<1x6x8xf16>) {
  // expected-error @+1 {{operand 'z' element type 'f16' must match operand 'u' element type 'f32'}}
  %y = ssm.selective_scan %u, %u, %A, %A, %A gate(%z)
      : (tensor<1x6x8xf32>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<1x6x8xf16>) -> tensor<1x6x8xf32>
  return
}

// -----

func.func @selective_scan_delta_bias(%u: tensor<1x6x8xf32>, %A: tensor<6x4xf32>, %db: tensor<6x1xf32>) {
  // expected-error @+1 {{operand 'delta_bias' must have rank 1 [D], got 'tensor<6x1xf32>'}}
  %y = ssm.selective_scan %u, %u, %A, %A, %A delta_bias(%db)
      : (tensor<1x6x8xf32>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x1xf32>) -> tensor<1x6x8xf32>
  return
}

// -----

func.func @selective_scan_init(%u: tensor<1x6x8xf32>, %A: tensor<6x4xf32>, %h0: tensor<1x6x5xf32>) {
  // expected-error @+1 {{operand 'init' dimension 2 (N) is 5, but operand 'A' dimension 1 gives N = 4}}
  %y = ssm.selective_scan %u, %u, %A, %A, %A init(%h0)
      : (tensor<1x6x8xf32>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<1x6x5xf32>) -> tensor<1x6x8xf32>
  return
}

// -----

func.func @selective_scan_final_type(%u: tensor<1x6x8xf32>, %A: tensor<6x4xf32>, %h0: tensor<1x6x4xf32>) {
  // expected-error @+1 {{result 'final_state' element type 'bf16' must match operand 'init' element type 'f32'}}
  %y, %h = ssm.selective_scan %u, %u, %A, %A, %A init(%h0)
      : (tensor<1x6x8xf32>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<1x6x4xf32>) -> (tensor<1x6x8xf32>, tensor<1x6x4xbf16>)
  return
}

// -----

func.func @selective_scan_result(%u: tensor<1x6x8xf32>, %A: tensor<6x4xf32>) {
  // expected-error @+1 {{result 'y' element type 'f16' must match operand 'u' element type 'f32'}}
  %y = ssm.selective_scan %u, %u, %A, %A, %A
      : (tensor<1x6x8xf32>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>) -> tensor<1x6x8xf16>
  return
}

// == ssd ==

// -----

func.func @ssd_seq_both(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>,
                        %B: tensor<1x8x1x16xf32>, %s: tensor<1x8xi32>, %cu: tensor<2xi32>) {
  // expected-error @+1 {{takes at most one of 'seq_idx' and 'cu_seqlens'}}
  %y = ssm.ssd %x, %dt, %A, %B, %B seq_idx(%s) cu_seqlens(%cu)
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>,
         tensor<1x8x1x16xf32>, tensor<1x8xi32>, tensor<2xi32>) -> tensor<1x8x4x2xf32>
  return
}

// -----

func.func @ssd_chunk(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>, %B: tensor<1x8x1x16xf32>) {
  // expected-error @+1 {{chunk_size must be positive, got 0}}
  %y = ssm.ssd %x, %dt, %A, %B, %B {chunk_size = 0 : i64}
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>) -> tensor<1x8x4x2xf32>
  return
}

// -----

func.func @ssd_chunk_negative(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>, %B: tensor<1x8x1x16xf32>) {
  // expected-error @+1 {{chunk_size must be positive, got -5}}
  %y = ssm.ssd %x, %dt, %A, %B, %B {chunk_size = -5 : i64}
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>) -> tensor<1x8x4x2xf32>
  return
}

// -----

func.func @ssd_algorithm(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>, %B: tensor<1x8x1x16xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'algorithm' [recurrent, chunked]}}
  %y = ssm.ssd %x, %dt, %A, %B, %B algorithm parallel
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>) -> tensor<1x8x4x2xf32>
  return
}

// -----

func.func @ssd_dt_limit_size(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>, %B: tensor<1x8x1x16xf32>) {
  // expected-error @+1 {{dt_limit must have 2 elements [lo, hi], got 3}}
  %y = ssm.ssd %x, %dt, %A, %B, %B dt_limit [0.0, 1.0, 2.0]
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>) -> tensor<1x8x4x2xf32>
  return
}

// -----

func.func @ssd_dt_limit_order(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>, %B: tensor<1x8x1x16xf32>) {
  // expected-error @+1 {{dt_limit [1.000000e+00, 5.000000e-01] must satisfy lo <= hi}}
  %y = ssm.ssd %x, %dt, %A, %B, %B dt_limit [1.0, 0.5]
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>) -> tensor<1x8x4x2xf32>
  return
}

// -----

func.func @ssd_heads(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<3xf32>, %B: tensor<1x8x1x16xf32>) {
  // expected-error @+1 {{operand 'A' dimension 0 (H) is 3, but operand 'x' dimension 2 gives H = 4}}
  %y = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<3xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>) -> tensor<1x8x4x2xf32>
  return
}

// -----

func.func @ssd_groups(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>, %B: tensor<1x8x3x16xf32>) {
  // expected-error @+1 {{H = 4 (from operand 'x') must be a multiple of G = 3 (from operand 'B')}}
  %y = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x3x16xf32>, tensor<1x8x3x16xf32>) -> tensor<1x8x4x2xf32>
  return
}

// -----

func.func @ssd_skip(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>, %B: tensor<1x8x1x16xf32>, %D: tensor<4x3xf32>) {
  // expected-error @+1 {{operand 'D' dimension 1 (P) is 3, but operand 'x' dimension 3 gives P = 2}}
  %y = ssm.ssd %x, %dt, %A, %B, %B skip(%D)
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<4x3xf32>) -> tensor<1x8x4x2xf32>
  return
}

// -----

func.func @ssd_skip_rank(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>, %B: tensor<1x8x1x16xf32>, %D: tensor<1x4x2xf32>) {
  // expected-error @+1 {{operand 'D' must have rank 1 [H] or 2 [H, P], got 'tensor<1x4x2xf32>'}}
  %y = ssm.ssd %x, %dt, %A, %B, %B skip(%D)
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x4x2xf32>) -> tensor<1x8x4x2xf32>
  return
}

// -----

func.func @ssd_seq_idx(%x: tensor<2x8x4x2xf32>, %dt: tensor<2x8x4xf32>, %A: tensor<4xf32>, %B: tensor<2x8x1x16xf32>, %s: tensor<2x9xi64>) {
  // expected-error @+1 {{operand 'seq_idx' dimension 1 (L) is 9, but operand 'x' dimension 1 gives L = 8}}
  %y = ssm.ssd %x, %dt, %A, %B, %B seq_idx(%s)
      : (tensor<2x8x4x2xf32>, tensor<2x8x4xf32>, tensor<4xf32>, tensor<2x8x1x16xf32>, tensor<2x8x1x16xf32>, tensor<2x9xi64>) -> tensor<2x8x4x2xf32>
  return
}

// -----

func.func @ssd_cu_seqlens_batch(%x: tensor<2x8x4x2xf32>, %dt: tensor<2x8x4xf32>, %A: tensor<4xf32>, %B: tensor<2x8x1x16xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{with 'cu_seqlens' the batch size B must be 1 (sequences are packed along L), got 2}}
  %y = ssm.ssd %x, %dt, %A, %B, %B cu_seqlens(%cu)
      : (tensor<2x8x4x2xf32>, tensor<2x8x4xf32>, tensor<4xf32>, tensor<2x8x1x16xf32>, tensor<2x8x1x16xf32>, tensor<3xi32>) -> tensor<2x8x4x2xf32>
  return
}

// -----

func.func @ssd_cu_seqlens_empty(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>, %B: tensor<1x8x1x16xf32>, %cu: tensor<0xi32>) {
  // expected-error @+1 {{operand 'cu_seqlens' must have at least 1 element}}
  %y = ssm.ssd %x, %dt, %A, %B, %B cu_seqlens(%cu)
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<0xi32>) -> tensor<1x8x4x2xf32>
  return
}

// -----

func.func @ssd_cu_seqlens_states(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>, %B: tensor<1x8x1x16xf32>, %cu: tensor<4xi32>) {
  // expected-error @+1 {{result 'final_state' dimension 0 (S) is 1, but operand 'cu_seqlens' (length - 1) dimension 0 gives S = 3}}
  %y, %h = ssm.ssd %x, %dt, %A, %B, %B cu_seqlens(%cu)
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<4xi32>)
      -> (tensor<1x8x4x2xf32>, tensor<1x4x2x16xf32>)
  return
}

// -----

func.func @ssd_init(%x: tensor<?x?x4x2xf32>, %dt: tensor<?x?x4xf32>, %A: tensor<4xf32>, %B: tensor<?x?x1x16xf32>, %h0: tensor<?x4x2x8xf32>) {
  // expected-error @+1 {{operand 'init' dimension 3 (N) is 8, but operand 'B' dimension 3 gives N = 16}}
  %y = ssm.ssd %x, %dt, %A, %B, %B init(%h0)
      : (tensor<?x?x4x2xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x1x16xf32>, tensor<?x?x1x16xf32>, tensor<?x4x2x8xf32>) -> tensor<?x?x4x2xf32>
  return
}

// -----

func.func @ssd_gate_type(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>, %B: tensor<1x8x1x16xf32>, %z: tensor<1x8x4x2xbf16>) {
  // expected-error @+1 {{operand 'z' element type 'bf16' must match operand 'x' element type 'f32'}}
  %y = ssm.ssd %x, %dt, %A, %B, %B gate(%z)
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x4x2xbf16>) -> tensor<1x8x4x2xf32>
  return
}

// == causal_conv1d ==

// -----

func.func @conv_width_zero(%x: tensor<1x4x8xf32>, %w: tensor<4x0xf32>) {
  // expected-error @+1 {{operand 'weight' dimension 1 (W) must be at least 1}}
  %o = ssm.causal_conv1d %x, %w : (tensor<1x4x8xf32>, tensor<4x0xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @conv_channels(%x: tensor<1x4x8xf32>, %w: tensor<5x4xf32>) {
  // expected-error @+1 {{operand 'weight' dimension 0 (C) is 5, but operand 'x' dimension 1 gives C = 4}}
  %o = ssm.causal_conv1d %x, %w : (tensor<1x4x8xf32>, tensor<5x4xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @conv_state(%x: tensor<1x4x8xf32>, %w: tensor<4x4xf32>, %s: tensor<1x4x4xf32>) {
  // expected-error @+1 {{operand 'init_state' dimension 2 (W-1) is 4, but operand 'weight' (W - 1) dimension 1 gives W-1 = 3}}
  %o = ssm.causal_conv1d %x, %w init_state(%s) : (tensor<1x4x8xf32>, tensor<4x4xf32>, tensor<1x4x4xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @conv_out_type(%x: tensor<1x4x8xf32>, %w: tensor<4x4xf32>) {
  // expected-error @+1 {{result 'out' element type 'f16' must match operand 'x' element type 'f32'}}
  %o = ssm.causal_conv1d %x, %w : (tensor<1x4x8xf32>, tensor<4x4xf32>) -> tensor<1x4x8xf16>
  return
}

// == state_update ==

// -----

func.func @update_rank(%x: tensor<2x4xf32>, %s: tensor<2x4xf32>) {
  // expected-error @+1 {{operand 'state' must have rank 3 [B, D, N] (Mamba-1) or 4 [B, H, P, N] (Mamba-2), got 'tensor<2x4xf32>'}}
  %n, %y = ssm.state_update ins(%x, %x, %x, %x, %x : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
      outs(%s, %x : tensor<2x4xf32>, tensor<2x4xf32>)
  return
}

// -----

func.func @update_mamba1_A(%x: tensor<2x4xf32>, %A: tensor<4x8xf32>, %B: tensor<2x1x16xf32>, %s: tensor<2x4x16xf32>) {
  // expected-error @+1 {{operand 'A' dimension 1 (N) is 8, but operand 'state' dimension 2 gives N = 16}}
  %n, %y = ssm.state_update ins(%x, %x, %A, %B, %B : tensor<2x4xf32>, tensor<2x4xf32>, tensor<4x8xf32>, tensor<2x1x16xf32>, tensor<2x1x16xf32>)
      outs(%s, %x : tensor<2x4x16xf32>, tensor<2x4xf32>)
  return
}

// -----

func.func @update_mamba1_groups(%x: tensor<2x4xf32>, %A: tensor<4x16xf32>, %B: tensor<2x3x16xf32>, %s: tensor<2x4x16xf32>) {
  // expected-error @+1 {{D = 4 (from operand 'state') must be a multiple of G = 3 (from operand 'B')}}
  %n, %y = ssm.state_update ins(%x, %x, %A, %B, %B : tensor<2x4xf32>, tensor<2x4xf32>, tensor<4x16xf32>, tensor<2x3x16xf32>, tensor<2x3x16xf32>)
      outs(%s, %x : tensor<2x4x16xf32>, tensor<2x4xf32>)
  return
}

// -----

func.func @update_mamba2_dt(%x: tensor<2x4x8xf32>, %dt: tensor<2x4x8xf32>, %A: tensor<4xf32>, %B: tensor<2x1x16xf32>, %s: tensor<2x4x8x16xf32>) {
  // expected-error @+1 {{operand 'dt' must have rank 2 [B, H], got 'tensor<2x4x8xf32>'}}
  %n, %y = ssm.state_update ins(%x, %dt, %A, %B, %B : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<4xf32>, tensor<2x1x16xf32>, tensor<2x1x16xf32>)
      outs(%s, %x : tensor<2x4x8x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @update_mamba2_skip(%x: tensor<2x4x8xf32>, %dt: tensor<2x4xf32>, %A: tensor<4xf32>, %B: tensor<2x1x16xf32>, %D: tensor<4x8x1xf32>, %s: tensor<2x4x8x16xf32>) {
  // expected-error @+1 {{operand 'D' must have rank 1 [H] or 2 [H, P], got 'tensor<4x8x1xf32>'}}
  %n, %y = ssm.state_update ins(%x, %dt, %A, %B, %B : tensor<2x4x8xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<2x1x16xf32>, tensor<2x1x16xf32>)
      skip(%D : tensor<4x8x1xf32>) outs(%s, %x : tensor<2x4x8x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @update_mamba2_y(%x: tensor<2x4x8xf32>, %dt: tensor<2x4xf32>, %A: tensor<4xf32>, %B: tensor<2x1x16xf32>, %s: tensor<2x4x8x16xf32>, %y0: tensor<2x4x8xf16>) {
  // expected-error @+1 {{operand 'y_init' element type 'f16' must match operand 'x' element type 'f32'}}
  %n, %y = ssm.state_update ins(%x, %dt, %A, %B, %B : tensor<2x4x8xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<2x1x16xf32>, tensor<2x1x16xf32>)
      outs(%s, %y0 : tensor<2x4x8x16xf32>, tensor<2x4x8xf16>)
  return
}

// -----

func.func @update_mamba2_gate(%x: tensor<2x4x8xf32>, %dt: tensor<2x4xf32>, %A: tensor<4xf32>, %B: tensor<2x1x16xf32>, %s: tensor<2x4x8x16xf32>, %z: tensor<2x4x8xbf16>) {
  // expected-error @+1 {{operand 'z' element type 'bf16' must match operand 'x' element type 'f32'}}
  %n, %y = ssm.state_update ins(%x, %dt, %A, %B, %B : tensor<2x4x8xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<2x1x16xf32>, tensor<2x1x16xf32>)
      gate(%z : tensor<2x4x8xbf16>) outs(%s, %x : tensor<2x4x8x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @update_dt_limit(%x: tensor<2x4x8xf32>, %dt: tensor<2x4xf32>, %A: tensor<4xf32>, %B: tensor<2x1x16xf32>, %s: tensor<2x4x8x16xf32>) {
  // expected-error @+1 {{dt_limit [5.000000e-01, 1.000000e-01] must satisfy lo <= hi}}
  %n, %y = ssm.state_update ins(%x, %dt, %A, %B, %B : tensor<2x4x8xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<2x1x16xf32>, tensor<2x1x16xf32>)
      dt_limit [0.5, 0.1] outs(%s, %x : tensor<2x4x8x16xf32>, tensor<2x4x8xf32>)
  return
}

// == recurrence ==

// -----

func.func @recurrence_layout_rank(%x: tensor<2x8x4xf32>) {
  // expected-error @+1 {{operand #0 has rank 3 but its layout has 2 dimensions}}
  %y = ssm.recurrence diagonal forward ins(%x [b, t] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_unknown_dim(%x: tensor<2x8x4xf32>) {
  // expected-error @+1 {{unknown dimension 'q' (expected one of b, t, g, r, p, n)}}
  %y = ssm.recurrence diagonal forward ins(%x [b, t, q] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_dim_twice(%x: tensor<2x8x4xf32>) {
  // expected-error @+1 {{operand #0 names dimension 'p' twice}}
  %y = ssm.recurrence diagonal forward ins(%x [b, p, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_y_with_n(%x: tensor<2x8x4xf32>) {
  // expected-error @+1 {{y_init may not have dimension 'n'}}
  %y = ssm.recurrence diagonal forward ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, n] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_state_with_t(%x: tensor<2x8x4xf32>, %h: tensor<2x8x4xf32>) {
  // expected-error @+1 {{state may not have dimension 't'}}
  %y, %s = ssm.recurrence diagonal forward ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p], %h [b, t, p] : tensor<2x8x4xf32>, tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_size_mismatch(%x: tensor<2x8x4xf32>, %a: tensor<5x16xf32>) {
  // expected-error @+1 {{operand #1 dimension 0 has size 5 but its layout gives 4}}
  %y = ssm.recurrence diagonal forward
      ins(%x [b, t, p], %a [p, n] : tensor<2x8x4xf32>, tensor<5x16xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32, %f: f32):
    ssm.yield %f, %e, %f, %f, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_merged_mismatch(%x: tensor<2x8x6xf32>, %b: tensor<2x8x4x16xf32>) {
  // expected-error @+1 {{operand #0 dimension 2 has size 6 but its layout gives 4 (g = 4 × r = 1)}}
  %y = ssm.recurrence scalar forward
      ins(%x [b, t, (g, r)], %b [b, t, g, n] : tensor<2x8x6xf32>, tensor<2x8x4x16xf32>)
      outs(%x [b, t, (g, r)] : tensor<2x8x6xf32>) {
  ^bb0(%e: f32, %f: f32):
    ssm.yield %e, %e, %f, %f, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_no_extent(%x: tensor<2x8x6xf32>) {
  // expected-error @+1 {{cannot tell the extent of dimension 'g'}}
  %y = ssm.recurrence scalar forward
      ins(%x [b, t, (g, r)] : tensor<2x8x6xf32>)
      outs(%x [b, t, (g, r)] : tensor<2x8x6xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_two_segments(%x: tensor<2x8x4xf32>, %r: tensor<2x8xi1>, %s: tensor<2x8xi32>) {
  // expected-error @+1 {{takes at most one of reset, seq_idx and cu_seqlens}}
  %y = ssm.recurrence diagonal forward ins(%x [b, t, p] : tensor<2x8x4xf32>)
      reset(%r : tensor<2x8xi1>) seq_idx(%s : tensor<2x8xi32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_reset_shape(%x: tensor<2x8x4xf32>, %r: tensor<2x9xi1>) {
  // expected-error @+1 {{reset dimension 1 has size 9 but 't' has extent 8}}
  %y = ssm.recurrence diagonal forward ins(%x [b, t, p] : tensor<2x8x4xf32>)
      reset(%r : tensor<2x9xi1>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_arguments(%x: tensor<2x8x4xf32>) {
  // expected-error @+1 {{region has 2 arguments for 1 inputs}}
  %y = ssm.recurrence diagonal forward ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32, %f: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_yield_count(%x: tensor<2x8x4xf32>) {
  %y = ssm.recurrence diagonal forward ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    // expected-error @+1 {{yields decay, a value and a key per input term (1), query, skip and optionally gate: expected 5 or 6 values, got 3}}
    ssm.yield %e, %e, %e : f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_yield_type(%x: tensor<2x8x4xf32>) {
  // expected-error @+1 {{region arguments and yields must all have the compute type 'f32', got 'f64'}}
  %y = ssm.recurrence diagonal forward ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    %d = arith.extf %e : f32 to f64
    ssm.yield %e, %e, %e, %e, %d : f32, f32, f32, f32, f64
  }
  return
}

// -----

func.func @recurrence_side_effect(%x: tensor<2x8x4xf32>, %m: memref<4xf32>) {
  %y = ssm.recurrence diagonal forward ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    // expected-error @+1 {{is not allowed in ssm.recurrence's region}}
    %m2 = memref.alloc() : memref<4xf32>
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_scalar_decay_per_row(%x: tensor<2x8x4xf32>) {
  %y = ssm.recurrence scalar forward ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    // expected-error @+1 {{decay depends on p, which a scalar transition may not (it is one per step and head)}}
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_skip_per_entry(%x: tensor<2x8x4xf32>, %a: tensor<4x16xf32>) {
  %y = ssm.recurrence diagonal forward
      ins(%x [b, t, p], %a [p, n] : tensor<2x8x4xf32>, tensor<4x16xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32, %f: f32):
    // expected-error @+1 {{skip depends on n, which an output term may not}}
    ssm.yield %f, %e, %f, %f, %f : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_negative_tile(%x: tensor<2x8x4xf32>) {
  // expected-error @+1 {{tile must be at least 1, got -2}}
  %y = ssm.recurrence diagonal forward tile -2 ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_chunked_diagonal(%x: tensor<2x8x4xf32>) {
  // expected-error @+1 {{the chunked form needs a scalar transition given as log_decay, forward in time, without reset}}
  %y = ssm.recurrence diagonal forward form chunked ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

// The chunked form multiplies values along p by keys along n: a key that
// varies with p cannot be one of its matrices.
func.func @recurrence_chunked_key_along_p(%x: tensor<2x8x4xf32>, %d: tensor<2x8xf32>,
                                          %k: tensor<2x8x3xf32>) {
  %y = ssm.recurrence scalar forward log_decay form chunked
      ins(%x [b, t, p], %d [b, t], %k [b, t, n] : tensor<2x8x4xf32>, tensor<2x8xf32>, tensor<2x8x3xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32, %dt: f32, %kn: f32):
    %key = arith.mulf %e, %kn : f32
    // expected-error @+1 {{the chunked form needs a value that does not depend on n and a key and query that do not depend on p (its input term is value ⊗ key)}}
    ssm.yield %dt, %e, %key, %kn, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_spans_without_chunks(%x: tensor<2x8x4xf32>, %d: tensor<2x8xf32>) {
  // expected-error @+1 {{spans order the chunks of the chunked form; the op has no form chunked}}
  %y = ssm.recurrence scalar forward log_decay form recurrent spans sequential
      ins(%x [b, t, p], %d [b, t] : tensor<2x8x4xf32>, tensor<2x8xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32, %de: f32):
    ssm.yield %de, %e, %de, %de, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_parallel_spans_packed(%x: tensor<1x8x4xf32>, %d: tensor<1x8xf32>,
                                            %cu: tensor<3xi32>) {
  // expected-error @+1 {{spans parallel needs batch rows: the packed sequences of cu_seqlens are walked in order}}
  %y = ssm.recurrence scalar forward log_decay form chunked spans parallel
      ins(%x [b, t, p], %d [b, t] : tensor<1x8x4xf32>, tensor<1x8xf32>)
      cu_seqlens(%cu : tensor<3xi32>)
      outs(%x [b, t, p] : tensor<1x8x4xf32>) {
  ^bb0(%e: f32, %de: f32):
    ssm.yield %de, %e, %de, %de, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_bad_spans(%x: tensor<2x8x4xf32>) {
  // expected-error @+1 {{expected spans 'sequential' or 'parallel'}}
  %y = ssm.recurrence scalar forward log_decay form chunked spans sideways
      ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

// == packed_matmul, packed_gather ==

func.func @packed_wrong_size(%x: tensor<?x64xf32>, %w: tensor<1000xf32>, %y: tensor<?x64xf32>) {
  // expected-error @+1 {{'packed' must hold the 4352 bytes of a 64 x 64 q8_0 matrix: 1088 elements of 'f32', got 1000}}
  %0 = ssm.packed_matmul q8_0 ins(%x, %w : tensor<?x64xf32>, tensor<1000xf32>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @packed_block_does_not_divide(%x: tensor<?x48xf32>, %w: tensor<1000xf32>, %y: tensor<?x64xf32>) {
  // expected-error @+1 {{format q4_0 needs rows whose length is a multiple of 32, got 48}}
  %0 = ssm.packed_matmul q4_0 ins(%x, %w : tensor<?x48xf32>, tensor<1000xf32>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @packed_dynamic_matrix(%x: tensor<?x?xf32>, %w: tensor<?xf32>, %y: tensor<?x64xf32>) {
  // expected-error @+1 {{the packed matrix needs static sizes, got 64 x ?}}
  %0 = ssm.packed_matmul bf16 ins(%x, %w : tensor<?x?xf32>, tensor<?xf32>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @packed_rows_mismatch(%x: tensor<3x64xf32>, %w: tensor<2048xf32>, %y: tensor<4x64xf32>) {
  // expected-error @+1 {{'x' has 3 rows but 'init' has 4}}
  %0 = ssm.packed_matmul bf16 ins(%x, %w : tensor<3x64xf32>, tensor<2048xf32>)
      outs(%y : tensor<4x64xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @packed_mixed_forms(%x: tensor<?x64xf32>, %w: memref<2048xf32>, %y: tensor<?x64xf32>) {
  // expected-error @+1 {{operands must be all tensors or all memrefs}}
  %0 = ssm.packed_matmul bf16 ins(%x, %w : tensor<?x64xf32>, memref<2048xf32>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @packed_memref_with_result(%x: memref<?x64xf32>, %w: memref<2048xf32>, %y: memref<?x64xf32>) {
  // expected-error @+1 {{on memrefs, has no result}}
  %0 = ssm.packed_matmul bf16 ins(%x, %w : memref<?x64xf32>, memref<2048xf32>)
      outs(%y : memref<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @packed_f64_x(%x: tensor<?x64xf64>, %w: tensor<2048xf32>, %y: tensor<?x64xf32>) {
  // expected-error @+1 {{'x' must be a rank-2 f32 tensor or memref, got 'tensor<?x64xf64>'}}
  %0 = ssm.packed_matmul bf16 ins(%x, %w : tensor<?x64xf64>, tensor<2048xf32>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @packed_2d_storage(%x: tensor<?x64xf32>, %w: tensor<64x32xf32>, %y: tensor<?x64xf32>) {
  // expected-error @+1 {{'packed' must be 1-D with a whole number of bytes per element, got 'tensor<64x32xf32>'}}
  %0 = ssm.packed_matmul bf16 ins(%x, %w : tensor<?x64xf32>, tensor<64x32xf32>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @gather_i32_ids(%w: tensor<2048xf32>, %ids: tensor<?xi32>, %y: tensor<?x64xf32>) {
  // expected-error @+1 {{'ids' must be a rank-1 i64 tensor or memref, got 'tensor<?xi32>'}}
  %0 = ssm.packed_gather bf16 rows 64 ins(%w, %ids : tensor<2048xf32>, tensor<?xi32>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @gather_no_rows(%w: tensor<2048xf32>, %ids: tensor<?xi64>, %y: tensor<?x64xf32>) {
  // expected-error @+1 {{'rows' must be positive, got 0}}
  %0 = ssm.packed_gather bf16 rows 0 ins(%w, %ids : tensor<2048xf32>, tensor<?xi64>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @gather_count_mismatch(%w: tensor<2048xf32>, %ids: tensor<3xi64>, %y: tensor<4x64xf32>) {
  // expected-error @+1 {{'ids' has 3 entries but 'init' has 4 rows}}
  %0 = ssm.packed_gather bf16 rows 64 ins(%w, %ids : tensor<2048xf32>, tensor<3xi64>)
      outs(%y : tensor<4x64xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @gather_bad_format(%w: tensor<2048xf32>, %ids: tensor<?xi64>, %y: tensor<?x64xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'format' [bf16, f16, q8_0, q4_0]}}
  %0 = ssm.packed_gather q5_k rows 64 ins(%w, %ids : tensor<2048xf32>, tensor<?xi64>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @packed_rank1_init(%x: tensor<?x64xf32>, %w: tensor<2048xf32>, %y: tensor<64xf32>) {
  // expected-error @+1 {{'init' must be a rank-2 f32 tensor or memref, got 'tensor<64xf32>'}}
  %0 = ssm.packed_matmul bf16 ins(%x, %w : tensor<?x64xf32>, tensor<2048xf32>)
      outs(%y : tensor<64xf32>) -> tensor<64xf32>
  return
}

// -----

func.func @gather_rank1_init(%w: tensor<2048xf32>, %ids: tensor<?xi64>, %y: tensor<64xf32>) {
  // expected-error @+1 {{'init' must be a rank-2 f32 tensor or memref, got 'tensor<64xf32>'}}
  %0 = ssm.packed_gather bf16 rows 64 ins(%w, %ids : tensor<2048xf32>, tensor<?xi64>)
      outs(%y : tensor<64xf32>) -> tensor<64xf32>
  return
}

// -----

func.func @packed_unranked(%x: tensor<*xf32>, %w: tensor<2048xf32>, %y: tensor<?x64xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of any type values or memref of any type values, but got 'tensor<*xf32>'}}
  %0 = ssm.packed_matmul bf16 ins(%x, %w : tensor<*xf32>, tensor<2048xf32>)
      outs(%y : tensor<?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @recurrence_terms_count(%x: tensor<2x8x4xf32>) {
  %y = ssm.recurrence diagonal forward terms 2 ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    // expected-error @+1 {{yields decay, a value and a key per input term (2), query, skip and optionally gate: expected 7 or 8 values, got 5}}
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_terms_huge(%x: tensor<2x8x4xf32>) {
  %y = ssm.recurrence diagonal forward terms 9223372036854775807 ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    // expected-error @+1 {{yields decay, a value and a key per input term (9223372036854775807), query, skip and optionally gate: got 5 values}}
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_no_terms(%x: tensor<2x8x4xf32>) {
  // expected-error @+1 {{terms must be at least 1, got 0}}
  %y = ssm.recurrence diagonal forward terms 0 ins(%x [b, t, p] : tensor<2x8x4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_previous_without_t(%x: tensor<2x8x4xf32>, %a: tensor<4xf32>) {
  // expected-error @+1 {{input #1 is read at the previous step but its layout has no 't'}}
  %y = ssm.recurrence diagonal forward
      ins(%x [b, t, p], %a [p] previous : tensor<2x8x4xf32>, tensor<4xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32, %f: f32):
    ssm.yield %f, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_previous_order(%x: tensor<2x8x4xf32>) {
  // expected-error @+1 {{previous must list input indices in increasing order, below the 1 inputs}}
  %y = "ssm.recurrence"(%x, %x) <{direction = 0 : i32,
      layouts = [[array<i64: 0>, array<i64: 1>, array<i64: 4>], [array<i64: 0>, array<i64: 1>, array<i64: 4>]],
      operandSegmentSizes = array<i32: 1, 0, 0, 0, 1, 0>, previous = array<i64: 3>,
      transition = 1 : i32}> ({
  ^bb0(%e: f32):
    ssm.yield %e, %e, %e, %e, %e : f32, f32, f32, f32, f32
  }) : (tensor<2x8x4xf32>, tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
  return
}

// -----

func.func @recurrence_chunked_terms(%x: tensor<2x8x4xf32>, %n: tensor<2x8x16xf32>) {
  // expected-error @+1 {{the chunked form needs a scalar transition given as log_decay, forward in time, without reset, with one input term and no input read at the previous step}}
  %y = ssm.recurrence scalar forward log_decay terms 2 form chunked
      ins(%x [b, t, p], %n [b, t, n] : tensor<2x8x4xf32>, tensor<2x8x16xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32, %f: f32):
    %zero = arith.constant 0.0 : f32
    ssm.yield %zero, %e, %f, %e, %f, %f, %zero : f32, f32, f32, f32, f32, f32, f32
  }
  return
}

// -----

func.func @recurrence_chunked_previous(%x: tensor<2x8x4xf32>, %n: tensor<2x8x16xf32>) {
  // expected-error @+1 {{the chunked form needs}}
  %y = ssm.recurrence scalar forward log_decay form chunked
      ins(%x [b, t, p] previous, %n [b, t, n] : tensor<2x8x4xf32>, tensor<2x8x16xf32>)
      outs(%x [b, t, p] : tensor<2x8x4xf32>) {
  ^bb0(%e: f32, %f: f32):
    %zero = arith.constant 0.0 : f32
    ssm.yield %zero, %e, %f, %f, %zero : f32, f32, f32, f32, f32
  }
  return
}
