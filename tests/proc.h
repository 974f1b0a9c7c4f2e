/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The black-box harness's hold on a process it starts (the real mptrace):
 * started with its stdout and stderr piped, read as it writes, reaped within
 * a bound. Nothing here asserts, so a test that runs several at once from
 * threads of its own (test_churn) uses it as the cmocka tests (e2e.c) do.
 */
#ifndef MPTRACE_TESTS_PROC_H
#define MPTRACE_TESTS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proc {
	pid_t pid;
	int out_fd, err_fd;
	char out[1 << 20], err[1 << 14]; /* a JSON line is ~2 KB with a deep process tree */
	size_t out_len, err_len;
};

/* Start @argv as @uid (0: as we are), its stdout and stderr piped to @p; 0 or -errno. */
int proc_spawn(struct proc *p, char *const argv[], uid_t uid);

/*
 * Read what comes on both pipes for up to @ms, until both end, or until @want
 * appears on stderr. 0, or -EMSGSIZE when more came than @p keeps (a full
 * buffer would read as the end, and comparisons would fail for no reason).
 */
int proc_pump(struct proc *p, int ms, const char *want);

/* Reap it within @ms: its exit code (128 + a signal), or -1 while it still runs. */
int proc_reap(struct proc *p, int ms);

/* Its "mptrace: tracing EVENTS via MODE" line has come. */
bool proc_ready(const struct proc *p);

#endif
