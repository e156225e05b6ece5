/* Machinery of the hostile-argument table (tests/test_hostile_table.c).
 *
 * Each H*(fn, args...) runs fn(args...) in a forked child (so a crash or a
 * hang is reported as that call's failure and the table goes on) and checks
 * the error value the headers promise: HN a NULL pointer, HS a status other
 * than NB_OK, HM -1, HF false — each with nb_last_error() naming fn
 * (the message is set to a neutral one before the call). HV (void
 * functions) and HA (a value any answer to which is fine) only require the
 * call to return. Every function called is recorded, so the test can check
 * that the table names every public function of the headers. */
#ifndef NBT_HOSTILE_TABLE_H
#define NBT_HOSTILE_TABLE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "harness.h"

#define H_MAX_NAMES 512
static const char *h_called[H_MAX_NAMES];
static int h_ncalled, h_calls, h_failures;

static void h_record(const char *fn) {
    for (int i = 0; i < h_ncalled; i++)
        if (strcmp(h_called[i], fn) == 0) return;
    if (h_ncalled < H_MAX_NAMES) h_called[h_ncalled++] = fn;
}

static int h_was_called(const char *fn) {
    for (int i = 0; i < h_ncalled; i++)
        if (strcmp(h_called[i], fn) == 0) return 1;
    return 0;
}

/* Forks; returns 1 in the child (which runs the call, then h_done), 0 in
   the parent once the child has finished, after judging how it ended. */
static int h_child(const char *fn, const char *args) {
    h_record(fn);
    h_calls++;
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) { fail_msg("fork: cannot run %s(%s)", fn, args); }
    if (pid == 0) {
        /* CMocka's handlers would longjmp back into the test and run the
           rest of the table in the child: a crash must end the child. */
        static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
        alarm(20);   /* a hang is a failure too */
        nb_error(NB_ERR_STATE, "hostile_table", "no error yet");
        return 1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "FAIL %s(%s): %s (signal %d)\n", fn, args,
                WTERMSIG(status) == SIGALRM ? "hung" : "crashed", WTERMSIG(status));
        h_failures++;
    } else if (WEXITSTATUS(status) != 0) {
        h_failures++;   /* the child said why */
    }
    return 0;
}

/* The message names fn: "fn" followed by something that cannot continue
   an identifier (so "nb_add" is not found in "nb_add_scalar: ..."). */
static int h_names(const char *msg, const char *fn) {
    const size_t n = strlen(fn);
    for (const char *p = strstr(msg, fn); p; p = strstr(p + 1, fn)) {
        const char c = p[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 1;
    }
    return 0;
}

static _Noreturn void h_done(const char *fn, const char *args, const char *bad) {
    const char *msg = nb_last_error();
    if (!bad && !h_names(msg ? msg : "", fn)) bad = "nb_last_error() does not name the function";
    if (bad) fprintf(stderr, "FAIL %s(%s): %s (nb_last_error: \"%s\")\n", fn, args, bad, msg ? msg : "(null)");
    fflush(stderr);
    _exit(bad ? 1 : 0);
}
static _Noreturn void h_returned(void) { _exit(0); }
/* A query whose documented answer is checked, with no message required. */
static _Noreturn void h_answer(const char *fn, const char *a, int ok) {
    if (!ok) fprintf(stderr, "FAIL %s(%s): not the documented answer\n", fn, a);
    fflush(stderr);
    _exit(!ok);
}

static void h_null(const char *fn, const char *a, const void *r) { h_done(fn, a, r ? "returned non-NULL" : NULL); }
static void h_status(const char *fn, const char *a, nb_status s) { h_done(fn, a, s == NB_OK ? "returned NB_OK" : NULL); }
static void h_minus1(const char *fn, const char *a, int64_t v) { h_done(fn, a, v != -1 ? "did not return -1" : NULL); }
static void h_false(const char *fn, const char *a, bool v) { h_done(fn, a, v ? "returned true" : NULL); }

#define H_(check, fn, ...) do { if (h_child(#fn, #__VA_ARGS__)) check(#fn, #__VA_ARGS__, fn(__VA_ARGS__)); } while (0)
#define HN(fn, ...) H_(h_null, fn, __VA_ARGS__)
#define HS(fn, ...) H_(h_status, fn, __VA_ARGS__)
#define HM(fn, ...) H_(h_minus1, fn, __VA_ARGS__)
#define HF(fn, ...) H_(h_false, fn, __VA_ARGS__)
#define HV(fn, ...) do { if (h_child(#fn, #__VA_ARGS__)) { fn(__VA_ARGS__); h_returned(); } } while (0)
#define HA(fn, ...) do { if (h_child(#fn, #__VA_ARGS__)) { (void)fn(__VA_ARGS__); h_returned(); } } while (0)
#define HV0(fn) do { if (h_child(#fn, "")) { fn(); h_returned(); } } while (0)
#define HA0(fn) do { if (h_child(#fn, "")) { (void)fn(); h_returned(); } } while (0)

#endif
