// Fault injection for testing applications against a misbehaving NPU runtime: chosen calls fail with a chosen
// RKNN code, or stall, every N-th time or at random with a seed.
//
// EZRKNN_EMU_FAULTS holds rules separated by ';', each "<call>:<key>=<value>[:<key>=<value>...]":
//   call      init | run | outputs_get | create_mem | create_mem2
//   code=C    the call fails with RKNN code C (a negative number, e.g. -1 or -6)
//   stall_ms=T the call sleeps T ms first (0..600000); without code it then proceeds normally
//   every=N   the N-th, 2N-th, ... call of that name in the process (default 1: every call)
//   prob=P    instead of every: each call fires with probability P (0..1) ...
//   seed=S    ... drawn from a generator seeded with S (default 1), so a run is reproducible
// e.g. "run:code=-1:every=3;outputs_get:stall_ms=200:every=2;init:code=-6:prob=0.5:seed=7".
// Counting is per process and per call name, and restarts whenever the variable's text changes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace ezemu::npu {

inline constexpr const char* kFaultsEnv = "EZRKNN_EMU_FAULTS";

struct InjectedFault {
    int code = 0;          // 0: the call proceeds after the stall
    int64_t stall_ms = 0;
};

// The parsed rules and their counters.
class FaultPlan {
public:
    static constexpr std::array<std::string_view, 5> kCalls{"init", "run", "outputs_get", "create_mem",
                                                            "create_mem2"};

    FaultPlan() = default;
    // Throws RknnError (RKNN_ERR_PARAM_INVALID) naming EZRKNN_EMU_FAULTS, the bad text and the valid syntax.
    static FaultPlan parse(std::string_view text);

    // Counts one call of `call` and says whether a fault fires for it. Unknown call names never fire.
    std::optional<InjectedFault> decide(std::string_view call);

private:
    struct Rule {
        bool active = false;
        InjectedFault fault;
        uint64_t every = 1;
        double probability = -1;  // < 0: use `every`
        uint64_t calls = 0;
        std::mt19937_64 random;
        std::uniform_real_distribution<double> uniform{0.0, 1.0};
    };
    std::array<Rule, kCalls.size()> rules_{};
};

// The fault for this call of `call` under the current EZRKNN_EMU_FAULTS (re-read on every call; the plan is
// re-parsed when the text changes). Does not stall. Throws RknnError (RKNN_ERR_PARAM_INVALID) on bad syntax.
std::optional<InjectedFault> inject_fault(std::string_view call);

// inject_fault, then the stall, then — when the fault has a code — RknnError(code, "injected fault
// (EZRKNN_EMU_FAULTS) ..."). For the top of an exported function's guarded body.
void apply_injected_fault(std::string_view call);

}  // namespace ezemu::npu
