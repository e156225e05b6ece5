/* The implicit-im2col packer contract (private; included by src/ukernel.h,
 * so kernels/ reach it through the one header they may include). The
 * driver is src/conv_implicit.c.
 */
#ifndef NB_UKERNEL_IMPLICIT_H
#define NB_UKERNEL_IMPLICIT_H

#include <stdint.h>

/* ---- implicit im2col: the forward GEMM's B panels packed from the image ----
 *
 * Forward convolutions with stride_w 1 or 2 skip the column matrix: each KC
 * block of its rows (taps) is packed straight from the image into the
 * ISA's NR-wide B micro-panels, which the GEMM micro-kernel then reads. What
 * a panel's NR output pixels read for one kernel position (r, s) is the same
 * for every channel up to the channel's offset, so the driver describes it
 * once per (panel, r, s) in a tap plan, and the ISA's packer applies the
 * plan to each channel. */
#define NB_CONV_PLAN_LANES 16   /* the widest NR of any ISA */

enum {
    NB_TAP_ZERO,     /* every lane is padding: zeros */
    NB_TAP_FULL,     /* all NR lanes read x_c[base + i step], and x_c[base +
                        step NR - 1] is inside the channel too */
    NB_TAP_CONTIG,   /* the lanes with mask read x_c[base + i step], the others are 0 */
    NB_TAP_SPLIT,    /* two runs: lanes with split read x_c[base2 + i step], the
                        other lanes with mask read x_c[base + i step] (a panel that
                        wraps to the next output row when Q != W) */
    NB_TAP_GATHER,   /* the lanes with mask read x_c[off[i]], the others are 0 */
    NB_TAP_KINDS
};

/* Lane i (< NR) of the panel reads x_c[off[i]] when mask[i] == -1 and is 0
   when mask[i] == 0 (padding, or a pixel past the block); off[i] == 0 and
   mask[i] == 0 for lanes >= NR. off and mask are filled for every kind (an
   ISA may always use them); the kind names a faster way. 224 bytes: the
   arrays stay 32-byte aligned in a 64-byte aligned plan. */
typedef struct {
    NB_ALIGNAS(32) int32_t off[NB_CONV_PLAN_LANES];
    int32_t mask[NB_CONV_PLAN_LANES];
    int32_t split[NB_CONV_PLAN_LANES];   /* SPLIT: -1 on the second run's lanes */
    int32_t kind;    /* NB_TAP_* */
    int32_t base;    /* FULL, CONTIG, SPLIT: off[i] == base + i step on the (first) run */
    int32_t base2;   /* SPLIT: off[i] == base2 + i step on the second run */
    int32_t step;    /* stride_w: 1 or 2 */
    int32_t pad_[4];
} nb_conv_tap;

/* Packs rows [l0, l0 + kc) of the implicit column matrix of one image and
   group (x: channels x hw floats) for `panels` panels of NR pixels into
   dst: panel p at dst + p kc NR, row l at + (l - l0) NR, where row
   l = c RS + t (t = r S + s) reads channel c through plan[p RS + t]. dst
   is 64-byte aligned when NR is a multiple of 16 (16-byte aligned in
   general); the packer writes exactly the panels. */
typedef void nb_conv_pack_b_ft(const nb_conv_tap *plan, int64_t rs, int64_t l0, int64_t kc,
                               int64_t panels, const float *x, int64_t hw, float *dst);
typedef nb_conv_pack_b_ft *nb_conv_pack_b_fn;

#endif /* NB_UKERNEL_IMPLICIT_H */
