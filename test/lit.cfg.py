# -*- Python -*-
# lit configuration of the ssmc test suite (FileCheck tests of the dialect,
# its passes and its tools).

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "SSM"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Reference", "Integration", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ssm_obj_root, "test")

config.substitutions.append(("%ssm_src_root", config.ssm_src_root))
config.substitutions.append(("%ssm_obj_root", config.ssm_obj_root))

# ptxas (CUDA toolkit) assembles the emitted PTX in test/Target/GPU. When
# configuring did not find it, %ptxas fails with the reason, so those tests
# fail instead of silently checking nothing.
if config.ptxas and not config.ptxas.endswith("-NOTFOUND"):
    config.substitutions.append(("%ptxas", config.ptxas))
else:
    lit_config.warning("ptxas was not found when configuring: the GPU tests will fail")
    config.substitutions.append(
        ("%ptxas", "sh -c 'echo \"error: ptxas was not found when configuring "
                   "(install the CUDA toolkit or set -DSSM_PTXAS)\" >&2; exit 1' --"))

# The C compiler that links test programs against generated code and the
# runtime: with sanitizers, the one that built them, with their runtimes.
config.substitutions.append(("%cc", config.host_cc))

llvm_config.with_system_environment(["HOME", "TMP", "TEMP", "ASAN_OPTIONS",
                                     "UBSAN_OPTIONS", "LSAN_OPTIONS"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tools = ["ssm-opt", "ssmc", "mlir-opt", "FileCheck", "not", "count", "split-file",
         "llvm-readelf", "ssm-run", "ssm-lsp-server"]
llvm_config.add_tool_substitutions(tools, [config.ssm_tools_dir, config.llvm_tools_dir])
