/* The Fashion-MNIST example's model, optimiser and files (see
 * fashion_mnist_model.c). */
#ifndef FASHION_MNIST_MODEL_H
#define FASHION_MNIST_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <nabla/nabla.h>

/* Conv2d(1,32,3,p1)-BN-ReLU-MaxPool2-Conv2d(32,64,3,p1)-BN-ReLU-MaxPool2-
   Flatten-Linear(3136,128)-ReLU-Dropout(p)-Linear(128,10), PyTorch's default
   initialisation from gen. p = 0 leaves Dropout out of the computation. */
nb_module *fm_model_new(double dropout_p, nb_generator *gen);
/* model.train() / model.eval(). */
void fm_model_train(nb_module *model, bool train);

/* torch.optim.AdamW(params, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay). */
typedef struct fm_adamw fm_adamw;
fm_adamw *fm_adamw_new(nb_module *model, double lr, double weight_decay);
nb_status fm_adamw_step(fm_adamw *o);
void      fm_adamw_zero_grad(fm_adamw *o);
void      fm_adamw_free(fm_adamw *o);

/* The model's parameters and buffers to / from a file (the format is
   documented in fashion_mnist_model.c). Loading checks every name and shape
   before it changes anything. */
nb_status fm_model_save(nb_module *model, const char *path);
nb_status fm_model_load(nb_module *model, const char *path);

#endif
