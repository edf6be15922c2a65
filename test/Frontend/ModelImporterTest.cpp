//===- ModelImporterTest.cpp - Model descriptions built as MLIR modules ---===//
//
// Part of ssmc. The importer's module verifies in a bare context, and every
// op says where in the model it comes from; a weights layout that disagrees
// with the description (the importer's only way to fail) is an error naming
// the tensor, not a crash. The numbers are checked end to end against
// transformers by test/Models.
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/ModelImporter.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::ssm;

namespace {

ModelDescription describe(llvm::StringRef configJson) {
  llvm::Expected<HFConfig> config = parseHFConfig(configJson, "config.json");
  EXPECT_TRUE(bool(config)) << llvm::toString(config.takeError());
  return ModelDescription::fromConfig(*config);
}

const char kMamba2[] =
    R"({"model_type":"mamba2","hidden_size":16,"state_size":4,
        "num_hidden_layers":2,"vocab_size":10,"num_heads":4,"head_dim":8,
        "n_groups":2,"chunk_size":4})";
const char kMamba[] =
    R"({"model_type":"mamba","hidden_size":8,"state_size":4,
        "num_hidden_layers":3,"vocab_size":10,"time_step_rank":"auto"})";

std::string locationOf(Operation *op) {
  std::string text;
  llvm::raw_string_ostream(text) << op->getLoc();
  return text;
}

/// The location of the first `OpTy` in the function `name` of `module`.
template <typename OpTy>
std::string locationIn(ModuleOp module, llvm::StringRef name) {
  std::string found;
  module.walk([&](OpTy op) {
    auto func = op->template getParentOfType<func::FuncOp>();
    if (found.empty() && func.getSymName() == name)
      found = locationOf(op);
  });
  return found;
}

TEST(ModelImporterTest, Mamba2ModuleVerifiesAndNamesItsLayers) {
  MLIRContext context;
  ModelDescription model = describe(kMamba2);
  WeightsLayout layout = WeightsLayout::forModel(model);
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      buildModelModule(context, model, layout, ModelImportOptions{});
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  EXPECT_TRUE(succeeded(verify(**module)));
  EXPECT_EQ(locationIn<SSDOp>(**module, "model_prefill"),
            R"(loc("backbone.layers.*.mixer"("model_prefill")))");
  EXPECT_EQ(locationIn<StateUpdateOp>(**module, "model_decode"),
            R"(loc("backbone.layers.*.mixer"("model_decode")))");
  EXPECT_EQ(locationIn<CausalConv1dOp>(**module, "model_decode"),
            R"(loc("backbone.layers.*.mixer.conv1d"("model_decode")))");
  // Reads of the weights name the checkpoint tensor.
  bool namedRead = false;
  (*module)->walk([&](tensor::ExtractSliceOp slice) {
    namedRead |=
        locationOf(slice) ==
        R"(loc("backbone.layers.*.mixer.in_proj.weight"("model_prefill")))";
  });
  EXPECT_TRUE(namedRead);
}

TEST(ModelImporterTest, MambaModuleVerifiesWithItsName) {
  MLIRContext context;
  ModelDescription model = describe(kMamba);
  WeightsLayout layout = WeightsLayout::forModel(model);
  ModelImportOptions options;
  options.name = "tiny";
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      buildModelModule(context, model, layout, options);
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  EXPECT_TRUE(succeeded(verify(**module)));
  EXPECT_EQ(locationIn<SelectiveScanOp>(**module, "tiny_prefill"),
            R"(loc("backbone.layers.*.mixer"("tiny_prefill")))");
  EXPECT_TRUE((*module)->lookupSymbol("tiny_info"));
}

/// The error of importing the model of `configJson` with its layout
/// changed by `edit`, or "" if the import succeeds.
std::string importError(llvm::StringRef configJson,
                        llvm::function_ref<void(WeightsLayout &)> edit) {
  MLIRContext context;
  ModelDescription model = describe(configJson);
  WeightsLayout layout = WeightsLayout::forModel(model);
  edit(layout);
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      buildModelModule(context, model, layout, ModelImportOptions{});
  return module ? "" : llvm::toString(module.takeError());
}

/// Drops the slot `name` from a layout.
auto without(llvm::StringRef name) {
  return [name](WeightsLayout &layout) {
    llvm::erase_if(layout.slots, [&](const WeightsLayout::Slot &slot) {
      return slot.name == name;
    });
  };
}

TEST(ModelImporterTest, MissingTensorIsAnError) {
  EXPECT_EQ(importError(kMamba2, without("backbone.norm_f.weight")),
            "model importer: the weights layout has no tensor "
            "'backbone.norm_f.weight'");
}

TEST(ModelImporterTest, LayerTensorWithoutLayer0CounterpartIsAnError) {
  EXPECT_EQ(importError(kMamba2, without("backbone.layers.0.mixer.D")),
            "model importer: tensor 'backbone.layers.1.mixer.D' has no layer-0 "
            "counterpart in the weights layout");
}

TEST(ModelImporterTest, LayersOffTheirStrideAreAnError) {
  std::string message = importError(kMamba, [](WeightsLayout &layout) {
    for (WeightsLayout::Slot &slot : layout.slots)
      if (slot.name == "backbone.layers.2.mixer.D")
        slot.offset += 16;
  });
  EXPECT_NE(message.find("tensor 'backbone.layers.2.mixer.D' is not at a "
                         "constant stride"),
            std::string::npos)
      << message;
}

} // namespace
