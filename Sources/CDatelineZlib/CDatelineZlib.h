#ifndef C_DATELINE_ZLIB_H
#define C_DATELINE_ZLIB_H

#include <zlib.h>

// zlib's init functions are macros, which Swift cannot call: these wrappers expose them.

/// deflateInit() for a zlib (RFC 1950) stream at the given level.
static inline int CDatelineZlib_deflateInit(z_streamp stream, int level) {
    return deflateInit(stream, level);
}

/// inflateInit() for a zlib (RFC 1950) stream.
static inline int CDatelineZlib_inflateInit(z_streamp stream) {
    return inflateInit(stream);
}

#endif
