#ifndef C_LIB_FUZZER_H
#define C_LIB_FUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for programs that have their own main (libFuzzer 11 and later; the toolchain's
/// libclang_rt.fuzzer has it). SwiftPM names an executable's entry point `<Module>_main` and points `main` at
/// it, so each fuzzer defines that function and hands over to libFuzzer here.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
