// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Captures through the real binary: live JSON equals its replay byte for byte, a
 * tracer killed mid-write, --follow, files that are not captures, and detections
 * live and replayed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/capture.h"
#include "context/container.h"
#include "e2e.h"
#include "testutil.h"

static void *thread_call(void *arg)
{
	tu_move_pages(arg);
	return NULL;
}

static unsigned long node0 = 1;

/* migrate_pages(2): 0 or the pages not moved, or -errno. */
static long migrate(pid_t pid, unsigned long maxnode, const unsigned long *old_nodes,
		    const unsigned long *new_nodes)
{
	long r = syscall(SYS_migrate_pages, pid, maxnode, old_nodes, new_nodes);

	return r < 0 ? -errno : r;
}

/* Every kind of call the integration tests make, once each. */
static int call_every_kind(pid_t child, void **child_pages)
{
	long page = sysconf(_SC_PAGESIZE);
	char *mem = tu_touched_pages(8);
	void *pages[8], *bad[2] = {mem, (void *)16};
	int status[8], nodes[8] = {0}, offline[1] = {tu_offline_node()};
	struct tu_call c;
	pthread_t th;
	int n = 0;

	for (int i = 0; i < 8; i++)
		pages[i] = mem + i * page;
	own_call(&c, pages, status, 2, NULL, 0), n++;  /* query */
	own_call(&c, pages, status, 2, nodes, 2), n++; /* move to node 0 */
	own_call(&c, pages, status, 0, NULL, 0), n++;  /* count 0 */
	own_call(&c, pages, status, 8, nodes, 2), n++; /* beyond --array-cap 4 */
	own_call(&c, bad, status, 2, NULL, 0), n++;    /* unmapped page: -EFAULT in status */
	pages[1] = NULL;
	own_call(&c, pages, status, 2, NULL, 0), n++; /* a NULL entry */
	pages[1] = mem + page;
	own_call(&c, (void **)16, status, 2, NULL, 0), n++; /* unreadable pages: EFAULT */
	own_call(&c, pages, status, 2, NULL, 0x10), n++;    /* invalid flags */
	own_call(&c, pages, status, 1, offline, 2), n++;    /* an offline node */
	own_call(&c, pages, status, 2, nodes, 4), n++;	    /* MPOL_MF_MOVE_ALL */
	memset(&c, 0, sizeof(c));
	c.pid = 4194304, c.count = 1, c.pages = pages, c.status = status;
	tu_move_pages(&c), n++; /* no such process */
	memset(&c, 0, sizeof(c));
	c.pid = child, c.count = 1, c.pages = child_pages, c.status = status;
	tu_move_pages(&c), n++; /* another process's pages */
	memset(&c, 0, sizeof(c));
	c.count = 2, c.pages = pages, c.status = status;
	assert_int_equal(pthread_create(&th, NULL, thread_call, &c), 0);
	pthread_join(th, NULL), n++; /* a second thread */
	/* migrate_pages: its own pages, a NULL and an unreadable mask, another process's */
	assert_int_equal(migrate(0, 65, &node0, &node0), 0), n++;
	migrate(0, 65, NULL, &node0), n++;
	assert_int_equal(migrate(0, 65, &node0, (unsigned long *)8), -EFAULT), n++;
	assert_true(migrate(child, 65, &node0, &node0) >= 0), n++;
	munmap(mem, 8 * page);
	return n;
}

/* Live JSON and the replay of its capture are the same bytes; and verify, info, filters. */
/* A capture is never an output, whatever it is named: replay's -o and a live run's. */
static void check_never_overwritten(char *cap)
{
	char copy[256], cmd[600];
	struct proc p;

	snprintf(copy, sizeof(copy), "%s/rt.mpcap.0", tmpdir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", cap, copy);
	assert_int_equal(system(cmd), 0);
	char *over[] = {(char *)mptrace_bin, "replay", "-o", copy, cap, NULL};
	assert_int_equal(run(over, 0, &p), 2);
	assert_one_line_error(&p, "is a capture file: it would be destroyed");
	char *live_over[] = {(char *)mptrace_bin, "-o", copy, "-d", "0.1", NULL};
	assert_int_not_equal(run(live_over, 0, &p), 0);
	assert_one_line_error(&p, "is a capture file: it would be destroyed");
	char *intact[] = {(char *)mptrace_bin, "verify", copy, NULL};
	assert_int_equal(run(intact, 0, &p), 0);
	unlink(copy);
}

/* The same filters and --event in replay as live tracing. */
static void check_replay_selection(char *cap, pid_t child, const char *mem, int calls)
{
	char want[64];
	struct proc p;

	/* the same filters as live tracing: the calls naming another pid, existing or not */
	snprintf(want, sizeof(want), "move_pages(%d, 1, [%p], NULL, [", child, mem);
	char *other[] = {(char *)mptrace_bin, "replay", "--target-other", cap, NULL};
	assert_int_equal(run(other, 0, &p), 0);
	if (!strstr(p.out, want))
		fail_msg("no '%s' in: %s", want, p.out);
	assert_non_null(strstr(p.out, "move_pages(4194304, 1, "));
	snprintf(want, sizeof(want), "migrate_pages(%d, 65, [0], [0]) = ", child);
	if (!strstr(p.out, want))
		fail_msg("no '%s' in: %s", want, p.out);
	assert_int_equal(count_lines(p.out), 3);

	/* --event in replay: the same choice as live tracing */
	char *mig[] = {(char *)mptrace_bin, "replay", "--event", "migrate_pages", cap, NULL};
	assert_int_equal(run(mig, 0, &p), 0);
	assert_int_equal(count_lines(p.out), 4);
	assert_null(strstr(p.out, "move_pages("));
	assert_non_null(strstr(p.out, "migrate_pages(0, 65, NULL, [0]) = "));
	assert_non_null(strstr(p.out, "migrate_pages(0, 65, [0], 0x8) = -1 EFAULT (Bad address)"));
	char *mov[] = {(char *)mptrace_bin, "replay", "--event", "move_pages", cap, NULL};
	assert_int_equal(run(mov, 0, &p), 0);
	assert_int_equal(count_lines(p.out), calls - 4);
	assert_null(strstr(p.out, "migrate_pages("));
}

/* verify and capture-info on the capture, and on a copy with one byte changed. */
static void check_verify(char *cap, int calls)
{
	char want[64], copy[256], cmd[600];
	size_t cap_len;
	char *cap_buf;
	struct proc p;

	/* verify and capture-info */
	char *verify[] = {(char *)mptrace_bin, "verify", cap, NULL};
	assert_int_equal(run(verify, 0, &p), 0);
	assert_non_null(strstr(p.out, ": intact: "));
	char *info[] = {(char *)mptrace_bin, "capture-info", cap, NULL};
	assert_int_equal(run(info, 0, &p), 0);
	snprintf(want, sizeof(want), "events             %d\n", calls);
	if (!strstr(p.out, want))
		fail_msg("no '%s' in: %s", want, p.out);
	assert_non_null(strstr(p.out, "closed cleanly     yes"));

	/* one byte changed: verify says so, with its own exit code */
	cap_buf = slurp(cap, &cap_len);
	snprintf(copy, sizeof(copy), "%s/edited.mpcap", tmpdir);
	cap_buf[cap_len / 2] ^= 0x20;
	snprintf(cmd, sizeof(cmd), "cat > '%s'", copy);
	{
		FILE *f = popen(cmd, "w");

		fwrite(cap_buf, 1, cap_len, f);
		pclose(f);
	}
	char *verify_bad[] = {(char *)mptrace_bin, "verify", copy, NULL};
	assert_int_equal(run(verify_bad, 0, &p), MPT_CAP_EDAMAGED);
	assert_non_null(strstr(p.out, "NOT intact"));
	free(cap_buf);
}

static void test_capture_round_trip(void **state)
{
	char live[256], cap[256], pid[16], want[64], copy[256], cmd[600];
	char *mem = tu_touched_pages(1);
	void *child_pages[1] = {mem};
	size_t live_len;
	char *live_buf;
	int go[2], calls;
	struct proc p;
	pid_t child;

	(void)state;
	snprintf(live, sizeof(live), "%s/rt.json", tmpdir);
	snprintf(cap, sizeof(cap), "%s/rt.mpcap", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	child = waiting_child(go);
	char *argv[] = {
	    (char *)mptrace_bin, "--format", "json", "-o", live, "--capture", cap, "--pid", pid,
	    "--array-cap",	 "4",	     NULL};
	start_tracing(&p, argv);
	calls = call_every_kind(child, child_pages);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	snprintf(want, sizeof(want), "mptrace: %d events, 0 dropped", calls);
	if (!strstr(p.err, want))
		fail_msg("no '%s' in: %s", want, p.err);

	/* byte for byte what the live run printed */
	char *replay[] = {(char *)mptrace_bin, "replay", "--format", "json", cap, NULL};
	assert_int_equal(run(replay, 0, &p), 0);
	live_buf = slurp(live, &live_len);
	assert_int_equal(p.out_len, live_len);
	assert_memory_equal(p.out, live_buf, live_len);
	/* every kind of call of both events holds to the schema, and as OCSF to OCSF */
	snprintf(cmd, sizeof(cmd), "%s %s %s %s %d >&2", python, schema_check, schema, live, calls);
	assert_int_equal(system(cmd), 0);
	snprintf(copy, sizeof(copy), "%s/rt.ocsf", tmpdir);
	char *as_ocsf[] = {(char *)mptrace_bin, "replay", "-f", "ocsf", "-o", copy, cap, NULL};
	assert_int_equal(run(as_ocsf, 0, &p), 0);
	snprintf(cmd, sizeof(cmd), "%s %s %s %s %d >&2", python, ocsf_check, ocsf_desc, copy,
		 calls);
	assert_int_equal(system(cmd), 0);

	check_never_overwritten(cap);
	check_replay_selection(cap, child, mem, calls);
	check_verify(cap, calls);

	assert_int_equal(write(go[1], "x", 1), 1);
	waitpid(child, NULL, 0);
	close(go[0]), close(go[1]);
	free(live_buf);
	munmap(mem, 4096);
}

/* -f none: every call into the capture, not one byte on stdout. */
static void test_capture_alone(void **state)
{
	char cap[256], json[256], pid[16], want[64], cmd[600];
	char *mem = tu_touched_pages(1);
	void *child_pages[1] = {mem};
	int go[2], calls;
	struct proc p;
	pid_t child;

	(void)state;
	snprintf(cap, sizeof(cap), "%s/alone.mpcap", tmpdir);
	snprintf(json, sizeof(json), "%s/alone.json", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	child = waiting_child(go);
	char *argv[] = {(char *)mptrace_bin, "-f", "none", "--capture", cap, "--pid", pid, NULL};
	start_tracing(&p, argv);
	calls = call_every_kind(child, child_pages);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	assert_int_equal(p.out_len, 0);
	snprintf(want, sizeof(want), "mptrace: %d events, 0 dropped", calls);
	if (!strstr(p.err, want))
		fail_msg("no '%s' in: %s", want, p.err);
	char *replay[] = {(char *)mptrace_bin, "replay", "-f", "json", "-o", json, cap, NULL};
	assert_int_equal(run(replay, 0, &p), 0);
	snprintf(cmd, sizeof(cmd), "%s %s %s %s %d >&2", python, schema_check, schema, json, calls);
	assert_int_equal(system(cmd), 0);
	check_verify(cap, calls);
	assert_int_equal(write(go[1], "x", 1), 1);
	waitpid(child, NULL, 0);
	close(go[0]), close(go[1]);
	munmap(mem, 4096);
}

/* Lines a replay of @cap prints now: a running tracer's capture may be read while it grows. */
static int replayed_lines(const char *cap)
{
	char *argv[] = {(char *)mptrace_bin, "replay", (char *)cap, NULL};
	struct proc p;
	int lines = 0;

	run(argv, 0, &p);
	for (char *s = p.out; (s = strchr(s, '\n')); s++)
		lines++;
	return lines;
}

/* kill -9 mid-run: what was flushed replays, and the unclosed tail is reported. */
static void test_capture_killed(void **state)
{
	char cap[256], pid[16];
	char *mem = tu_touched_pages(2);
	void *pages[2] = {mem, mem + 4096};
	int status[2];
	struct tu_call c;
	struct proc p;
	int lines = 0;

	(void)state;
	snprintf(cap, sizeof(cap), "%s/killed.mpcap", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {
	    (char *)mptrace_bin, "-o", "/dev/null", "--capture", cap, "--pid", pid, NULL};
	start_tracing(&p, argv);
	for (int i = 0; i < 5; i++)
		own_call(&c, pages, status, 2, NULL, 0);
	/* the capture flushes every 200 ms: wait for it, however busy the host */
	for (int tries = 0; tries < 600 && replayed_lines(cap) < 5; tries++)
		usleep(100 * 1000);
	kill(p.pid, SIGKILL);
	proc_wait(&p, 10000);

	char *replay[] = {(char *)mptrace_bin, "replay", cap, NULL};
	assert_int_equal(run(replay, 0, &p), MPT_CAP_EDAMAGED);
	for (char *s = p.out; (s = strchr(s, '\n')); s++)
		lines++;
	assert_int_equal(lines, 5);
	if (!strstr(p.err, "was not closed") && !strstr(p.err, "torn tail"))
		fail_msg("no word of the tail in: %s", p.err);
	munmap(mem, 8192);
}

/* replay --follow prints records as a running tracer writes them. */
static void test_capture_follow(void **state)
{
	char cap[256], pid[16];
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	int status[1];
	struct tu_call c;
	struct proc tracer, follow;

	(void)state;
	snprintf(cap, sizeof(cap), "%s/follow.mpcap", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {
	    (char *)mptrace_bin, "-o", "/dev/null", "--capture", cap, "--pid", pid, NULL};
	start_tracing(&tracer, argv);
	char *fargv[] = {(char *)mptrace_bin, "replay", "--follow", "-n", "3", cap, NULL};
	proc_start(&follow, fargv, 0);
	for (int i = 0; i < 3; i++)
		own_call(&c, pages, status, 1, NULL, 0);
	assert_int_equal(proc_wait(&follow, 10000), 0);
	assert_non_null(strstr(follow.out, "move_pages(0, 1, ["));
	kill(tracer.pid, SIGINT);
	assert_int_equal(proc_wait(&tracer, 10000), 0);
	munmap(mem, 4096);
}

/* Detections with real calls, live; and the replay of the capture raises the same ones. */
static void test_detections(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	char *mem = tu_touched_pages(16);
	void *pages[16];
	int status[16], nodes[16] = {0}, go[2];
	char live[256], cap[256], pid[16];
	size_t live_len;
	char *live_buf;
	struct tu_call c;
	struct proc p;
	pid_t child;

	(void)state;
	for (int i = 0; i < 16; i++)
		pages[i] = mem + i * page;
	child = waiting_child(go);
	snprintf(live, sizeof(live), "%s/detect.json", tmpdir);
	snprintf(cap, sizeof(cap), "%s/detect.mpcap", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "--detect", "-f",	  "json", "-o", live,
			"--capture",	     cap,	 "--pid", pid,	  NULL};
	start_tracing(&p, argv);
	/* ordinary use first, as numactl or migratepages do it: its own pages, by 0 or its pid */
	for (int i = 0; i < 20; i++) {
		memset(&c, 0, sizeof(c));
		c.pid = i % 2 ? getpid() : 0, c.count = 16, c.pages = pages, c.nodes = nodes;
		c.status = status, c.flags = 2;
		tu_move_pages(&c);
		assert_int_equal(c.ret, 0);
		own_call(&c, pages, status, 16, NULL, 0);
	}
	for (int i = 0; i < 6; i++) { /* MPT-3: probing pids that do not exist */
		memset(&c, 0, sizeof(c));
		c.pid = 4194304, c.count = 1, c.pages = pages, c.status = status;
		tu_move_pages(&c);
	}
	own_call(&c, pages, status, 1, nodes, 4); /* MPT-2: MPOL_MF_MOVE_ALL */
	memset(&c, 0, sizeof(c));		  /* MPT-4: where are 16 of the child's pages? */
	c.pid = child, c.count = 16, c.pages = pages, c.status = status;
	tu_move_pages(&c);
	assert_int_equal(c.ret, 0);
	memset(&c, 0, sizeof(c)); /* MPT-1: move one of the child's pages */
	c.pid = child, c.count = 1, c.pages = pages, c.nodes = nodes, c.status = status,
	c.flags = 2;
	tu_move_pages(&c);
	/* MPT-7: all of the child's pages, from node 0 to node 0 */
	assert_true(migrate(child, 65, &node0, &node0) >= 0);
	/* its own pages: no detection */
	assert_int_equal(migrate(0, 65, &node0, &node0), 0);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);

	live_buf = slurp(live, &live_len);
	for (const char *id = "12347"; *id; id++) {
		char want[64];
		const char *at;
		int n = 0;

		snprintf(want, sizeof(want), "\"detection\":{\"id\":\"MPT-%c\"", *id);
		for (at = live_buf; (at = strstr(at, want)); at++)
			n++;
		if (n != 1)
			fail_msg("%d detections %s in:\n%s", n, want, live_buf);
	}
	assert_null(strstr(live_buf, "\"MPT-5\""));
	/* the detections came from the suspicious calls, none from the ordinary ones */
	if (json_lines(live) != 20 * 2 + 6 + 1 + 1 + 1 + 2 + 5)
		fail_msg("%d lines; stderr %s; log:\n%.3000s", json_lines(live), p.err, live_buf);

	char *replay[] = {(char *)mptrace_bin, "replay", "--detect", "-f", "json", cap, NULL};
	assert_int_equal(run(replay, 0, &p), 0);
	assert_int_equal(p.out_len, live_len);
	assert_memory_equal(p.out, live_buf, live_len);

	assert_int_equal(write(go[1], "x", 1), 1);
	waitpid(child, NULL, 0);
	close(go[0]), close(go[1]);
	free(live_buf);
	munmap(mem, 16 * page);
}

/* MPT-5 with real calls: a low threshold, then many pages asked to move within the window. */
static void test_detection_flood(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	char *mem = tu_touched_pages(64);
	void *pages[64];
	int status[64], nodes[64] = {0};
	char pid[16];
	struct tu_call c;
	struct proc p;

	(void)state;
	for (int i = 0; i < 64; i++)
		pages[i] = mem + i * page;
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {
	    (char *)mptrace_bin, "--detect", "--detect-flood", "1000", "--pid", pid, NULL};
	start_tracing(&p, argv);
	for (int i = 0; i < 20; i++) /* 1280 pages */
		own_call(&c, pages, status, 64, nodes, 2);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	if (!strstr(p.out, "DETECTION MPT-5 [medium] very high page-migration rate: "))
		fail_msg("no MPT-5 in:\n%.2000s", p.out);
	/* once per cooldown, not once per call */
	assert_ptr_equal(strstr(strstr(p.out, "DETECTION MPT-5") + 1, "DETECTION"), NULL);
	munmap(mem, 64 * page);
}

/* Files that are not captures, or that this mptrace cannot read: one line, own exit code. */
static void test_capture_bad_files(void **state)
{
	char empty[256];
	struct proc p;

	(void)state;
	char *passwd[] = {(char *)mptrace_bin, "replay", "/etc/passwd", NULL};
	assert_int_equal(run(passwd, 0, &p), MPT_CAP_ENOTCAP);
	assert_non_null(strstr(p.err, "mptrace: /etc/passwd: not an mptrace capture"));
	snprintf(empty, sizeof(empty), "%s/empty.mpcap", tmpdir);
	fclose(fopen(empty, "w"));
	char *e[] = {(char *)mptrace_bin, "capture-info", empty, NULL};
	assert_int_equal(run(e, 0, &p), MPT_CAP_ENOTCAP);
	char *missing[] = {(char *)mptrace_bin, "verify", "/no/such/file.mpcap", NULL};
	assert_int_equal(run(missing, 0, &p), MPT_CAP_EIO);
	assert_non_null(strstr(p.err, "No such file"));
	char *nofile[] = {(char *)mptrace_bin, "replay", NULL};
	assert_int_equal(run(nofile, 0, &p), 2);
	assert_one_line_error(&p, "which capture file?");
	char *nocap[] = {(char *)mptrace_bin, "--capture-size", "1", NULL};
	assert_int_equal(run(nocap, 0, &p), 2);
	assert_one_line_error(&p, "need --capture FILE");
	char *dir[] = {(char *)mptrace_bin, "--capture", tmpdir, "-d", "0.1", NULL};
	assert_int_equal(run(dir, 0, &p), 1);
	assert_one_line_error(&p, "cannot create capture");
	assert_non_null(strstr(p.err, "Is a directory"));
	/* an existing file is evidence: never overwritten */
	char *existing[] = {(char *)mptrace_bin, "--capture", "/proc/version", "-d", "0.1", NULL};
	assert_int_equal(run(existing, 0, &p), 1);
	assert_one_line_error(&p, "capture '/proc/version' already exists");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capture_round_trip), cmocka_unit_test(test_capture_alone),
	    cmocka_unit_test(test_capture_killed),     cmocka_unit_test(test_capture_follow),
	    cmocka_unit_test(test_capture_bad_files),  cmocka_unit_test(test_detections),
	    cmocka_unit_test(test_detection_flood),
	};

	return e2e_main(argc, argv, "e2e_capture", tests, sizeof(tests) / sizeof(tests[0]));
}
