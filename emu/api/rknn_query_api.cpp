// rknn_query: what a context can tell about its model and runtime (rknn-api.md §7.5).
#include <cstring>
#include <string>

#include "api/api_guard.hpp"
#include "api/runtime_version.hpp"
#include "npu/c_enum.hpp"
#include "npu/c_string.hpp"
#include "npu/context.hpp"
#include "npu/tensor_memory.hpp"

using ezemu::npu::RknnError;

namespace {

const char* query_name(int cmd)
{
    switch (cmd) {
    case RKNN_QUERY_IN_OUT_NUM: return "RKNN_QUERY_IN_OUT_NUM";
    case RKNN_QUERY_INPUT_ATTR: return "RKNN_QUERY_INPUT_ATTR";
    case RKNN_QUERY_OUTPUT_ATTR: return "RKNN_QUERY_OUTPUT_ATTR";
    case RKNN_QUERY_PERF_DETAIL: return "RKNN_QUERY_PERF_DETAIL";
    case RKNN_QUERY_PERF_RUN: return "RKNN_QUERY_PERF_RUN";
    case RKNN_QUERY_SDK_VERSION: return "RKNN_QUERY_SDK_VERSION";
    case RKNN_QUERY_MEM_SIZE: return "RKNN_QUERY_MEM_SIZE";
    case RKNN_QUERY_CUSTOM_STRING: return "RKNN_QUERY_CUSTOM_STRING";
    case RKNN_QUERY_NATIVE_INPUT_ATTR: return "RKNN_QUERY_NATIVE_INPUT_ATTR";
    case RKNN_QUERY_NATIVE_OUTPUT_ATTR: return "RKNN_QUERY_NATIVE_OUTPUT_ATTR";
    case RKNN_QUERY_NATIVE_NHWC_INPUT_ATTR: return "RKNN_QUERY_NATIVE_NHWC_INPUT_ATTR";
    case RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR: return "RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR";
    case RKNN_QUERY_DEVICE_MEM_INFO: return "RKNN_QUERY_DEVICE_MEM_INFO";
    case RKNN_QUERY_INPUT_DYNAMIC_RANGE: return "RKNN_QUERY_INPUT_DYNAMIC_RANGE";
    case RKNN_QUERY_CURRENT_INPUT_ATTR: return "RKNN_QUERY_CURRENT_INPUT_ATTR";
    case RKNN_QUERY_CURRENT_OUTPUT_ATTR: return "RKNN_QUERY_CURRENT_OUTPUT_ATTR";
    case RKNN_QUERY_CURRENT_NATIVE_INPUT_ATTR: return "RKNN_QUERY_CURRENT_NATIVE_INPUT_ATTR";
    case RKNN_QUERY_CURRENT_NATIVE_OUTPUT_ATTR: return "RKNN_QUERY_CURRENT_NATIVE_OUTPUT_ATTR";
    default: return "unknown command";
    }
}

// A wrong size means the caller was built against another header (or passed the wrong struct): refuse rather
// than write past their buffer.
template <typename Struct>
Struct& result_struct(void* info, uint32_t size, int cmd, const char* struct_name)
{
    if (size != sizeof(Struct)) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, std::string(query_name(cmd)) + ": size is " + std::to_string(size) +
                                                    " but sizeof(" + struct_name + ") is " +
                                                    std::to_string(sizeof(Struct)) +
                                                    "; pass sizeof the v2.3.2 struct");
    }
    return *static_cast<Struct*>(info);
}

// Which of a tensor's attrs a query reports.
enum class AttrView { Normal, Native, NativeNhwc };

void fill_attr(const std::vector<ezemu::npu::IoTensor>& tensors, rknn_tensor_attr& attr, int cmd, const char* kind,
               AttrView view = AttrView::Normal)
{
    const uint32_t index = attr.index;
    if (index >= tensors.size()) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, std::string(query_name(cmd)) + ": index " + std::to_string(index) +
                                                    " is out of range; the model has " +
                                                    std::to_string(tensors.size()) + " " + kind);
    }
    const ezemu::npu::IoTensor& t = tensors[index];
    attr = view == AttrView::Native ? t.native : view == AttrView::NativeNhwc ? t.native_nhwc : t.attr;
}

// Plain NATIVE_* commands describe one fixed shape: a dynamic model answers CURRENT_NATIVE_* only (§7.5).
void refuse_static_native_query(const ezemu::npu::LoadedModel& model, int cmd)
{
    if (!model.is_dynamic()) return;
    throw RknnError(RKNN_ERR_PARAM_INVALID,
                    std::string(query_name(cmd)) +
                        " is not available for a dynamic-shape model: call rknn_set_input_shapes, then query "
                        "RKNN_QUERY_CURRENT_NATIVE_INPUT_ATTR / RKNN_QUERY_CURRENT_NATIVE_OUTPUT_ATTR");
}

// Each input's shape sets, in the order and dims layout of its INPUT_ATTR (NHWC for 4-D inputs). A static model
// lists none, which is how callers tell (§7.5).
void fill_dynamic_range(const ezemu::npu::LoadedModel& model, rknn_input_range& r)
{
    const uint32_t index = r.index;
    if (index >= model.inputs().size()) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "RKNN_QUERY_INPUT_DYNAMIC_RANGE: index " + std::to_string(index) +
                                                    " is out of range; the model has " +
                                                    std::to_string(model.inputs().size()) + " inputs");
    }
    const rknn_tensor_attr& a = model.inputs()[index].attr;
    std::memset(&r, 0, sizeof r);
    r.index = index;
    r.fmt = a.fmt;
    std::memcpy(r.name, a.name, sizeof r.name);
    r.n_dims = a.n_dims;
    if (!model.is_dynamic()) return;
    const auto& variants = model.variants();
    r.shape_number = static_cast<uint32_t>(variants.size());
    for (size_t s = 0; s < variants.size(); ++s) {
        const rknn_tensor_attr& v = variants[s].inputs[index].attr;
        for (uint32_t d = 0; d < v.n_dims; ++d) r.dyn_range[s][d] = v.dims[d];
    }
}

uint32_t clamp_to_u32(uint64_t value) { return value > 0xffffffffull ? 0xffffffffu : static_cast<uint32_t>(value); }

int query(ezemu::npu::Context& ctx, uint64_t handle, int cmd, void* info, uint32_t size)
{
    const ezemu::npu::LoadedModel& model = ctx.model();
    switch (cmd) {
    case RKNN_QUERY_IN_OUT_NUM: {
        auto& r = result_struct<rknn_input_output_num>(info, size, cmd, "rknn_input_output_num");
        r.n_input = static_cast<uint32_t>(model.inputs().size());
        r.n_output = static_cast<uint32_t>(model.outputs().size());
        return RKNN_SUCC;
    }
    case RKNN_QUERY_INPUT_ATTR:  // a dynamic model's first shape set
        fill_attr(model.inputs(), result_struct<rknn_tensor_attr>(info, size, cmd, "rknn_tensor_attr"), cmd, "inputs");
        return RKNN_SUCC;
    case RKNN_QUERY_CURRENT_INPUT_ATTR:  // the shape rknn_set_input_shapes selected; a static model's only one
        fill_attr(ctx.inputs(), result_struct<rknn_tensor_attr>(info, size, cmd, "rknn_tensor_attr"), cmd, "inputs");
        return RKNN_SUCC;
    case RKNN_QUERY_OUTPUT_ATTR:
        fill_attr(model.outputs(), result_struct<rknn_tensor_attr>(info, size, cmd, "rknn_tensor_attr"), cmd,
                  "outputs");
        return RKNN_SUCC;
    case RKNN_QUERY_CURRENT_OUTPUT_ATTR:
        fill_attr(ctx.outputs(), result_struct<rknn_tensor_attr>(info, size, cmd, "rknn_tensor_attr"), cmd,
                  "outputs");
        return RKNN_SUCC;
    case RKNN_QUERY_PERF_RUN: {
        auto& r = result_struct<rknn_perf_run>(info, size, cmd, "rknn_perf_run");
        r.run_duration = ctx.last_run_microseconds();
        return RKNN_SUCC;
    }
    case RKNN_QUERY_SDK_VERSION: {
        auto& r = result_struct<rknn_sdk_version>(info, size, cmd, "rknn_sdk_version");
        ezemu::npu::copy_c_string(r.api_version, sizeof r.api_version, ezemu::api::runtime_api_version());
        ezemu::npu::copy_c_string(r.drv_version, sizeof r.drv_version,
                                  ezemu::api::runtime_driver_version(model.platform()));
        return RKNN_SUCC;
    }
    case RKNN_QUERY_MEM_SIZE: {
        auto& r = result_struct<rknn_mem_size>(info, size, cmd, "rknn_mem_size");
        std::memset(&r, 0, sizeof r);
        const uint64_t weights = model.weight_bytes();  // a shared-weight slave counts none of its master's
        const uint64_t internal = model.internal_bytes();
        uint64_t io = 0;
        for (const auto& t : model.inputs()) io += t.attr.size_with_stride;
        for (const auto& t : model.outputs()) io += t.attr.size_with_stride;
        r.total_weight_size = clamp_to_u32(weights);
        r.total_internal_size = clamp_to_u32(internal);
        // Memory the caller created on this context counts too (rknn_create_mem on a board is DMA memory).
        r.total_dma_allocated_size =
            weights + internal + io + ezemu::npu::TensorMemoryRegistry::instance().allocated_bytes(handle);
        return RKNN_SUCC;  // no SRAM is emulated: total/free SRAM stay 0
    }
    case RKNN_QUERY_CUSTOM_STRING: {
        auto& r = result_struct<rknn_custom_string>(info, size, cmd, "rknn_custom_string");
        ezemu::npu::copy_c_string(r.string, sizeof r.string, model.metadata().custom_string);
        return RKNN_SUCC;
    }
    case RKNN_QUERY_INPUT_DYNAMIC_RANGE:
        fill_dynamic_range(model, result_struct<rknn_input_range>(info, size, cmd, "rknn_input_range"));
        return RKNN_SUCC;
    case RKNN_QUERY_PERF_DETAIL: {
        auto& r = result_struct<rknn_perf_detail>(info, size, cmd, "rknn_perf_detail");
        const std::string& text = ctx.perf_detail_text();
        r.perf_data = const_cast<char*>(text.c_str());  // owned by the context until the next run or destroy
        r.data_len = text.size() + 1;
        return RKNN_SUCC;
    }
    case RKNN_QUERY_NATIVE_INPUT_ATTR:  // = NATIVE_NC1HWC2_INPUT_ATTR
        refuse_static_native_query(model, cmd);
        [[fallthrough]];
    case RKNN_QUERY_CURRENT_NATIVE_INPUT_ATTR:
        fill_attr(ctx.inputs(), result_struct<rknn_tensor_attr>(info, size, cmd, "rknn_tensor_attr"), cmd, "inputs",
                  AttrView::Native);
        return RKNN_SUCC;
    case RKNN_QUERY_NATIVE_OUTPUT_ATTR:  // = NATIVE_NC1HWC2_OUTPUT_ATTR
        refuse_static_native_query(model, cmd);
        [[fallthrough]];
    case RKNN_QUERY_CURRENT_NATIVE_OUTPUT_ATTR:
        fill_attr(ctx.outputs(), result_struct<rknn_tensor_attr>(info, size, cmd, "rknn_tensor_attr"), cmd,
                  "outputs", AttrView::Native);
        return RKNN_SUCC;
    case RKNN_QUERY_NATIVE_NHWC_INPUT_ATTR:
        refuse_static_native_query(model, cmd);
        fill_attr(ctx.inputs(), result_struct<rknn_tensor_attr>(info, size, cmd, "rknn_tensor_attr"), cmd, "inputs",
                  AttrView::NativeNhwc);
        return RKNN_SUCC;
    case RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR:
        refuse_static_native_query(model, cmd);
        fill_attr(ctx.outputs(), result_struct<rknn_tensor_attr>(info, size, cmd, "rknn_tensor_attr"), cmd,
                  "outputs", AttrView::NativeNhwc);
        return RKNN_SUCC;
    case RKNN_QUERY_DEVICE_MEM_INFO:
        result_struct<rknn_tensor_mem>(info, size, cmd, "rknn_tensor_mem") = ctx.model_memory();
        return RKNN_SUCC;
    default:
        throw RknnError(RKNN_ERR_PARAM_INVALID, "unknown query command " + std::to_string(cmd));
    }
}

}  // namespace

extern "C" EZEMU_EXPORT int rknn_query(rknn_context context, rknn_query_cmd cmd, void* info, uint32_t size)
{
    return ezemu::api::with_context("rknn_query", context, [&](ezemu::npu::Context& ctx) -> int {
        ezemu::api::require_pointer(info, "info");
        return query(ctx, static_cast<uint64_t>(context), ezemu::npu::raw_enum(cmd), info, size);
    });
}
