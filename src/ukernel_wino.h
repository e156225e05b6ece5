/* The Winograd F(4x4, 3x3) transform micro-kernels' contract (private),
 * included by src/ukernel.h: kernels/ include only ukernel.h. */
#ifndef NB_UKERNEL_WINO_H
#define NB_UKERNEL_WINO_H

#include <stddef.h>
#include <stdint.h>

/* ---- Winograd F(4x4, 3x3) transforms (src/conv_winograd.c) ----
 * Points 0, +-1, +-2, infinity (Lavin and Gray's B^T, G, A^T: the matrices,
 * the bound and the layout choices are in src/conv_winograd.c). A 6x6
 * input tile d becomes V = B^T d B, a 3x3 filter g U = G g G^T, the 4x4
 * output tile A^T (sum over channels of U o V) A; point xi = 6 mu + nu.
 * Every kernel does the 1-D transforms with exactly these operations
 * (separate multiplies and adds, no FMA: -ffp-contract=off), along each
 * row, then each column, so every ISA gives the plain-C twin's bits:
 *   input  v0 = (d4 - 5 d2) + 4 d0         v1 = (d3 + d4) - 4 (d1 + d2)
 *          v2 = (d4 - d3) + 4 (d1 - d2)    v3 = (d4 - d2) + 2 (d3 - d1)
 *          v4 = (d4 - d2) - 2 (d3 - d1)    v5 = (d5 - 5 d3) + 4 d1
 *   filter u0 = g0 / 4, s = g0 + g2, u1 = (s + g1) (-1/6), u2 = (s - g1) (-1/6),
 *          t = g0 + 4 g2, u3 = (t + 2 g1) (1/24), u4 = (t - 2 g1) (1/24), u5 = g2
 *   output a = m1 + m2, b = m1 - m2, c = m3 + m4, e = m3 - m4, o0 = (m0 + a) + c,
 *          o1 = b + 2 e, o2 = a + 4 c, o3 = (b + 8 e) + m5, then + bias. */

/* v[xi vxi + c LANES + i] = (B^T d B)[xi] for c < channels, i < LANES,
   where d[a][b] = x[c plane + off[i] + a ld + b] (a, b < 6). A kernel may
   read columns b = 6, 7 of each row too (the caller keeps them readable). */
typedef void nb_wino_in_ft(size_t channels, const float *x, ptrdiff_t plane, ptrdiff_t ld,
                           const int32_t *off, float *v, ptrdiff_t vxi);
typedef nb_wino_in_ft *nb_wino_in_fn;

/* u[xi uxi + j] = (G g_j G^T)[xi] for j < n, g_j[r][s] = g[j gstride + (3 r + s) tstride]
   (tstride -1: the filter rotated by 180 degrees, g at its last tap). The
   driver calls it on the MR filters of one packed A micro-panel (n <= MR)
   and one channel: u is then the panel's channel column, uxi the distance
   between the points' packed blocks. */
typedef void nb_wino_filter_ft(size_t n, const float *g, ptrdiff_t gstride, ptrdiff_t tstride,
                               float *u, ptrdiff_t uxi);
typedef nb_wino_filter_ft *nb_wino_filter_fn;

/* out[16 i + 4 p + q] = (A^T m_i A)[p][q] + bias for i < LANES, where
   m_i[xi] = m[xi mxi + i]: the 4x4 output tiles, tile-major. Returns
   nonzero when one of the first `live` tiles has a NaN or infinite output
   (the driver then redoes the image on the GEMM path, whose NaN and Inf
   follow the reference's: Winograd spreads them over whole tiles). */
typedef int nb_wino_out_ft(size_t live, const float *m, ptrdiff_t mxi, float bias, float *out);
typedef nb_wino_out_ft *nb_wino_out_fn;

/* ---- backward-filter F(3x3, 4x4) (src/conv_winograd_bwd_filter.c) ----
 * The transposed algorithm: dw += G^T (E o V) G with V the input transform
 * above and E = A e A^T of a 4x4 tile e of dy. The same rules (separate
 * multiplies and adds, rows then columns):
 *   dy     E0 = e0, s = e0 + e2, t = e1 + e3, E1 = s + t, E2 = s - t,
 *          p = e0 + 4 e2, q = 2 e1 + 8 e3, E3 = p + q, E4 = p - q, E5 = e3
 *   output a = m1 + m2, b = m1 - m2, c = m3 + m4, e = m3 - m4,
 *          o0 = (m0 0.25 + a (-1/6)) + c (1/24), o1 = b (-1/6) + e (1/12),
 *          o2 = (c - a) (1/6) + m5 */

/* out[xi oxi + c LANES + i] = (A e A^T)[xi] for c < count, i < LANES,
   where e[a][b] = dy[c plane + off[i] + a ld + b] (a, b < 4). A kernel may
   read columns b = 4..7 of each row too (the caller keeps them readable). */
typedef void nb_wino_bfdy_ft(size_t count, const float *dy, ptrdiff_t plane, ptrdiff_t ld,
                             const int32_t *off, float *out, ptrdiff_t oxi);
typedef nb_wino_bfdy_ft *nb_wino_bfdy_fn;

/* dw[9 j + 3 r + s] = (G^T m_j G)[r][s] for j < n, m_j[xi] = m[xi mxi + j].
   Returns nonzero when an output is NaN or infinite (the driver then runs
   the GEMM path, whose NaN and Inf follow the reference's). */
typedef int nb_wino_bfout_ft(size_t n, const float *m, ptrdiff_t mxi, float *dw);
typedef nb_wino_bfout_ft *nb_wino_bfout_fn;

#endif
