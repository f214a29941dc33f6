// Opens a model with ezrknn::Session, prints its tensors and runtime, runs it once on zeros and prints output
// statistics.
//
//   run_session <model.onnx|model.rknn> [runtime]     runtime: vendor, emulator or a library path
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "ezrknn/session.hpp"

namespace {

const char* format_name(ezrknn::TensorFormat f) {
    switch (f) {
        case ezrknn::TensorFormat::NCHW: return "NCHW";
        case ezrknn::TensorFormat::NHWC: return "NHWC";
        case ezrknn::TensorFormat::NC1HWC2: return "NC1HWC2";
        case ezrknn::TensorFormat::Undefined: return "UNDEFINED";
    }
    return "?";
}

void print_tensors(const char* title, const std::vector<ezrknn::TensorDesc>& tensors) {
    std::printf("%s:\n", title);
    for (const ezrknn::TensorDesc& t : tensors) {
        std::printf("  %-24s %-18s %-16s %s\n", t.name.c_str(), ezrknn::shape_to_string(t.shape).c_str(),
                    ezrknn::onnx_type_string(t.type).c_str(), format_name(t.format));
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s <model> [vendor|emulator|/path/to/librknnrt.so]\n", argv[0]);
        return 2;
    }
    try {
        ezrknn::SessionConfig config;
        if (argc > 2) config.options.runtime = argv[2];
        config.warning_sink = [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
        auto session = ezrknn::Session::from_file(argv[1], config);

        std::printf("runtime: %s (chosen by %s)\n", session->runtime().describe().c_str(),
                    session->runtime().chosen_by.c_str());
        if (!session->custom_string().empty()) std::printf("custom string: %s\n", session->custom_string().c_str());
        print_tensors("inputs", session->inputs());
        print_tensors("outputs", session->outputs());

        // Zeros of each input's own type: every type the model accepts as is.
        std::vector<std::vector<unsigned char>> buffers;
        std::vector<ezrknn::TensorView> views;
        for (const ezrknn::TensorDesc& t : session->inputs()) {
            ezrknn::TensorView v;
            v.type = t.type;
            v.shape = t.shape;
            v.nbytes = ezrknn::shape_element_count(t.shape) * ezrknn::element_size(t.type);
            buffers.emplace_back(v.nbytes, 0);
            v.data = buffers.back().data();
            views.push_back(std::move(v));
        }

        const auto start = std::chrono::steady_clock::now();
        std::vector<ezrknn::Tensor> outputs = session->run(views);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

        std::printf("run: %.3f ms\n", ms);
        for (size_t i = 0; i < outputs.size(); ++i) {
            const auto* data = static_cast<const float*>(outputs[i].data);
            const size_t n = outputs[i].nbytes / sizeof(float);
            double sum = 0.0;
            float lo = n > 0 ? data[0] : 0.0f;
            float hi = lo;
            for (size_t k = 0; k < n; ++k) {
                sum += data[k];
                lo = std::min(lo, data[k]);
                hi = std::max(hi, data[k]);
            }
            std::printf("  %-24s %-18s min %.6g  max %.6g  mean %.6g\n", session->outputs()[i].name.c_str(),
                        ezrknn::shape_to_string(outputs[i].shape).c_str(), lo, hi, n > 0 ? sum / n : 0.0);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
