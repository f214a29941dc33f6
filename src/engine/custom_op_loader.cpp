// Loading custom-op plugins with dlopen and registering what they describe (anchor-behaviour.md §8).
#include "custom_op_loader.hpp"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <system_error>

#include "ezrknn/errors.hpp"

namespace ezrknn::detail {
namespace {

constexpr const char* kPluginPrefix = "librkcst_";
constexpr const char* kPluginSuffix = ".so";

[[maybe_unused]] bool is_plugin_name(const std::string& name) {
    const size_t prefix = std::strlen(kPluginPrefix);
    const size_t suffix = std::strlen(kPluginSuffix);
    return name.size() > prefix + suffix && name.compare(0, prefix, kPluginPrefix) == 0 &&
           name.compare(name.size() - suffix, suffix, kPluginSuffix) == 0;
}

std::string disabled_message() {
    return "Custom op support disabled (missing rknn_custom_op.h): this build has ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP=0 "
           "(configured with -DEZRKNN_CUSTOM_OPS=OFF). Rebuild with custom-op support, or remove the "
           "custom_op_paths / custom_op_default_path provider options.";
}

}  // namespace

std::string default_custom_op_directory() {
    if (const char* env = std::getenv(kCustomOpDirEnvVar); env != nullptr && env[0] != '\0') return env;
#if defined(__ANDROID__) && (defined(__aarch64__) || defined(__x86_64__))
    return "/vendor/lib64/";
#elif defined(__ANDROID__)
    return "/vendor/lib/";
#elif defined(__linux__)
    return "/usr/lib/rknpu/op_plugins/";
#else
    return "";
#endif
}

CustomOpPlugins::CustomOpPlugins(WarningSink warn) : warn_(std::move(warn)) {}

CustomOpPlugins::~CustomOpPlugins() {
    for (auto it = plugins_.rbegin(); it != plugins_.rend(); ++it) dlclose(it->handle);
}

bool CustomOpPlugins::compiled_in() { return ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP != 0; }

void CustomOpPlugins::load(const std::vector<std::string>& paths, bool scan_default_directory) {
    if (!compiled_in()) {
        if (paths.empty() && !scan_default_directory) return;
        warn_(disabled_message());
        throw NotSupported(disabled_message());
    }
    for (const std::string& path : paths) load_file(path);
    if (!scan_default_directory) return;
    const std::string directory = default_custom_op_directory();
    if (directory.empty()) {
        warn_("Default custom op path is not defined for this OS.");
        return;
    }
    load_directory(directory);
}

#if ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP

void CustomOpPlugins::load_file(const std::string& path) {
    if (registered_) throw Error("Custom ops have already been registered for this session");
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        throw InvalidArgument("custom op plugin path " + path +
                              " is a directory; pass the path of a librkcst_*.so file, or set "
                              "custom_op_default_path=True to scan the plugin directory");
    }
    dlerror();  // a stale error from an earlier call must not be reported as ours
    void* handle = dlopen(path.c_str(), RTLD_NOW);
    if (handle == nullptr) {
        const char* err = dlerror();
        const std::string reason = "dlopen " + path + " fail: " + (err != nullptr ? err : "unknown error");
        warn_(reason + " (this could lead to a crash due to internal bugs of rknnrt)");
        throw Error(reason);
    }
    dlerror();
    void* symbol = dlsym(handle, "get_rknn_custom_op");
    if (symbol == nullptr) {
        const char* err = dlerror();
        std::string reason = std::string("dlsym fail for get_rknn_custom_op: ") +
                             (err != nullptr ? err : "the symbol is NULL");
        dlclose(handle);
        throw Error(reason + ". A custom-op plugin must export get_rknn_custom_op with C linkage (" + path + ")");
    }
    auto get_op = reinterpret_cast<get_custom_op_func>(symbol);
    const rknn_custom_op* op = get_op();
    if (op == nullptr) {
        dlclose(handle);
        throw Error("get_rknn_custom_op returned null (" + path + ")");
    }
    const std::string op_type(op->op_type, strnlen(op->op_type, sizeof op->op_type));
    for (const rknn_custom_op& other : ops_) {
        if (other.version == op->version && other.target == op->target &&
            std::strncmp(other.op_type, op->op_type, sizeof other.op_type) == 0) {
            const size_t owner = op_plugin_[&other - ops_.data()];
            std::string msg = "Duplicate custom op definition detected: " + op_type +
                              " (version=" + std::to_string(op->version) +
                              ", target=" + std::to_string(static_cast<int>(op->target)) + ") from " + path +
                              "; already loaded from " + plugins_[owner].path;
            dlclose(handle);
            throw Error(msg);
        }
    }
    plugins_.push_back({path, handle});
    ops_.push_back(*op);
    op_plugin_.push_back(plugins_.size() - 1);
}

void CustomOpPlugins::load_directory(const std::string& directory) {
    DIR* dir = ::opendir(directory.c_str());
    if (dir == nullptr) {
        if (errno == ENOENT || errno == ENOTDIR) {
            warn_("Default plugin directory does not exist: " + directory);
        } else {
            warn_("Default plugin directory cannot be read: " + directory + ": " +
                  std::error_code(errno, std::generic_category()).message());
        }
        return;
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) {
        if (is_plugin_name(entry->d_name)) names.emplace_back(entry->d_name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());  // a stable order, so duplicates resolve the same way on every run
    const std::string base = directory.empty() || directory.back() == '/' ? directory : directory + "/";
    for (const std::string& name : names) {
        const std::string path = base + name;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        try {
            load_file(path);
        } catch (const std::exception& e) {
            warn_("Failed to load plugin " + name + ": " + e.what());
        }
    }
}

size_t CustomOpPlugins::op_count() const { return ops_.size(); }

std::vector<std::string> CustomOpPlugins::describe() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < ops_.size(); ++i) {
        out.push_back(std::string(ops_[i].op_type, strnlen(ops_[i].op_type, sizeof ops_[i].op_type)) +
                      " (version=" + std::to_string(ops_[i].version) +
                      ", target=" + std::to_string(static_cast<int>(ops_[i].target)) + ") from " +
                      plugins_[op_plugin_[i]].path);
    }
    return out;
}

int CustomOpPlugins::register_on(RegisterFn register_fn, rknn_context ctx) {
    if (ops_.empty()) return RKNN_SUCC;
    registered_ = true;
    return register_fn(ctx, ops_.data(), static_cast<uint32_t>(ops_.size()));
}

#else  // ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP == 0: nothing can be loaded, so nothing is ever registered.

void CustomOpPlugins::load_file(const std::string&) { throw NotSupported(disabled_message()); }

void CustomOpPlugins::load_directory(const std::string&) { throw NotSupported(disabled_message()); }

size_t CustomOpPlugins::op_count() const { return 0; }

std::vector<std::string> CustomOpPlugins::describe() const { return {}; }

int CustomOpPlugins::register_on(RegisterFn, rknn_context) { return RKNN_SUCC; }

#endif

}  // namespace ezrknn::detail
