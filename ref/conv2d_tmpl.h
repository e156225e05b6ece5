/* Type-generic body of the reference convolution (ref/conv2d.c includes it
 * once per precision). Before inclusion define
 *   T      the element type (float, double)
 *   FN(x)  the per-precision name: nb_ref_s##x or nb_ref_d##x
 * so nb_ref_sconv2d_forward calls nb_ref_sim2col and nb_ref_sgemm, and the
 * float64 twin the same code on double.
 *
 * Per image n and group g (sizes per group: cg = C/groups input channels,
 * kg = K/groups filters, L = cg R S rows of the column matrix):
 *   forward          col = im2col(x[n,g]);  y[n,g] (kg x PQ) = w[g] (kg x L) col + bias
 *   backward-data    col = w[g]^T dy[n,g];  dx[n,g] = col2im(col)
 *   backward-filter  col = im2col(x[n,g]);  dw[g] += dy[n,g] col^T  (summed over n)
 *                    dbias[k] = sum over n, p, q of dy[n,k,p,q]
 * The scratch (the L x PQ column matrix and the GEMM's row of doubles) is
 * allocated before any output is written: NB_ERR_OOM leaves them untouched.
 * An empty batch (n == 0) needs none.
 */

/* The column matrix (rows x cols) and the GEMM row buffer (acc_n doubles),
   both or neither. */
static inline int FN(conv_scratch)(int64_t rows, int64_t cols, int64_t acc_n, T **col, double **acc) {
    *col = alloc_scratch(rows, cols, sizeof(T));
    *acc = *col ? alloc_scratch(1, acc_n, sizeof(double)) : NULL;
    if (*acc) return 1;
    nb_aligned_free(*col);
    *col = NULL;
    return 0;
}

/* p + off, leaving NULL alone: an empty tensor may be passed as NULL, and
   NULL + 0 is undefined in C. */
static inline const T *FN(cptr_at)(const T *p, int64_t off) { return p ? p + off : p; }

nb_status FN(conv2d_forward)(const nb_conv2d_desc *d, const T *x, const T *w, const T *bias,
                             T *y) {
    int64_t P, Q;
    conv_out_shape(d, &P, &Q);
    const int64_t G = d->groups, cg = d->c / G, kg = d->k / G;
    const int64_t L = cg * d->r * d->s, PQ = P * Q, HW = d->h * d->w;
    T *col;
    double *acc;
    if (!FN(conv_scratch)(L, PQ, PQ, &col, &acc)) return NB_ERR_OOM;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t g = 0; g < G; g++) {
            T *yg = y + (n * d->k + g * kg) * PQ;
            T beta = 0;
            if (bias) {   /* y starts at the bias; the GEMM adds to it (beta = 1) */
                for (int64_t j = 0; j < kg; j++)
                    for (int64_t i = 0; i < PQ; i++) yg[j * PQ + i] = bias[g * kg + j];
                beta = 1;
            }
            FN(im2col)(d, cg, P, Q, FN(cptr_at)(x, (n * d->c + g * cg) * HW), col);
            FN(gemm_acc)(0, 0, kg, PQ, L, 1, FN(cptr_at)(w, g * kg * L), L, col, PQ, beta, yg, PQ, acc);
        }
    nb_aligned_free(col);
    nb_aligned_free(acc);
    return NB_OK;
}

nb_status FN(conv2d_backward_data)(const nb_conv2d_desc *d, const T *dy, const T *w, T *dx) {
    int64_t P, Q;
    conv_out_shape(d, &P, &Q);
    const int64_t G = d->groups, cg = d->c / G, kg = d->k / G;
    const int64_t L = cg * d->r * d->s, PQ = P * Q, HW = d->h * d->w;
    T *col;
    double *acc;
    if (!FN(conv_scratch)(L, PQ, PQ, &col, &acc)) return NB_ERR_OOM;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t g = 0; g < G; g++) {
            /* w[g] is stored kg x L: op(A) = w[g]^T is L x kg (lda = L). kg == 0 gives col = 0. */
            FN(gemm_acc)(1, 0, L, PQ, kg, 1, FN(cptr_at)(w, g * kg * L), L,
                         FN(cptr_at)(dy, (n * d->k + g * kg) * PQ), PQ, 0, col, PQ, acc);
            T *dxg = dx + (n * d->c + g * cg) * HW;
            for (int64_t i = 0; i < cg * HW; i++) dxg[i] = 0;
            FN(col2im)(d, cg, P, Q, col, dxg);
        }
    nb_aligned_free(col);
    nb_aligned_free(acc);
    return NB_OK;
}

nb_status FN(conv2d_backward_filter)(const nb_conv2d_desc *d, const T *x, const T *dy, T *dw,
                                     T *dbias) {
    int64_t P, Q;
    conv_out_shape(d, &P, &Q);
    const int64_t G = d->groups, cg = d->c / G, kg = d->k / G;
    const int64_t L = cg * d->r * d->s, PQ = P * Q, HW = d->h * d->w;
    const int has_dw = d->k > 0 && L > 0;
    T *col = NULL;
    double *acc = NULL;
    /* Images to sum over: only then is there a column matrix to build. */
    if (has_dw && d->n > 0 && !FN(conv_scratch)(L, PQ, L, &col, &acc)) return NB_ERR_OOM;
    if (has_dw)
        for (int64_t i = 0; i < d->k * L; i++) dw[i] = 0;   /* n == 0: the empty sum */
    for (int64_t n = 0; n < d->n && has_dw; n++)
        for (int64_t g = 0; g < G; g++) {
            FN(im2col)(d, cg, P, Q, FN(cptr_at)(x, (n * d->c + g * cg) * HW), col);
            /* dw[g] (kg x L) += dy[n,g] (kg x PQ) col^T (col stored L x PQ: ldb = PQ). */
            FN(gemm_acc)(0, 1, kg, L, PQ, 1, dy + (n * d->k + g * kg) * PQ, PQ, col, PQ, 1,
                         dw + g * kg * L, L, acc);
        }
    nb_aligned_free(col);
    nb_aligned_free(acc);
    if (dbias) {
        /* Double accumulator: nearly exact for float, the same order for double. */
        for (int64_t k = 0; k < d->k; k++) {
            double sum = 0;
            for (int64_t n = 0; n < d->n; n++) {
                const T *row = dy + (n * d->k + k) * PQ;
                for (int64_t i = 0; i < PQ; i++) sum += (double)row[i];
            }
            dbias[k] = (T)sum;
        }
    }
    return NB_OK;
}
