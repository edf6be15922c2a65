// RUN: ssm-opt %s --resolve-ranked-shaped-type-result-dims | FileCheck %s
// ssm.recurrence reifies its result shapes from its destinations (destination
// style), so the sizes of its results are known before any lowering.
// CHECK-LABEL: func.func @dims
// CHECK-NOT: ssm.recurrence
// CHECK: %[[B:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[L:.*]] = tensor.dim %arg0, %c1
// CHECK: return %[[B]], %[[L]]
func.func @dims(%x: tensor<?x?x4xf32>, %a: tensor<4x16xf32>) -> (index, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x4xf32>
  %l = tensor.dim %x, %c1 : tensor<?x?x4xf32>
  %y0 = tensor.empty(%b, %l) : tensor<?x?x4xf32>
  %y = ssm.recurrence diagonal forward ins(%x [b, t, p], %a [p, n] : tensor<?x?x4xf32>, tensor<4x16xf32>)
      outs(%y0 [b, t, p] : tensor<?x?x4xf32>) {
  ^bb0(%e: f32, %f: f32):
    %zero = arith.constant 0.0 : f32
    ssm.yield %f, %e, %f, %f, %zero : f32, f32, f32, f32, f32
  }
  %yb = tensor.dim %y, %c0 : tensor<?x?x4xf32>
  %yl = tensor.dim %y, %c1 : tensor<?x?x4xf32>
  return %yb, %yl : index, index
}
