/* One torch.optim.SGD step over n contiguous float32 parameters, in place
 * (src/ukernel.h, "optimiser updates"). AVX2: 8 floats per step, then one
 * masked step (no access outside [0, n)); any alignment. Separate
 * multiplies and adds (no FMA): the bits of nb_f32_sgd_ukernel__scalar. */
#include <assert.h>

#include "mask-avx2.h"
#include "ukernel.h"

#include <immintrin.h>

typedef struct {
    __m256 wd, mom, nlr;
    int has_wd, has_momentum, first;
} sgd_vec;

/* The step on one vector: p and buf in and out. */
static inline __m256 sgd_step(const sgd_vec *h, __m256 p, __m256 g, __m256 *buf) {
    __m256 d = h->has_wd ? _mm256_add_ps(g, _mm256_mul_ps(p, h->wd)) : g;
    if (h->has_momentum) {
        if (!h->first) d = _mm256_add_ps(_mm256_mul_ps(*buf, h->mom), d);
        *buf = d;
    }
    return _mm256_add_ps(p, _mm256_mul_ps(d, h->nlr));
}

void nb_f32_sgd_ukernel__avx2_u8(size_t n, float *p, const float *g, float *buf,
                                 const nb_sgd_hparams *hp) {
    assert(n == 0 || (p && g && hp && (buf || !hp->has_momentum)));
    const sgd_vec h = {_mm256_set1_ps(hp->wd), _mm256_set1_ps(hp->momentum), _mm256_set1_ps(hp->nlr),
                       hp->has_wd, hp->has_momentum, hp->first};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 b = h.has_momentum && !h.first ? _mm256_loadu_ps(buf + i) : _mm256_setzero_ps();
        const __m256 r = sgd_step(&h, _mm256_loadu_ps(p + i), _mm256_loadu_ps(g + i), &b);
        if (h.has_momentum) _mm256_storeu_ps(buf + i, b);
        _mm256_storeu_ps(p + i, r);
    }
    if (i < n) {
        const __m256i m = nb_avx2_lane_mask((int64_t)(n - i));
        __m256 b = h.has_momentum && !h.first ? _mm256_maskload_ps(buf + i, m) : _mm256_setzero_ps();
        const __m256 r = sgd_step(&h, _mm256_maskload_ps(p + i, m), _mm256_maskload_ps(g + i, m), &b);
        if (h.has_momentum) nb_avx2_maskstore_first(buf + i, m, b);
        nb_avx2_maskstore_first(p + i, m, r);
    }
}
