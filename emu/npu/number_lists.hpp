// Nested lists of numbers written as JSON arrays ("[[0, 0, 0], [127.5]]"): the form of the metadata values that
// carry mean/std per input and the dynamic shape sets. Only arrays and numbers: no objects, strings or literals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ezemu::npu {

struct NumberList {
    bool is_number = false;
    double number = 0.0;
    std::vector<NumberList> items;  // when !is_number
};

// Parses `text`. Throws std::invalid_argument naming the offset and what was expected.
NumberList parse_number_list(const std::string& text);

// `list` as float lists (depth 2: one list of numbers per entry). Throws std::invalid_argument otherwise.
std::vector<std::vector<float>> to_float_lists(const NumberList& list);
// `list` as shape sets (depth 3: sets × tensors × dims), every dim an integer from 1 to 2^31-1.
std::vector<std::vector<std::vector<int64_t>>> to_shape_sets(const NumberList& list);

}  // namespace ezemu::npu
