// A trapezoidal rule (Mamba-3's) written as ssm.recurrence: two input
// terms, x and B also read at the previous step. Mamba-2's 130M shapes
// (24 heads of 64 rows, N = 128, one group), bf16 storage; the scalar
// transition takes the lanes-over-states kernel. The diagonal one (16
// states per channel, forward, no segments) takes lanes over time.
func.func @trapezoid_bf16(%x: tensor<?x?x24x64xbf16>, %B: tensor<?x?x1x128xbf16>,
                          %C: tensor<?x?x1x128xbf16>, %dt: tensor<?x?x24xbf16>,
                          %A: tensor<24xf32>, %lam: tensor<?x?x24xbf16>, %D: tensor<24xf32>,
                          %h0: tensor<?x24x64x128xf32>)
    -> (tensor<?x?x24x64xbf16>, tensor<?x24x64x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %x, %c0 : tensor<?x?x24x64xbf16>
  %length = tensor.dim %x, %c1 : tensor<?x?x24x64xbf16>
  %y0 = tensor.empty(%batch, %length) : tensor<?x?x24x64xbf16>
  %y, %h = ssm.recurrence scalar forward terms 2
      ins(%x [b, t, (g, r), p], %x [b, t, (g, r), p] previous, %B [b, t, g, n],
          %B [b, t, g, n] previous, %C [b, t, g, n], %dt [b, t, (g, r)], %A [(g, r)],
          %lam [b, t, (g, r)], %D [(g, r)]
          : tensor<?x?x24x64xbf16>, tensor<?x?x24x64xbf16>, tensor<?x?x1x128xbf16>,
            tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x24xbf16>,
            tensor<24xf32>, tensor<?x?x24xbf16>, tensor<24xf32>)
      outs(%y0 [b, t, (g, r), p], %h0 [b, (g, r), p, n]
          : tensor<?x?x24x64xbf16>, tensor<?x24x64x128xf32>) {
  ^bb0(%xe: f32, %xp: f32, %be: f32, %bp: f32, %ce: f32, %dte: f32, %ae: f32,
       %le: f32, %de: f32):
    %da = arith.mulf %dte, %ae : f32
    %alpha = math.exp %da : f32
    %one = arith.constant 1.0 : f32
    %rest = arith.subf %one, %le : f32
    %w = arith.mulf %rest, %dte : f32
    %beta = arith.mulf %w, %alpha : f32
    %gamma = arith.mulf %le, %dte : f32
    %v0 = arith.mulf %beta, %xp : f32
    %v1 = arith.mulf %gamma, %xe : f32
    %skip = arith.mulf %de, %xe : f32
    ssm.yield %alpha, %v0, %bp, %v1, %be, %ce, %skip : f32, f32, f32, f32, f32, f32, f32
  }
  return %y, %h : tensor<?x?x24x64xbf16>, tensor<?x24x64x128xf32>
}

func.func @trapezoid_diagonal(%x: tensor<?x?x1536xf32>, %B: tensor<?x?x16xf32>,
                              %dt: tensor<?x?x1536xf32>, %A: tensor<1536x16xf32>)
    -> tensor<?x?x1536xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %x, %c0 : tensor<?x?x1536xf32>
  %length = tensor.dim %x, %c1 : tensor<?x?x1536xf32>
  %y0 = tensor.empty(%batch, %length) : tensor<?x?x1536xf32>
  %y = ssm.recurrence diagonal forward terms 2
      ins(%x [b, t, p], %x [b, t, p] previous, %B [b, t, n], %B [b, t, n] previous,
          %dt [b, t, p], %A [p, n]
          : tensor<?x?x1536xf32>, tensor<?x?x1536xf32>, tensor<?x?x16xf32>,
            tensor<?x?x16xf32>, tensor<?x?x1536xf32>, tensor<1536x16xf32>)
      outs(%y0 [b, t, p] : tensor<?x?x1536xf32>) {
  ^bb0(%xe: f32, %xp: f32, %be: f32, %bp: f32, %dte: f32, %ae: f32):
    %da = arith.mulf %dte, %ae : f32
    %alpha = math.exp %da : f32
    %half = arith.constant 0.5 : f32
    %w = arith.mulf %half, %dte : f32
    %beta = arith.mulf %w, %alpha : f32
    %v0 = arith.mulf %beta, %xp : f32
    %v1 = arith.mulf %w, %xe : f32
    %zero = arith.constant 0.0 : f32
    ssm.yield %alpha, %v0, %bp, %v1, %be, %be, %zero : f32, f32, f32, f32, f32, f32, f32
  }
  return %y : tensor<?x?x1536xf32>
}
