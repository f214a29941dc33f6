// Which Conv outputs stay channels-last (NHWC): a oneDNN convolution works in NHWC, so a tensor that goes from one
// Conv to others (through a fused activation or folded BatchNormalization) skips two reorders when it is never
// turned back into NCHW. The plan is structural; lowering checks that every kernel honours it and lowers again
// without it when one does not.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "graph/onnx_model.hpp"
#include "graph/qdq_fusion.hpp"

namespace ezemu::graph {

// Names of Conv outputs whose every reader, after the views `views_after` (producer node index -> the last node of
// the chain that will become views of its output), is input 0 of a Conv with constant weights (an initializer or a
// Constant node).
std::unordered_set<std::string> plan_channels_last(const onnx::Graph& graph,
                                                   const std::unordered_map<size_t, size_t>& views_after);

// The same for the fused integer steps (qdq_fusion.hpp): a QLinearConv (2-D) or QLinearAdd output stays
// channels-last when every reader is a DequantizeLinear whose output only fused steps read, as x of a QLinearConv
// or a or b of a QLinearAdd; a QLinearAdd, being elementwise, has a, b and y all channels-last or none. Those
// DequantizeLinear nodes are not lowered (no step would read their output, and they cannot read channels-last).
struct IntegerChannelsLastPlan {
    std::unordered_set<std::string> tensors;
    std::unordered_set<size_t> unused_dequantize;  // node indices
};
IntegerChannelsLastPlan plan_integer_channels_last(const onnx::Graph& graph,
                                                   const std::unordered_map<size_t, QdqPattern>& patterns);

// Thrown while lowering when a kernel cannot honour the plan; lower_graph then lowers without it.
struct ChannelsLastRefused {};

}  // namespace ezemu::graph
