// Well-formed lists and attributes: "permutation = [1, 0]" in a comment,
// a string "dimensions = 2", a dictionary entry, values named like the
// keywords, comments inside a list and the generic form all parse.
func.func @f(%x: tensor<2x5xf32>, %e: tensor<5x2xf32>) -> tensor<5x2xf32> attributes {note = "dimensions = 2", dimensions = 2} {
  %u = linalg.transpose ins(%x : tensor<2x5xf32>) outs(%e : tensor<5x2xf32>) permutation = [1, 0]
  %dimensions = tensor.empty() : tensor<5x2xf32>
  %permutation = linalg.transpose ins(%x : tensor<2x5xf32>) outs(%dimensions : tensor<5x2xf32>)
      permutation = [ // rows last
        1, 0 ]
  %v = "linalg.transpose"(%u, %x) <{permutation = array<i64: 1, 0>}> ({
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  }) : (tensor<5x2xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  return %u : tensor<5x2xf32>
}
