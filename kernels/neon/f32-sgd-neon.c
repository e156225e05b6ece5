/* One torch.optim.SGD step over n contiguous float32 parameters, in place
 * (src/ukernel.h, "optimiser updates"). NEON (AArch64): 4 floats per step,
 * then the tail through zero-padded stack vectors (no access outside
 * [0, n)); any alignment. vmulq/vaddq, never vfmaq/vmlaq: the bits of
 * nb_f32_sgd_ukernel__scalar. */
#include <assert.h>

#include "vbinary-neon.h"
#include "ukernel.h"

typedef struct {
    float32x4_t wd, mom, nlr;
    int has_wd, has_momentum, first;
} sgd_vec;

static inline float32x4_t sgd_step(const sgd_vec *h, float32x4_t p, float32x4_t g, float32x4_t *buf) {
    float32x4_t d = h->has_wd ? vaddq_f32(g, vmulq_f32(p, h->wd)) : g;
    if (h->has_momentum) {
        if (!h->first) d = vaddq_f32(vmulq_f32(*buf, h->mom), d);
        *buf = d;
    }
    return vaddq_f32(p, vmulq_f32(d, h->nlr));
}

void nb_f32_sgd_ukernel__neon_u4(size_t n, float *p, const float *g, float *buf,
                                 const nb_sgd_hparams *hp) {
    assert(n == 0 || (p && g && hp && (buf || !hp->has_momentum)));
    const sgd_vec h = {vdupq_n_f32(hp->wd), vdupq_n_f32(hp->momentum), vdupq_n_f32(hp->nlr),
                       hp->has_wd, hp->has_momentum, hp->first};
    const int read_buf = h.has_momentum && !h.first;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t b = read_buf ? vld1q_f32(buf + i) : vdupq_n_f32(0.0f);
        const float32x4_t r = sgd_step(&h, vld1q_f32(p + i), vld1q_f32(g + i), &b);
        if (h.has_momentum) vst1q_f32(buf + i, b);
        vst1q_f32(p + i, r);
    }
    if (i < n) {
        const size_t k = n - i;
        float32x4_t b = read_buf ? nb_neon_load_tail(buf + i, k) : vdupq_n_f32(0.0f);
        const float32x4_t r = sgd_step(&h, nb_neon_load_tail(p + i, k), nb_neon_load_tail(g + i, k), &b);
        if (h.has_momentum) nb_neon_store_tail(buf + i, b, k);
        nb_neon_store_tail(p + i, r, k);
    }
}
