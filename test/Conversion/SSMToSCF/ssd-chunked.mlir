// RUN: ssm-opt %s -convert-ssm-to-scf -split-input-file | FileCheck %s
// RUN: ssm-opt %s -convert-ssm-to-scf -split-input-file -one-shot-bufferize -canonicalize | FileCheck %s --check-prefix=BUF

// `algorithm chunked` gives one loop over (row, group) units, with the row
// and group recovered by divui/remui, around a loop over chunks of
// chunk_size steps and, in each chunk, a loop over the group's heads; f16
// storage is computed in f32. Each head's state is an f32 [N, P] buffer of
// the unit's [R, N, P], loaded from the initial state and stored once per
// unit. The chunk's keys (the group's) are copied to [N, steps] (N and the
// chunk multiples of 16: as [steps, N] rows, zeros past the chunk's steps,
// then each 16 x 16 block transposed in registers) and their products with
// the queries taken for the first head only: no head changes B or C. Each
// head masks those scores with its own decays; the region's δ·x scratch
// [steps, P] is the values' buffer. The products are register tiles: 4
// rows by a panel of vector<16xf32>, accumulated by vector.fma over the
// shared dimension; the scores' panel is one vector (chunks of 16 steps),
// masked past the chunk's steps, and P = 8 fills half a vector.
// CHECK-LABEL: func.func @chunked
// CHECK-DAG:   %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:   %[[C2:.*]] = arith.constant 2 : index
// CHECK:       %[[R:.*]]:2 = scf.for %[[K:[^ ]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}}) -> (tensor<2x?x4x8xf16>, tensor<2x4x8x16xf16>)
// CHECK:         %[[ROW:.*]] = arith.divui %[[K]], %[[C2]]
// CHECK:         %[[GROUP:.*]] = arith.remui %[[K]], %[[C2]]
// CHECK:         %[[DX:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x8xf32>
// CHECK:         %[[STATES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x16x8xf32>
// CHECK:         %[[KEYROWS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
// CHECK:         %[[KEYS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
// CHECK:         %[[RAW:.*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?xf32>
// CHECK:         %[[SCORES:.*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?xf32>
// CHECK:         scf.for %[[FIRST_HEAD:.*]] = %{{.*}} to %[[C2]]
// CHECK:           %[[START:.*]] = memref.subview %[[STATES]][%[[FIRST_HEAD]], 0, 0] [1, 16, 8] [1, 1, 1]
// CHECK:           tensor.extract %{{.*}}[%[[ROW]], %{{.*}}, %{{.*}}, %{{.*}}] : tensor<2x4x8x16xf16>
// CHECK:           memref.store %{{.*}}, %[[START]]
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C16]]
// CHECK:           scf.for %[[HEAD:.*]] = %{{.*}} to %[[C2]] step %{{.*}} iter_args
// CHECK:             %[[STATE:.*]] = memref.subview %[[STATES]][%[[HEAD]], 0, 0] [1, 16, 8] [1, 1, 1]
// CHECK:             math.exp
// CHECK:             memref.store %{{.*}}, %[[DX]]
// CHECK:             %[[IS_FIRST:.*]] = arith.cmpi eq, %[[HEAD]], %{{.*}}
// CHECK:             scf.if %[[IS_FIRST]] {
// CHECK:               scf.if
// CHECK:                 tensor.extract %{{.*}}[%[[ROW]], %{{.*}}, %[[GROUP]], %{{.*}}] : tensor<2x?x2x16xf16>
// CHECK:               memref.store %{{.*}}, %[[KEYROWS]]
// CHECK-COUNT-16:      vector.load %[[KEYROWS]]
// CHECK-COUNT-64:      vector.shuffle
// CHECK-COUNT-16:      vector.store %{{.*}}, %[[KEYS]]
// CHECK:               scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:                 vector.maskedload %[[KEYS]]
// CHECK-COUNT-4:         vector.fma
// CHECK:               vector.maskedstore %[[RAW]]
// CHECK:             }
// CHECK:             math.exp
// CHECK:             memref.load %[[RAW]]
// CHECK:             memref.store %{{.*}}, %[[SCORES]]
// CHECK:             vector.maskedload %[[STATE]]
// CHECK:             vector.maskedload %[[DX]]
// CHECK:             tensor.insert %{{.*}} into %{{.*}} : tensor<2x?x4x8xf16>
// CHECK:             vector.maskedload %[[DX]]
// CHECK:             vector.maskedstore %[[STATE]]
// CHECK:         scf.for %[[LAST_HEAD:.*]] = %{{.*}} to %[[C2]] step %{{.*}} iter_args
// CHECK:           %[[END:.*]] = memref.subview %[[STATES]][%[[LAST_HEAD]], 0, 0] [1, 16, 8] [1, 1, 1]
// CHECK:           memref.load %[[END]]
// CHECK:           tensor.insert %{{.*}} into %{{.*}}[%[[ROW]], %{{.*}}, %{{.*}}, %{{.*}}] : tensor<2x4x8x16xf16>
// CHECK:       return %[[R]]#0, %[[R]]#1

// After bufferization every scratch tensor has its own buffer; the
// per-step vectors hold min(chunk_size, L) steps.
// BUF-LABEL: func.func @chunked
// BUF:         %[[LEN:.*]] = arith.minui %{{.*}}, %{{.*}} : index
// BUF:         scf.for
// BUF-DAG:       memref.alloc() {{.*}} : memref<2x16x8xf32>
// BUF-DAG:       memref.alloc(%[[LEN]]) {{.*}} : memref<?xf32>
// BUF-DAG:       memref.alloc(%[[LEN]]) {{.*}} : memref<?xf32>
// BUF-DAG:       memref.alloc() {{.*}} : memref<4x8xf32>
// BUF-NOT:     memref.copy
func.func @chunked(%x: tensor<2x?x4x8xf16>, %dt: tensor<2x?x4xf32>, %A: tensor<4xf32>,
                   %B: tensor<2x?x2x16xf16>, %h0: tensor<2x4x8x16xf16>)
    -> (tensor<2x?x4x8xf16>, tensor<2x4x8x16xf16>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %B init(%h0) dt_softplus algorithm chunked
      {chunk_size = 16 : i64}
      : (tensor<2x?x4x8xf16>, tensor<2x?x4xf32>, tensor<4xf32>,
         tensor<2x?x2x16xf16>, tensor<2x?x2x16xf16>, tensor<2x4x8x16xf16>)
      -> (tensor<2x?x4x8xf16>, tensor<2x4x8x16xf16>)
  return %y, %h : tensor<2x?x4x8xf16>, tensor<2x4x8x16xf16>
}

// -----

// With cu_seqlens a row is one packed sequence: the chunks of row r run
// from cu_seqlens[r] to cu_seqlens[r + 1] (with one group, a unit's
// index is its row).
// CHECK-LABEL: func.func @chunked_cu_seqlens
// CHECK:       scf.for %[[ROW:[^ ]+]] =
// CHECK:         %[[BEGIN:.*]] = tensor.extract %{{.*}}[%[[ROW]]] : tensor<4xi32>
// CHECK:         %[[NEXT:.*]] = arith.addi %[[ROW]], %{{.*}}
// CHECK:         %[[END:.*]] = tensor.extract %{{.*}}[%[[NEXT]]] : tensor<4xi32>
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}}
func.func @chunked_cu_seqlens(%x: tensor<1x?x4x8xf32>, %dt: tensor<1x?x4xf32>,
                              %A: tensor<4xf32>, %B: tensor<1x?x1x16xf32>,
                              %cu: tensor<4xi32>) -> tensor<1x?x4x8xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B cu_seqlens(%cu) algorithm chunked
      : (tensor<1x?x4x8xf32>, tensor<1x?x4xf32>, tensor<4xf32>,
         tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<4xi32>)
      -> tensor<1x?x4x8xf32>
  return %y : tensor<1x?x4x8xf32>
}

// -----

// `algorithm recurrent` (and no algorithm) keeps the recurrence: its state
// is an [N, P] scratch buffer, and there are no chunk tensors or tiles.
// CHECK-LABEL: func.func @recurrent
// CHECK-NOT:   alloc_tensor
// CHECK-NOT:   vector.fma
// CHECK:       memref.alloc() {alignment = 64 : i64} : memref<16x2xf32>
// CHECK-NOT:   alloc_tensor
// CHECK-NOT:   vector.fma
// CHECK:       return
func.func @recurrent(%x: tensor<1x8x4x2xf32>, %dt: tensor<1x8x4xf32>, %A: tensor<4xf32>,
                     %B: tensor<1x8x1x16xf32>) -> tensor<1x8x4x2xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B algorithm recurrent
      : (tensor<1x8x4x2xf32>, tensor<1x8x4xf32>, tensor<4xf32>,
         tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>) -> tensor<1x8x4x2xf32>
  return %y : tensor<1x8x4x2xf32>
}
