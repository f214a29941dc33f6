// OrtValue and SessionIOBinding (ONNX Runtime's names) over the engine's DeviceTensor and IoBinding. Glue only:
// argument parsing into engine types; every rule on shapes, layouts and sizes lives in the engine.
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "bindings.hpp"
#include "ezrknn/errors.hpp"
#include "ezrknn/io_binding.hpp"
#include "ezrknn/rknn_library.hpp"
#include "ezrknn/session.hpp"

namespace ezrknn::python {
namespace {

constexpr const char* kRawPointerMessage =
    "bind_input with raw buffer_ptr is not supported for RKNN device memory because RKNN zero-copy requires a "
    "dma-buf fd and a per-context rknn_create_mem_from_fd import. Use bind_cpu_input for CPU arrays, "
    "bind_ortvalue_input for RKNN OrtValue, or OrtValue.ortvalue_from_dmabuf for external dma-buf memory.";

bool is_device(const std::string& device_type) {
    if (device_type == "cpu") return false;
    if (device_type == "rknpu2") return true;
    throw_invalid_argument("device_type must be 'cpu' or 'rknpu2'");
}

IoKind parse_io_kind(const std::string& text) {
    if (text == "input") return IoKind::Input;
    if (text == "output") return IoKind::Output;
    throw_invalid_argument("io_kind must be 'input' or 'output'");
}

ElementType parse_element_type(py::handle element_type) {
    py::dtype dt;
    try {
        dt = py::dtype::from_args(py::reinterpret_borrow<py::object>(element_type));
    } catch (py::error_already_set& e) {
        throw_invalid_argument(std::string("element_type is not a numpy dtype: ") + e.what());
    }
    const std::optional<ElementType> type = element_type_of(dt);
    if (!type) throw_invalid_argument("Unsupported numpy dtype for RKNN input: " + py::str(dt).cast<std::string>());
    return *type;
}

std::vector<int64_t> parse_shape(py::handle shape) {
    if (py::isinstance<py::str>(shape) || !py::isinstance<py::sequence>(shape)) {
        throw_invalid_argument("shape must be a sequence of integers");
    }
    std::vector<int64_t> out;
    for (py::handle dim : py::reinterpret_borrow<py::sequence>(shape)) {
        int64_t v = 0;
        if (py::isinstance<py::bool_>(dim)) throw_invalid_argument("shape dim must be an integer");
        try {
            v = py::isinstance<py::str>(dim) ? std::stoll(dim.cast<std::string>()) : dim.cast<int64_t>();
        } catch (const std::exception&) {
            throw_invalid_argument("shape dim must be an integer");
        }
        if (v < 0) throw_invalid_argument("shape dims must be >= 0");
        out.push_back(v);
    }
    return out;
}

uint64_t parse_flags(py::handle flags) {
    if (flags.is_none()) return 0;
    if (py::isinstance<py::str>(flags)) return parse_mem_flags(flags.cast<std::string>());
    if (py::isinstance<py::int_>(flags) && !py::isinstance<py::bool_>(flags)) {
        return check_mem_flags(flags.cast<int64_t>());
    }
    throw_invalid_argument("mem_flags must be a string, integer, or None");
}

py::array contiguous(py::handle arr, const char* what) {
    if (!py::isinstance<py::array>(arr)) {
        throw py::type_error(std::string(what) + " must be a numpy.ndarray, got " + Py_TYPE(arr.ptr())->tp_name);
    }
    return py::module_::import("numpy").attr("ascontiguousarray")(arr);
}

// The last holder of a device value may tear down a session (its worker threads): never with the GIL held.
template <typename T>
void release_without_gil(std::shared_ptr<T>& p) {
    if (p && PyGILState_Check()) {
        py::gil_scoped_release unlocked;
        p.reset();
    }
}

struct OrtValue {
    std::optional<py::array> cpu;
    std::shared_ptr<DeviceTensor> device;

    OrtValue(std::optional<py::array> c, std::shared_ptr<DeviceTensor> d) : cpu(std::move(c)), device(std::move(d)) {}
    OrtValue() = default;
    OrtValue(const OrtValue&) = default;
    OrtValue(OrtValue&&) = default;
    ~OrtValue() { release_without_gil(device); }

    std::vector<int64_t> shape() const {
        if (device) return device->shape();
        return std::vector<int64_t>(cpu->shape(), cpu->shape() + cpu->ndim());
    }

    void update_inplace(py::handle src_obj) {
        py::array src = contiguous(src_obj, "update_inplace source");
        const std::vector<int64_t> got(src.shape(), src.shape() + src.ndim());
        if (got != shape()) {
            throw_invalid_argument("update_inplace source shape mismatch: expected " + shape_to_string(shape()) +
                                   ", got " + shape_to_string(got));
        }
        const py::dtype want = device ? dtype_of(device->type()) : cpu->dtype();
        if (!src.dtype().equal(want)) {
            throw_invalid_argument("update_inplace source element type mismatch: expected " +
                                   py::str(want).cast<std::string>() + ", got " +
                                   py::str(src.dtype()).cast<std::string>());
        }
        if (!device) {
            std::memcpy(cpu->mutable_data(), src.data(), static_cast<size_t>(src.nbytes()));
            return;
        }
        const void* data = src.data();
        const size_t nbytes = static_cast<size_t>(src.nbytes());
        py::gil_scoped_release unlocked;
        device->write(data, nbytes);
    }

    py::array numpy() const {
        if (!device) return *cpu;
        py::array out(dtype_of(device->type()), device->shape());
        void* data = out.mutable_data();
        const size_t nbytes = static_cast<size_t>(out.nbytes());
        {
            py::gil_scoped_release unlocked;
            device->read(data, nbytes);
        }
        return out;
    }

    py::dict memory_info() const {
        py::dict d;
        d["device_type"] = device ? "rknpu2" : "cpu";
        d["device_id"] = 0;
        if (!device) return d;
        const rknn_tensor_attr& a = device->attr();
        d["size"] = device->device_bytes();
        d["fd"] = device->fd();
        d["offset"] = device->offset();
        d["virt_addr"] = reinterpret_cast<uintptr_t>(device->data()) - device->offset();
        d["import_count"] = device->import_count();
        d["dmabuf_backed"] = device->dmabuf_backed();
        d["attr_size"] = a.size;
        d["size_with_stride"] = a.size_with_stride;
        d["w_stride"] = a.w_stride;
        d["h_stride"] = a.h_stride;
        d["fmt"] = static_cast<int>(a.fmt);
        d["pass_through"] = a.pass_through != 0;
        d["native_shape"] = std::vector<uint32_t>(a.dims, a.dims + a.n_dims);
        d["layout"] = value_layout_name(device->layout());
        d["mem_flags"] = device->mem_flags();  // rknn_tensor_mem.flags of the buffer rknn_create_mem2 returned
        return d;
    }
};

std::shared_ptr<DeviceTensor> device_of(const OrtValue& v, const char* call) {
    if (!v.device) throw_invalid_argument(std::string(call) + " requires an RKNN OrtValue");
    return v.device;
}

std::shared_ptr<ZeroCopyBackend> backend_of(py::handle session) {
    std::shared_ptr<Session> s = engine_session(session);
    py::gil_scoped_release unlocked;  // the first call creates the context
    return s->zero_copy_backend();
}

OrtValue from_numpy(py::handle arr, const std::string& device_type, int64_t, py::object name, py::object session,
                    py::object io_kind, const std::string& layout, bool) {
    py::array a = contiguous(arr, "arr");
    OrtValue v;
    if (!is_device(device_type)) {
        v.cpu = a;
        return v;
    }
    if (name.is_none() || session.is_none() || io_kind.is_none()) {
        throw_invalid_argument("session, name, and io_kind are required for RKNN OrtValue");
    }
    v.device = DeviceTensor::for_tensor(backend_of(session), parse_io_kind(io_kind.cast<std::string>()),
                                        name.cast<std::string>(), parse_value_layout(layout), 0);
    const py::dtype want = dtype_of(v.device->type());
    if (!a.dtype().equal(want)) a = a.attr("astype")(want);  // as ORT's factory: the tensor's dtype wins
    v.update_inplace(a);
    return v;
}

OrtValue from_shape_and_type(py::handle shape, py::handle element_type, const std::string& device_type, int64_t,
                             py::object name, py::object session, py::object io_kind, const std::string& layout,
                             py::handle mem_flags) {
    const std::vector<int64_t> dims = parse_shape(shape);
    const ElementType type = parse_element_type(element_type);
    const uint64_t flags = parse_flags(mem_flags);
    const ValueLayout value_layout = parse_value_layout(layout);
    OrtValue v;
    if (!is_device(device_type)) {
        v.cpu = py::array(dtype_of(type), dims);
        std::memset(v.cpu->mutable_data(), 0, static_cast<size_t>(v.cpu->nbytes()));
        return v;
    }
    if (name.is_none() || session.is_none() || io_kind.is_none()) {
        v.device = DeviceTensor::generic(RknnLibrary::load(""), dims, type, flags, value_layout);
        return v;
    }
    v.device = DeviceTensor::for_tensor(backend_of(session), parse_io_kind(io_kind.cast<std::string>()),
                                        name.cast<std::string>(), value_layout, flags, type, dims);
    return v;
}

OrtValue from_dmabuf(int fd, py::handle shape, py::handle element_type, uint64_t size, uint64_t offset,
                     py::object virt_addr, py::object session, py::object name, py::object io_kind,
                     const std::string& layout) {
    if (name.is_none() || session.is_none() || io_kind.is_none()) {
        throw_invalid_argument("session, name, and io_kind are required for dma-buf OrtValue");
    }
    void* virt = virt_addr.is_none() ? nullptr : reinterpret_cast<void*>(virt_addr.cast<uintptr_t>());
    OrtValue v;
    v.device = DeviceTensor::from_dmabuf(backend_of(session), parse_io_kind(io_kind.cast<std::string>()),
                                         name.cast<std::string>(), parse_value_layout(layout), fd, size, offset,
                                         virt, parse_element_type(element_type), parse_shape(shape));
    return v;
}

struct PyIoBinding {
    std::shared_ptr<IoBinding> binding;
    std::map<std::string, std::shared_ptr<DeviceTensor>> cpu_inputs;  // reused by bind_cpu_input

    explicit PyIoBinding(std::shared_ptr<IoBinding> b) : binding(std::move(b)) {}
    PyIoBinding(PyIoBinding&&) = default;
    ~PyIoBinding() {
        for (auto& [name, value] : cpu_inputs) release_without_gil(value);
        release_without_gil(binding);
    }

    void bind_cpu_input(const std::string& name, py::handle arr) {
        std::shared_ptr<DeviceTensor>& value = cpu_inputs[name];
        if (!value) {
            value = DeviceTensor::for_tensor(binding->backend(), IoKind::Input, name, ValueLayout::Native, 0);
        }
        OrtValue v{std::nullopt, value};
        const Session& session = binding->backend()->session();
        // Not an array: update_inplace below says so.
        if (py::array a = py::array::ensure(arr); a && session.dynamic_shapes()) {
            const std::vector<int64_t> got(a.shape(), a.shape() + a.ndim());
            if (got != value->shape()) {
                throw_invalid_argument("input '" + name + "' of this dynamic-shape model takes " +
                                       shape_to_string(value->shape()) + " in an io binding, got " +
                                       shape_to_string(got) + ": io binding serves the model's first shape set; "
                                       "run() serves every set");
            }
        }
        v.update_inplace(arr);
        binding->bind_input(name, value);
    }

    OrtValue bind_output(const std::string& name, const std::string& device_type, int64_t, py::object element_type,
                         py::object shape, py::object buffer_ptr, const std::string& layout, py::handle mem_flags) {
        if (!buffer_ptr.is_none()) {
            throw_invalid_argument("bind_output with raw buffer_ptr is not implemented; use bind_ortvalue_output or "
                                   "let bind_output allocate an OrtValue");
        }
        is_device(device_type);
        std::optional<ElementType> type;
        if (!element_type.is_none()) type = parse_element_type(element_type);
        std::optional<std::vector<int64_t>> dims;
        if (!shape.is_none()) dims = parse_shape(shape);
        return OrtValue{std::nullopt, binding->bind_new_output(name, parse_value_layout(layout), parse_flags(mem_flags),
                                                              type, dims)};
    }

    void run(py::handle session) {
        if (engine_session(session).get() != &binding->backend()->session()) {
            throw_invalid_argument("IOBinding belongs to a different session");
        }
        py::gil_scoped_release unlocked;
        binding->run();
    }
};

std::vector<NodeArg> native_args(py::handle session, IoKind kind) {
    std::shared_ptr<ZeroCopyBackend> backend = backend_of(session);
    std::vector<NodeArg> out;
    for (size_t i = 0; i < backend->count(kind); ++i) {
        const rknn_tensor_attr& a = backend->attr(kind, i, ValueLayout::Native);
        out.push_back({backend->desc(kind, i).name, std::vector<int64_t>(a.dims, a.dims + a.n_dims),
                       onnx_type_string(element_type_from_rknn(a.type))});
    }
    return out;
}

}  // namespace

void register_io_binding(py::module_& m) {
    py::class_<OrtValue> ov(m, "OrtValue", "ONNX Runtime's OrtValue: a numpy array (device 'cpu') or NPU memory "
                                           "(device 'rknpu2', a dma-buf shared between RKNN contexts).");
    ov.def_static("ortvalue_from_numpy", &from_numpy, py::arg("arr"), py::arg("device_type") = "cpu",
                  py::arg("device_id") = 0, py::kw_only(), py::arg("name") = py::none(),
                  py::arg("session") = py::none(), py::arg("io_kind") = py::none(), py::arg("layout") = "onnx",
                  py::arg("sync") = true)
        .def_static("ortvalue_from_shape_and_type", &from_shape_and_type, py::arg("shape"), py::arg("element_type"),
                    py::arg("device_type") = "cpu", py::arg("device_id") = 0, py::kw_only(),
                    py::arg("name") = py::none(), py::arg("session") = py::none(), py::arg("io_kind") = py::none(),
                    py::arg("layout") = "native", py::arg("mem_flags") = "cacheable")
        .def_static("ortvalue_from_dmabuf", &from_dmabuf, py::arg("fd"), py::arg("shape"), py::arg("element_type"),
                    py::kw_only(), py::arg("size"), py::arg("offset") = 0, py::arg("virt_addr") = py::none(),
                    py::arg("session") = py::none(), py::arg("name") = py::none(), py::arg("io_kind") = py::none(),
                    py::arg("layout") = "native")
        .def("numpy", &OrtValue::numpy)
        .def("update_inplace", &OrtValue::update_inplace, py::arg("np_arr"))
        .def("data_ptr", [](const OrtValue& v) -> uintptr_t {
            return v.device ? reinterpret_cast<uintptr_t>(v.device->data())
                            : reinterpret_cast<uintptr_t>(v.cpu->data());
        })
        .def("device_name", [](const OrtValue& v) { return v.device ? "rknpu2" : "cpu"; })
        .def("device_type", [](const OrtValue& v) { return v.device ? "rknpu2" : "cpu"; })
        .def("device_id", [](const OrtValue&) { return 0; })
        .def("shape", &OrtValue::shape)
        .def("element_type", [](const OrtValue& v) {
            std::optional<ElementType> t = v.device ? v.device->type() : element_type_of(v.cpu->dtype());
            return onnx_type_string(t.value_or(ElementType::Unknown));
        })
        .def("is_tensor", [](const OrtValue&) { return true; })
        .def("has_value", [](const OrtValue& v) { return !v.device || v.device->data() != nullptr; })
        .def("sync_to_device", [](OrtValue& v) { if (v.device) v.device->sync_to_device(); })
        .def("sync_from_device", [](OrtValue& v) { if (v.device) v.device->sync_from_device(); })
        .def("memory_info", &OrtValue::memory_info);

    py::class_<PyIoBinding> iob(m, "SessionIOBinding", "ONNX Runtime's IOBinding for one InferenceSession.");
    iob.def_static("_for_session",
                   [](py::handle session) { return PyIoBinding(std::make_shared<IoBinding>(backend_of(session))); })
        .def("bind_cpu_input", &PyIoBinding::bind_cpu_input, py::arg("name"), py::arg("arr_on_cpu"))
        .def("bind_input", [](PyIoBinding&, py::args, py::kwargs) { throw_invalid_argument(kRawPointerMessage); })
        .def("bind_ortvalue_input", [](PyIoBinding& b, const std::string& name, const OrtValue& v) {
            b.binding->bind_input(name, device_of(v, "bind_ortvalue_input"));
        }, py::arg("name"), py::arg("ortvalue"))
        .def("bind_ortvalue_output", [](PyIoBinding& b, const std::string& name, const OrtValue& v) {
            b.binding->bind_output(name, device_of(v, "bind_ortvalue_output"));
        }, py::arg("name"), py::arg("ortvalue"))
        .def("bind_output", &PyIoBinding::bind_output, py::arg("name"), py::arg("device_type") = "cpu",
             py::arg("device_id") = 0, py::arg("element_type") = py::none(), py::arg("shape") = py::none(),
             py::arg("buffer_ptr") = py::none(), py::kw_only(), py::arg("layout") = "native",
             py::arg("mem_flags") = "cacheable")
        .def("get_outputs", [](const PyIoBinding& b) {
            std::vector<OrtValue> out;
            for (auto& t : b.binding->outputs()) out.push_back(OrtValue{std::nullopt, t});
            return out;
        })
        .def("copy_outputs_to_cpu", [](const PyIoBinding& b) {
            py::list out;
            for (auto& t : b.binding->outputs()) out.append(OrtValue{std::nullopt, t}.numpy());
            return out;
        })
        .def("clear_binding_inputs", [](PyIoBinding& b) { b.binding->clear_inputs(); })
        .def("clear_binding_outputs", [](PyIoBinding& b) { b.binding->clear_outputs(); })
        .def("synchronize_inputs", [](PyIoBinding& b) { b.binding->synchronize_inputs(); })
        .def("synchronize_outputs", [](PyIoBinding& b) { b.binding->synchronize_outputs(); })
        .def("_run", &PyIoBinding::run, py::arg("session"));
    m.attr("IOBinding") = iob;
    m.def("_native_inputs", [](py::handle s) { return native_args(s, IoKind::Input); });
    m.def("_native_outputs", [](py::handle s) { return native_args(s, IoKind::Output); });
}

}  // namespace ezrknn::python
