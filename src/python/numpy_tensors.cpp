// numpy arrays in and out of the engine. Inputs are borrowed (copied only when not C-contiguous or misaligned);
// outputs wrap the engine's storage through a capsule, so neither direction copies on the common path.
#include <bit>
#include <memory>
#include <optional>

#include "bindings.hpp"
#include "ezrknn/errors.hpp"

namespace ezrknn::python {
namespace {

bool native_byte_order(char order) {
    constexpr char kNative = std::endian::native == std::endian::little ? '<' : '>';
    return order == '=' || order == '|' || order == kNative;
}

std::string current_error_text() {
    py::error_already_set error;  // fetches and clears the pending Python error
    return error.what();
}

}  // namespace

// By equivalence (kind, size, byte order), not identity: dtype('<f4') is float32 on a little-endian host.
std::optional<ElementType> element_type_of(const py::dtype& dt) {
    if (!native_byte_order(dt.byteorder()) || dt.has_fields()) return std::nullopt;
    const auto size = dt.itemsize();
    switch (dt.kind()) {
        case 'f':
            if (size == 4) return ElementType::Float32;
            if (size == 2) return ElementType::Float16;
            break;
        case 'i':
            if (size == 1) return ElementType::Int8;
            if (size == 2) return ElementType::Int16;
            if (size == 4) return ElementType::Int32;
            if (size == 8) return ElementType::Int64;
            break;
        case 'u':
            if (size == 1) return ElementType::Uint8;
            if (size == 2) return ElementType::Uint16;
            if (size == 4) return ElementType::Uint32;
            break;
        case 'b':
            if (size == 1) return ElementType::Bool;
            break;
        default: break;
    }
    return std::nullopt;
}

py::dtype dtype_of(ElementType type) {
    switch (type) {
        case ElementType::Float32: return py::dtype::of<float>();
        case ElementType::Float16: return py::dtype("float16");
        case ElementType::Int8: return py::dtype::of<int8_t>();
        case ElementType::Uint8: return py::dtype::of<uint8_t>();
        case ElementType::Int16: return py::dtype::of<int16_t>();
        case ElementType::Uint16: return py::dtype::of<uint16_t>();
        case ElementType::Int32: return py::dtype::of<int32_t>();
        case ElementType::Uint32: return py::dtype::of<uint32_t>();
        case ElementType::Int64: return py::dtype::of<int64_t>();
        case ElementType::Bool: return py::dtype::of<bool>();
        default: break;
    }
    throw Error(std::string("output element type ") + element_type_name(type) + " has no numpy equivalent");
}

const char* numpy_name(ElementType type) {
    switch (type) {
        case ElementType::Float32:
        case ElementType::Float16: return "np.float32";  // float models take float32; the runtime converts
        case ElementType::Int8: return "np.int8";
        case ElementType::Uint8: return "np.uint8";
        case ElementType::Int16: return "np.int16";
        case ElementType::Uint16: return "np.uint16";
        case ElementType::Int32: return "np.int32";
        case ElementType::Uint32: return "np.uint32";
        case ElementType::Int64: return "np.int64";
        case ElementType::Bool: return "np.bool_";
        default: return "np.float32";
    }
}

InputArray to_input_array(py::handle value, const std::string& name, const char* suggested) {
    if (value.is_none()) throw_invalid_argument("Input '" + name + "' is None");
    auto& api = py::detail::npy_api::get();
    // np.ascontiguousarray semantics plus alignment: a view is used as is, anything else is copied once.
    constexpr int kFlags = py::detail::npy_api::NPY_ARRAY_ENSUREARRAY_ | py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ |
                           py::detail::npy_api::NPY_ARRAY_ALIGNED_;
    PyObject* raw = api.PyArray_FromAny_(value.ptr(), nullptr, 0, 0, kFlags, nullptr);
    if (raw == nullptr) {
        throw_invalid_argument("Input '" + name + "' must be a numpy array or convertible to one (got " +
                               Py_TYPE(value.ptr())->tp_name + "): " + current_error_text());
    }
    InputArray in;
    in.array = py::reinterpret_steal<py::array>(raw);
    const py::dtype dt = in.array.dtype();
    const std::optional<ElementType> type = element_type_of(dt);
    if (!type) {
        throw_invalid_argument("Unsupported numpy dtype for RKNN input '" + name + "': " +
                               py::str(dt).cast<std::string>() +
                               ". Supported: float32, float16, int8, uint8, int16, uint16, int32, uint32, int64, "
                               "bool (native byte order); convert it first, e.g. x.astype(" + suggested + ")");
    }
    in.view.data = in.array.data();
    in.view.nbytes = static_cast<size_t>(in.array.nbytes());
    in.view.type = *type;
    in.view.shape.assign(in.array.shape(), in.array.shape() + in.array.ndim());
    return in;
}

py::array to_numpy(Tensor&& tensor) {
    const py::dtype dt = dtype_of(tensor.type);
    std::vector<py::ssize_t> shape(tensor.shape.begin(), tensor.shape.end());
    std::vector<py::ssize_t> strides(shape.size());
    py::ssize_t stride = dt.itemsize();
    for (size_t i = shape.size(); i-- > 0;) {
        strides[i] = stride;
        stride *= shape[i];
    }
    if (tensor.data == nullptr) return py::array(dt, shape, strides);  // empty tensor: nothing to share
    auto owner = std::make_unique<std::shared_ptr<void>>(std::move(tensor.storage));
    py::capsule base(owner.get(), [](void* p) { delete static_cast<std::shared_ptr<void>*>(p); });
    owner.release();  // the capsule owns it now
    return py::array(dt, std::move(shape), std::move(strides), tensor.data, base);
}

}  // namespace ezrknn::python
