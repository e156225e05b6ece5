/* Backward-filter of 1x1 layers with few filters: the "narrow" path.
 *
 * A 1x1 layer's column matrix is x itself, and with kg filters the
 * column-matrix path computes, transposed,
 *   dwT[g] (cg x kg) (+)= x[n,g] (cg x PQ) dy[n,g]^T (PQ x kg)
 * as an SGEMM whose A (x) is read in place. On AVX-512 the SGEMM's tile is
 * 14x32: with 16 filters half of its FMAs go to empty columns (c32 112x112
 * k16 ran at 0.59x oneDNN). conv_gemm's 16-wide tile with A in place
 * (cd->gemm->ukernel_adirect, the AVX-512 14x16) has no empty lane there.
 *
 * Loop (per group, image, KC block [j0, j0 + KC) of pixels): dy's kg rows
 * of the block are packed once into one 16-wide B panel (conv_gemm's
 * packer, transposed form: the pixels of a filter are contiguous), then
 * each panel of 14 channels runs the tile on x in place (rows PQ apart).
 * The B panel (KC x 16: 24 KiB) stays in L1 across the channel panels.
 *
 * Bits: every dwT element is, per image in order and per KC block of the
 * SGEMM's KC (boundaries at its multiples, as the column-matrix path's
 * blocks), one FMA chain over the block's pixels from +0, then C = acc
 * (first block of image 0) or C + acc: the bits of one SGEMM per image,
 * which is what the column-matrix path gives. Threads take disjoint
 * (group, channel panel) units, so no element is split and the bits do
 * not depend on the thread count. The choice depends on the shape and the
 * ISA only.
 */
#include "conv_bwd_filter.h"
#include "scratch.h"

static int64_t round16(int64_t v) { return (v + 15) / 16 * 16; }

int nb_conv_bwd_filter_narrow_applies(const nb_conv_desc *cd, const nb_conv_geom *g) {
    const nb_gemm_desc *gd = cd->gemm, *sd = cd->sgemm_desc;
    return g->pointwise && gd && sd && gd != sd && gd->ukernel_adirect && gd->pack_b &&
           gd->kc == sd->kc && g->kg <= gd->nr && gd->nr < sd->nr;
}

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv2d_desc *d;
    nb_conv_geom g;
    int64_t mpan;           /* channel panels (of MR) a group */
    const float *x, *dy;
    float *dwt, *work;      /* dwT of every group (cg x kg each); per member a B panel */
    int64_t work_floats;
} narrow_ctx;

static void narrow_member(void *p, int tid, int nt) {
    const narrow_ctx *c = p;
    const nb_gemm_desc *gd = c->cd->gemm;
    const nb_conv_geom *g = &c->g;
    const int64_t MR = gd->mr, kc = gd->kc, kg = g->kg, PQ = g->PQ;
    float *bp = c->work + tid * c->work_floats;
    int64_t u0, u1;   /* units u: group u / mpan, channel panel u % mpan */
    nb_parallel_share(g->G * c->mpan, tid, nt, &u0, &u1);
    for (int64_t u = u0; u < u1;) {
        const int64_t gi = u / c->mpan, ue = (gi + 1) * c->mpan < u1 ? (gi + 1) * c->mpan : u1;
        float *dwt = c->dwt + gi * g->cg * kg;
        for (int64_t n = 0; n < c->d->n; n++) {
            const float *xg = c->x + (n * c->d->c + gi * g->cg) * PQ;
            const float *dyg = c->dy + (n * c->d->k + gi * kg) * PQ;
            for (int64_t j0 = 0; j0 < PQ; j0 += kc) {
                const int64_t kcb = kc < PQ - j0 ? kc : PQ - j0;
                const float beta = n == 0 && j0 == 0 ? 0.0f : 1.0f;
                gd->pack_b(1, (size_t)kcb, (size_t)kg, dyg + j0, PQ, bp);
                for (int64_t v = u; v < ue; v++) {
                    const int64_t ch = v % c->mpan * MR, m = g->cg - ch < MR ? g->cg - ch : MR;
                    gd->ukernel_adirect((size_t)m, (size_t)kg, (size_t)kcb, xg + ch * PQ + j0, PQ, bp,
                                        dwt + ch * kg, kg, 1.0f, beta);
                }
            }
        }
        u = ue;
    }
}

nb_status nb_conv_bwd_filter_narrow(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const nb_conv_geom *g, const float *x, const float *dy, float *dw) {
    const nb_gemm_desc *gd = cd->gemm;
    narrow_ctx c = {.cd = cd, .d = d, .g = *g, .x = x, .dy = dy};
    c.mpan = (g->cg + gd->mr - 1) / gd->mr;
    c.work_floats = round16(gd->kc * gd->nr);
    int64_t mnk;
    if (!nb_mul_ok(d->n * d->k * g->PQ, g->L, &mnk)) mnk = INT64_MAX;
    int nt = nb_threads_for(mnk, cd->min_mnk_per_thread);
    if (nt > g->G * c.mpan) nt = (int)(g->G * c.mpan);
    const int64_t dwt_floats = round16(d->k * g->L);
    int owned;
    float *buf = nb_conv_scratch_floats(NB_SCRATCH_CONV_TASKS, 1, dwt_floats + nt * c.work_floats, 1, &owned);
    if (!buf) return NB_ERR_OOM;
    c.dwt = buf;
    c.work = buf + dwt_floats;
    nb_parallel_team(nt, narrow_member, &c);
    /* dw[g] = dwT[g]^T (cg x kg each: a few KiB) */
    for (int64_t gi = 0; gi < g->G; gi++) {
        const float *t = c.dwt + gi * g->cg * g->kg;
        float *o = dw + gi * g->kg * g->cg;
        if (cd->transpose32) {
            cd->transpose32(g->kg, g->cg, t, g->kg, o, g->cg, 0);
            continue;
        }
        for (int64_t k = 0; k < g->kg; k++)
            for (int64_t l = 0; l < g->cg; l++) o[k * g->cg + l] = t[l * g->kg + k];
    }
    nb_scratch_done(buf, owned);
    return NB_OK;
}
