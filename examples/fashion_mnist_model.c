/* The Fashion-MNIST example's CNN, AdamW and model file.
 *
 * The layers are nabla's nn modules; the state dict has PyTorch's names
 * and order (nb_module_state_dict).
 *
 * Model file ("state dict", read by fashion_mnist_torch.py): the bytes
 * "NBSTATE1", a uint32 count, then per tensor, in the order of
 * model.state_dict(): uint32 name length, the name ("0.weight",
 * "1.running_mean", "1.num_batches_tracked", ...), uint8 dtype (nb_dtype:
 * 0 float32, 2 int64), uint8 ndim, ndim int64 sizes, the elements; all
 * little-endian. Loading checks every name, dtype and shape and that the
 * file ends there before it changes anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fashion_mnist_model.h"

nb_module *fm_model_new(double dropout_p, uint64_t seed, nb_generator *gen) {
    nb_conv2d_params p1 = nb_conv2d_defaults();
    p1.pad_h = p1.pad_w = 1;
    nb_module *mods[13] = {
        nb_conv2d_new(1, 32, 3, 3, &p1, true, gen), nb_batch_norm2d_new(32, 1e-5, 0.1, true), nb_relu_new(),
        nb_max_pool2d_new(2, 2, 0, 0, 0, 0),
        nb_conv2d_new(32, 64, 3, 3, &p1, true, gen), nb_batch_norm2d_new(64, 1e-5, 0.1, true), nb_relu_new(),
        nb_max_pool2d_new(2, 2, 0, 0, 0, 0),
        nb_flatten_new(), nb_linear_new(3136, 128, true, gen), nb_relu_new(),
        nb_dropout_new(dropout_p, seed), nb_linear_new(128, 10, true, gen),
    };
    bool ok = true;
    for (int i = 0; i < 13; i++) ok &= mods[i] != NULL;
    nb_module *seq = ok ? nb_sequential_new(13, mods) : NULL;
    if (!seq)
        for (int i = 0; i < 13; i++) nb_module_free(mods[i]);
    return seq;
}

/* ---- the model file ---- */
#define FM_MAX_TENSORS 64

nb_status fm_model_save(nb_module *model, const char *path) {
    nb_named_tensor sd[FM_MAX_TENSORS];
    const int n = nb_module_state_dict(model, sd, FM_MAX_TENSORS);
    if (n < 0 || n > FM_MAX_TENSORS) return NB_ERR_ARG;
    FILE *f = fopen(path, "wb");
    if (!f) return NB_ERR_ARG;
    uint32_t count = (uint32_t)n;
    bool ok = fwrite("NBSTATE1", 1, 8, f) == 8 && fwrite(&count, 4, 1, f) == 1;
    for (int i = 0; ok && i < n; i++) {
        nb_tensor *t = sd[i].tensor;
        uint32_t len = (uint32_t)strlen(sd[i].name);
        uint8_t dt = (uint8_t)nb_tensor_dtype(t), nd = (uint8_t)nb_tensor_ndim(t);
        size_t numel = (size_t)nb_tensor_numel(t), es = nb_dtype_size(nb_tensor_dtype(t));
        ok = fwrite(&len, 4, 1, f) == 1 && fwrite(sd[i].name, 1, len, f) == len && fwrite(&dt, 1, 1, f) == 1 &&
             fwrite(&nd, 1, 1, f) == 1 && fwrite(nb_tensor_shape(t), 8, nd, f) == nd &&
             fwrite(nb_tensor_data(t), es, numel, f) == numel;
    }
    ok &= fclose(f) == 0;
    return ok ? NB_OK : NB_ERR_ARG;
}

/* Reads one entry and checks it against the model's (name, dtype, shape). */
static bool read_entry(FILE *f, const nb_named_tensor *e, void **vals) {
    uint32_t len = 0;
    char name[NB_NAME_MAX] = {0};
    uint8_t dt = 255, nd = 0;
    int64_t shape[NB_MAX_DIMS];
    nb_tensor *t = e->tensor;
    bool ok = fread(&len, 4, 1, f) == 1 && len < sizeof name && fread(name, 1, len, f) == len &&
              !strcmp(name, e->name) && fread(&dt, 1, 1, f) == 1 && dt == (uint8_t)nb_tensor_dtype(t) &&
              fread(&nd, 1, 1, f) == 1 && nd == nb_tensor_ndim(t) && fread(shape, 8, nd, f) == nd &&
              !memcmp(shape, nb_tensor_shape(t), 8 * (size_t)nd);
    size_t numel = (size_t)nb_tensor_numel(t), es = nb_dtype_size(nb_tensor_dtype(t));
    return ok && (*vals = malloc(es * numel + 1)) && fread(*vals, es, numel, f) == numel;
}

nb_status fm_model_load(nb_module *model, const char *path) {
    nb_named_tensor sd[FM_MAX_TENSORS];
    const int n = nb_module_state_dict(model, sd, FM_MAX_TENSORS);
    if (n < 0 || n > FM_MAX_TENSORS) return NB_ERR_ARG;
    FILE *f = fopen(path, "rb");
    if (!f) return NB_ERR_ARG;
    char magic[8];
    uint32_t count = 0;
    bool ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, "NBSTATE1", 8) && fread(&count, 4, 1, f) == 1 &&
              count == (uint32_t)n;
    void *vals[FM_MAX_TENSORS] = {0};
    for (int i = 0; ok && i < n; i++) ok = read_entry(f, &sd[i], &vals[i]);
    ok = ok && fgetc(f) == EOF;
    fclose(f);
    /* Nothing changes unless every entry was read and matched. */
    for (int i = 0; i < n; i++) {
        nb_tensor *t = sd[i].tensor;
        if (ok) memcpy(nb_tensor_data(t), vals[i], nb_dtype_size(nb_tensor_dtype(t)) * (size_t)nb_tensor_numel(t));
        free(vals[i]);
    }
    return ok ? NB_OK : NB_ERR_ARG;
}
