/* The Fashion-MNIST example's model and model file (see
 * fashion_mnist_model.c). */
#ifndef FASHION_MNIST_MODEL_H
#define FASHION_MNIST_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <nabla/nabla.h>

/* Conv2d(1,32,3,p1)-BN-ReLU-MaxPool2-Conv2d(32,64,3,p1)-BN-ReLU-MaxPool2-
   Flatten-Linear(3136,128)-ReLU-Dropout(p)-Linear(128,10), PyTorch's default
   initialisation from gen; Dropout's generator seeded with seed. */
nb_module *fm_model_new(double dropout_p, uint64_t seed, nb_generator *gen);

/* The model's parameters and buffers to / from a file (the format is
   documented in fashion_mnist_model.c). Loading checks every name and shape
   before it changes anything. */
nb_status fm_model_save(nb_module *model, const char *path);
nb_status fm_model_load(nb_module *model, const char *path);

#endif
