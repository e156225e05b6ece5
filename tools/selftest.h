#ifndef NB_TOOL_SELFTEST_H
#define NB_TOOL_SELFTEST_H
/* Runs the differential self-test; NABLA_CHECK must be set before the
   library's first use. Returns the process exit status. */
int nb_tool_selftest(int rounds);
#endif
