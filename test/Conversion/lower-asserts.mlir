// RUN: ssm-opt %s -ssm-lower-asserts | FileCheck %s --check-prefix=ABORT
// RUN: ssm-opt %s -ssm-lower-asserts=on-failure=status | FileCheck %s --check-prefix=STATUS
// RUN: ssm-opt %s -ssm-lower-asserts=on-failure=none | FileCheck %s --check-prefix=NONE
// RUN: ssm-opt %s "-ssm-lower-asserts=on-failure=status device-results=true" | FileCheck %s --check-prefix=DEVICE

// A failed check writes its message to stderr and aborts (default); returns
// from an entry point with the message recorded by the runtime (status;
// buffer results come back new and empty, a function with other results
// aborts still); or is removed.
// ABORT-LABEL: func.func @entry(
// ABORT:   cf.cond_br %{{.*}}, ^[[OK:bb[0-9]+]], ^[[FAIL:bb[0-9]+]]
// ABORT: ^[[FAIL]]:
// ABORT:   llvm.call @write(
// ABORT:   llvm.call @abort()
// ABORT:   llvm.unreachable
// ABORT: ^[[OK]]:
// ABORT:   memref.store

// STATUS-LABEL: func.func @entry(
// STATUS-NEXT:   llvm.call @ssm_clear_error()
// STATUS:   cf.cond_br %{{.*}}, ^[[OK:bb[0-9]+]], ^[[FAIL:bb[0-9]+]]
// STATUS: ^[[FAIL]]:
// STATUS:   llvm.mlir.addressof @ssm_check_0
// STATUS:   llvm.mlir.addressof @ssm_check_format
// STATUS:   llvm.call @ssm_set_error({{.*}}) vararg
// STATUS:   return
// STATUS: ^[[OK]]:
// STATUS:   memref.store
// STATUS-LABEL: func.func @with_buffers(
// STATUS-NEXT:   llvm.call @ssm_clear_error()
// STATUS:   llvm.call @ssm_set_error({{.*}}) vararg
// STATUS-DAG:   %[[ZERO:.*]] = arith.constant 0 : index
// STATUS-DAG:   %[[DYN:.*]] = memref.alloc(%[[ZERO]]) : memref<?x4xf32>
// STATUS-DAG:   %[[FIXED:.*]] = memref.alloc() : memref<2xi64>
// STATUS:   return %[[DYN]], %[[FIXED]] : memref<?x4xf32>, memref<2xi64>
// GPU host code returns its empty results from the device, allocated on a
// stream of their own.
// DEVICE-LABEL: func.func @with_buffers(
// DEVICE:   llvm.call @ssm_set_error({{.*}}) vararg
// DEVICE:   %[[S:.*]] = gpu.wait async
// DEVICE:   %{{.*}}, %[[T1:.*]] = gpu.alloc async [%[[S]]] (%{{.*}}) : memref<?x4xf32>
// DEVICE:   %{{.*}}, %[[T2:.*]] = gpu.alloc async [%[[T1]]] () : memref<2xi64>
// DEVICE:   gpu.wait [%[[T2]]]
// DEVICE:   return
// STATUS-LABEL: func.func @with_result(
// STATUS-NOT: ssm_clear_error
// STATUS:   llvm.call @abort()

// NONE-NOT: cf.assert
// NONE-NOT: llvm.call
func.func @entry(%ok: i1, %m: memref<4xf32>) {
  cf.assert %ok, "f.mlir:1:1: @entry: argument 'm' dimension 0 is not 4"
  %c0 = arith.constant 0 : index
  %v = arith.constant 1.0 : f32
  memref.store %v, %m[%c0] : memref<4xf32>
  return
}
func.func @with_buffers(%ok: i1, %a: memref<?x4xf32>, %b: memref<2xi64>)
    -> (memref<?x4xf32>, memref<2xi64>) {
  cf.assert %ok, "f.mlir:2:1: @with_buffers: a check"
  return %a, %b : memref<?x4xf32>, memref<2xi64>
}
func.func @with_result(%ok: i1) -> i1 {
  cf.assert %ok, "f.mlir:2:1: @with_result: a check"
  return %ok : i1
}
