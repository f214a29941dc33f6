// Shared declarations of the pybind11 module `_core`: the glue between Python objects and the ezrknn engine.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ezrknn/options.hpp"
#include "ezrknn/tensor.hpp"

namespace ezrknn {
class Session;
}

namespace ezrknn::python {

namespace py = pybind11;

// ONNX Runtime's NodeArg: what get_inputs()/get_outputs() and get_native_inputs()/outputs() describe.
struct NodeArg {
    std::string name;
    std::vector<int64_t> shape;
    std::string type;
};

// module.cpp: the exception classes InvalidArgument and NotSupportedError, and the C++ → Python translation.
void register_errors(py::module_& m);
// A new InvalidArgument as a C++ exception, so the glue raises the same type the engine does.
[[noreturn]] void throw_invalid_argument(const std::string& message);

// option_values.cpp: a Python option value as the engine's tagged OptionValue (the engine validates it).
OptionValue to_option_value(py::handle value);
// A mapping of provider options, in its iteration order.
std::vector<std::pair<std::string, OptionValue>> to_option_entries(py::handle mapping);
void register_option_functions(py::module_& m);

// numpy_tensors.cpp: numpy arrays in and out.
struct InputArray {
    py::array array;  // keeps the (possibly copied) C-contiguous buffer alive while the engine reads it
    TensorView view;
};
// `suggested` is the dtype to propose when the array's dtype has no RKNN equivalent (e.g. "np.float32").
InputArray to_input_array(py::handle value, const std::string& name, const char* suggested);
// Wraps the engine's output storage without a copy; the array keeps the storage alive.
py::array to_numpy(Tensor&& tensor);
// The numpy name of an element type ("np.float32", ...), used in messages.
const char* numpy_name(ElementType type);
// A dtype as an element type, by equivalence (kind, size, native byte order); nullopt when RKNN has none.
std::optional<ElementType> element_type_of(const py::dtype& dt);
// The numpy dtype of an element type; Error for types numpy lacks.
py::dtype dtype_of(ElementType type);

// session_binding.cpp: _Session, NodeArg, ModelMetadata.
void register_session(py::module_& m);
// The engine session of an InferenceSession or _Session; InvalidArgument for anything else.
std::shared_ptr<Session> engine_session(py::handle session);

// ortvalue_binding.cpp: OrtValue, SessionIOBinding and the native attrs.
void register_io_binding(py::module_& m);

}  // namespace ezrknn::python
