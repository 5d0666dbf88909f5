/* cleave: library version. */
#include "cleave/model.h"

#ifndef CLEAVE_VERSION_STRING
#define CLEAVE_VERSION_STRING "0.0.0"
#endif

const char *cl_version(void) { return CLEAVE_VERSION_STRING; }
