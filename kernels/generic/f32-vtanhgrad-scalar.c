/* y = a * (1 - b * b) (tanh's gradient: a = incoming gradient, b = tanh output;
 * three roundings in this order, the tensor layer's composition), float32, elementwise, in the three row layouts of
 * src/ukernel.h ("elementwise binary rows"): plain C at the baseline ISA,
 * one element per step, each operation rounded (-ffp-contract=off). The
 * twin that every ISA's micro-kernel of this op is tested against, and the
 * micro-kernel of NB_ISA_REF. */
#include <assert.h>

#include "ukernel.h"

void nb_f32_vtanhgrad_ukernel__scalar(size_t n, const float *a, const float *b, float *y) {
    assert(n == 0 || (a && b && y));
    for (size_t i = 0; i < n; i++) y[i] = a[i] * (1.0f - b[i] * b[i]);
}

void nb_f32_vtanhgradc_ukernel__scalar(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    for (size_t i = 0; i < n; i++) y[i] = a[i] * (1.0f - c * c);
}

void nb_f32_vrtanhgradc_ukernel__scalar(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    for (size_t i = 0; i < n; i++) y[i] = c * (1.0f - a[i] * a[i]);
}
