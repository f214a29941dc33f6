// Python option values → the engine's tagged OptionValue. Only the Python type is decided here; whether a value
// is acceptable for its key is the engine's call (parse_provider_options), one source of truth for every caller.
#include <climits>

#include "bindings.hpp"

namespace ezrknn::python {
namespace {

using Kind = OptionValue::Kind;

std::string type_name(py::handle value) { return Py_TYPE(value.ptr())->tp_name; }

// Out-of-range ints saturate, so the engine's range check ("must be <= N") names the problem.
int64_t saturating_int64(py::handle value) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    if (overflow > 0) return INT64_MAX;
    if (overflow < 0) return INT64_MIN;
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    return static_cast<int64_t>(v);
}

bool is_numpy_bool(py::handle value) {
    // numpy is loaded whenever arrays are in play; a value of its bool type cannot exist without it.
    py::object numpy = py::module_::import("sys").attr("modules").attr("get")("numpy");
    return !numpy.is_none() && py::isinstance(value, numpy.attr("bool_"));
}

}  // namespace

OptionValue to_option_value(py::handle value) {
    OptionValue o;
    o.type_name = type_name(value);
    PyObject* p = value.ptr();
    if (value.is_none()) {
        o.kind = Kind::None;
    } else if (PyBool_Check(p) || is_numpy_bool(value)) {  // before int: bool is an int subclass in Python
        o.kind = Kind::Bool;
        o.b = PyObject_IsTrue(p) == 1;
    } else if (PyLong_Check(p)) {
        o.kind = Kind::Int;
        o.i = saturating_int64(value);
    } else if (PyFloat_Check(p)) {
        o.kind = Kind::Float;
        o.f = PyFloat_AsDouble(p);
    } else if (PyIndex_Check(p)) {  // numpy integers behave as ints wherever Python takes an index
        py::object as_int = py::reinterpret_steal<py::object>(PyNumber_Index(p));
        if (!as_int) throw py::error_already_set();
        o.kind = Kind::Int;
        o.i = saturating_int64(as_int);
    } else if (PyUnicode_Check(p)) {
        o.kind = Kind::String;
        o.s = value.cast<std::string>();
    } else if (py::hasattr(value, "__fspath__")) {
        o.kind = Kind::Path;
        o.s = py::module_::import("os").attr("fsdecode")(value).cast<std::string>();
    } else if (PyList_Check(p) || PyTuple_Check(p)) {
        o.kind = Kind::List;
        for (py::handle item : value) o.items.push_back(to_option_value(item));
    } else {
        o.kind = Kind::Other;
    }
    return o;
}

std::vector<std::pair<std::string, OptionValue>> to_option_entries(py::handle mapping) {
    std::vector<std::pair<std::string, OptionValue>> entries;
    if (mapping.is_none()) return entries;
    if (!PyDict_Check(mapping.ptr())) {
        throw_invalid_argument("provider_options must be a dict or a sequence whose first element is a dict");
    }
    for (auto [key, value] : py::reinterpret_borrow<py::dict>(mapping)) {
        if (!PyUnicode_Check(key.ptr())) {
            throw_invalid_argument("provider_options keys must be strings, got " + type_name(key) + " " +
                                   py::repr(key).cast<std::string>());
        }
        entries.emplace_back(key.cast<std::string>(), to_option_value(value));
    }
    return entries;
}

void register_option_functions(py::module_& m) {
    m.def(
        "provider_option_keys", [] { return provider_option_keys(); },
        "Every accepted provider_options key, aliases included.");
    m.def(
        "validate_provider_options",
        [](const py::dict& options) { parse_provider_options(to_option_entries(options)); },
        py::arg("options"), "Raises InvalidArgument with the engine's message when an option is invalid.");
}

}  // namespace ezrknn::python
