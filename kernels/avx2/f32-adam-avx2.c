/* One torch.optim.Adam step over n contiguous float32 parameters, in place
 * (src/ukernel.h, "optimiser updates"). AVX2: 8 floats per step, then one
 * masked step (no access outside [0, n)); any alignment. Separate
 * multiplies and adds (no FMA), IEEE division and square root: the bits of
 * nb_f32_adam_ukernel__scalar. */
#include <assert.h>

#include "mask-avx2.h"
#include "ukernel.h"

#include <immintrin.h>

typedef struct {
    __m256 wd, b1, c1, b2, c2, bc2, eps, step;
    int has_wd;
} adam_vec;

/* The step on one vector: p, m and v in and out. */
static inline __m256 adam_step(const adam_vec *h, __m256 p, __m256 g, __m256 *m, __m256 *v) {
    if (h->has_wd) g = _mm256_add_ps(g, _mm256_mul_ps(p, h->wd));
    const __m256 mi = _mm256_add_ps(_mm256_mul_ps(*m, h->b1), _mm256_mul_ps(g, h->c1));
    const __m256 vi = _mm256_add_ps(_mm256_mul_ps(*v, h->b2), _mm256_mul_ps(_mm256_mul_ps(g, g), h->c2));
    *m = mi;
    *v = vi;
    const __m256 u = _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(vi, h->bc2)), h->eps);
    return _mm256_add_ps(p, _mm256_mul_ps(_mm256_div_ps(mi, u), h->step));
}

void nb_f32_adam_ukernel__avx2_u8(size_t n, float *p, const float *g, float *m, float *v,
                                  const nb_adam_hparams *hp) {
    assert(n == 0 || (p && g && m && v && hp));
    const adam_vec h = {_mm256_set1_ps(hp->wd), _mm256_set1_ps(hp->b1), _mm256_set1_ps(hp->c1),
                        _mm256_set1_ps(hp->b2), _mm256_set1_ps(hp->c2), _mm256_set1_ps(hp->bc2),
                        _mm256_set1_ps(hp->eps), _mm256_set1_ps(hp->step), hp->has_wd};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 mv = _mm256_loadu_ps(m + i), vv = _mm256_loadu_ps(v + i);
        const __m256 r = adam_step(&h, _mm256_loadu_ps(p + i), _mm256_loadu_ps(g + i), &mv, &vv);
        _mm256_storeu_ps(m + i, mv);
        _mm256_storeu_ps(v + i, vv);
        _mm256_storeu_ps(p + i, r);
    }
    if (i < n) {
        const __m256i k = nb_avx2_lane_mask((int64_t)(n - i));
        __m256 mv = _mm256_maskload_ps(m + i, k), vv = _mm256_maskload_ps(v + i, k);
        const __m256 r = adam_step(&h, _mm256_maskload_ps(p + i, k), _mm256_maskload_ps(g + i, k), &mv, &vv);
        nb_avx2_maskstore_first(m + i, k, mv);
        nb_avx2_maskstore_first(v + i, k, vv);
        nb_avx2_maskstore_first(p + i, k, r);
    }
}
