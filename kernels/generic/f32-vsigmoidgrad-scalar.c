/* y = a * (b * (1 - b)) (sigmoid's gradient: a = incoming gradient,
 * b = sigmoid output; three roundings in this order, the tensor layer's composition), float32, elementwise, in the three row layouts of
 * src/ukernel.h ("elementwise binary rows"): plain C at the baseline ISA,
 * one element per step, each operation rounded (-ffp-contract=off). The
 * twin that every ISA's micro-kernel of this op is tested against, and the
 * micro-kernel of NB_ISA_REF. */
#include <assert.h>

#include "ukernel.h"

void nb_f32_vsigmoidgrad_ukernel__scalar(size_t n, const float *a, const float *b, float *y) {
    assert(n == 0 || (a && b && y));
    for (size_t i = 0; i < n; i++) y[i] = a[i] * (b[i] * (1.0f - b[i]));
}

void nb_f32_vsigmoidgradc_ukernel__scalar(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    for (size_t i = 0; i < n; i++) y[i] = a[i] * (c * (1.0f - c));
}

void nb_f32_vrsigmoidgradc_ukernel__scalar(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    for (size_t i = 0; i < n; i++) y[i] = c * (a[i] * (1.0f - a[i]));
}
