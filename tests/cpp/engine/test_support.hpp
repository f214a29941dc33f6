// Shared helpers of the engine tests: file paths, environment guards, the reference inputs of add_conv.onnx.
#pragma once

#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "ezrknn/errors.hpp"
#include "ezrknn/session.hpp"

namespace ezrknn::testing {

inline std::string lib_dir() { return EZRKNN_LIB_DIR; }
inline std::string model_path(const std::string& name) {
    return std::string(EZRKNN_SOURCE_DIR) + "/tests/models/" + name;
}
inline std::string emulator_path() { return lib_dir() + "/librknnrt_emu.so"; }
inline std::string fake_vendor_path() { return lib_dir() + "/libfake_rknnrt.so"; }

inline std::string canonical(const std::string& p) {
    char buf[PATH_MAX];
    return realpath(p.c_str(), buf) != nullptr ? std::string(buf) : p;
}

inline bool file_exists(const std::string& p) { return std::ifstream(p).good(); }

inline std::vector<char> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Sets (or unsets, with nullopt) an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = getenv(name)) old_ = std::string(old);
        if (value) setenv(name, value->c_str(), 1);
        else unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_) setenv(name_, old_->c_str(), 1);
        else unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

// Runs `f` and returns the message of the exception of type E it throws; fails the test otherwise.
template <typename E, typename F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "unexpected exception type: " << e.what();
        return {};
    }
    ADD_FAILURE() << "no exception thrown";
    return {};
}

// Mirrors reference_inputs() in tests/models/make_test_models.py.
struct AddConvInputs {
    std::vector<float> image = std::vector<float>(3 * 8 * 8);  // NCHW
    std::vector<float> offset = {0.5f, -0.5f, 0.25f, 0.0f};
    AddConvInputs() {
        for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<float>(std::sin(0.1 * static_cast<double>(i)));
    }
    std::vector<float> image_nhwc() const {
        std::vector<float> out(image.size());
        for (size_t c = 0; c < 3; ++c)
            for (size_t p = 0; p < 64; ++p) out[p * 3 + c] = image[c * 64 + p];
        return out;
    }
};

inline TensorView view_of(const std::vector<float>& data, std::vector<int64_t> shape) {
    TensorView v;
    v.data = data.data();
    v.nbytes = data.size() * sizeof(float);
    v.type = ElementType::Float32;
    v.shape = std::move(shape);
    return v;
}

// features (256 floats) then pooled (4 floats), from onnxruntime.
inline std::vector<float> add_conv_expected() {
    std::vector<char> bytes = read_file(model_path("add_conv_expected.bin"));
    std::vector<float> out(bytes.size() / sizeof(float));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
    return out;
}

// The model runs as an fp16 NPU model on the emulator: inputs and outputs are rounded through fp16.
inline void expect_close(const float* got, const float* want, size_t n, const char* what) {
    for (size_t i = 0; i < n; ++i) {
        EXPECT_NEAR(got[i], want[i], 1e-2 + 1e-2 * std::fabs(want[i])) << what << " element " << i;
    }
}

// Skips when the emulator has not been built (only in a partial build; the full build always has it).
#define EZRKNN_REQUIRE_EMULATOR()                                                           \
    do {                                                                                    \
        if (!::ezrknn::testing::file_exists(::ezrknn::testing::emulator_path()))            \
            GTEST_SKIP() << "librknnrt_emu.so is not built: " << ::ezrknn::testing::emulator_path(); \
    } while (0)

}  // namespace ezrknn::testing
