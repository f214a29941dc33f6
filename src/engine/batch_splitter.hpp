// Batch dispatch (anchor-behaviour.md §5.5): splits axis 0 of the inputs into one-sample views and concatenates the
// per-sample outputs along axis 0 — sized from each sample's own shape, so outputs with dim 0 > 1 fit (§14.12).
#pragma once

#include <vector>

#include "ezrknn/session.hpp"

namespace ezrknn::detail {

// One view per sample and input (views into the caller's buffers). `model_inputs` are the session's inputs().
// Throws InvalidArgument with the contract's messages ("Batch size mismatch across inputs", ...).
std::vector<std::vector<TensorView>> split_batch(const std::vector<TensorView>& inputs,
                                                 const std::vector<TensorDesc>& model_inputs);

// The outputs of every sample, concatenated along axis 0 (a rank-0 output becomes [batch]). Throws Error when the
// samples disagree ("Batch output shape mismatch", ...). Returns the bytes copied through `copied`.
std::vector<Tensor> concat_batch(const std::vector<RunOutcome>& samples, size_t& copied);

}  // namespace ezrknn::detail
