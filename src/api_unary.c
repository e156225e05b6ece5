/* STUB: public entry points (unary), to be written. */
#include "internal.h"
