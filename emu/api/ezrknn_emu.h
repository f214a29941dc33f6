/*
 * Functions librknnrt_emu.so exports beside the RKNN C API, to identify itself. The engine finds them with
 * dlsym; their absence tells it that the loaded library is the vendor runtime.
 */
#ifndef EZRKNN_EMU_H
#define EZRKNN_EMU_H

#ifdef __cplusplus
extern "C" {
#endif

/* The emulator's version, e.g. "0.1.0". */
const char* ezrknn_emu_version(void);

/* Text of the last failure of an rknn_* call on the calling thread, naming the call, the reason and the RKNN
 * code; "" if none. Valid until the next failure on this thread. */
const char* ezrknn_emu_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* EZRKNN_EMU_H */
