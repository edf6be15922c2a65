// RUN: ssm-opt %s | ssm-opt | FileCheck %s
// RUN: ssm-opt %s --mlir-print-op-generic | ssm-opt | FileCheck %s
// Round trip of every op of the dialect, with static and dynamic shapes and
// every optional operand, in the custom and the generic form.

// CHECK-LABEL: func.func @discretize
func.func @discretize(%A: tensor<?x64x16xf32>, %B: tensor<?x64x16xf32>,
                      %dt: tensor<?x64x16xf32>, %A16: tensor<4xbf16>)
    -> (tensor<?x64x16xf32>, tensor<?x64x16xf32>, tensor<4xbf16>) {
  // CHECK: ssm.discretize zoh %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64x16xf32>
  %a, %b = ssm.discretize zoh %A, %B, %dt : tensor<?x64x16xf32>
  // CHECK: ssm.discretize bilinear
  %c, %d = ssm.discretize bilinear %A, %B, %dt : tensor<?x64x16xf32>
  // CHECK: ssm.discretize euler
  %e, %f = ssm.discretize euler %A, %B, %dt : tensor<?x64x16xf32>
  // CHECK: ssm.discretize mamba {{.*}} : tensor<4xbf16>
  %g, %h = ssm.discretize mamba %A16, %A16, %A16 : tensor<4xbf16>
  return %a, %d, %h : tensor<?x64x16xf32>, tensor<?x64x16xf32>, tensor<4xbf16>
}

// CHECK-LABEL: func.func @scan
func.func @scan(%x: tensor<?x?x64xf32>, %a: tensor<?x?x64x16xf32>,
                %b: tensor<?x?x64x16xf32>, %c: tensor<64x16xf32>,
                %d: tensor<64xf32>, %h0: tensor<?x64x16xf32>,
                %reset: tensor<?x?xi1>) -> (tensor<?x?x64xf32>, tensor<?x64x16xf32>) {
  // CHECK: ssm.scan forward %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} :
  %y0 = ssm.scan forward %x, %a, %b, %c
      : (tensor<?x?x64xf32>, tensor<?x?x64x16xf32>, tensor<?x?x64x16xf32>,
         tensor<64x16xf32>) -> tensor<?x?x64xf32>
  // CHECK: ssm.scan reverse {{.*}} skip(%{{.*}}) init(%{{.*}}) reset(%{{.*}}) :
  // CHECK-SAME: -> (tensor<?x?x64xf32>, tensor<?x64x16xf32>)
  %y, %h = ssm.scan reverse %y0, %a, %b, %c skip(%d) init(%h0) reset(%reset)
      : (tensor<?x?x64xf32>, tensor<?x?x64x16xf32>, tensor<?x?x64x16xf32>,
         tensor<64x16xf32>, tensor<64xf32>, tensor<?x64x16xf32>, tensor<?x?xi1>)
      -> (tensor<?x?x64xf32>, tensor<?x64x16xf32>)
  return %y, %h : tensor<?x?x64xf32>, tensor<?x64x16xf32>
}

// CHECK-LABEL: func.func @selective_scan
func.func @selective_scan(%u: tensor<?x1536x?xbf16>, %delta: tensor<?x1536x?xbf16>,
                          %A: tensor<1536x16xf32>, %B: tensor<?x2x16x?xbf16>,
                          %C: tensor<1536x16xf32>, %D: tensor<1536xf32>,
                          %z: tensor<?x1536x?xbf16>, %db: tensor<1536xf32>,
                          %h0: tensor<?x1536x16xf32>)
    -> (tensor<?x1536x?xbf16>, tensor<?x1536x?xbf16>, tensor<?x1536x16xf32>) {
  // CHECK: ssm.selective_scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} :
  %y0 = ssm.selective_scan %u, %delta, %A, %B, %C
      : (tensor<?x1536x?xbf16>, tensor<?x1536x?xbf16>, tensor<1536x16xf32>,
         tensor<?x2x16x?xbf16>, tensor<1536x16xf32>) -> tensor<?x1536x?xbf16>
  // CHECK: ssm.selective_scan {{.*}} skip(%{{.*}}) gate(%{{.*}}) delta_bias(%{{.*}}) init(%{{.*}}) delta_softplus method zoh :
  %y, %last = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) gate(%z)
      delta_bias(%db) init(%h0) delta_softplus method zoh
      : (tensor<?x1536x?xbf16>, tensor<?x1536x?xbf16>, tensor<1536x16xf32>,
         tensor<?x2x16x?xbf16>, tensor<1536x16xf32>, tensor<1536xf32>,
         tensor<?x1536x?xbf16>, tensor<1536xf32>, tensor<?x1536x16xf32>)
      -> (tensor<?x1536x?xbf16>, tensor<?x1536x16xf32>)
  return %y0, %y, %last : tensor<?x1536x?xbf16>, tensor<?x1536x?xbf16>, tensor<?x1536x16xf32>
}

// CHECK-LABEL: func.func @ssd
func.func @ssd(%x: tensor<?x?x24x64xf16>, %dt: tensor<?x?x24xf32>, %A: tensor<24xf32>,
               %B: tensor<?x?x2x128xf16>, %C: tensor<?x?x2x128xf16>,
               %D: tensor<24x64xf32>, %z: tensor<?x?x24x64xf16>, %dtb: tensor<24xf32>,
               %h0: tensor<?x24x64x128xf32>, %seq: tensor<?x?xi32>,
               %xp: tensor<1x?x24x64xf16>, %dtp: tensor<1x?x24xf32>,
               %Bp: tensor<1x?x2x128xf16>, %cu: tensor<4xi64>, %s0: tensor<3x24x64x128xf32>)
    -> (tensor<?x?x24x64xf16>, tensor<?x24x64x128xf32>, tensor<3x24x64x128xf32>) {
  // CHECK: ssm.ssd {{.*}} skip(%{{.*}}) gate(%{{.*}}) dt_bias(%{{.*}}) init(%{{.*}}) seq_idx(%{{.*}}) dt_softplus dt_limit [0.000000e+00, 1.000000e-01] {chunk_size = 128 : i64} :
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C skip(%D) gate(%z) dt_bias(%dtb) init(%h0)
      seq_idx(%seq) dt_softplus dt_limit [0.0, 0.1] {chunk_size = 128 : i64}
      : (tensor<?x?x24x64xf16>, tensor<?x?x24xf32>, tensor<24xf32>,
         tensor<?x?x2x128xf16>, tensor<?x?x2x128xf16>, tensor<24x64xf32>,
         tensor<?x?x24x64xf16>, tensor<24xf32>, tensor<?x24x64x128xf32>, tensor<?x?xi32>)
      -> (tensor<?x?x24x64xf16>, tensor<?x24x64x128xf32>)
  // CHECK: ssm.ssd {{.*}} init(%{{.*}}) cu_seqlens(%{{.*}}) :
  // CHECK-NOT: chunk_size
  // CHECK-SAME: -> (tensor<1x?x24x64xf16>, tensor<3x24x64x128xf32>)
  %yp, %hp = ssm.ssd %xp, %dtp, %A, %Bp, %Bp init(%s0) cu_seqlens(%cu)
      : (tensor<1x?x24x64xf16>, tensor<1x?x24xf32>, tensor<24xf32>,
         tensor<1x?x2x128xf16>, tensor<1x?x2x128xf16>, tensor<3x24x64x128xf32>,
         tensor<4xi64>) -> (tensor<1x?x24x64xf16>, tensor<3x24x64x128xf32>)
  // CHECK: ssm.ssd {{.*}} dt_softplus algorithm chunked {chunk_size = 64 : i64} :
  %yc = ssm.ssd %x, %dt, %A, %B, %C dt_softplus algorithm chunked {chunk_size = 64 : i64}
      : (tensor<?x?x24x64xf16>, tensor<?x?x24xf32>, tensor<24xf32>,
         tensor<?x?x2x128xf16>, tensor<?x?x2x128xf16>) -> tensor<?x?x24x64xf16>
  // CHECK: ssm.ssd {{.*}} algorithm recurrent :
  %yr = ssm.ssd %x, %dt, %A, %B, %C algorithm recurrent
      : (tensor<?x?x24x64xf16>, tensor<?x?x24xf32>, tensor<24xf32>,
         tensor<?x?x2x128xf16>, tensor<?x?x2x128xf16>) -> tensor<?x?x24x64xf16>
  return %y, %h, %hp : tensor<?x?x24x64xf16>, tensor<?x24x64x128xf32>, tensor<3x24x64x128xf32>
}

// CHECK-LABEL: func.func @causal_conv1d
func.func @causal_conv1d(%x: tensor<?x1536x?xf32>, %w: tensor<1536x4xf32>,
                         %b: tensor<1536xf32>, %s0: tensor<?x1536x3xf32>,
                         %w1: tensor<1536x1xf32>)
    -> (tensor<?x1536x?xf32>, tensor<?x1536x3xf32>, tensor<?x1536x?xf32>) {
  // CHECK: ssm.causal_conv1d %{{.*}}, %{{.*}} bias(%{{.*}}) init_state(%{{.*}}) silu :
  %out, %s = ssm.causal_conv1d %x, %w bias(%b) init_state(%s0) silu
      : (tensor<?x1536x?xf32>, tensor<1536x4xf32>, tensor<1536xf32>,
         tensor<?x1536x3xf32>) -> (tensor<?x1536x?xf32>, tensor<?x1536x3xf32>)
  // CHECK: ssm.causal_conv1d %{{.*}}, %{{.*}} : (tensor<?x1536x?xf32>, tensor<1536x1xf32>)
  %o1 = ssm.causal_conv1d %x, %w1
      : (tensor<?x1536x?xf32>, tensor<1536x1xf32>) -> tensor<?x1536x?xf32>
  return %out, %s, %o1 : tensor<?x1536x?xf32>, tensor<?x1536x3xf32>, tensor<?x1536x?xf32>
}

// CHECK-LABEL: func.func @state_update
func.func @state_update(%x1: tensor<?x1536xf32>, %dt1: tensor<?x1536xf32>,
                        %A1: tensor<1536x16xf32>, %B: tensor<?x1x16xf32>,
                        %D1: tensor<1536xf32>, %h1: tensor<?x1536x16xf32>,
                        %x2: tensor<?x24x64xbf16>, %dt2: tensor<?x24xf32>,
                        %A2: tensor<24xf32>, %B2: tensor<?x1x128xbf16>,
                        %D2: tensor<24x64xf32>, %dtb2: tensor<24xf32>,
                        %h2: tensor<?x24x64x128xf32>)
    -> (tensor<?x1536x16xf32>, tensor<?x1536xf32>, tensor<?x24x64x128xf32>, tensor<?x24x64xbf16>) {
  // CHECK: ssm.state_update ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x1536xf32>, tensor<?x1536xf32>, tensor<1536x16xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>) skip(%{{.*}} : tensor<1536xf32>) gate(%{{.*}} : tensor<?x1536xf32>) dt_softplus outs(%{{.*}}, %{{.*}} : tensor<?x1536x16xf32>, tensor<?x1536xf32>)
  %n1, %y1 = ssm.state_update ins(%x1, %dt1, %A1, %B, %B
      : tensor<?x1536xf32>, tensor<?x1536xf32>, tensor<1536x16xf32>,
        tensor<?x1x16xf32>, tensor<?x1x16xf32>)
      skip(%D1 : tensor<1536xf32>) gate(%x1 : tensor<?x1536xf32>) dt_softplus
      outs(%h1, %x1 : tensor<?x1536x16xf32>, tensor<?x1536xf32>)
  // CHECK: ssm.state_update {{.*}} dt_bias(%{{.*}} : tensor<24xf32>) dt_softplus dt_limit [1.000000e-03, 1.000000e-01] outs(%{{.*}}, %{{.*}} : tensor<?x24x64x128xf32>, tensor<?x24x64xbf16>)
  %n2, %y2 = ssm.state_update ins(%x2, %dt2, %A2, %B2, %B2
      : tensor<?x24x64xbf16>, tensor<?x24xf32>, tensor<24xf32>,
        tensor<?x1x128xbf16>, tensor<?x1x128xbf16>)
      skip(%D2 : tensor<24x64xf32>) dt_bias(%dtb2 : tensor<24xf32>) dt_softplus
      dt_limit [0.001, 0.1]
      outs(%h2, %x2 : tensor<?x24x64x128xf32>, tensor<?x24x64xbf16>)
  return %n1, %y1, %n2, %y2 : tensor<?x1536x16xf32>, tensor<?x1536xf32>, tensor<?x24x64x128xf32>, tensor<?x24x64xbf16>
}
