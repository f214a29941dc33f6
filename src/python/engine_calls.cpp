// Calling the engine from Python: interrupt checks, output lists, kept-alive inputs and run_async callbacks.
#include "engine_calls.hpp"

namespace ezrknn::python {

bool python_interrupted() {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;
}

py::list to_list(std::vector<Tensor>&& tensors) {
    py::list list;
    for (Tensor& t : tensors) list.append(to_numpy(std::move(t)));
    return list;
}

std::optional<OutputDtype> run_output_dtype(const py::object& value) {
    if (value.is_none()) return std::nullopt;
    return parse_output_dtype(to_option_value(value));
}

std::shared_ptr<void> hold_arrays(const std::vector<InputArray>& arrays) {
    auto* held = new std::vector<py::object>();
    held->reserve(arrays.size());
    for (const InputArray& a : arrays) held->push_back(a.array);
    return std::shared_ptr<void>(held, [](void* p) {
        py::gil_scoped_acquire gil;
        delete static_cast<std::vector<py::object>*>(p);
    });
}

RunCallback python_callback(py::object callback, py::object user_data) {
    struct Held {
        py::object callback;
        py::object user_data;
    };
    // Normally the objects are dropped inside the call below, under its GIL, so the last owner needs no second
    // GIL hand-off; only a callback that never ran (its submission failed) still holds them here.
    std::shared_ptr<Held> held(new Held{std::move(callback), std::move(user_data)}, [](Held* p) {
        if (!p->callback && !p->user_data) {
            delete p;
            return;
        }
        py::gil_scoped_acquire gil;
        delete p;
    });
    return [held](RunOutcome&& outcome) {
        py::gil_scoped_acquire gil;
        try {
            py::object results = py::none();
            if (outcome.ok()) results = to_list(std::move(outcome.outputs));
            held->callback(results, held->user_data, outcome.error);
        } catch (py::error_already_set& e) {
            e.discard_as_unraisable(held->callback);
        } catch (const std::exception& e) {
            try {
                held->callback(py::none(), held->user_data, std::string(e.what()));
            } catch (py::error_already_set& again) {
                again.discard_as_unraisable(held->callback);
            }
        }
        held->callback = py::object();  // exactly one call per task: release them while the GIL is held
        held->user_data = py::object();
    };
}

}  // namespace ezrknn::python
