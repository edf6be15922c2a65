#===- AddSSMC.cmake - Compile ssm IR into a library at build time ----------===#
#
# Part of ssmc's CMake package: find_package(ssmc) includes it, and the
# build tree uses it for examples/ (with ssmc::ssmc and ssmc::runtime as
# aliases of its own targets). docs/sdk.md walks through a project using it.
#
#   ssmc_add_library(<name> SOURCE <file.mlir | model folder>
#                    [TARGET cpu|cuda] [CPU <cpu>] [ARGS <ssmc flag>...])
#
# ssmc compiles SOURCE, when a target linking <name> (or the custom target
# <name>_ssmc) is built, into lib<name>.so and <name>.h in
# ${CMAKE_CURRENT_BINARY_DIR}/<name>/ (a model folder also gives
# lib<name>.weights there, which ssm-run and the model's loader read).
# TARGET and CPU become --target and --mcpu (ssmc's defaults: cpu, and the
# building machine's CPU, `native`); ARGS go to ssmc as they are. <name> is
# an imported shared library: linking it puts <name>.h on the include path
# and links ssmc::runtime, whose thread pool the kernels run on. The library
# records where ssmc found the runtime (a RUNPATH), so programs load both
# without LD_LIBRARY_PATH.
#
#===------------------------------------------------------------------------===#

function(ssmc_add_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SOURCE;TARGET;CPU" "ARGS")
  set(where "ssmc_add_library(${name})")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${where}: unexpected arguments: ${arg_UNPARSED_ARGUMENTS} "
      "(flags for ssmc go after ARGS)")
  endif()
  if(NOT arg_SOURCE)
    message(FATAL_ERROR "${where}: SOURCE <file.mlir or model folder> is required")
  endif()
  cmake_path(ABSOLUTE_PATH arg_SOURCE BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
             NORMALIZE OUTPUT_VARIABLE source)
  if(NOT EXISTS ${source})
    message(FATAL_ERROR "${where}: SOURCE '${source}' does not exist")
  endif()

  set(flags --emit=shared)
  if(arg_TARGET)
    if(NOT arg_TARGET MATCHES "^(cpu|cuda)$")
      message(FATAL_ERROR "${where}: TARGET is cpu or cuda, not '${arg_TARGET}'")
    endif()
    list(APPEND flags --target=${arg_TARGET})
  endif()
  if(arg_CPU)
    list(APPEND flags --mcpu=${arg_CPU})
  endif()
  list(APPEND flags ${arg_ARGS})

  set(dir ${CMAKE_CURRENT_BINARY_DIR}/${name})
  set(lib ${dir}/lib${name}.so)
  set(header ${dir}/${name}.h)
  set(inputs ${source})
  set(byproducts "")
  if(IS_DIRECTORY ${source})
    # A folder's time stamp does not change with its files' contents: depend
    # on the files ssmc reads (config.json, the safetensors and their index).
    file(GLOB inputs CONFIGURE_DEPENDS ${source}/*.json ${source}/*.safetensors)
    set(byproducts ${dir}/lib${name}.weights)
  endif()
  # CMake wants an imported target's include folder to exist when it
  # generates the build, before ssmc has run.
  file(MAKE_DIRECTORY ${dir})

  add_custom_command(
    OUTPUT ${lib} ${header}
    BYPRODUCTS ${byproducts}
    COMMAND ssmc::ssmc ${source} ${flags} -o ${lib} --header ${header}
    DEPENDS ssmc::ssmc ssmc::runtime ${inputs}
    COMMENT "ssmc: ${source} -> lib${name}.so + ${name}.h"
    VERBATIM)
  add_custom_target(${name}_ssmc DEPENDS ${lib} ${header})
  add_library(${name} SHARED IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES
    IMPORTED_LOCATION ${lib}
    IMPORTED_SONAME lib${name}.so
    INTERFACE_INCLUDE_DIRECTORIES ${dir}
    INTERFACE_LINK_LIBRARIES ssmc::runtime)
  add_dependencies(${name} ${name}_ssmc)
endfunction()
