// A stand-in for a vendor librknnrt.so, for the engine tests: it forwards the core RKNN calls to the emulator
// next to it, but reports a vendor version and lacks what an older vendor runtime lacks (the ezrknn_emu_*
// identification, rknn_dup_context, rknn_create_mem2, ...), so the engine must treat it as a vendor library.
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "rknn/rknn_api.h"

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

struct Emulator {
    decltype(&::rknn_init) init = nullptr;
    decltype(&::rknn_destroy) destroy = nullptr;
    decltype(&::rknn_query) query = nullptr;
    decltype(&::rknn_inputs_set) inputs_set = nullptr;
    decltype(&::rknn_run) run = nullptr;
    decltype(&::rknn_outputs_get) outputs_get = nullptr;
    decltype(&::rknn_outputs_release) outputs_release = nullptr;
    decltype(&::rknn_set_core_mask) set_core_mask = nullptr;
    bool ok = false;
};

template <typename F>
void bind(void* handle, const char* name, F& slot, bool& ok) {
    slot = reinterpret_cast<F>(dlsym(handle, name));
    ok = ok && slot != nullptr;
}

void anchor() {}

// The emulator is found beside this library, as the engine finds it beside libezrknn.
Emulator load_emulator() {
    Emulator e;
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&anchor), &info) == 0 || info.dli_fname == nullptr) return e;
    std::string dir = info.dli_fname;
    dir = dir.substr(0, dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/'));
    const std::string path = (dir.empty() ? std::string(".") : dir) + "/librknnrt_emu.so";
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
        std::fprintf(stderr, "fake_rknnrt: cannot load %s: %s\n", path.c_str(), dlerror());
        return e;
    }
    e.ok = true;
    bind(h, "rknn_init", e.init, e.ok);
    bind(h, "rknn_destroy", e.destroy, e.ok);
    bind(h, "rknn_query", e.query, e.ok);
    bind(h, "rknn_inputs_set", e.inputs_set, e.ok);
    bind(h, "rknn_run", e.run, e.ok);
    bind(h, "rknn_outputs_get", e.outputs_get, e.ok);
    bind(h, "rknn_outputs_release", e.outputs_release, e.ok);
    bind(h, "rknn_set_core_mask", e.set_core_mask, e.ok);
    return e;
}

const Emulator& emu() {
    static const Emulator e = load_emulator();
    return e;
}

std::mutex g_version_mutex;
std::string g_api_version = "2.3.2 (fake vendor)";

}  // namespace

FAKE_EXPORT int rknn_init(rknn_context* context, void* model, uint32_t size, uint32_t flag, rknn_init_extend* extend) {
    if (!emu().ok) return RKNN_ERR_DEVICE_UNAVAILABLE;
    return emu().init(context, model, size, flag, extend);
}

FAKE_EXPORT int rknn_destroy(rknn_context context) {
    return emu().ok ? emu().destroy(context) : RKNN_ERR_CTX_INVALID;
}

FAKE_EXPORT int rknn_query(rknn_context context, rknn_query_cmd cmd, void* info, uint32_t size) {
    if (!emu().ok) return RKNN_ERR_CTX_INVALID;
    const int ret = emu().query(context, cmd, info, size);
    if (ret == RKNN_SUCC && cmd == RKNN_QUERY_SDK_VERSION && size >= sizeof(rknn_sdk_version)) {
        auto* sdk = static_cast<rknn_sdk_version*>(info);
        std::lock_guard<std::mutex> lock(g_version_mutex);
        std::snprintf(sdk->api_version, sizeof sdk->api_version, "%s", g_api_version.c_str());
        std::snprintf(sdk->drv_version, sizeof sdk->drv_version, "%s", "0.9.8 (fake vendor)");
    }
    return ret;
}

FAKE_EXPORT int rknn_inputs_set(rknn_context context, uint32_t n_inputs, rknn_input inputs[]) {
    return emu().ok ? emu().inputs_set(context, n_inputs, inputs) : RKNN_ERR_CTX_INVALID;
}

FAKE_EXPORT int rknn_run(rknn_context context, rknn_run_extend* extend) {
    return emu().ok ? emu().run(context, extend) : RKNN_ERR_CTX_INVALID;
}

FAKE_EXPORT int rknn_outputs_get(rknn_context context, uint32_t n_outputs, rknn_output outputs[],
                                 rknn_output_extend* extend) {
    return emu().ok ? emu().outputs_get(context, n_outputs, outputs, extend) : RKNN_ERR_CTX_INVALID;
}

FAKE_EXPORT int rknn_outputs_release(rknn_context context, uint32_t n_outputs, rknn_output outputs[]) {
    return emu().ok ? emu().outputs_release(context, n_outputs, outputs) : RKNN_ERR_CTX_INVALID;
}

FAKE_EXPORT int rknn_set_core_mask(rknn_context context, rknn_core_mask core_mask) {
    return emu().ok ? emu().set_core_mask(context, core_mask) : RKNN_ERR_CTX_INVALID;
}

// Test control: the api_version string the next RKNN_QUERY_SDK_VERSION reports.
FAKE_EXPORT void fake_rknnrt_set_api_version(const char* version) {
    std::lock_guard<std::mutex> lock(g_version_mutex);
    g_api_version = version != nullptr ? version : "";
}
