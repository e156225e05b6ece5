/* One torch.optim.SGD step over n contiguous float32 parameters, in place
 * (src/ukernel.h, "optimiser updates"): plain C at the baseline ISA, one
 * element per step, each operation rounded as written. The twin of every
 * ISA's SGD micro-kernel, and NB_ISA_REF's. */
#include <assert.h>

#include "ukernel.h"

void nb_f32_sgd_ukernel__scalar(size_t n, float *p, const float *g, float *buf,
                                const nb_sgd_hparams *h) {
    assert(n == 0 || (p && g && h && (buf || !h->has_momentum)));
    const float wd = h->wd, mom = h->momentum, nlr = h->nlr;
    for (size_t i = 0; i < n; i++) {
        float d = h->has_wd ? g[i] + p[i] * wd : g[i];
        if (h->has_momentum) {
            if (!h->first) d = buf[i] * mom + d;
            buf[i] = d;
        }
        p[i] = p[i] + d * nlr;
    }
}
