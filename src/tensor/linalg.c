/* torch.matmul through nb_sgemm / nb_dgemm. Strided operands whose rows or
 * columns are dense go to GEMM as (possibly transposed) operands with their
 * leading dimension; only other layouts are copied. */
#include <string.h>

#include "tensor_internal.h"
#include "autograd/autograd_internal.h"

/* A rows x cols matrix with element strides (rs, cs) as a GEMM operand. */
static bool as_gemm_operand(int64_t rows, int64_t cols, int64_t rs, int64_t cs, int *trans, int64_t *ld) {
    int64_t mc = cols > 1 ? cols : 1, mr = rows > 1 ? rows : 1;
    if ((cs == 1 || cols <= 1) && (rows <= 1 || rs >= mc)) {
        *trans = 0;
        *ld = rows <= 1 ? mc : rs;
        return true;
    }
    if ((rs == 1 || rows <= 1) && (cols <= 1 || cs >= mr)) {
        *trans = 1;
        *ld = cols <= 1 ? mr : cs;
        return true;
    }
    return false;
}

/* Both operands have >= 2 dims and the same dtype (float). */
static nb_tensor *matmul_raw(const char *fn, nb_tensor *a, nb_tensor *b) {
    char b1[128], b2[128];
    int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1];
    int64_t K2 = b->shape[b->ndim - 2], N = b->shape[b->ndim - 1];
    if (K != K2) {
        nb_error(NB_ERR_SHAPE, fn, "shapes %s and %s cannot be multiplied (%lld != %lld)",
                 nb__shape_str(b1, sizeof b1, a->ndim, a->shape), nb__shape_str(b2, sizeof b2, b->ndim, b->shape),
                 (long long)K, (long long)K2);
        return NULL;
    }
    int nbatch;
    int64_t bshape[NB_MAX_DIMS];
    if (nb__broadcast_shape(fn, a->ndim - 2, a->shape, b->ndim - 2, b->shape, &nbatch, bshape)) return NULL;
    if (nbatch + 2 > NB_MAX_DIMS) { nb_error(NB_ERR_SHAPE, fn, "too many dims"); return NULL; }
    int64_t oshape[NB_MAX_DIMS];
    memcpy(oshape, bshape, sizeof(int64_t) * (size_t)nbatch);
    oshape[nbatch] = M;
    oshape[nbatch + 1] = N;
    nb_tensor *out = nb__empty(fn, nbatch + 2, oshape, a->dtype);
    if (!out) return NULL;

    /* Operands GEMM cannot read in place are densified once. */
    nb_tensor *ac = nb_tensor_retain(a), *bc = nb_tensor_retain(b);
    int ta = 0, tb = 0;
    int64_t lda = 1, ldb = 1;
    const int64_t *as = a->strides + a->ndim - 2, *bs = b->strides + b->ndim - 2;
    nb_status s = NB_OK;
    if (!as_gemm_operand(M, K, as[0], as[1], &ta, &lda)) {
        nb_tensor_release(ac);
        ac = nb__empty(fn, a->ndim, a->shape, a->dtype);
        s = ac ? nb__copy_into(fn, ac, a) : NB_ERR_OOM;
        if (!s) as_gemm_operand(M, K, ac->strides[a->ndim - 2], ac->strides[a->ndim - 1], &ta, &lda);
    }
    if (!s && !as_gemm_operand(K, N, bs[0], bs[1], &tb, &ldb)) {
        nb_tensor_release(bc);
        bc = nb__empty(fn, b->ndim, b->shape, b->dtype);
        s = bc ? nb__copy_into(fn, bc, b) : NB_ERR_OOM;
        if (!s) as_gemm_operand(K, N, bc->strides[b->ndim - 2], bc->strides[b->ndim - 1], &tb, &ldb);
    }
    int64_t sa[NB_MAX_DIMS] = {0}, sb[NB_MAX_DIMS] = {0}, nbat = 1, idx[NB_MAX_DIMS] = {0};
    for (int i = 0; !s && i < nbatch; i++) {
        int ia = i - (nbatch - (a->ndim - 2)), ib = i - (nbatch - (b->ndim - 2));
        sa[i] = ia < 0 || ac->shape[ia] == 1 ? 0 : ac->strides[ia];
        sb[i] = ib < 0 || bc->shape[ib] == 1 ? 0 : bc->strides[ib];
        nbat *= bshape[i];
    }
    const size_t es = nb_esize(a->dtype);
    for (int64_t k = 0; !s && k < nbat; k++) {
        int64_t oa = 0, ob = 0;
        for (int i = 0; i < nbatch; i++) { oa += idx[i] * sa[i]; ob += idx[i] * sb[i]; }
        const char *pa = nb_ptr(ac) + oa * (int64_t)es, *pb = nb_ptr(bc) + ob * (int64_t)es;
        char *pc = nb_ptr(out) + k * M * N * (int64_t)es;
        if (a->dtype == NB_FLOAT32)
            s = nb_sgemm(ta, tb, M, N, K, 1.0f, (const float *)pa, lda, (const float *)pb, ldb, 0.0f, (float *)pc,
                         N > 1 ? N : 1);
        else
            s = nb_dgemm(ta, tb, M, N, K, 1.0, (const double *)pa, lda, (const double *)pb, ldb, 0.0, (double *)pc,
                         N > 1 ? N : 1);
        for (int i = nbatch - 1; i >= 0; i--) {
            if (++idx[i] < bshape[i]) break;
            idx[i] = 0;
        }
    }
    nb_tensor_release(ac);
    nb_tensor_release(bc);
    if (s) { nb_tensor_release(out); return NULL; }
    return out;
}

static nb_tensor *matmul_prim(nb_tensor *a, nb_tensor *b) {
    nb_tensor *out = matmul_raw("nb_matmul", a, b);
    nb_node *node;
    nb_tensor *in[2] = {a, b};
    out = nb__record(out, "nb_matmul", nb_grad_matmul, 2, in, &node);
    if (node && (nb__node_save(node, 0, a) || nb__node_save(node, 1, b))) {
        nb_tensor_release(out);
        return NULL;
    }
    return out;
}

nb_tensor *nb_matmul(nb_tensor *a, nb_tensor *b) {
    const char *fn = "nb_matmul";
    if (!a || !b) { nb_error(NB_ERR_ARG, fn, "%s is NULL", a ? "b" : "a"); return NULL; }
    if (a->ndim == 0 || b->ndim == 0) {
        nb_error(NB_ERR_SHAPE, fn, "both arguments need at least 1 dim, got %d and %d", a->ndim, b->ndim);
        return NULL;
    }
    if (!nb_is_float(a->dtype) || !nb_is_float(b->dtype)) {
        nb_error(NB_ERR_DTYPE, fn, "needs floating dtypes, got %s and %s", nb_dtype_name(a->dtype), nb_dtype_name(b->dtype));
        return NULL;
    }
    if (a->dtype != b->dtype) {
        nb_error(NB_ERR_DTYPE, fn, "expected both operands to have the same dtype, got %s and %s",
                 nb_dtype_name(a->dtype), nb_dtype_name(b->dtype));
        return NULL;
    }
    /* 1-D operands: a vector is a 1 x K row (left) or K x 1 column (right)
       whose extra dim is removed from the result, as in torch.matmul. */
    nb_tensor *a2 = a->ndim == 1 ? nb_unsqueeze(a, 0) : nb_tensor_retain(a);
    nb_tensor *b2 = b->ndim == 1 ? nb_unsqueeze(b, 1) : nb_tensor_retain(b);
    nb_tensor *out = a2 && b2 ? matmul_prim(a2, b2) : NULL;
    nb_tensor_release(a2);
    nb_tensor_release(b2);
    if (out && b->ndim == 1) { nb_tensor *s = nb_squeeze(out, -1); nb_tensor_release(out); out = s; }
    if (out && a->ndim == 1) { nb_tensor *s = nb_squeeze(out, -2 + (b->ndim == 1)); nb_tensor_release(out); out = s; }
    return out;
}
