// RUN: ssm-opt %s -ssm-parallel-to-runtime -split-input-file | FileCheck %s

// A marked loop becomes a call to the runtime with its captures (the memref
// and the scalar; the constant is cloned into the body) stored in a frame
// allocated in the entry block; the body function reads them back and runs
// the iterations [lo, hi).
// CHECK-LABEL: func.func @scale
// CHECK-SAME: (%[[OUT:.*]]: memref<?xf32>, %[[V:.*]]: f32, %[[N:.*]]: index)
// CHECK: %[[FRAME:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(f32, struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>)>
// CHECK: scf.for
// CHECK: %[[P0:.*]] = llvm.getelementptr %[[FRAME]][0, 0]
// CHECK: llvm.store %[[V]], %[[P0]] : f32, !llvm.ptr
// CHECK: %[[D:.*]] = builtin.unrealized_conversion_cast %[[OUT]] : memref<?xf32> to !llvm.struct
// CHECK: %[[P1:.*]] = llvm.getelementptr %[[FRAME]][0, 1]
// CHECK: llvm.store %[[D]], %[[P1]]
// CHECK-DAG: %[[LB:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK-DAG: %[[UB:.*]] = arith.index_cast %[[N]] : index to i64
// CHECK-DAG: %[[BODY:.*]] = func.constant @scale_parallel : (!llvm.ptr, i64, i64) -> ()
// CHECK-DAG: %[[GRAIN:.*]] = arith.constant 1 : i64
// CHECK: func.call @ssm_parallel_for(%[[LB]], %[[UB]], %[[GRAIN]], %[[BODY]], %[[FRAME]])
// CHECK-NOT: ssm.parallel
// CHECK: return
// CHECK: func.func private @scale_parallel(%[[CTX:[^:]*]]: !llvm.ptr, %[[LO:[^:]*]]: i64, %[[HI:[^:]*]]: i64)
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>}
// CHECK: arith.constant 2.0
// CHECK: %[[Q0:.*]] = llvm.getelementptr %[[CTX]][0, 0]
// CHECK: %[[S:.*]] = llvm.load %[[Q0]] : !llvm.ptr -> f32
// CHECK: %[[Q1:.*]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK: %[[L1:.*]] = llvm.load %[[Q1]]
// CHECK: %[[M:.*]] = builtin.unrealized_conversion_cast %[[L1]] : !llvm.struct<{{.*}}> to memref<?xf32>
// CHECK: %[[FROM:.*]] = arith.index_cast %[[LO]] : i64 to index
// CHECK: %[[TO:.*]] = arith.index_cast %[[HI]] : i64 to index
// CHECK: scf.for %[[I:.*]] = %[[FROM]] to %[[TO]]
// CHECK: arith.mulf %[[S]]
// CHECK: memref.store %{{.*}}, %[[M]][%[[I]]]
// CHECK: func.func private @ssm_parallel_for(i64, i64, i64, (!llvm.ptr, i64, i64) -> (), !llvm.ptr) -> i32
func.func @scale(%out: memref<?xf32>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %two = arith.constant 2.0 : f32
  scf.for %t = %c0 to %c1 step %c1 {
    scf.for %i = %c0 to %n step %c1 {
      %x = arith.mulf %v, %two : f32
      memref.store %x, %out[%i] : memref<?xf32>
    } {ssm.parallel}
  }
  return
}

// -----

// Only the outermost marked loop runs on the pool; the nested one runs
// inside a work item and loses its mark.
// CHECK-LABEL: func.func @nested
// CHECK: call @ssm_parallel_for
// CHECK-NOT: call @ssm_parallel_for
// CHECK: func.func private @nested_parallel
// CHECK: scf.for
// CHECK: scf.for
// CHECK-NOT: ssm.parallel
func.func @nested(%out: memref<?x?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %n step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      memref.store %zero, %out[%i, %j] : memref<?x?xf32>
    } {ssm.parallel}
  } {ssm.parallel}
  return
}

// -----

// A loop with results, or a step other than 1, stays serial.
// CHECK-LABEL: func.func @serial
// CHECK-NOT: ssm_parallel_for
// CHECK: scf.for
// CHECK: scf.for
// CHECK-NOT: ssm.parallel
// CHECK: return
func.func @serial(%out: memref<?xf32>, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %s = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> f32 {
    %x = memref.load %out[%i] : memref<?xf32>
    %y = arith.addf %acc, %x : f32
    scf.yield %y : f32
  } {ssm.parallel}
  scf.for %i = %c0 to %n step %c2 {
    memref.store %zero, %out[%i] : memref<?xf32>
  } {ssm.parallel}
  return %s : f32
}
