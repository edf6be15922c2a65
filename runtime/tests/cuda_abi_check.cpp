//===- cuda_abi_check.cpp - The runtime's driver declarations vs cuda.h ---===//
//
// Part of ssmc. runtime/src/cuda.c declares the CUDA driver API it uses
// itself (cuda_driver.h), so that the runtime builds without the toolkit.
// This program, built only where cuda.h is installed, checks those
// declarations against cuda.h at compile time:
//  - every symbol resolved is the one cuda.h maps the plain name to (so the
//    _v2 entry points are used exactly where cuda.h uses them);
//  - every function's parameters and result have the ABI of cuda.h's
//    prototype (same count; same type, or integers/enums of the same size,
//    or pointers to such);
//  - every constant and error code has cuda.h's value.
// A mismatch fails the build; the program itself only reports the counts.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include "ssm/runtime.h"

#include "cuda_driver.h"

#include <cstdio>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

namespace {

template <typename T> constexpr bool isScalarInt() {
  return std::is_integral_v<T> || std::is_enum_v<T>;
}

// Whether a value of type A is passed like one of type B.
template <typename A, typename B> constexpr bool samePassing() {
  using CA = std::remove_cv_t<A>;
  using CB = std::remove_cv_t<B>;
  if constexpr (std::is_same_v<CA, CB>)
    return true;
  else if constexpr (isScalarInt<CA>() && isScalarInt<CB>())
    return sizeof(CA) == sizeof(CB);
  else if constexpr (std::is_pointer_v<CA> && std::is_pointer_v<CB>)
    return samePassing<std::remove_pointer_t<CA>, std::remove_pointer_t<CB>>();
  else
    return false;
}

template <typename Ours, typename Theirs> struct SameAbi {
  static constexpr bool value = false;
};
template <typename R1, typename... A1, typename R2, typename... A2>
struct SameAbi<R1 (*)(A1...), R2 (*)(A2...)> {
  template <size_t... I>
  static constexpr bool params(std::index_sequence<I...>) {
    using T1 = std::tuple<A1...>;
    using T2 = std::tuple<A2...>;
    return (samePassing<std::tuple_element_t<I, T1>,
                        std::tuple_element_t<I, T2>>() &&
            ...);
  }
  static constexpr bool value = [] {
    if constexpr (sizeof...(A1) != sizeof...(A2))
      return false;
    else
      return samePassing<R1, R2>() && params(std::index_sequence_for<A1...>{});
  }();
};

constexpr bool sameString(const char *a, const char *b) {
  while (*a && *a == *b)
    ++a, ++b;
  return *a == *b;
}

#define SSM_STR2(x) #x
#define SSM_STR(x) SSM_STR2(x)

// `member` is cuda.h's plain name; as a macro argument it expands to what
// cuda.h #defines it to, which must be the symbol the runtime resolves.
#define SSM_CHECK_FUNCTION(member, symbol, params)                             \
  static_assert(sameString(SSM_STR(member), symbol),                           \
                "cuda.h maps " #member                                         \
                " to " SSM_STR(member) ", the runtime resolves " symbol);      \
  static_assert(SameAbi<CUresult(*) params, decltype(&member)>::value,         \
                "the runtime declares " symbol " unlike cuda.h");
SSM_CUDA_DRIVER_FUNCTIONS(SSM_CHECK_FUNCTION)
SSM_CUDA_OPTIONAL_DRIVER_FUNCTIONS(SSM_CHECK_FUNCTION)

#define SSM_CHECK_CONSTANT(name, cuda_name, value)                             \
  static_assert(cuda_name == value, #cuda_name " is not " #value);
SSM_CUDA_CONSTANTS(SSM_CHECK_CONSTANT)

#define SSM_CHECK_ERROR(cuda_name, value, status)                              \
  static_assert(cuda_name == value, #cuda_name " is not " #value);
SSM_CUDA_ERROR_STATUSES(SSM_CHECK_ERROR)

#define SSM_COUNT(...) +1
constexpr int kFunctions = 0 SSM_CUDA_DRIVER_FUNCTIONS(SSM_COUNT)
    SSM_CUDA_OPTIONAL_DRIVER_FUNCTIONS(SSM_COUNT);
constexpr int kConstants = 0 SSM_CUDA_CONSTANTS(SSM_COUNT);
constexpr int kErrors = 0 SSM_CUDA_ERROR_STATUSES(SSM_COUNT);

} // namespace

int main() {
  std::printf("checked against cuda.h (CUDA_VERSION %d): %d entry points, %d "
              "constants, %d error codes\n",
              CUDA_VERSION, kFunctions, kConstants, kErrors);
  return 0;
}
