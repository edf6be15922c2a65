//===- SSMDialect.td - The ssm dialect and its attributes --*- tablegen -*-===//
//
// Part of ssmc. The dialect definition, its enums and the type constraints
// shared by every op. Op semantics are specified in docs/semantics.md.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SSMDIALECT_TD
#define SSM_DIALECT_SSM_IR_SSMDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def SSM_Dialect : Dialect {
  let name = "ssm";
  let cppNamespace = "::mlir::ssm";
  let summary = "State-space models: discretization, scans, SSD, convolutions";
  let description = [{
    The `ssm` dialect describes the computations of state-space models (S4,
    S5, Mamba, Mamba-2 and their variants) at the level users reason about
    them: the discretization of a continuous system, the linear recurrence
    (scan), Mamba-1's selective scan, Mamba-2's state-space-duality form,
    causal depthwise convolutions and single-token state updates.

    Ops work on ranked tensors whose dimensions may be static or dynamic.
    Storage element types are f16, bf16, f32 and f64; arithmetic is carried
    out in at least f32. The exact semantics of every op, shared with the
    reference evaluator, are in `docs/semantics.md`.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def SSM_DiscretizationAttr : I32EnumAttr<"Discretization",
    "how a continuous system (A, B) and a step delta become (Abar, Bbar)", [
      I32EnumAttrCase<"zoh", 0>,
      I32EnumAttrCase<"bilinear", 1>,
      I32EnumAttrCase<"euler", 2>,
      I32EnumAttrCase<"mamba", 3>]> {
  let cppNamespace = "::mlir::ssm";
}

def SSM_DirectionAttr : I32EnumAttr<"Direction", "direction of a scan over time", [
      I32EnumAttrCase<"forward", 0>,
      I32EnumAttrCase<"reverse", 1>]> {
  let cppNamespace = "::mlir::ssm";
}

def SSM_ActivationAttr : I32EnumAttr<"Activation",
    "activation fused after a convolution", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"silu", 1>]> {
  let cppNamespace = "::mlir::ssm";
}

def SSM_SSDAlgorithmAttr : I32EnumAttr<"SSDAlgorithm",
    "how ssm.ssd is computed: the recurrence, or chunks of matmuls", [
      I32EnumAttrCase<"recurrent", 0>,
      I32EnumAttrCase<"chunked", 1>]> {
  let cppNamespace = "::mlir::ssm";
}

def SSM_TransitionAttr : I32EnumAttr<"Transition",
    "structure of the per-step state transition of ssm.recurrence", [
      I32EnumAttrCase<"scalar", 0>,
      I32EnumAttrCase<"diagonal", 1>]> {
  let cppNamespace = "::mlir::ssm";
}

def SSM_RecurrenceFormAttr : I32EnumAttr<"RecurrenceForm",
    "the kernel form that computes an ssm.recurrence", [
      I32EnumAttrCase<"recurrent", 0>,
      I32EnumAttrCase<"chunked", 1>]> {
  let cppNamespace = "::mlir::ssm";
}

def SSM_SpanOrderAttr : I32EnumAttr<"SpanOrder",
    "how the chunked form of ssm.recurrence covers a row's chunks on the GPU", [
      I32EnumAttrCase<"sequential", 0>,
      I32EnumAttrCase<"parallel", 1>]> {
  let cppNamespace = "::mlir::ssm";
}

def SSM_WeightFormatAttr : I32EnumAttr<"WeightFormat",
    "how ssm.packed_matmul and ssm.packed_gather find a matrix in its bytes", [
      I32EnumAttrCase<"bf16", 1>,
      I32EnumAttrCase<"f16", 2>,
      I32EnumAttrCase<"q8_0", 3>,
      I32EnumAttrCase<"q4_0", 4>]> {
  // The values are the runtime's (enum ssm_weight_format, ssm/model_abi.h):
  // generated code passes them to it unchanged.
  let cppNamespace = "::mlir::ssm";
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def SSM_FloatTensor : RankedTensorOf<[F16, BF16, F32, F64]>;
def SSM_IndexTensor : RankedTensorOf<[I32, I64]>;
def SSM_MaskTensor : RankedTensorOf<[I1]>;

class SSM_Op<string mnemonic, list<Trait> traits = []>
    : Op<SSM_Dialect, mnemonic, traits>;

#endif // SSM_DIALECT_SSM_IR_SSMDIALECT_TD
