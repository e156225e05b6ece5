#include "harness.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t state, seed;

uint64_t nbt_seed(void) {
    if (seed == 0) {
        const char *e = getenv("NABLA_TEST_SEED");
        seed = (e && *e) ? strtoull(e, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        if (seed == 0) seed = 1;
        state = seed;
    }
    return seed;
}

uint64_t nbt_next(void) {
    nbt_seed();
    /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
}

int64_t nbt_range(int64_t lo, int64_t hi) {
    return lo + (int64_t)(nbt_next() % (uint64_t)(hi - lo + 1));
}

float nbt_uniform(float lo, float hi) {
    return lo + (hi - lo) * (float)((nbt_next() >> 40) * (1.0 / 16777216.0));
}

void nbt_fill_uniform(float *p, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) p[i] = nbt_uniform(lo, hi);
}

void nbt_fill_uniform_d(double *p, int64_t n, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * ((nbt_next() >> 11) * (1.0 / 9007199254740992.0));
}

void nbt_fill_int(float *p, int64_t n, int r) {
    for (int64_t i = 0; i < n; i++) p[i] = (float)nbt_range(-r, r);
}

/* Live guarded mappings, so nbt_free_guarded() can find its mapping. */
static struct { void *p, *base; size_t len; } live[256];

void *nbt_alloc_guarded(size_t bytes, int guard_before) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t data_pages = (bytes + page - 1) / page;
    const size_t len = (data_pages + 2) * page;        /* guard + data + guard */
    char *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return NULL;
    char *data_start = base + page;
    char *data_end = data_start + data_pages * page;
    mprotect(base, page, PROT_NONE);
    mprotect(data_end, page, PROT_NONE);
    char *p = guard_before ? data_start : data_end - bytes;
    memset(p, 0xA5, bytes);
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i].p == NULL) {
            live[i].p = p; live[i].base = base; live[i].len = len;
            return p;
        }
    munmap(base, len);
    return NULL;
}

void nbt_free_guarded(void *p) {
    if (!p) return;
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i].p == p) {
            munmap(live[i].base, live[i].len);
            live[i].p = NULL;
            return;
        }
}

int64_t nbt_ulp_distance(float a, float b) {
    if (a == b) return 0;
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    if (ia < 0) ia = INT32_MIN - ia;
    if (ib < 0) ib = INT32_MIN - ib;
    int64_t d = (int64_t)ia - (int64_t)ib;
    return d < 0 ? -d : d;
}

int nbt_same_value(float a, float b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b;
}

static int skipped_flag;

void nbt_skip_impl(const char *file, int line) {
    skipped_flag = 1;
    _skip(file, line);
}

/* NABLA_TEST_FILTER: a glob (fnmatch) over case names; without a glob
   character it matches names that contain it. */
static int selected(const char *filter, const char *name) {
    if (!filter || !*filter) return 1;
    if (!strpbrk(filter, "*?[")) return strstr(name, filter) != NULL;
    return fnmatch(filter, name, 0) == 0;
}

int nbt_run_impl(const char *name, const struct CMUnitTest *tests, size_t n) {
    /* NABLA_TEST_LIST=1: the case names, one a line, and nothing run (the
       test command uses it to check that a stage's programs can load). */
    const char *list = getenv("NABLA_TEST_LIST");
    if (list && *list && strcmp(list, "0") != 0) {
        for (size_t i = 0; i < n; i++) printf("%s\n", tests[i].name);
        return 0;
    }
    const char *filter = getenv("NABLA_TEST_FILTER");
    cmocka_set_message_output(CM_OUTPUT_STDOUT);
    /* The seed first, as a TAP comment, so a failure can be replayed. */
    printf("# %s: NABLA_TEST_SEED=%llu isa=%s%s%s\n", name, (unsigned long long)nbt_seed(),
           nb_isa_name(nb_isa_active()), filter && *filter ? " NABLA_TEST_FILTER=" : "",
           filter && *filter ? filter : "");
    fflush(stdout);
    int failures = 0;
    size_t ran = 0;
    char (*result)[160] = calloc(n ? n : 1, sizeof *result);
    if (!result) return 1;
    /* CMocka's readable lines (and anything a test prints) go to stderr
       while the tests run; stdout carries TAP only. */
    const int tap_fd = dup(STDOUT_FILENO);
    dup2(STDERR_FILENO, STDOUT_FILENO);
    for (size_t i = 0; i < n; i++) {
        if (!selected(filter, tests[i].name)) continue;
        skipped_flag = 0;
        fflush(stdout);
        const int failed = _cmocka_run_group_tests(tests[i].name, &tests[i], 1, NULL, NULL);
        failures += failed != 0;
        snprintf(result[ran], sizeof result[ran], "%s %zu - %s%s", failed ? "not ok" : "ok", ran + 1,
                 tests[i].name, (!failed && skipped_flag) ? " # SKIP" : "");
        ran++;
    }
    fflush(stdout);
    if (tap_fd >= 0) { dup2(tap_fd, STDOUT_FILENO); close(tap_fd); }
    printf("1..%zu\n", ran);
    for (size_t i = 0; i < ran; i++) printf("%s\n", result[i]);
    fflush(stdout);
    free(result);
    return failures;
}

void nbt_expect_error(nb_status got, nb_status want, const char *fn, const char *word) {
    assert_int_equal(got, want);
    const char *msg = nb_last_error();
    if (!strstr(msg, fn) || !strstr(msg, word)) fail_msg("message \"%s\" lacks %s or %s", msg, fn, word);
}

float *nbt_alloc_floats(int64_t n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    assert_non_null(p);
    return p;
}

float *nbt_nan_floats(int64_t n) {
    float *p = nbt_alloc_floats(n);
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}
