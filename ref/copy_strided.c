/* STUB: reference strided copy (to be written). */
#include "ref.h"
nb_status nb_ref_copy_strided(size_t elem_size, int ndim, const int64_t *shape, const void *src,
                              const int64_t *ss, void *dst, const int64_t *ds) {
    (void)elem_size; (void)ndim; (void)shape; (void)src; (void)ss; (void)dst; (void)ds;
    return NB_ERR_UNSUPPORTED;
}
