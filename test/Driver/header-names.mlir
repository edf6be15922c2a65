// RUN: ssmc %s --parallel=false -o %t.o --header %t.h
// RUN: FileCheck %s < %t.h
// RUN: %cc -fsyntax-only -Wall -Werror -x c %t.h
// RUN: %cc -fsyntax-only -Wall -Werror -x c++ %t.h
// RUN: %cc -include %t.h %S/Inputs/call-header-names.c %t.o -lm -o %t.exe
// RUN: %t.exe | FileCheck %s --check-prefix=OUT
// RUN: ssmc --target=cuda %s -o %t.cuda.o --header %t.cuda.h
// RUN: FileCheck %s < %t.cuda.h
// RUN: ssm-opt %s --emit-bytecode -o %t.mlirbc
// RUN: ssmc %t.mlirbc --parallel=false -o %t.bc.o --header %t.bc.h
// RUN: FileCheck %s --check-prefix=BYTECODE < %t.bc.h
// RUN: not ssmc %S/Inputs/signature-mismatch.mlir -o %t.bad.o 2>&1 | FileCheck %s --check-prefix=MISMATCH

// The header names arguments and results after the source's SSA names, and
// falls back to argN / rN where a name cannot serve in C or C++.

// CHECK-LABEL: typedef struct conv_results {
// CHECK-NEXT:    ssmc_memref_3d_f32 y;
// CHECK-NEXT:    ssmc_memref_3d_f32 state;
// CHECK-NEXT:  } conv_results;
// CHECK:       /* conv
// CHECK:        *     y: f32 [1, 2, 6]
// CHECK-NEXT:   *     state: f32 [1, 2, 3]
// CHECK-NEXT:   *   x: f32 [1, 2, 6]  (read only)
// CHECK-NEXT:   *   w: f32 [2, 4]  (read only)
// CHECK-NEXT:   *   b: f32 [2]  (read only)
// CHECK:       void _mlir_ciface_conv(conv_results *results, ssmc_memref_3d_f32 *x, ssmc_memref_2d_f32 *w, ssmc_memref_1d_f32 *b);
// MISMATCH: error: 'func.func' op entry block must have 1 arguments to match function signature
// Without names (bytecode has none), the positions.
// BYTECODE:    ssmc_memref_3d_f32 r0;
// BYTECODE:    void _mlir_ciface_conv(conv_results *results, ssmc_memref_3d_f32 *arg0, ssmc_memref_2d_f32 *arg1, ssmc_memref_1d_f32 *arg2);
func.func @conv(%x: tensor<1x2x6xf32>, %w: tensor<2x4xf32>, %b: tensor<2xf32>)
    -> (tensor<1x2x6xf32>, tensor<1x2x3xf32>) {
  %y, %state = ssm.causal_conv1d %x, %w bias(%b)
      : (tensor<1x2x6xf32>, tensor<2x4xf32>, tensor<2xf32>)
      -> (tensor<1x2x6xf32>, tensor<1x2x3xf32>)
  return %y, %state : tensor<1x2x6xf32>, tensor<1x2x3xf32>
}

// A result that is an argument leaves the signature (ssm-drop-argument-
// results): the others keep their names, and a fallback is numbered by its
// place in the struct.
// CHECK-LABEL: typedef struct mixed_results {
// CHECK-NEXT:    ssmc_memref_3d_f32 y;
// CHECK-NEXT:    ssmc_memref_3d_f32 r1;
// CHECK-NEXT:  } mixed_results;
// CHECK:        *     y: f32 [1, 2, 6]
// CHECK-NEXT:   *     r1: f32 [1, 2, 6]
// CHECK-NEXT:   *   x: f32 [1, 2, 6]  (read only)
// CHECK-NEXT:   *   w: f32 [2, 4]  (read only)
// CHECK-NEXT:   *   u: f32 [1, 2, 6]  (read only)
// CHECK:       void _mlir_ciface_mixed(mixed_results *results, ssmc_memref_3d_f32 *x, ssmc_memref_2d_f32 *w, ssmc_memref_3d_f32 *u);
func.func @mixed(%x: tensor<1x2x6xf32>, %w: tensor<2x4xf32>,
                 %u: tensor<1x2x6xf32>)
    -> (tensor<1x2x6xf32>, tensor<1x2x6xf32>, tensor<1x2x6xf32>) {
  %y = ssm.causal_conv1d %x, %w
      : (tensor<1x2x6xf32>, tensor<2x4xf32>) -> tensor<1x2x6xf32>
  %0 = ssm.causal_conv1d %y, %w
      : (tensor<1x2x6xf32>, tensor<2x4xf32>) -> tensor<1x2x6xf32>
  return %u, %y, %0 : tensor<1x2x6xf32>, tensor<1x2x6xf32>, tensor<1x2x6xf32>
}

// A result is named where every return agrees.
// CHECK-LABEL: typedef struct branches_results {
// CHECK-NEXT:    ssmc_memref_3d_f32 y;
// CHECK-NEXT:    ssmc_memref_3d_f32 r1;
// CHECK-NEXT:  } branches_results;
func.func @branches(%c: tensor<i1>, %x: tensor<1x2x6xf32>, %w: tensor<2x4xf32>)
    -> (tensor<1x2x6xf32>, tensor<1x2x6xf32>) {
  %y = ssm.causal_conv1d %x, %w
      : (tensor<1x2x6xf32>, tensor<2x4xf32>) -> tensor<1x2x6xf32>
  %z = ssm.causal_conv1d %y, %w
      : (tensor<1x2x6xf32>, tensor<2x4xf32>) -> tensor<1x2x6xf32>
  %u = ssm.causal_conv1d %z, %w
      : (tensor<1x2x6xf32>, tensor<2x4xf32>) -> tensor<1x2x6xf32>
  %cond = tensor.extract %c[] : tensor<i1>
  cf.cond_br %cond, ^first, ^second
^first:
  return %y, %z : tensor<1x2x6xf32>, tensor<1x2x6xf32>
^second:
  return %y, %u : tensor<1x2x6xf32>, tensor<1x2x6xf32>
}

// Names C or C++ cannot take: a numbered value, keywords of C and of C++,
// a reserved identifier, a character C has no use for, the results
// parameter, another position's fallback, a type's `_t`, the descriptors'
// prefix, two arguments of one name, and a name that is no string. A name
// given as the attribute wins over the SSA name; a fallback's own name
// stays. Results: the members of a result group have no name of their
// own, and the same rules apply.
// CHECK-LABEL: typedef struct fallbacks_results {
// CHECK-NEXT:    ssmc_memref_3d_f32 r0;
// CHECK-NEXT:    ssmc_memref_3d_f32 r1;
// CHECK-NEXT:    ssmc_memref_3d_f32 r2;
// CHECK-NEXT:    ssmc_memref_3d_f32 r3;
// CHECK-NEXT:    ssmc_memref_3d_f32 r4;
// CHECK-NEXT:    ssmc_memref_3d_f32 last;
// CHECK-NEXT:  } fallbacks_results;
// CHECK:       void _mlir_ciface_fallbacks(fallbacks_results *results,
// CHECK-SAME:    *arg0, {{.*}} *arg1, {{.*}} *arg2, {{.*}} *arg3, {{.*}} *arg4,
// CHECK-SAME:    *arg5, {{.*}} *arg6, {{.*}} *arg7, {{.*}} *arg8, {{.*}} *arg9,
// CHECK-SAME:    *arg10, {{.*}} *arg11, {{.*}} *arg12, {{.*}} *input);
func.func @fallbacks(%0: tensor<2xf32>, %int: tensor<2xf32>,
                     %new: tensor<2xf32>, %_x: tensor<2xf32>,
                     %a.b: tensor<2xf32>, %results: tensor<2xf32>,
                     %arg0: tensor<2xf32>, %arg7: tensor<2x4xf32>,
                     %size_t: tensor<2xf32>, %ssmc_memref_1d_f32: tensor<2xf32>,
                     %p: tensor<2xf32> {ssm.name = "q"}, %q: tensor<2xf32>,
                     %n: tensor<2xf32> {ssm.name = 12 : i64},
                     %x: tensor<1x2x6xf32> {ssm.name = "input"})
    -> (tensor<1x2x6xf32>, tensor<1x2x3xf32>,
        tensor<1x2x6xf32> {ssm.name = "out"},
        tensor<1x2x6xf32> {ssm.name = "out"}, tensor<1x2x6xf32>,
        tensor<1x2x6xf32> {ssm.name = "last"}) {
  %c:2 = ssm.causal_conv1d %x, %arg7
      : (tensor<1x2x6xf32>, tensor<2x4xf32>)
      -> (tensor<1x2x6xf32>, tensor<1x2x3xf32>)
  %d = ssm.causal_conv1d %x, %arg7
      : (tensor<1x2x6xf32>, tensor<2x4xf32>) -> tensor<1x2x6xf32>
  %e = ssm.causal_conv1d %d, %arg7
      : (tensor<1x2x6xf32>, tensor<2x4xf32>) -> tensor<1x2x6xf32>
  %r0 = ssm.causal_conv1d %e, %arg7
      : (tensor<1x2x6xf32>, tensor<2x4xf32>) -> tensor<1x2x6xf32>
  %f = ssm.causal_conv1d %r0, %arg7
      : (tensor<1x2x6xf32>, tensor<2x4xf32>) -> tensor<1x2x6xf32>
  return %c#0, %c#1, %d, %e, %r0, %f
      : tensor<1x2x6xf32>, tensor<1x2x3xf32>, tensor<1x2x6xf32>,
        tensor<1x2x6xf32>, tensor<1x2x6xf32>, tensor<1x2x6xf32>
}

// The C program: all-ones input and taps, so y[t] = min(t + 1, 4) + bias,
// and mixed's r1 is y's running sum over windows of 4.
// OUT:      conv: y = 1.5 2.5 3.5 4.5 4.5 4.5 | 0 1 2 3 3 3; state 1 x 2 x 3
// OUT-NEXT: mixed: y = 1 2 3 4 4 4; r1 = 1 3 6 10 13 15
