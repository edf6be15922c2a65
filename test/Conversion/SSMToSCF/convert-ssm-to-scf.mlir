// RUN: ssm-opt %s -convert-ssm-to-scf -split-input-file | FileCheck %s

// The discretization is one elementwise generic with both results; bf16
// storage is computed in f32.
// CHECK-LABEL: func.func @discretize
// CHECK: %[[R:.*]]:2 = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x8xbf16>) outs(%{{.*}}, %{{.*}} : tensor<4x8xbf16>, tensor<4x8xbf16>)
// CHECK: arith.extf
// CHECK: math.expm1
// CHECK: arith.select
// CHECK: math.exp
// CHECK: arith.truncf
// CHECK: return %[[R]]#0, %[[R]]#1
func.func @discretize(%a: tensor<4x8xbf16>) -> (tensor<4x8xbf16>, tensor<4x8xbf16>) {
  %abar, %bbar = ssm.discretize zoh %a, %a, %a : tensor<4x8xbf16>
  return %abar, %bbar : tensor<4x8xbf16>, tensor<4x8xbf16>
}

// -----

// Every scan-like op becomes ssm.recurrence (ssm-to-recurrence) and takes
// its recurrent form: one loop over work items (row x tile of channels),
// marked parallel; the state in an [N, tile] scratch buffer seeded from the
// initial state; time-invariant c copied once per item into an [N, tile]
// buffer; time in blocks of at most 16 steps (here all 8), each with a loop
// storing the per-step values (x) in [block, tile] scratch, the recurrence
// reading them, and the outputs; reverse runs t = L - 1 - i; a reset zeroes
// the state before the step; one read of a tensor passed as two operands.
// CHECK-LABEL: func.func @scan
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x8x4xf32>, %[[A:[^:]*]]: tensor<2x8x4x16xf32>, %[[C:[^:]*]]: tensor<4x16xf32>, %[[H0:[^:]*]]: tensor<2x4x16xf32>, %[[R:[^:]*]]: tensor<2x8xi1>
// CHECK-NOT: ssm.
// CHECK: %[[Y0:.*]] = tensor.empty() : tensor<2x8x4xf32>
// CHECK: %[[OUT:.*]]:2 = scf.for %[[ITEM:[a-z0-9]+]] = {{.*}} iter_args(%{{.*}} = %[[Y0]], %{{.*}} = %[[H0]])
// CHECK: %[[CT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x4xf32>
// CHECK: tensor.extract %[[C]]
// CHECK: %[[H:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x4xf32>
// CHECK: tensor.extract %[[H0]]
// CHECK: %[[XS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x4xf32>
// CHECK: scf.for %[[FIRST:[a-z0-9]+]] = %{{.*}} to %{{.*}} step %c16
// CHECK: scf.for %[[S:[a-z0-9]+]] =
// CHECK: %[[I:.*]] = arith.addi %[[FIRST]], %[[S]]
// CHECK: %[[T:.*]] = arith.subi %{{.*}}, %[[I]] : index
// CHECK: scf.for %[[L0:[a-z0-9]+]] =
// CHECK: %[[XT:.*]] = tensor.extract %[[X]][%{{.*}}, %[[T]], %[[L0]]]
// CHECK: memref.store %[[XT]], %[[XS]][%[[S]], %[[L0]]]
// CHECK: scf.for %[[S2:[a-z0-9]+]] =
// CHECK: %[[T2:.*]] = arith.subi
// CHECK: %[[CUT:.*]] = tensor.extract %[[R]]
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %[[H]]
// CHECK: scf.for %[[N:[a-z0-9]+]] =
// CHECK: scf.for %[[L:[a-z0-9]+]] =
// CHECK: tensor.extract %[[A]][%{{.*}}, %[[T2]], %[[L]], %[[N]]]
// CHECK-NOT: tensor.extract %[[A]]
// CHECK: memref.load %[[XS]][%[[S2]], %[[L]]]
// CHECK: memref.load %[[H]][%[[N]], %[[L]]]
// CHECK: memref.load %[[CT]][%[[N]], %[[L]]]
// CHECK: scf.for %[[S3:[a-z0-9]+]] =
// CHECK: %[[T3:.*]] = arith.subi
// CHECK: tensor.insert %{{.*}} into %{{.*}}[%{{.*}}, %[[T3]], %{{.*}}]
// CHECK: tensor.insert %{{.*}} : tensor<2x4x16xf32>
// CHECK: return %[[OUT]]#0, %[[OUT]]#1
func.func @scan(%x: tensor<2x8x4xf32>, %a: tensor<2x8x4x16xf32>, %c: tensor<4x16xf32>,
                %h0: tensor<2x4x16xf32>, %r: tensor<2x8xi1>) -> (tensor<2x8x4xf32>, tensor<2x4x16xf32>) {
  %y, %h = ssm.scan reverse %x, %a, %a, %c init(%h0) reset(%r)
      : (tensor<2x8x4xf32>, tensor<2x8x4x16xf32>, tensor<2x8x4x16xf32>, tensor<4x16xf32>,
         tensor<2x4x16xf32>, tensor<2x8xi1>) -> (tensor<2x8x4xf32>, tensor<2x4x16xf32>)
  return %y, %h : tensor<2x8x4xf32>, tensor<2x4x16xf32>
}

// -----

// Without an initial state the state starts as zeros and no state leaves
// the loops.
// CHECK-LABEL: func.func @scan_zero_state
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<?x?x4xf32>)
// CHECK: %[[H:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x4xf32>
// CHECK: memref.store %cst, %[[H]]
func.func @scan_zero_state(%x: tensor<?x?x4xf32>, %a: tensor<4x16xf32>) -> tensor<?x?x4xf32> {
  %y = ssm.scan forward %x, %a, %a, %a
      : (tensor<?x?x4xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}

// -----

// The convolution is an scf.forall over (batch, channel) rows, each writing
// its slices of the output and the final state, with the weights of a static width read once per row. Per row, a prologue
// over t < W - 1 reads left of t = 0 from the carried state in the other
// branch; the interior loop over the rest has unrolled taps and no branch
// (so LLVM vectorizes it along t); the final state is a third loop.
// CHECK-LABEL: func.func @conv
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK: %[[ROWS:.*]]:2 = scf.forall (%[[B:.*]], %[[CH:.*]]) in (1, 4) shared_outs(%[[O:.*]] = %{{.*}}, %[[S:.*]] = %{{.*}})
// CHECK: tensor.extract_slice %[[O]][%[[B]], %[[CH]], 0] [1, 1, 8] [1, 1, 1] : tensor<1x4x8xf32> to tensor<1x1x8xf32>
// CHECK: tensor.extract_slice %[[S]][%[[B]], %[[CH]], 0] [1, 1, 3] [1, 1, 1] : tensor<1x4x3xf32> to tensor<1x1x3xf32>
// CHECK-COUNT-4: tensor.extract %{{.*}} : tensor<4x4xf32>
// CHECK: scf.for %{{.*}} = %[[C0]] to %[[C3]]
// CHECK: scf.if
// CHECK: tensor.extract %{{.*}} : tensor<1x4x3xf32>
// CHECK: } else {
// CHECK: tensor.extract %{{.*}} : tensor<1x4x8xf32>
// CHECK: math.exp
// CHECK: scf.for %{{.*}} = %[[C3]] to %[[C8]]
// CHECK-NOT: scf.if
// CHECK-COUNT-4: arith.mulf {{.*}} fastmath<contract>
// CHECK: math.exp
// CHECK: tensor.insert
// CHECK: scf.for %{{.*}} = %[[C0]] to %[[C3]] {{.*}} -> (tensor<1x1x3xf32>)
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[O]][%[[B]], %[[CH]], 0] [1, 1, 8]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[S]][%[[B]], %[[CH]], 0] [1, 1, 3]
// CHECK: return %[[ROWS]]#0, %[[ROWS]]#1
func.func @conv(%x: tensor<1x4x8xf32>, %w: tensor<4x4xf32>, %s0: tensor<1x4x3xf32>)
    -> (tensor<1x4x8xf32>, tensor<1x4x3xf32>) {
  %o, %s = ssm.causal_conv1d %x, %w init_state(%s0) silu
      : (tensor<1x4x8xf32>, tensor<4x4xf32>, tensor<1x4x3xf32>) -> (tensor<1x4x8xf32>, tensor<1x4x3xf32>)
  return %o, %s : tensor<1x4x8xf32>, tensor<1x4x3xf32>
}

// -----

// Between transposes from and to tokens-major [B, L, C] (a model's
// layout), the convolution reads and writes those tensors: a work item is
// a block of 64 channels of a batch row (the last one partial), the tap
// weights copied to a [W, 64] scratch; each step loops over the block's
// channels, innermost. No transpose is left.
// CHECK-LABEL: func.func @conv_tokens_major
// CHECK-NOT: linalg.transpose
// CHECK: %[[BLOCKS:.*]]:2 = scf.forall (%[[B:.*]], %[[C:.*]]) = (0, 0) to (2, 100) step (1, 64) shared_outs(%[[O:.*]] = %{{.*}}, %[[S:.*]] = %{{.*}}) -> (tensor<2x?x100xf32>, tensor<2x100x3xf32>)
// CHECK: %[[N:.*]] = arith.minui
// CHECK: tensor.extract_slice %[[O]][%[[B]], 0, %[[C]]] [1, %{{.*}}, %[[N]]] [1, 1, 1] : tensor<2x?x100xf32> to tensor<1x?x?xf32>
// CHECK: tensor.extract_slice %[[S]][%[[B]], %[[C]], 0] [1, %[[N]], 3] [1, 1, 1] : tensor<2x100x3xf32> to tensor<1x?x3xf32>
// CHECK: %[[WS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x64xf32>
// CHECK: memref.store %{{.*}}, %[[WS]]
// CHECK: scf.for %[[T:[a-z0-9]+]] =
// CHECK: scf.for %[[CC:[a-z0-9]+]] = %{{.*}} to %[[N]]
// CHECK: scf.if
// CHECK: tensor.extract %{{.*}}[%[[B]], %{{.*}}, %{{.*}}] : tensor<2x?x100xf32>
// CHECK: tensor.insert %{{.*}} into %{{.*}}[%{{.*}}, %[[T]], %[[CC]]] : tensor<1x?x?xf32>
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[O]][%[[B]], 0, %[[C]]] [1, %{{.*}}, %[[N]]]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[S]][%[[B]], %[[C]], 0] [1, %[[N]], 3]
// CHECK: return %[[BLOCKS]]#0, %[[BLOCKS]]#1
func.func @conv_tokens_major(%x: tensor<2x?x100xf32>, %w: tensor<100x4xf32>, %b: tensor<100xf32>)
    -> (tensor<2x?x100xf32>, tensor<2x100x3xf32>) {
  %c1 = arith.constant 1 : index
  %len = tensor.dim %x, %c1 : tensor<2x?x100xf32>
  %e = tensor.empty(%len) : tensor<2x100x?xf32>
  %xc = linalg.transpose ins(%x : tensor<2x?x100xf32>) outs(%e : tensor<2x100x?xf32>) permutation = [0, 2, 1]
  %o, %s = ssm.causal_conv1d %xc, %w bias(%b) silu
      : (tensor<2x100x?xf32>, tensor<100x4xf32>, tensor<100xf32>) -> (tensor<2x100x?xf32>, tensor<2x100x3xf32>)
  %e2 = tensor.empty(%len) : tensor<2x?x100xf32>
  %y = linalg.transpose ins(%o : tensor<2x100x?xf32>) outs(%e2 : tensor<2x?x100xf32>) permutation = [0, 2, 1]
  return %y, %s : tensor<2x?x100xf32>, tensor<2x100x3xf32>
}

// -----

// The selective scan: one work item per (batch row, group, tile of the
// group's channels), with the state in a [N, tile] scratch buffer and the
// channel loop innermost; A copied once per item; softplus and δu once per
// (t, channel), ahead of the recurrence, in [block, tile] scratch; the
// discretization inside the state loop; no discretize op and no
// [B, L, D, N] tensor.
// CHECK-LABEL: func.func @selective_scan
// CHECK-NOT: ssm.
// CHECK-NOT: tensor<1x8x4x16
// CHECK: scf.for
// CHECK: %[[AT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x2xf32>
// CHECK: %[[H:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x2xf32>
// CHECK: %[[DELTA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x2xf32>
// CHECK: %[[DU:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x2xf32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK: math.log1p
// CHECK: memref.store %{{.*}}, %[[DELTA]]
// CHECK: memref.store %{{.*}}, %[[DU]]
// CHECK: scf.for %[[S:.*]] = %{{.*}} to %{{.*}}
// CHECK: scf.for %[[N:.*]] = %{{.*}} to %{{.*}}
// CHECK: scf.for %[[CH:.*]] = %{{.*}} to %{{.*}}
// CHECK: memref.load %[[DELTA]][%[[S]], %[[CH]]]
// CHECK: memref.load %[[AT]][%[[N]], %[[CH]]]
// CHECK: math.exp
// CHECK: memref.load %[[DU]][%[[S]], %[[CH]]]
// CHECK: memref.store %{{.*}}, %[[H]][%[[N]], %[[CH]]]
// CHECK: tensor.insert
// CHECK: return
func.func @selective_scan(%u: tensor<1x4x8xf32>, %A: tensor<4x16xf32>, %B: tensor<1x2x16x8xf32>)
    -> tensor<1x4x8xf32> {
  %y = ssm.selective_scan %u, %u, %A, %B, %B delta_softplus
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x16xf32>, tensor<1x2x16x8xf32>,
         tensor<1x2x16x8xf32>) -> tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}

// -----

// The SSD's recurrent form: one work item per (batch row, head); the state in an [N, P] scratch buffer in f32; one decay per
// (t, head), its logarithm stored per step of the block; the channel loop
// innermost; the final state, rounded to bf16 once after the time loop.
// CHECK-LABEL: func.func @ssd
// CHECK: scf.for %[[ITEM:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: %[[H:.*]] = memref.alloc() {alignment = 64 : i64} : memref<5x3xf32>
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<7xf32>
// CHECK: %[[LOGDECAY:.*]] = memref.alloc() {alignment = 64 : i64} : memref<7xf32>
// CHECK: scf.for %[[FIRST:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: memref.store %{{.*}}, %[[LOGDECAY]]
// CHECK: }
// CHECK: scf.for %[[S:.*]] = %{{.*}} to %{{.*}}
// CHECK-NEXT: %[[T:.*]] = arith.addi %[[FIRST]], %[[S]]
// CHECK-NEXT: memref.load %[[LOGDECAY]][%[[S]]]
// CHECK: math.exp
// CHECK-NOT: math.exp
// CHECK: scf.for %[[N:[a-z0-9]+]] = %{{.*}} to %{{.*}}
// CHECK: scf.for %[[P:[a-z0-9]+]] = %{{.*}} to %{{.*}}
// CHECK: memref.load %[[H]][%[[N]], %[[P]]]
// CHECK: memref.store %{{.*}}, %[[H]][%[[N]], %[[P]]]
// CHECK: scf.for %[[S2:.*]] = %{{.*}} to %{{.*}}
// CHECK: %[[T2:.*]] = arith.addi %[[FIRST]], %[[S2]]
// CHECK: tensor.insert %{{.*}} into %{{.*}}[%{{.*}}, %[[T2]], %{{.*}}, %{{.*}}] : tensor<2x7x4x3xf32>
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: tensor.insert %{{.*}} : tensor<2x4x3x5xbf16>
func.func @ssd(%x: tensor<2x7x4x3xf32>, %dt: tensor<2x7x4xf32>, %A: tensor<4xf32>,
               %B: tensor<2x7x2x5xf32>, %h0: tensor<2x4x3x5xbf16>)
    -> (tensor<2x7x4x3xf32>, tensor<2x4x3x5xbf16>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %B init(%h0)
      : (tensor<2x7x4x3xf32>, tensor<2x7x4xf32>, tensor<4xf32>, tensor<2x7x2x5xf32>,
         tensor<2x7x2x5xf32>, tensor<2x4x3x5xbf16>)
      -> (tensor<2x7x4x3xf32>, tensor<2x4x3x5xbf16>)
  return %y, %h : tensor<2x7x4x3xf32>, tensor<2x4x3x5xbf16>
}

// -----

// Heads of 8 to 128 channels are one vector value: each state row is
// loaded, updated and stored whole, and the output sum is carried through
// the loop over n in registers. Up to 2048 bits (here 16 x f32), two steps
// at a time, each state row loaded and stored once for both, then the odd
// step alone. One decay per step: the block first sums the log-decays
// (exp of the sum and of its negation per step, the smallest and largest
// sum); within e^±44 the state is updated divided by the running product
// (no decay multiplies it; the sums start at 0 and are scaled after the
// loop over n) and multiplied back at the block's end; else the plain
// update, the decay broadcast per step.
// CHECK-LABEL: func.func @ssd_vector_head
// CHECK: %[[H:.*]] = memref.alloc() {alignment = 64 : i64} : memref<5x16xf32>
// CHECK: %[[LOGS:.*]]:3 = scf.for {{.*}} -> (f32, f32, f32)
// CHECK: math.exp
// CHECK: math.exp
// CHECK: arith.minimumf
// CHECK: arith.maximumf
// CHECK: %[[OK:.*]] = arith.andi
// CHECK: scf.if %[[OK]] {
// CHECK: scf.for %[[S:.*]] = %{{.*}} to %{{.*}} step %c2
// CHECK: %[[DX:.*]] = vector.load %{{.*}}[%[[S]], %{{.*}}] : memref<7x16xf32>, vector<16xf32>
// CHECK: %[[SUMS:.*]]:2 = scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC0:.*]] = %[[ZERO:.*]], %[[ACC1:.*]] = %[[ZERO]]) -> (vector<16xf32>, vector<16xf32>)
// CHECK: %[[ROW:.*]] = vector.load %[[H]][%[[N]], %{{.*}}] : memref<5x16xf32>, vector<16xf32>
// CHECK-NOT: arith.mulf %{{.*}}, %[[ROW]]
// CHECK: arith.addf %[[ROW]], %{{.*}} fastmath<reassoc,contract> : vector<16xf32>
// CHECK: arith.addf %[[ACC0]], %{{.*}} fastmath<reassoc,contract> : vector<16xf32>
// CHECK: arith.addf %[[ACC1]], %{{.*}} fastmath<reassoc,contract> : vector<16xf32>
// CHECK: vector.store %{{.*}}, %[[H]][%[[N]], %{{.*}}] : memref<5x16xf32>, vector<16xf32>
// CHECK: arith.mulf %{{.*}}, %[[SUMS]]#0
// CHECK: vector.store
// CHECK: arith.mulf %{{.*}}, %[[SUMS]]#1
// CHECK: vector.store
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1
// CHECK: scf.for {{.*}} -> (vector<16xf32>)
// CHECK: scf.for
// CHECK: vector.load %[[H]]
// CHECK: arith.mulf
// CHECK: vector.store %{{.*}}, %[[H]]
// CHECK: } else {
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c2
// CHECK: math.exp
// CHECK: vector.broadcast
// CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>)
func.func @ssd_vector_head(%x: tensor<1x7x2x16xf32>, %dt: tensor<1x7x2xf32>,
                           %A: tensor<2xf32>, %B: tensor<1x7x1x5xf32>)
    -> tensor<1x7x2x16xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x7x2x16xf32>, tensor<1x7x2xf32>, tensor<2xf32>, tensor<1x7x1x5xf32>,
         tensor<1x7x1x5xf32>) -> tensor<1x7x2x16xf32>
  return %y : tensor<1x7x2x16xf32>
}

// -----

// A head of 16 f32 channels and N = 8: each step's output sum over n runs
// in 4 partial sums (entries n to n + 3 of a pass over the state), added
// up after the loop; two steps at a time carry 8. The plain update (no
// scaling) starts each step's first partial sum from its skip.
// CHECK-LABEL: func.func @ssd_vector_head_chains
// CHECK: scf.if
// CHECK: %[[SUMS:.*]]:8 = scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %c4 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.load %{{.*}}[%[[N]], %{{.*}}]
// CHECK: %[[N1:.*]] = arith.addi %[[N]], %c1
// CHECK: vector.load %{{.*}}[%[[N1]], %{{.*}}]
// CHECK: %[[N3:.*]] = arith.addi %[[N]], %c3
// CHECK: vector.load %{{.*}}[%[[N3]], %{{.*}}]
// CHECK: scf.yield
// CHECK: %[[S0:.*]] = arith.addf %[[SUMS]]#0, %[[SUMS]]#2
// CHECK: %[[S1:.*]] = arith.addf %[[S0]], %[[SUMS]]#4
// CHECK: arith.addf %[[S1]], %[[SUMS]]#6
// CHECK: %[[T0:.*]] = arith.addf %[[SUMS]]#1, %[[SUMS]]#3
// CHECK: } else {
// CHECK: %[[PLAIN:.*]]:8 = scf.for %{{.*}} step %c4 iter_args(%{{.*}} = %[[SKIP0:[^,]*]], %{{.*}} = %[[SKIP1:[^,]*]], %{{.*}} = %[[ZERO:[^,]*]], %{{.*}} = %[[ZERO]],
func.func @ssd_vector_head_chains(%x: tensor<1x7x2x16xf32>, %dt: tensor<1x7x2xf32>,
                                  %A: tensor<2xf32>, %B: tensor<1x7x1x8xf32>)
    -> tensor<1x7x2x16xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x7x2x16xf32>, tensor<1x7x2xf32>, tensor<2xf32>, tensor<1x7x1x8xf32>,
         tensor<1x7x1x8xf32>) -> tensor<1x7x2x16xf32>
  return %y : tensor<1x7x2x16xf32>
}

// -----

// Inputs and y with time innermost (mamba_ssm's [B, D, L]) and full tiles
// of 16 rows: the per-step values are computed lanes outer and steps inner
// (reads along time with unit stride) into [tile, block] scratch, then
// transposed into the [block, tile] buffers the recurrence reads: 16 rows
// loaded, 4 stages of 16 shuffles, 16 rows stored. The output sums go back
// the same way, and y is written lanes outer, steps inner.
// CHECK-LABEL: func.func @selective_scan_time_major
// CHECK: %[[DELTA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
// CHECK: %[[DELTA_T:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
// CHECK: scf.for %[[FIRST:.*]] = %{{.*}} to %{{.*}} step %c16
// CHECK: scf.for %[[LANE:.*]] = %{{.*}} to %{{.*}}
// CHECK: scf.for %[[S:.*]] = %{{.*}} to %{{.*}}
// CHECK: %[[T:.*]] = arith.addi %[[FIRST]], %[[S]]
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}, %[[T]]] : tensor<1x32x40xf32>
// CHECK: math.log1p
// CHECK: memref.store %{{.*}}, %[[DELTA_T]][%[[LANE]], %[[S]]]
// CHECK: vector.load %[[DELTA_T]]
// CHECK-COUNT-64: vector.shuffle
// CHECK: vector.store %{{.*}}, %[[DELTA]]
// CHECK: math.exp
// CHECK-COUNT-64: vector.shuffle
// CHECK: scf.for %[[LANE2:.*]] = %{{.*}} to %{{.*}}
// CHECK: scf.for %[[S2:.*]] = %{{.*}} to %{{.*}}
// CHECK: %[[T2:.*]] = arith.addi %[[FIRST]], %[[S2]]
// CHECK: tensor.insert %{{.*}}[%{{.*}}, %{{.*}}, %[[T2]]] : tensor<1x32x40xf32>
func.func @selective_scan_time_major(%u: tensor<1x32x40xf32>, %A: tensor<32x4xf32>,
                                     %B: tensor<1x1x4x40xf32>) -> tensor<1x32x40xf32> {
  %y = ssm.selective_scan %u, %u, %A, %B, %B delta_softplus
      : (tensor<1x32x40xf32>, tensor<1x32x40xf32>, tensor<32x4xf32>, tensor<1x1x4x40xf32>,
         tensor<1x1x4x40xf32>) -> tensor<1x32x40xf32>
  return %y : tensor<1x32x40xf32>
}
