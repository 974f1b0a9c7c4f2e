/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The black-box harness of the end-to-end tests (test_e2e_*.c): the real
 * binary started, its ready line awaited, its output read as a user would.
 */
#ifndef MPTRACE_TESTS_E2E_H
#define MPTRACE_TESTS_E2E_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"
#include "testutil.h"

/* From the command line: the binary, the checkers, the lineage workload. */
extern const char *mptrace_bin, *schema, *schema_check, *python, *ocsf_desc, *ocsf_check;
extern const char *lineage_bin; /* tests/mp_lineage */
/* This binary's comm (e2e_live, ...): its own calls' processName. */
extern const char *e2e_comm;
/* A private directory for the files a test writes, removed at the end. */
extern char tmpdir[];

/* Start @argv as @uid (0: as we are), its stdout and stderr piped to @p. */
void proc_start(struct proc *p, char *const argv[], uid_t uid);

/* Read what is available from both pipes for up to @ms; stop early once @want appears on stderr. */
void proc_read(struct proc *p, int ms, const char *want);

/* Wait for exit (reading its output meanwhile); the exit code, or -1 if it had to be killed. */
int proc_wait(struct proc *p, int ms);

/* Run @argv to its end (10 s at most); its exit code. */
int run(char *const argv[], uid_t uid, struct proc *p);

/* stderr is one "mptrace: ..." line that mentions @part. */
void assert_one_line_error(const struct proc *p, const char *part);

/* Start a tracer and wait for its ready line. */
void start_tracing(struct proc *p, char *const argv[]);

/* A child that idles until a byte comes on @go, with our memory mapped as it was. */
pid_t waiting_child(int go[2]);

/* A move_pages call of our own, with what it was given and what it returned in @c. */
void own_call(struct tu_call *c, void **pages, int *status, size_t n, int *nodes, int flags);

/* Argument @i of a JSON event. */
json_t *ev_arg(json_t *ev, size_t i);

/* A whole file, NUL-ended (free it); its length in @len. */
char *slurp(const char *path, size_t *len);

/*
 * The replay of capture @cap (with its detections when @detect, and the
 * chain as --ancestors @ancestors wrote it: NULL for the default) is the
 * live JSON @live, byte for byte. Through a file: a flood's records are
 * more than a pipe buffer holds.
 */
void assert_replay_is_live(const char *cap, const char *live, bool detect, const char *ancestors);

/*
 * Every line of @path is one complete JSON object, and each line whose chain
 * is cut comes after a process record of its parent; returns how many lines
 * are not process records.
 */
int json_lines(const char *path);

/* A process record: what a JSON line whose chain is cut names its parent by. */
bool is_process_record(json_t *j);

/* Newlines in @s. */
int count_lines(const char *s);

/* The last line of @buf holding @needle, as JSON; NULL if none. */
json_t *last_line_with(const char *buf, const char *needle);

/* Lines but process records ended so far in @path, which may be being written (0: not there). */
int newlines(const char *path);

/* Copy @from to @to, executable by anyone (whatever the umask). */
void copy_exe(const char *from, const char *to);

struct CMUnitTest;
/*
 * The main() of each test_e2e_* file: the arguments taken, root and BPF
 * required, the tests run as group @name in a fresh tmpdir. The process
 * is named @name (at most 15 bytes), e2e_comm.
 */
int e2e_main(int argc, char **argv, const char *name, const struct CMUnitTest *tests, size_t n);

#endif
