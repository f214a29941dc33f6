// _Session (the engine's Session for Python), NodeArg and ModelMetadata. The GIL is released while the engine
// loads a model or runs, so other Python threads keep going during the slow parts.
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "bindings.hpp"
#include "engine_calls.hpp"
#include "ezrknn/session.hpp"

namespace ezrknn::python {
namespace {

constexpr const char* kPackage = "ztu_somemodelruntime_ez_rknn_async";

// ONNX Runtime's ModelMetadata fields, from the engine's ezrknn::ModelMetadata.
struct PyModelMetadata {
    ModelMetadata meta;
    std::map<std::string, std::string> custom_metadata_map;
};

NodeArg node_arg(const TensorDesc& desc) { return {desc.name, desc.shape, onnx_type_string(desc.type)}; }

class PySession {
public:
    static std::unique_ptr<PySession> from_file(const std::string& path, py::handle options,
                                                py::handle weight_master) {
        return load(options, weight_master, [&](SessionConfig config) {
            return Session::from_file(path, std::move(config));
        });
    }

    static std::unique_ptr<PySession> from_bytes(py::handle data, py::handle options, py::handle weight_master) {
        ByteView bytes(data);
        return load(options, weight_master, [&](SessionConfig config) {
            return Session::from_bytes(bytes.data(), bytes.size(), std::move(config));
        });
    }

    ~PySession() {
        // Tearing down may wait for the engine's threads: never do that while holding the GIL.
        if (PyGILState_Check()) {
            py::gil_scoped_release unlocked;
            pipeline_.reset();
            session_.reset();
        } else {
            pipeline_.reset();
            session_.reset();
        }
    }

    const std::shared_ptr<Session>& session() const { return session_; }
    std::vector<NodeArg> inputs() const { return describe(session_->inputs()); }
    std::vector<NodeArg> outputs() const { return describe(session_->outputs()); }
    const std::string& custom_string() const { return session_->custom_string(); }
    uint64_t copied_bytes() const { return session_->copied_bytes(); }
    size_t context_count() const { return session_->context_count(); }

    PyModelMetadata model_metadata() const {
        PyModelMetadata out{session_->metadata(), {}};
        if (!out.meta.custom_string.empty()) out.custom_metadata_map["rknn_custom_string"] = out.meta.custom_string;
        return out;
    }

    py::dict memory_size() const {
        MemorySize m;
        {
            py::gil_scoped_release unlocked;
            m = session_->memory_size();
        }
        py::dict d;
        d["total_weight_size"] = m.total_weight_size;
        d["total_internal_size"] = m.total_internal_size;
        d["total_dma_allocated_size"] = m.total_dma_allocated_size;
        d["total_sram_size"] = m.total_sram_size;
        d["free_sram_size"] = m.free_sram_size;
        return d;
    }

    std::vector<std::string> custom_ops() const { return session_->custom_ops(); }

    py::dict runtime_info() const {
        const RuntimeInfo& info = session_->runtime();
        py::dict d;
        d["kind"] = info.kind;
        d["library_path"] = info.library_path;
        d["api_version"] = info.api_version;
        d["drv_version"] = info.drv_version;
        d["chosen_by"] = info.chosen_by;
        d["description"] = info.describe();
        return d;
    }

    // The options in effect after parsing, with Python types (the package renders them for get_provider_options).
    py::dict effective_options() const {
        const ProviderOptions& o = session_->options();
        py::dict d;
        d["layout"] = input_layout_name(o.layout);
        d["zero_copy_layout"] = zero_copy_layout_name(o.zero_copy_layout);
        d["max_queue_size"] = o.max_queue_size;
        d["threads_per_core"] = o.threads_per_core;
        d["submit_timeout_ms"] = o.submit_timeout_ms;
        d["sequential_callbacks"] = o.sequential_callbacks;
        d["schedule"] = o.schedule ? py::cast(*o.schedule) : py::none();
        d["tp_mode"] = o.tp_mode ? py::cast(*o.tp_mode) : py::none();
        d["enable_pacing"] = o.enable_pacing;
        d["disable_dup_context"] = o.disable_dup_context;
        d["custom_op_paths"] = o.custom_op_paths;
        d["custom_op_default_path"] = o.custom_op_default_path;
        d["runtime"] = o.runtime;
        d["output_dtype"] = output_dtype_name(o.output_dtype);
        return d;
    }

    // `inputs` in model order; `output_names` None (all outputs) or a sequence of names; `output_dtype` None (the
    // session's) or a run option value. The submission and the wait release the GIL; Ctrl-C during the wait
    // raises KeyboardInterrupt (the task keeps the arrays alive).
    py::list run(const py::sequence& inputs, const py::object& output_names, bool dispatch_batch,
                 const py::object& output_dtype) {
        SubmitOptions options = run_options(output_names, output_dtype);  // before the inputs: the contract's order
        std::vector<InputArray> arrays;
        std::vector<TensorView> views = input_views(inputs, arrays);
        options.keep_alive = hold_arrays(arrays);
        std::vector<Tensor> results = without_gil([&] {
            return dispatch_batch ? session_->run_batch(views, options) : session_->run_with_options(views, options);
        });
        warnings_->emit();
        return to_list(std::move(results));
    }

    // ORT-style run_async: callback(results, user_data, err) on the callback thread. Inputs are copied at submit.
    void run_async(const py::sequence& inputs, const py::object& output_names, py::object callback,
                   py::object user_data, const py::object& output_dtype) {
        if (callback.is_none() || !PyCallable_Check(callback.ptr())) throw_invalid_argument("callback must be callable");
        SubmitOptions options = run_options(output_names, output_dtype);
        std::vector<InputArray> arrays;
        std::vector<TensorView> views = input_views(inputs, arrays);
        options.copy_inputs = true;
        options.label = "run_async";
        RunCallback deliver = python_callback(std::move(callback), std::move(user_data));
        without_gil([&] { session_->submit(views, std::move(deliver), std::move(options)); });
    }

    // run_pipeline: None for the first `depth` calls, then the outputs of the call `depth` calls back.
    py::object run_pipeline(const py::sequence& inputs, size_t depth, bool reset) {
        if (depth == 0) throw_invalid_argument("pipeline depth must be > 0");
        std::vector<InputArray> arrays;
        std::vector<TensorView> views = input_views(inputs, arrays);
        SubmitOptions options;
        options.interrupted = python_interrupted;
        options.label = "run";
        std::optional<std::vector<Tensor>> results = without_gil([&]() -> std::optional<std::vector<Tensor>> {
            {
                std::lock_guard lock(pipeline_mutex_);
                if (!pipeline_) {
                    pipeline_ = std::make_unique<Pipeline>(session_, depth);
                } else if (reset || depth != pipeline_->depth()) {
                    pipeline_->reset(depth);
                }
            }
            std::optional<RunFuture> ready = pipeline_->submit(views, options);
            if (!ready) return std::nullopt;  // still filling: None is built once the GIL is back
            ready->wait(python_interrupted, "run_pipeline");
            return ready->get();
        });
        if (!results) return py::none();
        return to_list(std::move(*results));
    }

    // Results of every run_pipeline call still in flight, oldest first; raises the first failure after draining.
    py::list flush_pipeline() {
        std::vector<RunFuture> pending;
        {
            std::lock_guard lock(pipeline_mutex_);
            if (pipeline_) pending = pipeline_->flush();
        }
        std::vector<RunOutcome> outcomes = without_gil([&] {
            std::vector<RunOutcome> taken;
            for (RunFuture& f : pending) {
                f.wait(python_interrupted, "flush_pipeline");
                taken.push_back(f.take());
            }
            return taken;
        });
        py::list out;
        for (RunOutcome& o : outcomes) {
            if (!o.ok()) throw Error(o.error, o.rknn_code);
            out.append(to_list(std::move(o.outputs)));
        }
        return out;
    }

    // Waits (GIL released) until every run_async callback submitted so far has run.
    void wait_callbacks() {
        if (session_->on_callback_thread()) throw_invalid_argument("wait_callbacks cannot be called from a callback");
        py::gil_scoped_release unlocked;
        session_->wait_callbacks();
    }

    // Ends the engine: queued tasks fail with "closed", running ones finish, every callback runs.
    void close() {
        if (session_->on_callback_thread()) throw_invalid_argument("close() cannot be called from a callback");
        py::gil_scoped_release unlocked;
        session_->close();
    }

private:
    // What run and run_async share: the selected outputs, their dtype, and a Ctrl-C check for the waits.
    SubmitOptions run_options(const py::object& output_names, const py::object& output_dtype) const {
        SubmitOptions options;
        options.output_dtype = run_output_dtype(output_dtype);  // a run option: checked before the names
        if (!output_names.is_none()) {
            for (py::handle name : output_names) {
                if (!PyUnicode_Check(name.ptr())) {
                    throw_invalid_argument(std::string("output_names must contain str, got ") +
                                           Py_TYPE(name.ptr())->tp_name);
                }
                options.output_indices.push_back(session_->output_index(name.cast<std::string>()));
            }
        }
        options.interrupted = python_interrupted;
        return options;
    }

    std::vector<TensorView> input_views(const py::sequence& inputs, std::vector<InputArray>& arrays) const {
        const std::vector<TensorDesc>& descs = session_->inputs();
        if (inputs.size() != descs.size()) {
            throw_invalid_argument("Input list size mismatch: expected " + std::to_string(descs.size()) + ", got " +
                                   std::to_string(inputs.size()));
        }
        arrays.reserve(descs.size());
        std::vector<TensorView> views;
        views.reserve(descs.size());
        for (size_t i = 0; i < descs.size(); ++i) {
            arrays.push_back(to_input_array(inputs[i], descs[i].name, numpy_name(descs[i].type)));
            views.push_back(arrays.back().view);
        }
        return views;
    }

    PySession() = default;

    // Loads with the GIL released; the engine's warnings (e.g. a plugin's dlopen failure) are raised either way,
    // before a load error, since they explain it.
    template <typename Load>
    static std::unique_ptr<PySession> load(py::handle options, py::handle weight_master, Load&& load_session) {
        auto self = std::unique_ptr<PySession>(new PySession());
        SessionConfig config = self->make_config(options, weight_master);
        try {
            py::gil_scoped_release unlocked;
            self->session_ = load_session(std::move(config));
        } catch (...) {
            self->warnings_->emit();
            throw;
        }
        self->warnings_->emit();
        return self;
    }

    SessionConfig make_config(py::handle options, py::handle weight_master) {
        SessionConfig config;
        // The contract's order: the master's type first, then the options (anchor-behaviour.md §1.2).
        if (!weight_master.is_none()) {
            if (!py::isinstance<PySession>(weight_master)) {
                throw_invalid_argument("use_weight_from must be an InferenceSession or None");
            }
            const PySession& master = weight_master.cast<const PySession&>();
            if (!master.session_) throw_invalid_argument("use_weight_from must reference an initialized master session");
            config.weight_master = master.session_;
        }
        config.options = parse_provider_options(to_option_entries(options));  // before any model is loaded
        config.warning_sink = [queue = warnings_](const std::string& message) { queue->push(message); };
        return config;
    }

    static std::vector<NodeArg> describe(const std::vector<TensorDesc>& descs) {
        std::vector<NodeArg> args;
        args.reserve(descs.size());
        for (const TensorDesc& d : descs) args.push_back(node_arg(d));
        return args;
    }

    std::shared_ptr<Session> session_;
    std::mutex pipeline_mutex_;
    std::unique_ptr<Pipeline> pipeline_;  // run_pipeline's state, made by the first call
    std::shared_ptr<WarningQueue> warnings_ = std::make_shared<WarningQueue>();
};

}  // namespace

std::shared_ptr<Session> engine_session(py::handle session) {
    py::object target = py::reinterpret_borrow<py::object>(session);
    if (!py::isinstance<PySession>(target) && py::hasattr(target, "_sess")) target = target.attr("_sess");
    if (!py::isinstance<PySession>(target)) {
        throw_invalid_argument(std::string("session must be an InferenceSession, got ") +
                               Py_TYPE(session.ptr())->tp_name);
    }
    return target.cast<const PySession&>().session();
}

void register_session(py::module_& m) {
    py::class_<NodeArg> node_arg_cls(m, "NodeArg", "A model input or output: name, shape and ONNX type string.");
    node_arg_cls.def_property_readonly("name", [](const NodeArg& a) { return a.name; })
        .def_property_readonly("shape", [](const NodeArg& a) { return a.shape; })
        .def_property_readonly("type", [](const NodeArg& a) { return a.type; })
        .def("__repr__", [](const NodeArg& a) {
            return "NodeArg(name='" + a.name + "', type='" + a.type + "', shape=" + shape_to_string(a.shape) + ")";
        });
    node_arg_cls.attr("__module__") = kPackage;

    py::class_<PyModelMetadata> meta_cls(
        m, "ModelMetadata",
        "ONNX Runtime's ModelMetadata. RKNN models carry only a custom string (custom_metadata_map); the other "
        "fields say where the model came from and which runtime runs it.");
    meta_cls
        .def_property_readonly("custom_metadata_map",
                               [](const PyModelMetadata& m) { return m.custom_metadata_map; })
        .def_property_readonly("producer_name", [](const PyModelMetadata& m) { return m.meta.producer_name; })
        .def_property_readonly("graph_name", [](const PyModelMetadata& m) { return m.meta.graph_name; })
        .def_property_readonly("domain", [](const PyModelMetadata& m) { return m.meta.domain; })
        .def_property_readonly("description", [](const PyModelMetadata& m) { return m.meta.description; })
        .def_property_readonly("graph_description",
                               [](const PyModelMetadata& m) { return m.meta.graph_description; })
        .def_property_readonly("version", [](const PyModelMetadata& m) { return m.meta.version; })
        .def("__repr__", [](const PyModelMetadata& m) {
            return "ModelMetadata(producer_name='" + m.meta.producer_name + "', graph_name='" + m.meta.graph_name +
                   "', version=" + std::to_string(m.meta.version) + ")";
        });
    meta_cls.attr("__module__") = kPackage;

    py::class_<PySession>(m, "_Session", "The engine's session; InferenceSession is the public API.")
        .def_static("from_file", &PySession::from_file, py::arg("path"), py::arg("options") = py::none(),
                    py::arg("weight_master") = py::none())
        .def_static("from_bytes", &PySession::from_bytes, py::arg("data"), py::arg("options") = py::none(),
                    py::arg("weight_master") = py::none())
        .def_property_readonly("inputs", &PySession::inputs)
        .def_property_readonly("outputs", &PySession::outputs)
        .def_property_readonly("custom_string", &PySession::custom_string)
        .def_property_readonly("model_metadata", &PySession::model_metadata)
        .def_property_readonly("runtime_info", &PySession::runtime_info)
        .def_property_readonly("effective_options", &PySession::effective_options)
        .def_property_readonly("copied_bytes", &PySession::copied_bytes)
        .def_property_readonly("memory_size", &PySession::memory_size)
        .def_property_readonly("custom_ops", &PySession::custom_ops)
        .def_property_readonly("context_count", &PySession::context_count)
        .def("run", &PySession::run, py::arg("inputs"), py::arg("output_names") = py::none(),
             py::arg("dispatch_batch") = false, py::arg("output_dtype") = py::none())
        .def("run_async", &PySession::run_async, py::arg("inputs"), py::arg("output_names"), py::arg("callback"),
             py::arg("user_data") = py::none(), py::arg("output_dtype") = py::none())
        .def("run_pipeline", &PySession::run_pipeline, py::arg("inputs"), py::arg("depth") = 3,
             py::arg("reset") = false)
        .def("flush_pipeline", &PySession::flush_pipeline)
        .def("wait_callbacks", &PySession::wait_callbacks)
        .def("close", &PySession::close);
}

}  // namespace ezrknn::python
