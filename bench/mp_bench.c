// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The benchmark's workload.
 *
 *   mp_bench mp N CALLS [RATE [THREADS]]   move_pages(0, N, pages, NULL, status, 0)
 *   mp_bench mg CALLS                      migrate_pages(0, 65, {0}, {0}): masks, nothing moves
 *   mp_bench getppid CALLS                 a syscall mptrace does not trace
 *   mp_bench spawn CALLS                   fork, exec /bin/true, wait: the process tracker's work
 *
 * Without RATE, a tight loop; with RATE, THREADS threads share RATE calls per
 * second, paced against the clock. Prints "calls C elapsed_ns E ns_per_call X
 * rate R" on one line.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct worker {
	pthread_t th;
	int n;
	long calls;
	double rate; /* per second, this thread; 0: as fast as possible */
	void **pages;
	int *status;
};

static enum { CALL_MOVE_PAGES, CALL_MIGRATE_PAGES, CALL_GETPPID } call_kind;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t start = now_ns();
	unsigned long node0 = 1;

	for (long i = 0; i < w->calls; i++) {
		if (w->rate > 0) {
			uint64_t due = start + (uint64_t)(i * 1e9 / w->rate);

			while (now_ns() < due)
				;
		}
		if (call_kind == CALL_GETPPID)
			syscall(SYS_getppid);
		else if (call_kind == CALL_MIGRATE_PAGES)
			syscall(SYS_migrate_pages, 0, 65, &node0, &node0);
		else
			syscall(SYS_move_pages, 0, w->n, w->pages, NULL, w->status, 0);
	}
	return NULL;
}

/* fork + exec + exit + wait, @calls times: what a fork-heavy host does all day. */
static int spawn(long calls)
{
	uint64_t t0 = now_ns(), t1;

	for (long i = 0; i < calls; i++) {
		pid_t child = fork();

		if (child < 0)
			return 1;
		if (child == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(child, NULL, 0);
	}
	t1 = now_ns();
	printf("calls %ld elapsed_ns %llu ns_per_call %.1f rate %.0f\n", calls,
	       (unsigned long long)(t1 - t0), (double)(t1 - t0) / calls, calls * 1e9 / (t1 - t0));
	return 0;
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE), calls;
	int n = 1, threads = 1;
	double rate = 0;
	struct worker *w;
	uint64_t t0, t1;
	char *mem;

	if (argc >= 3 && !strcmp(argv[1], "spawn"))
		return spawn(atol(argv[2]));
	if (argc >= 3 && (!strcmp(argv[1], "getppid") || !strcmp(argv[1], "mg"))) {
		call_kind = argv[1][0] == 'g' ? CALL_GETPPID : CALL_MIGRATE_PAGES;
		calls = atol(argv[2]);
	} else if (argc >= 4 && !strcmp(argv[1], "mp")) {
		n = atoi(argv[2]);
		calls = atol(argv[3]);
		if (argc >= 5)
			rate = atof(argv[4]);
		if (argc >= 6)
			threads = atoi(argv[5]);
	} else {
		fprintf(stderr, "usage: mp_bench mp N CALLS [RATE [THREADS]] | mg CALLS | getppid "
				"CALLS | spawn CALLS\n");
		return 2;
	}
	if (n < 1 || n > 4096 || calls < 1 || threads < 1 || threads > 64) {
		fprintf(stderr, "mp_bench: bad arguments\n");
		return 2;
	}
	mem = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	w = calloc(threads, sizeof(*w));
	for (int t = 0; t < threads; t++) {
		w[t].n = n;
		w[t].calls = calls / threads;
		w[t].rate = rate / threads;
		w[t].pages = calloc(n, sizeof(void *));
		w[t].status = calloc(n, sizeof(int));
		for (int i = 0; i < n; i++) {
			mem[i * page] = 1; /* touched: the pages exist */
			w[t].pages[i] = mem + i * page;
		}
	}
	t0 = now_ns();
	for (int t = 0; t < threads; t++)
		pthread_create(&w[t].th, NULL, work, &w[t]);
	for (int t = 0; t < threads; t++)
		pthread_join(w[t].th, NULL);
	t1 = now_ns();
	calls = w[0].calls * threads;
	printf("calls %ld elapsed_ns %llu ns_per_call %.1f rate %.0f\n", calls,
	       (unsigned long long)(t1 - t0), (double)(t1 - t0) / calls, calls * 1e9 / (t1 - t0));
	return 0;
}
