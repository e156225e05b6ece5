/* Direct-definition 2-D convolution in double: the oracle of the conv tests.
 *
 * Written from the definition (PyTorch's cross-correlation), not from the
 * im2col formulation the library uses: forward is the 7-deep loop, backward-
 * data finds for each input position the output positions whose window
 * reads it, backward-filter sums x * dy over every window. Each function
 * also returns, per output element, the sum of |terms| (mag) and the number
 * of terms a sum could have (terms), which give the error bound
 *   |got - exact| <= gamma(terms + 2) mag,   gamma(m) = m u / (1 - m u).
 */
#ifndef NB_TEST_CONV_ORACLE_H
#define NB_TEST_CONV_ORACLE_H

#include <stdint.h>

#include <nabla/nabla.h>

/* P and Q counted position by position (not by the closed formula): the
   number of window starts whose dilated extent fits the padded input. */
void oc_out_shape(const nb_conv2d_desc *d, int64_t *P, int64_t *Q);

int64_t oc_numel_x(const nb_conv2d_desc *d);
int64_t oc_numel_w(const nb_conv2d_desc *d);
int64_t oc_numel_y(const nb_conv2d_desc *d);

/* Each fills exact[] and mag[] (sized like the output) and returns the
   largest number of terms in one sum (for the bound). bias may be NULL. */
int64_t oc_forward(const nb_conv2d_desc *d, const double *x, const double *w,
                   const double *bias, double *exact, double *mag);
int64_t oc_backward_data(const nb_conv2d_desc *d, const double *dy, const double *w,
                         double *exact, double *mag);
int64_t oc_backward_filter(const nb_conv2d_desc *d, const double *x, const double *dy,
                           double *exact, double *mag);
int64_t oc_backward_bias(const nb_conv2d_desc *d, const double *dy, double *exact, double *mag);

/* gamma(m) for unit roundoff u. */
double oc_gamma(int64_t m, double u);

/* Fails the test (fail_msg) at the first i with |got[i] - exact[i]| >
   tol_factor * mag[i], naming what and the index. */
void oc_check(const char *what, const nb_conv2d_desc *d, int64_t count, const double *got,
              const double *exact, const double *mag, double tol_factor);

/* Fails the test at the first i where got[i] and the reference's ref[i]
   differ in being NaN or infinite (Winograd spreads a NaN or Inf over whole
   tiles; the paths that catch it must give the reference's pattern);
   returns how many ref[i] are not finite. */
int64_t oc_same_nonfinite(const char *what, int64_t count, const float *got, const float *ref);

/* Winograd F(4x4, 3x3) (3x3, stride 1, dilation 1, groups 1; backward-data
   with pad <= 2): the bound |got - exact| <= gw wmag, gw = gamma(C' + 24)
   (the return value; C' = c forward, k backward-data), wmag the transforms
   run on absolute values (conv_oracle.c) and written over the output
   (y forward, dx backward-data). oc_winograd_widen adds gw / gamma(terms
   + 2) wmag to mag when the shape is eligible, so that a check of
   gamma(terms + 2) mag accepts either algorithm. bwd 2: backward-filter
   (in = x, w = dy, over dw; any padding), gw = gamma(N T + 21) for the
   N T 4x4 tiles of dy (src/conv_winograd_bwd_filter.c). */
int oc_winograd_eligible(const nb_conv2d_desc *d, int bwd);
double oc_winograd_mag(const nb_conv2d_desc *d, int bwd, const double *in, const double *w,
                       const double *bias, double *wmag);
void oc_winograd_widen(const nb_conv2d_desc *d, int bwd, const double *in, const double *w,
                       const double *bias, int64_t terms, double *mag);

/* A desc from its 14 fields in struct order. */
nb_conv2d_desc oc_desc(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r,
                       int64_t s, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                       int64_t dw, int64_t groups);

/* The shapes every conv suite runs (the brief's list: 1x1, 3x3, 5x5, 7x7
   stride 2, dilation 2, padding beyond the kernel's half, input smaller
   than the kernel, odd channels, groups 1/2/C, n = 0/1/3, ...). */
extern const nb_conv2d_desc oc_shapes[];
extern const int oc_shape_count;
/* A random desc with a non-empty output (small sizes, runs fast under qemu). */
nb_conv2d_desc oc_random_desc(void);

#endif
