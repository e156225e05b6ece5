/* Training progress: a bar redrawn in place on a terminal (images/s,
 * running loss, ETA), plain lines every few seconds otherwise (logs, CI). */
#ifndef FASHION_MNIST_PROGRESS_H
#define FASHION_MNIST_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int epoch, epochs;
    int64_t steps, step, images;
    double t0, last_draw, running;   /* running: exponential average of the loss */
    bool tty;
} fm_progress;

void fm_progress_start(fm_progress *p, int epoch, int epochs, int64_t steps);
void fm_progress_step(fm_progress *p, int64_t batch_images, double loss);
/* Ends the epoch's line; accuracy in [0, 1], or < 0 when not measured. */
void fm_progress_end(fm_progress *p, double accuracy);

#endif
