/* Learning-rate schedules: StepLR and CosineAnnealingLR, in their closed
 * form (torch.optim.lr_scheduler's _get_closed_form_lr). PyTorch's step()
 * uses a recursive form that agrees with it up to rounding while nobody
 * else changes the lr; the closed form does not drift over long runs. */
#include <math.h>
#include <stdlib.h>

#include "internal.h"
#include <nabla/nn.h>

struct nb_lr_scheduler {
    nb_optimizer *opt;   /* borrowed */
    bool cosine;
    int64_t period;      /* StepLR: step_size; cosine: t_max */
    double factor;       /* StepLR: gamma; cosine: eta_min */
    double base_lr, last_lr;
    int64_t epoch;
};

static nb_lr_scheduler *sched_new(const char *fn, nb_optimizer *opt, bool cosine, int64_t period, double factor) {
    if (!opt) { nb_error(NB_ERR_ARG, fn, "opt is NULL"); return NULL; }
    if (period < 1) { nb_error(NB_ERR_ARG, fn, "%s = %lld must be >= 1", cosine ? "t_max" : "step_size", (long long)period); return NULL; }
    if (!(factor >= 0) || !isfinite(factor)) {
        nb_error(NB_ERR_ARG, fn, "%s = %g must be finite and >= 0", cosine ? "eta_min" : "gamma", factor);
        return NULL;
    }
    nb_lr_scheduler *s = malloc(sizeof *s);
    if (!s) { nb_error(NB_ERR_OOM, fn, "cannot allocate"); return NULL; }
    const double lr = nb_optimizer_lr(opt);
    *s = (nb_lr_scheduler){opt, cosine, period, factor, lr, lr, 0};
    return s;
}

nb_lr_scheduler *nb_step_lr_new(nb_optimizer *opt, int64_t step_size, double gamma) {
    return sched_new("nb_step_lr_new", opt, false, step_size, gamma);
}
nb_lr_scheduler *nb_cosine_lr_new(nb_optimizer *opt, int64_t t_max, double eta_min) {
    return sched_new("nb_cosine_lr_new", opt, true, t_max, eta_min);
}

nb_status nb_lr_scheduler_step(nb_lr_scheduler *s) {
    if (!s) return nb_error(NB_ERR_ARG, "nb_lr_scheduler_step", "s is NULL");
    const int64_t e = ++s->epoch;
    double lr;
    if (s->cosine)
        lr = s->factor + (s->base_lr - s->factor) * (1 + cos(M_PI * (double)e / (double)s->period)) / 2;
    else
        lr = s->base_lr * pow(s->factor, (double)(e / s->period));
    if (lr < 0) lr = 0;   /* both ends are >= 0: only rounding could go below */
    s->last_lr = lr;
    return nb_optimizer_set_lr(s->opt, lr);
}

double nb_lr_scheduler_last_lr(const nb_lr_scheduler *s) {
    if (!s) { nb_error(NB_ERR_ARG, "nb_lr_scheduler_last_lr", "s is NULL"); return NAN; }
    return s->last_lr;
}

void nb_lr_scheduler_free(nb_lr_scheduler *s) { free(s); }
