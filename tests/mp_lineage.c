// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Short-lived callers for the lineage tests: each mode makes one
 * migrate_pages(0, 65, [0], [0]) call (nothing moves) the way a tool that
 * does its work and exits at once would, then exits.
 *   call ...        the call, then exit (the arguments only show in the trace)
 *   fork-rename     a child renames itself (PR_SET_NAME "renamed") and calls
 *   exec-again      execs itself as "mp_lineage call second"
 *   pidns           a child in a new pid namespace (its pid 1 there) calls
 *   wait-call       waits for a byte on stdin, then calls: started before the tracer
 *   deep N          N generations of forked children, the last of which calls
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int call(void)
{
	unsigned long node0 = 1;

	return syscall(SYS_migrate_pages, 0, 65, &node0, &node0) == 0 ? 0 : 1;
}

static int child_then(int (*fn)(void))
{
	pid_t child = fork();
	int st;

	if (child < 0)
		return 1;
	if (child == 0)
		_exit(fn());
	if (waitpid(child, &st, 0) != child)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* @n more generations below this one; the last calls. */
static int deep(int n)
{
	pid_t child;
	int st;

	if (n <= 0)
		return call();
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0)
		_exit(deep(n - 1));
	if (waitpid(child, &st, 0) != child)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int renamed_call(void)
{
	prctl(PR_SET_NAME, "renamed");
	return call();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	char c;

	if (!strcmp(mode, "call"))
		return call();
	if (!strcmp(mode, "fork-rename"))
		return child_then(renamed_call);
	if (!strcmp(mode, "exec-again")) {
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		/* by its own path: exec'd as /proc/self/exe its name would be "exe" */
		if (n <= 0)
			return 1;
		self[n] = '\0';
		execl(self, "mp_lineage", "call", "second", (char *)NULL);
		return 1;
	}
	if (!strcmp(mode, "pidns")) {
		if (unshare(CLONE_NEWPID))
			return 2;
		return child_then(call);
	}
	if (!strcmp(mode, "wait-call")) {
		if (read(0, &c, 1) != 1)
			return 1;
		return call();
	}
	if (!strcmp(mode, "deep") && argc > 2)
		return deep(atoi(argv[2]));
	fprintf(stderr, "usage: mp_lineage call|fork-rename|exec-again|pidns|wait-call|deep N\n");
	return 2;
}
