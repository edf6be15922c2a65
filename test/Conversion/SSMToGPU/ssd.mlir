// RUN: ssm-opt %s -convert-ssm-to-gpu | FileCheck %s

// Recurrent SSD with packed sequences: rows are the sequences of
// cu_seqlens (their count sizes the final states), one warp per (row,
// head, head channel); N = 48 gives each lane two entries, the second
// valid below N only; the states are the time loop's carried values, from
// cu_seqlens[r] to cu_seqlens[r + 1]; the warp sum is inside the loop.
// CHECK-LABEL: func.func @packed
// CHECK-SAME: %[[CU:arg5]]: tensor<?xi64>
// CHECK: %[[S1:.*]] = tensor.dim %[[CU]]
// CHECK: %[[ROWS:.*]] = arith.subi %[[S1]], %{{.*}} : index
// CHECK: %[[Y:.*]] = gpu.alloc
// CHECK: %[[FINAL:.*]] = gpu.alloc (%[[ROWS]]) : memref<?x2x4x48xf32>
// CHECK: gpu.launch_func @ssm_kernels::@packed_ssd
// CHECK: gpu.func @packed_ssd(%[[KY:arg[0-9]+]]: memref<1x?x2x4xf32>, %[[KF:arg[0-9]+]]: memref<?x2x4x48xf32>, %[[KX:arg[0-9]+]]: memref<1x?x2x4xf32>, %{{.*}}: memref<1x?x2xf32>, %{{.*}}: memref<2xf32>, %[[KB:arg[0-9]+]]: memref<1x?x1x48xf32>, %[[KC:arg[0-9]+]]: memref<1x?x1x48xf32>, %[[KCU:arg[0-9]+]]: memref<?xi64>)
// CHECK: %[[LANE:.*]] = arith.remui
// CHECK: %[[BEGIN64:.*]] = memref.load %[[KCU]]
// CHECK: %[[BEGIN:.*]] = arith.index_cast %[[BEGIN64]] : i64 to index
// CHECK: %[[END64:.*]] = memref.load %[[KCU]]
// CHECK: %[[END:.*]] = arith.index_cast %[[END64]] : i64 to index
// CHECK: %[[N0:.*]] = arith.addi %[[LANE]], %c0{{.*}} : index
// CHECK: %[[N1:.*]] = arith.addi %[[LANE]], %c32{{.*}} : index
// CHECK: %[[VALID1:.*]] = arith.cmpi ult, %[[N1]], %c48{{.*}} : index
// CHECK: %[[H:.*]]:2 = scf.for %[[T:.*]] = %[[BEGIN]] to %[[END]] step %{{.*}} iter_args(%[[H0:.*]] = %{{.*}}, %[[H1:.*]] = %{{.*}}) -> (f32, f32)
// CHECK: memref.load %[[KB]][%{{.*}}, %[[T]], %{{.*}}, %[[N0]]]
// CHECK: scf.if %[[VALID1]] -> (f32)
// CHECK: memref.load %[[KB]][%{{.*}}, %[[T]], %{{.*}}, %[[N1]]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[KY]][%{{.*}}, %[[T]], %{{.*}}, %{{.*}}]
// CHECK: scf.yield
// CHECK: memref.store %[[H]]#0, %[[KF]]
// CHECK: scf.if %[[VALID1]] {
// CHECK: memref.store %[[H]]#1, %[[KF]]
func.func @packed(%x: tensor<1x?x2x4xf32>, %dt: tensor<1x?x2xf32>, %A: tensor<2xf32>,
                  %B: tensor<1x?x1x48xf32>, %C: tensor<1x?x1x48xf32>, %cu: tensor<?xi64>)
    -> (tensor<1x?x2x4xf32>, tensor<?x2x4x48xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C cu_seqlens(%cu)
      : (tensor<1x?x2x4xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x1x48xf32>,
         tensor<1x?x1x48xf32>, tensor<?xi64>) -> (tensor<1x?x2x4xf32>, tensor<?x2x4x48xf32>)
  return %y, %h : tensor<1x?x2x4xf32>, tensor<?x2x4x48xf32>
}
