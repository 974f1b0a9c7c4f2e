// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * End to end through the real binary: start mptrace, wait for its ready
 * line, make calls, stop it, and read what it wrote as a user would.
 *
 * usage: test_e2e MPTRACE SCHEMA SCHEMA_CHECKER PYTHON
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
#include "testutil.h"

static const char *mptrace_bin, *schema, *schema_check, *python, *ocsf_desc, *ocsf_check;
static const char *lineage_bin; /* tests/mp_lineage */
static char tmpdir[] = "/tmp/mptrace-e2e-XXXXXX";

struct proc {
	pid_t pid;
	int out_fd, err_fd;
	char out[1 << 20], err[1 << 14]; /* a JSON line is ~2 KB with a deep process tree */
	size_t out_len, err_len;
};

static void proc_start(struct proc *p, char *const argv[], uid_t uid)
{
	int out[2], err[2];

	memset(p, 0, sizeof(*p));
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	p->out_fd = out[0];
	p->err_fd = err[0];
}

/* Read what is available from both pipes for up to @ms; stop early once @want appears on stderr. */
static void proc_read(struct proc *p, int ms, const char *want)
{
	uint64_t deadline = tu_boot_ns() + (uint64_t)ms * 1000000;

	while (tu_boot_ns() < deadline && (p->out_fd >= 0 || p->err_fd >= 0)) {
		struct pollfd fds[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};

		if (want && p->err_len && strstr(p->err, want))
			return;
		if (poll(fds, 2, 20) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			int *fd = i ? &p->err_fd : &p->out_fd;
			char *buf = i ? p->err : p->out;
			size_t *len = i ? &p->err_len : &p->out_len;
			size_t cap = i ? sizeof(p->err) : sizeof(p->out);
			ssize_t n;

			if (*fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
				continue;
			/* a full buffer would read as the end: comparisons would fail for no reason
			 */
			if (*len == cap - 1)
				fail_msg("more output than the test keeps (%zu bytes): %.200s", cap,
					 buf);
			n = read(*fd, buf + *len, cap - 1 - *len);
			if (n <= 0) {
				close(*fd);
				*fd = -1;
				continue;
			}
			*len += n;
			buf[*len] = '\0';
		}
	}
}

/* Wait for exit (reading its output meanwhile); the exit code, or -1 if it had to be killed. */
static int proc_wait(struct proc *p, int ms)
{
	int status;

	uint64_t deadline = tu_boot_ns() + (uint64_t)ms * 1000000;
	pid_t r;

	proc_read(p, ms, NULL);
	/* its pipes close a moment before it can be reaped */
	while ((r = waitpid(p->pid, &status, WNOHANG)) == 0 && tu_boot_ns() < deadline)
		usleep(5000);
	if (r == 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &status, 0);
		fprintf(stderr, "mptrace did not exit; stderr: %s\n", p->err);
		return -1;
	}
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run(char *const argv[], uid_t uid, struct proc *p)
{
	proc_start(p, argv, uid);
	return proc_wait(p, 10000);
}

static void assert_one_line_error(const struct proc *p, const char *part)
{
	if (!strstr(p->err, part))
		fail_msg("stderr '%s' does not mention '%s'", p->err, part);
	assert_int_equal(strncmp(p->err, "mptrace: ", 9), 0);
	assert_ptr_equal(strchr(p->err, '\n'), p->err + p->err_len - 1);
}

static void start_tracing(struct proc *p, char *const argv[])
{
	proc_start(p, argv, 0);
	/* "tracing move_pages, migrate_pages via MODE", or the events --event chose */
	proc_read(p, 15000, " via ");
	if (!strstr(p->err, "mptrace: tracing ") || !strstr(p->err, " via "))
		fail_msg("no ready line; stderr: %s", p->err);
}

/* A child that idles until a byte comes on @go, with our memory mapped as it was. */
static pid_t waiting_child(int go[2])
{
	pid_t child;
	char b;

	assert_int_equal(pipe(go), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		alarm(60); /* never outlive a failed test */
		close(1), close(2);
		(void)!read(go[0], &b, 1);
		_exit(0);
	}
	return child;
}

static void own_call(struct tu_call *c, void **pages, int *status, size_t n, int *nodes, int flags)
{
	memset(c, 0, sizeof(*c));
	c->count = n;
	c->pages = pages;
	c->status = status;
	c->nodes = nodes;
	c->flags = flags;
	tu_move_pages(c);
}

static json_t *arg(json_t *ev, size_t i)
{
	return json_array_get(json_object_get(ev, "args"), i);
}

static uint64_t self_ns(const char *which)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", which);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* Who made the call: this process, in the host's namespaces, in no container. */
static void assert_context(json_t *ev)
{
	char exe[4096], line[4096], cg[4096] = "";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/cgroup", "r");
	json_int_t start = json_integer_value(json_object_get(ev, "processStartTime"));

	assert_true(n > 0);
	exe[n] = '\0';
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3))
			snprintf(cg, sizeof(cg), "%.*s", (int)strcspn(line + 3, "\n"), line + 3);
	fclose(f);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(ev, "executable"), "path")), exe);
	assert_string_equal(json_string_value(json_object_get(ev, "cgroupPath")), cg);
	assert_int_equal(json_integer_value(json_object_get(ev, "cgroupId")), tu_self_cgroup_id());
	assert_string_equal(json_string_value(json_object_get(ev, "containerId")), "");
	assert_int_equal(json_integer_value(json_object_get(ev, "mountNamespace")), self_ns("mnt"));
	assert_int_equal(json_integer_value(json_object_get(ev, "pidNamespace")), self_ns("pid"));
	assert_true(start > 0 && start <= json_integer_value(json_object_get(ev, "timestamp")));
	assert_int_equal(json_integer_value(json_object_get(ev, "userId")), getuid());
}

static void assert_json_matches(json_t *ev, const struct tu_call *c)
{
	char hex[32];
	json_t *data;

	assert_int_equal(json_integer_value(json_object_get(ev, "hostProcessId")), getpid());
	assert_int_equal(json_integer_value(json_object_get(ev, "hostThreadId")), c->tid);
	assert_int_equal(json_integer_value(json_object_get(ev, "returnValue")), c->ret);
	assert_string_equal(json_string_value(json_object_get(ev, "processName")), "test_e2e");
	assert_int_equal(json_integer_value(json_object_get(arg(ev, 1), "value")), c->count);
	snprintf(hex, sizeof(hex), "0x%lx", (unsigned long)c->pages);
	assert_string_equal(json_string_value(json_object_get(arg(ev, 2), "value")), hex);
	data = json_object_get(arg(ev, 2), "data");
	for (size_t i = 0; i < c->count; i++) {
		snprintf(hex, sizeof(hex), "0x%lx", (unsigned long)c->pages[i]);
		assert_string_equal(json_string_value(json_array_get(data, i)), hex);
	}
	data = json_object_get(arg(ev, 3), "data");
	if (c->nodes)
		assert_int_equal(json_integer_value(json_array_get(data, 0)), c->nodes[0]);
	else
		assert_null(data); /* readError says why; there is no data */
	data = json_object_get(arg(ev, 4), "data");
	if (c->ret >= 0)
		for (size_t i = 0; i < c->count; i++)
			assert_int_equal(json_integer_value(json_array_get(data, i)),
					 c->status_seen[i]);
	else
		assert_null(data);
	assert_int_equal(json_integer_value(json_object_get(arg(ev, 5), "value")), c->flags);
	assert_context(ev);
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
	size_t n = 0;

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
		assert_true(n < 3);
		assert_json_matches(ev, &calls[n++]);
		json_decref(ev);
	}
	fclose(f);
	assert_int_equal(n, 3);
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
	snprintf(want, sizeof(want),
		 " test_e2e[%d] move_pages(0, 2, [%p, %p], NULL, [0, 0], 0) = 0 <", getpid(),
		 pages[0], pages[1]);
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
	char *argv[] = {(char *)mptrace_bin, "--comm",	    "test_e2e", "--uid", "root",
			"--target-other",    "--host-only", "-n",	"1",	 NULL};
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
	snprintf(want, sizeof(want), " test_e2e[%d] move_pages(%d, 1, [%p], NULL, [", getpid(),
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

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = n;
	return buf;
}

/* Every line of @path is one complete JSON object; returns how many. */
/*
 * The replay of capture @cap (with its detections when @detect) is the live
 * JSON @live, byte for byte. Through a file: a flood's records are more
 * than a pipe buffer holds.
 */
static void assert_replay_is_live(const char *cap, const char *live, bool detect)
{
	char again[300];
	char *replay[] = {
	    (char *)mptrace_bin,	"replay", "-f", "json", "-o", again, (char *)cap,
	    detect ? "--detect" : NULL, NULL};
	static struct proc p;
	size_t n, rn;
	char *buf, *rbuf;

	snprintf(again, sizeof(again), "%s.replayed", live);
	unlink(again);
	assert_int_equal(run(replay, 0, &p), 0);
	buf = slurp(live, &n);
	rbuf = slurp(again, &rn);
	assert_int_equal(rn, n);
	assert_memory_equal(rbuf, buf, n);
	free(buf);
	free(rbuf);
}

static int json_lines(const char *path)
{
	size_t len;
	char *buf = slurp(path, &len), *p = buf, *nl;
	int n = 0;

	while ((nl = memchr(p, '\n', len - (p - buf)))) {
		json_error_t err;
		json_t *j = json_loadb(p, nl - p, 0, &err);

		if (!j)
			fail_msg("%s: line %d is not JSON: %s", path, n + 1, err.text);
		json_decref(j);
		n++;
		p = nl + 1;
	}
	assert_int_equal(p - buf, len); /* nothing after the last newline: no torn line */
	free(buf);
	return n;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; (s = strchr(s, '\n')); s++)
		n++;
	return n;
}

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
static void test_capture_round_trip(void **state)
{
	char live[256], cap[256], pid[16], want[64], copy[256], cmd[600];
	char *mem = tu_touched_pages(1);
	void *child_pages[1] = {mem};
	size_t live_len, cap_len;
	char *live_buf, *cap_buf;
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

	/*
	 * A capture is never an output, whatever it is named: `replay -o r.mpcap.*`
	 * puts the first file of a set after -o; a live run's -o likewise.
	 */
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

	assert_int_equal(write(go[1], "x", 1), 1);
	waitpid(child, NULL, 0);
	close(go[0]), close(go[1]);
	free(live_buf);
	free(cap_buf);
	munmap(mem, 4096);
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
	usleep(800 * 1000); /* the capture flushes every 200 ms */
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
	size_t live_len, n = 0, findings = 0;
	char *live_buf, *line, *save;
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

	live_buf = slurp(live, &live_len);
	for (line = strtok_r(live_buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t err;
		json_t *ev = json_loads(line, 0, &err), *proc;

		assert_non_null(ev);
		proc = json_object_get(json_object_get(ev, "actor"), "process");
		assert_int_equal(json_integer_value(json_object_get(proc, "pid")), getpid());
		assert_string_equal(json_string_value(json_object_get(proc, "name")), "test_e2e");
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
	free(live_buf);

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

static json_t *last_line_with(const char *buf, const char *needle)
{
	const char *at = NULL, *p = buf;
	json_error_t err;

	while ((p = strstr(p, needle)))
		at = p++;
	if (!at)
		return NULL;
	while (at > buf && at[-1] != '\n')
		at--;
	return json_loadb(at, strcspn(at, "\n"), 0, &err);
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
static void test_fair_share_flood(void **state)
{
	volatile int *stop =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char live[256], cap[256], flood_json[256], cmd[1024], pid[16], *buf, *line, *save;
	FILE *floods;
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	long long recorded = 0, summed = 0, returns = 0, failures = 0, made = 0;
	int status[1], fd[2], quiet = 0, mpt8 = 0, summaries = 0, st;
	size_t n;
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
	floods = fopen(flood_json, "w");
	assert_non_null(floods);
	buf = slurp(live, &n);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *ev = json_loads(line, 0, NULL);
		const char *name = json_string_value(json_object_get(ev, "eventName"));
		json_int_t who = json_integer_value(json_object_get(ev, "hostProcessId"));

		assert_non_null(name);
		if (!strcmp(name, "move_pages") && who == getpid())
			quiet++;
		else if (!strcmp(name, "move_pages") && who == flooder)
			recorded++;
		else if (!strcmp(name, "flood")) {
			/* only the flooder is over its share, and its summary says what it did */
			assert_int_equal(who, flooder);
			assert_string_equal(json_string_value(json_object_get(ev, "syscall")),
					    "move_pages");
			summed += json_integer_value(json_object_get(arg(ev, 0), "value"));
			assert_int_equal(json_integer_value(json_object_get(arg(ev, 1), "value")),
					 json_integer_value(json_object_get(arg(ev, 0), "value")));
			assert_int_equal(json_integer_value(json_object_get(arg(ev, 2), "value")),
					 1);
			returns += json_integer_value(json_object_get(arg(ev, 3), "value"));
			failures += json_integer_value(json_object_get(arg(ev, 4), "value"));
			summaries++;
			fprintf(floods, "%s\n", line);
		} else if (!strcmp(name, "detection")) {
			json_t *d = json_object_get(ev, "detection");

			if (!strcmp(json_string_value(json_object_get(d, "id")), "MPT-8")) {
				assert_int_equal(
				    json_integer_value(json_object_get(
					json_object_get(ev, "triggeredBy"), "hostProcessId")),
				    flooder);
				mpt8++;
			}
		}
		json_decref(ev);
	}
	free(buf);
	printf("# flooder: %lld calls, %lld recorded, %lld summed in %d summaries\n", made,
	       recorded, summed, summaries);
	assert_int_equal(quiet, 200);
	assert_true(summaries > 0);
	assert_int_equal(recorded + summed, made);
	assert_int_equal(returns, summed);
	assert_int_equal(failures, 0);
	assert_true(mpt8 > 0);
	fclose(floods);
	snprintf(cmd, sizeof(cmd), "%s %s %s %s %d >&2", python, schema_check, schema, flood_json,
		 summaries);
	assert_int_equal(system(cmd), 0);

	assert_replay_is_live(cap, live, true);
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
			assert_int_equal(json_integer_value(json_object_get(arg(ev, 0), "value")),
					 4242);
			assert_string_equal(json_string_value(json_array_get(
						json_object_get(arg(ev, 2), "data"), 1)),
					    "0x20000");
			assert_string_equal(
			    json_string_value(json_object_get(arg(ev, 4), "readError")),
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

	assert_replay_is_live(cap, live, true);
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

/* Under systemd: READY once attached, watchdog keep-alives, STOPPING; capabilities dropped. */
static void test_service_manager(void **state)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char msg[512], file[64], line[300], all[4096] = "", conf[300];
	int fd, ready = 0, watchdog = 0, stopping = 0;
	unsigned long long eff = ~0ull;
	struct proc p;
	FILE *f;

	(void)state;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/notify.sock", tmpdir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	/* the unit's ExecStart, with the shipped config's paths moved into our directory */
	{
		char src[512], cmd[2048];

		snprintf(src, sizeof(src), "%s", schema);
		*strrchr(src, '/') = '\0';
		*strrchr(src, '/') = '\0';
		snprintf(conf, sizeof(conf), "%s/mptrace.conf", tmpdir);
		snprintf(cmd, sizeof(cmd),
			 "sed 's|/var/log/mptrace|%s|; s|/var/lib/mptrace|%s|; "
			 "s|127.0.0.1:9867|127.0.0.1:0|' "
			 "'%s/packaging/mptrace.conf' "
			 "> '%s'",
			 tmpdir, tmpdir, src, conf);
		assert_int_equal(system(cmd), 0);
	}
	setenv("NOTIFY_SOCKET", addr.sun_path, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	char *argv[] = {(char *)mptrace_bin, "--config", conf, NULL};
	start_tracing(&p, argv);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");

	/* once attached it keeps CAP_BPF and CAP_SYS_PTRACE only, and cannot regain any */
	snprintf(file, sizeof(file), "/proc/%d/status", p.pid);
	f = fopen(file, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "CapEff: %llx", &eff);
		if (!strncmp(line, "NoNewPrivs:", 11))
			assert_non_null(strstr(line, "1"));
	}
	fclose(f);
	assert_int_equal(eff, (1ull << 39) | (1ull << 19));

	usleep(500 * 1000);
	/* systemctl stop: SIGTERM drains and exits 0 */
	kill(p.pid, SIGTERM);
	assert_int_equal(proc_wait(&p, 10000), 0);
	snprintf(line, sizeof(line), "%s/events.json", tmpdir);
	assert_true(json_lines(line) >= 1); /* at least the final stats record */
	for (;;) {
		ssize_t n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);

		if (n <= 0)
			break;
		msg[n] = '\0';
		ready += !!strstr(msg, "READY=1");
		watchdog += !!strstr(msg, "WATCHDOG=1");
		stopping += !!strstr(msg, "STOPPING=1");
		strncat(all, msg, sizeof(all) - strlen(all) - 2);
		strcat(all, "|");
	}
	close(fd);
	if (ready != 1 || watchdog < 2 || stopping != 1)
		fail_msg("notifications: %s", all);
	/* "STATUS=tracing EVENTS via MODE", whatever the events */
	assert_non_null(strstr(all, "STATUS=tracing "));
	assert_non_null(strstr(strstr(all, "STATUS=tracing "), " via "));
}

/*
 * --log-size rotates into numbered whole-line files, the oldest dropped past
 * --log-files; SIGHUP after a move (logrotate) starts a fresh log, and no event
 * is lost across either switch.
 */
/* Lines ended so far in @path, which may be being written (0 when it is not there). */
static int newlines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	while (f && (c = getc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

/* Until @path exists (and, with @lines, holds that many lines), or 10 s pass. */
static void wait_file(const char *path, int lines)
{
	struct stat st;

	for (int i = 0; i < 1000; i++) {
		if (!stat(path, &st) && newlines(path) >= lines)
			return;
		usleep(10 * 1000);
	}
	fail_msg("%s: not there with %d lines after 10 s", path, lines);
}

/* Until FILE and its rotated FILE.1..FILE.(@files - 1) hold @lines lines in all. */
static void wait_rotated_lines(const char *log, int files, int lines)
{
	char path[300];
	int n = 0;

	for (int tries = 0; tries < 1000; tries++, usleep(10 * 1000)) {
		n = newlines(log);
		for (int i = 1; i < files; i++) {
			snprintf(path, sizeof(path), "%s.%d", log, i);
			n += newlines(path);
		}
		if (n >= lines)
			return;
	}
	fail_msg("%s: %d of %d lines written after 10 s", log, n, lines);
}

/*
 * Calls that make about @mb MB of JSON: a line's size depends on the
 * caller's process tree (its ancestors are in it), so it is measured on a
 * first call (made, and left in @log).
 */
static int calls_for_mb(const char *log, int mb, void **pages, int *status)
{
	struct tu_call c;
	struct stat st;

	own_call(&c, pages, status, 1, NULL, 0);
	wait_file(log, 1);
	assert_int_equal(stat(log, &st), 0);
	return (int)(((int64_t)mb << 20) / st.st_size) + 1;
}

static void test_log_rotation_and_hup(void **state)
{
	char log[256], path[300], pid[16];
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	int status[1], total = 0, calls = 1, files = 0, n;
	struct tu_call c;
	struct stat st;
	struct proc p;

	(void)state;
	snprintf(log, sizeof(log), "%s/rotated.json", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "-f", "json",	  "-o", log, "--pid", pid,
			"--log-size",	     "1",  "--log-files", "8",	NULL};
	start_tracing(&p, argv);
	/*
	 * 2.5 MB of JSON, whatever a line's size: rotated twice, far from 8 files,
	 * and the file logrotate moves is half full, so the calls below do not
	 * rotate it again
	 */
	n = calls_for_mb(log, 5, pages, status) / 2;
	for (int i = 1; i < n; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	/* the tracer has written them all: its own rotation is done before logrotate's */
	wait_rotated_lines(log, 8, calls);
	/* logrotate: move the file away, then HUP; mptrace writes to a new one */
	snprintf(path, sizeof(path), "%s/rotated.json.moved", tmpdir);
	assert_int_equal(rename(log, path), 0);
	/* calls made between the move and the HUP land in the moved file */
	for (int i = 0; i < 10; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	kill(p.pid, SIGHUP);
	wait_file(log, 0); /* reopened: what comes now goes to the new file */
	for (int i = 0; i < 5; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	assert_int_equal(json_lines(log), 5);
	total = 5 + json_lines(path);
	for (int i = 1; i <= 7; i++) {
		snprintf(path, sizeof(path), "%s.%d", log, i);
		if (stat(path, &st))
			continue;
		files++;
		assert_true(st.st_size >= 1 << 20);
		total += json_lines(path);
	}
	assert_true(files >= 2);
	assert_true(files < 7); /* nothing rotated away: the count below holds */
	assert_int_equal(total, calls);

	/* a small ring: the oldest files go */
	for (int i = 0; i <= 7; i++) {
		snprintf(path, sizeof(path), "%s.%d", log, i);
		unlink(i ? path : log);
	}
	char *ring[] = {(char *)mptrace_bin, "-f", "json",	  "-o", log, "--pid", pid,
			"--log-size",	     "1",  "--log-files", "2",	NULL};
	start_tracing(&p, ring);
	n = calls_for_mb(log, 3, pages, status);
	for (int i = 1; i < n; i++)
		own_call(&c, pages, status, 1, NULL, 0);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	snprintf(path, sizeof(path), "%s.1", log);
	assert_int_equal(stat(path, &st), 0);
	json_lines(path);
	snprintf(path, sizeof(path), "%s.2", log);
	assert_int_not_equal(stat(path, &st), 0);
	munmap(mem, 4096);
}

/* Several sinks at once: a JSON log, standard output and a capture hold the same events. */
static void test_several_outputs(void **state)
{
	char log1[256], log2[256], cap[256], pid[16];
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	int status[1];
	size_t l1, l2;
	char *b1, *b2;
	struct tu_call c;
	struct proc p;

	(void)state;
	snprintf(log1, sizeof(log1), "%s/sink1.json", tmpdir);
	snprintf(log2, sizeof(log2), "%s/sink2.json", tmpdir);
	snprintf(cap, sizeof(cap), "%s/sinks.mpcap", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "-f", "json",  "-o", log1, "-o", "-", "-o", log2,
			"--capture",	     cap,  "--pid", pid,  NULL};
	start_tracing(&p, argv);
	for (int i = 0; i < 3; i++)
		own_call(&c, pages, status, 1, NULL, 0);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	b1 = slurp(log1, &l1);
	b2 = slurp(log2, &l2);
	assert_int_equal(json_lines(log1), 3);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	assert_int_equal(p.out_len, l1);
	assert_memory_equal(p.out, b1, l1);
	char *replay[] = {(char *)mptrace_bin, "replay", "-f", "json", cap, NULL};
	assert_int_equal(run(replay, 0, &p), 0);
	assert_int_equal(p.out_len, l1);
	assert_memory_equal(p.out, b1, l1);
	char *five[] = {
	    (char *)mptrace_bin, "-o", "a", "-o", "b", "-o", "c", "-o", "d", "-o", "e", NULL};
	assert_int_equal(run(five, 0, &p), 2);
	assert_one_line_error(&p, "at most 4 outputs");
	free(b1);
	free(b2);
	munmap(mem, 4096);
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

/* A full disk: the tracer keeps running, counts what it could not write, marks the gap. */
static void test_disk_full(void **state)
{
	char dir[256], log[300], filler[300], pid[16], buf[4096] = {0};
	char *mem = tu_touched_pages(1);
	void *pages[1] = {mem};
	int status[1], fd, calls = 0;
	size_t len;
	char *text, *at;
	json_t *drop;
	struct tu_call c;
	struct proc p;
	long long lost = 0, events = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/small", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	if (mount("mptrace-test", dir, "tmpfs", 0, "size=1m")) {
		printf("# cannot mount a small tmpfs: %s\n", strerror(errno));
		skip();
	}
	snprintf(log, sizeof(log), "%s/events.json", dir);
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "-f", "json", "-o", log, "--pid", pid, NULL};
	start_tracing(&p, argv);
	for (int i = 0; i < 100; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	usleep(200 * 1000);
	/* fill the disk */
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	for (int i = 0; i < 300; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	usleep(300 * 1000);
	assert_int_equal(kill(p.pid, 0), 0); /* still running */
	unlink(filler);
	usleep(100 * 1000);
	for (int i = 0; i < 50; i++, calls++)
		own_call(&c, pages, status, 1, NULL, 0);
	usleep(300 * 1000);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 1);
	assert_non_null(strstr(p.err, "failed: No space left on device"));
	assert_non_null(strstr(p.err, "works again"));

	/* whole lines only; the events written plus the drop record's count are every call */
	json_lines(log);
	text = slurp(log, &len);
	for (at = text; (at = strstr(at, "\"eventName\":\"move_pages\"")); at++)
		events++;
	drop = last_line_with(text, "\"cause\":\"output\"");
	if (!drop)
		fail_msg("no drop record; %lld events; stderr: %s", events, p.err);
	lost = json_integer_value(json_object_get(drop, "count"));
	assert_true(lost > 0);
	assert_int_equal(events + lost, calls);
	json_decref(drop);
	free(text);
	umount(dir);
	munmap(mem, 4096);
}

/* Copy @from to @to, executable by anyone (whatever the umask). */
static void copy_exe(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(out >= 0);
	assert_int_equal(fchmod(out, 0755), 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, n), n);
	assert_int_equal(n, 0);
	close(in);
	assert_int_equal(close(out), 0);
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

static void test_bad_command_lines(void **state)
{
	static const struct {
		const char *arg, *value, *reason;
	} bad[] = {
	    {"--attach", "bogus", "unknown attach mode 'bogus'"},
	    {"--format", "xml", "unknown format 'xml'"},
	    {"-n", "0", "invalid event count"},
	    {"--array-cap", "5000", "invalid array cap"},
	    {"--duration", "soon", "invalid duration"},
	    {"--frobnicate", NULL, "unrecognized option '--frobnicate'"},
	    {"probe", "now", "unexpected argument 'now'"},
	    /* each fine alone, together more kernel memory than allowed */
	    {"--max-inflight", "1048576", "--max-inflight 1048576 x --array-cap 64 needs"},
	};
	static const char *const commands[] = {"probe", "replay", "verify", "capture-info", "ship"};
	char want[64];
	struct proc p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {(char *)mptrace_bin, (char *)bad[i].arg, (char *)bad[i].value,
				NULL};
		assert_int_equal(run(argv, 0, &p), 2);
		assert_one_line_error(&p, bad[i].reason);
	}
	/* every command's --help is its own usage, on stdout, exit 0, whatever it lacks */
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char *argv[] = {(char *)mptrace_bin, (char *)commands[i], "--help", NULL};

		assert_int_equal(run(argv, 0, &p), 0);
		snprintf(want, sizeof(want), "Usage: mptrace %s", commands[i]);
		if (strncmp(p.out, want, strlen(want)) || p.err_len)
			fail_msg("%s --help: stdout '%.80s', stderr '%s'", commands[i], p.out,
				 p.err);
	}
}

static void test_unwritable_output(void **state)
{
	struct proc p;

	(void)state;
	char *argv[] = {(char *)mptrace_bin, "-o", "/nonexistent/dir/events.json", NULL};
	assert_int_equal(run(argv, 0, &p), 1);
	assert_one_line_error(&p, "cannot open output '/nonexistent/dir/events.json'");
}

static void test_without_privileges(void **state)
{
	char dir[] = "/tmp/mptrace-unpriv-XXXXXX", bin[64];
	struct proc p;

	(void)state;
	/*
	 * A copy that user 65534 can reach: the build tree may sit in a private
	 * (0700) directory, as a clone in root's home does.
	 */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(bin, sizeof(bin), "%s/mptrace", dir);
	copy_exe(mptrace_bin, bin);

	char *trace[] = {bin, NULL};
	assert_int_equal(run(trace, 65534, &p), 1);
	assert_one_line_error(&p, "permission denied");
	char *probe[] = {bin, "probe", NULL};
	assert_int_equal(run(probe, 65534, &p), 1);
	assert_one_line_error(&p, "permission denied");
	unlink(bin);
	rmdir(dir);
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

/* The JSON line of @live whose processName and first commandLine arguments are these. */
static json_t *line_of(const char *live, const char *comm, const char *arg1, const char *arg2)
{
	FILE *f = fopen(live, "r");
	char buf[65536];
	json_t *found = NULL;

	assert_non_null(f);
	while (!found && fgets(buf, sizeof(buf), f)) {
		json_t *ev = json_loads(buf, 0, NULL), *cl;

		if (!ev)
			continue;
		cl = json_object_get(ev, "commandLine");
		if (!strcmp(json_string_value(json_object_get(ev, "processName")), comm) &&
		    json_array_size(cl) >= 2 &&
		    !strcmp(json_string_value(json_array_get(cl, 1)), arg1) &&
		    (!arg2 || (json_array_size(cl) >= 3 &&
			       !strcmp(json_string_value(json_array_get(cl, 2)), arg2))))
			found = ev;
		else
			json_decref(ev);
	}
	fclose(f);
	if (!found)
		fail_msg("no %s %s %s line in %s", comm, arg1, arg2 ? arg2 : "", live);
	return found;
}

static json_t *ancestor(json_t *ev, size_t i)
{
	json_t *a = json_array_get(json_object_get(ev, "ancestors"), i);

	if (!a)
		fail_msg("no ancestor %zu", i);
	return a;
}

static json_int_t jint_of(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *exe_of(json_t *o)
{
	return json_string_value(json_object_get(json_object_get(o, "executable"), "path"));
}

/* `replay -f json @cap` prints what the live run wrote to @live, byte for byte. */

/*
 * Trace mp_lineage's migrate_pages calls into TMPDIR/@name.json (@live) and
 * the capture TMPDIR/@name.mpcap (@cap), each of 256 bytes.
 */
static void trace_lineage(struct proc *p, const char *name, char *live, char *cap)
{
	snprintf(live, 256, "%s/%s.json", tmpdir, name);
	snprintf(cap, 256, "%s/%s.mpcap", tmpdir, name);
	char *argv[] = {
	    (char *)mptrace_bin, "-f",	   "json",	 "-o", live, "--capture", cap, "--event",
	    "migrate_pages",	 "--comm", "mp_lineage", NULL};
	start_tracing(p, argv);
}

/* Run mp_lineage with @args to its end. */
static void run_lineage(char *const args[])
{
	struct proc p;

	assert_int_equal(run(args, 0, &p), 0);
}

/*
 * Short-lived callers, named right after they are gone: the executable,
 * command line and ancestors of a process that execs, calls and exits at
 * once; a forked child that renames itself; a second exec; a child in a
 * new pid namespace; a process started before mptrace. Live and in replay.
 */
static void test_lineage(void **state)
{
	char live[256], cap[256], me[PATH_MAX], helper[PATH_MAX], cmd[PATH_MAX + 64], want[128];
	int in[2];
	json_t *ev;
	struct proc p;
	pid_t early;

	(void)state;
	assert_non_null(realpath("/proc/self/exe", me));
	assert_non_null(realpath(lineage_bin, helper));
	snprintf(live, sizeof(live), "%s/lineage.json", tmpdir);
	snprintf(cap, sizeof(cap), "%s/lineage.mpcap", tmpdir);
	/* started before the tracer: /proc says who it is */
	assert_int_equal(pipe(in), 0);
	early = fork();
	if (early == 0) {
		dup2(in[0], 0);
		close(in[1]);
		execl(helper, helper, "wait-call", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	char *argv[] = {(char *)mptrace_bin,
			"-f",
			"json",
			"-o",
			live,
			"--capture",
			cap,
			"--event",
			"migrate_pages",
			"--comm",
			"mp_lineage",
			"--comm",
			"renamed",
			NULL};
	start_tracing(&p, argv);

	/* exec, call, exit: through sh, which execs it, so its parent is this test */
	snprintf(cmd, sizeof(cmd), "exec '%s' call x y", helper);
	run_lineage((char *[]){"/bin/sh", "-c", cmd, NULL});
	run_lineage((char *[]){helper, "fork-rename", NULL});
	run_lineage((char *[]){helper, "exec-again", NULL});
	run_lineage((char *[]){helper, "pidns", NULL});
	assert_int_equal(write(in[1], "x", 1), 1);
	waitpid(early, NULL, 0);
	close(in[1]);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	if (!strstr(p.err, "mptrace: 5 events, 0 dropped"))
		fail_msg("not 5 events: %s", p.err);

	ev = line_of(live, "mp_lineage", "call", "x");
	assert_string_equal(exe_of(ev), helper);
	assert_int_equal(json_array_size(json_object_get(ev, "commandLine")), 4);
	assert_false(json_is_true(json_object_get(ev, "commandLineTruncated")));
	assert_int_equal(jint_of(ancestor(ev, 0), "hostProcessId"), getpid());
	assert_string_equal(exe_of(ancestor(ev, 0)), me);
	assert_string_equal(json_string_value(json_object_get(ancestor(ev, 0), "processName")),
			    "test_e2e");
	assert_int_equal(jint_of(ancestor(ev, 1), "hostProcessId"), getppid());
	json_decref(ev);

	/* a forked child that renamed itself: its name, its parent's image, two generations up */
	ev = line_of(live, "renamed", "fork-rename", NULL);
	assert_string_equal(exe_of(ev), helper);
	assert_string_equal(json_string_value(json_object_get(ancestor(ev, 0), "processName")),
			    "mp_lineage");
	assert_string_equal(exe_of(ancestor(ev, 0)), helper);
	assert_int_not_equal(jint_of(ancestor(ev, 0), "hostProcessId"),
			     jint_of(ev, "hostProcessId"));
	assert_int_equal(jint_of(ancestor(ev, 1), "hostProcessId"), getpid());
	json_decref(ev);

	/* exec'd twice: what the second exec said */
	ev = line_of(live, "mp_lineage", "call", "second");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(ev, "commandLine"), 0)), "mp_lineage");
	assert_string_equal(exe_of(ev), helper);
	assert_int_equal(jint_of(ancestor(ev, 0), "hostProcessId"), getpid());
	json_decref(ev);

	/* pid 1 of its own namespace: host pids for the chain */
	ev = line_of(live, "mp_lineage", "pidns", NULL);
	assert_int_equal(jint_of(ev, "processId"), 1);
	assert_int_not_equal(jint_of(ev, "hostProcessId"), 1);
	assert_string_equal(exe_of(ev), helper);
	assert_string_equal(exe_of(ancestor(ev, 0)), helper);
	assert_int_equal(jint_of(ancestor(ev, 1), "hostProcessId"), getpid());
	json_decref(ev);

	/* started before mptrace */
	ev = line_of(live, "mp_lineage", "wait-call", NULL);
	assert_int_equal(jint_of(ev, "hostProcessId"), early);
	assert_string_equal(exe_of(ev), helper);
	assert_int_equal(jint_of(ancestor(ev, 0), "hostProcessId"), getpid());
	assert_string_equal(exe_of(ancestor(ev, 0)), me);
	json_decref(ev);

	/* the capture says the same without /proc: replay prints the same bytes */
	assert_replay_is_live(cap, live, false);
	/* the table's compact form */
	char *table[] = {(char *)mptrace_bin, "replay", cap, NULL};
	assert_int_equal(run(table, 0, &p), 0);
	snprintf(want, sizeof(want), " <- test_e2e[%d] <- ", getpid());
	if (!strstr(p.out, want))
		fail_msg("no '%s' in: %s", want, p.out);
	snprintf(cmd, sizeof(cmd), "%s %s %s %s 5 >&2", python, schema_check, schema, live);
	assert_int_equal(system(cmd), 0);

	/* the lineage filters in replay: by the recorded tree and executable path */
	char pid_s[16], early_s[16];
	snprintf(pid_s, sizeof(pid_s), "%d", getpid());
	snprintf(early_s, sizeof(early_s), "%d", early);
	char *mine[] = {(char *)mptrace_bin, "replay", "--descendant-of", pid_s, cap, NULL};
	assert_int_equal(run(mine, 0, &p), 0);
	assert_int_equal(count_lines(p.out), 5);
	char *only_early[] = {(char *)mptrace_bin, "replay", "--descendant-of", early_s, cap, NULL};
	assert_int_equal(run(only_early, 0, &p), 0);
	assert_int_equal(count_lines(p.out), 1);
	char *by_exe[] = {(char *)mptrace_bin, "replay", "--exe", helper, cap, NULL};
	assert_int_equal(run(by_exe, 0, &p), 0);
	assert_int_equal(count_lines(p.out), 5);
	char *by_sh[] = {(char *)mptrace_bin, "replay", "--exe", "/bin/sh", cap, NULL};
	assert_int_equal(run(by_sh, 0, &p), 0);
	assert_int_equal(count_lines(p.out), 0);
}

/*
 * --exe in the kernel matches the file, not its name: a copy of the helper
 * (same name, same bytes, another inode) is not traced; --descendant-of
 * takes what runs below this test.
 */
static void test_exe_and_descendant_filters(void **state)
{
	char helper[PATH_MAX], copy[PATH_MAX + 32], pid_s[16];
	struct proc p;
	json_t *ev;

	(void)state;
	assert_non_null(realpath(lineage_bin, helper));
	snprintf(copy, sizeof(copy), "%s/mp_lineage", tmpdir);
	copy_exe(helper, copy);
	snprintf(pid_s, sizeof(pid_s), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin,
			"-f",
			"json",
			"-n",
			"1",
			"--event",
			"migrate_pages",
			"--exe",
			helper,
			"--descendant-of",
			pid_s,
			NULL};
	start_tracing(&p, argv);
	run_lineage((char *[]){copy, "call", "copy", NULL});
	run_lineage((char *[]){helper, "call", "real", NULL});
	assert_int_equal(proc_wait(&p, 10000), 0);
	ev = json_loads(p.out, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(ev);
	assert_string_equal(exe_of(ev), helper);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(ev, "commandLine"), 2)), "real");
	json_decref(ev);
	/* a file that is not there: one line, exit 2, before anything is loaded */
	char *missing[] = {(char *)mptrace_bin, "--exe", "/nonexistent/tool", "-d", "0.1", NULL};
	assert_int_equal(run(missing, 0, &p), 2);
	assert_one_line_error(&p, "--exe /nonexistent/tool: ");
}

/*
 * Lineage from a hostile caller: a command line past what is kept, bytes
 * that are not UTF-8, quotes and newlines in the executable's path and in
 * the arguments, a chain of processes deeper than the ancestors kept. Valid
 * JSON, each cut flagged, live and in replay.
 */
static void test_lineage_hostile(void **state)
{
	char live[256], cap[256], helper[PATH_MAX], dir[PATH_MAX], odd[PATH_MAX + 16];
	char want_exe[PATH_MAX + 16], big[601], cmd[3 * PATH_MAX], deep[PATH_MAX];
	json_t *ev, *cl;
	struct proc p;

	(void)state;
	assert_non_null(realpath(lineage_bin, helper));
	/* an executable whose path is longer than the 512 bytes kept */
	snprintf(deep, sizeof(deep), "%s", tmpdir);
	for (int i = 0; i < 8; i++) {
		size_t n = strlen(deep);

		snprintf(deep + n, sizeof(deep) - n, "/%070d", i);
		assert_int_equal(mkdir(deep, 0755), 0);
	}
	strncat(deep, "/mp_lineage", sizeof(deep) - strlen(deep) - 1);
	copy_exe(helper, deep);
	snprintf(dir, sizeof(dir), "%s/we ird\n\"\xff", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(odd, sizeof(odd), "%s/mp_lineage", dir);
	copy_exe(helper, odd);
	/* as JSON gives it back: the byte that is not UTF-8 is U+00FF */
	snprintf(want_exe, sizeof(want_exe), "%s/we ird\n\"\xc3\xbf/mp_lineage", tmpdir);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	trace_lineage(&p, "hostile", live, cap);
	run_lineage((char *[]){odd, "call", "x\xff\"\n", big, NULL});
	run_lineage((char *[]){helper, "deep", "20", NULL});
	/* through a short link, so that argv[0] leaves room for the arguments */
	snprintf(cmd, sizeof(cmd), "%s/short", tmpdir);
	assert_int_equal(mkdir(cmd, 0755), 0);
	strncat(cmd, "/mp_lineage", sizeof(cmd) - strlen(cmd) - 1);
	assert_int_equal(symlink(deep, cmd), 0);
	run_lineage((char *[]){cmd, "call", "long", NULL});
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	if (!strstr(p.err, "mptrace: 3 events, 0 dropped"))
		fail_msg("not 3 events: %s", p.err);

	/* the path kept is the true path's tail, and marked as such: it looks whole */
	ev = line_of(live, "mp_lineage", "call", "long");
	{
		const char *kept = exe_of(ev);
		size_t kl = strlen(kept), dl = strlen(deep);

		assert_true(kl < dl);
		assert_string_equal(kept, deep + dl - kl);
		assert_true(json_is_true(
		    json_object_get(json_object_get(ev, "executable"), "pathTruncated")));
	}
	json_decref(ev);
	/* no other path is marked */
	ev = line_of(live, "mp_lineage", "deep", "20");
	assert_null(json_object_get(json_object_get(ev, "executable"), "pathTruncated"));
	json_decref(ev);
	snprintf(cmd, sizeof(cmd),
		 "%s replay -f ocsf %s | grep -c 'path truncated: only its last' "
		 "| grep -qx 1",
		 mptrace_bin, cap);
	assert_int_equal(system(cmd), 0);

	ev = line_of(live, "mp_lineage", "call", "x\xc3\xbf\"\n");
	assert_string_equal(exe_of(ev), want_exe);
	cl = json_object_get(ev, "commandLine");
	assert_string_equal(json_string_value(json_array_get(cl, 0)), want_exe);
	assert_true(json_is_true(json_object_get(ev, "commandLineTruncated")));
	/* 512 bytes kept: argv[3] is cut short, and nothing follows it */
	assert_int_equal(json_array_size(cl), 4);
	assert_true(strlen(json_string_value(json_array_get(cl, 3))) < sizeof(big) - 1);
	assert_int_equal(strspn(json_string_value(json_array_get(cl, 3)), "A"),
			 strlen(json_string_value(json_array_get(cl, 3))));
	json_decref(ev);

	/* 20 generations below the helper, 16 ancestors kept: the nearest, parent first */
	ev = line_of(live, "mp_lineage", "deep", "20");
	assert_true(json_is_true(json_object_get(ev, "ancestorsTruncated")));
	assert_int_equal(json_array_size(json_object_get(ev, "ancestors")), 16);
	assert_int_equal(jint_of(ancestor(ev, 0), "hostProcessId"),
			 jint_of(ev, "hostParentProcessId"));
	for (size_t i = 0; i < 16; i++)
		assert_string_equal(exe_of(ancestor(ev, i)), helper);
	json_decref(ev);

	assert_replay_is_live(cap, live, false);
	snprintf(cmd, sizeof(cmd), "%s %s %s %s 3 >&2", python, schema_check, schema, live);
	assert_int_equal(system(cmd), 0);
}

/* The executable's inode in @ev: the caller's, or an ancestor's whose path is in doubt. */
static uint64_t exe_ino_of(json_t *o)
{
	return json_integer_value(json_object_get(json_object_get(o, "executable"), "inode"));
}

static json_t *creds_of(json_t *ev)
{
	json_t *c = json_object_get(ev, "credentials");

	if (!c)
		fail_msg("no credentials");
	return c;
}

static bool has_cap(json_t *ev, const char *cap)
{
	json_t *caps = json_object_get(creds_of(ev), "capabilities"), *c;
	size_t i;

	json_array_foreach(caps, i, c) if (!strcmp(json_string_value(c), cap)) return true;
	return false;
}

static bool exe_marked(json_t *o, const char *mark)
{
	return json_is_true(json_object_get(json_object_get(o, "executable"), mark));
}

/*
 * Executables a path does not tell the truth of, and a creator the kernel
 * names no parent: run from a memfd, unlinked while running, bound over
 * another path in an unprivileged user and mount namespace, and a sibling
 * made with clone(CLONE_PARENT). Each is marked, with the inode and device
 * that name the file; an ordinary caller has no mark. Live and in replay.
 */
static void test_exe_identity(void **state)
{
	char live[256], cap[256], helper[PATH_MAX], gone[PATH_MAX + 16], bound[PATH_MAX + 16];
	char decoy[PATH_MAX + 16], cmd[PATH_MAX], setuid_copy[PATH_MAX + 16];
	struct stat hs, bs;
	json_t *ev;
	struct proc p;

	(void)state;
	assert_non_null(realpath(lineage_bin, helper));
	assert_int_equal(stat(helper, &hs), 0);
	snprintf(gone, sizeof(gone), "%s/mp_lineage.gone", tmpdir);
	copy_exe(helper, gone);
	snprintf(bound, sizeof(bound), "%s/mp_lineage.bound", tmpdir);
	copy_exe(helper, bound);
	assert_int_equal(stat(bound, &bs), 0);
	snprintf(decoy, sizeof(decoy), "%s/decoy", tmpdir);
	copy_exe("/bin/true", decoy);
	/* setuid root, where a user (nobody) can reach it */
	snprintf(setuid_copy, sizeof(setuid_copy), "%s/mp_lineage.suid", tmpdir);
	copy_exe(helper, setuid_copy);
	assert_int_equal(chmod(setuid_copy, 04755), 0);
	assert_int_equal(chmod(tmpdir, 0711), 0);
	trace_lineage(&p, "identity", live, cap);
	run_lineage((char *[]){helper, "call", "plain", NULL});
	run_lineage((char *[]){helper, "memfd", NULL});
	run_lineage((char *[]){gone, "unlink-call", gone, NULL});
	run_lineage((char *[]){bound, "bind", decoy, NULL});
	run_lineage((char *[]){helper, "clone-parent", NULL});
	run_lineage((char *[]){helper, "as-user", "65534", setuid_copy, "setuid", NULL});
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	if (!strstr(p.err, "mptrace: 6 events, 0 dropped"))
		fail_msg("not 6 events: %s", p.err);

	/* a setuid-root call: the real uid is the user's, the rest is root's */
	ev = line_of(live, "mp_lineage", "call", "setuid");
	assert_int_equal(jint_of(ev, "userId"), 65534);
	assert_int_equal(jint_of(creds_of(ev), "effectiveUserId"), 0);
	assert_int_equal(jint_of(creds_of(ev), "savedUserId"), 0);
	assert_true(has_cap(ev, "CAP_SYS_NICE") && has_cap(ev, "CAP_SYS_PTRACE"));
	assert_null(json_object_get(creds_of(ev), "inChildUserNamespace"));
	json_decref(ev);

	ev = line_of(live, "mp_lineage", "call", "plain");
	assert_string_equal(exe_of(ev), helper);
	assert_int_equal(jint_of(ev, "userId"), 0);
	assert_int_equal(jint_of(creds_of(ev), "effectiveUserId"), 0);
	assert_true(has_cap(ev, "CAP_SYS_NICE") && has_cap(ev, "CAP_SYS_ADMIN"));
	assert_int_equal(exe_ino_of(ev), hs.st_ino);
	assert_false(exe_marked(ev, "fileless") || exe_marked(ev, "deleted") ||
		     exe_marked(ev, "pathNamesOtherFile"));
	json_decref(ev);

	ev = line_of(live, "mp_lineage", "call", "fileless");
	assert_string_equal(exe_of(ev), "/memfd:mpt-fileless");
	assert_true(exe_marked(ev, "fileless"));
	assert_false(exe_marked(ev, "pathNamesOtherFile") || exe_marked(ev, "deleted"));
	assert_true(exe_ino_of(ev) > 0 && exe_ino_of(ev) != hs.st_ino);
	json_decref(ev);

	ev = line_of(live, "mp_lineage", "unlink-call", gone);
	assert_string_equal(exe_of(ev), gone);
	assert_true(exe_marked(ev, "deleted"));
	json_decref(ev);

	/* the path the namespace showed, the file that ran */
	ev = line_of(live, "mp_lineage", "call", "bound");
	assert_string_equal(exe_of(ev), decoy);
	assert_true(exe_marked(ev, "pathNamesOtherFile"));
	assert_int_equal(exe_ino_of(ev), bs.st_ino);
	/* a namespace of its own, whose unmapped uid lost its capabilities at the exec */
	assert_false(has_cap(ev, "CAP_SYS_NICE") || has_cap(ev, "CAP_SYS_ADMIN"));
	assert_true(json_is_true(json_object_get(creds_of(ev), "inChildUserNamespace")));
	json_decref(ev);

	/* the kernel's parent is this test; the creator, its child, is kept above the caller */
	ev = line_of(live, "mp_lineage", "clone-parent", NULL);
	assert_int_equal(jint_of(ev, "hostParentProcessId"), getpid());
	assert_string_equal(exe_of(ancestor(ev, 0)), helper);
	assert_true(json_is_true(json_object_get(ancestor(ev, 0), "createdWithCloneParent")));
	assert_int_equal(jint_of(ancestor(ev, 1), "hostProcessId"), getpid());
	assert_null(json_object_get(ancestor(ev, 1), "createdWithCloneParent"));
	json_decref(ev);

	assert_replay_is_live(cap, live, false);
	snprintf(cmd, sizeof(cmd),
		 "%s replay -f ocsf %s | grep -c "
		 "'\"path\":\"/memfd:mpt-fileless\",\"desc\":\"fileless: run "
		 "from memory' | grep -qx 1",
		 mptrace_bin, cap);
	assert_int_equal(system(cmd), 0);
	/* OCSF has no attribute for them: under unmapped, as in JSON */
	snprintf(cmd, sizeof(cmd),
		 "%s replay -f ocsf %s | grep -c '\"groupId\":65534,\"credentials\":{"
		 "\"effectiveUserId\":0,\"savedUserId\":0,' | grep -qx 1",
		 mptrace_bin, cap);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s %s %s %s 6 >&2", python, schema_check, schema, live);
	assert_int_equal(system(cmd), 0);
}

/*
 * Calls from cgroups removed right after them, as short-lived containers do:
 * each is named by the path it had at the call (the BPF side recorded it),
 * a container's id among them, and the reader never walks the hierarchy.
 */
static void test_vanishing_cgroups(void **state)
{
	const char *root = mpt_cgroup2_root();
	static const char cid[] =
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char live[256], base[PATH_MAX], dir[PATH_MAX + 128], want[PATH_MAX + 128], pid[16];
	struct proc p;
	json_t *ev;
	int n = 0;

	(void)state;
	if (!root)
		skip();
	snprintf(base, sizeof(base), "%s/mpt-vanish-%d", root, (int)getpid());
	assert_int_equal(mkdir(base, 0755), 0);
	snprintf(live, sizeof(live), "%s/vanish.json", tmpdir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *argv[] = {(char *)mptrace_bin, "-f", "json",    "-o",	    live,
			"--descendant-of",   pid,  "--event", "move_pages", NULL};
	start_tracing(&p, argv);
	for (int i = 0; i < 20; i++) {
		pid_t c;
		int st;

		if (i == 19)
			snprintf(dir, sizeof(dir), "%s/docker-%s.scope", base, cid);
		else
			snprintf(dir, sizeof(dir), "%s/c%d", base, i);
		assert_int_equal(mkdir(dir, 0755), 0);
		c = fork();
		assert_true(c >= 0);
		if (c == 0) {
			char procs[PATH_MAX + 160], me[16];
			void *pages[1] = {(void *)((uintptr_t)(i + 1) << 12)};
			int status, fd;

			snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
			snprintf(me, sizeof(me), "%d", getpid());
			fd = open(procs, O_WRONLY);
			if (fd < 0 || write(fd, me, strlen(me)) < 0)
				_exit(1);
			close(fd);
			syscall(SYS_move_pages, 0, 1, pages, NULL, &status, 0);
			_exit(0);
		}
		assert_int_equal(waitpid(c, &st, 0), c);
		assert_int_equal(st, 0);
		assert_int_equal(rmdir(dir), 0);
	}
	assert_int_equal(rmdir(base), 0);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);

	FILE *f = fopen(live, "r");
	char line[65536];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		const char *page;
		unsigned long long addr;
		int i;

		ev = json_loads(line, 0, NULL);
		assert_non_null(ev);
		page = json_string_value(json_array_get(json_object_get(arg(ev, 2), "data"), 0));
		assert_non_null(page);
		assert_int_equal(sscanf(page, "%llx", &addr), 1);
		i = (int)(addr >> 12) - 1;
		if (i == 19)
			snprintf(want, sizeof(want), "%s/docker-%s.scope", base + strlen(root),
				 cid);
		else
			snprintf(want, sizeof(want), "%s/c%d", base + strlen(root), i);
		assert_string_equal(json_string_value(json_object_get(ev, "cgroupPath")), want);
		assert_string_equal(json_string_value(json_object_get(ev, "containerId")),
				    i == 19 ? cid : "");
		json_decref(ev);
		n++;
	}
	fclose(f);
	assert_int_equal(n, 20);
}

/*
 * Fork a child that gets host pid @want and execs @exe "call" @tag. The kernel
 * hands out ns_last_pid + 1, and another process may fork in between: tried
 * again until the pid is ours. Returns the pid, or -1.
 */
static pid_t fork_with_pid(pid_t want, const char *exe, const char *tag)
{
	char s[16];
	int st, fd, len = snprintf(s, sizeof(s), "%d", want - 1);

	for (int i = 0; i < 200; i++) {
		pid_t c;

		fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		if (write(fd, s, len) != len) {
			close(fd);
			return -1;
		}
		close(fd);
		c = fork();
		if (c < 0)
			return -1;
		if (c == 0) {
			if (getpid() != want)
				_exit(3);
			execl(exe, "mp_lineage", "call", tag, (char *)NULL);
			_exit(127);
		}
		if (waitpid(c, &st, 0) != c)
			return -1;
		if (c == want)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? c : -1;
	}
	return -1;
}

/*
 * A pid reused while the records of its first owner still wait in the ring
 * (the reader stopped): each call is named after the process that made it,
 * not the one that holds the pid when the record is read (by then neither
 * exists). Live and in replay.
 */
static void test_pid_reuse(void **state)
{
	char live[256], cap[256], helper[PATH_MAX], copy[PATH_MAX + 32];
	json_t *first, *second;
	struct proc p;
	pid_t a, b;
	int st;

	(void)state;
	if (access("/proc/sys/kernel/ns_last_pid", W_OK))
		skip(); /* no CONFIG_CHECKPOINT_RESTORE: no way to pick a pid */
	assert_non_null(realpath(lineage_bin, helper));
	snprintf(copy, sizeof(copy), "%s/mp_lineage", tmpdir);
	copy_exe(helper, copy);
	snprintf(live, sizeof(live), "%s/reuse.json", tmpdir);
	snprintf(cap, sizeof(cap), "%s/reuse.mpcap", tmpdir);
	char *argv[] = {
	    (char *)mptrace_bin, "-f",	   "json",	 "-o", live, "--capture", cap, "--event",
	    "migrate_pages",	 "--comm", "mp_lineage", NULL};
	start_tracing(&p, argv);
	assert_int_equal(kill(p.pid, SIGSTOP), 0);
	a = fork();
	if (a == 0) {
		execl(helper, "mp_lineage", "call", "first", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(a, &st, 0), a);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	b = fork_with_pid(a, copy, "reused");
	assert_int_equal(kill(p.pid, SIGCONT), 0);
	if (b != a)
		fail_msg("pid %d was not given out again", a);
	kill(p.pid, SIGINT);
	assert_int_equal(proc_wait(&p, 10000), 0);
	if (!strstr(p.err, "mptrace: 2 events, 0 dropped"))
		fail_msg("not 2 events: %s", p.err);

	first = line_of(live, "mp_lineage", "call", "first");
	second = line_of(live, "mp_lineage", "call", "reused");
	assert_int_equal(jint_of(first, "hostProcessId"), a);
	assert_int_equal(jint_of(second, "hostProcessId"), a);
	assert_true(jint_of(second, "processStartTime") > jint_of(first, "processStartTime"));
	assert_string_equal(exe_of(first), helper);
	assert_string_equal(exe_of(second), copy);
	assert_int_equal(jint_of(ancestor(first, 0), "hostProcessId"), getpid());
	assert_int_equal(jint_of(ancestor(second, 0), "hostProcessId"), getpid());
	json_decref(first);
	json_decref(second);

	assert_replay_is_live(cap, live, false);
	/* the replayed lineage filter follows each process, not the pid */
	char *by_copy[] = {(char *)mptrace_bin, "replay", "-f", "json", "--exe", copy, cap, NULL};
	assert_int_equal(run(by_copy, 0, &p), 0);
	assert_int_equal(count_lines(p.out), 1);
	if (!strstr(p.out, "\"reused\""))
		fail_msg("--exe %s in replay: %s", copy, p.out);
}

int main(int argc, char **argv)
{
	int rc;

	if (argc != 8) {
		fprintf(stderr,
			"usage: %s MPTRACE SCHEMA SCHEMA_CHECKER PYTHON OCSF_DESC OCSF_CHECKER "
			"MP_LINEAGE\n",
			argv[0]);
		return 1;
	}
	lineage_bin = argv[7];
	ocsf_desc = argv[5];
	ocsf_check = argv[6];
	mptrace_bin = argv[1];
	schema = argv[2];
	schema_check = argv[3];
	python = argv[4];
	rc = tu_require_bpf("test_e2e");
	if (rc)
		return rc;
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_live),
	    cmocka_unit_test(test_table_max_events),
	    cmocka_unit_test(test_duration_and_sigterm),
	    cmocka_unit_test(test_filter_flags),
	    cmocka_unit_test(test_capture_round_trip),
	    cmocka_unit_test(test_capture_killed),
	    cmocka_unit_test(test_capture_follow),
	    cmocka_unit_test(test_capture_bad_files),
	    cmocka_unit_test(test_detections),
	    cmocka_unit_test(test_lineage),
	    cmocka_unit_test(test_exe_and_descendant_filters),
	    cmocka_unit_test(test_pid_reuse),
	    cmocka_unit_test(test_lineage_hostile),
	    cmocka_unit_test(test_exe_identity),
	    cmocka_unit_test(test_vanishing_cgroups),
	    cmocka_unit_test(test_ocsf_live),
	    cmocka_unit_test(test_stats_and_drops),
	    cmocka_unit_test(test_fair_share_flood),
	    cmocka_unit_test(test_refused_by_seccomp),
	    cmocka_unit_test(test_own_pid_namespace),
	    cmocka_unit_test(test_service_manager),
	    cmocka_unit_test(test_log_rotation_and_hup),
	    cmocka_unit_test(test_disk_full),
	    cmocka_unit_test(test_detection_flood),
	    cmocka_unit_test(test_several_outputs),
	    cmocka_unit_test(test_bad_command_lines),
	    cmocka_unit_test(test_unwritable_output),
	    cmocka_unit_test(test_without_privileges),
	    cmocka_unit_test(test_probe_and_forced_modes),
	};
	rc = cmocka_run_group_tests_name("e2e", tests, NULL, NULL);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
