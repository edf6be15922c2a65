// RUN: ssmc %s --caller-outputs -o %t.o --header %t.h
// RUN: FileCheck %s --check-prefix=HEADER < %t.h
// RUN: %cc -include %t.h %S/Inputs/call-static-shapes.c %t.o -L%ssm_obj_root/lib -lssm_runtime -Wl,-rpath,%ssm_obj_root/lib -o %t.exe
// RUN: %t.exe | FileCheck %s --check-prefix=OK
// RUN: not --crash %t.exe short-input 2>&1 | FileCheck %s --check-prefix=INPUT
// RUN: not --crash %t.exe long-output 2>&1 | FileCheck %s --check-prefix=OUTPUT
// RUN: ssmc %s --caller-outputs --checks=status -o %t.status.o --header %t.status.h
// RUN: FileCheck %s --check-prefix=STATUS-HEADER < %t.status.h
// RUN: %cc -DSTATUS -include %t.status.h %S/Inputs/call-static-shapes.c %t.status.o -L%ssm_obj_root/lib -lssm_runtime -Wl,-rpath,%ssm_obj_root/lib -o %t.status.exe
// RUN: %t.status.exe | FileCheck %s --check-prefix=STATUS
// RUN: ssmc %s --caller-outputs --checks=none --emit=llvm -o - | FileCheck %s --check-prefix=NONE
// RUN: ssmc %s --checks=status -o %t.results.o --header %t.results.h
// RUN: %cc -DSTATUS -DRESULTS -include %t.results.h %S/Inputs/call-static-shapes.c %t.results.o -L%ssm_obj_root/lib -lssm_runtime -Wl,-rpath,%ssm_obj_root/lib -o %t.results.exe
// RUN: %t.results.exe | FileCheck %s --check-prefix=RESULTS

// With --checks=status a failed check returns from the call, which writes
// nothing, and leaves its message in ssm_last_error(); the next call that
// succeeds clears it. Sizes left dynamic (the convolution's output against
// its input) are reported the same way. --checks=none compiles the checks
// out. Entry points that return their results do the same, returning
// empty results (size 0 where the size is dynamic) that the caller frees.
// STATUS-HEADER: const char *ssm_last_error(void);
// STATUS: ok call: no error
// STATUS: short input: {{.*}}static-shape-checks.mlir:{{[0-9]+}}:1: @squares: argument 'x' dimension 0 is not 4; output untouched
// STATUS: after an ok call: no error
// STATUS: short conv output: conv: output 'y' dimension 2 does not match the result's size; output untouched
// NONE-NOT: @abort
// NONE-NOT: is not 4
// NONE: define {{.*}}@squares(
// RESULTS: ok call: no error
// RESULTS: short input: {{.*}}static-shape-checks.mlir:{{[0-9]+}}:1: @squares: argument 'x' dimension 0 is not 4; result 4 x 8
// RESULTS: after an ok call: no error
// RESULTS: short conv weights: {{.*}}static-shape-checks.mlir:{{[0-9]+}}:1: @conv: argument 'w' dimension 1 is not 3; result 1 x 4 x 0

// An entry point compiled for static sizes checks that the caller's
// buffers have them before it reads or writes anything; the header shows
// the sizes it expects.
// HEADER: *   x: f32 [4, 8]
// HEADER: *   y: f32 [4, 8]  (output: written by the call)
// OK: squares: ok
// INPUT: static-shape-checks.mlir:[[@LINE+3]]:1: @squares: argument 'x' dimension 0 is not 4
// OUTPUT: static-shape-checks.mlir:[[@LINE+2]]:1: @squares: argument 'y' dimension 1 is not 8
#map = affine_map<(i, j) -> (i, j)>
func.func @squares(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

func.func @conv(%x: tensor<1x4x?xf32>, %w: tensor<4x3xf32>) -> tensor<1x4x?xf32> {
  %y = ssm.causal_conv1d %x, %w silu : (tensor<1x4x?xf32>, tensor<4x3xf32>) -> tensor<1x4x?xf32>
  return %y : tensor<1x4x?xf32>
}
