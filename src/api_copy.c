/* STUB: public entry points (copy), to be written. */
#include "internal.h"
