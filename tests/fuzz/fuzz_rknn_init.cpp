// libFuzzer target over rknn_init on model bytes: a model that loads is also queried, fed zeros, run, read back
// and destroyed, so shape inference, planning and the kernels see the mutated graphs too.
//
// Built with clang -fsanitize=fuzzer,address,undefined by tests/fuzz/run_fuzz.sh (CMake option EZRKNN_FUZZ).
// Without libFuzzer (EZRKNN_FUZZ_REPLAY_MAIN), main() replays the files named on the command line instead: the
// regression inputs of tests/fuzz/regressions/ run that way under ctest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "rknn/rknn_api.h"

namespace {

// Inputs or outputs bigger than this are not run: the fuzzer hunts for bugs, not for the allocation that a model
// legitimately asks for (its rss limit would report such a model as a finding).
constexpr uint64_t kMaxRunBytes = uint64_t{64} << 20;

void run_model(rknn_context ctx)
{
    rknn_input_output_num io{};
    if (rknn_query(ctx, RKNN_QUERY_IN_OUT_NUM, &io, sizeof io) != RKNN_SUCC) return;
    if (io.n_input > 64 || io.n_output > 64) return;

    std::vector<rknn_tensor_attr> in_attrs(io.n_input), out_attrs(io.n_output);
    uint64_t total = 0;
    for (uint32_t i = 0; i < io.n_input; ++i) {
        in_attrs[i].index = i;
        if (rknn_query(ctx, RKNN_QUERY_INPUT_ATTR, &in_attrs[i], sizeof(rknn_tensor_attr)) != RKNN_SUCC) return;
        total += in_attrs[i].size;
    }
    for (uint32_t i = 0; i < io.n_output; ++i) {
        out_attrs[i].index = i;
        if (rknn_query(ctx, RKNN_QUERY_OUTPUT_ATTR, &out_attrs[i], sizeof(rknn_tensor_attr)) != RKNN_SUCC) return;
        total += out_attrs[i].size;
    }
    rknn_mem_size mem{};
    if (rknn_query(ctx, RKNN_QUERY_MEM_SIZE, &mem, sizeof mem) == RKNN_SUCC) total += mem.total_internal_size;
    if (total > kMaxRunBytes) return;

    std::vector<std::vector<uint8_t>> buffers(io.n_input);
    std::vector<rknn_input> inputs(io.n_input);
    for (uint32_t i = 0; i < io.n_input; ++i) {
        buffers[i].assign(in_attrs[i].size ? in_attrs[i].size : 1, 0);
        std::memset(&inputs[i], 0, sizeof inputs[i]);
        inputs[i].index = i;
        inputs[i].buf = buffers[i].data();
        inputs[i].size = in_attrs[i].size;
        inputs[i].type = in_attrs[i].type;
        inputs[i].fmt = in_attrs[i].fmt;
    }
    if (io.n_input && rknn_inputs_set(ctx, io.n_input, inputs.data()) != RKNN_SUCC) return;
    if (rknn_run(ctx, nullptr) != RKNN_SUCC) return;

    std::vector<rknn_output> outputs(io.n_output);
    for (uint32_t i = 0; i < io.n_output; ++i) {
        std::memset(&outputs[i], 0, sizeof outputs[i]);
        outputs[i].index = i;
        outputs[i].want_float = static_cast<uint8_t>(i % 2);  // both the native and the float32 paths
    }
    if (io.n_output && rknn_outputs_get(ctx, io.n_output, outputs.data(), nullptr) == RKNN_SUCC) {
        rknn_outputs_release(ctx, io.n_output, outputs.data());
    }
}

}  // namespace

// A model may declare tensors of any size; the emulator refuses those beyond its memory budget at load time. Kept
// well under the fuzzer's -rss_limit_mb, so that a mutated shape is a refusal, not an out-of-memory finding.
extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    setenv("EZRKNN_EMU_MAX_MEMORY_MB", "512", 0);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    // size 0 would make rknn_init read `data` as a file path.
    if (size == 0 || size > UINT32_MAX) return 0;
    std::vector<uint8_t> model(data, data + size);
    rknn_context ctx = 0;
    if (rknn_init(&ctx, model.data(), static_cast<uint32_t>(size), 0, nullptr) != RKNN_SUCC) return 0;
    run_model(ctx);
    if (rknn_destroy(ctx) != RKNN_SUCC) std::abort();
    return 0;
}

#ifdef EZRKNN_FUZZ_REPLAY_MAIN
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

// Replays each file named, or each file inside each folder named; any finding crashes the process.
int main(int argc, char** argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    std::vector<std::filesystem::path> files;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        if (std::filesystem::is_directory(arg)) {
            for (const auto& entry : std::filesystem::directory_iterator(arg))
                if (entry.is_regular_file() && entry.path().filename().string()[0] != '.') files.push_back(entry.path());
        } else {
            files.push_back(arg);
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
        std::ifstream file(path, std::ios::binary);
        if (!file) {
            std::fprintf(stderr, "cannot read %s\n", path.c_str());
            return 2;
        }
        const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        std::printf("replaying %s (%zu bytes)\n", path.c_str(), bytes.size());
        std::fflush(stdout);
        LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    }
    std::printf("replayed %zu inputs\n", files.size());
    return 0;
}
#endif
