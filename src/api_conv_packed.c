/* Prepacked convolution weights (nabla/kernels.h): pack once, call many
 * times.
 *
 * A pack holds a copy of w, and for each direction asked for the filters
 * the active ISA's Winograd pass would transform on every call
 * (src/conv_winograd.c: U = G g G^T in the GEMM's packed A blocks), when it
 * would take the desc now. A call runs the Winograd pass on them where it
 * still chooses Winograd on the ISA they were packed for; everywhere else
 * (the GEMM paths, another ISA, shadow mode, NABLA_CONV_ALGO changed since)
 * it is the unpacked call on the copy of w. Both ways run the same
 * operations in the same order, so the bits are the unpacked call's.
 *
 * The desc and the tensors are checked as the unpacked entry points check
 * them (src/api_conv.c), then the desc against the pack.
 */
#include <stdlib.h>
#include <string.h>

#include "api_conv.h"
#include "conv_internal.h"
#include "internal.h"
#include "kernels_table.h"
#include "ukernel.h"

#define DIRS (NB_CONV_PACK_FORWARD | NB_CONV_PACK_BACKWARD_DATA)

struct nb_conv2d_packed {
    nb_conv2d_desc d;   /* as packed; n is not compared */
    int directions;
    nb_isa isa;         /* the table u[] was packed for */
    int64_t nw, nu[2];  /* floats of w and of u[0] (forward), u[1] (backward-data) */
    float *w;           /* the copy of w (NULL when it has no elements) */
    float *u[2];        /* Winograd filters per direction, or NULL */
};

/* The ISA's convolution configuration, or NULL for the reference backend
   (it has no Winograd pass). */
static const nb_conv_desc *conv_desc_of(nb_isa isa) {
    if (isa == NB_ISA_REF) return NULL;
    const nb_ukernel_config *cfg = nb_ukernels_for(isa);
    return cfg ? &cfg->conv : NULL;
}

void nb_conv2d_packed_free(nb_conv2d_packed *p) {
    if (!p) return;
    nb_aligned_free(p->w);
    nb_aligned_free(p->u[0]);
    nb_aligned_free(p->u[1]);
    free(p);
}

int64_t nb_conv2d_packed_floats(const nb_conv2d_packed *p) {
    return p ? p->nw + p->nu[0] + p->nu[1] : 0;
}

/* The Winograd filters of direction i (0 forward, 1 backward-data), if the
   active table would run that call on Winograd. */
static nb_status pack_winograd(nb_conv2d_packed *p, int i) {
    const nb_conv_desc *cd = conv_desc_of(p->isa);
    const bool full = p->nw > 0 && p->d.h > 0 && p->d.w > 0;
    if (!cd || !full || !(p->directions & (1 << i))) return NB_OK;
    nb_conv2d_desc one = p->d;
    one.n = 1;   /* the choice and the layout depend on one image's shape */
    const int64_t nu = nb_conv_winograd_pack_floats(cd, &one, i);
    if (nu == 0) return NB_OK;
    int64_t bytes;
    if (!nb_mul_ok(nu, (int64_t)sizeof(float), &bytes) || !(p->u[i] = nb_aligned_alloc((size_t)bytes)))
        return NB_ERR_OOM;
    p->nu[i] = nu;
    nb_conv_winograd_pack(cd, &one, i, p->w, p->u[i], nb_threads_for(36 * p->nw, 1 << 16));
    return NB_OK;
}

nb_status nb_sconv2d_pack_weights(const nb_conv2d_desc *d, const float *w, int directions,
                                  nb_conv2d_packed **packed) {
    static const char fn[] = "nb_sconv2d_pack_weights";
    nb_conv_counts g;
    nb_status s = nb_conv_api_validate(fn, d, sizeof(float), &g);
    if (s != NB_OK) return s;
    if (packed == NULL) return nb_error(NB_ERR_ARG, fn, "packed is NULL");
    if (w == NULL && g.nw > 0)
        return nb_error(NB_ERR_ARG, fn, "w is NULL for a tensor of %lld elements", (long long)g.nw);
    if (directions == 0 || (directions & ~DIRS))
        return nb_error(NB_ERR_ARG, fn,
                        "directions = %d: want NB_CONV_PACK_FORWARD (1) and/or "
                        "NB_CONV_PACK_BACKWARD_DATA (2)", directions);
    nb_conv2d_packed *p = calloc(1, sizeof *p);
    if (!p) return nb_error(NB_ERR_OOM, fn, "out of memory for the packed weights");
    p->d = *d;
    p->directions = directions;
    p->isa = nb_kernels_active_unchecked()->isa;
    p->nw = g.nw;
    if (g.nw > 0 && !(p->w = nb_aligned_alloc((size_t)g.nw * sizeof(float)))) s = NB_ERR_OOM;
    if (s == NB_OK && g.nw > 0) memcpy(p->w, w, (size_t)g.nw * sizeof(float));
    if (s == NB_OK) s = pack_winograd(p, 0);
    if (s == NB_OK) s = pack_winograd(p, 1);
    if (s != NB_OK) {
        nb_conv2d_packed_free(p);
        return nb_error(s, fn, "out of memory for the packed weights");
    }
    *packed = p;
    return NB_OK;
}

/* Every field of d but n against the packed desc's. */
static nb_status check_pack(const char *fn, const nb_conv2d_desc *d, const nb_conv2d_packed *p,
                            int dir) {
    if (p == NULL) return nb_error(NB_ERR_ARG, fn, "w (the packed weights) is NULL");
    const struct {
        const char *name;
        int64_t a, b;
    } f[] = {{"c", d->c, p->d.c},
             {"h", d->h, p->d.h},
             {"w", d->w, p->d.w},
             {"k", d->k, p->d.k},
             {"r", d->r, p->d.r},
             {"s", d->s, p->d.s},
             {"stride_h", d->stride_h, p->d.stride_h},
             {"stride_w", d->stride_w, p->d.stride_w},
             {"pad_h", d->pad_h, p->d.pad_h},
             {"pad_w", d->pad_w, p->d.pad_w},
             {"dilation_h", d->dilation_h, p->d.dilation_h},
             {"dilation_w", d->dilation_w, p->d.dilation_w},
             {"groups", d->groups, p->d.groups}};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (f[i].a != f[i].b)
            return nb_error(NB_ERR_SHAPE, fn, "desc %s = %lld differs from the packed weights' %lld",
                            f[i].name, (long long)f[i].a, (long long)f[i].b);
    if (!(p->directions & dir))
        return nb_error(NB_ERR_ARG, fn, "the weights were packed without %s",
                        dir == NB_CONV_PACK_FORWARD ? "NB_CONV_PACK_FORWARD"
                                                    : "NB_CONV_PACK_BACKWARD_DATA");
    return NB_OK;
}

/* The packed Winograd filters of direction i, if the call runs on the
   table they were packed for (not shadow mode: its wrapper checks the
   unpacked call, which has the same bits). */
static const float *packed_u(const struct nb_kernels *kt, const nb_conv2d_packed *p, int i,
                             const nb_conv_desc **cd) {
    if (!p->u[i] || kt != nb_kernels_active_unchecked() || kt->isa != p->isa) return NULL;
    *cd = conv_desc_of(p->isa);
    return *cd ? p->u[i] : NULL;
}

nb_status nb_sconv2d_forward_packed(const nb_conv2d_desc *d, const float *x,
                                    const nb_conv2d_packed *w, const float *bias, float *y) {
    static const char fn[] = "nb_sconv2d_forward_packed";
    nb_conv_counts g;
    nb_status s = nb_conv_api_validate(fn, d, sizeof(float), &g);
    if (s != NB_OK || (s = check_pack(fn, d, w, NB_CONV_PACK_FORWARD)) != NB_OK) return s;
    const nb_conv_tensor_arg t[] = {{"y", y, g.ny, 1, 0}, {"x", x, g.nx, 0, 0},
                                    {"bias", bias, d->k, 0, 1}};
    if ((s = nb_conv_api_check_tensors(fn, t, 3, sizeof(float))) != NB_OK || g.ny == 0) return s;
    const struct nb_kernels *kt = nb_conv_api_table(d);
    const nb_conv_desc *cd = NULL;
    const float *u = packed_u(kt, w, 0, &cd);
    if (u && nb_conv_winograd_forward_packed(cd, d, x, w->w, u, bias, y, &s))
        return nb_conv_api_status(fn, s);
    return nb_conv_api_status(fn, kt->sconv2d_forward(d, x, w->w, bias, y));
}

nb_status nb_sconv2d_backward_data_packed(const nb_conv2d_desc *d, const float *dy,
                                          const nb_conv2d_packed *w, float *dx) {
    static const char fn[] = "nb_sconv2d_backward_data_packed";
    nb_conv_counts g;
    nb_status s = nb_conv_api_validate(fn, d, sizeof(float), &g);
    if (s != NB_OK || (s = check_pack(fn, d, w, NB_CONV_PACK_BACKWARD_DATA)) != NB_OK) return s;
    const nb_conv_tensor_arg t[] = {{"dx", dx, g.nx, 1, 0}, {"dy", dy, g.ny, 0, 0}};
    if ((s = nb_conv_api_check_tensors(fn, t, 2, sizeof(float))) != NB_OK || g.nx == 0) return s;
    const struct nb_kernels *kt = nb_conv_api_table(d);
    const nb_conv_desc *cd = NULL;
    const float *u = packed_u(kt, w, 1, &cd);
    if (u && nb_conv_winograd_backward_data_packed(cd, d, dy, w->w, u, dx, &s))
        return nb_conv_api_status(fn, s);
    return nb_conv_api_status(fn, kt->sconv2d_backward_data(d, dy, w->w, dx));
}
