/* One torch.optim.SGD / Adam step over n contiguous float32 parameters, in
 * place (src/ukernel.h, "optimiser updates"). AVX-512: 16 floats per step,
 * the last 1..15 as one masked step (no access outside [0, n)); any
 * alignment. Separate multiplies and adds (no FMA), IEEE division and
 * square root, each operation in the order the contract writes: the bits
 * of nb_f32_sgd_ukernel__scalar / nb_f32_adam_ukernel__scalar.
 */
#include <assert.h>

#include <immintrin.h>

#include "ukernel.h"

static inline __mmask16 lanes(size_t left) {
    return (__mmask16)(left >= 16 ? 0xffffu : (1u << left) - 1u);
}

typedef struct {
    __m512 wd, mom, nlr;
    int has_wd, has_momentum, first;
} sgd_vec;

/* The SGD step on one vector: p and buf in and out. */
static inline __m512 sgd_step(const sgd_vec *h, __m512 p, __m512 g, __m512 *buf) {
    __m512 d = h->has_wd ? _mm512_add_ps(g, _mm512_mul_ps(p, h->wd)) : g;
    if (h->has_momentum) {
        if (!h->first) d = _mm512_add_ps(_mm512_mul_ps(*buf, h->mom), d);
        *buf = d;
    }
    return _mm512_add_ps(p, _mm512_mul_ps(d, h->nlr));
}

void nb_f32_sgd_ukernel__avx512_u16(size_t n, float *p, const float *g, float *buf,
                                    const nb_sgd_hparams *hp) {
    assert(n == 0 || (p && g && hp && (buf || !hp->has_momentum)));
    const sgd_vec h = {_mm512_set1_ps(hp->wd), _mm512_set1_ps(hp->momentum), _mm512_set1_ps(hp->nlr),
                       hp->has_wd, hp->has_momentum, hp->first};
    const int read_buf = h.has_momentum && !h.first;
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 k = lanes(n - i);
        __m512 b = read_buf ? _mm512_maskz_loadu_ps(k, buf + i) : _mm512_setzero_ps();
        const __m512 r = sgd_step(&h, _mm512_maskz_loadu_ps(k, p + i), _mm512_maskz_loadu_ps(k, g + i), &b);
        if (h.has_momentum) _mm512_mask_storeu_ps(buf + i, k, b);
        _mm512_mask_storeu_ps(p + i, k, r);
    }
}

typedef struct {
    __m512 wd, b1, c1, b2, c2, bc2, eps, step;
    int has_wd;
} adam_vec;

/* The Adam step on one vector: p, m and v in and out. */
static inline __m512 adam_step(const adam_vec *h, __m512 p, __m512 g, __m512 *m, __m512 *v) {
    if (h->has_wd) g = _mm512_add_ps(g, _mm512_mul_ps(p, h->wd));
    const __m512 mi = _mm512_add_ps(_mm512_mul_ps(*m, h->b1), _mm512_mul_ps(g, h->c1));
    const __m512 vi = _mm512_add_ps(_mm512_mul_ps(*v, h->b2), _mm512_mul_ps(_mm512_mul_ps(g, g), h->c2));
    *m = mi;
    *v = vi;
    const __m512 u = _mm512_add_ps(_mm512_sqrt_ps(_mm512_div_ps(vi, h->bc2)), h->eps);
    return _mm512_add_ps(p, _mm512_mul_ps(_mm512_div_ps(mi, u), h->step));
}

void nb_f32_adam_ukernel__avx512_u16(size_t n, float *p, const float *g, float *m, float *v,
                                     const nb_adam_hparams *hp) {
    assert(n == 0 || (p && g && m && v && hp));
    const adam_vec h = {_mm512_set1_ps(hp->wd), _mm512_set1_ps(hp->b1), _mm512_set1_ps(hp->c1),
                        _mm512_set1_ps(hp->b2), _mm512_set1_ps(hp->c2), _mm512_set1_ps(hp->bc2),
                        _mm512_set1_ps(hp->eps), _mm512_set1_ps(hp->step), hp->has_wd};
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 k = lanes(n - i);
        __m512 mv = _mm512_maskz_loadu_ps(k, m + i), vv = _mm512_maskz_loadu_ps(k, v + i);
        const __m512 r = adam_step(&h, _mm512_maskz_loadu_ps(k, p + i), _mm512_maskz_loadu_ps(k, g + i), &mv, &vv);
        _mm512_mask_storeu_ps(m + i, k, mv);
        _mm512_mask_storeu_ps(v + i, k, vv);
        _mm512_mask_storeu_ps(p + i, k, r);
    }
}
