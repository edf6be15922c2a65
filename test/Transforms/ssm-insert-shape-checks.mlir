// RUN: ssm-opt %s -ssm-insert-shape-checks -split-input-file | FileCheck %s

// Static relations were checked by the verifier: nothing is inserted.
// CHECK-LABEL: func.func @static
// CHECK-NOT: cf.assert
func.func @static(%x: tensor<1x4x8xf32>, %w: tensor<4x3xf32>) -> tensor<1x4x8xf32> {
  %o = ssm.causal_conv1d %x, %w : (tensor<1x4x8xf32>, tensor<4x3xf32>) -> tensor<1x4x8xf32>
  return %o : tensor<1x4x8xf32>
}

// -----

// A convolution's state has W - 1 columns: checked against the weight.
// CHECK-LABEL: func.func @conv_state
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x4x?xf32>, %[[W:[^:]*]]: tensor<4x?xf32>, %[[S:[^:]*]]: tensor<?x4x?xf32>)
// CHECK: %[[WIDTH:.*]] = tensor.dim %[[W]], %c1
// CHECK: %[[B:.*]] = tensor.dim %[[S]], %c0
// CHECK: %[[SAMEB:.*]] = arith.cmpi eq, %[[B]], %{{.*}}
// CHECK: cf.assert %[[SAMEB]], "{{.*}}: ssm.causal_conv1d: operand 'init_state' dimension 0 (B) does not match operand 'x' dimension 0"
// CHECK: %[[HIST:.*]] = tensor.dim %[[S]], %c2
// CHECK: %[[PLUS:.*]] = arith.subi %[[HIST]], %c-1
// CHECK: %[[SAMEW:.*]] = arith.cmpi eq, %[[PLUS]], %[[WIDTH]]
// CHECK: cf.assert %[[SAMEW]], "{{.*}}: ssm.causal_conv1d: operand 'init_state' dimension 2 + 1 (W) does not match operand 'weight' dimension 1"
// CHECK: ssm.causal_conv1d
func.func @conv_state(%x: tensor<?x4x?xf32>, %w: tensor<4x?xf32>, %s: tensor<?x4x?xf32>)
    -> tensor<?x4x?xf32> {
  %o = ssm.causal_conv1d %x, %w init_state(%s)
      : (tensor<?x4x?xf32>, tensor<4x?xf32>, tensor<?x4x?xf32>) -> tensor<?x4x?xf32>
  return %o : tensor<?x4x?xf32>
}

// -----

// Heads must be a positive multiple of the groups when either is dynamic.
// CHECK-LABEL: func.func @ssd_groups
// CHECK: %[[G:.*]] = tensor.dim %{{.*}}, %c2 : tensor<1x8x?x5xf32>
// CHECK: %[[POS:.*]] = arith.cmpi sgt, %[[G]], %c0
// CHECK: cf.assert %[[POS]], "{{.*}}G (operand 'B' dimension 2) must be positive"
// CHECK: %[[REM:.*]] = arith.remui %{{.*}}, %[[G]]
// CHECK: %[[DIV:.*]] = arith.cmpi eq, %[[REM]], %c0
// CHECK: cf.assert %[[DIV]], "{{.*}}H (operand 'x' dimension 2) must be a multiple of G (operand 'B' dimension 2)"
func.func @ssd_groups(%x: tensor<1x8x4x3xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>,
                      %B: tensor<1x8x?x5xf32>) -> tensor<1x8x4x3xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x8x4x3xf32>, tensor<1x8x4xf32>, tensor<4xf32>, tensor<1x8x?x5xf32>,
         tensor<1x8x?x5xf32>) -> tensor<1x8x4x3xf32>
  return %y : tensor<1x8x4x3xf32>
}

// -----

// Ops built by the model importer have no file:line:col; the message names
// the module they compute instead.
// CHECK-LABEL: func.func @named
// CHECK: cf.assert %{{.*}}, "backbone.layers.*.mixer.conv1d: ssm.causal_conv1d: operand 'init_state' dimension 0 (B) does not match operand 'x' dimension 0"
func.func @named(%x: tensor<?x4x?xf32>, %w: tensor<4x3xf32>, %s: tensor<?x4x2xf32>)
    -> tensor<?x4x?xf32> {
  %o = ssm.causal_conv1d %x, %w init_state(%s)
      : (tensor<?x4x?xf32>, tensor<4x3xf32>, tensor<?x4x2xf32>) -> tensor<?x4x?xf32>
      loc("backbone.layers.*.mixer.conv1d"("model_decode"))
  return %o : tensor<?x4x?xf32>
}
