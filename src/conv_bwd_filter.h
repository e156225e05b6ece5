/* Backward-filter's paths (private): src/conv_bwd_filter.c (the column
 * matrix paths and the dispatch), src/conv_bwd_filter_rows.c (stride 1
 * and 2 without a column matrix) and src/conv_bwd_filter_narrow.c (1x1
 * layers with few filters). */
#ifndef NB_CONV_BWD_FILTER_H
#define NB_CONV_BWD_FILTER_H

#include "conv_internal.h"

/* Whether the padded-rows path takes this shape (a function of the shape
   and of whether the ISA has an SGEMM descriptor, nothing else). */
int nb_conv_bwd_filter_rows_applies(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const nb_conv_geom *g);

/* dw by the padded-rows path. *ran = 0 (and dw undefined) when dw came
   out with a non-finite element (x holding Inf or NaN, or a sum that
   overflowed): the caller then runs a column-matrix path. NB_ERR_OOM
   before anything is written. */
nb_status nb_conv_bwd_filter_rows(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                  const nb_conv_geom *g, const float *x, const float *dy,
                                  float *dw, int *ran);

/* Whether the narrow 1x1 path takes this shape (the shape and the ISA's
   descriptors only), and the path itself (NB_ERR_OOM before anything is
   written). */
int nb_conv_bwd_filter_narrow_applies(const nb_conv_desc *cd, const nb_conv_geom *g);
nb_status nb_conv_bwd_filter_narrow(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const nb_conv_geom *g, const float *x, const float *dy, float *dw);

#endif
