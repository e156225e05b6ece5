/* nb_module_to_dtype: PyTorch's Module.to(dtype) / .double() / .float().
 *
 * Every floating parameter and buffer (and a parameter's grad) gets a
 * converted, contiguous storage of its own, in place: the tensor objects
 * stay the same, so references held elsewhere (a module's accessors, an
 * optimiser built afterwards) see the new dtype, as PyTorch's module.to()
 * replaces param.data. Views taken before keep the old storage, as in
 * PyTorch. Integer buffers (BatchNorm's num_batches_tracked) are left as
 * they are.
 *
 * All copies are made first and swapped in only when every one succeeded,
 * so an error (out of memory) leaves the module unchanged. */
#include <stdlib.h>

#include <nabla/nn.h>

#include "../tensor/tensor_internal.h"

/* t takes c's storage and geometry, c takes t's (and is then released by
   the caller with the old storage). */
static void swap_storage(nb_tensor *t, nb_tensor *c) {
    nb_tensor tmp = *t;
    t->dtype = c->dtype;
    t->offset = c->offset;
    t->storage = c->storage;
    for (int i = 0; i < NB_MAX_DIMS; i++) t->strides[i] = c->strides[i];
    c->dtype = tmp.dtype;
    c->offset = tmp.offset;
    c->storage = tmp.storage;
    for (int i = 0; i < NB_MAX_DIMS; i++) c->strides[i] = tmp.strides[i];
}

/* The tensors to convert: floating, not dtype yet, each once (a tensor
   registered twice, as tied weights are, converts once); grads follow
   their parameter. */
static int wanted(nb_tensor *t, nb_dtype dtype, nb_tensor **list, int n) {
    if (!t || !nb_is_float(t->dtype) || t->dtype == dtype) return 0;
    for (int i = 0; i < n; i++)
        if (list[i] == t) return 0;
    return 1;
}

nb_status nb_module_to_dtype(nb_module *m, nb_dtype dtype) {
    static const char fn[] = "nb_module_to_dtype";
    if (!m) return nb_error(NB_ERR_ARG, fn, "m is NULL");
    if (!nb_is_float(dtype))
        return nb_error(NB_ERR_DTYPE, fn, "dtype must be NB_FLOAT32 or NB_FLOAT64, got %d", (int)dtype);
    const int n = nb_module_state_dict(m, NULL, 0);
    if (n < 0) return nb_error_context(fn);
    nb_named_tensor *named = calloc((size_t)n + 1, sizeof *named);
    nb_tensor **from = calloc(2 * (size_t)n + 1, sizeof *from), **to = calloc(2 * (size_t)n + 1, sizeof *to);
    nb_status s = named && from && to ? NB_OK : nb_error(NB_ERR_OOM, fn, "out of memory listing %d tensors", n);
    int k = 0;
    if (!s && nb_module_state_dict(m, named, n) != n) s = nb_error_context(fn);
    for (int i = 0; !s && i < n; i++) {
        nb_tensor *t = named[i].tensor, *cand[2] = {t, t ? t->grad : NULL};
        if (t && t->grad_fn)
            s = nb_error(NB_ERR_ARG, fn, "\"%s\" is not a leaf tensor (it has a grad_fn)", named[i].name);
        for (int j = 0; !s && j < 2; j++) {
            if (!wanted(cand[j], dtype, from, k)) continue;
            /* a detached copy: the conversion is not part of any graph */
            nb_tensor *c = nb__empty(fn, cand[j]->ndim, cand[j]->shape, dtype);
            if (!c || nb__copy_into(fn, c, cand[j])) {
                nb_tensor_release(c);
                s = nb_error_context(fn);
                break;
            }
            from[k] = cand[j];
            to[k++] = c;
        }
    }
    for (int i = 0; i < k; i++) {
        if (!s) swap_storage(from[i], to[i]);
        nb_tensor_release(to[i]);   /* the old storage, or the unused copy */
    }
    free(named);
    free(from);
    free(to);
    return s;
}
