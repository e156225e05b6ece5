/* Fashion-MNIST with a small CNN, trained with AdamW at batch 64.
 *
 *   fashion_mnist [--epochs 3] [--batch 64] [--threads N] [--isa ref|avx2|avx512|neon]
 *                 [--limit N] [--seed S] [--lr 1e-3] [--save FILE] [--resume FILE]
 *                 [--export-init FILE] [--export-order FILE] [--export-steps DIR] [--no-dropout]
 *                 [--log-losses FILE] [--steps N] [--test-limit N] [--eval] [--data DIR]
 *                 [--dtype float32|float64]
 *
 * The model is
 * Conv2d(1,32,3,p1)-BN-ReLU-MaxPool2-Conv2d(32,64,3,p1)-BN-ReLU-MaxPool2-
 * Flatten-Linear(3136,128)-ReLU-Dropout(0.25)-Linear(128,10). The data come
 * from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/),
 * normalised with the training set's mean and std. After each epoch the
 * test accuracy on the 10,000 test images (evaluation mode); at the end the
 * model is saved (--save, default fashion_mnist.nbst; nb_module_save's
 * format, docs/state-format.md). --resume FILE starts from a saved model
 * (the weights and BatchNorm statistics; AdamW's moments start afresh).
 *
 * For the PyTorch twin (fashion_mnist_torch.py, scripts/fashion_mnist_compare.sh):
 * --export-init writes the initial weights, --export-order each epoch's
 * batch order (one line of row indices per epoch), --log-losses each
 * step's loss, wall time and CPU time (ms), --export-steps DIR the model
 * before each step (DIR/step_<k>.nbst, with --steps). --limit N trains on
 * the first N images only, --test-limit N tests on the first N test
 * images, --steps N stops after N steps (no evaluation then unless --eval).
 * --dtype float64 trains in double precision (nb_module_to_dtype after the
 * initial weights are made or loaded, each batch converted): the
 * comparison with the twin without float32's rounding differences, which
 * training amplifies (scripts/fashion_mnist_compare.sh).
 *
 * Exit status: 0 when the run finished, every tensor it made is released
 * (nb_tensor_live_count back to its start) and, with --limit, the mean
 * loss of the last quarter of the steps is below that of the first
 * quarter (the short training test of examples/meson.build).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nabla/nabla.h>

#include "fashion_mnist_progress.h"

typedef struct {
    int epochs, threads;
    int64_t batch, limit, steps, test_limit;
    uint64_t seed;
    double lr, dropout;
    bool eval_anyway;
    nb_dtype dtype;
    const char *isa, *save, *resume, *export_init, *export_order, *export_steps, *log_losses, *data;
} options;

/* Conv2d(1,32,3,p1)-BN-ReLU-MaxPool2-Conv2d(32,64,3,p1)-BN-ReLU-MaxPool2-
   Flatten-Linear(3136,128)-ReLU-Dropout(p)-Linear(128,10): PyTorch's
   default initialisation from gen, Dropout's generator seeded with seed. */
static nb_module *model_new(double dropout_p, uint64_t seed, nb_generator *gen) {
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

static int usage(const char *why) {
    fprintf(stderr, "fashion_mnist: %s\nusage: fashion_mnist [--epochs N] [--batch N] [--threads N] [--isa NAME] "
                    "[--limit N] [--steps N] [--test-limit N] [--seed S] [--lr X] [--save FILE] [--resume FILE] [--export-init FILE] "
                    "[--export-order FILE] [--export-steps DIR] [--no-dropout] [--log-losses FILE] [--data DIR] [--eval] "
                    "[--dtype float32|float64]\n", why);
    return 2;
}

static int parse_args(int argc, char **argv, options *o) {
    *o = (options){.epochs = 3, .batch = 64, .seed = 1, .lr = 1e-3, .dropout = 0.25, .save = "fashion_mnist.nbst",
                   .data = "/usr/share/datasets/fashion-mnist"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-dropout")) { o->dropout = 0; continue; }
        if (!strcmp(a, "--eval")) { o->eval_anyway = true; continue; }
        if (!strcmp(a, "--help")) return usage("help");
        if (!v) return usage("missing value after an option");
        char *end = NULL;
        long long n = strtoll(v, &end, 10);
        bool num_ok = end && *end == '\0';
        i++;
        if (!strcmp(a, "--epochs") && num_ok && n >= 0) o->epochs = (int)n;
        else if (!strcmp(a, "--batch") && num_ok && n > 0) o->batch = n;
        else if (!strcmp(a, "--threads") && num_ok && n > 0) o->threads = (int)n;
        else if (!strcmp(a, "--limit") && num_ok && n > 0) o->limit = n;
        else if (!strcmp(a, "--steps") && num_ok && n > 0) o->steps = n;
        else if (!strcmp(a, "--test-limit") && num_ok && n > 0) o->test_limit = n;
        else if (!strcmp(a, "--seed") && num_ok && n >= 0) o->seed = (uint64_t)n;
        else if (!strcmp(a, "--lr")) o->lr = atof(v);
        else if (!strcmp(a, "--isa")) o->isa = v;
        else if (!strcmp(a, "--save")) o->save = v;
        else if (!strcmp(a, "--resume")) o->resume = v;
        else if (!strcmp(a, "--export-init")) o->export_init = v;
        else if (!strcmp(a, "--export-order")) o->export_order = v;
        else if (!strcmp(a, "--export-steps")) o->export_steps = v;
        else if (!strcmp(a, "--log-losses")) o->log_losses = v;
        else if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--dtype") && v && (!strcmp(v, "float32") || !strcmp(v, "float64")))
            o->dtype = !strcmp(v, "float64") ? NB_FLOAT64 : NB_FLOAT32;
        else return usage(a);
    }
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the whole process (all threads): on a shared machine a
   steadier throughput measure than the wall clock. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int set_isa(const char *name) {
    for (int i = 0; i < 8; i++) {
        const char *n = nb_isa_name((nb_isa)i);
        if (n && !strcmp(n, name)) {
            if (nb_isa_set((nb_isa)i) == NB_OK) return 0;
            break;
        }
    }
    fprintf(stderr, "fashion_mnist: --isa %s: not available here (active: %s)\n", name, nb_isa_name(nb_isa_active()));
    return 1;
}

/* Test accuracy in evaluation mode, batches of 1000 without autograd. */
static double accuracy(nb_module *model, nb_tensor *x, nb_tensor *y, nb_dtype dtype) {
    nb_module_train(model, false);
    nb_no_grad_enter();
    int64_t correct = 0, n = nb_tensor_size(x, 0);
    for (int64_t s = 0; s < n; s += 1000) {
        int64_t len = n - s < 1000 ? n - s : 1000;
        nb_tensor *xn = nb_narrow(x, 0, s, len), *xb = xn ? nb_to_dtype(xn, dtype) : NULL;
        nb_tensor *out = xb ? nb_module_forward(model, xb) : NULL;
        nb_tensor_release(xn);
        nb_tensor *pred = out ? nb_argmax(out, 1, false) : NULL;
        if (pred) {
            const int64_t *p = nb_tensor_data(pred), *t = (const int64_t *)nb_tensor_data(y) + s;
            for (int64_t i = 0; i < len; i++) correct += p[i] == t[i];
        }
        nb_tensor_release(xb);
        nb_tensor_release(out);
        nb_tensor_release(pred);
        if (!pred) { correct = -1; break; }
    }
    nb_no_grad_exit();
    nb_module_train(model, true);
    return correct < 0 ? -1 : (double)correct / (double)n;
}

/* One training step; returns the loss (NaN on an error). */
static double train_step(nb_module *model, nb_optimizer *opt, nb_tensor *xb, nb_tensor *yb) {
    nb_optimizer_zero_grad(opt);
    nb_tensor *out = nb_module_forward(model, xb), *loss = out ? nb_cross_entropy(out, yb) : NULL;
    double l = 0.0 / 0.0;
    if (loss && nb_backward(loss, NULL, false) == NB_OK && nb_optimizer_step(opt) == NB_OK) nb_tensor_item(loss, &l);
    nb_tensor_release(out);
    nb_tensor_release(loss);
    return l;
}

static void write_order(FILE *f, const nb_batch_iter *it) {
    const int64_t *order = nb_batch_iter_order(it);
    for (int64_t i = 0; i < nb_batch_iter_num_rows(it); i++)
        fprintf(f, i ? " %lld" : "%lld", (long long)order[i]);
    fputc('\n', f);
}

typedef struct {
    nb_tensor *xtr, *ytr, *xte, *yte;
} dataset;

/* The model before step `step`, as DIR/step_<step>.nbst (for the twin's
   per-step check, fashion_mnist_torch.py --check-steps). */
static int export_step(const char *dir, nb_module *model, int64_t step) {
    char path[1024];
    snprintf(path, sizeof path, "%s/step_%lld.nbst", dir, (long long)step);
    if (nb_module_save(model, path) == NB_OK) return 0;
    fprintf(stderr, "\nfashion_mnist: %s\n", nb_last_error());
    return 1;
}

static int load_data(const options *o, dataset *d) {
    char path[4][1024];
    const char *names[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    for (int i = 0; i < 4; i++) snprintf(path[i], sizeof path[i], "%s/%s", o->data, names[i]);
    struct stat st;
    if (stat(path[0], &st) != 0) {
        fprintf(stderr, "fashion_mnist: %s not found: install Debian's dataset-fashion-mnist "
                        "(scripts/deps.sh does) or pass --data DIR\n", path[0]);
        return 77;
    }
    nb_tensor *xtr = nb_idx_load_images(path[0], NB_FASHION_MNIST_MEAN, NB_FASHION_MNIST_STD);
    d->ytr = nb_idx_load_labels(path[1]);
    d->xte = nb_idx_load_images(path[2], NB_FASHION_MNIST_MEAN, NB_FASHION_MNIST_STD);
    d->yte = nb_idx_load_labels(path[3]);
    if (!xtr || !d->ytr || !d->xte || !d->yte) {
        fprintf(stderr, "fashion_mnist: %s\n", nb_last_error());
        nb_tensor_release(xtr);
        return 1;
    }
    if (o->limit && o->limit < nb_tensor_size(xtr, 0)) {
        nb_tensor *y = d->ytr;
        d->xtr = nb_narrow(xtr, 0, 0, o->limit);
        d->ytr = nb_narrow(y, 0, 0, o->limit);
        nb_tensor_release(xtr);
        nb_tensor_release(y);
    } else {
        d->xtr = xtr;
    }
    if (o->test_limit && o->test_limit < nb_tensor_size(d->xte, 0)) {
        nb_tensor *x = d->xte, *y = d->yte;
        d->xte = nb_narrow(x, 0, 0, o->test_limit);
        d->yte = nb_narrow(y, 0, 0, o->test_limit);
        nb_tensor_release(x);
        nb_tensor_release(y);
    }
    return 0;
}

typedef struct {
    FILE *losses, *order;
    double first_q, last_q;   /* loss sums of the first and last quarter of the steps */
    int64_t step, total_steps;
} run_log;

static int train(const options *o, nb_module *model, nb_optimizer *opt, nb_batch_iter *it, const dataset *d,
                 run_log *log) {
    const int64_t nb = nb_batch_iter_num_batches(it);
    fm_progress pr;
    for (int e = 0; e < o->epochs && log->step < log->total_steps; e++) {
        if (log->order) write_order(log->order, it);   /* this epoch's permutation */
        fm_progress_start(&pr, e + 1, o->epochs, nb);
        while (log->step < log->total_steps) {
            nb_tensor *xb, *yb;
            const double t0 = now_s(), c0 = cpu_s();   /* a step's time includes gathering its batch, as the twin's */
            if (nb_batch_iter_next(it, &xb, &yb) != NB_OK) { fprintf(stderr, "\nfashion_mnist: %s\n", nb_last_error()); return 1; }
            if (!xb) break;
            if (o->dtype != NB_FLOAT32) {   /* --dtype float64: the batch in the model's dtype */
                nb_tensor *xc = nb_to_dtype(xb, o->dtype);
                nb_tensor_release(xb);
                if (!(xb = xc)) { fprintf(stderr, "\nfashion_mnist: %s\n", nb_last_error()); nb_tensor_release(yb); return 1; }
            }
            if (o->export_steps && export_step(o->export_steps, model, log->step)) return 1;
            double l = train_step(model, opt, xb, yb), dt = now_s() - t0, dc = cpu_s() - c0;
            int64_t bsz = nb_tensor_size(xb, 0);
            nb_tensor_release(xb);
            nb_tensor_release(yb);
            if (l != l) { fprintf(stderr, "\nfashion_mnist: step %lld: %s\n", (long long)log->step, nb_last_error()); return 1; }
            if (log->losses) fprintf(log->losses, "%lld %.17g %.6f %.6f\n", (long long)log->step, l, dt * 1e3, dc * 1e3);
            if (log->step < log->total_steps / 4) log->first_q += l;
            if (log->step >= log->total_steps - log->total_steps / 4) log->last_q += l;
            log->step++;
            fm_progress_step(&pr, bsz, l);
        }
        fm_progress_end(&pr, !o->steps || o->eval_anyway ? accuracy(model, d->xte, d->yte, o->dtype) : -2);
    }
    return 0;
}

int main(int argc, char **argv) {
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc;
    if (o.threads) nb_set_num_threads(o.threads);
    if (o.isa && set_isa(o.isa)) return 2;
    dataset d = {0};
    if ((rc = load_data(&o, &d))) return rc;
    const int64_t live0 = nb_tensor_live_count();

    nb_generator *gen = nb_generator_new(o.seed);
    nb_module *model = model_new(o.dropout, o.seed, gen);
    if (!model) { fprintf(stderr, "fashion_mnist: model: %s\n", nb_last_error()); return 1; }
    if (o.resume && nb_module_load(model, o.resume)) { fprintf(stderr, "fashion_mnist: %s\n", nb_last_error()); return 1; }
    if (o.export_init && nb_module_save(model, o.export_init)) { fprintf(stderr, "fashion_mnist: %s\n", nb_last_error()); return 1; }
    if (o.dtype != NB_FLOAT32 && nb_module_to_dtype(model, o.dtype)) { fprintf(stderr, "fashion_mnist: %s\n", nb_last_error()); return 1; }
    nb_tensor *params[32];
    const int np = nb_module_parameters(model, params, 32);
    nb_optimizer *opt = np > 0 && np <= 32 ? nb_adamw_new(np, params, o.lr, 0.9, 0.999, 1e-8, 0.01) : NULL;
    nb_batch_iter *it = nb_batch_iter_new(d.xtr, d.ytr, o.batch, true, o.seed, false);
    if (!opt || !it) { fprintf(stderr, "fashion_mnist: %s\n", nb_last_error()); return 1; }

    run_log log = {0};
    const int64_t per_epoch = nb_batch_iter_num_batches(it);
    log.total_steps = o.steps && o.steps < per_epoch * o.epochs ? o.steps : per_epoch * o.epochs;
    if (o.log_losses && !(log.losses = fopen(o.log_losses, "w"))) { perror(o.log_losses); return 1; }
    if (o.export_order && !(log.order = fopen(o.export_order, "w"))) { perror(o.export_order); return 1; }
    printf("fashion_mnist: %lld training images, %lld test, batch %lld, %lld steps, isa %s, %d threads\n",
           (long long)nb_tensor_size(d.xtr, 0), (long long)nb_tensor_size(d.xte, 0), (long long)o.batch,
           (long long)log.total_steps, nb_isa_name(nb_isa_active()), nb_get_num_threads());
    const double t0 = now_s();
    rc = train(&o, model, opt, it, &d, &log);
    const double secs = now_s() - t0;
    if (log.losses) fclose(log.losses);
    if (log.order) fclose(log.order);
    printf("trained %lld steps in %.1f s: %.0f images/s\n", (long long)log.step, secs,
           (double)(log.step * o.batch) / secs);
    if (!rc && o.save && *o.save && nb_module_save(model, o.save)) { fprintf(stderr, "fashion_mnist: %s\n", nb_last_error()); rc = 1; }
    else if (!rc && o.save && *o.save) printf("model saved to %s\n", o.save);

    nb_batch_iter_free(it);
    nb_optimizer_free(opt);
    nb_module_free(model);
    nb_generator_free(gen);
    const int64_t live1 = nb_tensor_live_count();
    printf("live tensors after training: %lld (before: %lld)\n", (long long)live1, (long long)live0);
    if (live1 != live0) rc = 1;   /* a leak in the training loop */
    nb_tensor *all[] = {d.xtr, d.ytr, d.xte, d.yte};
    for (int i = 0; i < 4; i++) nb_tensor_release(all[i]);
    const int64_t q = log.total_steps / 4;
    if (!rc && o.limit && q > 0) {
        printf("mean loss: first quarter %.4f, last quarter %.4f\n", log.first_q / q, log.last_q / q);
        if (!(log.last_q < log.first_q)) rc = 1;
    }
    return rc;
}
