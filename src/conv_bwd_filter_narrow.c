/* Backward-filter of 1x1 layers with few filters: the "narrow" path.
 *
 * A 1x1 layer's column matrix is x itself, and with kg filters the
 * column-matrix path computes, transposed,
 *   dwT[g] (cg x kg) (+)= x[n,g] (cg x PQ) dy[n,g]^T (PQ x kg)
 * as an SGEMM whose A (x) is read in place. Two things went wrong there
 * with few filters:
 *   - The SGEMM's tile has empty lanes: AVX-512's 14x32 is half empty with
 *     16 filters (c32 112x112 k16 ran at 0.59x oneDNN), AVX2's 6x16 a
 *     quarter with 24 (two panels, 16 + 8: c144 56x56 k24 at 0.78x). The
 *     ISA's narrow tile (cd->bwf_narrow: AVX-512 14x16 and 4x24, AVX2 4x24) has
 *     every lane a filter there; it runs where it leaves fewer lanes empty
 *     than the SGEMM's tile, that tile (A in place) otherwise.
 *   - On 2 threads the SGEMM of N = 24 split badly (c144 56x56 k24: 0.65x
 *     its 1 thread on AVX-512). Here the threads take channel panels.
 *
 * Loop (per group, image, KC block [j0, j0 + KC) of pixels): dy's kg rows
 * of the block are packed once into NR-wide B panels (transposed: the
 * pixels of a filter are contiguous in dy), then each panel of MR channels
 * runs the tile on x in place (rows PQ apart) against each B panel (its A
 * rows stay in L1 between them). The B panels (KC x kg rounded up to NR:
 * at most 48 KiB) stay in L1/L2 across the channel panels.
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
#include <string.h>

#include "conv_bwd_filter.h"
#include "scratch.h"

/* The most filters a group this path takes: beyond 32 the SGEMM's tile
   is full or nearly and its own driver does as well. (Tried on Zen 4,
   AVX-512, 1 thread: up to 256 here made n1 c64 56x56 k256 1.12x and n8
   1.37x slower, c256 k64 unchanged; 2 threads could not be measured.) */
#define NARROW_MAX_FILTERS 32

static int64_t round16(int64_t v) { return (v + 15) / 16 * 16; }

typedef struct {
    nb_gemm_ukernel_adirect_fn fn;
    int64_t mr, nr;
    nb_gemm_pack_b_fn pack_b;   /* NULL: B packed by the ISA's transpose (one panel) */
} narrow_tile;

/* The ISA's narrow tile (of bwf_narrow and bwf_narrow_alt, the one with
   fewer empty lanes; ties: bwf_narrow) where it holds all kg filters with
   fewer empty lanes than the SGEMM's panels (and the ISA has a transpose
   to pack its B), else the SGEMM's A-in-place tile; fn NULL: neither.
   AVX-512 has both: 14x16 (kg <= 16) and AVX2's 4x24 (17..24: c144 56x56
   k24 ran on 14x32 with 24 of 32 lanes, 0.93x oneDNN). */
static narrow_tile tile_for(const nb_conv_desc *cd, const nb_conv_geom *g) {
    const nb_gemm_desc *sd = cd->sgemm_desc;
    narrow_tile t = {0};
    if (!sd) return t;
    int64_t best = (g->kg + sd->nr - 1) / sd->nr * sd->nr;   /* the SGEMM's columns */
    const struct nb_bwf_narrow_tile *cand[2] = {&cd->bwf_narrow, &cd->bwf_narrow_alt};
    for (int i = 0; i < 2; i++) {
        const struct nb_bwf_narrow_tile *n = cand[i];
        if (n->fn && (n->pack_b || cd->transpose32) && g->kg <= n->nr && n->nr < best) {
            best = n->nr;
            t = (narrow_tile){n->fn, n->mr, n->nr, n->pack_b};
        }
    }
    if (t.fn) return t;
    if (sd->ukernel_adirect && sd->pack_b) return (narrow_tile){sd->ukernel_adirect, sd->mr, sd->nr, sd->pack_b};
    return t;
}

int nb_conv_bwd_filter_narrow_applies(const nb_conv_desc *cd, const nb_conv_geom *g) {
    return g->pointwise && g->kg <= NARROW_MAX_FILTERS && tile_for(cd, g).fn;
}

typedef struct {
    const nb_conv_desc *cd;
    narrow_tile t;
    int64_t kc;             /* the SGEMM's */
    const nb_conv2d_desc *d;
    nb_conv_geom g;
    int64_t mpan;           /* channel panels (of MR) a group */
    const float *x, *dy;
    float *dwt, *work;      /* dwT of every group (cg x kg each); per member the B panels */
    int64_t work_floats;
} narrow_ctx;

/* The B panels of pixels [j0, j0 + kcb) of the kg dy rows at dyg (PQ
   apart): row p of panel k0 / NR at bp + k0 kcb + p NR. Without a packer
   the narrow tile's single panel is dy's block transposed (columns
   kg..NR-1 zero). */
static void pack_dy(const narrow_ctx *c, const float *dyg, int64_t j0, int64_t kcb, float *bp) {
    const int64_t kg = c->g.kg, NR = c->t.nr;
    if (c->t.pack_b) {
        c->t.pack_b(1, (size_t)kcb, (size_t)kg, dyg + j0, c->g.PQ, bp);
        return;
    }
    c->cd->transpose32(kcb, kg, dyg + j0, c->g.PQ, bp, NR, 0);
    if (kg < NR)
        for (int64_t p = 0; p < kcb; p++) memset(bp + p * NR + kg, 0, (size_t)(NR - kg) * sizeof(float));
}

/* (Tried, session 14, Zen 4, 2 threads: the team packing each image's
   dy blocks together into one shared buffer, a barrier an image, instead
   of every member packing all of them for itself. c144 56x56 k24: a
   member's packing went 0.03 -> 0.022-0.028 ms (not half: the blocks come
   from memory either way), its tiles 0.097-0.107 -> 0.11 ms (B panels no
   longer hot in L1, half of them from the other core): 0.144-0.155 ->
   0.148-0.152 ms a call. Dropped.) */
static void narrow_member(void *p, int tid, int nt) {
    const narrow_ctx *c = p;
    const nb_conv_geom *g = &c->g;
    const int64_t MR = c->t.mr, NR = c->t.nr, kc = c->kc, kg = g->kg, PQ = g->PQ;
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
                pack_dy(c, dyg, j0, kcb, bp);
                for (int64_t v = u; v < ue; v++) {
                    const int64_t ch = v % c->mpan * MR, m = g->cg - ch < MR ? g->cg - ch : MR;
                    for (int64_t k0 = 0; k0 < kg; k0 += NR)
                        c->t.fn((size_t)m, (size_t)(kg - k0 < NR ? kg - k0 : NR), (size_t)kcb,
                                xg + ch * PQ + j0, PQ, bp + k0 * kcb, dwt + ch * kg + k0, kg, 1.0f, beta);
                }
            }
        }
        u = ue;
    }
}

nb_status nb_conv_bwd_filter_narrow(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const nb_conv_geom *g, const float *x, const float *dy, float *dw) {
    narrow_ctx c = {.cd = cd, .t = tile_for(cd, g), .kc = cd->sgemm_desc->kc, .d = d, .g = *g, .x = x, .dy = dy};
    c.mpan = (g->cg + c.t.mr - 1) / c.t.mr;
    c.work_floats = round16(c.kc * ((g->kg + c.t.nr - 1) / c.t.nr) * c.t.nr);
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
