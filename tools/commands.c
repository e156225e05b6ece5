/* `nabla bench` and `nabla diff`: options, the ISA list, one problem or a
 * replayed log. */
#include <stdio.h>

#include "tools.h"

typedef int (*problem_fn)(const nbt_problem *p, const nbt_cli *o);

/* Every usable ISA, the reference first (the rows are compared with it);
   an explicit list keeps its order but also puts ref first. */
static void isa_list(nbt_cli *o) {
    nb_isa l[NB_ISA_COUNT];
    int n = 0, has_ref = !o->nisa;
    for (int i = 0; i < o->nisa; i++) has_ref |= o->isas[i] == NB_ISA_REF;
    if (has_ref) l[n++] = NB_ISA_REF;
    if (!o->nisa) {
        for (int i = NB_ISA_REF + 1; i < NB_ISA_COUNT; i++)
            if (nb_isa_supported((nb_isa)i)) l[n++] = (nb_isa)i;
    } else {
        for (int i = 0; i < o->nisa; i++)
            if (o->isas[i] != NB_ISA_REF) l[n++] = o->isas[i];
    }
    for (int i = 0; i < n; i++) o->isas[i] = l[i];
    o->nisa = n;
}

struct replay_ctx { const nbt_cli *o; problem_fn fn; int worst, failed; };

static int replay_one(const nbt_problem *p, void *ctx) {
    struct replay_ctx *c = ctx;
    const int rc = c->fn(p, c->o);
    if (rc > c->worst) c->worst = rc;
    c->failed += rc != 0;
    return 0;
}

static int run(const char *cmd, int argc, char **argv, int copies, problem_fn fn) {
    nbt_cli o;
    char err[256];
    if (nbt_cli_parse(argc, argv, &o, err, sizeof err)) {
        fprintf(stderr, "nabla %s: %s\n", cmd, err);
        return 2;
    }
    if (copies > 1 && o.nthreads) {   /* diff runs on the thread count nabla picks */
        fprintf(stderr, "nabla %s: --threads is an option of bench (set NABLA_NUM_THREADS)\n", cmd);
        return 2;
    }
    isa_list(&o);
    if (o.replay) {
        struct replay_ctx c = {&o, fn, 0, 0};
        const int n = nbt_replay(o.replay, copies, replay_one, &c, err, sizeof err);
        if (n < 0) {
            fprintf(stderr, "nabla %s: %s\n", cmd, err);
            return 2;
        }
        printf("%d distinct calls replayed from %s", n, o.replay);
        if (c.failed) printf(", %d of them %s", c.failed, copies > 1 ? "outside the bound or failed" : "failed");
        printf("\n");
        return c.worst;
    }
    nbt_problem p;
    if (nbt_parse(o.family, o.ntok, o.tok, nbt_memory_limit(), copies, &p, err, sizeof err)) {
        fprintf(stderr, "nabla %s: %s\n", cmd, err);
        return 2;
    }
    return fn(&p, &o);
}

int nbt_cmd_bench(int argc, char **argv) { return run("bench", argc, argv, 1, nbt_bench_problem); }
int nbt_cmd_diff(int argc, char **argv) { return run("diff", argc, argv, 2, nbt_diff_problem); }
