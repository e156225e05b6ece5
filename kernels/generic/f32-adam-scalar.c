/* One torch.optim.Adam step over n contiguous float32 parameters, in place
 * (src/ukernel.h, "optimiser updates"): plain C at the baseline ISA, one
 * element per step, each operation rounded as written (sqrtf is correctly
 * rounded). The twin of every ISA's Adam micro-kernel, and NB_ISA_REF's. */
#include <assert.h>
#include <math.h>

#include "ukernel.h"

void nb_f32_adam_ukernel__scalar(size_t n, float *p, const float *g, float *m, float *v,
                                 const nb_adam_hparams *h) {
    assert(n == 0 || (p && g && m && v && h));
    for (size_t i = 0; i < n; i++) {
        const float gi = h->has_wd ? g[i] + p[i] * h->wd : g[i];
        const float mi = m[i] * h->b1 + gi * h->c1;
        const float vi = v[i] * h->b2 + (gi * gi) * h->c2;
        m[i] = mi;
        v[i] = vi;
        const float u = sqrtf(vi / h->bc2) + h->eps;
        p[i] = p[i] + (mi / u) * h->step;
    }
}
