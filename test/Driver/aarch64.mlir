// The CPU target is a flag: the same file compiles for AArch64 (SVE vectors
// on Neoverse V1, exp inline like every other operation, the runtime's
// pool, no x86 vector-math library).
// RUN: ssmc %S/../../examples/mamba1_scan.mlir --mtriple=aarch64-linux-gnu --mcpu=neoverse-v1 --emit=asm -o - | FileCheck %s
// RUN: ssmc %S/../../examples/mamba1_scan.mlir --mtriple=aarch64-linux-gnu --mcpu=neoverse-v1 -o %t.o && llvm-readelf -h %t.o | FileCheck %s --check-prefix=OBJ

// CHECK-DAG: _mlir_ciface_scan:
// CHECK-DAG: bl ssm_parallel_for
// CHECK-DAG: fmla z{{[0-9]+}}.s
// CHECK-NOT: _ZGV
// OBJ: Machine: AArch64
