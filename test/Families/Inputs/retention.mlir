// Retention (RetNet-style): h_t = γ_h·h_{t-1} + v_t ⊗ k_t, y_t = q_t·h_t,
// written directly as the core op: H = 4 heads in G = 2 groups of keys and
// queries, P = 8 value rows, N = 16 key entries, any batch and length.
// @retention takes γ; @retention_chunked takes log γ and asks for the
// chunked form in chunks of 8 steps.
func.func @retention(%v: tensor<?x?x4x8xf32>, %k: tensor<?x?x2x16xf32>,
                     %q: tensor<?x?x2x16xf32>, %gamma: tensor<4xf32>) -> tensor<?x?x4x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %v, %c0 : tensor<?x?x4x8xf32>
  %l = tensor.dim %v, %c1 : tensor<?x?x4x8xf32>
  %y0 = tensor.empty(%b, %l) : tensor<?x?x4x8xf32>
  %y = ssm.recurrence scalar forward
      ins(%v [b, t, (g, r), p], %k [b, t, g, n], %q [b, t, g, n], %gamma [(g, r)]
          : tensor<?x?x4x8xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>, tensor<4xf32>)
      outs(%y0 [b, t, (g, r), p] : tensor<?x?x4x8xf32>) {
  ^bb0(%ve: f32, %ke: f32, %qe: f32, %ge: f32):
    %zero = arith.constant 0.0 : f32
    ssm.yield %ge, %ve, %ke, %qe, %zero : f32, f32, f32, f32, f32
  }
  return %y : tensor<?x?x4x8xf32>
}

func.func @retention_chunked(%v: tensor<?x?x4x8xf32>, %k: tensor<?x?x2x16xf32>,
                             %q: tensor<?x?x2x16xf32>, %loggamma: tensor<4xf32>)
    -> tensor<?x?x4x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %v, %c0 : tensor<?x?x4x8xf32>
  %l = tensor.dim %v, %c1 : tensor<?x?x4x8xf32>
  %y0 = tensor.empty(%b, %l) : tensor<?x?x4x8xf32>
  %y = ssm.recurrence scalar forward log_decay form chunked chunk_size 8
      ins(%v [b, t, (g, r), p], %k [b, t, g, n], %q [b, t, g, n], %loggamma [(g, r)]
          : tensor<?x?x4x8xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>, tensor<4xf32>)
      outs(%y0 [b, t, (g, r), p] : tensor<?x?x4x8xf32>) {
  ^bb0(%ve: f32, %ke: f32, %qe: f32, %ge: f32):
    %zero = arith.constant 0.0 : f32
    ssm.yield %ge, %ve, %ke, %qe, %zero : f32, f32, f32, f32, f32
  }
  return %y : tensor<?x?x4x8xf32>
}
