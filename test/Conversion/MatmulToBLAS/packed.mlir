// RUN: ssm-opt %s -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -ssm-matmul-to-blas -split-input-file | FileCheck %s
// RUN: ssm-opt %s -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -split-input-file | FileCheck %s --check-prefix=BUF

// Bufferized, the packed ops keep their operands' buffers (the product
// accumulates into its destination's, in place); lowered, they are calls
// of the runtime's kernels with the format's ABI value (q8_0 = 3, bf16 = 1),
// the sizes of the packed matrix and the packed bytes' address.
// BUF-LABEL: func.func @projection
// BUF:         ssm.packed_matmul q8_0 ins(%arg0, %{{.*}} : memref<?x64xf32{{.*}}>, memref<544xf32{{.*}}>) outs(%arg2 : memref<?x32xf32{{.*}}>)
// BUF-NOT:     memref.alloc
// BUF-NOT:     memref.copy
// CHECK-LABEL: llvm.func @ssm_kernel_packed_matmul(i32, i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, f32, !llvm.ptr, i64)
// CHECK-LABEL: func.func @projection
// CHECK-DAG:     %[[Q8:.*]] = llvm.mlir.constant(3 : i32) : i32
// CHECK-DAG:     %[[N:.*]] = llvm.mlir.constant(32 : i64) : i64
// CHECK-DAG:     %[[K:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK-DAG:     %[[BETA:.*]] = llvm.mlir.constant(1.000000e+00 : f32) : f32
// CHECK:         llvm.call @ssm_kernel_packed_matmul(%[[Q8]], %{{.*}}, %[[N]], %[[K]], %{{.*}}, %{{.*}}, %{{.*}}, %[[BETA]], %{{.*}}, %{{.*}})
// CHECK-NOT:     ssm.packed_matmul
func.func @projection(%x: tensor<?x64xf32>, %weights: tensor<4096xf32>,
                      %y: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %w = tensor.extract_slice %weights[1024] [544] [1]
      : tensor<4096xf32> to tensor<544xf32>
  %0 = ssm.packed_matmul q8_0 ins(%x, %w : tensor<?x64xf32>, tensor<544xf32>)
      outs(%y : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

// The slice's offset reaches the address in bytes: 1024 words of 4 bytes.
// CHECK-LABEL: llvm.func @ssm_kernel_packed_gather(i32, i64, i64, !llvm.ptr, !llvm.ptr, i64, !llvm.ptr, i64)
// CHECK-LABEL: func.func @lookup
// CHECK-DAG:     %[[BF16:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-DAG:     %[[ROWS:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK:         %{{.*}}, %[[OFF:.*]], %{{.*}}, %{{.*}} = memref.extract_strided_metadata %{{.*}} : memref<2048xf32, strided<[1], offset: 1024>>
// CHECK:         arith.muli %[[OFF]], %c4
// CHECK:         llvm.call @ssm_kernel_packed_gather(%[[BF16]], %[[ROWS]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
func.func @lookup(%weights: tensor<4096xf32>, %ids: tensor<?xi64>,
                  %out: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %w = tensor.extract_slice %weights[1024] [2048] [1]
      : tensor<4096xf32> to tensor<2048xf32>
  %0 = ssm.packed_gather bf16 rows 64 ins(%w, %ids : tensor<2048xf32>, tensor<?xi64>)
      outs(%out : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

// Zeros filled into the destination just before a packed product: beta = 0
// and no fill, as for ssm_kernel_sgemm (matmul-to-blas.mlir); a fill of
// another value stays, with beta = 1.
// CHECK-LABEL: func.func @zero_filled
// CHECK-NOT:     linalg.fill
// CHECK:         %[[ZERO:.*]] = llvm.mlir.constant(0.000000e+00 : f32) : f32
// CHECK:         llvm.call @ssm_kernel_packed_matmul(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ZERO]], %{{.*}}, %{{.*}})
// CHECK-LABEL: func.func @filled_with_ones
// CHECK:         linalg.fill
// CHECK:         %[[ONE:.*]] = llvm.mlir.constant(1.000000e+00 : f32) : f32
// CHECK:         llvm.call @ssm_kernel_packed_matmul(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ONE]], %{{.*}}, %{{.*}})
func.func @zero_filled(%x: memref<?x64xf32>, %w: memref<544xf32>,
                       %y: memref<?x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<?x32xf32>)
  ssm.packed_matmul q8_0 ins(%x, %w : memref<?x64xf32>, memref<544xf32>)
      outs(%y : memref<?x32xf32>)
  return
}

func.func @filled_with_ones(%x: memref<?x64xf32>, %w: memref<544xf32>,
                            %y: memref<?x32xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%y : memref<?x32xf32>)
  ssm.packed_matmul q8_0 ins(%x, %w : memref<?x64xf32>, memref<544xf32>)
      outs(%y : memref<?x32xf32>)
  return
}
