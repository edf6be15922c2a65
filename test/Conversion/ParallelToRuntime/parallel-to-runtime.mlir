// RUN: ssm-opt %s -ssm-parallel-to-runtime -split-input-file | FileCheck %s

// An scf.forall becomes a call to the runtime with its captures (the memref
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
// CHECK-DAG: %[[UB:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK-DAG: %[[BODY:.*]] = func.constant @scale_parallel : (!llvm.ptr, i64, i64) -> ()
// CHECK-DAG: %[[GRAIN:.*]] = arith.constant 1 : i64
// CHECK: func.call @ssm_parallel_for(%[[LB]], %[[UB]], %[[GRAIN]], %[[BODY]], %[[FRAME]])
// CHECK-NOT: scf.forall
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
    scf.forall (%i) in (%n) {
      %x = arith.mulf %v, %two : f32
      memref.store %x, %out[%i] : memref<?xf32>
    }
  }
  return
}

// -----

// Iterations are numbered in row-major order of the induction variables:
// the pool runs count = ceil((ub - lb) / step) per dimension, multiplied,
// and the body recovers i = lb + (k / count_j) * step, j = k mod count_j
// (here lb = 1, ub = m, step 2 for i and 0 to 5 for j).
// CHECK-LABEL: func.func @rows
// CHECK-SAME: %[[M:[^:]*]]: index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %[[SPAN:.*]] = arith.subi %[[M]], %[[C1]] : index
// CHECK: %[[CI:.*]] = arith.ceildivsi %[[SPAN]], %[[C2]] : index
// CHECK: %[[COUNTI:.*]] = arith.maxsi %[[CI]], %{{.*}} : index
// CHECK: %[[TOTAL:.*]] = arith.muli %[[COUNTI]], %{{.*}} : index
// CHECK: %[[UB:.*]] = arith.index_cast %[[TOTAL]] : index to i64
// CHECK: call @ssm_parallel_for(%{{.*}}, %[[UB]],
// CHECK: func.func private @rows_parallel
// CHECK-DAG: %[[B5:.*]] = arith.constant 5 : index
// CHECK-DAG: %[[B2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[B1:.*]] = arith.constant 1 : index
// CHECK: scf.for %[[K:[^ ]*]] =
// CHECK: %[[J:.*]] = arith.remui %[[K]], %[[B5]] : index
// CHECK: %[[KI:.*]] = arith.divui %[[K]], %[[B5]] : index
// CHECK: %[[IS:.*]] = arith.muli %[[KI]], %[[B2]] : index
// CHECK: %[[IV:.*]] = arith.addi %[[IS]], %[[B1]] : index
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[IV]], %[[J]]]
func.func @rows(%out: memref<?x5xf32>, %m: index) {
  %zero = arith.constant 0.0 : f32
  scf.forall (%i, %j) = (1, 0) to (%m, 5) step (2, 1) {
    memref.store %zero, %out[%i, %j] : memref<?x5xf32>
  }
  return
}

// -----

// Only the outermost loop runs on the pool; the nested one runs inside a
// work item.
// CHECK-LABEL: func.func @nested
// CHECK: call @ssm_parallel_for
// CHECK-NOT: call @ssm_parallel_for
// CHECK: func.func private @nested_parallel
// CHECK: scf.for
// CHECK: scf.forall
func.func @nested(%out: memref<?x?xf32>, %n: index) {
  %zero = arith.constant 0.0 : f32
  scf.forall (%i) in (%n) {
    scf.forall (%j) in (%n) {
      memref.store %zero, %out[%i, %j] : memref<?x?xf32>
    }
  }
  return
}

// -----

// A loop on tensors (not bufferized) stays as it is.
// CHECK-LABEL: func.func @tensors
// CHECK-NOT: ssm_parallel_for
// CHECK: scf.forall
func.func @tensors(%t: tensor<?xf32>, %n: index) -> tensor<?xf32> {
  %zero = arith.constant 0.0 : f32
  %r = scf.forall (%i) in (%n) shared_outs(%o = %t) -> tensor<?xf32> {
    %one = tensor.from_elements %zero : tensor<1xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %one into %o[%i] [1] [1] : tensor<1xf32> into tensor<?xf32>
    }
  }
  return %r : tensor<?xf32>
}
