// RUN: ssmc %s --emit=bufferized -o - --print-pipeline 2>%t.pipe | FileCheck %s --check-prefix=AUTO
// RUN: FileCheck %s --check-prefix=PIPE < %t.pipe
// RUN: ssmc %s --emit=bufferized -o - --ssd-algorithm=chunked --print-pipeline 2>%t.chunked | FileCheck %s --check-prefix=CHUNKED
// RUN: FileCheck %s --check-prefix=PIPE-CHUNKED < %t.chunked
// RUN: ssmc %s --emit=bufferized -o - --ssd-algorithm=recurrent | FileCheck %s --check-prefix=RECURRENT
// RUN: ssm-opt %s --ssm-cpu-bufferize='ssd-algorithm=chunked' | FileCheck %s --check-prefix=CHUNKED

// --ssd-algorithm reaches ssm-select-algorithm, which configures the core ops
// that ssm-to-recurrence made before they are split into work items and
// lowered; an op with an explicit algorithm keeps it.

// PIPE: func.func(ssm-to-recurrence,ssm-select-algorithm{force=auto},ssm-tile-recurrences,convert-ssm-to-scf)
// PIPE-CHUNKED: func.func(ssm-to-recurrence,ssm-select-algorithm{force=chunked},ssm-tile-recurrences,convert-ssm-to-scf)

// The two forms tell apart by their products: the chunked form's register
// tiles accumulate with vector.fma, which the recurrence does not use.
// Each op is a loop over its work items: the recurrence's are its 48
// heads, the chunked form's 12 blocks of 4 heads.
// With the default chunk_size (256) the cost model keeps the recurrence;
// the explicitly chunked op is chunked.
// AUTO-LABEL: func.func @two
// AUTO:       scf.forall (%{{.*}}) in (48)
// AUTO-NOT:   vector.fma
// AUTO:       scf.forall (%{{.*}}) = (0) to (48) step (4)
// AUTO:       vector.fma
// AUTO:       return

// Forced: both are chunked.
// CHUNKED-LABEL: func.func @two
// CHUNKED:       scf.forall (%{{.*}}) = (0) to (48) step (4)
// CHUNKED:       vector.fma
// CHUNKED:       scf.forall (%{{.*}}) = (0) to (48) step (4)
// CHUNKED:       vector.fma
// CHUNKED:       return

// Forced recurrent: the explicit `algorithm chunked` is kept.
// RECURRENT-LABEL: func.func @two
// RECURRENT:       scf.forall (%{{.*}}) in (48)
// RECURRENT-NOT:   vector.fma
// RECURRENT:       scf.forall (%{{.*}}) = (0) to (48) step (4)
// RECURRENT:       vector.fma
// RECURRENT:       return
func.func @two(%x: tensor<1x512x48x8xf32>, %dt: tensor<1x512x48xf32>, %A: tensor<48xf32>,
               %B: tensor<1x512x1x16xf32>) -> (tensor<1x512x48x8xf32>, tensor<1x512x48x8xf32>) {
  %y = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x512x48x8xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x16xf32>, tensor<1x512x1x16xf32>) -> tensor<1x512x48x8xf32>
  %c = ssm.ssd %x, %dt, %A, %B, %B algorithm chunked {chunk_size = 16 : i64}
      : (tensor<1x512x48x8xf32>, tensor<1x512x48xf32>, tensor<48xf32>,
         tensor<1x512x1x16xf32>, tensor<1x512x1x16xf32>) -> tensor<1x512x48x8xf32>
  return %y, %c : tensor<1x512x48x8xf32>, tensor<1x512x48x8xf32>
}
