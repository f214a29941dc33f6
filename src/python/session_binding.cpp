// _Session (the engine's Session for Python), NodeArg and ModelMetadata. The GIL is released while the engine
// loads a model or runs, so other Python threads keep going during the slow parts.
#include <map>
#include <memory>
#include <mutex>

#include "bindings.hpp"
#include "ezrknn/session.hpp"

namespace ezrknn::python {
namespace {

constexpr const char* kPackage = "ztu_somemodelruntime_ez_rknn_async";

// ONNX Runtime's NodeArg: what get_inputs()/get_outputs() describe.
struct NodeArg {
    std::string name;
    std::vector<int64_t> shape;
    std::string type;
};

struct ModelMetadata {
    std::map<std::string, std::string> custom_metadata_map;
};

// Warnings the engine reports, possibly from a thread without the GIL; they are raised as UserWarning on the
// Python thread that made the call, once the engine has returned.
class WarningQueue {
public:
    void push(const std::string& message) {
        std::lock_guard lock(mutex_);
        pending_.push_back(message);
    }

    // With the GIL held. stacklevel 2: the frame that called the package's method, i.e. the user's code.
    void emit() {
        std::vector<std::string> messages;
        {
            std::lock_guard lock(mutex_);
            messages.swap(pending_);
        }
        for (const std::string& message : messages) {
            if (PyErr_WarnEx(PyExc_UserWarning, message.c_str(), 2) != 0) throw py::error_already_set();
        }
    }

private:
    std::mutex mutex_;
    std::vector<std::string> pending_;
};

NodeArg node_arg(const TensorDesc& desc) { return {desc.name, desc.shape, onnx_type_string(desc.type)}; }

// The contiguous bytes of a bytes/bytearray/memoryview, held for the duration of one call.
class ByteView {
public:
    explicit ByteView(py::handle object) {
        if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_C_CONTIGUOUS) != 0) throw py::error_already_set();
    }
    ~ByteView() { PyBuffer_Release(&view_); }
    ByteView(const ByteView&) = delete;
    ByteView& operator=(const ByteView&) = delete;
    const void* data() const { return view_.buf; }
    size_t size() const { return static_cast<size_t>(view_.len); }

private:
    Py_buffer view_{};
};

class PySession {
public:
    static std::unique_ptr<PySession> from_file(const std::string& path, py::handle options) {
        auto self = std::unique_ptr<PySession>(new PySession());
        SessionConfig config = self->make_config(options);
        {
            py::gil_scoped_release unlocked;
            self->session_ = Session::from_file(path, std::move(config));
        }
        self->warnings_->emit();
        return self;
    }

    static std::unique_ptr<PySession> from_bytes(py::handle data, py::handle options) {
        auto self = std::unique_ptr<PySession>(new PySession());
        SessionConfig config = self->make_config(options);
        ByteView bytes(data);
        {
            py::gil_scoped_release unlocked;
            self->session_ = Session::from_bytes(bytes.data(), bytes.size(), std::move(config));
        }
        self->warnings_->emit();
        return self;
    }

    ~PySession() {
        // Tearing down may wait for the engine's threads: never do that while holding the GIL.
        if (PyGILState_Check()) {
            py::gil_scoped_release unlocked;
            session_.reset();
        } else {
            session_.reset();
        }
    }

    std::vector<NodeArg> inputs() const { return describe(session_->inputs()); }
    std::vector<NodeArg> outputs() const { return describe(session_->outputs()); }
    const std::string& custom_string() const { return session_->custom_string(); }
    uint64_t copied_bytes() const { return session_->copied_bytes(); }
    size_t context_count() const { return session_->context_count(); }

    ModelMetadata model_metadata() const {
        ModelMetadata meta;
        const std::string& custom = session_->custom_string();
        if (!custom.empty()) meta.custom_metadata_map["rknn_custom_string"] = custom;
        return meta;
    }

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
        return d;
    }

    // `inputs` in model order; `output_names` None (all outputs) or a sequence of names.
    py::list run(const py::sequence& inputs, const py::object& output_names) {
        const std::vector<TensorDesc>& descs = session_->inputs();
        if (inputs.size() != descs.size()) {
            throw_invalid_argument("Input list size mismatch: expected " + std::to_string(descs.size()) + ", got " +
                                   std::to_string(inputs.size()));
        }
        // Output names first, then inputs: the contract's order when both are wrong.
        std::vector<size_t> indices;
        if (!output_names.is_none()) {
            for (py::handle name : output_names) {
                if (!PyUnicode_Check(name.ptr())) {
                    throw_invalid_argument(std::string("output_names must contain str, got ") +
                                           Py_TYPE(name.ptr())->tp_name);
                }
                indices.push_back(session_->output_index(name.cast<std::string>()));
            }
        }
        std::vector<InputArray> arrays;
        arrays.reserve(descs.size());
        std::vector<TensorView> views;
        views.reserve(descs.size());
        for (size_t i = 0; i < descs.size(); ++i) {
            arrays.push_back(to_input_array(inputs[i], descs[i].name, numpy_name(descs[i].type)));
            views.push_back(arrays.back().view);
        }
        std::vector<Tensor> results;
        {
            py::gil_scoped_release unlocked;
            results = session_->run(views, indices);
        }
        warnings_->emit();
        py::list out;
        for (Tensor& t : results) out.append(to_numpy(std::move(t)));
        return out;
    }

private:
    PySession() = default;

    SessionConfig make_config(py::handle options) {
        SessionConfig config;
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
    std::shared_ptr<WarningQueue> warnings_ = std::make_shared<WarningQueue>();
};

}  // namespace

void register_session(py::module_& m) {
    py::class_<NodeArg> node_arg_cls(m, "NodeArg", "A model input or output: name, shape and ONNX type string.");
    node_arg_cls.def_property_readonly("name", [](const NodeArg& a) { return a.name; })
        .def_property_readonly("shape", [](const NodeArg& a) { return a.shape; })
        .def_property_readonly("type", [](const NodeArg& a) { return a.type; })
        .def("__repr__", [](const NodeArg& a) {
            return "NodeArg(name='" + a.name + "', type='" + a.type + "', shape=" + shape_to_string(a.shape) + ")";
        });
    node_arg_cls.attr("__module__") = kPackage;

    py::class_<ModelMetadata> meta_cls(m, "ModelMetadata", "Model metadata; RKNN models carry only a custom string.");
    meta_cls.def_property_readonly("custom_metadata_map", [](const ModelMetadata& meta) {
        return meta.custom_metadata_map;
    });
    meta_cls.attr("__module__") = kPackage;

    py::class_<PySession>(m, "_Session", "The engine's session; InferenceSession is the public API.")
        .def_static("from_file", &PySession::from_file, py::arg("path"), py::arg("options") = py::none())
        .def_static("from_bytes", &PySession::from_bytes, py::arg("data"), py::arg("options") = py::none())
        .def_property_readonly("inputs", &PySession::inputs)
        .def_property_readonly("outputs", &PySession::outputs)
        .def_property_readonly("custom_string", &PySession::custom_string)
        .def_property_readonly("model_metadata", &PySession::model_metadata)
        .def_property_readonly("runtime_info", &PySession::runtime_info)
        .def_property_readonly("effective_options", &PySession::effective_options)
        .def_property_readonly("copied_bytes", &PySession::copied_bytes)
        .def_property_readonly("context_count", &PySession::context_count)
        .def("run", &PySession::run, py::arg("inputs"), py::arg("output_names") = py::none());
}

}  // namespace ezrknn::python
