// RUN: ssm-opt %s -split-input-file -convert-ssm-to-gpu | FileCheck %s

// A warp per (batch, channel), 4 per block: the grid is ⌈B·D / 4⌉. Time
// goes in rounds of 256 steps, lane l owning the 8 from 8 l; the carried
// state (N = 2: one per lane, lanes past N clamped) is the round loop's
// value. Per n: A and the fixed C loaded, 8 decays, the chunk's pair, the
// inclusive scan (5 shuffle-up pairs), the state entering the chunk from
// lane n's carry, the 8 outputs, the carry out of lane 31 given to lane n.
// y is stored per valid step, the final state by the lanes below N.
// CHECK-LABEL: func.func @scan
// CHECK: %[[Y:.*]] = gpu.alloc
// CHECK: %[[FINAL:.*]] = gpu.alloc
// CHECK: %[[ITEMS:.*]] = arith.muli %{{.*}}, %c4
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[ITEMS]], %c4
// CHECK: gpu.launch_func @ssm_kernels::@scan_selective_scan blocks in (%[[GRID]], {{.*}}) threads in (%c128,
// CHECK-SAME: args(%[[Y]] : memref<?x4x?xf32>, %[[FINAL]] : memref<?x4x2xf32>,
// CHECK: gpu.func @scan_selective_scan(%[[KY:arg[0-9]+]]: memref<?x4x?xf32>, %[[KF:arg[0-9]+]]: memref<?x4x2xf32>, %[[KU:arg[0-9]+]]: memref<?x4x?xf32>, %[[KD:arg[0-9]+]]: memref<?x4x?xf32>, %[[KA:arg[0-9]+]]: memref<4x2xf32>, %[[KB:arg[0-9]+]]: memref<?x2x2x?xf32>, %[[KC:arg[0-9]+]]: memref<4x2xf32>)
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: %[[LANE:.*]] = arith.remui %{{.*}}, %c32
// CHECK: %[[L:.*]] = memref.dim %[[KU]], %c2
// CHECK: %[[CARRY:.*]] = scf.for %[[R:.*]] = %{{.*}} to %[[L]] step %c256 iter_args(%[[CIN:.*]] = %{{.*}}) -> (f32)
// CHECK: %[[OFF:.*]] = arith.muli %[[LANE]], %c8
// CHECK: %[[FIRST:.*]] = arith.addi %[[R]], %[[OFF]]
// CHECK: %[[T0:.*]] = arith.minui %{{.*}}, %{{.*}}
// CHECK: memref.load %[[KD]][%{{.*}}, %{{.*}}, %[[T0]]]
// CHECK: memref.load %[[KU]][%{{.*}}, %{{.*}}, %[[T0]]]
// CHECK: %[[NS:.*]]:9 = scf.for %[[N:.*]] = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args({{.*}}, %[[C:.*]] = %[[CIN]])
// CHECK: memref.load %[[KA]]
// CHECK: memref.load %[[KC]]
// CHECK: memref.load %[[KB]][%{{.*}}, %{{.*}}, %{{.*}}, %[[T0]]]
// CHECK-COUNT-8: math.exp
// CHECK: gpu.shuffle up %{{.*}}, %c1_i32
// CHECK: gpu.shuffle up %{{.*}}, %c2_i32
// CHECK: gpu.shuffle up %{{.*}}, %c4_i32
// CHECK: gpu.shuffle up %{{.*}}, %c8_i32
// CHECK: gpu.shuffle up %{{.*}}, %c16_i32
// CHECK: %[[NI32:.*]] = arith.index_cast %[[N]] : index to i32
// CHECK: gpu.shuffle idx %[[C]], %[[NI32]]
// CHECK: gpu.shuffle up %{{.*}}, %c1_i32
// CHECK: gpu.shuffle up %{{.*}}, %c1_i32
// CHECK-COUNT-8: fastmath<reassoc,contract>
// CHECK: %[[LAST:.*]], %{{.*}} = gpu.shuffle idx %{{.*}}, %c31_i32
// CHECK: %[[MINE:.*]] = arith.cmpi eq, %[[LANE]], %[[N]]
// CHECK: %[[NEXT:.*]] = arith.select %[[MINE]], %[[LAST]], %[[C]]
// CHECK: scf.yield {{.*}}, %[[NEXT]]
// CHECK-COUNT-8: memref.store %{{.*}}, %[[KY]]
// CHECK: scf.yield %[[NS]]#8
// CHECK: scf.if
// CHECK: memref.store %[[CARRY]], %[[KF]]
func.func @scan(%u: tensor<?x4x?xf32>, %delta: tensor<?x4x?xf32>, %A: tensor<4x2xf32>,
                %B: tensor<?x2x2x?xf32>, %C: tensor<4x2xf32>)
    -> (tensor<?x4x?xf32>, tensor<?x4x2xf32>) {
  %y, %h = ssm.selective_scan %u, %delta, %A, %B, %C
      : (tensor<?x4x?xf32>, tensor<?x4x?xf32>, tensor<4x2xf32>, tensor<?x2x2x?xf32>,
         tensor<4x2xf32>) -> (tensor<?x4x?xf32>, tensor<?x4x2xf32>)
  return %y, %h : tensor<?x4x?xf32>, tensor<?x4x2xf32>
}
