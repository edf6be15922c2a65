// RUN: ssm-opt %s -canonicalize -split-input-file | FileCheck %s

// An unused final state is not computed.
// CHECK-LABEL: func.func @drop_unused_final_state
// CHECK: %[[Y:.*]] = ssm.scan forward %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} init(%{{.*}}) {keep = "me"} : ({{.*}}) -> tensor<2x8x4xf32>
// CHECK-NEXT: return %[[Y]]
func.func @drop_unused_final_state(%x: tensor<2x8x4xf32>, %a: tensor<4x16xf32>,
                                   %h0: tensor<2x4x16xf32>) -> tensor<2x8x4xf32> {
  %y, %h = ssm.scan forward %x, %a, %a, %a init(%h0) {keep = "me"}
      : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<2x4x16xf32>)
      -> (tensor<2x8x4xf32>, tensor<2x4x16xf32>)
  return %y : tensor<2x8x4xf32>
}

// -----

// A used final state stays.
// CHECK-LABEL: func.func @keep_used_final_state
// CHECK: %{{.*}}, %[[H:.*]] = ssm.selective_scan
// CHECK: return %[[H]]
func.func @keep_used_final_state(%u: tensor<1x6x8xf32>, %A: tensor<6x4xf32>) -> tensor<1x6x4xf32> {
  %y, %h = ssm.selective_scan %u, %u, %A, %A, %A
      : (tensor<1x6x8xf32>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>)
      -> (tensor<1x6x8xf32>, tensor<1x6x4xf32>)
  return %h : tensor<1x6x4xf32>
}

// -----

// Attributes and optional operands survive dropping the result; the default
// discretization is spelled by omission.
// CHECK-LABEL: func.func @selective_scan
// CHECK: ssm.selective_scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} skip(%{{.*}}) delta_softplus :
// CHECK-SAME: -> tensor<1x6x8xf32>
// CHECK: ssm.selective_scan {{.*}} method zoh :
func.func @selective_scan(%u: tensor<1x6x8xf32>, %A: tensor<6x4xf32>, %D: tensor<6xf32>)
    -> (tensor<1x6x8xf32>, tensor<1x6x8xf32>) {
  %y, %h = ssm.selective_scan %u, %u, %A, %A, %A skip(%D) delta_softplus method mamba
      : (tensor<1x6x8xf32>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6xf32>)
      -> (tensor<1x6x8xf32>, tensor<1x6x4xf32>)
  %y2 = ssm.selective_scan %u, %u, %A, %A, %A method zoh
      : (tensor<1x6x8xf32>, tensor<1x6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>)
      -> tensor<1x6x8xf32>
  return %y, %y2 : tensor<1x6x8xf32>, tensor<1x6x8xf32>
}

// -----

// dt_limit [0, inf] after softplus clamps nothing; [-inf, inf] never does;
// [0, inf] without softplus does (dt may be negative).
// CHECK-LABEL: func.func @ssd_dt_limit
// CHECK: ssm.ssd {{.*}} dt_softplus {chunk_size = 64 : i64} :
// CHECK: ssm.ssd %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} :
// CHECK: ssm.ssd {{.*}} dt_limit [0.000000e+00, inf] :
func.func @ssd_dt_limit(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>,
                        %B: tensor<1x8x1x16xf32>)
    -> (tensor<1x8x4x2xf32>, tensor<1x8x4x2xf32>, tensor<1x8x4x2xf32>) {
  %y0, %h = ssm.ssd %x, %dt, %A, %B, %B dt_softplus dt_limit [0.0, inf] {chunk_size = 64 : i64}
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>)
      -> (tensor<1x8x4x2xf32>, tensor<1x4x2x16xf32>)
  %y1 = ssm.ssd %x, %dt, %A, %B, %B dt_limit [-inf, inf]
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>)
      -> tensor<1x8x4x2xf32>
  %y2 = ssm.ssd %x, %dt, %A, %B, %B dt_limit [0.0, inf]
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>)
      -> tensor<1x8x4x2xf32>
  return %y0, %y1, %y2 : tensor<1x8x4x2xf32>, tensor<1x8x4x2xf32>, tensor<1x8x4x2xf32>
}

// -----

// CHECK-LABEL: func.func @conv
// CHECK: %[[O:.*]] = ssm.causal_conv1d %{{.*}}, %{{.*}} init_state(%{{.*}}) silu : ({{.*}}) -> tensor<1x4x8xf32>
// CHECK-NEXT: return %[[O]]
func.func @conv(%x: tensor<1x4x8xf32>, %w: tensor<4x4xf32>, %s0: tensor<1x4x3xf32>) -> tensor<1x4x8xf32> {
  %o, %s = ssm.causal_conv1d %x, %w init_state(%s0) silu
      : (tensor<1x4x8xf32>, tensor<4x4xf32>, tensor<1x4x3xf32>) -> (tensor<1x4x8xf32>, tensor<1x4x3xf32>)
  return %o : tensor<1x4x8xf32>
}

// -----

// Decoding results are tensors: an unused update is dead.
// CHECK-LABEL: func.func @dead_update
// CHECK-NOT: ssm.state_update
func.func @dead_update(%x: tensor<2x4x8xf32>, %dt: tensor<2x4xf32>, %A: tensor<4xf32>,
                       %B: tensor<2x1x16xf32>, %s: tensor<2x4x8x16xf32>) {
  %n, %y = ssm.state_update ins(%x, %dt, %A, %B, %B : tensor<2x4x8xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<2x1x16xf32>, tensor<2x1x16xf32>)
      outs(%s, %x : tensor<2x4x8x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

// A zero initial state is the default; a constant-false reset cuts nothing.
// A non-zero initial state stays.
// CHECK-LABEL: func.func @zero_init_false_reset
// CHECK: ssm.scan forward %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> (tensor<2x8x4xf32>, tensor<2x4x16xf32>)
// CHECK: ssm.causal_conv1d %{{.*}}, %{{.*}} : (tensor<1x4x8xf32>, tensor<4x4xf32>) -> tensor<1x4x8xf32>
// CHECK: ssm.ssd {{.*}} init(%{{.*}}) :
func.func @zero_init_false_reset(%x: tensor<2x8x4xf32>, %a: tensor<4x16xf32>, %cx: tensor<1x4x8xf32>,
                                 %w: tensor<4x4xf32>, %sx: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>,
                                 %A: tensor<4xf32>, %B: tensor<1x8x1x16xf32>)
    -> (tensor<2x8x4xf32>, tensor<2x4x16xf32>, tensor<1x4x8xf32>, tensor<1x8x4x2xf32>) {
  %zero = arith.constant dense<0.0> : tensor<2x4x16xf32>
  %no = arith.constant dense<false> : tensor<2x8xi1>
  %y, %h = ssm.scan forward %x, %a, %a, %a init(%zero) reset(%no)
      : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<2x4x16xf32>, tensor<2x8xi1>)
      -> (tensor<2x8x4xf32>, tensor<2x4x16xf32>)
  %s0 = arith.constant dense<0.0> : tensor<1x4x3xf32>
  %o = ssm.causal_conv1d %cx, %w init_state(%s0)
      : (tensor<1x4x8xf32>, tensor<4x4xf32>, tensor<1x4x3xf32>) -> tensor<1x4x8xf32>
  %one = arith.constant dense<1.0> : tensor<1x4x2x16xf32>
  %sy = ssm.ssd %sx, %dt, %A, %B, %B init(%one)
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x4x2x16xf32>)
      -> tensor<1x8x4x2xf32>
  return %y, %h, %o, %sy : tensor<2x8x4xf32>, tensor<2x4x16xf32>, tensor<1x4x8xf32>, tensor<1x8x4x2xf32>
}
