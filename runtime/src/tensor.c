//===- tensor.c - Element types and tensor descriptors ---------------------===//
//
// Part of ssmc. Construction and validation of ssm_tensor_t. All size
// arithmetic goes through the checked helpers below, so a hostile
// descriptor yields SSM_ERROR_OUT_OF_RANGE instead of a wrapped size.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

// Generated code builds descriptors itself; pin the layout it relies on.
_Static_assert(sizeof(ssm_dtype_t) == 4, "ssm_dtype_t must be 32-bit");
_Static_assert(offsetof(ssm_tensor_t, data) == 0, "layout");
_Static_assert(offsetof(ssm_tensor_t, dtype) == sizeof(void *), "layout");
_Static_assert(offsetof(ssm_tensor_t, rank) == sizeof(void *) + 4, "layout");
_Static_assert(offsetof(ssm_tensor_t, shape) == sizeof(void *) + 8, "layout");
_Static_assert(offsetof(ssm_tensor_t, strides) ==
                   sizeof(void *) + 8 + 8 * SSM_MAX_RANK,
               "layout");

//===----------------------------------------------------------------------===//
// Checked arithmetic
//===----------------------------------------------------------------------===//

// Both return false, leaving *out unspecified, when the result does not fit.
static bool mul_i64(int64_t a, int64_t b, int64_t *out) {
#if defined(__GNUC__) || defined(__clang__)
  return !__builtin_mul_overflow(a, b, out);
#else
  // Operands here are never negative.
  if (a != 0 && b > INT64_MAX / a)
    return false;
  *out = a * b;
  return true;
#endif
}

static bool add_i64(int64_t a, int64_t b, int64_t *out) {
#if defined(__GNUC__) || defined(__clang__)
  return !__builtin_add_overflow(a, b, out);
#else
  if (b > INT64_MAX - a)
    return false;
  *out = a + b;
  return true;
#endif
}

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

size_t ssm_dtype_size(ssm_dtype_t dtype) {
  switch (dtype) {
  case SSM_DTYPE_F16:
  case SSM_DTYPE_BF16:
    return 2;
  case SSM_DTYPE_F32:
  case SSM_DTYPE_I32:
    return 4;
  case SSM_DTYPE_F64:
  case SSM_DTYPE_I64:
    return 8;
  case SSM_DTYPE_I8:
  case SSM_DTYPE_BOOL:
    return 1;
  case SSM_DTYPE_INVALID:
    break;
  }
  return 0;
}

const char *ssm_dtype_name(ssm_dtype_t dtype) {
  switch (dtype) {
  case SSM_DTYPE_F16:
    return "f16";
  case SSM_DTYPE_BF16:
    return "bf16";
  case SSM_DTYPE_F32:
    return "f32";
  case SSM_DTYPE_F64:
    return "f64";
  case SSM_DTYPE_I8:
    return "i8";
  case SSM_DTYPE_I32:
    return "i32";
  case SSM_DTYPE_I64:
    return "i64";
  case SSM_DTYPE_BOOL:
    return "bool";
  case SSM_DTYPE_INVALID:
    break;
  }
  return "invalid";
}

//===----------------------------------------------------------------------===//
// Shared validation
//===----------------------------------------------------------------------===//

// Checks what every tensor query needs (non-null, valid rank, non-negative
// sizes, an element count that fits) and computes the element count. Errors
// are prefixed with `who` ("ssm_tensor_numel", "argument 'x'").
static ssm_status_t count_elements(const ssm_tensor_t *t, const char *who,
                                   int64_t *out_numel) {
  *out_numel = 0;
  if (!t)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: tensor is null", who);
  if (t->rank < 0 || t->rank > SSM_MAX_RANK)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: rank %" PRId32 " is outside 0..%d", who, t->rank,
                         SSM_MAX_RANK);
  bool empty = false;
  for (int32_t i = 0; i < t->rank; ++i) {
    if (t->shape[i] < 0)
      return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                           "%s: dimension %" PRId32 " has negative size %" PRId64,
                           who, i, t->shape[i]);
    empty = empty || t->shape[i] == 0;
  }
  if (empty)
    return SSM_OK;
  int64_t numel = 1;
  for (int32_t i = 0; i < t->rank; ++i)
    if (!mul_i64(numel, t->shape[i], &numel))
      return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                           "%s: the number of elements overflows int64", who);
  *out_numel = numel;
  return SSM_OK;
}

// Finds the first dimension (from the last) that breaks row-major density,
// or returns -1. Requires a tensor that passed count_elements with `numel`.
static int32_t first_non_contiguous(const ssm_tensor_t *t, int64_t numel,
                                    int64_t *out_expected) {
  if (numel == 0)
    return -1;
  int64_t expected = 1;
  for (int32_t i = t->rank - 1; i >= 0; --i) {
    if (t->shape[i] != 1 && t->strides[i] != expected) {
      *out_expected = expected;
      return i;
    }
    // Cannot overflow: the product of all sizes is numel.
    expected *= t->shape[i];
  }
  return -1;
}

//===----------------------------------------------------------------------===//
// Construction and queries
//===----------------------------------------------------------------------===//

ssm_status_t ssm_tensor_init_contiguous(ssm_tensor_t *out, void *data,
                                        ssm_dtype_t dtype, int32_t rank,
                                        const int64_t *shape) {
  static const char kFn[] = "ssm_tensor_init_contiguous";
  if (!out)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: out is null", kFn);
  memset(out, 0, sizeof *out);
  size_t element_size = ssm_dtype_size(dtype);
  if (element_size == 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: invalid dtype %d",
                         kFn, (int)dtype);
  if (rank < 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: negative rank %" PRId32, kFn, rank);
  if (rank > SSM_MAX_RANK)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: rank %" PRId32 " exceeds SSM_MAX_RANK (%d)", kFn,
                         rank, SSM_MAX_RANK);
  if (rank > 0 && !shape)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: shape is null for rank %" PRId32, kFn, rank);
  for (int32_t i = 0; i < rank; ++i)
    if (shape[i] < 0)
      return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                           "%s: dimension %" PRId32 " has negative size %" PRId64,
                           kFn, i, shape[i]);

  // Strides are products of the later sizes, with 0 counted as 1; checking
  // that their largest product, in bytes, fits bounds every stride and the
  // total size at once.
  int64_t strides[SSM_MAX_RANK];
  int64_t product = 1;
  for (int32_t i = rank - 1; i >= 0; --i) {
    strides[i] = product;
    if (!mul_i64(product, shape[i] > 0 ? shape[i] : 1, &product))
      return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                           "%s: the size of the tensor overflows int64", kFn);
  }
  int64_t bytes;
  if (!mul_i64(product, (int64_t)element_size, &bytes))
    return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                         "%s: the size of the tensor in bytes overflows int64",
                         kFn);

  out->data = data;
  out->dtype = dtype;
  out->rank = rank;
  for (int32_t i = 0; i < rank; ++i) {
    out->shape[i] = shape[i];
    out->strides[i] = strides[i];
  }
  return SSM_OK;
}

ssm_status_t ssm_tensor_numel(const ssm_tensor_t *t, int64_t *out_numel) {
  if (!out_numel)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "ssm_tensor_numel: out_numel is null");
  return count_elements(t, "ssm_tensor_numel", out_numel);
}

ssm_status_t ssm_tensor_nbytes(const ssm_tensor_t *t, int64_t *out_bytes) {
  static const char kFn[] = "ssm_tensor_nbytes";
  if (!out_bytes)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: out_bytes is null",
                         kFn);
  *out_bytes = 0;
  int64_t numel;
  ssm_status_t status = count_elements(t, kFn, &numel);
  if (status != SSM_OK)
    return status;
  size_t element_size = ssm_dtype_size(t->dtype);
  if (element_size == 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: invalid dtype %d",
                         kFn, (int)t->dtype);
  int64_t bytes;
  if (!mul_i64(numel, (int64_t)element_size, &bytes))
    return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                         "%s: the size in bytes overflows int64", kFn);
  *out_bytes = bytes;
  return SSM_OK;
}

ssm_status_t ssm_tensor_is_contiguous(const ssm_tensor_t *t,
                                      bool *out_contiguous) {
  if (!out_contiguous)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "ssm_tensor_is_contiguous: out_contiguous is null");
  *out_contiguous = false;
  int64_t numel;
  ssm_status_t status = count_elements(t, "ssm_tensor_is_contiguous", &numel);
  if (status != SSM_OK)
    return status;
  int64_t expected;
  *out_contiguous = first_non_contiguous(t, numel, &expected) < 0;
  return SSM_OK;
}

//===----------------------------------------------------------------------===//
// Argument checks for generated entry points
//===----------------------------------------------------------------------===//

// "argument 'name'", truncated to fit; used as the prefix of messages.
typedef struct {
  char text[160];
} who_t;

static who_t argument_who(const char *name) {
  who_t who;
  snprintf(who.text, sizeof who.text, "argument '%s'", name ? name : "?");
  return who;
}

ssm_status_t ssm_tensor_check(const ssm_tensor_t *t, const char *name,
                              ssm_dtype_t expected_dtype,
                              int32_t expected_rank) {
  if (ssm_dtype_size(expected_dtype) == 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "ssm_tensor_check: invalid expected dtype %d",
                         (int)expected_dtype);
  if (expected_rank < SSM_ANY_RANK || expected_rank > SSM_MAX_RANK)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "ssm_tensor_check: invalid expected rank %" PRId32,
                         expected_rank);
  who_t who = argument_who(name);
  if (!t)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: tensor is null",
                         who.text);
  if (t->rank < 0 || t->rank > SSM_MAX_RANK)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: rank %" PRId32 " is outside 0..%d", who.text,
                         t->rank, SSM_MAX_RANK);
  if (expected_rank != SSM_ANY_RANK && t->rank != expected_rank)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: expected rank %" PRId32 ", got %" PRId32,
                         who.text, expected_rank, t->rank);
  size_t element_size = ssm_dtype_size(t->dtype);
  if (element_size == 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: invalid dtype %d",
                         who.text, (int)t->dtype);
  if (t->dtype != expected_dtype)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: expected dtype %s, got %s", who.text,
                         ssm_dtype_name(expected_dtype),
                         ssm_dtype_name(t->dtype));
  int64_t numel;
  ssm_status_t status = count_elements(t, who.text, &numel);
  if (status != SSM_OK)
    return status;
  for (int32_t i = 0; i < t->rank; ++i)
    if (t->strides[i] < 0)
      return ssm_set_error(
          SSM_ERROR_INVALID_ARGUMENT,
          "%s: dimension %" PRId32 " has negative stride %" PRId64, who.text,
          i, t->strides[i]);
  if (numel == 0)
    return SSM_OK;
  // The furthest element is at sum((size - 1) * stride); one past it, in
  // bytes, must be representable for the kernel's address arithmetic.
  int64_t extent = 1;
  for (int32_t i = 0; i < t->rank; ++i) {
    int64_t span;
    if (!mul_i64(t->shape[i] - 1, t->strides[i], &span) ||
        !add_i64(extent, span, &extent))
      return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                           "%s: the extent of the strides overflows int64",
                           who.text);
  }
  if (!mul_i64(extent, (int64_t)element_size, &extent))
    return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                         "%s: the extent in bytes overflows int64", who.text);
  if (!t->data)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: data is null but the tensor has %" PRId64
                         " elements",
                         who.text, numel);
  return SSM_OK;
}

ssm_status_t ssm_tensor_check_shape(const ssm_tensor_t *t, const char *name,
                                    int32_t rank,
                                    const int64_t *expected_shape) {
  static const char kFn[] = "ssm_tensor_check_shape";
  if (rank < 0 || rank > SSM_MAX_RANK)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: invalid expected rank %" PRId32, kFn, rank);
  if (rank > 0 && !expected_shape)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: expected_shape is null for rank %" PRId32, kFn,
                         rank);
  for (int32_t i = 0; i < rank; ++i)
    if (expected_shape[i] < SSM_DYNAMIC_DIM)
      return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                           "%s: expected_shape[%" PRId32 "] is %" PRId64, kFn,
                           i, expected_shape[i]);
  who_t who = argument_who(name);
  if (!t)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: tensor is null",
                         who.text);
  if (t->rank != rank)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: expected rank %" PRId32 ", got %" PRId32,
                         who.text, rank, t->rank);
  for (int32_t i = 0; i < rank; ++i) {
    if (t->shape[i] < 0)
      return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                           "%s: dimension %" PRId32 " has negative size %" PRId64,
                           who.text, i, t->shape[i]);
    if (expected_shape[i] != SSM_DYNAMIC_DIM &&
        t->shape[i] != expected_shape[i])
      return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                           "%s: dimension %" PRId32 " expected %" PRId64
                           ", got %" PRId64,
                           who.text, i, expected_shape[i], t->shape[i]);
  }
  return SSM_OK;
}

ssm_status_t ssm_tensor_check_contiguous(const ssm_tensor_t *t,
                                         const char *name) {
  who_t who = argument_who(name);
  int64_t numel;
  ssm_status_t status = count_elements(t, who.text, &numel);
  if (status != SSM_OK)
    return status;
  int64_t expected = 0;
  int32_t dim = first_non_contiguous(t, numel, &expected);
  if (dim >= 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: not contiguous: dimension %" PRId32
                         " has stride %" PRId64 ", expected %" PRId64,
                         who.text, dim, t->strides[dim], expected);
  return SSM_OK;
}
