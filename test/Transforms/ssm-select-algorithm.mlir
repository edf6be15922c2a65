// RUN: ssm-opt %s -ssm-to-recurrence -ssm-select-algorithm -split-input-file | FileCheck %s
// RUN: ssm-opt %s -pass-pipeline='builtin.module(func.func(ssm-to-recurrence,ssm-select-algorithm{force=recurrent}))' -split-input-file | FileCheck %s --check-prefix=REC
// RUN: ssm-opt %s -pass-pipeline='builtin.module(func.func(ssm-to-recurrence,ssm-select-algorithm{force=chunked}))' -split-input-file | FileCheck %s --check-prefix=CHUNK
// RUN: not ssm-opt %s -pass-pipeline='builtin.module(func.func(ssm-select-algorithm{force=parallel}))' 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: for the --force option: Cannot find option named 'parallel'!

// The bench shape (H = 48, P = 64, N = 128, L = 512): the recurrence runs
// full-width over the 64 channels of a head and wins at every chunk size
// (0.054 ns per (h, p, n, t) against 0.073 for chunks of 16). An explicit
// algorithm is kept, also under force.
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

// Very short heads (P = 4) run the recurrence in scalar loops, and the
// chunked form wins with short chunks (measured at L = 512: 0.17 against
// 0.12 ns per element with chunks of 4) but not with chunks of 16 (0.17
// against 0.19). Sequences shorter than a chunk make chunks of L steps; a
// dynamic L is weighed with chunks of chunk_size.
// CHECK-LABEL: func.func @short_and_dynamic
// CHECK:       ssm.recurrence {{.*}} form chunked chunk_size 256 
// CHECK:       ssm.recurrence {{.*}} form chunked chunk_size 4 
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

// Long sequences whose B and C outgrow L2 slow the recurrence down (0.054
// -> 0.067 ns per element from L = 512 to L = 4096), but less than they
// slow the chunked form (0.073 -> 0.094 with chunks of 16): P = 64 stays
// recurrent at both lengths.
// CHECK-LABEL: func.func @long
// CHECK:       ssm.recurrence {{.*}} form recurrent chunk_size 192 
// CHECK:       ssm.recurrence {{.*}} form recurrent chunk_size 192 
func.func @long(%x: tensor<1x512x48x64xf32>, %dt: tensor<1x512x48xf32>, %A: tensor<48xf32>,
                %B: tensor<1x512x1x128xf32>, %xl: tensor<1x4096x48x64xf32>,
                %dtl: tensor<1x4096x48xf32>, %Bl: tensor<1x4096x1x128xf32>)
    -> (tensor<1x512x48x64xf32>, tensor<1x4096x48x64xf32>) {
  %y = ssm.ssd %x, %dt, %A, %B, %B {chunk_size = 192 : i64}
      : (tensor<1x512x48x64xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x128xf32>, tensor<1x512x1x128xf32>) -> tensor<1x512x48x64xf32>
  %yl = ssm.ssd %xl, %dtl, %A, %Bl, %Bl {chunk_size = 192 : i64}
      : (tensor<1x4096x48x64xf32>, tensor<1x4096x48xf32>, tensor<48xf32>,
         tensor<1x4096x1x128xf32>, tensor<1x4096x1x128xf32>) -> tensor<1x4096x48x64xf32>
  return %y, %yl : tensor<1x512x48x64xf32>, tensor<1x4096x48x64xf32>
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
