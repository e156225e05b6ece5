/* nabla — umbrella header: include this one. */
#ifndef NABLA_H
#define NABLA_H

#include <nabla/version.h>
#include <nabla/kernels.h>

#endif
