// RUN: ssmc %s --caller-outputs -o %t.o --header %t.h
// RUN: FileCheck %s --check-prefix=HEADER < %t.h
// RUN: %cc -include %t.h %S/Inputs/call-static-shapes.c %t.o -L%ssm_obj_root/lib -lssm_runtime -Wl,-rpath,%ssm_obj_root/lib -o %t.exe
// RUN: %t.exe | FileCheck %s --check-prefix=OK
// RUN: not --crash %t.exe short-input 2>&1 | FileCheck %s --check-prefix=INPUT
// RUN: not --crash %t.exe long-output 2>&1 | FileCheck %s --check-prefix=OUTPUT

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
