// RUN: ssmc %s --caller-outputs --emit=bufferized -o - | FileCheck %s --check-prefix=IR
// RUN: ssm-opt %s --ssm-cpu-bufferize='caller-outputs=true' | FileCheck %s --check-prefix=OPT
// RUN: ssmc %s --caller-outputs -o %t.o --header %t.h
// RUN: FileCheck %s --check-prefix=HEADER < %t.h
// RUN: %cc -include %t.h %S/Inputs/call-caller-outputs.c %t.o -L%ssm_obj_root/lib -lssm_runtime -Wl,-rpath,%ssm_obj_root/lib -lm -o %t.exe
// RUN: %t.exe | FileCheck %s --check-prefix=OUT
// RUN: not --crash %t.exe wrong-size 2>&1 | FileCheck %s --check-prefix=WRONG
// RUN: not ssmc %s --caller-outputs --target=cuda -o %t.cuda.o 2>&1 | FileCheck %s --check-prefix=CUDA

// With --caller-outputs every result is a trailing argument the call
// writes: no allocation for it, the dynamic sizes checked before anything
// is written, no result left.
// IR-LABEL: func.func @conv(
// IR-SAME: %[[Y:[^:]*]]: memref<?x4x?xf32> {ssm.in_place, ssm.name = "y", ssm.output}) {
// IR-NOT: memref.alloc
// IR: cf.assert %{{.*}}, "conv: output 'y' dimension 0 does not match the result's size"
// IR: cf.assert %{{.*}}, "conv: output 'y' dimension 2 does not match the result's size"
// IR: scf.forall
// IR: memref.subview %[[Y]]
// IR: return{{$}}
// IR-LABEL: func.func @ssd(
// IR-SAME: %[[YS:[^:]*]]: memref<1x?x4x8xf32> {ssm.in_place, ssm.name = "y", ssm.output}, %[[H:[^:]*]]: memref<1x4x8x16xf32> {ssm.in_place, ssm.name = "h", ssm.output}) {
// IR-NOT: memref.alloc(
// IR: linalg.fill ins(%{{.*}} : f32) outs(%[[H]] : memref<1x4x8x16xf32>)
// IR: cf.assert %{{.*}}, "ssd: output 'y' dimension 1 does not match the result's size"
// IR: scf.forall
// IR: return{{$}}

// ssm-opt's pipeline option does the same (ssm-opt records no source
// names: the output is named after its position).
// OPT-LABEL: func.func @conv(
// OPT-SAME: memref<?x4x?xf32> {ssm.in_place, ssm.name = "r0", ssm.output}) {

// HEADER:      *   y: f32 [?, 4, ?]  (output: written by the call)
// HEADER:      void _mlir_ciface_conv(ssmc_memref_3d_f32 *x, ssmc_memref_2d_f32 *w, ssmc_memref_3d_f32 *y);
// HEADER:      *   h: f32 [1, 4, 8, 16]  (output: written by the call)
// HEADER:      void _mlir_ciface_ssd(ssmc_memref_4d_f32 *x, ssmc_memref_3d_f32 *dt, ssmc_memref_1d_f32 *A, ssmc_memref_4d_f32 *B, ssmc_memref_4d_f32 *y, ssmc_memref_4d_f32 *h);

// OUT: conv: max error 0
// OUT: ssd: every element written
// WRONG: conv: output 'y' dimension 2 does not match the result's size
// CUDA: error: --caller-outputs is for the CPU so far

func.func @conv(%x: tensor<?x4x?xf32>, %w: tensor<4x3xf32>) -> tensor<?x4x?xf32> {
  %y = ssm.causal_conv1d %x, %w silu : (tensor<?x4x?xf32>, tensor<4x3xf32>) -> tensor<?x4x?xf32>
  return %y : tensor<?x4x?xf32>
}

func.func @ssd(%x: tensor<1x?x4x8xf32>, %dt: tensor<1x?x4xf32>, %A: tensor<4xf32>,
               %B: tensor<1x?x1x16xf32>) -> (tensor<1x?x4x8xf32>, tensor<1x4x8x16xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %B
      : (tensor<1x?x4x8xf32>, tensor<1x?x4xf32>, tensor<4xf32>, tensor<1x?x1x16xf32>,
         tensor<1x?x1x16xf32>) -> (tensor<1x?x4x8xf32>, tensor<1x4x8x16xf32>)
  return %y, %h : tensor<1x?x4x8xf32>, tensor<1x4x8x16xf32>
}

// A decode step's destinations are the caller's already: the state and
// the output buffer stay the arguments they were, with no output added.
// IR-LABEL: func.func @step(
// IR-SAME: %{{[^:]*}}: memref<2x4x3x5xf32> {ssm.in_place, ssm.name = "h"}, %{{[^:]*}}: memref<2x4x3xf32> {ssm.in_place, ssm.name = "y"}) {
// IR-NOT: ssm.output
// IR: return{{$}}
func.func @step(%x: tensor<2x4x3xf32>, %dt: tensor<2x4xf32>, %A: tensor<4xf32>,
                %B: tensor<2x1x5xf32>, %h: tensor<2x4x3x5xf32>, %y: tensor<2x4x3xf32>)
    -> (tensor<2x4x3x5xf32>, tensor<2x4x3xf32>) {
  %h1, %y1 = ssm.state_update ins(%x, %dt, %A, %B, %B
      : tensor<2x4x3xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<2x1x5xf32>, tensor<2x1x5xf32>)
      outs(%h, %y : tensor<2x4x3x5xf32>, tensor<2x4x3xf32>)
  return %h1, %y1 : tensor<2x4x3x5xf32>, tensor<2x4x3xf32>
}
