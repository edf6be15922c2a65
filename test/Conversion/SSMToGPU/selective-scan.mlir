// RUN: ssm-opt %s -split-input-file -convert-ssm-to-gpu | FileCheck %s

// A warp per (batch, channel), 4 per block: the grid is ⌈B·D / 4⌉; warps
// past the last item recompute it (clamped) and store nothing, so that all
// threads reach the barriers. Time goes in rounds of 256 steps. Loads and
// stores along time are coalesced (lane l at step 32 j + l) and go through
// the warp's row of workgroup memory (264 words: a pad word per 32) to the
// lane's chunk of 8 consecutive steps (from 8 l, slot 8 l + l / 4), between
// two barriers. The chunk's steps past L are the identity by a zero δ, set
// once per step before the entries. The carried state (N = 2: one per lane) is the round loop's
// value. Per n: A and the fixed C loaded, the selective B loaded coalesced
// and exchanged, the chunk's pair, the inclusive scan (5 shuffle-up pairs),
// the state entering the chunk from lane n's carry, the 8 outputs, the
// carry out of lane 31 given to lane n. y goes back to coalesced steps and
// is stored there; the final state by the lanes below N.
// CHECK-LABEL: func.func @scan
// CHECK: %[[Y:.*]] = gpu.alloc
// CHECK: %[[FINAL:.*]] = gpu.alloc
// CHECK: %[[ITEMS:.*]] = arith.muli %{{.*}}, %c4
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[ITEMS]], %c4
// CHECK: gpu.launch_func @ssm_kernels::@scan_selective_scan blocks in (%[[GRID]], {{.*}}) threads in (%c128,
// CHECK-SAME: args(%[[Y]] : memref<?x4x?xf32>, %[[FINAL]] : memref<?x4x2xf32>,
// CHECK: gpu.func @scan_selective_scan(%[[KY:arg[0-9]+]]: memref<?x4x?xf32>, %[[KF:arg[0-9]+]]: memref<?x4x2xf32>, %[[KU:arg[0-9]+]]: memref<?x4x?xf32>, %[[KD:arg[0-9]+]]: memref<?x4x?xf32>, %[[KA:arg[0-9]+]]: memref<4x2xf32>, %[[KB:arg[0-9]+]]: memref<?x2x2x?xf32>, %[[KC:arg[0-9]+]]: memref<4x2xf32>)
// CHECK-SAME: workgroup(%[[ROW:arg[0-9]+]] : memref<4x2x264xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: %[[LANE:.*]] = arith.remui %{{.*}}, %c32
// CHECK: %[[WARP:.*]] = arith.divui %{{.*}}, %c32
// CHECK: %[[ITEM:.*]] = arith.addi %{{.*}}, %[[WARP]]
// CHECK: %[[L:.*]] = memref.dim %[[KU]], %c2
// CHECK: %[[ACTIVE:.*]] = arith.cmpi ult, %[[ITEM]], %{{.*}}
// CHECK: arith.minui %[[ITEM]], %{{.*}}
// CHECK: %[[CARRY:.*]] = scf.for %[[R:.*]] = %{{.*}} to %[[L]] step %c256 iter_args(%[[CIN:.*]] = %{{.*}}) -> (f32)
// CHECK: %[[T0:.*]] = arith.addi %[[R]], %{{.*}}
// CHECK: %[[VALID0:.*]] = arith.cmpi ult, %[[T0]], %[[L]]
// CHECK: %[[STORE0:.*]] = arith.andi %[[ACTIVE]], %[[VALID0]]
// CHECK: %[[S0:.*]] = arith.minui %[[T0]], %{{.*}}
// CHECK: memref.load %[[KD]][%{{.*}}, %{{.*}}, %[[S0]]]
// CHECK: memref.load %[[KU]][%{{.*}}, %{{.*}}, %[[S0]]]
// CHECK: memref.store %{{.*}}, %[[ROW]][%[[WARP]], %c0
// CHECK: gpu.barrier
// CHECK: memref.load %[[ROW]][%[[WARP]], %c0
// CHECK: gpu.barrier
// CHECK: %[[IN0:.*]] = arith.cmpi ult, %{{.*}}, %[[L]]
// CHECK: arith.select %[[IN0]], %{{.*}}, %cst
// CHECK: %[[NS:.*]]:9 = scf.for %[[N:.*]] = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args({{.*}}, %[[C:.*]] = %[[CIN]])
// CHECK: memref.load %[[KA]]
// CHECK: memref.load %[[KC]]
// CHECK: memref.load %[[KB]][%{{.*}}, %{{.*}}, %{{.*}}, %[[S0]]]
// CHECK: memref.store %{{.*}}, %[[ROW]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[ROW]]
// CHECK: gpu.barrier
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
// CHECK: memref.store %[[NS]]#0, %[[ROW]]
// CHECK: gpu.barrier
// CHECK: %[[Y0:.*]] = memref.load %[[ROW]]
// CHECK: gpu.barrier
// CHECK: scf.if %[[STORE0]] {
// CHECK: memref.store %[[Y0]], %[[KY]][%{{.*}}, %{{.*}}, %[[S0]]]
// CHECK: scf.yield %[[NS]]#8
// CHECK: %[[KEEP:.*]] = arith.andi %[[ACTIVE]],
// CHECK: scf.if %[[KEEP]]
// CHECK: memref.store %[[CARRY]], %[[KF]]
func.func @scan(%u: tensor<?x4x?xf32>, %delta: tensor<?x4x?xf32>, %A: tensor<4x2xf32>,
                %B: tensor<?x2x2x?xf32>, %C: tensor<4x2xf32>)
    -> (tensor<?x4x?xf32>, tensor<?x4x2xf32>) {
  %y, %h = ssm.selective_scan %u, %delta, %A, %B, %C
      : (tensor<?x4x?xf32>, tensor<?x4x?xf32>, tensor<4x2xf32>, tensor<?x2x2x?xf32>,
         tensor<4x2xf32>) -> (tensor<?x4x?xf32>, tensor<?x4x2xf32>)
  return %y, %h : tensor<?x4x?xf32>, tensor<?x4x2xf32>
}

// -----

// Only y is used: the final state is neither allocated nor written, and
// the initial state is only read.
// CHECK-LABEL: func.func @y_only
// CHECK: gpu.alloc
// CHECK-NOT: gpu.alloc
// CHECK: gpu.launch_func @ssm_kernels::@y_only_selective_scan
// CHECK: gpu.func @y_only_selective_scan(%{{.*}}: memref<?x4x?xf32>, %{{.*}}: memref<?x4x?xf32>, %{{.*}}: memref<?x4x?xf32>, %{{.*}}: memref<4x2xf32>, %{{.*}}: memref<?x2x2x?xf32>, %{{.*}}: memref<4x2xf32>, %[[H0:arg[0-9]+]]: memref<?x4x2xf32>)
// CHECK: memref.load %[[H0]]
// CHECK-NOT: memref.store %{{.*}}, %[[H0]]
// CHECK: gpu.return
func.func @y_only(%u: tensor<?x4x?xf32>, %delta: tensor<?x4x?xf32>, %A: tensor<4x2xf32>,
                  %B: tensor<?x2x2x?xf32>, %C: tensor<4x2xf32>, %h0: tensor<?x4x2xf32>)
    -> tensor<?x4x?xf32> {
  %y = ssm.selective_scan %u, %delta, %A, %B, %C init(%h0)
      : (tensor<?x4x?xf32>, tensor<?x4x?xf32>, tensor<4x2xf32>, tensor<?x2x2x?xf32>,
         tensor<4x2xf32>, tensor<?x4x2xf32>) -> tensor<?x4x?xf32>
  return %y : tensor<?x4x?xf32>
}
