#include "npu/fault_injector.hpp"

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "npu/rknn_error.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {
namespace {

constexpr const char* kSyntax =
    "use rules like \"run:code=-1:every=3;outputs_get:stall_ms=200:every=2;init:code=-6:prob=0.5:seed=7\" "
    "(calls: init, run, outputs_get, create_mem, create_mem2; keys: code, stall_ms, every, prob, seed)";

std::string_view trimmed(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

[[noreturn]] void bad_syntax(std::string_view text, const std::string& why)
{
    throw RknnError(RKNN_ERR_PARAM_INVALID,
                    std::string(kFaultsEnv) + "=\"" + std::string(text) + "\" is not valid: " + why + "; " + kSyntax);
}

// Whole decimal integer, optionally negative.
bool parse_integer(std::string_view s, int64_t& value)
{
    bool negative = false;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s.empty() || s.size() > 18) return false;
    int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    value = negative ? -v : v;
    return true;
}

bool parse_probability(std::string_view s, double& value)
{
    if (s.empty() || s.size() > 32) return false;
    const std::string copy(s);
    char* end = nullptr;
    const double v = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size() || !(v >= 0.0 && v <= 1.0)) return false;
    value = v;
    return true;
}

}  // namespace

FaultPlan FaultPlan::parse(std::string_view text)
{
    FaultPlan plan;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t semicolon = text.find(';', start);
        const std::string_view rule_text =
            trimmed(text.substr(start, semicolon == std::string_view::npos ? text.npos : semicolon - start));
        start = semicolon == std::string_view::npos ? text.size() + 1 : semicolon + 1;
        if (rule_text.empty()) continue;

        const size_t first_colon = rule_text.find(':');
        const std::string_view call = trimmed(rule_text.substr(0, first_colon));
        size_t index = kCalls.size();
        for (size_t i = 0; i < kCalls.size(); ++i) {
            if (kCalls[i] == call) index = i;
        }
        if (index == kCalls.size()) bad_syntax(text, "\"" + std::string(call) + "\" is not a call faults apply to");
        Rule& rule = plan.rules_[index];
        if (rule.active) bad_syntax(text, "call \"" + std::string(call) + "\" has two rules");
        rule.active = true;

        bool has_code = false, has_stall = false, has_every = false, has_seed = false;
        int64_t seed = 1;
        std::string_view rest = first_colon == std::string_view::npos ? std::string_view() : rule_text.substr(first_colon + 1);
        while (!rest.empty()) {
            const size_t colon = rest.find(':');
            const std::string_view item = trimmed(rest.substr(0, colon));
            rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
            const size_t equals = item.find('=');
            if (equals == std::string_view::npos)
                bad_syntax(text, "\"" + std::string(item) + "\" in the rule for " + std::string(call) + " is not key=value");
            const std::string_view key = trimmed(item.substr(0, equals));
            const std::string_view value = trimmed(item.substr(equals + 1));
            int64_t number = 0;
            const std::string where = " in the rule for " + std::string(call);
            if (key == "code") {
                if (!parse_integer(value, number) || number >= 0 || number < -1000)
                    bad_syntax(text, "code=" + std::string(value) + where + " must be a negative RKNN code such as -1");
                rule.fault.code = static_cast<int>(number);
                has_code = true;
            } else if (key == "stall_ms") {
                if (!parse_integer(value, number) || number < 0 || number > 600000)
                    bad_syntax(text, "stall_ms=" + std::string(value) + where + " must be 0..600000");
                rule.fault.stall_ms = number;
                has_stall = true;
            } else if (key == "every") {
                if (!parse_integer(value, number) || number < 1)
                    bad_syntax(text, "every=" + std::string(value) + where + " must be a whole number >= 1");
                rule.every = static_cast<uint64_t>(number);
                has_every = true;
            } else if (key == "prob") {
                if (!parse_probability(value, rule.probability))
                    bad_syntax(text, "prob=" + std::string(value) + where + " must be a number from 0 to 1");
            } else if (key == "seed") {
                if (!parse_integer(value, seed) || seed < 0)
                    bad_syntax(text, "seed=" + std::string(value) + where + " must be a whole number >= 0");
                has_seed = true;
            } else {
                bad_syntax(text, "unknown key \"" + std::string(key) + "\"" + where);
            }
        }
        if (!has_code && !has_stall)
            bad_syntax(text, "the rule for " + std::string(call) + " needs code=<RKNN code> or stall_ms=<ms>");
        if (has_every && rule.probability >= 0)
            bad_syntax(text, "the rule for " + std::string(call) + " has both every= and prob=; choose one");
        if (has_seed && rule.probability < 0)
            bad_syntax(text, "the rule for " + std::string(call) + " has seed= without prob=");
        rule.random.seed(static_cast<uint64_t>(seed));
    }
    return plan;
}

std::optional<InjectedFault> FaultPlan::decide(std::string_view call)
{
    for (size_t i = 0; i < kCalls.size(); ++i) {
        if (kCalls[i] != call) continue;
        Rule& rule = rules_[i];
        if (!rule.active) return std::nullopt;
        ++rule.calls;
        const bool fires =
            rule.probability >= 0 ? rule.uniform(rule.random) < rule.probability : rule.calls % rule.every == 0;
        if (fires) return rule.fault;
        return std::nullopt;
    }
    return std::nullopt;
}

std::optional<InjectedFault> inject_fault(std::string_view call)
{
    // Tests change the variable between calls, so it is read every time; the plan is cached by its text.
    static std::mutex mutex;
    static std::string cached_text;
    static FaultPlan plan;
    static std::string parse_error;
    const char* env = std::getenv(kFaultsEnv);
    const std::string_view text = env ? trimmed(env) : std::string_view();
    std::lock_guard<std::mutex> lock(mutex);
    if (text != cached_text) {
        cached_text.assign(text);
        parse_error.clear();
        try {
            plan = FaultPlan::parse(text);
        } catch (const RknnError& e) {
            plan = FaultPlan();
            parse_error = e.what();
        }
    }
    if (!parse_error.empty()) throw RknnError(RKNN_ERR_PARAM_INVALID, parse_error);
    if (text.empty()) return std::nullopt;
    return plan.decide(call);
}

void apply_injected_fault(std::string_view call)
{
    const std::optional<InjectedFault> fault = inject_fault(call);
    if (!fault) return;
    if (fault->stall_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(fault->stall_ms));
    if (fault->code != 0) {
        throw RknnError(fault->code, "injected fault (" + std::string(kFaultsEnv) + ": " + std::string(call) +
                                         " fails with code " + std::to_string(fault->code) + ")");
    }
}

}  // namespace ezemu::npu
