//===- TensorTest.cpp - Element types and tensor descriptors --------------===//
//
// Part of ssmc.
//
//===----------------------------------------------------------------------===//

#include "ssm/runtime.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int64_t kPow(int bits) { return int64_t(1) << bits; }

// A descriptor filled with garbage, to check that failures zero it.
ssm_tensor_t garbage() {
  ssm_tensor_t t;
  std::memset(&t, 0x5a, sizeof t);
  return t;
}

bool isZeroed(const ssm_tensor_t &t) {
  ssm_tensor_t zero;
  std::memset(&zero, 0, sizeof zero);
  return std::memcmp(&t, &zero, sizeof t) == 0;
}

std::string lastError() { return ssm_last_error(); }

TEST(Dtype, SizesAndNames) {
  struct Case {
    ssm_dtype_t dtype;
    size_t size;
    const char *name;
  } cases[] = {
      {SSM_DTYPE_F16, 2, "f16"}, {SSM_DTYPE_BF16, 2, "bf16"},
      {SSM_DTYPE_F32, 4, "f32"}, {SSM_DTYPE_F64, 8, "f64"},
      {SSM_DTYPE_I8, 1, "i8"},   {SSM_DTYPE_I32, 4, "i32"},
      {SSM_DTYPE_I64, 8, "i64"}, {SSM_DTYPE_BOOL, 1, "bool"},
  };
  for (const Case &c : cases) {
    EXPECT_EQ(ssm_dtype_size(c.dtype), c.size) << c.name;
    EXPECT_STREQ(ssm_dtype_name(c.dtype), c.name);
  }
}

TEST(Dtype, InvalidValues) {
  for (int v : {0, -1, 9, 1000}) {
    EXPECT_EQ(ssm_dtype_size((ssm_dtype_t)v), 0u) << v;
    EXPECT_STREQ(ssm_dtype_name((ssm_dtype_t)v), "invalid") << v;
  }
}

TEST(Tensor, LayoutIsPartOfTheAbi) {
  EXPECT_EQ(offsetof(ssm_tensor_t, data), 0u);
  EXPECT_EQ(offsetof(ssm_tensor_t, dtype), sizeof(void *));
  EXPECT_EQ(offsetof(ssm_tensor_t, rank), sizeof(void *) + 4);
  EXPECT_EQ(offsetof(ssm_tensor_t, shape), sizeof(void *) + 8);
  EXPECT_EQ(offsetof(ssm_tensor_t, strides), sizeof(void *) + 72);
  if (sizeof(void *) == 8) {
    EXPECT_EQ(sizeof(ssm_tensor_t), 144u);
  }
}

TEST(Tensor, InitContiguousRowMajor) {
  float storage[24];
  int64_t shape[3] = {2, 3, 4};
  ssm_tensor_t t = garbage();
  ASSERT_EQ(ssm_tensor_init_contiguous(&t, storage, SSM_DTYPE_F32, 3, shape),
            SSM_OK);
  EXPECT_EQ(t.data, storage);
  EXPECT_EQ(t.dtype, SSM_DTYPE_F32);
  EXPECT_EQ(t.rank, 3);
  EXPECT_EQ(t.shape[0], 2);
  EXPECT_EQ(t.shape[1], 3);
  EXPECT_EQ(t.shape[2], 4);
  EXPECT_EQ(t.strides[0], 12);
  EXPECT_EQ(t.strides[1], 4);
  EXPECT_EQ(t.strides[2], 1);
  for (int i = 3; i < SSM_MAX_RANK; ++i) {
    EXPECT_EQ(t.shape[i], 0) << i;
    EXPECT_EQ(t.strides[i], 0) << i;
  }
  int64_t numel = -1, bytes = -1;
  EXPECT_EQ(ssm_tensor_numel(&t, &numel), SSM_OK);
  EXPECT_EQ(numel, 24);
  EXPECT_EQ(ssm_tensor_nbytes(&t, &bytes), SSM_OK);
  EXPECT_EQ(bytes, 96);
}

TEST(Tensor, MaxRank) {
  int64_t shape[SSM_MAX_RANK] = {2, 1, 3, 1, 2, 2, 1, 5};
  ssm_tensor_t t;
  ASSERT_EQ(ssm_tensor_init_contiguous(&t, nullptr, SSM_DTYPE_I8,
                                       SSM_MAX_RANK, shape),
            SSM_OK);
  int64_t expected = 1;
  for (int i = SSM_MAX_RANK - 1; i >= 0; --i) {
    EXPECT_EQ(t.strides[i], expected) << i;
    expected *= shape[i];
  }
  int64_t numel;
  ASSERT_EQ(ssm_tensor_numel(&t, &numel), SSM_OK);
  EXPECT_EQ(numel, 120);
}

TEST(Tensor, ScalarHasOneElement) {
  double value = 3;
  ssm_tensor_t t;
  ASSERT_EQ(ssm_tensor_init_contiguous(&t, &value, SSM_DTYPE_F64, 0, nullptr),
            SSM_OK);
  int64_t numel = -1, bytes = -1;
  EXPECT_EQ(ssm_tensor_numel(&t, &numel), SSM_OK);
  EXPECT_EQ(numel, 1);
  EXPECT_EQ(ssm_tensor_nbytes(&t, &bytes), SSM_OK);
  EXPECT_EQ(bytes, 8);
  EXPECT_EQ(ssm_tensor_check(&t, "s", SSM_DTYPE_F64, 0), SSM_OK);
}

TEST(Tensor, EmptyDimensionsKeepMeaningfulStrides) {
  int64_t shape[3] = {3, 0, 2};
  ssm_tensor_t t;
  ASSERT_EQ(ssm_tensor_init_contiguous(&t, nullptr, SSM_DTYPE_F32, 3, shape),
            SSM_OK);
  EXPECT_EQ(t.strides[0], 2);
  EXPECT_EQ(t.strides[1], 2);
  EXPECT_EQ(t.strides[2], 1);
  int64_t numel = -1;
  EXPECT_EQ(ssm_tensor_numel(&t, &numel), SSM_OK);
  EXPECT_EQ(numel, 0);
  // No elements: a null data pointer is fine.
  EXPECT_EQ(ssm_tensor_check(&t, "e", SSM_DTYPE_F32, 3), SSM_OK)
      << lastError();
}

TEST(Tensor, InitRejectsBadRank) {
  int64_t shape[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  ssm_tensor_t t = garbage();
  EXPECT_EQ(ssm_tensor_init_contiguous(&t, nullptr, SSM_DTYPE_F32, 9, shape),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(),
            "ssm_tensor_init_contiguous: rank 9 exceeds SSM_MAX_RANK (8)");
  EXPECT_TRUE(isZeroed(t));
  t = garbage();
  EXPECT_EQ(ssm_tensor_init_contiguous(&t, nullptr, SSM_DTYPE_F32, -1, shape),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "ssm_tensor_init_contiguous: negative rank -1");
  EXPECT_TRUE(isZeroed(t));
}

TEST(Tensor, InitRejectsNullPointers) {
  int64_t shape[1] = {4};
  EXPECT_EQ(ssm_tensor_init_contiguous(nullptr, nullptr, SSM_DTYPE_F32, 1,
                                       shape),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "ssm_tensor_init_contiguous: out is null");
  ssm_tensor_t t = garbage();
  EXPECT_EQ(ssm_tensor_init_contiguous(&t, nullptr, SSM_DTYPE_F32, 2, nullptr),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "ssm_tensor_init_contiguous: shape is null for rank 2");
  EXPECT_TRUE(isZeroed(t));
}

TEST(Tensor, InitRejectsNegativeSizesAndBadDtypes) {
  int64_t shape[3] = {2, -3, 4};
  ssm_tensor_t t = garbage();
  EXPECT_EQ(ssm_tensor_init_contiguous(&t, nullptr, SSM_DTYPE_F32, 3, shape),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(),
            "ssm_tensor_init_contiguous: dimension 1 has negative size -3");
  EXPECT_TRUE(isZeroed(t));
  int64_t good[1] = {2};
  for (int dtype : {0, 9, -7}) {
    t = garbage();
    EXPECT_EQ(ssm_tensor_init_contiguous(&t, nullptr, (ssm_dtype_t)dtype, 1,
                                         good),
              SSM_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(lastError(), "ssm_tensor_init_contiguous: invalid dtype " +
                               std::to_string(dtype));
    EXPECT_TRUE(isZeroed(t));
  }
}

TEST(Tensor, InitRejectsOverflowingShapes) {
  struct Case {
    ssm_dtype_t dtype;
    std::vector<int64_t> shape;
  } cases[] = {
      {SSM_DTYPE_I8, {kPow(32), kPow(32)}},           // 2^64 elements
      {SSM_DTYPE_F32, {kPow(61)}},                    // 2^63 bytes
      {SSM_DTYPE_F64, {kPow(30), kPow(30)}},          // 2^63 bytes
      {SSM_DTYPE_F32, {INT64_MAX, 2}},                // product overflows
      {SSM_DTYPE_F32, {0, kPow(40), kPow(40)}},       // empty, but strides overflow
      {SSM_DTYPE_I8, {3, 5, INT64_MAX / 4}},          // overflow in the middle
  };
  for (const Case &c : cases) {
    ssm_tensor_t t = garbage();
    EXPECT_EQ(ssm_tensor_init_contiguous(&t, nullptr, c.dtype,
                                         (int32_t)c.shape.size(),
                                         c.shape.data()),
              SSM_ERROR_OUT_OF_RANGE)
        << c.shape[0];
    EXPECT_NE(lastError().find("overflows int64"), std::string::npos)
        << lastError();
    EXPECT_TRUE(isZeroed(t));
  }
  // Just below the limit still works.
  int64_t big[1] = {kPow(60) - 1};
  ssm_tensor_t t;
  EXPECT_EQ(ssm_tensor_init_contiguous(&t, nullptr, SSM_DTYPE_F64, 1, big),
            SSM_OK);
  int64_t bytes;
  EXPECT_EQ(ssm_tensor_nbytes(&t, &bytes), SSM_OK);
  EXPECT_EQ(bytes, (kPow(60) - 1) * 8);
}

// A descriptor written by hand, as foreign code might.
ssm_tensor_t handMade(ssm_dtype_t dtype, std::vector<int64_t> shape,
                      std::vector<int64_t> strides, void *data) {
  ssm_tensor_t t;
  std::memset(&t, 0, sizeof t);
  t.data = data;
  t.dtype = dtype;
  t.rank = (int32_t)shape.size();
  for (size_t i = 0; i < shape.size() && i < SSM_MAX_RANK; ++i) {
    t.shape[i] = shape[i];
    t.strides[i] = strides[i];
  }
  return t;
}

TEST(Tensor, NumelValidates) {
  int64_t numel = 7;
  EXPECT_EQ(ssm_tensor_numel(nullptr, &numel), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(numel, 0);
  EXPECT_EQ(lastError(), "ssm_tensor_numel: tensor is null");
  ssm_tensor_t t = handMade(SSM_DTYPE_F32, {2, 3}, {3, 1}, nullptr);
  EXPECT_EQ(ssm_tensor_numel(&t, nullptr), SSM_ERROR_INVALID_ARGUMENT);
  t.rank = 12;
  EXPECT_EQ(ssm_tensor_numel(&t, &numel), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "ssm_tensor_numel: rank 12 is outside 0..8");
  t.rank = -3;
  EXPECT_EQ(ssm_tensor_numel(&t, &numel), SSM_ERROR_INVALID_ARGUMENT);
  t = handMade(SSM_DTYPE_F32, {2, -1}, {1, 1}, nullptr);
  EXPECT_EQ(ssm_tensor_numel(&t, &numel), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "ssm_tensor_numel: dimension 1 has negative size -1");
  t = handMade(SSM_DTYPE_F32, {kPow(32), kPow(32)}, {1, 1}, nullptr);
  EXPECT_EQ(ssm_tensor_numel(&t, &numel), SSM_ERROR_OUT_OF_RANGE);
  EXPECT_EQ(numel, 0);
  // An empty dimension makes the product 0 whatever the others are.
  t = handMade(SSM_DTYPE_F32, {kPow(40), 0, kPow(40)}, {1, 1, 1}, nullptr);
  EXPECT_EQ(ssm_tensor_numel(&t, &numel), SSM_OK);
  EXPECT_EQ(numel, 0);
  // Entries past the rank are ignored.
  t = handMade(SSM_DTYPE_F32, {5}, {1}, nullptr);
  t.shape[3] = -100;
  EXPECT_EQ(ssm_tensor_numel(&t, &numel), SSM_OK);
  EXPECT_EQ(numel, 5);
}

TEST(Tensor, NbytesOverflowAndInvalidDtype) {
  int64_t bytes = 1;
  ssm_tensor_t t = handMade(SSM_DTYPE_F64, {kPow(61)}, {1}, nullptr);
  EXPECT_EQ(ssm_tensor_nbytes(&t, &bytes), SSM_ERROR_OUT_OF_RANGE);
  EXPECT_EQ(bytes, 0);
  t = handMade((ssm_dtype_t)42, {2}, {1}, nullptr);
  EXPECT_EQ(ssm_tensor_nbytes(&t, &bytes), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "ssm_tensor_nbytes: invalid dtype 42");
  EXPECT_EQ(ssm_tensor_nbytes(&t, nullptr), SSM_ERROR_INVALID_ARGUMENT);
}

TEST(Tensor, Contiguity) {
  bool contiguous = false;
  int64_t shape[3] = {2, 3, 4};
  ssm_tensor_t t;
  ASSERT_EQ(ssm_tensor_init_contiguous(&t, nullptr, SSM_DTYPE_F32, 3, shape),
            SSM_OK);
  EXPECT_EQ(ssm_tensor_is_contiguous(&t, &contiguous), SSM_OK);
  EXPECT_TRUE(contiguous);

  // A transposed view.
  t = handMade(SSM_DTYPE_F32, {4, 3}, {1, 4}, nullptr);
  EXPECT_EQ(ssm_tensor_is_contiguous(&t, &contiguous), SSM_OK);
  EXPECT_FALSE(contiguous);
  // A sliced (padded) row.
  t = handMade(SSM_DTYPE_F32, {4, 3}, {5, 1}, nullptr);
  EXPECT_EQ(ssm_tensor_is_contiguous(&t, &contiguous), SSM_OK);
  EXPECT_FALSE(contiguous);
  // Size-1 dimensions may have any stride.
  t = handMade(SSM_DTYPE_F32, {1, 3, 1}, {999, 1, 77}, nullptr);
  EXPECT_EQ(ssm_tensor_is_contiguous(&t, &contiguous), SSM_OK);
  EXPECT_TRUE(contiguous);
  // No elements: contiguous whatever the strides.
  t = handMade(SSM_DTYPE_F32, {4, 0}, {3, 9}, nullptr);
  EXPECT_EQ(ssm_tensor_is_contiguous(&t, &contiguous), SSM_OK);
  EXPECT_TRUE(contiguous);

  contiguous = true;
  EXPECT_EQ(ssm_tensor_is_contiguous(nullptr, &contiguous),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_FALSE(contiguous);
  EXPECT_EQ(ssm_tensor_is_contiguous(&t, nullptr), SSM_ERROR_INVALID_ARGUMENT);
}

TEST(TensorCheck, AcceptsAMatchingTensor) {
  float storage[6];
  int64_t shape[2] = {2, 3};
  ssm_tensor_t t;
  ASSERT_EQ(ssm_tensor_init_contiguous(&t, storage, SSM_DTYPE_F32, 2, shape),
            SSM_OK);
  ssm_clear_error();
  EXPECT_EQ(ssm_tensor_check(&t, "x", SSM_DTYPE_F32, 2), SSM_OK);
  EXPECT_EQ(ssm_tensor_check(&t, "x", SSM_DTYPE_F32, SSM_ANY_RANK), SSM_OK);
  EXPECT_EQ(ssm_tensor_check_contiguous(&t, "x"), SSM_OK);
  int64_t expected[2] = {2, 3};
  EXPECT_EQ(ssm_tensor_check_shape(&t, "x", 2, expected), SSM_OK);
  int64_t dynamic[2] = {SSM_DYNAMIC_DIM, 3};
  EXPECT_EQ(ssm_tensor_check_shape(&t, "x", 2, dynamic), SSM_OK);
  EXPECT_EQ(lastError(), "");
}

TEST(TensorCheck, MessagesNameTheArgument) {
  float storage[6];
  int64_t shape[2] = {2, 3};
  ssm_tensor_t t;
  ASSERT_EQ(ssm_tensor_init_contiguous(&t, storage, SSM_DTYPE_F16, 2, shape),
            SSM_OK);
  EXPECT_EQ(ssm_tensor_check(&t, "delta", SSM_DTYPE_F16, 3),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'delta': expected rank 3, got 2");
  EXPECT_EQ(ssm_tensor_check(&t, "A", SSM_DTYPE_F32, 2),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'A': expected dtype f32, got f16");
  EXPECT_EQ(ssm_tensor_check(nullptr, "B", SSM_DTYPE_F32, 2),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'B': tensor is null");
  EXPECT_EQ(ssm_tensor_check(&t, nullptr, SSM_DTYPE_F32, 2),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument '?': expected dtype f32, got f16");

  t.data = nullptr;
  EXPECT_EQ(ssm_tensor_check(&t, "C", SSM_DTYPE_F16, 2),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'C': data is null but the tensor has 6 "
                         "elements");

  t = handMade(SSM_DTYPE_F32, {2, 3}, {3, -1}, storage);
  EXPECT_EQ(ssm_tensor_check(&t, "D", SSM_DTYPE_F32, 2),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'D': dimension 1 has negative stride -1");

  t = handMade(SSM_DTYPE_F32, {2, -3}, {3, 1}, storage);
  EXPECT_EQ(ssm_tensor_check(&t, "E", SSM_DTYPE_F32, 2),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'E': dimension 1 has negative size -3");

  t = handMade(SSM_DTYPE_F32, {2, 3}, {3, 1}, storage);
  t.rank = 9;
  EXPECT_EQ(ssm_tensor_check(&t, "F", SSM_DTYPE_F32, SSM_ANY_RANK),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'F': rank 9 is outside 0..8");

  t = handMade((ssm_dtype_t)0, {2, 3}, {3, 1}, storage);
  EXPECT_EQ(ssm_tensor_check(&t, "G", SSM_DTYPE_F32, 2),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'G': invalid dtype 0");
}

TEST(TensorCheck, RejectsOverflowingExtents) {
  float storage[1];
  // Two elements, but the second one lies 2^62 elements (2^64 bytes) away.
  ssm_tensor_t t = handMade(SSM_DTYPE_F32, {2}, {kPow(62)}, storage);
  EXPECT_EQ(ssm_tensor_check(&t, "x", SSM_DTYPE_F32, 1),
            SSM_ERROR_OUT_OF_RANGE);
  EXPECT_EQ(lastError(), "argument 'x': the extent in bytes overflows int64");
  t = handMade(SSM_DTYPE_F32, {3, 3}, {INT64_MAX / 2, INT64_MAX / 2}, storage);
  EXPECT_EQ(ssm_tensor_check(&t, "y", SSM_DTYPE_F32, 2),
            SSM_ERROR_OUT_OF_RANGE);
  t = handMade(SSM_DTYPE_I8, {kPow(32), kPow(32)}, {1, 1}, storage);
  EXPECT_EQ(ssm_tensor_check(&t, "z", SSM_DTYPE_I8, 2), SSM_ERROR_OUT_OF_RANGE);
  EXPECT_EQ(lastError(), "argument 'z': the number of elements overflows int64");
}

TEST(TensorCheck, RejectsBadExpectations) {
  float storage[2];
  int64_t shape[1] = {2};
  ssm_tensor_t t;
  ASSERT_EQ(ssm_tensor_init_contiguous(&t, storage, SSM_DTYPE_F32, 1, shape),
            SSM_OK);
  EXPECT_EQ(ssm_tensor_check(&t, "x", SSM_DTYPE_INVALID, 1),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "ssm_tensor_check: invalid expected dtype 0");
  EXPECT_EQ(ssm_tensor_check(&t, "x", SSM_DTYPE_F32, -2),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ssm_tensor_check(&t, "x", SSM_DTYPE_F32, 9),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "ssm_tensor_check: invalid expected rank 9");
}

TEST(TensorCheck, Shape) {
  int64_t shape[3] = {2, 8, 4};
  ssm_tensor_t t;
  ASSERT_EQ(ssm_tensor_init_contiguous(&t, nullptr, SSM_DTYPE_F32, 3, shape),
            SSM_OK);
  int64_t wrong[3] = {2, 16, SSM_DYNAMIC_DIM};
  EXPECT_EQ(ssm_tensor_check_shape(&t, "x", 3, wrong),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'x': dimension 1 expected 16, got 8");
  int64_t two[2] = {2, 8};
  EXPECT_EQ(ssm_tensor_check_shape(&t, "x", 2, two),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'x': expected rank 2, got 3");
  int64_t bad[3] = {2, -5, 4};
  EXPECT_EQ(ssm_tensor_check_shape(&t, "x", 3, bad),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "ssm_tensor_check_shape: expected_shape[1] is -5");
  EXPECT_EQ(ssm_tensor_check_shape(&t, "x", 3, nullptr),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ssm_tensor_check_shape(&t, "x", 9, wrong),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ssm_tensor_check_shape(nullptr, "x", 3, shape),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'x': tensor is null");
  // Rank 0 needs no expected shape.
  ssm_tensor_t s;
  ASSERT_EQ(ssm_tensor_init_contiguous(&s, nullptr, SSM_DTYPE_F32, 0, nullptr),
            SSM_OK);
  EXPECT_EQ(ssm_tensor_check_shape(&s, "s", 0, nullptr), SSM_OK);
}

TEST(TensorCheck, Contiguous) {
  float storage[12];
  ssm_tensor_t t = handMade(SSM_DTYPE_F32, {3, 4}, {5, 1}, storage);
  EXPECT_EQ(ssm_tensor_check_contiguous(&t, "x"), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(),
            "argument 'x': not contiguous: dimension 0 has stride 5, expected 4");
  t = handMade(SSM_DTYPE_F32, {3, 4}, {1, 3}, storage);
  EXPECT_EQ(ssm_tensor_check_contiguous(&t, "y"), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(),
            "argument 'y': not contiguous: dimension 1 has stride 3, expected 1");
  EXPECT_EQ(ssm_tensor_check_contiguous(nullptr, "z"),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "argument 'z': tensor is null");
}

TEST(TensorCheck, LongNamesAreTruncatedNotOverflowed) {
  std::string name(1000, 'n');
  EXPECT_EQ(ssm_tensor_check(nullptr, name.c_str(), SSM_DTYPE_F32, 1),
            SSM_ERROR_INVALID_ARGUMENT);
  std::string message = lastError();
  EXPECT_EQ(message.rfind("argument 'nnnn", 0), 0u);
  EXPECT_LT(message.size(), 600u);
}

} // namespace
