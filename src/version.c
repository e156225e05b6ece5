#include <nabla/version.h>
#include "internal.h"

const char *nb_version(void) { return NB_VERSION_STRING; }
