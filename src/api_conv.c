/* STUB: public entry points (conv), to be written. */
#include "internal.h"
