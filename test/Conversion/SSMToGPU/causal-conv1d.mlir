// RUN: ssm-opt %s -convert-ssm-to-gpu | FileCheck %s

// The results have no destination operand: they are allocated in device
// memory on the host (gpu.alloc, sized from x), and the kernel runs one
// thread per (batch, channel, step) over max(L, W - 1) steps per channel,
// so that the final state is written even for an empty sequence.
// CHECK-LABEL: func.func @conv
// CHECK-SAME: %[[X:arg0]]: tensor<?x64x?xf32>
// CHECK-DAG: %[[B:.*]] = tensor.dim %[[X]], %c0 : tensor<?x64x?xf32>
// CHECK-DAG: %[[L:.*]] = tensor.dim %[[X]], %c2 : tensor<?x64x?xf32>
// CHECK: %[[OUT:.*]] = gpu.alloc (%[[B]], %[[L]]) : memref<?x64x?xf32>
// CHECK: %[[FINAL:.*]] = gpu.alloc (%[[B]]) : memref<?x64x3xf32>
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[STEPS:.*]] = arith.maxui %{{.*}}, %{{.*}} : index
// CHECK: gpu.launch_func @ssm_kernels::@conv_causal_conv1d
// CHECK-SAME: args(%[[OUT]] : memref<?x64x?xf32>, %[[FINAL]] : memref<?x64x3xf32>, %[[XB]] : memref<?x64x?xf32>
// CHECK: %[[R0:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: %[[R1:.*]] = bufferization.to_tensor %[[FINAL]] restrict writable
// CHECK: return %[[R0]], %[[R1]]

// CHECK: gpu.func @conv_causal_conv1d(%[[KOUT:arg[0-9]+]]: memref<?x64x?xf32>, %[[KFIN:arg[0-9]+]]: memref<?x64x3xf32>, %[[KX:arg[0-9]+]]: memref<?x64x?xf32>, %[[KW:arg[0-9]+]]: memref<64x4xf32>, %[[KS:arg[0-9]+]]: memref<?x64x3xf32>)
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: %[[FIRST:.*]] = arith.muli %[[BID]], %{{.*}} : index
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[ITEM:.*]] = arith.addi %[[FIRST]], %[[TID]] : index
// CHECK: scf.if
// CHECK: %[[T:.*]] = arith.remui %[[ITEM]], %{{.*}} : index
// The output: a loop over the taps; x̃ reads the carried state left of x.
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: %[[S:.*]] = arith.addi %{{.*}}, %[[K]] : index
// CHECK: %[[INX:.*]] = arith.cmpi sge, %[[S]], %{{.*}} : index
// CHECK: scf.if %[[INX]] -> (f32) {
// CHECK: memref.load %[[KX]]
// CHECK: } else {
// CHECK: memref.load %[[KS]]
// CHECK: memref.load %[[KW]]
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[KOUT]]
// The final state, by the threads of the first W - 1 steps.
// CHECK: memref.store %{{.*}}, %[[KFIN]]
func.func @conv(%x: tensor<?x64x?xf32>, %w: tensor<64x4xf32>, %s0: tensor<?x64x3xf32>)
    -> (tensor<?x64x?xf32>, tensor<?x64x3xf32>) {
  %out, %s = ssm.causal_conv1d %x, %w init_state(%s0) silu
      : (tensor<?x64x?xf32>, tensor<64x4xf32>, tensor<?x64x3xf32>)
      -> (tensor<?x64x?xf32>, tensor<?x64x3xf32>)
  return %out, %s : tensor<?x64x?xf32>, tensor<?x64x3xf32>
}
