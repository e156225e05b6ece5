/* Options of `nabla bench` / `nabla diff` (see cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int parse_isas(const char *s, nbt_cli *o, char *err, size_t len) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    o->nisa = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int i = 0;
        while (i < NB_ISA_COUNT && strcmp(nb_isa_name((nb_isa)i), t) != 0) i++;
        if (i == NB_ISA_COUNT) return nbt_fail(err, len, "--isa: unknown ISA '%s'", t);
        if (!nb_isa_supported((nb_isa)i)) return nbt_fail(err, len, "--isa: this CPU or build cannot run '%s'", t);
        if (o->nisa == NB_ISA_COUNT) return nbt_fail(err, len, "--isa: '%s' lists an ISA twice", s);
        o->isas[o->nisa++] = (nb_isa)i;
    }
    return o->nisa ? 0 : nbt_fail(err, len, "--isa: empty list");
}

static int parse_threads(const char *s, nbt_cli *o, char *err, size_t len) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    o->nthreads = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        const long v = strtol(t, &end, 10);
        if (*end || v < 1 || v > 1024) return nbt_fail(err, len, "--threads: '%s' is not a count in [1, 1024]", t);
        if (o->nthreads == NBT_MAX_THREADS) return nbt_fail(err, len, "--threads: more than %d counts", NBT_MAX_THREADS);
        o->threads[o->nthreads++] = (int)v;
    }
    return o->nthreads ? 0 : nbt_fail(err, len, "--threads: empty list");
}

int nbt_cli_parse(int argc, char **argv, nbt_cli *o, char *err, size_t len) {
    *o = (nbt_cli){.seed = 1};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const int has_value = strcmp(a, "--isa") == 0 || strcmp(a, "--threads") == 0 ||
                              strcmp(a, "--seed") == 0 || strcmp(a, "--data") == 0 || strcmp(a, "--replay") == 0;
        if (has_value && i + 1 == argc) return nbt_fail(err, len, "%s needs a value", a);
        if (strcmp(a, "--isa") == 0) { if (parse_isas(argv[++i], o, err, len)) return -1; }
        else if (strcmp(a, "--threads") == 0) { if (parse_threads(argv[++i], o, err, len)) return -1; }
        else if (strcmp(a, "--seed") == 0) {
            char *end;
            o->seed = strtoull(argv[++i], &end, 10);
            if (*end || argv[i][0] == '-' || !argv[i][0])
                return nbt_fail(err, len, "--seed: '%s' is not a number", argv[i]);
        } else if (strcmp(a, "--data") == 0) {
            if (nbt_data_parse(argv[++i], &o->data))
                return nbt_fail(err, len, "--data: '%s' is not normal, uniform, integers or specials", argv[i]);
        } else if (strcmp(a, "--replay") == 0) o->replay = argv[++i];
        else if (!o->family && !o->replay && strncmp(a, "--", 2) != 0) o->family = a;
        else if (o->ntok == NBT_MAX_TOKENS) return nbt_fail(err, len, "too many words in the descriptor");
        else o->tok[o->ntok++] = argv[i];
    }
    if (o->replay && (o->family || o->ntok)) return nbt_fail(err, len, "--replay takes no FAMILY or SHAPE");
    if (!o->replay && !o->family) return nbt_fail(err, len, "missing FAMILY and SHAPE");
    return 0;
}
