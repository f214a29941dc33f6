// The async engine from C++: a future per task, callbacks in submission order, and a fixed-delay pipeline.
//
//   async_session <model.onnx|model.rknn> [runs]      (zeros as inputs; on the emulator, schedule=[0,1,2])
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "ezrknn/session.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s <model> [runs]\n", argv[0]);
        return 2;
    }
    const int runs = argc > 2 ? std::stoi(argv[2]) : 300;
    try {
        ezrknn::SessionConfig config;
        config.options.schedule = std::vector<int>{0, 1, 2};
        config.options.max_queue_size = 6;
        auto session = ezrknn::Session::from_file(argv[1], config);

        // Zero inputs of each input's shape and dtype; the engine reads them (run) or copies them (submit).
        std::vector<std::vector<unsigned char>> buffers;
        std::vector<ezrknn::TensorView> inputs;
        for (const ezrknn::TensorDesc& d : session->inputs()) {
            buffers.emplace_back(ezrknn::shape_element_count(d.shape) * ezrknn::element_size(d.type));
            inputs.push_back({buffers.back().data(), buffers.back().size(), d.type, d.shape});
        }

        ezrknn::RunFuture one = session->submit(inputs);
        std::printf("task %llu: %zu outputs\n", static_cast<unsigned long long>(one.task_id()), one.get().size());

        std::atomic<int> ok{0}, failed{0};
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < runs; ++i) {
            session->submit(inputs, [&](ezrknn::RunOutcome&& out) { (out.ok() ? ok : failed)++; });
        }
        session->wait_callbacks();
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("%d callbacks (%d failed) in %.3f s: %.0f runs/s\n", ok.load() + failed.load(), failed.load(), secs,
                    runs / secs);

        ezrknn::Pipeline pipeline(session, 3);
        int returned = 0;
        for (int i = 0; i < 10; ++i) returned += pipeline.push(inputs).has_value() ? 1 : 0;
        std::vector<ezrknn::RunFuture> rest = pipeline.flush();
        for (ezrknn::RunFuture& f : rest) f.get();
        std::printf("pipeline depth 3: 10 pushes returned %d results, flush returned %zu\n", returned, rest.size());
        std::printf("copied bytes: %llu\n", static_cast<unsigned long long>(session->copied_bytes()));
        return failed.load() == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
