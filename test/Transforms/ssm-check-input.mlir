// RUN: ssm-opt %s -split-input-file -verify-diagnostics -ssm-check-input | FileCheck %s

// Ordinary names and in-range dims pass unchanged.
// CHECK-LABEL: func.func @conv_kernel
// CHECK: tensor.dim %{{.*}}, %{{.*}} : tensor<?x16x?xf32>
func.func @conv_kernel(%x: tensor<?x16x?xf32>) -> index {
  %c2 = arith.constant 2 : index
  %d = tensor.dim %x, %c2 : tensor<?x16x?xf32>
  return %d : index
}

// -----

// expected-error @+1 {{function name 'expf' is reserved: it is the C library's (generated code calls it); rename the function}}
func.func @expf(%x: f32) -> f32 {
  return %x : f32
}

// -----

// expected-error @+1 {{function name 'log1pl' is reserved}}
func.func private @log1pl(f64) -> f64

// -----

// expected-error @+1 {{function name 'memcpy' is reserved}}
func.func @memcpy() {
  return
}

// -----

// expected-error @+1 {{function name 'ssm_parallel_for' is reserved: names starting with 'ssm_' belong to the runtime and the code generator}}
func.func @ssm_parallel_for() {
  return
}

// -----

// expected-error @+1 {{function name '_mlir_ciface_step' is reserved: names starting with '_mlir_'}}
func.func @_mlir_ciface_step() {
  return
}

// -----

func.func @negative(%x: tensor<?x16x?xf32>) -> index {
  %c = arith.constant -1 : index
  // expected-error @+1 {{'tensor.dim' op index -1 is outside the 3 dimensions of its operand}}
  %d = tensor.dim %x, %c : tensor<?x16x?xf32>
  return %d : index
}

// -----

func.func @past_rank(%x: memref<?x4xf32>) -> index {
  %c = arith.constant 2 : index
  // expected-error @+1 {{'memref.dim' op index 2 is outside the 2 dimensions of its operand}}
  %d = memref.dim %x, %c : memref<?x4xf32>
  return %d : index
}
