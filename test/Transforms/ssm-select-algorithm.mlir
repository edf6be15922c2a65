// RUN: ssm-opt %s -ssm-to-recurrence -ssm-select-algorithm -split-input-file | FileCheck %s
// RUN: ssm-opt %s -pass-pipeline='builtin.module(func.func(ssm-to-recurrence,ssm-select-algorithm{force=recurrent}))' -split-input-file | FileCheck %s --check-prefix=REC
// RUN: ssm-opt %s -pass-pipeline='builtin.module(func.func(ssm-to-recurrence,ssm-select-algorithm{force=chunked}))' -split-input-file | FileCheck %s --check-prefix=CHUNK
// RUN: not ssm-opt %s -pass-pipeline='builtin.module(func.func(ssm-select-algorithm{force=parallel}))' 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: for the --force option: Cannot find option named 'parallel'!

// The bench shape (H = 48, P = 64, N = 128, L = 512): the recurrence runs
// full-width over the 64 channels of a head and wins against chunks of 64
// and 256 steps (0.037 ns per (h, p, n, t) against 0.041 for chunks of 64).
// An explicit algorithm is kept, also under force.
// CHECK-LABEL: func.func @bench_shape
// CHECK:       %[[Q64:.*]] = ssm.recurrence {{.*}} form recurrent chunk_size 64 
// CHECK:       %[[Q256:.*]] = ssm.recurrence {{.*}} form recurrent chunk_size 256 
// CHECK:       %[[KEPT:.*]] = ssm.recurrence {{.*}} form recurrent chunk_size 32 
// CHECK:       return %[[Q64]], %[[Q256]], %[[KEPT]]
// REC-LABEL:   func.func @bench_shape
// REC:         ssm.recurrence {{.*}} form recurrent chunk_size 64 
// REC:         ssm.recurrence {{.*}} form recurrent chunk_size 256 
// REC:         ssm.recurrence {{.*}} form recurrent chunk_size 32 
// CHUNK-LABEL: func.func @bench_shape
// CHUNK:       ssm.recurrence {{.*}} form chunked chunk_size 64 
// CHUNK:       ssm.recurrence {{.*}} form chunked chunk_size 256 
// CHUNK:       ssm.recurrence {{.*}} form recurrent chunk_size 32 
func.func @bench_shape(%x: tensor<1x512x48x64xf32>, %dt: tensor<1x512x48xf32>, %A: tensor<48xf32>,
                       %B: tensor<1x512x1x128xf32>)
    -> (tensor<1x512x48x64xf32>, tensor<1x512x48x64xf32>, tensor<1x512x48x64xf32>) {
  %q64 = ssm.ssd %x, %dt, %A, %B, %B {chunk_size = 64 : i64}
      : (tensor<1x512x48x64xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x128xf32>, tensor<1x512x1x128xf32>) -> tensor<1x512x48x64xf32>
  %q256 = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x512x48x64xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x128xf32>, tensor<1x512x1x128xf32>) -> tensor<1x512x48x64xf32>
  %kept = ssm.ssd %x, %dt, %A, %B, %B algorithm recurrent {chunk_size = 32 : i64}
      : (tensor<1x512x48x64xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x128xf32>, tensor<1x512x1x128xf32>) -> tensor<1x512x48x64xf32>
  return %q64, %q256, %kept : tensor<1x512x48x64xf32>, tensor<1x512x48x64xf32>, tensor<1x512x48x64xf32>
}

// -----

// Very short heads (P = 4) run the recurrence in scalar loops (0.18 ns per
// element at L = 512), still faster than the chunked form with any chunk
// (0.45 to 0.65 with chunks of 2 to 8 steps: its tiles work on whole
// vectors of 16 channels). Sequences shorter than a chunk make chunks of L
// steps; a dynamic L is weighed with chunks of chunk_size.
// CHECK-LABEL: func.func @short_and_dynamic
// CHECK:       ssm.recurrence {{.*}} form recurrent chunk_size 256 
// CHECK:       ssm.recurrence {{.*}} form recurrent chunk_size 4 
// CHECK:       ssm.recurrence {{.*}} form recurrent chunk_size 256 
func.func @short_and_dynamic(%x1: tensor<4x1x48x4xf32>, %dt1: tensor<4x1x48xf32>, %A: tensor<48xf32>,
                             %B1: tensor<4x1x1x128xf32>, %x: tensor<?x?x48x4xf32>,
                             %dt: tensor<?x?x48xf32>, %B: tensor<?x?x1x128xf32>)
    -> (tensor<4x1x48x4xf32>, tensor<?x?x48x4xf32>, tensor<?x?x48x4xf32>) {
  %one = ssm.ssd %x1, %dt1, %A, %B1, %B1
      : (tensor<4x1x48x4xf32>, tensor<4x1x48xf32>, tensor<48xf32>,
         tensor<4x1x1x128xf32>, tensor<4x1x1x128xf32>) -> tensor<4x1x48x4xf32>
  %q4 = ssm.ssd %x, %dt, %A, %B, %B {chunk_size = 4 : i64}
      : (tensor<?x?x48x4xf32>, tensor<?x?x48xf32>, tensor<48xf32>,
         tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>) -> tensor<?x?x48x4xf32>
  %q256 = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<?x?x48x4xf32>, tensor<?x?x48xf32>, tensor<48xf32>,
         tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>) -> tensor<?x?x48x4xf32>
  return %one, %q4, %q256 : tensor<4x1x48x4xf32>, tensor<?x?x48x4xf32>, tensor<?x?x48x4xf32>
}

// -----

// Long sequences whose B and C outgrow L2 slow the recurrence down more
// than the chunked form, whose work items read a chunk of them once for a
// block of heads (ns per element from L = 512 to 4096: 0.037 -> 0.044, and
// 0.035 -> 0.038 with chunks of 16). With chunks of 16 the model keeps the
// recurrence at L = 512, where the two are within 5 %, and takes the
// chunked form at L = 4096; chunks of 192 steps stay recurrent at both.
// CHECK-LABEL: func.func @long
// CHECK:       ssm.recurrence {{.*}} form recurrent chunk_size 192 
// CHECK:       ssm.recurrence {{.*}} form recurrent chunk_size 192 
// CHECK:       ssm.recurrence {{.*}} form recurrent chunk_size 16 
// CHECK:       ssm.recurrence {{.*}} form chunked chunk_size 16 
func.func @long(%x: tensor<1x512x48x64xf32>, %dt: tensor<1x512x48xf32>, %A: tensor<48xf32>,
                %B: tensor<1x512x1x128xf32>, %xl: tensor<1x4096x48x64xf32>,
                %dtl: tensor<1x4096x48xf32>, %Bl: tensor<1x4096x1x128xf32>)
    -> (tensor<1x512x48x64xf32>, tensor<1x4096x48x64xf32>, tensor<1x512x48x64xf32>,
        tensor<1x4096x48x64xf32>) {
  %y = ssm.ssd %x, %dt, %A, %B, %B {chunk_size = 192 : i64}
      : (tensor<1x512x48x64xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x128xf32>, tensor<1x512x1x128xf32>) -> tensor<1x512x48x64xf32>
  %yl = ssm.ssd %xl, %dtl, %A, %Bl, %Bl {chunk_size = 192 : i64}
      : (tensor<1x4096x48x64xf32>, tensor<1x4096x48xf32>, tensor<48xf32>,
         tensor<1x4096x1x128xf32>, tensor<1x4096x1x128xf32>) -> tensor<1x4096x48x64xf32>
  %s = ssm.ssd %x, %dt, %A, %B, %B {chunk_size = 16 : i64}
      : (tensor<1x512x48x64xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x128xf32>, tensor<1x512x1x128xf32>) -> tensor<1x512x48x64xf32>
  %sl = ssm.ssd %xl, %dtl, %A, %Bl, %Bl {chunk_size = 16 : i64}
      : (tensor<1x4096x48x64xf32>, tensor<1x4096x48xf32>, tensor<48xf32>,
         tensor<1x4096x1x128xf32>, tensor<1x4096x1x128xf32>) -> tensor<1x4096x48x64xf32>
  return %y, %yl, %s, %sl : tensor<1x512x48x64xf32>, tensor<1x4096x48x64xf32>,
      tensor<1x512x48x64xf32>, tensor<1x4096x48x64xf32>
}

// -----

// Heads of 128 channels with a 64 KiB state slow the recurrence down
// (0.107 ns per element at L = 512), not the chunked form (0.034 with
// chunks of 16), which the model takes.
// CHECK-LABEL: func.func @wide_heads
// CHECK:       ssm.recurrence {{.*}} form chunked chunk_size 16 
func.func @wide_heads(%x: tensor<1x512x48x128xf32>, %dt: tensor<1x512x48xf32>, %A: tensor<48xf32>,
                      %B: tensor<1x512x1x128xf32>) -> tensor<1x512x48x128xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B {chunk_size = 16 : i64}
      : (tensor<1x512x48x128xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x128xf32>, tensor<1x512x1x128xf32>) -> tensor<1x512x48x128xf32>
  return %y : tensor<1x512x48x128xf32>
}

// -----

// With a dynamic head dimension or state size the model has nothing to
// weigh: the recurrence.
// CHECK-LABEL: func.func @dynamic_state
// CHECK:       ssm.recurrence {{.*}} form recurrent chunk_size 32 
func.func @dynamic_state(%x: tensor<1x512x48x?xf32>, %dt: tensor<1x512x48xf32>, %A: tensor<48xf32>,
                         %B: tensor<1x512x1x?xf32>) -> tensor<1x512x48x?xf32> {
  %y = ssm.ssd %x, %dt, %A, %B, %B {chunk_size = 32 : i64}
      : (tensor<1x512x48x?xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x?xf32>, tensor<1x512x1x?xf32>) -> tensor<1x512x48x?xf32>
  return %y : tensor<1x512x48x?xf32>
}
