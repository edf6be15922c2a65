// RUN: ssm-opt %s -ssm-decompose -split-input-file | FileCheck %s

// Mamba-1 with groups, every optional operand and 16-bit storage: δ is
// biased and softplus'd in f32, A and the group's B are broadcast over
// (b, l, g, r, n), discretized, merged back to [B, L, D, N] and scanned;
// the gate and the conversion back to bf16 come last. A fixed C stays
// time-invariant.
// CHECK-DAG: #[[DELTA:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, d1)>
// CHECK-DAG: #[[GROUPB:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d4, d1)>
// CHECK-LABEL: func.func @selective_scan
// CHECK-SAME: (%[[U:[^:]*]]: tensor<2x6x8xbf16>, %[[DELTA_IN:[^:]*]]: tensor<2x6x8xbf16>, %[[A:[^:]*]]: tensor<6x4xf32>, %[[B:[^:]*]]: tensor<2x3x4x8xbf16>, %[[C:[^:]*]]: tensor<6x4xf32>, %[[D:[^:]*]]: tensor<6xf32>, %[[Z:[^:]*]]: tensor<2x6x8xbf16>, %[[DB:[^:]*]]: tensor<6xf32>, %[[H0:[^:]*]]: tensor<2x6x4xf32>)
// CHECK-DAG: %[[DBS:.*]] = tensor.expand_shape %[[DB]] {{\[\[}}0, 1]] output_shape [3, 2] : tensor<6xf32> into tensor<3x2xf32>
// CHECK-DAG: %[[DS:.*]] = tensor.expand_shape %[[DELTA_IN]] {{\[\[}}0], [1, 2], [3]] output_shape [2, 3, 2, 8]
// CHECK: %[[STEP:.*]] = linalg.generic {indexing_maps = [#[[DELTA]], {{.*}}]{{.*}} ins(%[[DS]], %[[DBS]] : {{.*}}) outs(%{{.*}} : tensor<2x8x3x2xf32>)
// CHECK: arith.extf
// CHECK: arith.addf
// CHECK: math.log1p
// CHECK: %[[BB:.*]] = linalg.generic {indexing_maps = [#[[GROUPB]], {{.*}}]{{.*}} ins(%[[B]] : tensor<2x3x4x8xbf16>) outs(%{{.*}} : tensor<2x8x3x2x4xf32>)
// CHECK: %[[ABAR:.*]], %[[BBAR:.*]] = ssm.discretize mamba %{{.*}}, %[[BB]], %{{.*}} : tensor<2x8x3x2x4xf32>
// CHECK: %[[A4:.*]] = tensor.collapse_shape %[[ABAR]] {{\[\[}}0], [1], [2, 3], [4]] : tensor<2x8x3x2x4xf32> into tensor<2x8x6x4xf32>
// CHECK: %[[B4:.*]] = tensor.collapse_shape %[[BBAR]]
// CHECK: %[[X:.*]] = linalg.generic {{.*}} ins(%[[U]] : tensor<2x6x8xbf16>) outs(%{{.*}} : tensor<2x8x6xf32>)
// CHECK: %[[Y:.*]], %[[H:.*]] = ssm.scan forward %[[X]], %[[A4]], %[[B4]], %[[C]] skip(%[[D]]) init(%[[H0]]) : {{.*}} -> (tensor<2x8x6xf32>, tensor<2x6x4xf32>)
// CHECK: %[[OUT:.*]] = linalg.generic {{.*}} ins(%[[Y]], %[[Z]] : tensor<2x8x6xf32>, tensor<2x6x8xbf16>) outs(%{{.*}} : tensor<2x6x8xbf16>)
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK: return %[[OUT]], %[[H]]
func.func @selective_scan(%u: tensor<2x6x8xbf16>, %delta: tensor<2x6x8xbf16>, %A: tensor<6x4xf32>,
                          %B: tensor<2x3x4x8xbf16>, %C: tensor<6x4xf32>, %D: tensor<6xf32>,
                          %z: tensor<2x6x8xbf16>, %db: tensor<6xf32>, %h0: tensor<2x6x4xf32>)
    -> (tensor<2x6x8xbf16>, tensor<2x6x4xf32>) {
  %y, %h = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) gate(%z) delta_bias(%db) init(%h0) delta_softplus
      : (tensor<2x6x8xbf16>, tensor<2x6x8xbf16>, tensor<6x4xf32>, tensor<2x3x4x8xbf16>, tensor<6x4xf32>,
         tensor<6xf32>, tensor<2x6x8xbf16>, tensor<6xf32>, tensor<2x6x4xf32>) -> (tensor<2x6x8xbf16>, tensor<2x6x4xf32>)
  return %y, %h : tensor<2x6x8xbf16>, tensor<2x6x4xf32>
}

// -----

// The discretization method carries over; f64 operands compute in f64;
// dynamic channels split by a run-time division; no softplus without the flag.
// CHECK-LABEL: func.func @selective_scan_zoh_f64
// CHECK-NOT: math.log1p
// CHECK: %[[G:.*]] = tensor.dim %{{.*}}, %c1 : tensor<?x?x4x?xf64>
// CHECK: arith.divui %{{.*}}, %[[G]] : index
// CHECK: ssm.discretize zoh {{.*}} : tensor<?x?x?x?x4xf64>
// CHECK: ssm.scan forward {{.*}} -> tensor<?x?x?xf64>
// CHECK-NOT: ssm.selective_scan
func.func @selective_scan_zoh_f64(%u: tensor<?x?x?xf64>, %A: tensor<?x4xf64>, %B: tensor<?x?x4x?xf64>)
    -> tensor<?x?x?xf64> {
  %y = ssm.selective_scan %u, %u, %A, %B, %B method zoh
      : (tensor<?x?x?xf64>, tensor<?x?x?xf64>, tensor<?x4xf64>, tensor<?x?x4x?xf64>, tensor<?x?x4x?xf64>)
      -> tensor<?x?x?xf64>
  return %y : tensor<?x?x?xf64>
}

// -----

// Mamba-2: heads split into (group, member); channels are d = h * P + p;
// seq_idx becomes the scan's reset mask; a per-head D is broadcast over P;
// dt_limit clamps after softplus.
// CHECK-LABEL: func.func @ssd_seq_idx
// CHECK-SAME: %[[SEQ:[^:]*]]: tensor<?x?xi32>
// CHECK: linalg.generic
// CHECK: math.log1p
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK: arith.minimumf %{{.*}}, %{{.*}} : f32
// CHECK: ssm.discretize mamba {{.*}} : tensor<?x?x2x2x2x16xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3, 4], [5]] : tensor<?x?x2x2x2x16xf32> into tensor<?x?x8x16xf32>
// CHECK: %[[SKIP:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<4x2xf32> into tensor<8xf32>
// CHECK: %[[RESET:.*]] = linalg.generic {{.*}} ins(%[[SEQ]] : tensor<?x?xi32>) outs(%{{.*}} : tensor<?x?xi1>)
// CHECK: tensor.extract %[[SEQ]]
// CHECK: arith.cmpi ne
// CHECK: %[[Y:.*]], %[[H:.*]] = ssm.scan forward {{.*}} skip(%[[SKIP]]) reset(%[[RESET]])
// CHECK: tensor.expand_shape %[[Y]] {{\[\[}}0], [1], [2, 3]]
// CHECK: tensor.expand_shape %[[H]] {{\[\[}}0], [1, 2], [3]] {{.*}} : tensor<?x8x16xf32> into tensor<?x4x2x16xf32>
func.func @ssd_seq_idx(%x: tensor<?x?x4x2xf32>, %dt: tensor<?x?x4xf32>, %A: tensor<4xf32>,
                       %B: tensor<?x?x2x16xf32>, %D: tensor<4xf32>, %s: tensor<?x?xi32>)
    -> (tensor<?x?x4x2xf32>, tensor<?x4x2x16xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %B skip(%D) seq_idx(%s) dt_softplus dt_limit [0.0, 0.5]
      : (tensor<?x?x4x2xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>,
         tensor<4xf32>, tensor<?x?xi32>) -> (tensor<?x?x4x2xf32>, tensor<?x4x2x16xf32>)
  return %y, %h : tensor<?x?x4x2xf32>, tensor<?x4x2x16xf32>
}

// -----

// cu_seqlens without states: the reset mask is a reduction over sequences.
// The initial state flattens heads and head dim into channels.
// CHECK-LABEL: func.func @ssd_cu_seqlens
// CHECK-SAME: %[[CU:[^:]*]]: tensor<3xi64>
// CHECK: %[[FALSE:.*]] = linalg.fill
// CHECK: %[[RESET:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[CU]] : tensor<3xi64>) outs(%[[FALSE]] : tensor<1x?xi1>)
// CHECK: arith.index_cast
// CHECK: arith.ori
// CHECK: ssm.scan forward {{.*}} reset(%[[RESET]])
// CHECK: arith.truncf {{.*}} : f32 to f16
func.func @ssd_cu_seqlens(%x: tensor<1x?x4x2xf16>, %dt: tensor<1x?x4xf16>, %A: tensor<4xf32>,
                          %B: tensor<1x?x1x16xf16>, %z: tensor<1x?x4x2xf16>, %cu: tensor<3xi64>)
    -> tensor<1x?x4x2xf16> {
  %y = ssm.ssd %x, %dt, %A, %B, %B gate(%z) cu_seqlens(%cu)
      : (tensor<1x?x4x2xf16>, tensor<1x?x4xf16>, tensor<4xf32>, tensor<1x?x1x16xf16>, tensor<1x?x1x16xf16>,
         tensor<1x?x4x2xf16>, tensor<3xi64>) -> tensor<1x?x4x2xf16>
  return %y : tensor<1x?x4x2xf16>
}

// -----

// Per-sequence states of a packed row are not one scan: left as is.
// CHECK-LABEL: func.func @ssd_cu_seqlens_states
// CHECK: ssm.ssd
// CHECK-NOT: ssm.scan
func.func @ssd_cu_seqlens_states(%x: tensor<1x?x4x2xf32>, %dt: tensor<1x?x4xf32>, %A: tensor<4xf32>,
                                 %B: tensor<1x?x1x16xf32>, %cu: tensor<3xi32>)
    -> tensor<2x4x2x16xf32> {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %B cu_seqlens(%cu)
      : (tensor<1x?x4x2xf32>, tensor<1x?x4xf32>, tensor<4xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>,
         tensor<3xi32>) -> (tensor<1x?x4x2xf32>, tensor<2x4x2x16xf32>)
  return %h : tensor<2x4x2x16xf32>
}

// -----

// Core ops are already decomposed.
// CHECK-LABEL: func.func @core
// CHECK-NEXT: ssm.scan
// CHECK-NEXT: return
func.func @core(%x: tensor<2x8x4xf32>, %a: tensor<4x16xf32>) -> tensor<2x8x4xf32> {
  %y = ssm.scan forward %x, %a, %a, %a
      : (tensor<2x8x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<2x8x4xf32>
  return %y : tensor<2x8x4xf32>
}
