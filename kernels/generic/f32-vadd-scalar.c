/* y = a + b, float32, elementwise, in the three row layouts of
 * src/ukernel.h ("elementwise binary rows"): plain C at the baseline ISA,
 * one element per step, one IEEE operation per element (-ffp-contract=off).
 * The twin that every ISA's micro-kernel of this op is tested against, and
 * the micro-kernel of NB_ISA_REF. */
#include <assert.h>

#include "ukernel.h"

void nb_f32_vadd_ukernel__scalar(size_t n, const float *a, const float *b, float *y) {
    assert(n == 0 || (a && b && y));
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void nb_f32_vaddc_ukernel__scalar(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    for (size_t i = 0; i < n; i++) y[i] = a[i] + c;
}

void nb_f32_vraddc_ukernel__scalar(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    for (size_t i = 0; i < n; i++) y[i] = c + a[i];
}
