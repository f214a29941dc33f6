// The copying inference path: rknn_inputs_set → rknn_run → rknn_outputs_get → rknn_outputs_release
// (rknn-api.md §7.7–§7.9).
#include <optional>
#include <string>

#include "api/api_guard.hpp"
#include "npu/context.hpp"
#include "npu/fault_injector.hpp"

using ezemu::npu::RknnError;

extern "C" {

EZEMU_EXPORT int rknn_inputs_set(rknn_context context, uint32_t n_inputs, rknn_input inputs[])
{
    return ezemu::api::with_context("rknn_inputs_set", context, [&](ezemu::npu::Context& ctx) -> int {
        ezemu::api::require_pointer(inputs, "inputs");
        ctx.set_inputs(n_inputs, inputs);
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_run(rknn_context context, rknn_run_extend* extend)
{
    return ezemu::api::with_context("rknn_run", context, [&](ezemu::npu::Context& ctx) -> int {
        ezemu::npu::apply_injected_fault("run");
        const uint64_t frame = ctx.run();
        if (extend) extend->frame_id = frame;
        if (extend && extend->non_block) ctx.note_non_blocking_run(frame);
        return RKNN_SUCC;
    });
}

// The vendor documents non_block + rknn_wait as unsupported (rknn-api.md §7.8); the emulator serves them as a
// superset: the non-blocking run has already finished, so rknn_wait only hands back its frame id.
EZEMU_EXPORT int rknn_wait(rknn_context context, rknn_run_extend* extend)
{
    return ezemu::api::with_context("rknn_wait", context, [&](ezemu::npu::Context& ctx) -> int {
        const std::optional<uint64_t> frame = ctx.take_non_blocking_run();
        if (!frame) {
            throw RknnError(RKNN_ERR_FAIL, "no non-blocking run is pending on this context; call rknn_run with "
                                           "rknn_run_extend.non_block = 1 first");
        }
        if (extend) extend->frame_id = *frame;
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_outputs_get(rknn_context context, uint32_t n_outputs, rknn_output outputs[],
                                  rknn_output_extend* extend)
{
    return ezemu::api::with_context("rknn_outputs_get", context, [&](ezemu::npu::Context& ctx) -> int {
        ezemu::api::require_pointer(outputs, "outputs");
        ezemu::npu::apply_injected_fault("outputs_get");
        ctx.get_outputs(n_outputs, outputs, extend);
        return RKNN_SUCC;
    });
}

EZEMU_EXPORT int rknn_outputs_release(rknn_context context, uint32_t n_ouputs, rknn_output outputs[])
{
    return ezemu::api::with_context("rknn_outputs_release", context, [&](ezemu::npu::Context& ctx) -> int {
        if (n_ouputs == 0) return RKNN_SUCC;
        ezemu::api::require_pointer(outputs, "outputs");
        ctx.release_outputs(n_ouputs, outputs);
        return RKNN_SUCC;
    });
}

}  // extern "C"
