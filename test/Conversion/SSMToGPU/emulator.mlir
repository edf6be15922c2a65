// RUN: ssm-opt %s -convert-ssm-to-gpu -test-ssm-gpu-to-emulator | FileCheck %s
// RUN: ssm-opt %s -convert-ssm-to-gpu='chip=sm_80' -test-ssm-gpu-to-emulator -split-input-file | FileCheck %s --check-prefix=MMA
// What the GPU kernel tests run on the CPU (test/Integration/GPU): each
// kernel as a host function of the same signature, its thread and block
// ids and warp shuffles as calls into the emulator, the host functions that
// launched it gone.

// CHECK-NOT: gpu.module
// CHECK-NOT: gpu.launch_func
// CHECK: memref.global "public" @ssm_emu_arena : memref<262144xi8>
// CHECK-LABEL: func.func @step_state_update(
// CHECK-SAME: memref<2x4x8x16xf32>
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: call @ssm_emu_thread_id() : () -> index
// CHECK: call @ssm_emu_block_id() : () -> index
// CHECK-COUNT-5: func.call @ssm_emu_shuffle_xor_f32
// CHECK: return
// CHECK-NOT: gpu.
func.func @step(%x: tensor<2x4x8xf32>, %dt: tensor<2x4xf32>, %A: tensor<4xf32>,
                %B: tensor<2x1x16xf32>, %h: tensor<2x4x8x16xf32>, %y: tensor<2x4x8xf32>)
    -> (tensor<2x4x8x16xf32>, tensor<2x4x8xf32>) {
  %h1, %y1 = ssm.state_update ins(%x, %dt, %A, %B, %B
      : tensor<2x4x8xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<2x1x16xf32>, tensor<2x1x16xf32>)
      outs(%h, %y : tensor<2x4x8x16xf32>, tensor<2x4x8xf32>)
  return %h1, %y1 : tensor<2x4x8x16xf32>, tensor<2x4x8xf32>
}

// -----

// The chunked SSD on sm_80: tensor-core products become the emulator's
// mma (fragments in, four results out), barriers its block barrier, and
// every shared-memory access is reported to its racecheck.
// MMA-LABEL: func.func @parallel_
// MMA: memref.get_global @ssm_emu_arena
// MMA: call @ssm_emu_shared_access
// MMA: call @ssm_emu_barrier()
// MMA: call @ssm_emu_mma_put
// MMA: call @ssm_emu_mma()
// MMA-COUNT-4: call @ssm_emu_mma_get
// MMA-NOT: nvgpu.mma.sync
func.func @parallel(%x: tensor<?x?x2x32xf32>, %dt: tensor<?x?x2xf32>, %A: tensor<2xf32>,
                    %B: tensor<?x?x1x64xf32>, %C: tensor<?x?x1x64xf32>, %h0: tensor<?x2x32x64xf32>)
    -> (tensor<?x?x2x32xf32>, tensor<?x2x32x64xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C init(%h0) algorithm chunked {chunk_size = 64 : i64}
      : (tensor<?x?x2x32xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x64xf32>,
         tensor<?x?x1x64xf32>, tensor<?x2x32x64xf32>) -> (tensor<?x?x2x32xf32>, tensor<?x2x32x64xf32>)
  return %y, %h : tensor<?x?x2x32xf32>, tensor<?x2x32x64xf32>
}
