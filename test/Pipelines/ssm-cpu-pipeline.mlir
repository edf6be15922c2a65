// RUN: ssm-opt %ssm_src_root/examples/mamba2_block.mlir --ssm-cpu-bufferize | FileCheck %s --check-prefix=BUF
// RUN: ssm-opt %ssm_src_root/examples/mamba2_block.mlir --ssm-cpu-bufferize --ssm-cpu-to-llvm | FileCheck %s --check-prefix=LLVM
// RUN: ssm-opt %ssm_src_root/examples/mamba2_block.mlir --ssm-cpu-bufferize --ssm-cpu-to-llvm | FileCheck %s --check-prefix=INLINE

// The shipped Mamba-2 block bufferizes: no tensors or ssm ops remain and
// functions take and return identity-layout memrefs.
// BUF-NOT: ssm.
// BUF-LABEL: func.func @prefill(
// BUF-SAME: memref<?x1792x?xf32>{{[^)]*}}) -> (memref<?x1792x?xf32>, memref<?x1792x3xf32>, memref<?x?x24x64xf32>, memref<?x24x64x128xf32>) {
// BUF-NOT: tensor<
// The decode step updates the state argument in place and returns nothing:
// no allocation, no clone of the state for the caller; each (row, head) is
// a work item writing its view of the state.
// BUF-LABEL: func.func @decode(
// BUF-SAME: %arg8: memref<?x24x64x128xf32> {ssm.in_place}, %arg9: memref<?x24x64xf32> {ssm.in_place}) {
// BUF-NOT: memref.alloc
// BUF-NOT: bufferization.clone
// BUF: scf.forall (%[[ROW:.*]], %[[HEAD:.*]]) in
// BUF: %[[STATE:.*]] = memref.subview %arg8[%[[ROW]], %[[HEAD]], 0, 0] [1, 1, 64, 128]
// BUF: memref.store %{{.*}}, %[[STATE]][
// BUF: return{{$}}

// And lowers all the way to the LLVM dialect, calling only libc (aligned_alloc for
// the results) and libm; exp and log1p are inline arithmetic (ssm-inline-math),
// with LLVM's fma and floor intrinsics.
// LLVM-NOT: ssm.
// LLVM-NOT: scf.
// LLVM-NOT: memref.
// LLVM-NOT: cf.
// LLVM-DAG: llvm.func @aligned_alloc(i64, i64) -> !llvm.ptr

// INLINE-NOT: @expf
// INLINE-NOT: @log1pf
// LLVM-DAG: llvm.intr.fma
// LLVM-DAG: llvm.func @_mlir_ciface_prefill(
// LLVM-DAG: llvm.func @_mlir_ciface_decode(
