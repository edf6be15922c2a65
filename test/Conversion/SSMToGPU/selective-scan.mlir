// RUN: ssm-opt %s -split-input-file -convert-ssm-to-gpu | FileCheck %s

// One thread per (batch, channel); A and the fixed C are loaded once, the
// 2 states are the time loop's carried values, y is written every step and
// the final state after the loop, both in device memory from the host.
// CHECK-LABEL: func.func @scan
// CHECK: %[[Y:.*]] = gpu.alloc
// CHECK: %[[FINAL:.*]] = gpu.alloc
// CHECK: gpu.launch_func @ssm_kernels::@scan_selective_scan
// CHECK-SAME: args(%[[Y]] : memref<?x4x?xf32>, %[[FINAL]] : memref<?x4x2xf32>,
// CHECK: gpu.func @scan_selective_scan(%[[KY:arg[0-9]+]]: memref<?x4x?xf32>, %[[KF:arg[0-9]+]]: memref<?x4x2xf32>, %[[KU:arg[0-9]+]]: memref<?x4x?xf32>, %[[KD:arg[0-9]+]]: memref<?x4x?xf32>, %[[KA:arg[0-9]+]]: memref<4x2xf32>, %[[KB:arg[0-9]+]]: memref<?x2x2x?xf32>, %[[KC:arg[0-9]+]]: memref<4x2xf32>)
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: %[[A0:.*]] = memref.load %[[KA]][%{{.*}}, %c0{{.*}}]
// CHECK: %[[C0:.*]] = memref.load %[[KC]][%{{.*}}, %c0{{.*}}]
// CHECK: %[[A1:.*]] = memref.load %[[KA]][%{{.*}}, %c1{{.*}}]
// CHECK: %[[C1:.*]] = memref.load %[[KC]][%{{.*}}, %c1{{.*}}]
// CHECK: %[[H:.*]]:2 = scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[S0:.*]] = %{{.*}}, %[[S1:.*]] = %{{.*}}) -> (f32, f32)
// CHECK: memref.load %[[KD]][%{{.*}}, %{{.*}}, %[[T]]]
// CHECK: memref.load %[[KU]][%{{.*}}, %{{.*}}, %[[T]]]
// CHECK: memref.load %[[KB]][%{{.*}}, %{{.*}}, %c0{{.*}}, %[[T]]]
// CHECK: arith.mulf %{{.*}}, %[[A0]]
// CHECK: math.exp
// CHECK: arith.mulf %{{.*}}, %[[S0]]
// CHECK: memref.store %{{.*}}, %[[KY]][%{{.*}}, %{{.*}}, %[[T]]]
// CHECK: scf.yield
// CHECK: memref.store %[[H]]#0, %[[KF]]
// CHECK: memref.store %[[H]]#1, %[[KF]]
func.func @scan(%u: tensor<?x4x?xf32>, %delta: tensor<?x4x?xf32>, %A: tensor<4x2xf32>,
                %B: tensor<?x2x2x?xf32>, %C: tensor<4x2xf32>)
    -> (tensor<?x4x?xf32>, tensor<?x4x2xf32>) {
  %y, %h = ssm.selective_scan %u, %delta, %A, %B, %C
      : (tensor<?x4x?xf32>, tensor<?x4x?xf32>, tensor<4x2xf32>, tensor<?x2x2x?xf32>,
         tensor<4x2xf32>) -> (tensor<?x4x?xf32>, tensor<?x4x2xf32>)
  return %y, %h : tensor<?x4x?xf32>, tensor<?x4x2xf32>
}
