// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The lineage table alone, fed by hand-made process records: fork, exec,
 * exit; a reused pid; ancestors kept while a descendant lives and freed
 * after; the cap on the chain; /proc for what ran before; and a capture's
 * process records round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sys/stat.h>

#include "capture/capture.h"
#include "context/container.h"
#include "context/lineage.h"

/* A process record: @kind for (@tgid, @start) whose parent is (@ptgid, @pstart). */
static void feed(struct mpt_lineage *l, uint8_t kind, uint32_t tgid, uint64_t start, uint32_t ptgid,
		 uint64_t pstart, const char *comm, const char *exe, const char *argv,
		 size_t argv_len)
{
	struct {
		struct mpt_proc_event p;
		unsigned char data[MPT_PROC_PATH_MAX + MPT_PROC_ARGV_MAX];
	} r;

	memset(&r, 0, sizeof(r));
	r.p.type = MPT_REC_PROCESS;
	r.p.version = MPT_EVENT_VERSION;
	r.p.kind = kind;
	r.p.tgid = tgid;
	r.p.start_ns = start;
	r.p.ptgid = ptgid;
	r.p.pstart_ns = pstart;
	r.p.ns_tgid = tgid;
	r.p.pid_ns = 4026531836u;
	memcpy(r.p.comm, comm, strnlen(comm, sizeof(r.p.comm)));
	if (exe) {
		r.p.path_len = strlen(exe);
		memcpy(r.data, exe, r.p.path_len);
		r.p.argv_len = argv_len;
		memcpy(r.data + r.p.path_len, argv, argv_len);
	}
	r.p.size = sizeof(r.p) + r.p.path_len + r.p.argv_len;
	mpt_lineage_feed(l, &r.p);
}

static void test_fork_exec_exit(void **state)
{
	struct mpt_lineage *l = mpt_lineage_new();
	struct mpt_lineage_view v;

	(void)state;
	feed(l, MPT_PROC_EXEC, 100, 1000, 1, 10, "bash", "/usr/bin/bash", "bash\0-l", 8);
	feed(l, MPT_PROC_FORK, 200, 2000, 100, 1000, "bash", NULL, NULL, 0);
	/* the child has its parent's image until it execs */
	mpt_lineage_of(l, 200, 2000, &v);
	assert_non_null(v.self);
	assert_string_equal(v.self->exe, "/usr/bin/bash");
	assert_int_equal(v.self->argv_len, 8);
	assert_int_equal(v.n_anc, 1);
	assert_int_equal(v.anc[0]->tgid, 100);
	feed(l, MPT_PROC_EXEC, 200, 2000, 100, 1000, "numactl", "/usr/bin/numactl",
	     "numactl\0-m\0001", 13);
	mpt_lineage_of(l, 200, 2000, &v);
	assert_string_equal(v.self->exe, "/usr/bin/numactl");
	assert_string_equal(v.self->comm, "numactl");
	assert_memory_equal(v.self->argv, "numactl\0-m\0001", 13);
	/* the parent exits first: kept, it is the child's ancestor */
	feed(l, MPT_PROC_EXIT, 100, 1000, 1, 10, "bash", NULL, NULL, 0);
	assert_int_equal(mpt_lineage_size(l), 2);
	mpt_lineage_of(l, 200, 2000, &v);
	assert_int_equal(v.n_anc, 1);
	assert_string_equal(v.anc[0]->exe, "/usr/bin/bash");
	/* the child exits: both go */
	feed(l, MPT_PROC_EXIT, 200, 2000, 100, 1000, "numactl", NULL, NULL, 0);
	assert_int_equal(mpt_lineage_size(l), 0);
	mpt_lineage_free(l);
}

static void test_pid_reuse(void **state)
{
	struct mpt_lineage *l = mpt_lineage_new();
	struct mpt_lineage_view v;

	(void)state;
	feed(l, MPT_PROC_EXEC, 300, 1000, 1, 10, "old", "/bin/old", "old", 4);
	feed(l, MPT_PROC_FORK, 301, 1100, 300, 1000, "old", NULL, NULL, 0);
	feed(l, MPT_PROC_EXIT, 300, 1000, 1, 10, "old", NULL, NULL, 0);
	/* pid 300 again, a new process: its own entry; the old one stays for 301 */
	feed(l, MPT_PROC_EXEC, 300, 5000, 1, 10, "new", "/bin/new", "new", 4);
	mpt_lineage_of(l, 300, 5000, &v);
	assert_string_equal(v.self->exe, "/bin/new");
	mpt_lineage_of(l, 301, 1100, &v);
	assert_string_equal(v.anc[0]->exe, "/bin/old");
	assert_int_equal(v.anc[0]->start_ns, 1000);
	/* an event naming a start time nobody had is not guessed at */
	mpt_lineage_of(l, 300, 4000, &v);
	assert_null(v.self);
	mpt_lineage_free(l);
}

static void test_chain_cap(void **state)
{
	struct mpt_lineage *l = mpt_lineage_new();
	struct mpt_lineage_view v;

	(void)state;
	feed(l, MPT_PROC_EXEC, 1, 1, 0, 0, "init", "/sbin/init", "init", 5);
	for (uint32_t i = 2; i < 40; i++)
		feed(l, MPT_PROC_FORK, i, i, i - 1, i - 1, "sh", NULL, NULL, 0);
	mpt_lineage_of(l, 39, 39, &v);
	assert_int_equal(v.n_anc, MPT_ANCESTORS_MAX);
	assert_true(v.anc_truncated);
	assert_int_equal(v.anc[0]->tgid, 38);
	assert_int_equal(v.anc[MPT_ANCESTORS_MAX]->tgid, 38 - MPT_ANCESTORS_MAX);
	/* the chain ends at pid 1 */
	mpt_lineage_of(l, 5, 5, &v);
	assert_int_equal(v.n_anc, 4);
	assert_false(v.anc_truncated);
	assert_int_equal(v.anc[3]->tgid, 1);
	mpt_lineage_free(l);
}

/* Bounded: past the cap the oldest go, exited ones first; what is new is always there. */
static void test_table_bounded(void **state)
{
	struct mpt_lineage *l = mpt_lineage_new();

	(void)state;
	feed(l, MPT_PROC_EXEC, 1, 1, 0, 0, "init", "/sbin/init", "init", 5);
	for (uint32_t i = 2; i < MPT_LINEAGE_MAX + 100; i++)
		feed(l, MPT_PROC_FORK, i, i, 1, 1, "w", NULL, NULL, 0);
	assert_true(mpt_lineage_size(l) <= MPT_LINEAGE_MAX);
	assert_non_null(mpt_lineage_find(l, MPT_LINEAGE_MAX + 98, MPT_LINEAGE_MAX + 98));
	/* init is named by every child, so the leaves went first: it stays */
	assert_non_null(mpt_lineage_find(l, 1, 1));
	/* the namespace index lost the evicted ones too (and kept working as more came) */
	for (uint32_t i = MPT_LINEAGE_MAX + 100; i < MPT_LINEAGE_MAX + 300; i++)
		feed(l, MPT_PROC_FORK, i, i, 1, 1, "w", NULL, NULL, 0);
	for (uint32_t i = 2; i < MPT_LINEAGE_MAX + 300; i++) {
		const struct mpt_proc_info *p = mpt_lineage_find_ns(l, 4026531836u, i, 0);

		assert_ptr_equal(p, mpt_lineage_find(l, i, i));
	}
	/* a capture's records never exit: the oldest of all go */
	mpt_lineage_free(l);
	l = mpt_lineage_new();
	for (uint32_t i = 1; i < MPT_LINEAGE_MAX + 100; i++) {
		struct mpt_proc_info info = {.tgid = i, .start_ns = i, .comm = "w", .exe = "/w"};

		mpt_lineage_add(l, &info);
	}
	assert_true(mpt_lineage_size(l) <= MPT_LINEAGE_MAX);
	assert_null(mpt_lineage_find(l, 1, 1));
	assert_non_null(mpt_lineage_find(l, MPT_LINEAGE_MAX + 99, MPT_LINEAGE_MAX + 99));
	mpt_lineage_free(l);
}

static void test_proc_scan(void **state)
{
	struct mpt_lineage *l = mpt_lineage_new();
	const struct mpt_proc_info *me;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct mpt_lineage_view v;

	(void)state;
	assert_true(n > 0);
	exe[n] = '\0';
	mpt_lineage_scan_proc(l);
	/* found by tgid alone: /proc's start time is in clock ticks */
	me = mpt_lineage_find(l, getpid(), 0);
	assert_non_null(me);
	assert_string_equal(me->exe, exe);
	assert_string_equal(me->comm, "test_lineage");
	assert_true(me->flags & MPT_PROC_START_APPROX);
	assert_int_equal(me->ptgid, getppid());
	/* an event's exact start falls in the same tick */
	mpt_lineage_of(l, getpid(), me->start_ns + 1234, &v);
	assert_ptr_equal(v.self, me);
	assert_true(v.n_anc >= 1);
	assert_int_equal(v.anc[0]->tgid, getppid());
	assert_int_equal(v.anc[v.n_anc - 1]->tgid, 1);
	/* what names it as a target: its namespace, own pid, uid, cgroup */
	{
		struct stat st;

		assert_int_equal(stat("/proc/self/ns/pid", &st), 0);
		assert_int_equal(me->pid_ns, st.st_ino);
		assert_int_equal(me->uid, getuid());
		assert_true(me->ns_tgid > 0);
		assert_ptr_equal(mpt_lineage_find_ns(l, st.st_ino, me->ns_tgid, 0), me);
		if (mpt_cgroup2_root())
			assert_true(me->cgroup_id != 0);
	}
	mpt_lineage_free(l);
}

/* A call's pid argument, as its caller's namespace means it. */
static void test_find_in_namespace(void **state)
{
	struct mpt_lineage *l = mpt_lineage_new();
	struct {
		struct mpt_proc_event p;
	} r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.p.type = MPT_REC_PROCESS;
	r.p.version = MPT_EVENT_VERSION;
	r.p.size = sizeof(r.p);
	/* host pid 700 is pid 5 of namespace 4026532001; host pid 5 is another */
	for (int i = 0; i < 2; i++) {
		r.p.kind = MPT_PROC_EXEC;
		r.p.tgid = i ? 700 : 5;
		r.p.start_ns = 1000 + i;
		r.p.ns_tgid = 5;
		r.p.pid_ns = i ? 4026532001u : 4026531836u;
		r.p.uid = 1000 + i;
		mpt_lineage_feed(l, &r.p);
	}
	assert_int_equal(mpt_lineage_find_ns(l, 4026532001u, 5, 4026531836u)->tgid, 700);
	assert_int_equal(mpt_lineage_find_ns(l, 4026531836u, 5, 4026531836u)->tgid, 5);
	assert_int_equal(mpt_lineage_find_ns(l, 4026532001u, 5, 4026531836u)->uid, 1001);
	/* a pid of a namespace nobody is in, or none at all, is not guessed at */
	assert_null(mpt_lineage_find_ns(l, 4026532002u, 5, 4026531836u));
	assert_null(mpt_lineage_find_ns(l, 4026532001u, 6, 4026531836u));
	/* gone: an exit before the call would have been read before it */
	r.p.kind = MPT_PROC_EXIT;
	r.p.tgid = 700;
	r.p.start_ns = 1001;
	mpt_lineage_feed(l, &r.p);
	assert_null(mpt_lineage_find_ns(l, 4026532001u, 5, 4026531836u));
	mpt_lineage_free(l);
}

static void test_capture_record(void **state)
{
	struct mpt_proc_info in = {.tgid = 7,
				   .ptgid = 1,
				   .ns_tgid = 3,
				   .start_ns = 99,
				   .pstart_ns = 9,
				   .exe_ino = 1234,
				   .exe_dev = 8 << 20 | 1,
				   .flags = MPT_PROC_ARGV_TRUNCATED,
				   .comm = "numad",
				   .exe = "/usr/sbin/numad",
				   .argv = (const unsigned char *)"numad\0-i",
				   .argv_len = 8};
	unsigned char buf[MPT_CAP_PROC_MAX];
	struct mpt_cap_proc out;
	size_t n = mpt_cap_proc_encode(&in, buf);

	(void)state;
	assert_int_equal(mpt_cap_proc_decode(buf, n, &out), 0);
	assert_int_equal(out.info.tgid, 7);
	assert_int_equal(out.info.ptgid, 1);
	assert_int_equal(out.info.ns_tgid, 3);
	assert_int_equal(out.info.start_ns, 99);
	assert_int_equal(out.info.pstart_ns, 9);
	assert_int_equal(out.info.exe_ino, 1234);
	assert_int_equal(out.info.exe_dev, 8 << 20 | 1);
	assert_int_equal(out.info.flags, MPT_PROC_ARGV_TRUNCATED);
	assert_string_equal(out.info.comm, "numad");
	assert_string_equal(out.info.exe, "/usr/sbin/numad");
	assert_int_equal(out.info.argv_len, 8);
	assert_memory_equal(out.info.argv, "numad\0-i", 8);
	/* a length that does not add up, or a NUL inside the path */
	assert_int_equal(mpt_cap_proc_decode(buf, n - 1, &out), -1);
	buf[64] = '\0';
	assert_int_equal(mpt_cap_proc_decode(buf, n, &out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fork_exec_exit),    cmocka_unit_test(test_pid_reuse),
	    cmocka_unit_test(test_chain_cap),	      cmocka_unit_test(test_proc_scan),
	    cmocka_unit_test(test_capture_record),    cmocka_unit_test(test_table_bounded),
	    cmocka_unit_test(test_find_in_namespace),
	};
	return cmocka_run_group_tests_name("lineage", tests, NULL, NULL);
}
