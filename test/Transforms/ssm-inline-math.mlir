// RUN: ssm-opt %s -pass-pipeline='builtin.module(func.func(ssm-inline-math))' | FileCheck %s

// f32 exp, expm1 and log1p become arithmetic (with LLVM's fma and floor
// intrinsics, not calls); f64 and the functions the pass does not inline
// (tanh) are left for libm.
// CHECK-LABEL: func.func @inlined
// CHECK-NOT:     math.exp
// CHECK-NOT:     math.log1p
// CHECK-NOT:     math.log
// CHECK-NOT:     math.fma
// CHECK-NOT:     math.floor
// CHECK:         llvm.intr.fma
// CHECK:         return
func.func @inlined(%x: f32, %v: vector<16xf32>) -> (f32, f32, f32, vector<16xf32>) {
  %e = math.exp %x : f32
  %m = math.expm1 %x : f32
  %l = math.log1p %x : f32
  %ev = math.exp %v : vector<16xf32>
  return %e, %m, %l, %ev : f32, f32, f32, vector<16xf32>
}

// CHECK-LABEL: func.func @kept
// CHECK:         math.exp %{{.*}} : f64
// CHECK:         math.log1p %{{.*}} : f64
// CHECK:         math.tanh %{{.*}} : f32
func.func @kept(%x: f64, %y: f32) -> (f64, f64, f32) {
  %e = math.exp %x : f64
  %l = math.log1p %x : f64
  %t = math.tanh %y : f32
  return %e, %l, %t : f64, f64, f32
}
