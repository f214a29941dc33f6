// Dynamic-shape models in the engine (rknn-api.md §7.12; anchor-behaviour.md §5.3 and the defect of its §14.13):
// the shape sets a model allows, which one a task's inputs select, and switching a context to it with
// rknn_set_input_shapes in the dims order of the queried attrs, with the output shapes read back from
// RKNN_QUERY_CURRENT_OUTPUT_ATTR.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ezrknn/options.hpp"
#include "ezrknn/rknn_library.hpp"
#include "ezrknn/tensor.hpp"

namespace ezrknn::detail {

using Shapes = std::vector<std::vector<int64_t>>;  // one shape per tensor

struct ShapeSets {
    std::vector<Shapes> engine;  // per set: each input's dims as RKNN reports them (its attr's fmt order)
    std::vector<Shapes> user;    // the same in the caller's layout (what run() receives and get_inputs() shows)

    bool dynamic() const { return !engine.empty(); }
    // The set whose shapes the inputs have. Throws InvalidArgument listing the sets when none matches.
    size_t find(const std::vector<TensorView>& views, const std::vector<TensorDesc>& inputs) const;
};

// Reads each input's RKNN_QUERY_INPUT_DYNAMIC_RANGE. A static model, or a runtime that does not answer the query,
// has no sets. Throws Error when the inputs list different numbers of sets.
ShapeSets query_shape_sets(const RknnLibrary& library, rknn_context ctx,
                           const std::vector<rknn_tensor_attr>& input_attrs, InputLayout layout);

// What one context is set to; -1 until its first dynamic task.
struct ContextShape {
    long set = -1;
    Shapes outputs;  // output dims at that set
};

// Switches `ctx` to set `s` unless it is there already: rknn_set_input_shapes with copies of `input_attrs`
// carrying the set's dims, then the output dims from CURRENT_OUTPUT_ATTR (OUTPUT_ATTR if that fails). Throws
// Error with the runtime's message.
void select_shape_set(const RknnLibrary& library, rknn_context ctx, const ShapeSets& sets, size_t s,
                      const std::vector<rknn_tensor_attr>& input_attrs, size_t n_outputs, ContextShape& state);

}  // namespace ezrknn::detail
