/* The commands of the nabla tool that run a caller's problem. */
#ifndef NB_TOOL_TOOLS_H
#define NB_TOOL_TOOLS_H

#include "cli.h"

/* argv: the words after "bench" / "diff". Exit status: 0, 1 (diff: a
   result outside its bound), 2 (bad input). */
int nbt_cmd_bench(int argc, char **argv);
int nbt_cmd_diff(int argc, char **argv);

/* One problem; o->isas filled. */
int nbt_bench_problem(const nbt_problem *p, const nbt_cli *o);
int nbt_diff_problem(const nbt_problem *p, const nbt_cli *o);

#endif
