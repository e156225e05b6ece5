/* y = (a == b) ? 1 : 0, float32, elementwise, in the three row layouts of
 * src/ukernel.h ("elementwise binary rows"): plain C at the baseline ISA,
 * one element per step, one IEEE operation per element (-ffp-contract=off).
 * The twin that every ISA's micro-kernel of this op is tested against, and
 * the micro-kernel of NB_ISA_REF. */
#include <assert.h>

#include "ukernel.h"

void nb_f32_veq_ukernel__scalar(size_t n, const float *a, const float *b, float *y) {
    assert(n == 0 || (a && b && y));
    for (size_t i = 0; i < n; i++) y[i] = a[i] == b[i] ? 1.0f : 0.0f;
}

void nb_f32_veqc_ukernel__scalar(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    for (size_t i = 0; i < n; i++) y[i] = a[i] == c ? 1.0f : 0.0f;
}

void nb_f32_vreqc_ukernel__scalar(size_t n, const float *a, float c, float *y) {
    assert(n == 0 || (a && y));
    for (size_t i = 0; i < n; i++) y[i] = c == a[i] ? 1.0f : 0.0f;
}
