// The JSON number lists of the rknn.mean_values / rknn.std_values / rknn.dynamic_input metadata: what parses, and
// that every malformed text is an std::invalid_argument, never a crash or a silent default.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "npu/number_lists.hpp"

namespace {

using ezemu::npu::parse_number_list;
using ezemu::npu::to_float_lists;
using ezemu::npu::to_shape_sets;

TEST(NumberLists, FloatListsPerInput)
{
    const auto lists = to_float_lists(parse_number_list(" [[123.675, 116.28,103.53] ,\n[-1e2]] "));
    ASSERT_EQ(lists.size(), 2u);
    ASSERT_EQ(lists[0].size(), 3u);
    EXPECT_FLOAT_EQ(lists[0][1], 116.28f);
    EXPECT_FLOAT_EQ(lists[1][0], -100.0f);
    EXPECT_TRUE(to_float_lists(parse_number_list("[]")).empty());
}

TEST(NumberLists, ShapeSets)
{
    const auto sets = to_shape_sets(parse_number_list("[[[1,3,224,224],[1,2]],[[1,3,320,320],[3,2]]]"));
    ASSERT_EQ(sets.size(), 2u);
    EXPECT_EQ(sets[1][0], (std::vector<int64_t>{1, 3, 320, 320}));
    EXPECT_EQ(sets[1][1], (std::vector<int64_t>{3, 2}));
}

TEST(NumberLists, MalformedTextIsRefused)
{
    for (const char* text : {"", "[", "[[1,2]", "[1,,2]", "[1 2]", "[1,2]]", "[\"a\"]", "[true]", "{}", "[nan]",
                             "[inf]", "[1e999]", "[[[[[[[[[[1]]]]]]]]]]"}) {
        EXPECT_THROW(parse_number_list(text), std::invalid_argument) << text;
    }
}

TEST(NumberLists, WrongDepthOrDimsAreRefused)
{
    EXPECT_THROW(to_float_lists(parse_number_list("[1, 2]")), std::invalid_argument);
    EXPECT_THROW(to_float_lists(parse_number_list("[[[1]]]")), std::invalid_argument);
    EXPECT_THROW(to_shape_sets(parse_number_list("[[1, 3]]")), std::invalid_argument);
    for (const char* dims : {"[[[1, 0]]]", "[[[1, -2]]]", "[[[1, 2.5]]]", "[[[1, 4294967296]]]"}) {
        EXPECT_THROW(to_shape_sets(parse_number_list(dims)), std::invalid_argument) << dims;
    }
    try {
        to_shape_sets(parse_number_list("[[[1, 0]]]"));
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("shape set 0, input 0"), std::string::npos) << e.what();
    }
}

}  // namespace
