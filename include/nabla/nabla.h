/* nabla — umbrella header: include this one. */
#ifndef NABLA_H
#define NABLA_H

#include <nabla/version.h>
#include <nabla/kernels.h>
#include <nabla/tensor.h>
#include <nabla/autograd.h>
#include <nabla/nn.h>
#include <nabla/data.h>

#endif
