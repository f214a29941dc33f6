// Loading an RKNN runtime with dlopen: which library (option, environment, vendor, emulator), its function table,
// and error messages that carry the emulator's detail when it gives one.
#include "ezrknn/rknn_library.hpp"

#include <dlfcn.h>
#include <link.h>

#include <cctype>
#include <climits>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ezrknn/errors.hpp"

namespace ezrknn {
namespace {

std::string lower_trimmed(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    size_t e = s.find_last_not_of(" \t\r\n");
    std::string out = s.substr(b, e - b + 1);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string take_dlerror() {
    const char* e = dlerror();
    return e != nullptr ? std::string(e) : std::string("unknown dlopen error");
}

std::string canonical(const std::string& p) {
    char buf[PATH_MAX];
    return realpath(p.c_str(), buf) != nullptr ? std::string(buf) : p;
}

// The vendor runtime and the emulator both keep worker threads alive after their last context is destroyed;
// unmapping their code under those threads would crash the process, so a runtime, once loaded, stays loaded.
constexpr int kDlopenFlags = RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE;

struct Opened {
    void* handle = nullptr;
    std::string error;
};

Opened open_library(const std::string& target) {
    dlerror();
    void* h = dlopen(target.c_str(), kDlopenFlags);
    if (h == nullptr) return {nullptr, take_dlerror()};
    return {h, {}};
}

// The file the dynamic loader actually mapped for `handle` (it searched the library path for a bare name).
std::string loaded_file(void* handle, const std::string& fallback) {
    struct link_map* map = nullptr;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr &&
        map->l_name[0] != '\0') {
        return canonical(map->l_name);
    }
    return canonical(fallback);
}

template <typename F>
bool bind(void* handle, const char* name, F& slot) {
    void* sym = dlsym(handle, name);
    slot = reinterpret_cast<F>(sym);
    return sym != nullptr;
}

struct OptionalSymbolCheck {
    const char* name;
    bool present;
};

std::vector<OptionalSymbolCheck> optional_symbols(const RknnFunctions& f) {
    return {
        {"rknn_dup_context", f.dup_context != nullptr},
        {"rknn_set_core_mask", f.set_core_mask != nullptr},
        {"rknn_set_batch_core_num", f.set_batch_core_num != nullptr},
        {"rknn_wait", f.wait != nullptr},
        {"rknn_create_mem", f.create_mem != nullptr},
        {"rknn_create_mem2", f.create_mem2 != nullptr},
        {"rknn_create_mem_from_fd", f.create_mem_from_fd != nullptr},
        {"rknn_create_mem_from_phys", f.create_mem_from_phys != nullptr},
        {"rknn_destroy_mem", f.destroy_mem != nullptr},
        {"rknn_set_io_mem", f.set_io_mem != nullptr},
        {"rknn_set_weight_mem", f.set_weight_mem != nullptr},
        {"rknn_set_internal_mem", f.set_internal_mem != nullptr},
        {"rknn_set_input_shapes", f.set_input_shapes != nullptr},
        {"rknn_mem_sync", f.mem_sync != nullptr},
        {"rknn_register_custom_ops", f.register_custom_ops != nullptr},
    };
}

// Fills the table; returns the required symbols that are missing.
std::vector<std::string> bind_all(void* h, RknnFunctions& f) {
    std::vector<std::string> missing;
    auto required = [&](const char* name, auto& slot) {
        if (!bind(h, name, slot)) missing.emplace_back(name);
    };
    required("rknn_init", f.init);
    required("rknn_destroy", f.destroy);
    required("rknn_query", f.query);
    required("rknn_inputs_set", f.inputs_set);
    required("rknn_run", f.run);
    required("rknn_outputs_get", f.outputs_get);
    required("rknn_outputs_release", f.outputs_release);

    bind(h, "rknn_dup_context", f.dup_context);
    bind(h, "rknn_set_core_mask", f.set_core_mask);
    bind(h, "rknn_set_batch_core_num", f.set_batch_core_num);
    bind(h, "rknn_wait", f.wait);
    bind(h, "rknn_create_mem", f.create_mem);
    bind(h, "rknn_create_mem2", f.create_mem2);
    bind(h, "rknn_create_mem_from_fd", f.create_mem_from_fd);
    bind(h, "rknn_create_mem_from_phys", f.create_mem_from_phys);
    bind(h, "rknn_destroy_mem", f.destroy_mem);
    bind(h, "rknn_set_io_mem", f.set_io_mem);
    bind(h, "rknn_set_weight_mem", f.set_weight_mem);
    bind(h, "rknn_set_internal_mem", f.set_internal_mem);
    bind(h, "rknn_set_input_shapes", f.set_input_shapes);
    bind(h, "rknn_mem_sync", f.mem_sync);
    bind(h, "rknn_register_custom_ops", f.register_custom_ops);
    bind(h, "ezrknn_emu_version", f.emu_version);
    bind(h, "ezrknn_emu_last_error", f.emu_last_error);
    return missing;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) {
        if (!out.empty()) out += ", ";
        out += s;
    }
    return out;
}

// One entry per loaded file; sessions hold the shared_ptr, so the entry lives as long as any session uses it.
std::mutex& cache_mutex() {
    static std::mutex m;
    return m;
}

std::map<std::string, std::weak_ptr<RknnLibrary>>& cache() {
    static auto* c = new std::map<std::string, std::weak_ptr<RknnLibrary>>();  // never destroyed: safe at exit
    return *c;
}

}  // namespace

const char* runtime_kind_name(RuntimeKind kind) { return kind == RuntimeKind::Emulator ? "emulator" : "vendor"; }

std::string bundled_emulator_path() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&bundled_emulator_path), &info) == 0 || info.dli_fname == nullptr) {
        return kEmulatorLibraryName;  // let the loader search for it
    }
    std::string self = canonical(info.dli_fname);
    const size_t slash = self.rfind('/');
    const std::string dir = slash == std::string::npos ? std::string(".") : self.substr(0, slash);
    return dir + "/" + kEmulatorLibraryName;
}

std::shared_ptr<RknnLibrary> RknnLibrary::load(const std::string& request, std::string* chosen_by_out) {
    std::string value = request;
    std::string chosen_by;
    // How to ask for another runtime through the same channel that chose this one (the option beats the env).
    std::string switch_hint;
    if (!lower_trimmed(value).empty()) {
        chosen_by = "provider option runtime='" + value + "'";
        switch_hint = "set the provider option runtime='emulator'";
    } else if (const char* env = std::getenv(kRuntimeEnvVar); env != nullptr && !lower_trimmed(env).empty()) {
        value = env;
        chosen_by = std::string(kRuntimeEnvVar) + "='" + value + "'";
        switch_hint = std::string("set ") + kRuntimeEnvVar + "=emulator";
    } else {
        value.clear();
        chosen_by = "the default search order";
        switch_hint = std::string("set ") + kRuntimeEnvVar + "=emulator";
    }
    const std::string keyword = lower_trimmed(value);

    std::lock_guard<std::mutex> lock(cache_mutex());
    Opened opened;
    std::string target;
    if (keyword.empty()) {
        // Default: a board's runtime wins; the emulator is the fallback for every other machine.
        opened = open_library(kVendorLibraryName);
        target = kVendorLibraryName;
        if (opened.handle == nullptr) {
            const std::string vendor_error = opened.error;
            // On a board, a librknnrt.so that exists but fails to load must not pass silently for "no board".
            chosen_by += vendor_error.find("No such file or directory") != std::string::npos
                             ? " (no librknnrt.so found)"
                             : " (librknnrt.so did not load: " + vendor_error + ")";
            target = bundled_emulator_path();
            opened = open_library(target);
            if (opened.handle == nullptr) {
                throw Error("No RKNN runtime could be loaded: " + std::string(kVendorLibraryName) + ": " +
                            vendor_error + "; bundled emulator " + target + ": " + opened.error +
                            ". Install librknnrt.so on a Rockchip board, or reinstall the package to restore " +
                            kEmulatorLibraryName + ".");
            }
        }
    } else if (keyword == "vendor") {
        target = kVendorLibraryName;
        opened = open_library(target);
        if (opened.handle == nullptr) {
            throw Error("Cannot load the vendor RKNN runtime " + target + " (requested by " + chosen_by +
                        "): " + opened.error + ". Install librknnrt.so on the board (e.g. in /usr/lib), or " +
                        switch_hint + " to run on the CPU emulator.");
        }
    } else if (keyword == "emulator") {
        target = bundled_emulator_path();
        opened = open_library(target);
        if (opened.handle == nullptr) {
            throw Error("Cannot load the bundled RKNN emulator " + target + " (requested by " + chosen_by +
                        "): " + opened.error + ". Reinstall the package, or set " + kRuntimeEnvVar +
                        " to the path of an RKNN runtime library.");
        }
    } else {
        target = value;
        opened = open_library(target);
        if (opened.handle == nullptr) {
            throw Error("Cannot load the RKNN runtime library '" + target + "' (requested by " + chosen_by +
                        "): " + opened.error + ". Check the path, or " + switch_hint +
                        " to run on the CPU emulator.");
        }
    }

    const std::string path = loaded_file(opened.handle, target);
    if (auto it = cache().find(path); it != cache().end()) {
        if (std::shared_ptr<RknnLibrary> shared = it->second.lock()) {
            dlclose(opened.handle);  // drop the extra reference this call took; the cached one stays
            if (chosen_by_out != nullptr) *chosen_by_out = chosen_by;
            return shared;
        }
    }

    std::shared_ptr<RknnLibrary> lib(new RknnLibrary());
    lib->handle_ = opened.handle;
    lib->path_ = path;
    const std::vector<std::string> missing = bind_all(opened.handle, lib->fn_);
    if (!missing.empty()) {
        throw Error(path + " (chosen by " + chosen_by + ") is not a usable RKNN runtime: it lacks the required " +
                    "symbols " + join(missing) + ". Point " + kRuntimeEnvVar +
                    " (or the runtime provider option) at librknnrt.so, or use 'emulator'.");
    }
    lib->kind_ = lib->fn_.emu_version != nullptr ? RuntimeKind::Emulator : RuntimeKind::Vendor;
    cache()[path] = lib;
    if (chosen_by_out != nullptr) *chosen_by_out = chosen_by;
    return lib;
}

RknnLibrary::~RknnLibrary() {
    if (handle_ != nullptr) dlclose(handle_);  // balances our dlopen; RTLD_NODELETE keeps the code mapped
}

std::string RknnLibrary::emulator_version() const {
    if (fn_.emu_version == nullptr) return {};
    const char* v = fn_.emu_version();
    return v != nullptr ? std::string(v) : std::string();
}

std::vector<std::string> RknnLibrary::missing_optional_symbols() const {
    std::vector<std::string> missing;
    for (const OptionalSymbolCheck& s : optional_symbols(fn_)) {
        if (!s.present) missing.emplace_back(s.name);
    }
    return missing;
}

std::string RknnLibrary::last_error_detail() const {
    if (fn_.emu_last_error == nullptr) return {};
    const char* d = fn_.emu_last_error();
    return d != nullptr ? std::string(d) : std::string();
}

namespace {

// The emulator words its detail as "<function>: <reason> (<CODE_NAME> <code>)"; our message already names the
// call and the code, so only the reason is kept.
std::string reason_only(const std::string& api, int code, std::string detail) {
    const std::string function = api.substr(0, api.find('('));
    if (detail.rfind(function + ": ", 0) == 0) detail.erase(0, function.size() + 2);
    const std::string code_suffix = std::string(" (") + rknn_status_name(code) + " " + std::to_string(code) + ")";
    if (detail.size() > code_suffix.size() &&
        detail.compare(detail.size() - code_suffix.size(), code_suffix.size(), code_suffix) == 0) {
        detail.erase(detail.size() - code_suffix.size());
    }
    return detail;
}

}  // namespace

std::string RknnLibrary::error_detail(const std::string& api, int code) const {
    const std::string detail = last_error_detail();
    return detail.empty() ? detail : reason_only(api, code, detail);
}

std::string RknnLibrary::error_message(const std::string& api, int code) const {
    std::string msg = format_rknn_error(api, code);
    if (std::string detail = error_detail(api, code); !detail.empty()) msg += " " + detail;
    return msg;
}

std::string RknnLibrary::error_message_for_index(const std::string& api, const std::string& kind, size_t index,
                                                 int code) const {
    std::string msg = format_rknn_error_for_index(api, kind, index, code);
    if (std::string detail = error_detail(api, code); !detail.empty()) msg += " " + detail;
    return msg;
}

void RknnLibrary::throw_not_supported(const char* symbol, const std::string& api_version,
                                      const std::string& hint) const {
    const std::string version = api_version.empty() ? std::string("(unknown version)") : api_version;
    std::string msg = std::string(symbol) + " is not supported by librknnrt " + version + " (" + path_ + ")";
    if (!hint.empty()) msg += ". " + hint;
    throw NotSupported(msg);
}

}  // namespace ezrknn
