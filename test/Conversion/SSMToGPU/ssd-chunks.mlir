// RUN: ssm-opt %s -split-input-file -convert-ssm-to-gpu | FileCheck %s

// The chunked SSD with spans of 256 steps in parallel (the default when the
// batch is dynamic): the states kernel writes each span's state from zero
// [B, spans, H, P, N] and its decay [B, spans, H], both f32 device buffers
// (spans = ⌈L / 256⌉); the state-passing kernel (a thread per state
// entry, 256 per block) replaces each span's state by the one entering it,
// in place, and writes the final state; the outputs kernel computes y from
// the entering states. Blocks: B · spans · H · P/16 for the span kernels,
// each walking the span's chunks.
// CHECK-LABEL: func.func @parallel
// CHECK: %[[SPANS:.*]] = arith.ceildivui %{{.*}}, %c256
// CHECK: gpu.alloc (%{{.*}}, %[[SPANS]]) : memref<?x?x2x32x64xf32>
// CHECK: gpu.alloc (%{{.*}}, %[[SPANS]]) : memref<?x?x2xf32>
// CHECK: gpu.launch_func @ssm_kernels::@parallel_ssd_states {{.*}} args(%{{.*}} : memref<?x?x2x32x64xf32>, %{{.*}} : memref<?x?x2xf32>
// CHECK: %[[STATES:.*]] = bufferization.to_tensor {{.*}} : memref<?x?x2x32x64xf32>
// CHECK: bufferization.to_buffer %[[STATES]] : tensor<?x?x2x32x64xf32>
// CHECK: gpu.alloc (%{{.*}}) : memref<?x2x32x64xf32>
// CHECK: gpu.launch_func @ssm_kernels::@parallel_ssd_passing {{.*}} threads in (%c256{{.*}}) args(%{{.*}} : memref<?x?x2x32x64xf32>, %{{.*}} : memref<?x2x32x64xf32>, %{{.*}} : memref<?x?x2xf32>
// CHECK: gpu.alloc (%{{.*}}) : memref<?x?x2x32xf32>
// CHECK: gpu.launch_func @ssm_kernels::@parallel_ssd_outputs {{.*}} args(%{{.*}} : memref<?x?x2x32xf32>, %{{.*}} : memref<?x?x2x32x64xf32>
// CHECK: gpu.func @parallel_ssd_states(
// CHECK: nvgpu.mma.sync
// CHECK: gpu.func @parallel_ssd_passing(
// CHECK: scf.for
// CHECK: memref.load
// CHECK: memref.store
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: gpu.func @parallel_ssd_outputs(
// CHECK: nvgpu.mma.sync
func.func @parallel(%x: tensor<?x?x2x32xf32>, %dt: tensor<?x?x2xf32>, %A: tensor<2xf32>,
                    %B: tensor<?x?x1x64xf32>, %C: tensor<?x?x1x64xf32>, %h0: tensor<?x2x32x64xf32>)
    -> (tensor<?x?x2x32xf32>, tensor<?x2x32x64xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C init(%h0) algorithm chunked {chunk_size = 64 : i64}
      : (tensor<?x?x2x32xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x64xf32>,
         tensor<?x?x1x64xf32>, tensor<?x2x32x64xf32>) -> (tensor<?x?x2x32xf32>, tensor<?x2x32x64xf32>)
  return %y, %h : tensor<?x?x2x32xf32>, tensor<?x2x32x64xf32>
}

// -----

// A static grid that fills the GPU (8 rows · 24 heads · 4 tiles = 768
// blocks) walks the chunks in one kernel; so does a sequence of one span
// (256 steps).
// CHECK-LABEL: func.func @many_rows
// CHECK: gpu.launch_func @ssm_kernels::@many_rows_ssd blocks
// CHECK-NOT: gpu.launch_func
// CHECK-LABEL: func.func @one_chunk
// CHECK: gpu.launch_func @ssm_kernels::@one_chunk_ssd blocks
// CHECK-NOT: gpu.launch_func
func.func @many_rows(%x: tensor<8x?x24x64xf32>, %dt: tensor<8x?x24xf32>, %A: tensor<24xf32>,
                     %B: tensor<8x?x1x64xf32>, %C: tensor<8x?x1x64xf32>) -> tensor<8x?x24x64xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C algorithm chunked
      : (tensor<8x?x24x64xf32>, tensor<8x?x24xf32>, tensor<24xf32>, tensor<8x?x1x64xf32>,
         tensor<8x?x1x64xf32>) -> tensor<8x?x24x64xf32>
  return %y : tensor<8x?x24x64xf32>
}
func.func @one_chunk(%x: tensor<?x64x2x32xf32>, %dt: tensor<?x64x2xf32>, %A: tensor<2xf32>,
                     %B: tensor<?x64x1x64xf32>, %C: tensor<?x64x1x64xf32>) -> tensor<?x64x2x32xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C algorithm chunked
      : (tensor<?x64x2x32xf32>, tensor<?x64x2xf32>, tensor<2xf32>, tensor<?x64x1x64xf32>,
         tensor<?x64x1x64xf32>) -> tensor<?x64x2x32xf32>
  return %y : tensor<?x64x2x32xf32>
}

// -----

// Packed sequences walk their chunks: a block per sequence.
// CHECK-LABEL: func.func @packed
// CHECK: gpu.launch_func @ssm_kernels::@packed_ssd blocks
// CHECK-NOT: gpu.launch_func
func.func @packed(%x: tensor<1x?x2x32xf32>, %dt: tensor<1x?x2xf32>, %A: tensor<2xf32>,
                  %B: tensor<1x?x1x64xf32>, %C: tensor<1x?x1x64xf32>, %cu: tensor<?xi64>)
    -> tensor<1x?x2x32xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C cu_seqlens(%cu) algorithm chunked
      : (tensor<1x?x2x32xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x1x64xf32>,
         tensor<1x?x1x64xf32>, tensor<?xi64>) -> tensor<1x?x2x32xf32>
  return %y : tensor<1x?x2x32xf32>
}
