// The private extension module `_core`: the Python package's only door into the engine. Glue only: every rule
// about options, shapes and dtypes lives in the engine, so C++ and Python users see the same behaviour.
#include <exception>

#include "bindings.hpp"
#include "ezrknn/errors.hpp"

namespace ezrknn::python {
namespace {

// Owned by the module for the life of the process; Python keeps one more reference in the module dict.
PyObject* g_invalid_argument = nullptr;
PyObject* g_not_supported = nullptr;

PyObject* new_exception_class(const char* qualified_name, const char* doc, PyObject* bases) {
    PyObject* cls = PyErr_NewExceptionWithDoc(qualified_name, doc, bases, nullptr);
    if (cls == nullptr) throw py::error_already_set();
    return cls;
}

void translate(std::exception_ptr error) {
    try {
        if (error) std::rethrow_exception(error);
    } catch (const InvalidArgument& e) {
        PyErr_SetString(g_invalid_argument, e.what());
    } catch (const NotSupported& e) {
        PyErr_SetString(g_not_supported, e.what());
    } catch (const Error& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    }
    // Anything else falls through to pybind11's own translators (runtime_error → RuntimeError, bad_alloc → ...).
}

}  // namespace

[[noreturn]] void throw_invalid_argument(const std::string& message) { throw InvalidArgument(message); }

void register_errors(py::module_& m) {
    // Both bases: the contract raised RuntimeError for bad input, while Python code expects ValueError.
    py::tuple both = py::make_tuple(py::handle(PyExc_RuntimeError), py::handle(PyExc_ValueError));
    g_invalid_argument = new_exception_class(
        "ztu_somemodelruntime_ez_rknn_async.InvalidArgument",
        "Bad input from the caller (option value, input name, shape or dtype). "
        "It is both a RuntimeError and a ValueError.",
        both.ptr());
    g_not_supported = new_exception_class(
        "ztu_somemodelruntime_ez_rknn_async.NotSupportedError",
        "A feature that the loaded RKNN runtime, or this version of the package, does not provide.",
        PyExc_RuntimeError);
    m.add_object("InvalidArgument", py::handle(g_invalid_argument));
    m.add_object("NotSupportedError", py::handle(g_not_supported));
    py::register_local_exception_translator(&translate);
}

}  // namespace ezrknn::python

PYBIND11_MODULE(_core, m) {
    using namespace ezrknn::python;
    m.doc() = "Private native core of ztu_somemodelruntime_ez_rknn_async; use the package's public API instead.";
    register_errors(m);
    register_option_functions(m);
    register_session(m);
    register_io_binding(m);
#ifdef EZRKNN_VERSION
    m.attr("_engine_version") = EZRKNN_VERSION;
#endif
}
