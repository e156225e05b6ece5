/* The 3x3 stride-2 pad-1 backward-data tile's contract (private; included
 * by ukernel.h; driver: src/conv_bwd_data_phase.c, bdata_s2_*).
 *
 * Broadcast orientation: the lanes are V input channels c of dx (packed
 * filters, V floats a vector), dy is read as scalars. A tile is one dx row
 * and the columns 2 j0 + p, p < 2 nj (both column phases of the tile's j =
 * j0 .. j0 + nj - 1, nj <= mj). For tap row t < nr, dyr[t] points at dy's
 * row (the one that tap row reads) at column j0 for filter k = 0 and
 * wr[t] at the packed vectors s = 0, 1, 2 (V floats each, consecutive) of
 * that tap row for k = 0; filter k adds k dyk and k wk. Per output lane:
 *   acc[2j]     gets w[1] dy[j]
 *   acc[2j + 1] gets w[2] dy[j], then w[0] dy[j + 1] (not when edge and
 *               j == nj - 1: dy[j0 + nj] is then past the row, not read)
 * one FMA chain from 0 per output, in the order: k ascending; within a k,
 * the tap rows t ascending; within a tap row, as above. Then
 *   dx[c ldc + p] = acc[p] lane c   for c < nch, p < ncol (<= 2 nj).
 * Every ISA's tile follows that order: the same bits on each.
 */
#ifndef NB_UKERNEL_CONVBDATA_H
#define NB_UKERNEL_CONVBDATA_H

#include <stddef.h>
#include <stdint.h>

typedef void nb_conv_bdata_s2_ft(size_t kn, size_t nr, const float *const *dyr, ptrdiff_t dyk,
                                 const float *const *wr, ptrdiff_t wk, size_t nj, int edge,
                                 float *dx, ptrdiff_t ldc, size_t ncol, size_t nch);
/* The packed filters of one filter k and one channel block: dst[t v + c]
   = src[9 c + t] for t < 9, c < nc (nc <= v: src is nc channels x 9 taps,
   one run of w), 0 for nc <= c < v. */
typedef void nb_conv_bdata_s2_pack_ft(size_t nc, const float *src, float *dst);

/* fn NULL: none. v: channels a vector, mj: the most j a tile. pack:
   optional (NULL: plain C in the driver). */
typedef struct {
    nb_conv_bdata_s2_ft *fn;
    int v, mj;
    nb_conv_bdata_s2_pack_ft *pack;
} nb_conv_bdata_s2_ukernel;

nb_conv_bdata_s2_ft nb_f32_conv_bdata_s2_ukernel_16x14__avx512;
nb_conv_bdata_s2_pack_ft nb_f32_conv_bdata_s2_pack_16__avx512;
nb_conv_bdata_s2_ft nb_f32_conv_bdata_s2_ukernel_8x6__avx2;
nb_conv_bdata_s2_pack_ft nb_f32_conv_bdata_s2_pack_8__avx2;

#endif
