// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tracers that come and go beside each other lose nothing silently.
 *
 *     test_churn MPTRACE [MODE|auto [INSTANCES]]
 *
 * A workload thread makes move_pages calls, each with its own sequence
 * number as pages[0] (an address never mapped: the call only reads it),
 * while two churner threads start mptrace instances (--pid this process),
 * let each trace for a random while and stop it with SIGINT, or now and then
 * SIGKILL. Every instance stopped cleanly must report each call made wholly
 * between its ready line and its stop, or count at least as many calls lost
 * as it misses. INSTANCES (8) are started in all, in MODE (kprobe, fentry,
 * tracepoint) when given;
 * tests/vm/init.sh runs this in every mode a guest kernel has.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

#define CALLS 20000 /* at most: the workload runs until the churners are done */
#define CALL_GAP_US 10000
#define INSTANCES_MAX 64

struct call {
	int64_t before, after; /* CLOCK_MONOTONIC ns */
};

struct instance {
	char out[256];
	struct proc proc; /* its stderr in proc.err */
	int64_t ready,
	    stop; /* CLOCK_MONOTONIC ns: after the ready line was read; before the signal */
	bool killed;
	int rc;
};

static const char *mptrace, *mode, *dir;
static struct call calls[CALLS + 1];
static struct instance inst[INSTANCES_MAX];
static int n_inst, instances = 8;
static volatile int workload_done, n_calls;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void *workload(void *arg)
{
	int status;

	(void)arg;
	for (uintptr_t i = 1; i <= CALLS && !workload_done; i++) {
		void *pages[1] = {(void *)(i << 12)};

		calls[i].before = mono_ns();
		syscall(SYS_move_pages, 0, 1, pages, NULL, &status, 0);
		calls[i].after = mono_ns();
		n_calls = i;
		usleep(CALL_GAP_US);
	}
	return NULL;
}

/* Where each thread of a stuck @pid waits, for whoever reads the log. */
static void show_stuck(pid_t pid)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd),
		 "for t in /proc/%d/task/*; do echo \"$t $(cat $t/comm) $(cat $t/wchan)\"; "
		 "cat $t/stack; done >&2",
		 (int)pid);
	if (system(cmd))
		fprintf(stderr, "(the stuck instance's threads could not be read)\n");
}

static void run_instance(struct instance *in, unsigned int *seed)
{
	char pid[16];
	/* the workload calls move_pages alone: the other events' hooks would only slow each start
	 */
	char *argv[16] = {(char *)mptrace, "-f", "json",    "-o",	 in->out,
			  "--pid",	   pid,	 "--event", "move_pages"};
	struct proc *p = &in->proc;
	int n = 9;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (mode) {
		argv[n++] = "--attach";
		argv[n++] = (char *)mode;
	}
	argv[n] = NULL;
	if (proc_spawn(p, argv, 0))
		exit(2);
	/* a bound, not a race: a guest under emulation on a busy host takes its time */
	for (int waited = 0; !proc_ready(p) && p->err_fd >= 0 && waited < 120000; waited += 100)
		proc_pump(p, 100, NULL);
	if (!proc_ready(p)) {
		kill(p->pid, SIGKILL);
		fprintf(stderr, "FAIL: an instance did not become ready: %s\n", p->err);
		exit(1);
	}
	in->ready = mono_ns();
	usleep(50000 + rand_r(seed) % 350000);
	/* every fourth, from the second on: never all of a few, so some are checked */
	in->killed = (in - inst) % 4 == 1;
	in->stop = mono_ns();
	kill(p->pid, in->killed ? SIGKILL : SIGINT);
	proc_pump(p, 30000, NULL);
	in->rc = proc_reap(p, 60000);
	if (in->rc < 0) {
		fprintf(stderr, "FAIL: an instance did not stop within 90 s of SIGINT: %s\n",
			p->err);
		show_stuck(p->pid);
		kill(p->pid, SIGKILL);
		exit(1);
	}
}

static void *churner(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	for (;;) {
		struct instance *in;

		pthread_mutex_lock(&lock);
		in = n_inst < instances ? &inst[n_inst++] : NULL;
		if (in)
			snprintf(in->out, sizeof(in->out), "%s/churn%d.json", dir, n_inst);
		pthread_mutex_unlock(&lock);
		if (!in)
			break;
		run_instance(in, &seed);
	}
	return NULL;
}

/* The sequence numbers (pages[0] >> 12) of the calls @in reported. */
static void reported(const struct instance *in, bool *seen)
{
	char line[1 << 16];
	FILE *f = fopen(in->out, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "\"name\":\"pages\"");
		unsigned long long addr;

		if (p && (p = strstr(p, "\"data\":[\"")) && sscanf(p + 9, "%llx", &addr) == 1 &&
		    (addr >> 12) >= 1 && (addr >> 12) <= CALLS)
			seen[addr >> 12] = true;
	}
	fclose(f);
}

/* Check one cleanly stopped instance; the calls it had to see. */
static int check(const struct instance *in, int idx)
{
	bool seen[CALLS + 1] = {0};
	unsigned long long events, dropped;
	const char *s = in->proc.err;
	int due = 0, missing = 0, first = 0;

	while ((s = strstr(s, "mptrace: ")) &&
	       sscanf(s, "mptrace: %llu events, %llu dropped", &events, &dropped) != 2)
		s++;
	if (!s) {
		fprintf(stderr, "FAIL: instance %d (exit %d) has no summary: %s\n", idx, in->rc,
			in->proc.err);
		exit(1);
	}
	reported(in, seen);
	for (int i = 1; i <= n_calls; i++) {
		if (calls[i].before <= in->ready || !calls[i].after || calls[i].after >= in->stop)
			continue;
		due++;
		if (!seen[i] && !missing++)
			first = i;
	}
	if ((unsigned long long)missing > dropped) {
		fprintf(stderr,
			"FAIL: instance %d missed %d of the %d calls made while it was ready (call "
			"%d first) and counted %llu lost:\n%s",
			idx, missing, due, first, dropped, in->proc.err);
		exit(1);
	}
	return due;
}

int main(int argc, char **argv)
{
	char tmpl[] = "/tmp/mptrace-churn-XXXXXX";
	pthread_t w, c[2];
	int checked = 0, killed = 0, due = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: test_churn MPTRACE [MODE|auto [INSTANCES]]\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "test_churn: needs root (BPF)\n");
		return getenv("MPTRACE_REQUIRE_BPF") ? 1 : 77;
	}
	mptrace = argv[1];
	mode = argc > 2 && strcmp(argv[2], "auto") ? argv[2] : NULL;
	if (argc > 3)
		instances = atoi(argv[3]);
	if (instances < 1 || instances > INSTANCES_MAX)
		return 2;
	dir = mkdtemp(tmpl);
	if (!dir)
		return 2;
	pthread_create(&w, NULL, workload, NULL);
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&c[i], NULL, churner, (void *)(i + 1));
	for (int i = 0; i < 2; i++)
		pthread_join(c[i], NULL);
	workload_done = 1;
	pthread_join(w, NULL);
	for (int i = 0; i < n_inst; i++) {
		if (inst[i].killed) {
			killed++;
		} else {
			due += check(&inst[i], i);
			checked++;
		}
		unlink(inst[i].out);
	}
	rmdir(dir);
	if (!due) {
		fprintf(stderr, "FAIL: no call fell inside a cleanly stopped instance's window\n");
		return 1;
	}
	printf("churn%s%s: %d instances (%d killed); %d checked saw every one of %d calls made "
	       "while ready\n",
	       mode ? " " : "", mode ? mode : "", n_inst, killed, checked, due);
	return 0;
}
