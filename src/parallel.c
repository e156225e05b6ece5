/* nabla's threaded loops (src/parallel.h): the only file with OpenMP
 * pragmas. Drivers and the tensor layer describe their work as a team body
 * or as chunks of a range; how the team is made lives here. */
#include "parallel.h"

#include "internal.h"

void nb_parallel_team(int nt, nb_team_body body, void *ctx) {
    if (nt <= 1) {
        body(ctx, 0, 1);
        return;
    }
#pragma omp parallel num_threads(nt)
    body(ctx, nb_parallel_thread_num(), nb_parallel_team_size());
}

void nb_parallel_barrier(int nt) {
    /* Only inside a team of our own: with nt == 1 no region was opened, and
       an orphaned barrier would bind to the CALLER's parallel region (a
       nabla call from the user's threads) and deadlock. */
    if (nt > 1) {
#pragma omp barrier
    }
}

typedef struct {
    int64_t n, chunk;
    int (*body)(void *ctx, int64_t begin, int64_t end);
    void *ctx;
    int worst;   /* the largest body result, raised atomically */
} chunks_ctx;

static void chunks_member(void *p, int tid, int nt) {
    chunks_ctx *c = p;
    int worst = 0;
    /* Chunk t goes to thread t; a team smaller than asked runs the rest. */
    for (int64_t t = tid; t * c->chunk < c->n; t += nt) {
        const int64_t lo = t * c->chunk, hi = lo + c->chunk < c->n ? lo + c->chunk : c->n;
        const int r = c->body(c->ctx, lo, hi);
        if (r > worst) worst = r;
    }
    int seen = __atomic_load_n(&c->worst, __ATOMIC_RELAXED);
    while (worst > seen &&
           !__atomic_compare_exchange_n(&c->worst, &seen, worst, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

int nb_parallel_chunks(int nt, int64_t n, int64_t quantum,
                       int (*body)(void *ctx, int64_t begin, int64_t end), void *ctx) {
    if (n <= 0) return 0;
    if (nt <= 1) return body(ctx, 0, n);
    if (quantum < 1) quantum = 1;
    chunks_ctx c = {n, ((n + nt - 1) / nt + quantum - 1) / quantum * quantum, body, ctx, 0};
    nb_parallel_team(nt, chunks_member, &c);
    return c.worst;
}

typedef struct {
    void (*body)(void *ctx, int64_t begin, int64_t end);
    void *ctx;
} for_ctx;

static int for_chunk(void *p, int64_t begin, int64_t end) {
    const for_ctx *f = p;
    f->body(f->ctx, begin, end);
    return 0;
}

void nb_parallel_for(int64_t n, int64_t grain, void (*body)(void *ctx, int64_t begin, int64_t end),
                     void *ctx) {
    if (n <= 0) return;
    for_ctx f = {body, ctx};
    nb_parallel_chunks(nb_threads_for(n, grain), n, 1, for_chunk, &f);
}
