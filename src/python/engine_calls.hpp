// What the session binding needs to call the engine from Python: the GIL released around engine calls (with
// Ctrl-C turned back into KeyboardInterrupt), outputs as numpy lists, run_async callbacks that take the GIL, and
// the engine's warnings raised on the calling Python thread.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "ezrknn/session.hpp"

namespace ezrknn::python {

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

// Checks for Ctrl-C from a thread that does not hold the GIL; a pending KeyboardInterrupt stays set for the caller.
bool python_interrupted();

// Runs `work` with the GIL released. An Interrupted wait re-raises the KeyboardInterrupt Python has pending.
template <typename F>
auto without_gil(F&& work) -> decltype(work()) {
    try {
        py::gil_scoped_release unlocked;
        return work();
    } catch (const Interrupted&) {
        if (PyErr_Occurred()) throw py::error_already_set();
        throw;
    }
}

// The engine's output tensors as a list of numpy arrays (no copy).
py::list to_list(std::vector<Tensor>&& tensors);

// None: the session's output_dtype provider option; else parsed as the provider option is.
std::optional<OutputDtype> run_output_dtype(const py::object& value);

// Keeps the caller's arrays alive while a task may still read them; released with the GIL wherever the last owner is.
std::shared_ptr<void> hold_arrays(const std::vector<InputArray>& arrays);

// The Python side of a run_async task: callback(results, user_data, err), called with the GIL on the callback
// thread. An exception from the callback is reported as unraisable; the engine carries on.
RunCallback python_callback(py::object callback, py::object user_data);

}  // namespace ezrknn::python
