// RUN: ssmc %s --emit=llvm --mcpu=x86-64-v3 -o - | FileCheck %s --check-prefix=LLVM
// RUN: ssmc %s --emit=bufferized -o - | FileCheck %s --check-prefix=BUF
// RUN: ssmc %s -o %t.o --header %t.h && FileCheck %s --check-prefix=HDR < %t.h
// RUN: ssmc %s --emit=asm --mcpu=x86-64-v3 -o - | FileCheck %s --check-prefix=ASM
// RUN: ssmc %s --emit=shared -o %t.so && test -s %t.so
// RUN: ssmc %s --emit=obj -o %t.o --print-pipeline 2>&1 >/dev/null | FileCheck %s --check-prefix=PIPE
// RUN: ssmc %s --emit=shared -o %t.so && llvm-readelf --dynamic %t.so | FileCheck %s --check-prefix=NEEDED
// RUN: ssmc %s --emit=shared --parallel=false -o %t.serial.so && llvm-readelf --dynamic %t.serial.so | FileCheck %s --check-prefix=SERIAL
// RUN: ssmc %s --emit=llvm --parallel=false -o - | FileCheck %s --check-prefix=SERIAL-IR
// RUN: ssmc %s --parallel=false -o %t.o --header %t.serial.h && FileCheck %s --check-prefix=SERIAL-HDR < %t.serial.h

// The driver's outputs for one decode step (Mamba-2 form, dynamic batch).

// LLVM: target triple = "x86_64
// LLVM: define void @decode(
// LLVM: call i32 @ssm_parallel_for(
// LLVM: define void @_mlir_ciface_decode(ptr
// LLVM-NOT: @_mlir_ciface_expf
// LLVM: define internal void @decode_parallel(ptr
// LLVM: "target-cpu"="x86-64-v3"

// The batch x head loop runs on the runtime's pool, so a shared library
// needs the runtime; with --parallel=false it needs only libc and libm.
// NEEDED: (NEEDED) Shared library: [libssm_runtime.so.1]
// A program that links only the generated library finds the runtime it was
// linked against.
// NEEDED: (RUNPATH) Library runpath: [{{.*}}lib]
// SERIAL-NOT: libssm_runtime
// SERIAL-IR-NOT: ssm_parallel_for
// SERIAL-HDR-NOT: libssm_runtime

// BUF-LABEL: func.func @decode(
// BUF-SAME: memref<?x4x3x5xf32> {ssm.in_place, ssm.name = "state"}
// BUF-NOT: tensor<

// HDR: #ifndef SSMC_SSMC_MLIR_TMP_H
// HDR: link
// HDR-NEXT: with -lssm_runtime.
// HDR: typedef struct ssmc_memref_4d_f32 {
// HDR-NEXT: float *allocated;
// HDR: state: f32 [?, 4, 3, 5]  (updated in place)
// HDR: void _mlir_ciface_decode(ssmc_memref_3d_f32 *x, ssmc_memref_2d_f32 *dt, ssmc_memref_1d_f32 *A, ssmc_memref_3d_f32 *B, ssmc_memref_3d_f32 *C, ssmc_memref_4d_f32 *state, ssmc_memref_3d_f32 *y);

// ASM: _mlir_ciface_decode:

// PIPE: ssm-mark-in-place-arguments
// PIPE: one-shot-bufferize
// PIPE: ssm-parallel-to-runtime
// PIPE: convert-to-llvm

func.func @decode(%x: tensor<?x4x3xf32>, %dt: tensor<?x4xf32>, %A: tensor<4xf32>,
                  %B: tensor<?x2x5xf32>, %C: tensor<?x2x5xf32>,
                  %state: tensor<?x4x3x5xf32>, %y: tensor<?x4x3xf32>)
    -> (tensor<?x4x3x5xf32>, tensor<?x4x3xf32>) {
  %s1, %y1 = ssm.state_update ins(%x, %dt, %A, %B, %C : tensor<?x4x3xf32>,
        tensor<?x4xf32>, tensor<4xf32>, tensor<?x2x5xf32>, tensor<?x2x5xf32>)
      dt_softplus outs(%state, %y : tensor<?x4x3x5xf32>, tensor<?x4x3xf32>)
  return %s1, %y1 : tensor<?x4x3x5xf32>, tensor<?x4x3xf32>
}
