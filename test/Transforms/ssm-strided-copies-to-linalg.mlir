// RUN: ssm-opt %s -pass-pipeline='builtin.module(func.func(ssm-strided-copies-to-linalg))' | FileCheck %s

// A copy into a strided view (a layer's slice of a cache) becomes
// linalg.copy; a copy between dense buffers stays a memref.copy (memcpy).
// CHECK-LABEL: func.func @copies
// CHECK:         linalg.copy ins(%arg0 : memref<?x256x3xf32>) outs(%arg1 : memref<?x256x3xf32, strided<[1536, 3, 1], offset: 768>>)
// CHECK:         memref.copy %arg0, %arg2 : memref<?x256x3xf32> to memref<?x256x3xf32>
// CHECK-NOT:     memref.copy
func.func @copies(%a: memref<?x256x3xf32>,
                  %s: memref<?x256x3xf32, strided<[1536, 3, 1], offset: 768>>,
                  %d: memref<?x256x3xf32>) {
  memref.copy %a, %s : memref<?x256x3xf32> to memref<?x256x3xf32, strided<[1536, 3, 1], offset: 768>>
  memref.copy %a, %d : memref<?x256x3xf32> to memref<?x256x3xf32>
  return
}
