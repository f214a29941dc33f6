#include "graph/memory_budget.hpp"

#include <unistd.h>

#include <cstdlib>

namespace ezemu::graph {
namespace {

uint64_t budget_from_environment()
{
    const char* value = std::getenv(kMaxMemoryEnv);
    if (!value || !*value) return 0;
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(value, &end, 10);
    if (end == value || *end != '\0' || mb == 0 || mb > (uint64_t{1} << 40)) return 0;
    return static_cast<uint64_t>(mb) << 20;
}

uint64_t physical_memory()
{
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page_size <= 0) return uint64_t{1} << 40;  // unknown: only the absolute cap applies
    return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
}

}  // namespace

uint64_t memory_budget_bytes()
{
    const uint64_t from_env = budget_from_environment();
    return from_env ? from_env : physical_memory();
}

std::string memory_budget_text()
{
    const bool from_env = budget_from_environment() != 0;
    return "the emulator's memory budget of " + std::to_string(memory_budget_bytes() >> 20) + " MiB (" +
           (from_env ? std::string(kMaxMemoryEnv) : "physical memory; " + std::string(kMaxMemoryEnv) + " changes it") +
           ")";
}

}  // namespace ezemu::graph
