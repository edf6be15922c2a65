// RUN: ssm-opt %s -ssm-matmul-to-blas -split-input-file | FileCheck %s

// A weight stored [out, in] (B transposed): trans_b = 1, sizes from C and
// A, leading dimensions from the strides, beta = 1 (accumulate, as
// linalg.matmul does). The declaration is added once.
// CHECK-LABEL: llvm.func @ssm_kernel_sgemm(i32, i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, f32, !llvm.ptr, i64)
// CHECK-LABEL: func.func @projection
// CHECK-DAG:     %[[M:.*]] = memref.dim %arg2, %c0
// CHECK-DAG:     %[[PA:.*]] = llvm.inttoptr %{{.*}} : i64 to !llvm.ptr
// CHECK-DAG:     %[[T:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-DAG:     %[[BETA:.*]] = llvm.mlir.constant(1.000000e+00 : f32) : f32
// CHECK:         llvm.call @ssm_kernel_sgemm(%[[T]], %{{.*}}, %{{.*}}, %{{.*}}, %[[PA]], %{{.*}}, %{{.*}}, %{{.*}}, %[[BETA]], %{{.*}}, %{{.*}})
// CHECK-NOT:     linalg.matmul
func.func @projection(%x: memref<?x64xf32>, %w: memref<128x64xf32>, %y: memref<?x128xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : memref<?x64xf32>, memref<128x64xf32>) outs(%y : memref<?x128xf32>)
  return
}

// -----

// The plain form (trans_b = 0), on a view with an offset: the address is
// the aligned pointer plus offset * 4 bytes, the leading dimension the
// view's row stride.
// CHECK-LABEL: func.func @plain_view
// CHECK:         %{{.*}}, %[[OFF:.*]], %{{.*}}:2, %[[STRIDES:.*]]:2 = memref.extract_strided_metadata %arg0
// CHECK:         %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK:         %[[BYTES:.*]] = arith.muli %[[OFF]], %c4
// CHECK:         arith.addi %[[BASE]], %[[BYTES]]
// CHECK:         %[[LDA:.*]] = arith.index_cast %[[STRIDES]]#0 : index to i64
// CHECK:         %[[T:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK:         llvm.call @ssm_kernel_sgemm(%[[T]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[LDA]],
func.func @plain_view(%a: memref<4x8xf32, strided<[16, 1], offset: 3>>, %b: memref<8x5xf32>, %c: memref<4x5xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32, strided<[16, 1], offset: 3>>, memref<8x5xf32>)
      outs(%c : memref<4x5xf32>)
  return
}

// -----

// Zeros filled into C just before the product: beta = 0 and no fill. A
// fill of another value, or one with a write to C in between, stays (and
// beta stays 1).
// CHECK-LABEL: func.func @zero_filled
// CHECK-NOT:     linalg.fill
// CHECK:         %[[BETA:.*]] = llvm.mlir.constant(0.000000e+00 : f32) : f32
// CHECK:         llvm.call @ssm_kernel_sgemm(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BETA]], %{{.*}}, %{{.*}})
func.func @zero_filled(%a: memref<4x8xf32>, %b: memref<8x5xf32>, %c: memref<4x5xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<4x5xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x5xf32>) outs(%c : memref<4x5xf32>)
  return
}

// CHECK-LABEL: func.func @kept_fills
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%arg2
// CHECK:         %[[B1:.*]] = llvm.mlir.constant(1.000000e+00 : f32) : f32
// CHECK:         llvm.call @ssm_kernel_sgemm(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[B1]],
// CHECK:         linalg.fill
// CHECK:         memref.store
// CHECK:         %[[B2:.*]] = llvm.mlir.constant(1.000000e+00 : f32) : f32
// CHECK:         llvm.call @ssm_kernel_sgemm(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[B2]],
func.func @kept_fills(%a: memref<4x8xf32>, %b: memref<8x5xf32>, %c: memref<4x5xf32>, %d: memref<4x5xf32>) {
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  %i = arith.constant 0 : index
  linalg.fill ins(%one : f32) outs(%c : memref<4x5xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x5xf32>) outs(%c : memref<4x5xf32>)
  linalg.fill ins(%zero : f32) outs(%d : memref<4x5xf32>)
  memref.store %one, %d[%i, %i] : memref<4x5xf32>
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x5xf32>) outs(%d : memref<4x5xf32>)
  return
}

// -----

// What BLAS cannot take stays: f64, a column stride, tensors.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT:     llvm.call
// CHECK-COUNT-3: linalg.matmul
// CHECK-NOT:     llvm.func @ssm_kernel_sgemm
func.func @left_alone(%a: memref<4x8xf64>, %b: memref<8x5xf64>, %c: memref<4x5xf64>,
                      %s: memref<4x8xf32, strided<[1, 4]>>, %t: memref<8x5xf32>, %u: memref<4x5xf32>,
                      %ta: tensor<4x8xf32>, %tb: tensor<8x5xf32>, %tc: tensor<4x5xf32>) -> tensor<4x5xf32> {
  linalg.matmul ins(%a, %b : memref<4x8xf64>, memref<8x5xf64>) outs(%c : memref<4x5xf64>)
  linalg.matmul ins(%s, %t : memref<4x8xf32, strided<[1, 4]>>, memref<8x5xf32>) outs(%u : memref<4x5xf32>)
  %r = linalg.matmul ins(%ta, %tb : tensor<4x8xf32>, tensor<8x5xf32>) outs(%tc : tensor<4x5xf32>) -> tensor<4x5xf32>
  return %r : tensor<4x5xf32>
}
