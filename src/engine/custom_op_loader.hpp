// Custom-op plugins (librkcst_*.so): dlopened, their get_rknn_custom_op collected, then registered on every RKNN
// context of a session in one call per context (anchor-behaviour.md §8).
#pragma once

// The build gate: support is compiled in when the custom-op declarations are available. CMake sets it to 0 with
// -DEZRKNN_CUSTOM_OPS=OFF; every custom-op request then warns and fails with a clear message.
#ifndef ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP
#if __has_include("rknn/rknn_custom_op.h")
#define ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP 1
#else
#define ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP 0
#endif
#endif

#include <functional>
#include <string>
#include <vector>

#include "rknn/rknn_api.h"
#if ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP
#include "rknn/rknn_custom_op.h"
#endif

struct _rknn_custom_op;  // so that RegisterFn names the C type in both builds of the gate

namespace ezrknn::detail {

// Overrides the directory that custom_op_default_path scans (tests, and boards with plugins elsewhere).
inline constexpr const char* kCustomOpDirEnvVar = "EZRKNN_CUSTOM_OP_DIR";

// $EZRKNN_CUSTOM_OP_DIR when set and not empty, else /usr/lib/rknpu/op_plugins/ on Linux, /vendor/lib64/ (or
// /vendor/lib/ on 32-bit) on Android, and "" on an OS that has no default.
std::string default_custom_op_directory();

class CustomOpPlugins {
public:
    using WarningSink = std::function<void(const std::string&)>;
    // rknn_register_custom_ops, from the session's RKNN library table.
    using RegisterFn = int (*)(rknn_context, ::_rknn_custom_op*, uint32_t);

    explicit CustomOpPlugins(WarningSink warn);
    // dlcloses every plugin: call it only after every context that registered them is destroyed.
    ~CustomOpPlugins();
    CustomOpPlugins(const CustomOpPlugins&) = delete;
    CustomOpPlugins& operator=(const CustomOpPlugins&) = delete;

    // True when this build has custom-op support (ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP).
    static bool compiled_in();

    // Explicit paths in order (any failure throws), then the default directory when asked (failures warn).
    void load(const std::vector<std::string>& paths, bool scan_default_directory);
    // One plugin: a directory → InvalidArgument; dlopen failure → warning, then Error "dlopen <path> fail: ...";
    // no get_rknn_custom_op → Error "dlsym fail for get_rknn_custom_op: ..."; an op type, version and target
    // already loaded → Error "Duplicate custom op definition detected: ...".
    void load_file(const std::string& path);
    // Every regular file librkcst_*.so in `directory`, in name order; a missing directory or a bad file warns.
    void load_directory(const std::string& directory);

    size_t op_count() const;
    // "cstSigmoid (version=1, target=1) from /path/librkcst_sigmoid.so", one per loaded op.
    std::vector<std::string> describe() const;

    // rknn_register_custom_ops(ctx, all ops, count): one call, as rknn-toolkit2 issue #538 requires. Returns the
    // RKNN status; nothing is called when no op was loaded. Loading more afterwards is refused.
    int register_on(RegisterFn register_fn, rknn_context ctx);

private:
    struct Plugin {
        std::string path;
        void* handle;
    };
    WarningSink warn_;
    std::vector<Plugin> plugins_;
#if ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP
    std::vector<rknn_custom_op> ops_;  // copies by value; the runtime may keep pointers into this array
    std::vector<size_t> op_plugin_;    // index into plugins_ of each op
#endif
    bool registered_ = false;
};

}  // namespace ezrknn::detail
