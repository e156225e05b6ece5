/* y = (b <= 0) ? 0 : a (the ReLU gradient, PyTorch's threshold_backward: a = incoming gradient, b = relu output; a NaN b passes a), float32, elementwise, in the three row layouts of
 * src/ukernel.h ("elementwise binary rows"): plain C at the baseline ISA,
 * one element per step, one IEEE operation per element (-ffp-contract=off).
 * The twin that every ISA's micro-kernel of this op is tested against, and
 * the micro-kernel of NB_ISA_REF. */
#include <assert.h>

#include "ukernel.h"

void nb_f32_vrelugrad_ukernel__scalar(size_t n, const float *a, const float *b, float *y) {
    assert(n == 0 || (a && b && y));
    for (size_t i = 0; i < n; i++) y[i] = b[i] <= 0 ? 0.0f : a[i];
}

void nb_f32_vrelugradc_ukernel__scalar(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    for (size_t i = 0; i < n; i++) y[i] = c <= 0 ? 0.0f : a[i];
}

void nb_f32_vrrelugradc_ukernel__scalar(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    for (size_t i = 0; i < n; i++) y[i] = a[i] <= 0 ? 0.0f : c;
}
