#===- ssmcConfig.cmake - find_package(ssmc) ---------------------------------===#
#
# Part of ssmc's installed SDK (docs/sdk.md). Provides
#   ssmc::runtime         libssm_runtime.so and its headers (ssm/runtime.h)
#   ssmc::runtime_static  the same, as a static library
#   ssmc::compiler        libssmc_compiler.so, the compiler's C API
#                         (ssm-c/Compiler.h)
#   ssmc::ssmc            the compiler (also ssmc::ssm-opt, ssmc::ssm-run,
#                         ssmc::ssm-lsp-server)
#   ssmc_add_library()    a library compiled by ssmc at build time
#                         (AddSSMC.cmake)
# Every path is relative to this file, so an installation can be moved.
#
#===------------------------------------------------------------------------===#

include(CMakeFindDependencyMacro)
# The runtime's thread pool: its link interface names Threads::Threads.
find_dependency(Threads)
include(${CMAKE_CURRENT_LIST_DIR}/ssmcTargets.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/AddSSMC.cmake)
