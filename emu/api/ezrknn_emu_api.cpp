// The emulator's own exports: identification and the detailed reason of the last failure.
#include "api/api_guard.hpp"
#include "api/ezrknn_emu.h"
#include "api/log.hpp"
#include "api/runtime_version.hpp"

extern "C" {

EZEMU_EXPORT const char* ezrknn_emu_version(void) { return ezemu::api::emulator_version(); }

EZEMU_EXPORT const char* ezrknn_emu_last_error(void) { return ezemu::api::last_error(); }

}  // extern "C"
