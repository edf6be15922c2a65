// RUN: ssmc %s --emit=llvm --mtriple=x86_64-unknown-linux-gnu --mcpu=x86-64-v3 -o - | FileCheck %s --check-prefix=VEC
// RUN: ssmc %s --emit=llvm --mtriple=x86_64-unknown-linux-gnu --mcpu=x86-64-v3 --vector-math=false -o - | FileCheck %s --check-prefix=SCALAR
// RUN: ssmc %S/../../examples/mamba1_scan.mlir --emit=llvm --mtriple=x86_64-unknown-linux-gnu --mcpu=x86-64-v3 --inline-math=false -o - | FileCheck %s --check-prefix=LIBM

// f32 exp is inline arithmetic (ssm-inline-math); an f64 computation keeps
// libm's exp. The state loop of an f64 selective scan calls it per
// element: with libmvec LLVM vectorizes it into calls of glibc's 4-wide
// AVX2 exp; without, the loop stays scalar around exp.
// VEC: call <4 x double> @_ZGVdN4v_exp(
// SCALAR-NOT: _ZGV
// SCALAR: call double @exp(

// With --inline-math=false f32 exp is libm's too, vectorized the same way.
// LIBM: call <8 x float> @_ZGVdN8v_expf(

func.func @selective(%u: tensor<1x64x32xf64>, %A: tensor<64x128xf64>,
                     %B: tensor<1x1x128x32xf64>) -> tensor<1x64x32xf64> {
  %y = ssm.selective_scan %u, %u, %A, %B, %B delta_softplus
      : (tensor<1x64x32xf64>, tensor<1x64x32xf64>, tensor<64x128xf64>,
         tensor<1x1x128x32xf64>, tensor<1x1x128x32xf64>) -> tensor<1x64x32xf64>
  return %y : tensor<1x64x32xf64>
}
