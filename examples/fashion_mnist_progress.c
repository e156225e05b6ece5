/* Progress display of examples/fashion_mnist.c. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "fashion_mnist_progress.h"

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fm_progress_start(fm_progress *p, int epoch, int epochs, int64_t steps) {
    *p = (fm_progress){.epoch = epoch, .epochs = epochs, .steps = steps, .t0 = seconds(),
                       .tty = isatty(fileno(stdout)) == 1};
    p->last_draw = p->t0;
}

static void draw(fm_progress *p, double now) {
    const double el = now - p->t0, ips = el > 0 ? (double)p->images / el : 0;
    const double eta = p->step > 0 ? el * (double)(p->steps - p->step) / (double)p->step : 0;
    if (p->tty) {
        char bar[31];
        const int fill = p->steps ? (int)(30 * p->step / p->steps) : 30;
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        printf("\repoch %d/%d [%s] %lld/%lld  %6.0f img/s  loss %.4f  ETA %d:%02d ", p->epoch, p->epochs, bar,
               (long long)p->step, (long long)p->steps, ips, p->running, (int)eta / 60, (int)eta % 60);
    } else {
        printf("epoch %d/%d step %lld/%lld  %.0f img/s  loss %.4f  ETA %.0f s\n", p->epoch, p->epochs,
               (long long)p->step, (long long)p->steps, ips, p->running, eta);
    }
    fflush(stdout);
    p->last_draw = now;
}

void fm_progress_step(fm_progress *p, int64_t batch_images, double loss) {
    p->running = p->step == 0 ? loss : 0.98 * p->running + 0.02 * loss;
    p->step++;
    p->images += batch_images;
    const double now = seconds();
    /* A terminal redraws 5 times a second; a log gets a line every 10 s. */
    if (now - p->last_draw >= (p->tty ? 0.2 : 10.0)) draw(p, now);
}

void fm_progress_end(fm_progress *p, double accuracy) {
    const double el = seconds() - p->t0;
    if (p->tty) draw(p, seconds()), printf("\n");
    printf("epoch %d/%d: %lld steps in %.1f s, %.0f images/s, running loss %.4f", p->epoch, p->epochs,
           (long long)p->step, el, el > 0 ? (double)p->images / el : 0, p->running);
    if (accuracy >= 0) printf(", test accuracy %.2f %%", 100 * accuracy);
    printf("\n");
    fflush(stdout);
}
