/* Direct backward-filter tile for layers with few input channels (the 7x7
 * stride-2 stem), contract nb_conv_direct_bwf_ft in src/ukernel_convdirect.h.
 * ISA: AVX-512F.
 *
 * dw^T rows (c, r, s) for one (c, r) and up to 7 taps s, by up to 64
 * filters: acc[s][k] = sum over the pixels j of the block, in order, of
 * x_s(j) dy(j, k), one FMA chain from 0 a lane, then c = acc (add == 0) or
 * c = c + acc (one add): the SGEMM's own KC-block chain and epilogue, so
 * the bits are those of dw += dy col^T over the same pixel block.
 *
 * Register plan (32 zmm): 7 x 4 accumulators (taps x 16-filter vectors),
 * 3 dy vectors (pixel j's filters 16..63, from one contiguous 256-byte row
 * of the transposed dy; filters 0..15 are the FMAs' memory operand), one
 * broadcast image value at a time (x_s(j) = xs[s][off(j)]: the phase
 * planes make each tap's pixels of one output row contiguous). Per pixel:
 * 3 + 7 dy loads and 7 broadcasts for 28 FMAs (0.61 loads an FMA, under
 * the 2 loads a cycle), 28 independent chains. No column matrix, no B
 * panel: the GEMM path spent about a quarter of the stem's backward-filter
 * in im2col and packing.
 */
#include <assert.h>
#include <stddef.h>

#include <immintrin.h>

#include "ukernel.h"

static inline __attribute__((always_inline)) void tile(const int T, const int V, size_t kn,
                                                       size_t npix, size_t q0, size_t Q,
                                                       const float *const *xs, ptrdiff_t xrow,
                                                       const float *dyt, ptrdiff_t ldk, float *c,
                                                       int add) {
    __m512 acc[7][4];   /* every loop over t and v unrolled: acc lives in registers */
#pragma GCC unroll 7
    for (int t = 0; t < T; t++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) acc[t][v] = _mm512_setzero_ps();
    const __mmask16 last = (__mmask16)(kn - 16 * (size_t)(V - 1) >= 16 ? 0xFFFF
                                           : (1u << (kn - 16 * (size_t)(V - 1))) - 1);
    const float *x[7];
#pragma GCC unroll 7
    for (int t = 0; t < T; t++) x[t] = xs[t];
    size_t q = q0, left = npix;
    while (left) {
        const size_t run = Q - q < left ? Q - q : left;
        for (size_t j = q; j < q + run; j++) {
            /* V == 4: 28 accumulators + 4 dy + the broadcast would be 33
               zmm, so dy's first (always whole) vector is the FMAs' memory
               operand, reloaded for every tap (the empty asm keeps GCC from
               merging those loads into a register). */
            __m512 dy[4];
#pragma GCC unroll 4
            for (int v = V == 4 ? 1 : 0; v < V; v++)
                dy[v] = v == V - 1 ? _mm512_maskz_loadu_ps(last, dyt + 16 * v) : _mm512_loadu_ps(dyt + 16 * v);
#pragma GCC unroll 7
            for (int t = 0; t < T; t++) {
                const __m512 xv = _mm512_set1_ps(x[t][j]);
                if (V == 4) {
                    const float *d0 = dyt;
                    __asm__("" : "+r"(d0));
                    acc[t][0] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(d0), acc[t][0]);
                }
#pragma GCC unroll 4
                for (int v = V == 4 ? 1 : 0; v < V; v++) acc[t][v] = _mm512_fmadd_ps(xv, dy[v], acc[t][v]);
            }
            dyt += ldk;
        }
        left -= run;
        q = 0;
#pragma GCC unroll 7
        for (int t = 0; t < T; t++) x[t] += xrow;
    }
#pragma GCC unroll 7
    for (int t = 0; t < T; t++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) {
            const __mmask16 k = v == V - 1 ? last : (__mmask16)0xFFFF;
            float *cp = c + 64 * t + 16 * v;
            const __m512 r = add ? _mm512_add_ps(_mm512_maskz_loadu_ps(k, cp), acc[t][v]) : acc[t][v];
            _mm512_mask_storeu_ps(cp, k, r);
        }
}

#define NB_BWF_V(T)                                                                      \
    switch ((kn + 15) / 16) {                                                            \
    case 1: tile(T, 1, kn, npix, q0, Q, xs, xrow, dyt, ldk, c, add); break;              \
    case 2: tile(T, 2, kn, npix, q0, Q, xs, xrow, dyt, ldk, c, add); break;              \
    case 3: tile(T, 3, kn, npix, q0, Q, xs, xrow, dyt, ldk, c, add); break;              \
    default: tile(T, 4, kn, npix, q0, Q, xs, xrow, dyt, ldk, c, add); break;             \
    }

void nb_f32_conv_direct_bwf_ukernel_7x64__avx512(size_t taps, size_t kn, size_t npix, size_t q0,
                                                 size_t Q, const float *const *xs, ptrdiff_t xrow,
                                                 const float *dyt, ptrdiff_t ldk, float *c, int add) {
    assert(taps >= 1 && taps <= 7 && kn >= 1 && kn <= 64 && q0 < Q);
    switch (taps) {
    case 1: NB_BWF_V(1) break;
    case 2: NB_BWF_V(2) break;
    case 3: NB_BWF_V(3) break;
    case 4: NB_BWF_V(4) break;
    case 5: NB_BWF_V(5) break;
    case 6: NB_BWF_V(6) break;
    default: NB_BWF_V(7) break;
    }
}
