// RUN: ssm-opt %s -split-input-file -ssm-to-recurrence -ssm-select-gpu-algorithm="ssd-chunks=sequential" -convert-ssm-to-gpu | FileCheck %s

// Recurrent SSD with packed sequences: rows are the sequences of
// cu_seqlens (their count sizes the final states), one warp per (row,
// head, head channel); N = 48 gives each lane two entries, the second
// valid below N only (its index clamped into N, its term of the sum
// masked); the states are the time loop's carried values, from
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
// CHECK: %[[N1C:.*]] = arith.minui %[[N1]], %c47{{.*}} : index
// CHECK: %[[H:.*]]:2 = scf.for %[[T:.*]] = %[[BEGIN]] to %[[END]] step %{{.*}} iter_args(%[[H0:.*]] = %{{.*}}, %[[H1:.*]] = %{{.*}}) -> (f32, f32)
// CHECK: memref.load %[[KB]][%{{.*}}, %[[T]], %{{.*}}, %[[N0]]]
// CHECK: memref.load %[[KB]][%{{.*}}, %[[T]], %{{.*}}, %[[N1C]]]
// CHECK: arith.select %[[VALID1]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[KY]][%{{.*}}, %[[T]], %{{.*}}, %{{.*}}]
// CHECK: scf.yield
// CHECK: memref.store %[[H]]#0, %[[KF]]
// CHECK: scf.if %[[VALID1]] {
// CHECK: memref.store %[[H]]#1, %[[KF]][%{{.*}}, %{{.*}}, %{{.*}}, %[[N1C]]]
func.func @packed(%x: tensor<1x?x2x4xf32>, %dt: tensor<1x?x2xf32>, %A: tensor<2xf32>,
                  %B: tensor<1x?x1x48xf32>, %C: tensor<1x?x1x48xf32>, %cu: tensor<?xi64>)
    -> (tensor<1x?x2x4xf32>, tensor<?x2x4x48xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C cu_seqlens(%cu)
      : (tensor<1x?x2x4xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x1x48xf32>,
         tensor<1x?x1x48xf32>, tensor<?xi64>) -> (tensor<1x?x2x4xf32>, tensor<?x2x4x48xf32>)
  return %y, %h : tensor<1x?x2x4xf32>, tensor<?x2x4x48xf32>
}

// -----

// Chunked SSD (N = 64, P = 32, chunk_size 64): one block of 128 threads per
// (row, head, 16 head channels); C, B, δx, its weighted transpose, the
// masked scores and the f16 state copy live in workgroup memory, δ and cum
// in f32. The chunk loop carries the state tile in the accumulators (2
// tiles of 4 per lane at N = 64); each chunk fills the tiles, scans cum in
// one thread, masks C Bᵀ (i ≥ j), and runs every product on nvgpu.mma.sync.
// CHECK-LABEL: func.func @chunked
// CHECK: gpu.launch_func @ssm_kernels::@chunked_ssd blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%c128
// CHECK: gpu.func @chunked_ssd(%{{.*}}) workgroup(%[[CS:arg[0-9]+]] : memref<64x64xf16, #gpu.address_space<workgroup>>, %[[BS:arg[0-9]+]] : memref<64x64xf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<64x16xf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<16x64xf16, #gpu.address_space<workgroup>>, %[[MS:arg[0-9]+]] : memref<64x64xf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<16x64xf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<64xf32, #gpu.address_space<workgroup>>, %[[STEPS:arg[0-9]+]] : memref<1x64xf32, #gpu.address_space<workgroup>>, %[[CUM:arg[0-9]+]] : memref<64xf32, #gpu.address_space<workgroup>>) kernel
// CHECK: %[[CHUNKS:.*]] = arith.ceildivui %{{.*}}, %c64
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[CHUNKS]] step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[CS]]
// CHECK: memref.store %{{.*}}, %[[BS]]
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[CUM]]
// CHECK: gpu.barrier
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: arith.cmpi uge
// CHECK: memref.store %{{.*}}, %[[MS]]
// CHECK: gpu.barrier
// CHECK: nvgpu.mma.sync
// CHECK: nvgpu.mma.sync
// CHECK: nvgpu.mma.sync
func.func @chunked(%x: tensor<?x?x2x32xf32>, %dt: tensor<?x?x2xf32>, %A: tensor<2xf32>,
                   %B: tensor<?x?x1x64xf32>, %C: tensor<?x?x1x64xf32>, %h0: tensor<?x2x32x64xf32>)
    -> (tensor<?x?x2x32xf32>, tensor<?x2x32x64xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C init(%h0) algorithm chunked {chunk_size = 64 : i64}
      : (tensor<?x?x2x32xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x64xf32>,
         tensor<?x?x1x64xf32>, tensor<?x2x32x64xf32>) -> (tensor<?x?x2x32xf32>, tensor<?x2x32x64xf32>)
  return %y, %h : tensor<?x?x2x32xf32>, tensor<?x2x32x64xf32>
}

// -----

// A chunked SSD outside the tensor-core kernel's limits (N = 48, not a
// multiple of 32) takes the recurrent kernel: same map, no mma.
// CHECK-LABEL: gpu.func @chunked_odd_n_ssd
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.shuffle xor
func.func @chunked_odd_n(%x: tensor<1x?x2x16xf32>, %dt: tensor<1x?x2xf32>, %A: tensor<2xf32>,
                         %B: tensor<1x?x1x48xf32>, %C: tensor<1x?x1x48xf32>)
    -> tensor<1x?x2x16xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C algorithm chunked
      : (tensor<1x?x2x16xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x1x48xf32>,
         tensor<1x?x1x48xf32>) -> tensor<1x?x2x16xf32>
  return %y : tensor<1x?x2x16xf32>
}

// -----

// seq_idx in the chunked kernel: the thread that sums cum also marks each
// step's segment (the step its sequence began at, or -1 while the carried
// state's sequence goes on) in an i32 tile, from seq_idx[t] ≠ seq_idx[t-1];
// scores need equal segments, as does the weight of a step in the state
// update.
// CHECK-LABEL: gpu.func @chunked_seq_idx_ssd
// CHECK-SAME: memref<1x?xi64>
// CHECK-SAME: workgroup({{.*}}%[[SEG:arg[0-9]+]] : memref<64xi32, #gpu.address_space<workgroup>>)
// CHECK: memref.load %{{.*}} : memref<1x?xi64>
// CHECK: arith.cmpi ne
// CHECK: memref.store %{{.*}}, %[[SEG]]
// CHECK: nvgpu.mma.sync
// CHECK: memref.load %[[SEG]]
func.func @chunked_seq_idx(%x: tensor<1x?x2x16xf32>, %dt: tensor<1x?x2xf32>, %A: tensor<2xf32>,
                           %B: tensor<1x?x1x32xf32>, %C: tensor<1x?x1x32xf32>, %s: tensor<1x?xi64>)
    -> tensor<1x?x2x16xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C seq_idx(%s) algorithm chunked
      : (tensor<1x?x2x16xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x1x32xf32>,
         tensor<1x?x1x32xf32>, tensor<1x?xi64>) -> tensor<1x?x2x16xf32>
  return %y : tensor<1x?x2x16xf32>
}

// -----

// Without an `algorithm`: a dynamic or long sequence takes the chunked
// kernel, a short static one the recurrence; `algorithm recurrent` keeps
// the recurrence whatever the length.
// CHECK-LABEL: gpu.func @dynamic_length_ssd
// CHECK: nvgpu.mma.sync
// CHECK-LABEL: gpu.func @long_ssd
// CHECK: nvgpu.mma.sync
// CHECK-LABEL: gpu.func @short_ssd
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.shuffle xor
// CHECK-LABEL: gpu.func @recurrent_ssd
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.shuffle xor
func.func @dynamic_length(%x: tensor<1x?x2x16xf32>, %dt: tensor<1x?x2xf32>, %A: tensor<2xf32>,
                          %B: tensor<1x?x1x32xf32>) -> tensor<1x?x2x16xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x?x2x16xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x1x32xf32>,
         tensor<1x?x1x32xf32>) -> tensor<1x?x2x16xf32>
  return %y : tensor<1x?x2x16xf32>
}
func.func @long(%x: tensor<1x128x2x16xf32>, %dt: tensor<1x128x2xf32>, %A: tensor<2xf32>,
                %B: tensor<1x128x1x32xf32>) -> tensor<1x128x2x16xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x128x2x16xf32>, tensor<1x128x2xf32>, tensor<2xf32>, tensor<1x128x1x32xf32>,
         tensor<1x128x1x32xf32>) -> tensor<1x128x2x16xf32>
  return %y : tensor<1x128x2x16xf32>
}
func.func @short(%x: tensor<1x127x2x16xf32>, %dt: tensor<1x127x2xf32>, %A: tensor<2xf32>,
                 %B: tensor<1x127x1x32xf32>) -> tensor<1x127x2x16xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x127x2x16xf32>, tensor<1x127x2xf32>, tensor<2xf32>, tensor<1x127x1x32xf32>,
         tensor<1x127x1x32xf32>) -> tensor<1x127x2x16xf32>
  return %y : tensor<1x127x2x16xf32>
}
func.func @recurrent(%x: tensor<1x?x2x16xf32>, %dt: tensor<1x?x2xf32>, %A: tensor<2xf32>,
                     %B: tensor<1x?x1x32xf32>) -> tensor<1x?x2x16xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B algorithm recurrent
      : (tensor<1x?x2x16xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x1x32xf32>,
         tensor<1x?x1x32xf32>) -> tensor<1x?x2x16xf32>
  return %y : tensor<1x?x2x16xf32>
}
