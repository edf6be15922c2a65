// RUN: ssmc %s --caller-outputs -o %t.o --header %t.h
// RUN: %cc -include %t.h %S/Inputs/call-inline-math.c %t.o -L%ssm_obj_root/lib -lssm_runtime -Wl,-rpath,%ssm_obj_root/lib -lm -o %t.exe
// RUN: %t.exe | FileCheck %s
// RUN: ssmc %s --emit=llvm -o - | FileCheck %s --check-prefix=IR
// RUN: ssmc %s --mcpu=sapphirerapids --emit=asm -o - | FileCheck %s --check-prefix=AVX512
// RUN: ssmc %s --mcpu=x86-64-v3 --emit=asm -o - | FileCheck %s --check-prefix=AVX2

// The f32 exp, expm1 and log1p that ssm-inline-math writes as arithmetic,
// against double-precision libm over their whole useful range (the C
// driver's sweep), within 4 units in the last place, and at the special
// values (a result below the normal range may be flushed to zero). No
// call of expf, expm1f or log1pf is left in the code.
// With AVX-512, exp scales by 2^k with vscalefps (ssm-inline-math's
// scale-exponent); elsewhere with integer operations, never a libm call.
// AVX512: vscalefps
// AVX512-NOT: call{{.*}}{{ldexpf|roundevenf|expf}}
// AVX2-NOT: vscalef
// AVX2-NOT: call{{.*}}{{ldexpf|roundevenf|expf}}
// CHECK: exp: within 4 ulp
// CHECK: expm1: within 4 ulp
// CHECK: log1p: within 4 ulp
// CHECK: special values: as libm
// IR-NOT: call {{.*}}@expf
// IR-NOT: call {{.*}}@expm1f
// IR-NOT: call {{.*}}@log1pf

#map = affine_map<(d0) -> (d0)>
func.func @transcendentals(%x: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %r:3 = linalg.generic {indexing_maps = [#map, #map, #map, #map],
                         iterator_types = ["parallel"]}
      ins(%x : tensor<?xf32>) outs(%e, %e, %e : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  ^bb0(%v: f32, %o0: f32, %o1: f32, %o2: f32):
    %exp = math.exp %v : f32
    %expm1 = math.expm1 %v : f32
    %log1p = math.log1p %v : f32
    linalg.yield %exp, %expm1, %log1p : f32, f32, f32
  } -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>)
  return %r#0, %r#1, %r#2 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
}
