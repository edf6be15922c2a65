// A body whose arguments disagree with its signature: ssmc records source
// names before verification, and must leave this one to the verifier.
"func.func"() ({
^bb0(%a: f32, %b: f32):
  "func.return"(%a, %b) : (f32, f32) -> ()
}) {function_type = (f32) -> (f32), sym_name = "f"} : () -> ()
