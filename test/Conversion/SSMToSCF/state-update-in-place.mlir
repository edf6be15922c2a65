// RUN: ssm-opt %s -convert-ssm-to-scf | mlir-opt -one-shot-bufferize=bufferize-function-boundaries -canonicalize | FileCheck %s

// The decode step writes the new state into the state's own buffer: after
// bufferization there is no allocation and no copy, only stores into the
// argument.
// CHECK-LABEL: func.func @decode
// CHECK-SAME: %[[STATE:arg4]]: memref<2x4x8x16xf32
// CHECK-SAME: %[[Y:arg5]]: memref<2x4x8xf32
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: memref.store %{{.*}}, %[[STATE]][
// CHECK: memref.store %{{.*}}, %[[Y]][
// CHECK: return %[[STATE]], %[[Y]]
func.func @decode(%x: tensor<2x4x8xf32>, %dt: tensor<2x4xf32>, %A: tensor<4xf32>,
                  %B: tensor<2x1x16xf32>, %s: tensor<2x4x8x16xf32>, %y: tensor<2x4x8xf32>)
    -> (tensor<2x4x8x16xf32>, tensor<2x4x8xf32>) {
  %n, %o = ssm.state_update ins(%x, %dt, %A, %B, %B : tensor<2x4x8xf32>, tensor<2x4xf32>,
                                tensor<4xf32>, tensor<2x1x16xf32>, tensor<2x1x16xf32>)
      dt_softplus outs(%s, %y : tensor<2x4x8x16xf32>, tensor<2x4x8xf32>)
  return %n, %o : tensor<2x4x8x16xf32>, tensor<2x4x8xf32>
}
