// RUN: ssm-opt %s -pass-pipeline='builtin.module(func.func(ssm-to-recurrence,ssm-select-algorithm,ssm-tile-recurrences),canonicalize,cse)' -split-input-file -verify-diagnostics | FileCheck %s
// Each ssm.recurrence becomes an scf.forall over its work items, the same
// op on slices of its operands, found from the layouts.

// Mamba-2: a work item per (row, head); the head (g, r) of merged operand
// dimensions is the slice at g·R + r, B and C are sliced by group.
// CHECK-LABEL: func.func @ssd
// CHECK: %[[OUT:.*]]:2 = scf.forall (%[[B:.*]], %[[G:.*]], %[[R:.*]]) in (2, 2, 2) shared_outs(%[[Y:.*]] = %{{.*}}, %[[H:.*]] = %{{.*}})
// CHECK: %[[HEAD:.*]] = affine.apply #{{.*}}()[%[[G]], %[[R]]]
// CHECK: tensor.extract_slice %{{.*}}[%[[B]], 0, %[[HEAD]], 0] [1, 7, 1, 3] [1, 1, 1, 1] : tensor<2x7x4x3xf32> to tensor<1x7x1x3xf32>
// CHECK: tensor.extract_slice %{{.*}}[%[[B]], 0, %[[G]], 0] [1, 7, 1, 5] [1, 1, 1, 1] : tensor<2x7x2x5xf32> to tensor<1x7x1x5xf32>
// CHECK: tensor.extract_slice %{{.*}}[%[[B]], 0] [1, 7] [1, 1] : tensor<2x7xi32> to tensor<1x7xi32>
// CHECK: %[[YS:.*]] = tensor.extract_slice %[[Y]][%[[B]], 0, %[[HEAD]], 0] [1, 7, 1, 3]
// CHECK: %[[HS:.*]] = tensor.extract_slice %[[H]][%[[B]], %[[HEAD]], 0, 0] [1, 1, 3, 5]
// CHECK: %[[Y1:.*]], %[[H1:.*]] = ssm.recurrence scalar forward log_decay form recurrent chunk_size 256 tile 3 ins({{.*}}) seq_idx({{.*}}) outs(%[[YS]] [b, t, (g, r), p], %[[HS]] [b, (g, r), p, n] : tensor<1x7x1x3xf32>, tensor<1x1x3x5xf32>)
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %[[Y1]] into %[[Y]][%[[B]], 0, %[[HEAD]], 0] [1, 7, 1, 3]
// CHECK: tensor.parallel_insert_slice %[[H1]] into %[[H]][%[[B]], %[[HEAD]], 0, 0] [1, 1, 3, 5]
// CHECK: return %[[OUT]]#0, %[[OUT]]#1
func.func @ssd(%x: tensor<2x7x4x3xf32>, %dt: tensor<2x7x4xf32>, %A: tensor<4xf32>,
               %B: tensor<2x7x2x5xf32>, %s: tensor<2x7xi32>)
    -> (tensor<2x7x4x3xf32>, tensor<2x4x3x5xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %B seq_idx(%s)
      : (tensor<2x7x4x3xf32>, tensor<2x7x4xf32>, tensor<4xf32>, tensor<2x7x2x5xf32>,
         tensor<2x7x2x5xf32>, tensor<2x7xi32>) -> (tensor<2x7x4x3xf32>, tensor<2x4x3x5xf32>)
  return %y, %h : tensor<2x7x4x3xf32>, tensor<2x4x3x5xf32>
}

// -----

// Mamba-1 of dynamic sizes: a work item per (row, group, 16 channels), the
// last tile of a group shorter; the channel d = (g, p) is the slice at
// g·P + p of length min(16, P - p).
// CHECK: #[[MIN:.*]] = affine_map<(d0)[s0] -> (-d0 + s0, 16)>
// CHECK-LABEL: func.func @selective_scan
// CHECK: %[[P:.*]] = arith.divui
// CHECK: scf.forall (%[[B:.*]], %[[G:.*]], %[[P0:.*]]) = (0, 0, 0) to (%{{.*}}, %{{.*}}, %[[P]]) step (1, 1, 16)
// CHECK: %[[W:.*]] = affine.min #[[MIN]](%[[P0]])[%[[P]]]
// CHECK: %[[D:.*]] = affine.apply #{{.*}}()[%[[G]], %[[P0]], %[[P]]]
// CHECK: tensor.extract_slice %{{.*}}[%[[B]], %[[D]], 0] [1, %[[W]], %{{.*}}] [1, 1, 1] : tensor<?x?x?xf32> to tensor<1x?x?xf32>
// CHECK: ssm.recurrence diagonal forward tile 16
func.func @selective_scan(%u: tensor<?x?x?xf32>, %A: tensor<?x?xf32>, %B: tensor<?x?x?x?xf32>)
    -> tensor<?x?x?xf32> {
  %y = ssm.selective_scan %u, %u, %A, %B, %B delta_softplus
      : (tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>, tensor<?x?x?x?xf32>,
         tensor<?x?x?x?xf32>) -> tensor<?x?x?xf32>
  return %y : tensor<?x?x?xf32>
}

// -----

// Packed sequences share their row's time axis: a work item holds all of
// them (cu_seqlens whole, the per-sequence states sliced by head only).
// CHECK-LABEL: func.func @packed
// CHECK: scf.forall (%[[HEAD:.*]]) in (4)
// CHECK: tensor.extract_slice %{{.*}}[0, %[[HEAD]], 0, 0] [3, 1, 8, 16] [1, 1, 1, 1] : tensor<3x4x8x16xf32> to tensor<3x1x8x16xf32>
// CHECK: ssm.recurrence {{.*}} cu_seqlens(%{{.*}} : tensor<4xi32>)
func.func @packed(%x: tensor<1x?x4x8xf32>, %dt: tensor<1x?x4xf32>, %A: tensor<4xf32>,
                  %B: tensor<1x?x1x16xf32>, %cu: tensor<4xi32>, %h: tensor<3x4x8x16xf32>)
    -> (tensor<1x?x4x8xf32>, tensor<3x4x8x16xf32>) {
  %y, %hf = ssm.ssd %x, %dt, %A, %B, %B init(%h) cu_seqlens(%cu)
      : (tensor<1x?x4x8xf32>, tensor<1x?x4xf32>, tensor<4xf32>, tensor<1x?x1x16xf32>,
         tensor<1x?x1x16xf32>, tensor<3x4x8x16xf32>, tensor<4xi32>)
      -> (tensor<1x?x4x8xf32>, tensor<3x4x8x16xf32>)
  return %y, %hf : tensor<1x?x4x8xf32>, tensor<3x4x8x16xf32>
}

// -----

// The chunked form's work item is a block of at most 4 whole heads of a
// group, but at least 8 work items per batch row where there are heads to
// make them, blocks as even as the heads allow: 48 heads in blocks of 4
// (12 per row), 30 in 7 blocks of 4 and one of 2, 24 in 8 blocks of 3, 6
// heads in 2 groups one head each.
// CHECK-LABEL: func.func @chunked
// CHECK: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (2, 48) step (1, 4)
// CHECK: tensor.extract_slice {{.*}} [1, 512, 4, 64] [1, 1, 1, 1] : tensor<2x512x48x64xf32> to tensor<1x512x4x64xf32>
// CHECK: ssm.recurrence scalar forward log_decay form chunked chunk_size 16
func.func @chunked(%x: tensor<2x512x48x64xf32>, %dt: tensor<2x512x48xf32>, %A: tensor<48xf32>,
                   %B: tensor<2x512x1x128xf32>) -> tensor<2x512x48x64xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B algorithm chunked {chunk_size = 16 : i64}
      : (tensor<2x512x48x64xf32>, tensor<2x512x48xf32>, tensor<48xf32>,
         tensor<2x512x1x128xf32>, tensor<2x512x1x128xf32>) -> tensor<2x512x48x64xf32>
  return %y : tensor<2x512x48x64xf32>
}

// -----

// CHECK-LABEL: func.func @chunked_ragged
// CHECK: scf.forall (%[[H:.*]]) = (0) to (30) step (4)
// CHECK:   %[[N:.*]] = affine.min #{{.*}}(%[[H]])
// CHECK:   tensor.extract_slice {{.*}}[0, 0, %[[H]], 0] [1, 64, %[[N]], 8] [1, 1, 1, 1] : tensor<1x64x30x8xf32> to tensor<1x64x?x8xf32>
// CHECK:   ssm.recurrence scalar forward log_decay form chunked chunk_size 16
// CHECK-LABEL: func.func @chunked_many_items
// CHECK: scf.forall (%{{.*}}) = (0) to (24) step (3)
// CHECK:   tensor.extract_slice {{.*}} [1, 64, 3, 8] [1, 1, 1, 1] : tensor<1x64x24x8xf32> to tensor<1x64x3x8xf32>
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (2, 3)
// CHECK:   tensor.extract_slice {{.*}} [1, 64, 1, 8] [1, 1, 1, 1] : tensor<1x64x6x8xf32> to tensor<1x64x1x8xf32>
func.func @chunked_ragged(%x: tensor<1x64x30x8xf32>, %dt: tensor<1x64x30xf32>, %A: tensor<30xf32>,
                          %B: tensor<1x64x1x16xf32>) -> tensor<1x64x30x8xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B algorithm chunked {chunk_size = 16 : i64}
      : (tensor<1x64x30x8xf32>, tensor<1x64x30xf32>, tensor<30xf32>,
         tensor<1x64x1x16xf32>, tensor<1x64x1x16xf32>) -> tensor<1x64x30x8xf32>
  return %y : tensor<1x64x30x8xf32>
}
func.func @chunked_many_items(%x: tensor<1x64x24x8xf32>, %dt: tensor<1x64x24xf32>,
                              %A: tensor<24xf32>, %B: tensor<1x64x1x16xf32>,
                              %x6: tensor<1x64x6x8xf32>, %dt6: tensor<1x64x6xf32>,
                              %A6: tensor<6xf32>, %B6: tensor<1x64x2x16xf32>)
    -> (tensor<1x64x24x8xf32>, tensor<1x64x6x8xf32>) {
  %y = ssm.ssd %x, %dt, %A, %B, %B algorithm chunked {chunk_size = 16 : i64}
      : (tensor<1x64x24x8xf32>, tensor<1x64x24xf32>, tensor<24xf32>,
         tensor<1x64x1x16xf32>, tensor<1x64x1x16xf32>) -> tensor<1x64x24x8xf32>
  %y6 = ssm.ssd %x6, %dt6, %A6, %B6, %B6 algorithm chunked {chunk_size = 16 : i64}
      : (tensor<1x64x6x8xf32>, tensor<1x64x6xf32>, tensor<6xf32>,
         tensor<1x64x2x16xf32>, tensor<1x64x2x16xf32>) -> tensor<1x64x6x8xf32>
  return %y, %y6 : tensor<1x64x24x8xf32>, tensor<1x64x6x8xf32>
}

// -----

// A merged operand dimension whose tile would not be contiguous is refused
// (here (p, r): the two rows p, p + 1 of one head are R elements apart);
// MLIR's tiling driver adds its own two errors.
func.func @merged(%x: tensor<1x4x3x4xf32>, %z: tensor<1x4x12xf32>) -> tensor<1x4x3x4xf32> {
  // expected-error @+3 {{cannot tile merged dimension 2 of an operand: a tile of r must be whole after a partial dimension}}
  // expected-error @+2 {{tile operation}}
  // expected-error @+1 {{failed to generate tiling loops}}
  %y = ssm.recurrence scalar forward tile 2
      ins(%x [b, t, r, p], %z [b, t, (p, r)] : tensor<1x4x3x4xf32>, tensor<1x4x12xf32>)
      outs(%x [b, t, r, p] : tensor<1x4x3x4xf32>) {
  ^bb0(%v: f32, %w: f32):
    %c = arith.constant 0.5 : f32
    ssm.yield %c, %v, %w, %v, %v : f32, f32, f32, f32, f32
  }
  return %y : tensor<1x4x3x4xf32>
}

// -----

// A transpose is copied in blocks of 16 x 16 over the dimensions it moves
// (1 over those it keeps), each block a work item: 16 whole cache lines
// read and 16 written, where a whole-tensor copy walked one side with the
// stride of a row.
// CHECK-LABEL: func.func @transpose
// CHECK: scf.forall (%[[B:.*]], %[[C:.*]], %[[T:.*]]) = (0, 0, 0) to (%{{.*}}, 1536, %{{.*}}) step (1, 16, 16) shared_outs(%[[O:.*]] = %{{.*}})
// CHECK: %[[N:.*]] = affine.min
// CHECK: %[[IN:.*]] = tensor.extract_slice %{{.*}}[%[[B]], %[[T]], %[[C]]] [1, %[[N]], 16] [1, 1, 1]
// CHECK: linalg.transpose ins(%[[IN]] : tensor<1x?x16xf32>) outs(%{{.*}} : tensor<1x16x?xf32>) permutation = [0, 2, 1]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[O]][%[[B]], %[[C]], %[[T]]] [1, 16, %[[N]]] [1, 1, 1]
func.func @transpose(%x: tensor<?x?x1536xf32>, %e: tensor<?x1536x?xf32>) -> tensor<?x1536x?xf32> {
  %t = linalg.transpose ins(%x : tensor<?x?x1536xf32>) outs(%e : tensor<?x1536x?xf32>) permutation = [0, 2, 1]
  return %t : tensor<?x1536x?xf32>
}

// -----

// The other linalg ops become row blocks of at least 4096 iterations along
// their first parallel loop with more than one iteration (6 rows of 768);
// a residual added in place reads the block of the loop's shared output
// that it writes, so that bufferization keeps it in place. Fills stay
// whole: matmul-to-blas reads a fill before a product as beta = 0.
// CHECK-LABEL: func.func @rows
// CHECK: linalg.fill
// CHECK-NOT: scf.forall
// CHECK: linalg.matmul
// CHECK: %[[R:.*]] = scf.forall (%[[I:.*]]) = (0) to (%{{.*}}) step (6) shared_outs(%[[O:.*]] = %[[X:[^ ]*]])
// CHECK: %[[N:.*]] = affine.min
// CHECK: %[[P:.*]] = tensor.extract_slice %{{.*}}[%[[I]], 0] [%[[N]], 768]
// CHECK: %[[S:.*]] = tensor.extract_slice %[[O]][%[[I]], 0] [%[[N]], 768]
// CHECK: linalg.generic {{.*}} ins(%[[S]], %[[P]] : {{.*}}) outs(%[[S]] : {{.*}})
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[O]][%[[I]], 0] [%[[N]], 768]
// CHECK: scf.forall (%{{.*}}) = (0) to (%{{.*}}) step (6) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<?xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// A small static op stays one op.
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x8xf32>)
func.func @rows(%x: tensor<?x768xf32>, %a: tensor<?x16xf32>, %w: tensor<16x768xf32>,
                %small: tensor<4x8xf32>) -> (tensor<?x768xf32>, tensor<?xf32>, tensor<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = tensor.dim %x, %c0 : tensor<?x768xf32>
  %e = tensor.empty(%m) : tensor<?x768xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x768xf32>) -> tensor<?x768xf32>
  %p = linalg.matmul ins(%a, %w : tensor<?x16xf32>, tensor<16x768xf32>) outs(%f : tensor<?x768xf32>) -> tensor<?x768xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                         iterator_types = ["parallel", "parallel"]}
      ins(%x, %p : tensor<?x768xf32>, tensor<?x768xf32>) outs(%x : tensor<?x768xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<?x768xf32>
  %e1 = tensor.empty(%m) : tensor<?xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                        iterator_types = ["parallel", "reduction"]}
      ins(%sum : tensor<?x768xf32>) outs(%e1 : tensor<?xf32>) {
  ^bb0(%u: f32, %o: f32):
    %s = arith.mulf %u, %u : f32
    %t = arith.addf %s, %o : f32
    linalg.yield %t : f32
  } -> tensor<?xf32>
  %half = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      outs(%small : tensor<4x8xf32>) {
  ^bb0(%o: f32):
    %h = arith.constant 0.5 : f32
    %s = arith.mulf %o, %h : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %sum, %sq, %half : tensor<?x768xf32>, tensor<?xf32>, tensor<4x8xf32>
}

// -----

// A result read collapsed is computed into a destination allocated
// collapsed and expanded for the op, so that after bufferization the
// readers of the collapsed rows get the buffer itself.
// CHECK-LABEL: func.func @collapsed
// CHECK: %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<?x12xf32>
// CHECK: %[[V:.*]] = tensor.expand_shape %[[E]] {{\[\[}}0, 1], [2, 3]] output_shape [1, %{{.*}}, 4, 3] : tensor<?x12xf32> into tensor<1x?x4x3xf32>
// CHECK: scf.forall {{.*}} shared_outs(%{{.*}} = %[[V]]
func.func @collapsed(%x: tensor<1x?x4x3xf32>, %dt: tensor<1x?x4xf32>, %A: tensor<4xf32>,
                     %B: tensor<1x?x1x5xf32>, %C: tensor<1x?x1x5xf32>) -> tensor<?x12xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %C
      : (tensor<1x?x4x3xf32>, tensor<1x?x4xf32>, tensor<4xf32>, tensor<1x?x1x5xf32>,
         tensor<1x?x1x5xf32>) -> tensor<1x?x4x3xf32>
  %r = tensor.collapse_shape %y [[0, 1], [2, 3]] : tensor<1x?x4x3xf32> into tensor<?x12xf32>
  return %r : tensor<?x12xf32>
}
