// RUN: ssm-opt %s -ssm-drop-argument-results | FileCheck %s

// A returned argument is dropped from a public function; other results stay.
// CHECK-LABEL: func.func @step(
// CHECK-SAME: memref<4x16xf32>) -> memref<4xf32> {
// CHECK: return %{{.*}} : memref<4xf32>
func.func @step(%x: memref<4xf32>, %s: memref<4x16xf32>) -> (memref<4x16xf32>, memref<4xf32>) {
  %y = memref.alloc() : memref<4xf32>
  return %s, %y : memref<4x16xf32>, memref<4xf32>
}

// A function with callers keeps its signature.
// CHECK-LABEL: func.func private @callee(%{{.*}}: memref<4xf32>) -> memref<4xf32>
// CHECK-LABEL: func.func @caller
// CHECK: call @callee
func.func private @callee(%x: memref<4xf32>) -> memref<4xf32> {
  return %x : memref<4xf32>
}
func.func @caller(%x: memref<4xf32>) -> memref<4xf32> {
  %r = func.call @callee(%x) : (memref<4xf32>) -> memref<4xf32>
  return %r : memref<4xf32>
}
