/* STUB: public entry points (reduce), to be written. */
#include "internal.h"
