/* Argument checks shared by the GEMM entry points (private). */
#ifndef NB_API_GEMM_H
#define NB_API_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include <nabla/kernels.h>

/* `name`, stored rows x cols with leading dimension `ldname` = ld: NB_OK
   and *span = the elements it spans (0 when empty), or the error (named
   after fn and the argument) for a short ld, a NULL p with elements or a
   span that overflows int64. */
nb_status nb_gemm_check_matrix(const char *fn, const char *name, const char *ldname,
                               const void *p, int64_t rows, int64_t cols, int64_t ld,
                               size_t elem, int64_t *span);

#endif
