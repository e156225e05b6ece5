/* 2-D transpose of 4-byte elements: dst[i * ldd + j] = src[j * lds + i],
 * 0 <= i < m, 0 <= j < n (src row i is read down column i of the source).
 *
 * Tile: 4x4 in registers (4 loads, 8 trn shuffles, 4 stores,
 * reduce-neon.h), four tiles side by side so each destination row gets 16
 * floats = one 64-byte cache line per step. Blocking as the AVX2 8x8
 * kernel: strips of 128 destination rows; the caller bounds n (the driver
 * passes at most 512 columns per call, so a call's source rows stay in the
 * TLB and L2 for the next strip); inside a strip, 16 source rows at a time
 * (prefetched one group ahead), so every source line is reused from L1 by
 * the next 4-row step and every destination line is written whole at once.
 * Edges (m or n not a multiple of 4): scalar.
 * nontemporal: ignored. A64 has non-temporal stores only as STNP (a pair
 * store with no C intrinsic in ACLE); the copy is correct without the hint
 * and this has not been measured on AArch64 hardware.
 * ISA: AArch64 NEON. Bit moves only (loads, trn, stores; no arithmetic):
 * exact, NaN payloads included. Other element sizes go through the
 * driver's generic element loop.
 */
#include <assert.h>
#include <string.h>

#include "reduce-neon.h"

/* Destination rows per strip: 128 source floats (512 bytes, 8 lines) are
   read from each source row per visit (the AVX2 kernel's measured choice;
   not re-measured on AArch64). */
#define STRIP_ROWS 128

/* The 4x4 tile at s (rows lds apart) transposed into out[0..4). */
static inline void tile4x4(const float *s, int64_t lds, float32x4_t out[4]) {
    out[0] = vld1q_f32(s);
    out[1] = vld1q_f32(s + lds);
    out[2] = vld1q_f32(s + 2 * lds);
    out[3] = vld1q_f32(s + 3 * lds);
    nb_neon_transpose4x4(out);
}

static inline void scalar_cols(const float *s, int64_t lds, float *d, int64_t ldd, int64_t i0,
                               int64_t i1, int64_t j0, int64_t j1) {
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) memcpy(d + i * ldd + j, s + j * lds + i, 4);
}

/* mi x nj block, mi <= STRIP_ROWS: d[i * ldd + j] = s[j * lds + i]. */
static void block(const float *s, int64_t lds, float *d, int64_t ldd, int64_t mi, int64_t nj) {
    int64_t j = 0;
    for (; j + 16 <= nj; j += 16) {
        /* The next 16 source rows: one prefetch per line of this strip. */
        if (j + 32 <= nj)
            for (int k = 16; k < 32; k++)
                for (int64_t c = 0; c < mi; c += 16) __builtin_prefetch(s + (j + k) * lds + c, 0, 3);
        int64_t i = 0;
        for (; i + 4 <= mi; i += 4) {
            float32x4_t a[4], b[4], c[4], e[4];
            tile4x4(s + j * lds + i, lds, a);
            tile4x4(s + (j + 4) * lds + i, lds, b);
            tile4x4(s + (j + 8) * lds + i, lds, c);
            tile4x4(s + (j + 12) * lds + i, lds, e);
            for (int k = 0; k < 4; k++) {
                float *o = d + (i + k) * ldd + j;
                vst1q_f32(o, a[k]);
                vst1q_f32(o + 4, b[k]);
                vst1q_f32(o + 8, c[k]);
                vst1q_f32(o + 12, e[k]);
            }
        }
        scalar_cols(s, lds, d, ldd, i, mi, j, j + 16);
    }
    for (; j + 4 <= nj; j += 4) {
        int64_t i = 0;
        for (; i + 4 <= mi; i += 4) {
            float32x4_t a[4];
            tile4x4(s + j * lds + i, lds, a);
            for (int k = 0; k < 4; k++) vst1q_f32(d + (i + k) * ldd + j, a[k]);
        }
        scalar_cols(s, lds, d, ldd, i, mi, j, j + 4);
    }
    scalar_cols(s, lds, d, ldd, 0, mi, j, nj);
}

void nb_x32_transpose_ukernel_4x4__neon(int64_t m, int64_t n, const void *src, int64_t lds,
                                        void *dst, int64_t ldd, int nontemporal) {
    assert(m >= 0 && n >= 0);
    (void)nontemporal;
    /* float loads/stores and trn move bits unchanged (no arithmetic). */
    const float *s = src;
    float *d = dst;
    for (int64_t i0 = 0; i0 < m; i0 += STRIP_ROWS)
        block(s + i0, lds, d + i0 * ldd, ldd, m - i0 < STRIP_ROWS ? m - i0 : STRIP_ROWS, n);
}
