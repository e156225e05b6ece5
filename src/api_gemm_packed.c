/* Prepacked B for SGEMM (nabla/kernels.h): pack op(B) once, multiply many
 * times.
 *
 * On an ISA with the SIMD driver, a pack holds op(B) as the packed path's
 * B panels for the whole K, KC block after KC block
 * (nb_gemm_driver_pack_b), and a call runs the packed path over them with
 * nothing of B packed or read in place: a GEMV streams the weights as one
 * run of memory, as a prepacked fully-connected operator does. On the
 * reference backend it holds op(B) as a dense K x N copy. A call on
 * another table than the pack's (nb_isa_set since, or shadow mode) is the
 * unpacked call of the active table on op(B) unpacked into a temporary
 * copy. Every way runs nb_sgemm's per-element sequence (the driver's KC
 * blocks and FMA chains, src/gemm_driver.h), so the bits are nb_sgemm's on
 * the same operands.
 */
#include <stdlib.h>
#include <string.h>

#include "api_gemm.h"
#include "gemm_driver.h"
#include "internal.h"
#include "kernels_table.h"
#include "ukernel.h"

struct nb_sgemm_packed_b {
    nb_isa isa;               /* the table it was packed for */
    const nb_gemm_desc *d;    /* its GEMM descriptor; NULL: data is op(B), K x N dense */
    int64_t n, k, floats;
    float *data;              /* NULL when floats == 0 */
};

/* The SIMD driver's descriptor of an ISA, or NULL (reference backend). */
static const nb_gemm_desc *gemm_desc_of(nb_isa isa) {
    if (isa == NB_ISA_REF) return NULL;
    const nb_ukernel_config *cfg = nb_ukernels_for(isa);
    return cfg && cfg->gemm.ukernel && cfg->gemm.pack_b ? &cfg->gemm : NULL;
}

void nb_sgemm_packed_b_free(nb_sgemm_packed_b *p) {
    if (!p) return;
    nb_aligned_free(p->data);
    free(p);
}

int64_t nb_sgemm_packed_b_floats(const nb_sgemm_packed_b *p) { return p ? p->floats : 0; }

/* op(B)[k, j] of a dense copy (trans 0: K x N rows ldb apart, 1: N x K). */
static void copy_op_b(int trans_b, int64_t N, int64_t K, const float *B, int64_t ldb, float *dst) {
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++) dst[k * N + j] = trans_b ? B[j * ldb + k] : B[k * ldb + j];
}

nb_status nb_sgemm_pack_b(int trans_b, int64_t N, int64_t K, const float *B, int64_t ldb,
                          nb_sgemm_packed_b **packed) {
    static const char fn[] = "nb_sgemm_pack_b";
    if (trans_b != 0 && trans_b != 1) return nb_error(NB_ERR_ARG, fn, "trans_b = %d must be 0 or 1", trans_b);
    if (N < 0) return nb_error(NB_ERR_ARG, fn, "N = %lld is negative", (long long)N);
    if (K < 0) return nb_error(NB_ERR_ARG, fn, "K = %lld is negative", (long long)K);
    int64_t span;
    nb_status s = nb_gemm_check_matrix(fn, "B", "ldb", B, trans_b ? N : K, trans_b ? K : N, ldb,
                                       sizeof(float), &span);
    if (s != NB_OK) return s;
    if (packed == NULL) return nb_error(NB_ERR_ARG, fn, "packed is NULL");
    const nb_isa isa = nb_kernels_active_unchecked()->isa;
    const nb_gemm_desc *d = gemm_desc_of(isa);
    int64_t floats, bytes;
    if (d) floats = nb_gemm_driver_packed_b_floats(d, N, K);
    else if (!nb_mul_ok(N, K, &floats)) floats = -1;
    if (floats < 0 || !nb_mul_ok(floats, (int64_t)sizeof(float), &bytes) || (uint64_t)bytes > SIZE_MAX)
        return nb_error(NB_ERR_OVERFLOW, fn, "the packed B of N = %lld x K = %lld overflows",
                        (long long)N, (long long)K);
    nb_sgemm_packed_b *p = calloc(1, sizeof *p);
    if (p && floats > 0 && !(p->data = nb_aligned_alloc((size_t)bytes))) {
        free(p);
        p = NULL;
    }
    if (!p) return nb_error(NB_ERR_OOM, fn, "out of memory for the packed B (%lld floats)", (long long)floats);
    *p = (nb_sgemm_packed_b){isa, d, N, K, floats, p->data};
    if (floats > 0 && d) nb_gemm_driver_pack_b(d, trans_b, N, K, B, ldb, p->data);
    else if (floats > 0) copy_op_b(trans_b, N, K, B, ldb, p->data);
    *packed = p;
    return NB_OK;
}

/* op(B) of a pack as a dense K x N matrix (dst), from the driver's panels. */
static void unpack(const nb_sgemm_packed_b *p, float *dst) {
    const int64_t nr = p->d->nr, np = (p->n + nr - 1) / nr * nr;
    for (int64_t pc = 0; pc < p->k; pc += p->d->kc) {
        const int64_t kc = p->k - pc < p->d->kc ? p->k - pc : p->d->kc;
        const float *blk = p->data + pc * np;
        for (int64_t k = 0; k < kc; k++)
            for (int64_t j = 0; j < p->n; j++)
                dst[(pc + k) * p->n + j] = blk[j / nr * nr * kc + k * nr + j % nr];
    }
}

/* The unpacked call of table kt on op(B) (the pack's own copy, or unpacked
   into a temporary one). */
static nb_status run_unpacked(const struct nb_kernels *kt, const nb_sgemm_packed_b *p, int ta,
                              int64_t M, float alpha, const float *A, int64_t lda, float beta,
                              float *C, int64_t ldc) {
    const int64_t ldb = p->n > 1 ? p->n : 1;
    if (!p->d) return kt->sgemm(ta, 0, M, p->n, p->k, alpha, A, lda, p->data, ldb, beta, C, ldc);
    float *b = p->floats > 0 ? malloc((size_t)(p->n * p->k) * sizeof *b) : NULL;
    if (p->floats > 0 && !b) return NB_ERR_OOM;
    if (b) unpack(p, b);
    const nb_status s = kt->sgemm(ta, 0, M, p->n, p->k, alpha, A, lda, b, ldb, beta, C, ldc);
    free(b);
    return s;
}

nb_status nb_sgemm_packed(int trans_a, int64_t M, int64_t N, int64_t K, float alpha,
                          const float *A, int64_t lda, const nb_sgemm_packed_b *B, float beta,
                          float *C, int64_t ldc) {
    static const char fn[] = "nb_sgemm_packed";
    if (trans_a != 0 && trans_a != 1) return nb_error(NB_ERR_ARG, fn, "trans_a = %d must be 0 or 1", trans_a);
    if (B == NULL) return nb_error(NB_ERR_ARG, fn, "B (the packed B) is NULL");
    if (M < 0) return nb_error(NB_ERR_ARG, fn, "M = %lld is negative", (long long)M);
    if (N != B->n) return nb_error(NB_ERR_SHAPE, fn, "N = %lld differs from the packed B's %lld", (long long)N, (long long)B->n);
    if (K != B->k) return nb_error(NB_ERR_SHAPE, fn, "K = %lld differs from the packed B's %lld", (long long)K, (long long)B->k);
    int64_t span_a, span_c;
    nb_status s;
    if ((s = nb_gemm_check_matrix(fn, "A", "lda", A, trans_a ? K : M, trans_a ? M : K, lda, sizeof(float), &span_a)) ||
        (s = nb_gemm_check_matrix(fn, "C", "ldc", C, M, N, ldc, sizeof(float), &span_c)))
        return s;
    if (nb_ranges_overlap(C, (size_t)span_c * sizeof(float), A, (size_t)span_a * sizeof(float)))
        return nb_error(NB_ERR_ALIAS, fn, "C overlaps A");
    if (nb_ranges_overlap(C, (size_t)span_c * sizeof(float), B->data, (size_t)B->floats * sizeof(float)))
        return nb_error(NB_ERR_ALIAS, fn, "C overlaps the packed B");
    if (M == 0 || N == 0) return NB_OK;
    const struct nb_kernels *kt = nb_kernels_active();
    if (B->d && kt == nb_kernels_active_unchecked() && kt->isa == B->isa)
        s = nb_gemm_driver_run_prepacked(B->d, trans_a, M, N, K, alpha, A, lda, B->data, beta, C, ldc);
    else
        s = run_unpacked(kt, B, trans_a, M, alpha, A, lda, beta, C, ldc);
    if (s == NB_ERR_OOM)   /* before C is touched */
        return nb_error(s, fn, "out of memory for the packing buffers");
    return s;
}
