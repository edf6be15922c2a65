// RUN: ssm-opt %s -split-input-file -ssm-to-recurrence -ssm-select-gpu-algorithm="chip=sm_90a ssd-chunks=sequential" -convert-ssm-to-gpu="chip=sm_90a" | FileCheck %s
// RUN: ssm-opt %s -split-input-file -ssm-to-recurrence -ssm-select-gpu-algorithm="chip=sm_90 ssd-chunks=sequential" -convert-ssm-to-gpu="chip=sm_90" | FileCheck %s --check-prefix=SM90
// RUN: ssm-opt %s -split-input-file -convert-ssm-to-gpu="chip=sm_90a" | FileCheck %s --check-prefix=PARALLEL

// Chunked SSD for sm_90a (N = 128, P = 64): one warpgroup per (row, head,
// 64 head channels), launched with the dynamic shared memory of its
// operands (C, B, Bᵀ and the state copy 64 x 128 each, M, δx and w ∘ δx
// 64 x 64 in f16, the log decays, δ and cum in f32: 90880 bytes), carved
// by memref.view.
// The state tile (64 x 128) is wgmma's accumulator: 64 f32 per thread.
// Per chunk the operands are written, fenced to the async proxy and
// published by a barrier; each product is one fenced group of
// wgmma.mma_async (m64n64k16: K = 128 for C Bᵀ, 8 of them), committed and
// waited for; the scores are masked (i ≥ j) and stored for M δx; the state
// update is m64n128k16 over the 64 steps (4).
// CHECK-LABEL: func.func @chunked
// CHECK: %[[SMEM:.*]] = arith.constant 90880 : i32
// CHECK: gpu.launch_func @ssm_kernels::@chunked_ssd_wgmma blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%c128{{.*}}) dynamic_shared_memory_size %[[SMEM]]
// CHECK: gpu.func @chunked_ssd_wgmma(
// CHECK: %[[DYN:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[DYN]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<8192xf16, #gpu.address_space<workgroup>>
// CHECK: memref.extract_aligned_pointer_as_index %[[DYN]]
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: gpu.barrier
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: arith.cmpi uge
// CHECK: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// With the chunks in parallel (the default for this dynamic batch), the
// chunk-states and chunk-outputs kernels take wgmma, each with the same
// dynamic shared memory; the state-passing kernel between them is plain.
// The states kernel runs the state update's wgmma only (m64n128k16, 4),
// the outputs kernel the products of y (C Bᵀ, C hᵀ: 8 each, M δx: 4) and
// the state update that carries the state across the chunks of its span.
// PARALLEL-LABEL: func.func @chunked
// PARALLEL: %[[SMEM:.*]] = arith.constant 90880 : i32
// PARALLEL: gpu.launch_func @ssm_kernels::@chunked_ssd_wgmma_states {{.*}} dynamic_shared_memory_size %[[SMEM]]
// PARALLEL: gpu.launch_func @ssm_kernels::@chunked_ssd_passing
// PARALLEL: gpu.launch_func @ssm_kernels::@chunked_ssd_wgmma_outputs {{.*}} dynamic_shared_memory_size %[[SMEM]]
// PARALLEL: gpu.func @chunked_ssd_wgmma_states(
// PARALLEL-NOT: gpu.func
// PARALLEL-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>
// PARALLEL-NOT: nvvm.wgmma.mma_async
// PARALLEL: gpu.func @chunked_ssd_passing(
// PARALLEL-NOT: nvvm.wgmma
// PARALLEL: gpu.func @chunked_ssd_wgmma_outputs(
// PARALLEL-COUNT-20: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>
// PARALLEL-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>
// PARALLEL-NOT: nvvm.wgmma.mma_async
// SM90-LABEL: func.func @chunked
// SM90: gpu.launch_func @ssm_kernels::@chunked_ssd blocks
// SM90-NOT: nvvm.wgmma
// SM90: nvgpu.mma.sync
func.func @chunked(%x: tensor<?x?x2x64xf32>, %dt: tensor<?x?x2xf32>, %A: tensor<2xf32>,
                   %B: tensor<?x?x1x128xf32>, %C: tensor<?x?x1x128xf32>, %h0: tensor<?x2x64x128xf32>)
    -> (tensor<?x?x2x64xf32>, tensor<?x2x64x128xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C init(%h0) algorithm chunked
      : (tensor<?x?x2x64xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x128xf32>,
         tensor<?x?x1x128xf32>, tensor<?x2x64x128xf32>) -> (tensor<?x?x2x64xf32>, tensor<?x2x64x128xf32>)
  return %y, %h : tensor<?x?x2x64xf32>, tensor<?x2x64x128xf32>
}

// -----

// Outside the wgmma kernel's limits (P = 32, not a multiple of 64), sm_90a
// keeps the mma.sync kernel.
// CHECK-LABEL: func.func @narrow_heads
// CHECK: gpu.launch_func @ssm_kernels::@narrow_heads_ssd blocks
// CHECK-NOT: dynamic_shared_memory_size
// CHECK: nvgpu.mma.sync
// CHECK-NOT: nvvm.wgmma
func.func @narrow_heads(%x: tensor<?x?x2x32xf32>, %dt: tensor<?x?x2xf32>, %A: tensor<2xf32>,
                        %B: tensor<?x?x1x64xf32>, %C: tensor<?x?x1x64xf32>)
    -> tensor<?x?x2x32xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C algorithm chunked
      : (tensor<?x?x2x32xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x64xf32>,
         tensor<?x?x1x64xf32>) -> tensor<?x?x2x32xf32>
  return %y : tensor<?x?x2x32xf32>
}
