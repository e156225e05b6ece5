/* One torch.optim.Adam step over n contiguous float32 parameters, in place
 * (src/ukernel.h, "optimiser updates"). NEON (AArch64): 4 floats per step,
 * then the tail through zero-padded stack vectors (no access outside
 * [0, n)); any alignment. vmulq/vaddq (never fused), IEEE vdivq/vsqrtq: the
 * bits of nb_f32_adam_ukernel__scalar. */
#include <assert.h>

#include "vbinary-neon.h"
#include "ukernel.h"

typedef struct {
    float32x4_t wd, b1, c1, b2, c2, bc2, eps, step;
    int has_wd;
} adam_vec;

static inline float32x4_t adam_step(const adam_vec *h, float32x4_t p, float32x4_t g, float32x4_t *m,
                                    float32x4_t *v) {
    if (h->has_wd) g = vaddq_f32(g, vmulq_f32(p, h->wd));
    const float32x4_t mi = vaddq_f32(vmulq_f32(*m, h->b1), vmulq_f32(g, h->c1));
    const float32x4_t vi = vaddq_f32(vmulq_f32(*v, h->b2), vmulq_f32(vmulq_f32(g, g), h->c2));
    *m = mi;
    *v = vi;
    const float32x4_t u = vaddq_f32(vsqrtq_f32(vdivq_f32(vi, h->bc2)), h->eps);
    return vaddq_f32(p, vmulq_f32(vdivq_f32(mi, u), h->step));
}

void nb_f32_adam_ukernel__neon_u4(size_t n, float *p, const float *g, float *m, float *v,
                                  const nb_adam_hparams *hp) {
    assert(n == 0 || (p && g && m && v && hp));
    const adam_vec h = {vdupq_n_f32(hp->wd), vdupq_n_f32(hp->b1), vdupq_n_f32(hp->c1),
                        vdupq_n_f32(hp->b2), vdupq_n_f32(hp->c2), vdupq_n_f32(hp->bc2),
                        vdupq_n_f32(hp->eps), vdupq_n_f32(hp->step), hp->has_wd};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t mv = vld1q_f32(m + i), vv = vld1q_f32(v + i);
        const float32x4_t r = adam_step(&h, vld1q_f32(p + i), vld1q_f32(g + i), &mv, &vv);
        vst1q_f32(m + i, mv);
        vst1q_f32(v + i, vv);
        vst1q_f32(p + i, r);
    }
    if (i < n) {
        const size_t k = n - i;
        float32x4_t mv = nb_neon_load_tail(m + i, k), vv = nb_neon_load_tail(v + i, k);
        const float32x4_t r = adam_step(&h, nb_neon_load_tail(p + i, k), nb_neon_load_tail(g + i, k), &mv, &vv);
        nb_neon_store_tail(m + i, mv, k);
        nb_neon_store_tail(v + i, vv, k);
        nb_neon_store_tail(p + i, r, k);
    }
}
