// A selective scan with every size dynamic, for the run-time shape checks.
func.func @scan(%u: tensor<?x?x?xf32>, %delta: tensor<?x?x?xf32>,
                %A: tensor<?x?xf32>, %B: tensor<?x?x?x?xf32>,
                %C: tensor<?x?x?x?xf32>) -> tensor<?x?x?xf32> {
  %y = ssm.selective_scan %u, %delta, %A, %B, %C delta_softplus
      : (tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>,
         tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>) -> tensor<?x?x?xf32>
  return %y : tensor<?x?x?xf32>
}
