// SwiftPM needs a source file in a C target; the declaration in include/CLibFuzzer.h is all there is.
#include "CLibFuzzer.h"
