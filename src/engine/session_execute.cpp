// One task on one context: checks and copies at submit (make_task), then rknn_inputs_set / rknn_run /
// rknn_outputs_get on the worker's context (execute), with the layout and dtype conversions the options ask for.
#include <climits>
#include <cstring>
#include <new>

#include "input_validation.hpp"
#include "session_impl.hpp"

namespace ezrknn {

std::unique_ptr<detail::Task> Session::Impl::make_task(const std::vector<TensorView>& in,
                                                       const SubmitOptions& opts) {
    const size_t n_in = inputs.size();
    if (in.size() != n_in) {
        throw InvalidArgument("Input count mismatch: expected " + std::to_string(n_in) + ", got " +
                              std::to_string(in.size()));
    }
    // A dynamic model takes any of its shape sets: each input is checked at the shapes of the set the inputs pick.
    const size_t shape_set = shape_sets.dynamic() ? shape_sets.find(in, inputs) : 0;
    for (size_t i = 0; i < n_in; ++i) {
        if (shape_sets.dynamic()) {
            TensorDesc desc = inputs[i];
            desc.shape = shape_sets.user[shape_set][i];
            detail::validate_input_view(desc, input_bindings[i].accepted_types, in[i]);
        } else {
            detail::validate_input_view(inputs[i], input_bindings[i].accepted_types, in[i]);
        }
        if (in[i].nbytes > UINT32_MAX) {
            throw InvalidArgument("Input '" + inputs[i].name + "' is too large for rknn_inputs_set (4 GiB limit)");
        }
    }
    for (size_t o : opts.output_indices) {
        if (o >= outputs.size()) {
            throw InvalidArgument("Output index " + std::to_string(o) + " is out of range; the model has " +
                                  std::to_string(outputs.size()) + " outputs");
        }
    }
    auto task = std::make_unique<detail::Task>();
    task->shape_set = shape_set;
    task->inputs = in;
    task->output_indices = opts.output_indices;
    task->native_outputs = opts.output_dtype.value_or(options.output_dtype) == OutputDtype::Native;
    if (task->native_outputs) {
        const size_t n_selected = opts.output_indices.empty() ? outputs.size() : opts.output_indices.size();
        for (size_t k = 0; k < n_selected; ++k) {
            const TensorDesc& out = outputs[opts.output_indices.empty() ? k : opts.output_indices[k]];
            if (element_size(out.type) == 0) {
                throw InvalidArgument("output_dtype 'native' cannot return output '" + out.name + "': its type " +
                                      element_type_name(out.type) + " has no array equivalent; use 'float32'");
            }
        }
    }
    if (opts.copy_inputs) {
        task->owned.reserve(n_in);
        for (TensorView& v : task->inputs) {
            std::unique_ptr<unsigned char[]> copy(new (std::nothrow) unsigned char[v.nbytes > 0 ? v.nbytes : 1]);
            if (!copy) throw Error("Failed to allocate " + std::to_string(v.nbytes) + " bytes to copy an input");
            if (v.nbytes > 0) std::memcpy(copy.get(), v.data, v.nbytes);
            copied_bytes.fetch_add(v.nbytes, std::memory_order_relaxed);
            v.data = copy.get();
            task->owned.push_back(std::move(copy));
        }
    } else {
        task->keep_alive = opts.keep_alive;
    }
    return task;
}

RunOutcome Session::Impl::execute(size_t context_index, detail::Task& task) {
    RunOutcome out;
    // Nothing may escape a worker: an exception here becomes this task's error (anchor-behaviour.md §14.8).
    try {
        const size_t n_in = inputs.size();
        const size_t n_out = outputs.size();
        // Inputs point at the task's copy or the caller's memory; only nchw_software stages a transposed copy.
        std::vector<std::unique_ptr<unsigned char[]>> staging;
        std::vector<rknn_input> rin(n_in);
        for (size_t i = 0; i < n_in; ++i) {
            const TensorView& view = task.inputs[i];
            const detail::InputBinding& b = input_bindings[i];
            rin[i].index = static_cast<uint32_t>(i);
            rin[i].size = static_cast<uint32_t>(view.nbytes);
            rin[i].pass_through = 0;
            rin[i].type = static_cast<rknn_tensor_type>(view.type);
            rin[i].fmt = static_cast<rknn_tensor_format>(b.layout.rknn_format);
            if (b.layout.software_transpose) {
                const std::vector<int64_t>& nchw = view.shape;
                std::unique_ptr<unsigned char[]> buf(new (std::nothrow) unsigned char[view.nbytes]);
                if (!buf) {
                    throw Error("Failed to allocate " + std::to_string(view.nbytes) + " bytes to transpose input '" +
                                inputs[i].name + "'");
                }
                detail::transpose_nchw_to_nhwc(view.data, buf.get(), static_cast<size_t>(nchw[0]),
                                               static_cast<size_t>(nchw[1]), static_cast<size_t>(nchw[2]),
                                               static_cast<size_t>(nchw[3]), element_size(view.type));
                copied_bytes.fetch_add(view.nbytes, std::memory_order_relaxed);
                rin[i].buf = buf.get();
                staging.push_back(std::move(buf));
            } else {
                rin[i].buf = const_cast<void*>(view.data);  // rknn_inputs_set reads it; the ABI just lacks const
            }
        }

        const rknn_context ctx = pool->context(context_index).handle();
        const detail::Shapes* dynamic_outputs = nullptr;  // a dynamic model's output shapes at the task's set
        if (shape_sets.dynamic()) {
            detail::ContextShape& current = context_shapes[context_index];
            detail::select_shape_set(*library, ctx, shape_sets, task.shape_set, input_attrs, n_out, current);
            dynamic_outputs = &current.outputs;
        }
        const auto output_shape = [&](size_t o) -> const std::vector<int64_t>& {
            return dynamic_outputs ? (*dynamic_outputs)[o] : outputs[o].shape;
        };

        // Every output is fetched (the runtime expects the full set); only the selected ones are returned. An
        // output that is not selected and has no array type is fetched as float32 (make_task refuses it selected).
        std::vector<std::shared_ptr<unsigned char[]>> buffers(n_out);
        std::vector<ElementType> types(n_out);
        std::vector<rknn_output> rout(n_out);
        for (size_t o = 0; o < n_out; ++o) {
            const bool native = task.native_outputs && element_size(outputs[o].type) > 0;
            types[o] = native ? outputs[o].type : ElementType::Float32;
            const size_t bytes = shape_element_count(output_shape(o)) * element_size(types[o]);
            if (bytes > UINT32_MAX) throw Error("Output '" + outputs[o].name + "' is too large for rknn_outputs_get");
            buffers[o].reset(new (std::nothrow) unsigned char[bytes > 0 ? bytes : 1]);
            if (!buffers[o]) throw Error("Failed to allocate output buffer for output " + std::to_string(o));
            rout[o].index = static_cast<uint32_t>(o);
            rout[o].want_float = native ? 0 : 1;
            rout[o].is_prealloc = 1;
            rout[o].buf = buffers[o].get();
            rout[o].size = static_cast<uint32_t>(bytes);
        }

        const RknnFunctions& fn = library->fn();
        if (int ret = fn.inputs_set(ctx, static_cast<uint32_t>(n_in), rin.data()); ret != RKNN_SUCC) {
            throw Error(library->error_message("rknn_inputs_set", ret), ret);
        }
        const auto started = std::chrono::steady_clock::now();
        if (int ret = fn.run(ctx, nullptr); ret != RKNN_SUCC) {
            throw Error(library->error_message("rknn_run", ret), ret);
        }
        const auto took =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
        if (pacer) pacer->record_run(took);
        const int64_t prev = run_us_average.load(std::memory_order_relaxed);
        // A racy EMA is fine here: it only decides whether run() may execute inline.
        run_us_average.store(prev < 0 ? took.count() : (prev * 7 + took.count()) / 8, std::memory_order_relaxed);
        const int ret = fn.outputs_get(ctx, static_cast<uint32_t>(n_out), rout.data(), nullptr);
        // The detail is thread-local and the next call may reset it: read it before releasing.
        const std::string failure = ret != RKNN_SUCC ? library->error_message("rknn_outputs_get", ret) : "";
        fn.outputs_release(ctx, static_cast<uint32_t>(n_out), rout.data());
        if (ret != RKNN_SUCC) throw Error(failure, ret);

        const std::vector<size_t>& selected = task.output_indices;
        const size_t n_selected = selected.empty() ? n_out : selected.size();
        out.outputs.reserve(n_selected);
        for (size_t k = 0; k < n_selected; ++k) {
            const size_t o = selected.empty() ? k : selected[k];
            Tensor t;
            t.storage = std::shared_ptr<void>(buffers[o], buffers[o].get());
            t.data = buffers[o].get();
            t.nbytes = shape_element_count(output_shape(o)) * element_size(types[o]);
            t.type = types[o];
            t.shape = output_shape(o);
            out.outputs.push_back(std::move(t));
        }
    } catch (const Error& e) {
        out.outputs.clear();
        out.error = e.what();
        out.rknn_code = e.rknn_code();
    } catch (const std::exception& e) {
        out.outputs.clear();
        out.error = std::string("task ") + std::to_string(task.id) + " failed: " + e.what();
    } catch (...) {
        out.outputs.clear();
        out.error = "task " + std::to_string(task.id) + " failed with an unknown exception";
    }
    return out;
}

}  // namespace ezrknn
