// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live tracing through the real binary: every output format, the filters, -n and
 * --duration, the accounting stream, fair shares under a flood, seccomp, namespaces
 * and the attach modes.
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

static uint64_t self_ns(const char *which)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", which);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/*
 * Who made the call: this process, in the host's namespaces, in no container;
 * its executable and start as its process record (@self) says them, the line
 * being lean.
 */
static void assert_context(json_t *ev, json_t *self)
{
	char exe[4096], line[4096], cg[4096] = "";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/cgroup", "r");
	json_int_t start = json_integer_value(json_object_get(self, "startTime"));

	assert_true(n > 0);
	exe[n] = '\0';
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3))
			snprintf(cg, sizeof(cg), "%.*s", (int)strcspn(line + 3, "\n"), line + 3);
	fclose(f);
	assert_null(json_object_get(ev, "executable"));
	assert_string_equal(json_string_value(json_object_get(self, "entityId")),
			    json_string_value(json_object_get(ev, "entityId")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(self, "executable"), "path")), exe);
	assert_string_equal(json_string_value(json_object_get(ev, "cgroupPath")), cg);
	assert_int_equal(json_integer_value(json_object_get(ev, "cgroupId")), tu_self_cgroup_id());
	assert_string_equal(json_string_value(json_object_get(ev, "containerId")), "");
	assert_int_equal(json_integer_value(json_object_get(ev, "mountNamespace")), self_ns("mnt"));
	assert_int_equal(json_integer_value(json_object_get(ev, "pidNamespace")), self_ns("pid"));
	assert_true(start > 0 && start <= json_integer_value(json_object_get(ev, "timestamp")));
	assert_int_equal(json_integer_value(json_object_get(ev, "userId")), getuid());
}

static void assert_json_matches(json_t *ev, json_t *self, const struct tu_call *c)
{
	char hex[32];
	json_t *data;

	assert_int_equal(json_integer_value(json_object_get(ev, "hostProcessId")), getpid());
	assert_int_equal(json_integer_value(json_object_get(ev, "hostThreadId")), c->tid);
	assert_int_equal(json_integer_value(json_object_get(ev, "returnValue")), c->ret);
	assert_string_equal(json_string_value(json_object_get(ev, "processName")), e2e_comm);
	assert_int_equal(json_integer_value(json_object_get(ev_arg(ev, 1), "value")), c->count);
	snprintf(hex, sizeof(hex), "0x%lx", (unsigned long)c->pages);
	assert_string_equal(json_string_value(json_object_get(ev_arg(ev, 2), "value")), hex);
	data = json_object_get(ev_arg(ev, 2), "data");
	for (size_t i = 0; i < c->count; i++) {
		snprintf(hex, sizeof(hex), "0x%lx", (unsigned long)c->pages[i]);
		assert_string_equal(json_string_value(json_array_get(data, i)), hex);
	}
	data = json_object_get(ev_arg(ev, 3), "data");
	if (c->nodes)
		assert_int_equal(json_integer_value(json_array_get(data, 0)), c->nodes[0]);
	else
		assert_null(data); /* readError says why; there is no data */
	data = json_object_get(ev_arg(ev, 4), "data");
	if (c->ret >= 0)
		for (size_t i = 0; i < c->count; i++)
			assert_int_equal(json_integer_value(json_array_get(data, i)),
					 c->status_seen[i]);
	else
		assert_null(data);
	assert_int_equal(json_integer_value(json_object_get(ev_arg(ev, 5), "value")), c->flags);
	assert_context(ev, self);
}

static void test_json_live(void **state)
{
	char out[256], pid[16], cmd[1024];
	struct tu_call calls[3];
	int status[2], nodes[2] = {0, 0};
	char *mem = tu_touched_pages(2);
	void *pages[2] = {mem, mem + 4096};
	struct proc p;
	FILE *f;
	char line[8192];
	size_t n = 0, records = 0;
	json_t *self = NULL;

	(void)state;
	snprintf(out, sizeof(out), "%s/live.json", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "--format", "json", "--pid", pid, "-o", out, NULL};
	start_tracing(&p, argv);
	own_call(&calls[0], pages, status, 2, NULL, 0);	   /* query */
	own_call(&calls[1], pages, status, 2, nodes, 2);   /* move to node 0 */
	own_call(&calls[2], pages, status, 2, NULL, 0x10); /* EINVAL */
	assert_int_equal(calls[2].ret, -EINVAL);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	if (!strstr(p.err, "mptrace: 3 events, 0 dropped"))
		fail_msg("summary missing: %s", p.err);

	f = fopen(out, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t err;
		json_t *ev = json_loads(line, 0, &err);

		assert_non_null(ev);
		/* this test's ancestors, each once, before the first call's line */
		if (is_process_record(ev)) {
			assert_int_equal(n, 0);
			records++;
			json_decref(self);
			self = ev; /* the caller's own comes last */
			continue;
		}
		assert_true(n < 3);
		assert_json_matches(ev, self, &calls[n++]);
		json_decref(ev);
	}
	fclose(f);
	json_decref(self);
	assert_int_equal(n, 3);
	assert_true(records >= 1);
	assert_int_equal(json_lines(out), 3); /* and each line's parent has its record */
	snprintf(cmd, sizeof(cmd), "%s %s %s %s 3 >&2", python, schema_check, schema, out);
	assert_int_equal(system(cmd), 0);
	munmap(mem, 8192);
}

static void test_table_max_events(void **state)
{
	struct tu_call c;
	int status[2];
	char *mem = tu_touched_pages(2);
	void *pages[2] = {mem, mem + 4096};
	char pid[16], want[256];
	struct proc p;

	(void)state;
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "--pid", pid, "-n", "2", "--attach", "auto", NULL};
	start_tracing(&p, argv);
	own_call(&c, pages, status, 2, NULL, 0);
	own_call(&c, pages, status, 2, NULL, 0);
	/* it stops by itself after two events */
	assert_int_equal(proc_wait(&p, 10000), 0);
	snprintf(want, sizeof(want), " %s[%d] move_pages(0, 2, [%p, %p], NULL, [0, 0], 0) = 0 <",
		 e2e_comm, getpid(), pages[0], pages[1]);
	if (!strstr(p.out, want))
		fail_msg("no '%s' in:\n%s", want, p.out);
	assert_non_null(strstr(strstr(p.out, want) + 1, want)); /* twice */
	munmap(mem, 8192);
}

static void test_duration_and_sigterm(void **state)
{
	struct proc p;

	(void)state;
	char *timed[] = {(char *)mptrace_bin, "--pid", "1", "-d", "0.3", NULL};
	assert_int_equal(run(timed, 0, &p), 0);
	assert_non_null(strstr(p.err, "mptrace: 0 events, 0 dropped"));

	char *forever[] = {(char *)mptrace_bin, "--pid", "1", NULL};
	start_tracing(&p, forever);
	kill(p.pid, SIGTERM);
	assert_int_equal(proc_wait(&p, 10000), 0);
	assert_non_null(strstr(p.err, "events, 0 dropped"));
}

/* The filter flags reach the kernel: only the call on another process passes. */
static void test_filter_flags(void **state)
{
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	char child_pid[16], want[256];
	int status[1], go[2];
	struct tu_call c;
	struct proc p;
	pid_t child;

	(void)state;
	/* the same address is mapped in the child: the call queries it there */
	child = waiting_child(go);
	snprintf(child_pid, sizeof(child_pid), "%d", child);
	char *argv[] = {(char *)mptrace_bin,
			"--comm",
			(char *)e2e_comm,
			"--uid",
			"root",
			"--target-other",
			"--host-only",
			"-n",
			"1",
			NULL};
	start_tracing(&p, argv);
	own_call(&c, pages, status, 1, NULL, 0); /* its own pages: filtered out */
	memset(&c, 0, sizeof(c));
	c.pid = child;
	c.count = 1;
	c.pages = pages;
	c.status = status;
	tu_move_pages(&c);
	assert_int_equal(c.ret, 0);
	assert_int_equal(proc_wait(&p, 10000), 0);
	snprintf(want, sizeof(want), " %s[%d] move_pages(%d, 1, [%p], NULL, [", e2e_comm, getpid(),
		 child, pages[0]);
	if (!strstr(p.out, want))
		fail_msg("no '%s' in:\n%s", want, p.out);
	assert_null(strstr(p.out, "move_pages(0,"));
	assert_int_equal(write(go[1], "x", 1), 1);
	waitpid(child, NULL, 0);
	close(go[0]), close(go[1]);
	munmap(mem, 4096);

	/* filters that name what does not exist */
	char *nocg[] = {(char *)mptrace_bin, "--cgroup", "/no/such/mptrace-cgroup", NULL};
	assert_int_equal(run(nocg, 0, &p), 2);
	assert_one_line_error(&p, "not a cgroup v2 directory");
	char *nopid[] = {(char *)mptrace_bin, "--pid", "4194304", NULL};
	assert_int_equal(run(nopid, 0, &p), 2);
	assert_one_line_error(&p, "--pid 4194304: no such process");
	char *both[] = {(char *)mptrace_bin, "--host-only", "--containers-only", NULL};
	assert_int_equal(run(both, 0, &p), 2);
	assert_one_line_error(&p, "exclude each other");
}

/*
 * A process record (Live Evidence Info): kept in @records by its entity id,
 * its own parent's record before it unless it is the eldest written.
 */
static bool ocsf_process_record(json_t *ev, json_t *records) /* takes @ev if so */
{
	json_t *proc, *parent;

	if (json_integer_value(json_object_get(ev, "class_uid")) != 5040)
		return false;
	proc = json_object_get(json_object_get(ev, "query_evidence"), "process");
	parent = json_object_get(json_object_get(proc, "parent_process"), "uid");
	if (json_object_size(records) && parent)
		assert_non_null(json_object_get(records, json_string_value(parent)));
	json_object_set(records, json_string_value(json_object_get(proc, "uid")), proc);
	json_decref(ev);
	return true;
}

/*
 * The lines test_ocsf_live made: 4 Memory Activities by this process (the
 * third a failure), one MPT-1 finding about @child, and before them the
 * records of the ancestors their parent_process names.
 */
static void check_ocsf_lines(const char *live, pid_t child)
{
	size_t live_len, n = 0, findings = 0;
	char *live_buf = slurp(live, &live_len), *line, *save;
	json_t *records = json_object();

	for (line = strtok_r(live_buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t err;
		json_t *ev = json_loads(line, 0, &err), *proc;

		assert_non_null(ev);
		if (ocsf_process_record(ev, records))
			continue;
		proc = json_object_get(json_object_get(ev, "actor"), "process");
		/* the chain is cut at the parent, whose record came first */
		assert_non_null(
		    json_object_get(records, json_string_value(json_object_get(
						 json_object_get(proc, "parent_process"), "uid"))));
		assert_int_equal(json_integer_value(json_object_get(proc, "pid")), getpid());
		assert_string_equal(json_string_value(json_object_get(proc, "name")), e2e_comm);
		if (json_integer_value(json_object_get(ev, "class_uid")) == 2004) {
			json_t *ev0 = json_array_get(json_object_get(ev, "evidences"), 0);

			findings++;
			assert_string_equal(
			    json_string_value(json_object_get(
				json_object_get(json_object_get(ev, "finding_info"), "analytic"),
				"uid")),
			    "MPT-1");
			/* the process whose pages were moved: the child */
			assert_int_equal(json_integer_value(json_object_get(
					     json_object_get(ev0, "process"), "pid")),
					 child);
		} else if (n++ == 2) {
			assert_int_equal(json_integer_value(json_object_get(ev, "status_id")), 2);
			assert_string_equal(json_string_value(json_object_get(ev, "status_code")),
					    "EINVAL");
		}
		json_decref(ev);
	}
	assert_int_equal(n, 4);
	assert_int_equal(findings, 1);
	assert_true(json_object_size(records) > 0);
	json_decref(records);
	free(live_buf);
}

/*
 * --format ocsf on real calls, failures included, with detections: every line
 * holds up against the OCSF description, the fields name the right processes,
 * and the replay of the capture prints the same bytes.
 */
static void test_ocsf_live(void **state)
{
	char *mem = tu_touched_pages(2);
	void *pages[2] = {mem, mem + 4096};
	int status[2], nodes[2] = {0, 0}, go[2];
	char live[256], cap[256], pid[16], cmd[1024];
	size_t live_len;
	char *live_buf;
	struct tu_call c;
	struct proc p;
	pid_t child;

	(void)state;
	child = waiting_child(go);
	snprintf(live, sizeof(live), "%s/live.ocsf", tmpdir);
	snprintf(cap, sizeof(cap), "%s/ocsf.mpcap", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "--detect", "-f",	  "ocsf", "-o", live,
			"--capture",	     cap,	 "--pid", pid,	  NULL};
	start_tracing(&p, argv);
	own_call(&c, pages, status, 2, NULL, 0);    /* a query: Other */
	own_call(&c, pages, status, 2, nodes, 2);   /* a move: Modify Page */
	own_call(&c, pages, status, 2, NULL, 0x10); /* EINVAL: Failure */
	assert_int_equal(c.ret, -EINVAL);
	memset(&c, 0, sizeof(c)); /* MPT-1: one of the child's pages, a finding */
	c.pid = child, c.count = 1, c.pages = pages, c.nodes = nodes, c.status = status;
	c.flags = 2;
	tu_move_pages(&c);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	snprintf(cmd, sizeof(cmd), "%s %s %s %s 5 >&2", python, ocsf_check, ocsf_desc, live);
	assert_int_equal(system(cmd), 0);

	check_ocsf_lines(live, child);
	live_buf = slurp(live, &live_len);
	char *replay[] = {(char *)mptrace_bin, "replay", "--detect", "-f", "ocsf", cap, NULL};
	assert_int_equal(run(replay, 0, &p), 0);
	assert_int_equal(p.out_len, live_len);
	assert_memory_equal(p.out, live_buf, live_len);
	free(live_buf);
	assert_int_equal(write(go[1], "x", 1), 1);
	waitpid(child, NULL, 0);
	close(go[0]), close(go[1]);
	munmap(mem, 8192);
}

/*
 * The accounting stream: stats records on a timer and on SIGUSR1, a drop
 * record for every loss, and at the end seen + lost = the calls made.
 */
static void test_stats_and_drops(void **state)
{
	char out[256], pid[16];
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	int status[1], calls = 20000;
	size_t len;
	char *buf;
	json_t *fin, *drop;
	struct tu_call c;
	struct proc p;

	(void)state;
	snprintf(out, sizeof(out), "%s/stats.json", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	/* every call recorded (no fair share): the ring is what fills */
	char *argv[] = {
	    (char *)mptrace_bin, "-f",	"json",		"-o", out,	     "--pid", pid,
	    "--stats-interval",	 "0.2", "--ringbuf-mb", "1",  "--fair-rate", "0",     NULL};
	start_tracing(&p, argv);
	/* the reader stopped: a 1 MB ring holds a few thousand records, the rest are lost */
	kill(p.pid, SIGSTOP);
	for (int i = 0; i < calls; i++)
		own_call(&c, pages, status, 1, NULL, 0);
	kill(p.pid, SIGCONT);
	usleep(500 * 1000);
	kill(p.pid, SIGUSR1);
	usleep(300 * 1000);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);

	buf = slurp(out, &len);
	fin = last_line_with(buf, "\"final\":true");
	assert_non_null(fin);
	drop = last_line_with(buf, "\"eventName\":\"drop\"");
	assert_non_null(drop);
	assert_string_equal(json_string_value(json_object_get(drop, "cause")), "ringbuf_full");
	/*
	 * every call: written, summed past its fair share (a summary is one
	 * record for many calls), or counted as lost, and the drop record says
	 * how many
	 */
	assert_int_equal(json_integer_value(json_object_get(fin, "eventsEmitted")) -
			     json_integer_value(json_object_get(fin, "floodSummaries")) +
			     json_integer_value(json_object_get(fin, "callsSummed")) +
			     json_integer_value(
				 json_object_get(json_object_get(fin, "dropped"), "ringbuf_full")),
			 calls);
	assert_int_equal(
	    json_integer_value(json_object_get(drop, "count")),
	    json_integer_value(json_object_get(json_object_get(fin, "dropped"), "ringbuf_full")));
	assert_true(json_integer_value(json_object_get(drop, "count")) > 0);
	/* the kernel counts a full ring's losses by process: the drop names whose they were */
	assert_int_equal(json_integer_value(json_object_get(drop, "hostProcessId")), getpid());
	assert_int_equal(json_integer_value(json_object_get(fin, "eventsSeen")),
			 json_integer_value(json_object_get(fin, "eventsEmitted")));
	assert_int_equal(json_integer_value(json_object_get(fin, "ringBufferBytes")), 1 << 20);
	json_decref(fin);
	json_decref(drop);
	free(buf);
	munmap(mem, 4096);
}

/* A flooder's thread: calls until told to stop, counting every call it made. */
struct flood_thread {
	pthread_t th;
	volatile int *stop;
	long calls;
};

static void *flood_thread(void *arg)
{
	struct flood_thread *f = arg;
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	int status[1];

	while (!*f->stop) {
		syscall(SYS_move_pages, 0, 1, pages, NULL, status, 0);
		f->calls++;
	}
	return NULL;
}

/*
 * A child flooding from two threads (both cores) until @stop is set; it
 * writes how many calls it made to @out. Returns its pid.
 */
static pid_t start_flooder(volatile int *stop, int out)
{
	pid_t c = fork();

	assert_true(c >= 0);
	if (c == 0) {
		struct flood_thread t[2] = {{.stop = stop}, {.stop = stop}};
		long total;

		for (int i = 0; i < 2; i++)
			pthread_create(&t[i].th, NULL, flood_thread, &t[i]);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i].th, NULL);
		total = t[0].calls + t[1].calls;
		_exit(write(out, &total, sizeof(total)) == sizeof(total) ? 0 : 1);
	}
	return c;
}

/*
 * Fair shares: a process flooding from every core cannot hide another's
 * calls. The quiet caller's 200 calls (its whole burst, whatever the
 * timing) are all recorded; every call of the flooder is recorded or summed in a flood summary
 * (none lost); the flood raises MPT-8; the capture replays to the same bytes, detections included.
 */
/* What a fair-share run's JSON holds, by kind. */
struct flood_tally {
	long long recorded, summed, returns, failures;
	int quiet, mpt8, summaries;
};

/* Tally @live's lines; the flood summaries also go to @flood_json for the schema check. */
static void tally_floods(const char *live, pid_t flooder, const char *flood_json,
			 struct flood_tally *t)
{
	char *buf, *line, *save;
	FILE *floods;
	size_t n;

	memset(t, 0, sizeof(*t));
	floods = fopen(flood_json, "w");
	assert_non_null(floods);
	buf = slurp(live, &n);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *ev = json_loads(line, 0, NULL);
		const char *name = json_string_value(json_object_get(ev, "eventName"));
		json_int_t who = json_integer_value(json_object_get(ev, "hostProcessId"));

		assert_non_null(name);
		if (!strcmp(name, "move_pages") && who == getpid())
			t->quiet++;
		else if (!strcmp(name, "move_pages") && who == flooder)
			t->recorded++;
		else if (!strcmp(name, "flood")) {
			/* only the flooder is over its share, and its summary says what it did */
			assert_int_equal(who, flooder);
			assert_string_equal(json_string_value(json_object_get(ev, "syscall")),
					    "move_pages");
			t->summed += json_integer_value(json_object_get(ev_arg(ev, 0), "value"));
			assert_int_equal(
			    json_integer_value(json_object_get(ev_arg(ev, 1), "value")),
			    json_integer_value(json_object_get(ev_arg(ev, 0), "value")));
			assert_int_equal(
			    json_integer_value(json_object_get(ev_arg(ev, 2), "value")), 1);
			t->returns += json_integer_value(json_object_get(ev_arg(ev, 3), "value"));
			t->failures += json_integer_value(json_object_get(ev_arg(ev, 4), "value"));
			t->summaries++;
			fprintf(floods, "%s\n", line);
		} else if (!strcmp(name, "detection")) {
			json_t *d = json_object_get(ev, "detection");

			if (!strcmp(json_string_value(json_object_get(d, "id")), "MPT-8")) {
				assert_int_equal(
				    json_integer_value(json_object_get(
					json_object_get(ev, "triggeredBy"), "hostProcessId")),
				    flooder);
				t->mpt8++;
			}
		}
		json_decref(ev);
	}
	free(buf);
	fclose(floods);
}

static void test_fair_share_flood(void **state)
{
	volatile int *stop =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char live[256], cap[256], flood_json[256], cmd[1024], pid[16];
	struct flood_tally t;
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	long long made = 0;
	int status[1], fd[2], st;
	pid_t flooder;
	struct tu_call c;
	struct proc p;

	(void)state;
	assert_true(stop != MAP_FAILED);
	snprintf(live, sizeof(live), "%s/fair.json", tmpdir);
	snprintf(cap, sizeof(cap), "%s/fair.mpcap", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin,
			"-f",
			"json",
			"-o",
			live,
			"--capture",
			cap,
			"--detect",
			"--descendant-of",
			pid,
			"--fair-rate",
			"100",
			"--fair-burst",
			"200",
			NULL};
	start_tracing(&p, argv);
	assert_int_equal(pipe(fd), 0);
	flooder = start_flooder(stop, fd[1]);
	for (int i = 0; i < 200; i++) {
		own_call(&c, pages, status, 1, NULL, 0);
		usleep(2000);
	}
	*stop = 1;
	assert_int_equal(read(fd[0], (void *)&made, sizeof(long)), (ssize_t)sizeof(long));
	assert_int_equal(waitpid(flooder, &st, 0), flooder);
	assert_int_equal(st, 0);
	close(fd[0]);
	close(fd[1]);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	if (!strstr(p.err, ": 0 dropped") && !strstr(p.err, " 0 dropped"))
		fail_msg("calls were lost:\n%s", p.err);

	snprintf(flood_json, sizeof(flood_json), "%s/fair-floods.json", tmpdir);
	tally_floods(live, flooder, flood_json, &t);
	printf("# flooder: %lld calls, %lld recorded, %lld summed in %d summaries\n", made,
	       t.recorded, t.summed, t.summaries);
	assert_int_equal(t.quiet, 200);
	assert_true(t.summaries > 0);
	assert_int_equal(t.recorded + t.summed, made);
	assert_int_equal(t.returns, t.summed);
	assert_int_equal(t.failures, 0);
	assert_true(t.mpt8 > 0);
	snprintf(cmd, sizeof(cmd), "%s %s %s %s %d >&2", python, schema_check, schema, flood_json,
		 t.summaries);
	assert_int_equal(system(cmd), 0);

	assert_replay_is_live(cap, live, true, NULL);
	munmap((void *)stop, 4096);
	munmap(mem, 4096);
}

/*
 * Calls a seccomp filter refuses never run, but they are the attempts an
 * audit wants: each is an event (arguments, arrays, the caller), marked
 * refusedBySeccomp, valid by the schema; three raise MPT-9; replay agrees.
 */
static void test_refused_by_seccomp(void **state)
{
	char live[256], cap[256], cmd[1024], pid[16], *buf, *line, *save;
	void *pages[2] = {(void *)0x10000, (void *)0x20000};
	int nodes[2] = {1, 1}, status[2], events = 0, mpt9 = 0, st;
	size_t n;
	struct proc p;
	pid_t child;

	(void)state;
	snprintf(live, sizeof(live), "%s/refused.json", tmpdir);
	snprintf(cap, sizeof(cap), "%s/refused.mpcap", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "-f", "json", "-o", live, "--capture", cap, "--detect",
			"--descendant-of",   pid,  NULL};
	start_tracing(&p, argv);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		if (tu_seccomp_refuse(EPERM, EPERM))
			_exit(2);
		for (int i = 0; i < 3; i++)
			if (syscall(SYS_move_pages, 4242, 2, pages, nodes, status, 2) != -1)
				_exit(3);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_int_equal(st, 0);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);

	buf = slurp(live, &n);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *ev = json_loads(line, 0, NULL);
		const char *name = json_string_value(json_object_get(ev, "eventName"));

		if (!strcmp(name, "move_pages")) {
			assert_int_equal(json_integer_value(json_object_get(ev, "hostProcessId")),
					 child);
			assert_true(json_is_true(json_object_get(ev, "refusedBySeccomp")));
			assert_true(json_is_false(json_object_get(ev, "entrySeen")));
			assert_true(json_is_null(json_object_get(ev, "durationNs")));
			assert_int_equal(json_integer_value(json_object_get(ev, "returnValue")),
					 -EPERM);
			assert_int_equal(
			    json_integer_value(json_object_get(ev_arg(ev, 0), "value")), 4242);
			assert_string_equal(json_string_value(json_array_get(
						json_object_get(ev_arg(ev, 2), "data"), 1)),
					    "0x20000");
			assert_string_equal(
			    json_string_value(json_object_get(ev_arg(ev, 4), "readError")),
			    "not filled: the call failed");
			events++;
		} else if (!strcmp(name, "detection") &&
			   !strcmp(json_string_value(
				       json_object_get(json_object_get(ev, "detection"), "id")),
				   "MPT-9")) {
			mpt9++;
		}
		json_decref(ev);
	}
	free(buf);
	assert_int_equal(events, 3);
	assert_int_equal(mpt9, 1);
	/* the events alone, through the schema */
	snprintf(cmd, sizeof(cmd),
		 "grep -v '\"detection\"' %s > %s.events && %s %s %s %s.events 3 >&2", live, live,
		 python, schema_check, schema, live);
	assert_int_equal(system(cmd), 0);

	assert_replay_is_live(cap, live, true, NULL);
}

/*
 * mptrace in a pid namespace of its own is pid N there; a host process
 * whose host pid is N is somebody else, and its calls are traced. The
 * namespace's next pid is set so that mptrace gets the victim's number.
 */
static void test_own_pid_namespace(void **state)
{
	char script[1024], want[64], b = 'g';
	int go[2], st;
	struct proc p;
	pid_t victim;

	(void)state;
	assert_int_equal(pipe(go), 0);
	victim = fork();
	assert_true(victim >= 0);
	if (victim == 0) {
		void *pages[1] = {(void *)0x10000};
		int status[1];

		alarm(60);
		prctl(PR_SET_NAME, "mpt_nsvictim");
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		syscall(SYS_move_pages, 0, 1, pages, NULL, status, 0);
		_exit(0);
	}
	snprintf(script, sizeof(script),
		 "echo %d > /proc/sys/kernel/ns_last_pid; %s --comm mpt_nsvictim -d 3 & "
		 "echo \"mptrace is pid $! here\" >&2; wait",
		 victim - 1, mptrace_bin);
	char *argv[] = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc",
			"/bin/sh",	    "-c",    script,   NULL};
	proc_start(&p, argv, 0);
	proc_read(&p, 15000, " via ");
	snprintf(want, sizeof(want), "mptrace is pid %d here", victim);
	if (!strstr(p.err, " via "))
		fail_msg("no ready line; stderr: %s", p.err);
	if (!strstr(p.err, want))
		fail_msg("mptrace did not get pid %d in its namespace: %s", victim, p.err);
	assert_int_equal(write(go[1], &b, 1), 1);
	assert_int_equal(waitpid(victim, &st, 0), victim);
	assert_int_equal(proc_wait(&p, 10000), 0);
	snprintf(want, sizeof(want), "mpt_nsvictim[%d] move_pages(0, 1, [0x10000]", victim);
	if (!strstr(p.out, want))
		fail_msg("the host process %d was not traced:\n%s\n%s", victim, p.out, p.err);
	close(go[0]);
	close(go[1]);
}

/* probe lists every mode; each mode it calls unusable fails cleanly when forced. */
static void test_probe_and_forced_modes(void **state)
{
	static const char *modes[] = {"kprobe", "fentry", "tracepoint"};
	struct proc p, q;
	int usable = 0;

	(void)state;
	char *argv[] = {(char *)mptrace_bin, "probe", NULL};
	assert_int_equal(run(argv, 0, &p), 0);
	printf("%s", p.out);
	assert_non_null(strstr(p.out, "kernel "));
	for (size_t i = 0; i < 3; i++) {
		char yes[64], no[64], want[64];

		snprintf(yes, sizeof(yes), "\n%-10s yes  ", modes[i]);
		snprintf(no, sizeof(no), "\n%-10s no   ", modes[i]);
		assert_true(strstr(p.out, yes) || strstr(p.out, no));
		if (strstr(p.out, yes)) {
			usable++;
			continue;
		}
		char *forced[] = {(char *)mptrace_bin,
				  "--attach",
				  (char *)modes[i],
				  "--pid",
				  "1",
				  "-d",
				  "0.2",
				  NULL};
		assert_int_equal(run(forced, 0, &q), 1);
		snprintf(want, sizeof(want), "cannot trace via %s: ", modes[i]);
		assert_one_line_error(&q, want);
	}
	assert_true(usable > 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_live),
	    cmocka_unit_test(test_table_max_events),
	    cmocka_unit_test(test_duration_and_sigterm),
	    cmocka_unit_test(test_filter_flags),
	    cmocka_unit_test(test_ocsf_live),
	    cmocka_unit_test(test_stats_and_drops),
	    cmocka_unit_test(test_fair_share_flood),
	    cmocka_unit_test(test_refused_by_seccomp),
	    cmocka_unit_test(test_own_pid_namespace),
	    cmocka_unit_test(test_probe_and_forced_modes),
	};

	return e2e_main(argc, argv, "e2e_live", tests, sizeof(tests) / sizeof(tests[0]));
}
