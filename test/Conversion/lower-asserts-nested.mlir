// RUN: ssm-opt %s -ssm-lower-asserts -verify-diagnostics

// The pass runs on control flow: a check still inside a structured loop is
// refused, not lowered where an early return could not leave the function.
func.func @nested(%ok: i1, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    // expected-error @+1 {{is not in its function's control flow: ssm-lower-asserts runs after convert-scf-to-cf}}
    cf.assert %ok, "a check"
  }
  return
}
