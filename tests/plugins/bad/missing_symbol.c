/* A library named like a plugin that does not export get_rknn_custom_op: the loader must refuse it with the dlsym
 * detail (anchor-behaviour.md §8), and a directory scan must warn about it and go on. */
__attribute__((visibility("default"))) int rkcst_missing_symbol_marker(void) { return 42; }
