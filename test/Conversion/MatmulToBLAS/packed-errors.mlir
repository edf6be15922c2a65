// RUN: ssm-opt %s -ssm-matmul-to-blas -verify-diagnostics

// The runtime's kernels take buffers: a packed op still on tensors is
// reported, not dropped.
func.func @unbufferized(%x: tensor<?x64xf32>, %w: tensor<544xf32>,
                        %y: tensor<?x32xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{'ssm.packed_matmul' op reached the CPU lowering on tensors or with non-contiguous rows; run one-shot-bufferize first}}
  %0 = ssm.packed_matmul q8_0 ins(%x, %w : tensor<?x64xf32>, tensor<544xf32>)
      outs(%y : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}
