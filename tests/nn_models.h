/* Models shared by the nn suites (header-only). */
#ifndef NBT_NN_MODELS_H
#define NBT_NN_MODELS_H

#include "tensor_util.h"

/* Issue 12's Fashion-MNIST CNN:
   Conv2d(1,32,3,p1)-BN-ReLU-MaxPool2-Conv2d(32,64,3,p1)-BN-ReLU-MaxPool2-
   Flatten-Linear(3136,128)-ReLU-Dropout(0.5)-Linear(128,10). */
static inline nb_module *nbt_fashion_cnn(nb_generator *g) {
    nb_conv2d_params p = nb_conv2d_defaults();
    p.pad_h = p.pad_w = 1;
    nb_module *layers[13] = {
        nb_conv2d_new(1, 32, 3, 3, &p, true, g), nb_batch_norm2d_new(32, 1e-5, 0.1, true), nb_relu_new(),
        nb_max_pool2d_new(2, 2, 0, 0, 0, 0),
        nb_conv2d_new(32, 64, 3, 3, &p, true, g), nb_batch_norm2d_new(64, 1e-5, 0.1, true), nb_relu_new(),
        nb_max_pool2d_new(2, 2, 0, 0, 0, 0),
        nb_flatten_new(), nb_linear_new(3136, 128, true, g), nb_relu_new(), nb_dropout_new(0.5, 7),
        nb_linear_new(128, 10, true, g)};
    for (int i = 0; i < 13; i++) assert_non_null(layers[i]);
    nb_module *m = nb_sequential_new(13, layers);
    assert_non_null(m);
    return m;
}

/* Conv2d(1,2,3)-BatchNorm2d(2)-ReLU-Flatten-Linear(8,3) on 4x4 images:
   parameters, float buffers and an int64 0-dim buffer (num_batches_tracked). */
static inline nb_module *nbt_small_bn_model(uint64_t seed) {
    nb_generator *g = nb_generator_new(seed);
    nb_module *m = nb_sequential_new(5, (nb_module *[]){nb_conv2d_new(1, 2, 3, 3, NULL, true, g),
                                                        nb_batch_norm2d_new(2, 1e-5, 0.1, true), nb_relu_new(),
                                                        nb_flatten_new(), nb_linear_new(8, 3, true, g)});
    nb_generator_free(g);
    assert_non_null(m);
    return m;
}

#endif
