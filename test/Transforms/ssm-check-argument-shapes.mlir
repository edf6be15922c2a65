// RUN: ssm-opt %s -split-input-file -ssm-check-argument-shapes | FileCheck %s

// A public function's static sizes are checked at entry: the argument takes
// a dynamic type (the same descriptor), each static size is asserted, and
// the body uses the argument seen with its static type again (a
// reinterpret_cast stating the row-major strides, so that the kernels keep
// constant strides). Dynamic sizes,
// scalars and non-identity layouts are left alone.
// CHECK-LABEL: func.func @f(
// CHECK-SAME: %[[X:[^:]*]]: memref<?x?xf32> {ssm.name = "x"}, %[[Y:[^:]*]]: memref<?x?xf32>, %[[N:[^:]*]]: f32, %[[S:[^:]*]]: memref<4xf32, strided<[2]>>)
// CHECK: %[[D0:.*]] = memref.dim %[[X]], %c0
// CHECK: arith.cmpi eq, %[[D0]], %c4
// CHECK: cf.assert %{{.*}}, "{{.*}}: @f: argument 'x' dimension 0 is not 4"
// CHECK: cf.assert %{{.*}}, "{{.*}}: @f: argument 'x' dimension 1 is not 8"
// CHECK: %[[XS:.*]] = memref.reinterpret_cast %[[X]] to offset: [0], sizes: [4, 8], strides: [8, 1] : memref<?x?xf32> to memref<4x8xf32>
// CHECK-NOT: argument 1 dimension 0
// CHECK: cf.assert %{{.*}}, "{{.*}}: @f: argument 1 dimension 1 is not 8"
// CHECK: %[[YS:.*]] = memref.reinterpret_cast %[[Y]] to offset: [0], sizes: [%{{.*}}, 8], strides: [8, 1] : memref<?x?xf32> to memref<?x8xf32>
// CHECK: memref.copy %[[XS]], %[[YS]]
func.func @f(%x: memref<4x8xf32> {ssm.name = "x"}, %y: memref<?x8xf32>, %n: f32,
             %s: memref<4xf32, strided<[2]>>) {
  memref.copy %x, %y : memref<4x8xf32> to memref<?x8xf32>
  return
}

// -----

// Calls inside the module cast their buffers; private functions are not
// entry points and keep their signatures.
// CHECK-LABEL: func.func private @helper(%{{.*}}: memref<2xf32>)
// CHECK-LABEL: func.func @callee(%{{.*}}: memref<?xf32>)
// CHECK-LABEL: func.func @caller(
// CHECK: %[[C:.*]] = memref.cast %{{.*}} : memref<2xf32> to memref<?xf32>
// CHECK: call @callee(%[[C]])
// CHECK: call @helper(%{{.*}}) : (memref<2xf32>) -> ()
func.func private @helper(%x: memref<2xf32>) {
  return
}
func.func @callee(%x: memref<2xf32>) {
  return
}
func.func @caller(%x: memref<?xf32>) {
  %c = memref.alloc() : memref<2xf32>
  call @callee(%c) : (memref<2xf32>) -> ()
  call @helper(%c) : (memref<2xf32>) -> ()
  memref.dealloc %c : memref<2xf32>
  return
}
