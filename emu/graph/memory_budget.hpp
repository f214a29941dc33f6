// The most memory one loaded model may ask for. A model whose declared sizes exceed it is refused at load time
// (RKNN_ERR_MODEL_INVALID, naming the tensor and the budget) instead of turning into a huge allocation.
#pragma once

#include <cstdint>
#include <string>

namespace ezemu::graph {

inline constexpr const char* kMaxMemoryEnv = "EZRKNN_EMU_MAX_MEMORY_MB";

// EZRKNN_EMU_MAX_MEMORY_MB when it holds a positive integer, else the machine's physical memory. Read on every
// call: loading is not a hot path, and tests change the variable.
uint64_t memory_budget_bytes();

// "the emulator's memory budget of 512 MiB (EZRKNN_EMU_MAX_MEMORY_MB)", for error messages.
std::string memory_budget_text();

}  // namespace ezemu::graph
