// RUN: ssmc %s --emit=llvm --mtriple=x86_64-unknown-linux-gnu --mcpu=x86-64-v3 -o - | FileCheck %s --check-prefix=VEC
// RUN: ssmc %s --emit=llvm --mtriple=x86_64-unknown-linux-gnu --mcpu=x86-64-v3 --vector-math=false -o - | FileCheck %s --check-prefix=SCALAR

// The state loop of the selective scan calls exp per element: with libmvec
// LLVM vectorizes it into calls of glibc's 8-wide AVX2 expf; without, the
// loop stays scalar around expf.
// VEC: call <8 x float> @_ZGVdN8v_expf(
// SCALAR-NOT: _ZGV
// SCALAR: call float @expf(

func.func @selective(%u: tensor<1x64x32xf32>, %A: tensor<64x128xf32>,
                     %B: tensor<1x1x128x32xf32>) -> tensor<1x64x32xf32> {
  %y = ssm.selective_scan %u, %u, %A, %B, %B delta_softplus
      : (tensor<1x64x32xf32>, tensor<1x64x32xf32>, tensor<64x128xf32>,
         tensor<1x1x128x32xf32>, tensor<1x1x128x32xf32>) -> tensor<1x64x32xf32>
  return %y : tensor<1x64x32xf32>
}
