// RUN: ssm-opt %s -split-input-file -convert-ssm-to-gpu | FileCheck %s

// Mamba-2 decode with a static N = 64: the host bridges the tensors to
// buffers (destinations writable, inputs read-only), launches one warp per
// (batch, head, head channel) row, 4 rows per 128-thread block, and returns
// the destination buffers as the results.
// CHECK-LABEL: func.func @mamba2
// CHECK-SAME: %[[X:arg0]]: tensor<?x4x8xf32>
// CHECK-SAME: %[[S:arg6]]: tensor<?x4x8x64xf32>, %[[Y:arg7]]: tensor<?x4x8xf32>
// CHECK: %[[SB:.*]] = bufferization.to_buffer %[[S]] : tensor<?x4x8x64xf32> to memref<?x4x8x64xf32>
// CHECK: %[[YB:.*]] = bufferization.to_buffer %[[Y]] : tensor<?x4x8xf32> to memref<?x4x8xf32>
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK: %[[BATCH:.*]] = memref.dim %[[XB]], %{{.*}} : memref<?x4x8xf32>
// CHECK: %[[ROWS:.*]] = arith.muli %[[BATCH]], %{{.*}} : index
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[ROWS]], %{{.*}} : index
// CHECK: gpu.launch_func @ssm_kernels::@mamba2_state_update
// CHECK-SAME: blocks in (%[[GRID]], %[[C1]], %[[C1]]) threads in (%[[C128]], %[[C1]], %[[C1]])
// CHECK-SAME: args(%[[SB]] : memref<?x4x8x64xf32>, %[[YB]] : memref<?x4x8xf32>, %[[XB]] : memref<?x4x8xf32>
// CHECK: %[[NS:.*]] = bufferization.to_tensor %[[SB]] restrict writable
// CHECK: %[[NY:.*]] = bufferization.to_tensor %[[YB]] restrict writable
// CHECK: return %[[NS]], %[[NY]]

// The kernel: item = block * 4 + thread / 32, guarded by the row count;
// lane l loads entries l and l + 32 of state, B and C before storing the
// updated state; the lane sums are combined by five xor shuffles and lane
// 0 adds D·x and writes y.
// CHECK: gpu.module @ssm_kernels
// CHECK: gpu.func @mamba2_state_update(%[[KS:arg[0-9]+]]: memref<?x4x8x64xf32>, %[[KY:arg[0-9]+]]: memref<?x4x8xf32>, %[[KX:arg[0-9]+]]: memref<?x4x8xf32>,
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[LANE:.*]] = arith.remui %[[TID]], %{{.*}} : index
// CHECK: %[[WARP:.*]] = arith.divui %[[TID]], %{{.*}} : index
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: %[[FIRST:.*]] = arith.muli %[[BID]], %{{.*}} : index
// CHECK: %[[ITEM:.*]] = arith.addi %[[FIRST]], %[[WARP]] : index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[ITEM]], %{{.*}} : index
// CHECK: scf.if %[[IN]] {
// CHECK: math.log1p
// CHECK: %[[DECAY:.*]] = math.exp
// CHECK: %[[N0:.*]] = arith.addi %[[LANE]], %{{.*}} : index
// CHECK: %[[H0:.*]] = memref.load %[[KS]][%{{.*}}, %{{.*}}, %{{.*}}, %[[N0]]]
// CHECK: %[[N1:.*]] = arith.addi %[[LANE]], %{{.*}} : index
// CHECK: %[[H1:.*]] = memref.load %[[KS]][%{{.*}}, %{{.*}}, %{{.*}}, %[[N1]]]
// CHECK: arith.mulf %[[DECAY]], %[[H0]]
// CHECK: memref.store %{{.*}}, %[[KS]][%{{.*}}, %{{.*}}, %{{.*}}, %[[N0]]]
// CHECK: arith.mulf %[[DECAY]], %[[H1]]
// CHECK: memref.store %{{.*}}, %[[KS]][%{{.*}}, %{{.*}}, %{{.*}}, %[[N1]]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: %[[LANE0:.*]] = arith.cmpi eq, %[[LANE]], %{{.*}} : index
// CHECK: scf.if %[[LANE0]] {
// CHECK: memref.store %{{.*}}, %[[KY]]
// CHECK: gpu.return
func.func @mamba2(%x: tensor<?x4x8xf32>, %dt: tensor<?x4xf32>, %A: tensor<4xf32>,
                  %B: tensor<?x1x64xf32>, %C: tensor<?x1x64xf32>, %D: tensor<4x8xf32>,
                  %s: tensor<?x4x8x64xf32>, %y: tensor<?x4x8xf32>)
    -> (tensor<?x4x8x64xf32>, tensor<?x4x8xf32>) {
  %n, %o = ssm.state_update ins(%x, %dt, %A, %B, %C : tensor<?x4x8xf32>, tensor<?x4xf32>,
                                tensor<4xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>)
      skip(%D : tensor<4x8xf32>) dt_softplus
      outs(%s, %y : tensor<?x4x8x64xf32>, tensor<?x4x8xf32>)
  return %n, %o : tensor<?x4x8x64xf32>, tensor<?x4x8xf32>
}

// -----

// Mamba-1 decode with f16 storage and a dynamic N: a loop over the lane's
// entries (n = lane, lane + 32, ...) with exp(δ·A[d, n]) per entry,
// f16 widened on load and rounded on store; the z gate in lane 0.
// CHECK-LABEL: func.func @mamba1
// CHECK: gpu.launch_func @ssm_kernels::@mamba1_state_update
// CHECK: gpu.func @mamba1_state_update(%[[KS:arg[0-9]+]]: memref<?x?x?xf16>, %[[KY:arg[0-9]+]]: memref<?x?xf16>,
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[LANE:.*]] = arith.remui %[[TID]], %c32 : index
// CHECK: scf.for %[[I:.*]] = %[[LANE]] to %{{.*}} step %c32{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (f32)
// CHECK: %[[H:.*]] = memref.load %[[KS]][%{{.*}}, %{{.*}}, %[[I]]] : memref<?x?x?xf16>
// CHECK: arith.extf %[[H]] : f16 to f32
// CHECK: math.exp
// CHECK: %[[NH:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %[[NH]], %[[KS]][%{{.*}}, %{{.*}}, %[[I]]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: scf.if
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %{{.*}}, %[[KY]]
func.func @mamba1(%x: tensor<?x?xf16>, %dt: tensor<?x?xf16>, %A: tensor<?x?xf32>,
                  %B: tensor<?x?x?xf16>, %C: tensor<?x?x?xf16>, %z: tensor<?x?xf16>,
                  %s: tensor<?x?x?xf16>, %y: tensor<?x?xf16>)
    -> (tensor<?x?x?xf16>, tensor<?x?xf16>) {
  %n, %o = ssm.state_update ins(%x, %dt, %A, %B, %C : tensor<?x?xf16>, tensor<?x?xf16>,
                                tensor<?x?xf32>, tensor<?x?x?xf16>, tensor<?x?x?xf16>)
      gate(%z : tensor<?x?xf16>)
      outs(%s, %y : tensor<?x?x?xf16>, tensor<?x?xf16>)
  return %n, %o : tensor<?x?x?xf16>, tensor<?x?xf16>
}

// -----

// A y_init made by tensor.empty has no values to keep: it becomes a device
// allocation instead of a bridged tensor.
// CHECK-LABEL: func.func @fresh_y
// CHECK-SAME: %[[S:arg5]]: tensor<?x4x32xf32>
// CHECK: %[[B:.*]] = tensor.dim %[[S]]
// CHECK: %[[SB:.*]] = bufferization.to_buffer %[[S]] : tensor<?x4x32xf32> to memref<?x4x32xf32>
// CHECK: %[[YB:.*]] = gpu.alloc (%[[B]]) : memref<?x4xf32>
// CHECK: gpu.launch_func @ssm_kernels::@fresh_y_state_update
// CHECK-SAME: args(%[[SB]] : memref<?x4x32xf32>, %[[YB]] : memref<?x4xf32>,
func.func @fresh_y(%x: tensor<?x4xf32>, %dt: tensor<?x4xf32>, %A: tensor<4x32xf32>,
                   %B: tensor<?x1x32xf32>, %C: tensor<?x1x32xf32>, %s: tensor<?x4x32xf32>)
    -> (tensor<?x4x32xf32>, tensor<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %s, %c0 : tensor<?x4x32xf32>
  %y = tensor.empty(%b) : tensor<?x4xf32>
  %n, %o = ssm.state_update ins(%x, %dt, %A, %B, %C : tensor<?x4xf32>, tensor<?x4xf32>,
                                tensor<4x32xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>)
      outs(%s, %y : tensor<?x4x32xf32>, tensor<?x4xf32>)
  return %n, %o : tensor<?x4x32xf32>, tensor<?x4xf32>
}
