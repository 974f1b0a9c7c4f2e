// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Who made the call, and the in-kernel filters, with real kernel objects:
 * real cgroups (some named like container scopes), a real pid and mount
 * namespace, a caller under another uid, and a caller that reaches into
 * another process. Each caller is a child process set up before the tracer
 * starts and released to make exactly one move_pages call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "context/container.h"
#include "testutil.h"

#define DEEP18 "/n1/n2/n3/n4/n5/n6/n7/n8/n9/n10/n11/n12/n13/n14/n15/n16/n17/n18"
#define ID1 "d0cce41d0cce41d0cce41d0cce41d0cce41d0cce41d0cce41d0cce41d0cce41a"
#define ID2 "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
#define ID3 "1a7e1a7e1a7e1a7e1a7e1a7e1a7e1a7e1a7e1a7e1a7e1a7e1a7e1a7e1a7e1a7e"
#define POD "5eed5eed-0000-4000-8000-00000000beef"
#define POD_ "5eed5eed_0000_4000_8000_00000000beef"
#define NOBODY 65534

static enum mpt_attach_mode attach_mode = MPT_ATTACH_AUTO;
static char base[512];	/* our cgroup subtree, absolute */
static size_t root_len; /* length of the cgroup v2 root in base */
static char *parent_page;

enum who { A, B, C, D, E, NCHILD };

struct spec {
	const char *comm;
	const char *cgroup; /* below base; NULL: stay in ours */
	uid_t uid;
	bool newns;	   /* call from pid 1 of a new pid and mount namespace */
	bool target_other; /* query the test process's pages */
	bool move_late;	   /* join the cgroup only when released */
};

static const struct spec specs[NCHILD] = {
    [A] = {"mpt_a", "plain", 0, false, false, false},
    /*
     * in a container, 20 levels below its scope (the filters look from the top), under a
     * cgroup named like C's container (which claims nothing: the outermost is B's)
     */
    [B] = {"mpt_b", "docker-" ID1 ".scope/docker-" ID2 ".scope" DEEP18, 0, false, false, false},
    [C] = {"mpt_c",
	   "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_
	   ".slice/cri-containerd-" ID2 ".scope",
	   NOBODY, false, false, false},
    [D] = {"mpt_d", "plain", 0, false, true, false},
    [E] = {"mpt_e", NULL, 0, true, false, false},
};

/* What a caller says about itself (before the call) and what its call returned. */
struct ident {
	pid_t host_pid;
	pid_t ns_pid;
	uint64_t mnt_ns, pid_ns;
	long ret;
	int status;
};

struct child {
	const struct spec *spec;
	pid_t pid; /* what we wait for (for E, the process that made the namespaces) */
	struct ident id;
	int go, done, report;
};

static uint64_t ns_ino(const char *which)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", which);
	return stat(path, &st) ? 0 : st.st_ino;
}

static void cgroup_dir(const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", base, rel);
}

static void join_cgroup(const char *rel)
{
	char path[1024];
	int fd;

	cgroup_dir(rel, path, sizeof(path));
	strcat(path, "/cgroup.procs");
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "0", 1) != 1)
		_exit(90);
	close(fd);
}

/* The caller itself: report, wait for go, call, report, wait to be let go. */
static void caller(const struct spec *s, int go, int done, int report)
{
	struct ident id = {0};
	char *mem = tu_touched_pages(1);
	void *pages[1];
	char b;

	id.host_pid = syscall(SYS_getpid);
	id.ns_pid = getpid();
	id.mnt_ns = ns_ino("mnt");
	id.pid_ns = ns_ino("pid");
	/* /proc/self follows the proc mount's namespace: the host pid there */
	{
		char link[64];
		ssize_t n = readlink("/proc/self", link, sizeof(link) - 1);

		if (n > 0) {
			link[n] = '\0';
			id.host_pid = atoi(link);
		}
	}
	if (write(report, &id, sizeof(id)) != sizeof(id))
		_exit(91);
	if (read(go, &b, 1) != 1)
		_exit(92);
	if (s->move_late)
		join_cgroup(s->cgroup);
	if (s->target_other) {
		pages[0] = parent_page;
		id.ret = syscall(SYS_move_pages, getppid(), 1, pages, NULL, &id.status, 0);
	} else {
		pages[0] = mem;
		/* pid 1 in a new namespace is the caller itself, not another process */
		id.ret = syscall(SYS_move_pages, s->newns ? 1 : 0, 1, pages, NULL, &id.status, 0);
	}
	if (id.ret < 0)
		id.ret = -errno;
	if (write(report, &id, sizeof(id)) != sizeof(id))
		_exit(93);
	(void)!read(done, &b, 1);
	_exit(0);
}

static void spawn(struct child *c, const struct spec *s)
{
	int go[2], done[2], report[2];

	memset(c, 0, sizeof(*c));
	c->spec = s;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	assert_int_equal(pipe(report), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		alarm(60);
		close(go[1]), close(done[1]), close(report[0]);
		prctl(PR_SET_NAME, s->comm);
		if (s->cgroup && !s->move_late)
			join_cgroup(s->cgroup);
		if (s->uid && (setgid(s->uid) || setuid(s->uid)))
			_exit(94);
		if (s->newns) {
			pid_t gc;
			int st;

			if (unshare(CLONE_NEWPID | CLONE_NEWNS))
				_exit(95);
			gc = fork();
			if (gc == 0)
				caller(s, go[0], done[0], report[1]);
			if (gc < 0 || waitpid(gc, &st, 0) != gc)
				_exit(96);
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 97);
		}
		caller(s, go[0], done[0], report[1]);
	}
	close(go[0]), close(done[0]), close(report[1]);
	c->go = go[1];
	c->done = done[1];
	c->report = report[0];
	assert_int_equal(read(c->report, &c->id, sizeof(c->id)), sizeof(c->id));
}

static void release(struct child *c)
{
	assert_int_equal(write(c->go, "g", 1), 1);
	assert_int_equal(read(c->report, &c->id, sizeof(c->id)), sizeof(c->id));
}

static void finish(struct child *c)
{
	int st;

	/* a byte, not EOF: callers spawned later hold copies of this pipe */
	assert_int_equal(write(c->done, "d", 1), 1);
	close(c->go), close(c->done), close(c->report);
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("%s: exit status %d, signal %d", c->spec->comm,
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static struct mpt_tracer *start(const struct mpt_filter *f, struct tu_events *sink)
{
	struct mpt_attach_report rep;
	struct mpt_tracer_opts o;
	struct mpt_tracer *t = NULL;
	char err[256];

	mpt_tracer_opts_default(&o);
	o.attach = attach_mode;
	if (f)
		o.filter = *f;
	/* the children call move_pages alone: the other events' hooks would only slow each start */
	if (!o.filter.events && mpt_filter_add_events(&o.filter, "move_pages", err, sizeof(err)))
		fail_msg("%s", err);
	if (mpt_filter_resolve(&o.filter, err, sizeof(err), NULL))
		fail_msg("resolving the filter: %s", err);
	o.on_event = tu_collect;
	o.ctx = sink;
	if (mpt_tracer_start(&o, &t, &rep))
		fail_msg("starting the tracer: %s", rep.error[0] ? rep.error : "no attach mode");
	return t;
}

static const struct mpt_call_event *record_of(const struct tu_events *ev, const struct child *c)
{
	const struct mpt_call_event *found = NULL;

	for (size_t i = 0; i < ev->n; i++) {
		if (ev->ev[i]->task.host_tgid != (uint32_t)c->id.host_pid)
			continue;
		if (found)
			fail_msg("%s: more than one record", c->spec->comm);
		found = ev->ev[i];
	}
	return found;
}

/*
 * Run every caller under filter @f (NULL: none) and check that exactly the
 * callers in @want (a bit per enum who) were reported. Returns the records.
 */
static void run(struct mpt_filter *f,
		void (*name_them)(struct mpt_filter *f, const struct child *kids),
		unsigned int want, struct child *kids, struct tu_events *ev)
{
	struct mpt_tracer *t;
	size_t n = 0;

	for (int i = 0; i < NCHILD; i++)
		spawn(&kids[i], &specs[i]);
	/* filters that name a caller's pid or namespaces: known only now */
	if (name_them)
		name_them(f, kids);
	t = start(f, ev);
	for (int i = 0; i < NCHILD; i++) {
		release(&kids[i]);
		assert_true(kids[i].id.ret >= 0);
		n += (want >> i) & 1;
	}
	tu_wait_events(t, ev, n, 2000);
	/* and a little longer: a call that should have been filtered out may still come */
	tu_wait_events(t, ev, ev->n + 1, 200);
	mpt_tracer_free(t);
	for (int i = 0; i < NCHILD; i++) {
		bool got = record_of(ev, &kids[i]) != NULL;

		if (got != (bool)((want >> i) & 1))
			fail_msg("%s: %s", kids[i].spec->comm,
				 got ? "reported, but the filter excludes it"
				     : "not reported, but the filter lets it through");
	}
}

static void done_with(struct child *kids, struct tu_events *ev)
{
	for (int i = 0; i < NCHILD; i++)
		finish(&kids[i]);
	tu_events_clear(ev);
	free(ev->ev);
	ev->ev = NULL;
}

#define BIT(w) (1u << (w))
#define ALL (BIT(A) | BIT(B) | BIT(C) | BIT(D) | BIT(E))

static uint64_t cgroup_id(const char *rel)
{
	char path[1024];

	if (!rel)
		return tu_self_cgroup_id();
	cgroup_dir(rel, path, sizeof(path));
	return mpt_cgroup_id_of(path);
}

/* Every context field of every caller, with no filter. */
static void test_context_fields(void **state)
{
	struct tu_events ev = {0};
	struct child kids[NCHILD];
	char want_path[1024];

	(void)state;
	run(NULL, NULL, ALL, kids, &ev);
	for (int i = 0; i < NCHILD; i++) {
		const struct mpt_call_event *r = record_of(&ev, &kids[i]);
		const struct spec *s = kids[i].spec;
		struct mpt_container ctr;
		struct mpt_enrich en = {0};

		assert_non_null(r);
		assert_int_equal(r->task.host_tgid, kids[i].id.host_pid);
		assert_int_equal(r->task.host_tid, kids[i].id.host_pid);
		assert_int_equal(r->task.ns_tgid, kids[i].id.ns_pid);
		assert_int_equal(r->task.ns_tid, kids[i].id.ns_pid);
		if (s->newns) {
			/* pid 1 of its namespace; its parent is outside it */
			assert_int_equal(r->task.ns_tgid, 1);
			assert_int_not_equal(r->task.host_tgid, 1);
			assert_int_equal(r->task.ns_ptgid, 0);
			assert_int_equal(r->task.host_ptgid, kids[i].pid);
			assert_int_not_equal(r->task.pid_ns, ns_ino("pid"));
			assert_int_not_equal(r->task.mnt_ns, ns_ino("mnt"));
		} else {
			assert_int_equal(r->task.ns_ptgid, getpid());
			assert_int_equal(r->task.host_ptgid, getpid());
		}
		assert_int_equal(r->task.mnt_ns, kids[i].id.mnt_ns);
		assert_int_equal(r->task.pid_ns, kids[i].id.pid_ns);
		assert_int_equal(r->task.uid, s->uid);
		assert_int_equal(r->task.gid, s->uid);
		assert_string_equal(r->task.comm, s->comm);
		assert_int_equal(r->task.cgroup_id, cgroup_id(s->cgroup));
		assert_true(r->task.start_ns > 0 && r->task.start_ns <= r->ts_boot_ns);
		assert_int_equal((int32_t)r->arg[0], s->target_other ? getpid() : s->newns ? 1 : 0);
		assert_int_equal(r->ret, kids[i].id.ret);

		/* what the user side adds, while the caller still lives */
		mpt_enrich_live(&r->task, &ctr, &en);
		if (s->cgroup) {
			snprintf(want_path, sizeof(want_path), "%s/%s", base + root_len, s->cgroup);
			assert_string_equal(en.cgroup_path, want_path);
		}
		{
			char self_exe[1024];
			ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);

			assert_true(n > 0);
			self_exe[n] = '\0';
			assert_string_equal(en.exe_path, self_exe);
		}
		if (i == B) {
			assert_string_equal(en.container_id, ID1);
			assert_string_equal(en.container_runtime, "docker");
			assert_string_equal(en.pod_uid, "");
		} else if (i == C) {
			assert_string_equal(en.container_id, ID2);
			assert_string_equal(en.container_runtime, "containerd");
			assert_string_equal(en.pod_uid, POD);
		} else {
			assert_string_equal(en.container_id, "");
			assert_string_equal(en.container_runtime, "");
		}
	}
	done_with(kids, &ev);
}

static void filter_add(struct mpt_filter *f, enum mpt_filter_kind k, const char *v)
{
	char err[256];

	if (mpt_filter_add(f, k, v, err, sizeof(err)))
		fail_msg("%s", err);
}

/* Runs the callers once to learn pids and namespaces, for filters that name them. */
static void expect_filter(struct mpt_filter *f, unsigned int want)
{
	struct tu_events ev = {0};
	struct child kids[NCHILD];

	run(f, NULL, want, kids, &ev);
	done_with(kids, &ev);
}

static void add_number(struct mpt_filter *f, enum mpt_filter_kind k, unsigned long long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%llu", v);
	filter_add(f, k, s);
}

/* (pid A or E) and (tid C or A): only A */
static void pids_and_tids(struct mpt_filter *f, const struct child *kids)
{
	add_number(f, MPT_FILTER_PID, kids[A].id.host_pid);
	add_number(f, MPT_FILTER_PID, kids[E].id.host_pid);
	add_number(f, MPT_FILTER_TID, kids[C].id.host_pid);
	add_number(f, MPT_FILTER_TID, kids[A].id.host_pid);
}

static void test_filter_pid_tid(void **state)
{
	struct tu_events ev = {0};
	struct child kids[NCHILD];
	struct mpt_filter f = {0};

	(void)state;
	run(&f, pids_and_tids, BIT(A), kids, &ev);
	assert_int_equal(ev.n, 1);
	done_with(kids, &ev);
}

static void test_filter_uid_comm(void **state)
{
	struct mpt_filter f = {0};

	(void)state;
	filter_add(&f, MPT_FILTER_UID, "65534");
	expect_filter(&f, BIT(C));

	memset(&f, 0, sizeof(f));
	filter_add(&f, MPT_FILTER_COMM, "mpt_d");
	filter_add(&f, MPT_FILTER_COMM, "mpt_e");
	expect_filter(&f, BIT(D) | BIT(E));

	/* different filters AND: nobody is both */
	filter_add(&f, MPT_FILTER_UID, "65534");
	expect_filter(&f, 0);
}

static void test_filter_cgroup(void **state)
{
	struct mpt_filter f = {0};
	char path[1024], id[32];

	(void)state;
	/* a path covers the cgroups below it */
	cgroup_dir("kubepods.slice", path, sizeof(path));
	filter_add(&f, MPT_FILTER_CGROUP, path);
	expect_filter(&f, BIT(C));

	/* a path relative to the v2 root, as /proc/PID/cgroup shows it, and an id */
	memset(&f, 0, sizeof(f));
	snprintf(path, sizeof(path), "%s/plain", base + root_len);
	filter_add(&f, MPT_FILTER_CGROUP, path);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)cgroup_id(specs[B].cgroup));
	filter_add(&f, MPT_FILTER_CGROUP, id);
	expect_filter(&f, BIT(A) | BIT(B) | BIT(D));

	/* our whole subtree, and the caller in no cgroup of it is out */
	memset(&f, 0, sizeof(f));
	filter_add(&f, MPT_FILTER_CGROUP, base);
	expect_filter(&f, BIT(A) | BIT(B) | BIT(C) | BIT(D));
}

static void test_filter_containers(void **state)
{
	struct mpt_filter f = {0};
	char err[256];

	(void)state;
	assert_int_equal(mpt_filter_add_container(&f, "d0cce41d0cce", err, sizeof(err)), 0);
	expect_filter(&f, BIT(B));

	memset(&f, 0, sizeof(f));
	assert_int_equal(mpt_filter_add_container(&f, ID2, err, sizeof(err)), 0);
	assert_int_equal(mpt_filter_add_container(&f, "ffff", err, sizeof(err)), 0);
	expect_filter(&f, BIT(C));

	memset(&f, 0, sizeof(f));
	f.scope = MPT_SCOPE_CONTAINERS_ONLY;
	expect_filter(&f, BIT(B) | BIT(C));

	f.scope = MPT_SCOPE_HOST_ONLY;
	expect_filter(&f, BIT(A) | BIT(D) | BIT(E));

	memset(&f, 0, sizeof(f));
	f.scope = MPT_SCOPE_CONTAINERS_ONLY;
	filter_add(&f, MPT_FILTER_UID, "65534");
	expect_filter(&f, BIT(C));
}

static void test_filter_target_other(void **state)
{
	struct mpt_filter f = {0};

	(void)state;
	/* E passes pid 1, its own pid in its namespace: not another process */
	f.target_other = true;
	expect_filter(&f, BIT(D));
}

static void namespaces_of_e(struct mpt_filter *f, const struct child *kids)
{
	add_number(f, MPT_FILTER_MNTNS, kids[E].id.mnt_ns);
	add_number(f, MPT_FILTER_PIDNS, kids[E].id.pid_ns);
}

static void test_filter_namespaces(void **state)
{
	struct tu_events ev = {0};
	struct child kids[NCHILD];
	struct mpt_filter f = {0};

	(void)state;
	run(&f, namespaces_of_e, BIT(E), kids, &ev);
	assert_int_equal(ev.n, 1);
	done_with(kids, &ev);
}

/* A container whose cgroup appears only after the tracer started is matched too. */
static void test_container_started_later(void **state)
{
	const struct spec late = {"mpt_late", "libpod-" ID3 ".scope", 0, false, false, true};
	struct tu_events ev = {0};
	struct mpt_filter f = {0};
	struct mpt_tracer *t;
	struct child k;
	char path[1024], err[256];

	(void)state;
	cgroup_dir(late.cgroup, path, sizeof(path));
	rmdir(path);
	assert_false(mpt_container_running("1a7e1a7e"));
	assert_int_equal(mpt_filter_add_container(&f, "1a7e1a7e", err, sizeof(err)), 0);
	spawn(&k, &late);
	t = start(&f, &ev);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_true(mpt_container_running("1a7e1a7e"));
	release(&k);
	assert_int_equal(tu_wait_events(t, &ev, 1, 2000), 1);
	assert_int_equal(ev.ev[0]->task.host_tgid, k.id.host_pid);
	assert_int_equal(ev.ev[0]->task.cgroup_id, mpt_cgroup_id_of(path));
	mpt_tracer_free(t);
	finish(&k);
	tu_events_clear(&ev);
	free(ev.ev);
}

/* Names that do not exist are errors; a container not started yet only a warning. */
static int warnings;
static void count_warning(const char *msg)
{
	(void)msg;
	warnings++;
}

static void test_resolve_errors(void **state)
{
	struct mpt_filter f = {0};
	char err[256], path[1024];

	(void)state;
	filter_add(&f, MPT_FILTER_CGROUP, "/no/such/cgroup-mptrace");
	assert_int_not_equal(mpt_filter_resolve(&f, err, sizeof(err), NULL), 0);
	assert_non_null(strstr(err, "not a cgroup v2 directory"));

	memset(&f, 0, sizeof(f));
	filter_add(&f, MPT_FILTER_CGROUP, "/tmp");
	assert_int_not_equal(mpt_filter_resolve(&f, err, sizeof(err), NULL), 0);

	memset(&f, 0, sizeof(f));
	filter_add(&f, MPT_FILTER_CGROUP, "18446744073709551615");
	assert_int_not_equal(mpt_filter_resolve(&f, err, sizeof(err), NULL), 0);
	assert_non_null(strstr(err, "no cgroup with that id"));

	memset(&f, 0, sizeof(f));
	filter_add(&f, MPT_FILTER_PID, "4194304");
	assert_int_equal(mpt_filter_resolve(&f, err, sizeof(err), NULL), -ESRCH);
	assert_non_null(strstr(err, "no such process"));

	memset(&f, 0, sizeof(f));
	assert_int_equal(mpt_filter_add_container(&f, "abcdef0123", err, sizeof(err)), 0);
	warnings = 0;
	assert_int_equal(mpt_filter_resolve(&f, err, sizeof(err), count_warning), 0);
	assert_int_equal(warnings, 1);

	/* an existing cgroup, by path */
	memset(&f, 0, sizeof(f));
	cgroup_dir("plain", path, sizeof(path));
	filter_add(&f, MPT_FILTER_CGROUP, path);
	assert_int_equal(mpt_filter_resolve(&f, err, sizeof(err), NULL), 0);
	assert_int_equal(f.n[MPT_FILTER_CGROUP], 1);
	assert_int_equal(f.val[MPT_FILTER_CGROUP][0], cgroup_id("plain"));
}

static int mkdirs(const char *rel)
{
	char path[1024], *p;

	cgroup_dir(rel, path, sizeof(path));
	for (p = path + strlen(base) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

static void rmdirs(const char *dir)
{
	char cmd[1200];

	/* deepest first; cgroup directories go with rmdir only */
	snprintf(cmd, sizeof(cmd), "find '%s' -depth -type d -exec rmdir {} + 2>/dev/null", dir);
	(void)!system(cmd);
}

static int group_setup(void **state)
{
	const char *root = mpt_cgroup2_root();

	(void)state;
	if (!root) {
		fprintf(stderr, "no cgroup v2 hierarchy mounted\n");
		return -1;
	}
	root_len = strcmp(root, "/") ? strlen(root) : 0;
	snprintf(base, sizeof(base), "%s/mptrace-test-%d", root, getpid());
	if (mkdir(base, 0755)) {
		perror(base);
		return -1;
	}
	for (int i = 0; i < NCHILD; i++)
		if (specs[i].cgroup && mkdirs(specs[i].cgroup)) {
			perror(specs[i].cgroup);
			return -1;
		}
	parent_page = tu_touched_pages(1);
	printf("# cgroup v2 root %s\n", root);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	rmdirs(base);
	return 0;
}

int main(void)
{
	int rc = tu_require_bpf("test_context");

	if (rc)
		return rc;
	if (tu_attach_mode(&attach_mode))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_context_fields),
	    cmocka_unit_test(test_filter_pid_tid),
	    cmocka_unit_test(test_filter_uid_comm),
	    cmocka_unit_test(test_filter_cgroup),
	    cmocka_unit_test(test_filter_containers),
	    cmocka_unit_test(test_filter_target_other),
	    cmocka_unit_test(test_filter_namespaces),
	    cmocka_unit_test(test_container_started_later),
	    cmocka_unit_test(test_resolve_errors),
	};
	return cmocka_run_group_tests_name("context", tests, group_setup, group_teardown);
}
