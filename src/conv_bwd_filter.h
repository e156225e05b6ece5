/* Backward-filter's paths (private): src/conv_bwd_filter.c (the column
 * matrix paths and the dispatch) and src/conv_bwd_filter_rows.c (stride 1
 * without a column matrix). */
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

#endif
