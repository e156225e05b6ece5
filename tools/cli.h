/* Command-line options of `nabla bench` and `nabla diff`. */
#ifndef NB_TOOL_CLI_H
#define NB_TOOL_CLI_H

#include "nb_config.h"
#include "problem_run.h"

#define NBT_MAX_TOKENS 32
#define NBT_MAX_THREADS 16

typedef struct {
    const char *family;                 /* NULL with --replay */
    int ntok;
    char *tok[NBT_MAX_TOKENS];
    nb_isa isas[NB_ISA_COUNT];
    int nisa;                           /* 0: the default list */
    int threads[NBT_MAX_THREADS];
    int nthreads;                       /* 0: nb_get_num_threads() */
    uint64_t seed;
    nbt_data data;
    const char *replay;
} nbt_cli;

/* argv: the words after the command. Returns 0, or -1 with err set. */
int nbt_cli_parse(int argc, char **argv, nbt_cli *o, char *err, size_t len);

/* Reads a NABLA_VERBOSE log: calls fn(problem descriptor tokens) once per
   distinct replayable call, in first-seen order. Returns the number of
   distinct calls, or -1 (err set) when the file cannot be read or a line
   does not parse. */
typedef int (*nbt_replay_fn)(const nbt_problem *p, void *ctx);
int nbt_replay(const char *path, int copies, nbt_replay_fn fn, void *ctx, char *err, size_t len);

#endif
