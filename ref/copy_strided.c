/* Reference strided copy: nb_ref_copy_strided.
 *
 * dst[i] = src[i] for every multi-index i of shape, walked in row-major
 * order, one element (elem_size bytes) at a time with memcpy. Arguments are
 * validated by src/api_copy.c: dst has no stride 0 on a dim of size > 1 and
 * does not provably overlap src. Pure data movement: bit-exact.
 */
#include <string.h>

#include "ref.h"

nb_status nb_ref_copy_strided(size_t elem_size, int ndim, const int64_t *shape, const void *src,
                              const int64_t *ss, void *dst, const int64_t *ds) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    if (n == 0) return NB_OK;
    const char *s = src;
    char *d = dst;
    int64_t idx[NB_MAX_DIMS] = {0}, so = 0, dof = 0;
    const int64_t es = (int64_t)elem_size;
    /* The offsets are only ever those of elements visited: a stride is
       added when its index moves to an element that exists, and a wrap
       takes back the (shape - 1) strides added, which the validated extent
       bounds. A stride on a size-1 dim (any value: it is never applied) or
       one past the last element would overflow int64. */
    for (int64_t k = 0; k < n; k++) {
        memcpy(d + dof * es, s + so * es, elem_size);
        for (int i = ndim - 1; i >= 0; i--) {
            if (idx[i] + 1 < shape[i]) {
                idx[i]++;
                so += ss[i];
                dof += ds[i];
                break;
            }
            so -= ss[i] * idx[i];
            dof -= ds[i] * idx[i];
            idx[i] = 0;
        }
    }
    return NB_OK;
}
