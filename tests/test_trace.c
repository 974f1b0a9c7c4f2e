// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Integration: load the real BPF programs into the running kernel, make real
 * move_pages calls with known arguments, and check every field of the record
 * against what the caller passed and saw.
 *
 * MPTRACE_TEST_ATTACH=kprobe|fentry|tracepoint forces a mode (tests/vm runs
 * this binary once per mode); the default is the same auto plan as mptrace.
 *
 * One binary, so that one tracer serves every test of a mode; the tests are
 * in a file per feature (trace_calls.c, trace_races.c, trace_gates.c,
 * trace_policy.c), what they share here and in trace.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cmocka.h>

#include "kernel/attach.h"
#include "detect/detect.h"
#include "decode/format.h"
#include "util/strbuf.h"
#include "testutil.h"
#include "trace.h"

struct mpt_tracer *tracer;

struct tu_events events;

struct mpt_tracer *cap4_tracer;

struct tu_events cap4_events;

enum mpt_attach_mode attach_mode = MPT_ATTACH_AUTO;

long page_size;

uint8_t kview_checked;

uint8_t want_kview(const struct tu_call *c, const struct expect *x)
{
	if (!c->nodes)
		return MPT_KVIEW_QUERY;
	if (c->flags & MPOL_MF_MOVE_ALL)
		return MPT_KVIEW_MOVE_ALL;
	if (x->pages_state != MPT_ARRAY_OK)
		return MPT_KVIEW_NOT_READ;
	if (c->count > CAP)
		return MPT_KVIEW_NOT_WHOLE;
	return kview_checked;
}

bool has_data(uint8_t state)
{
	return state == MPT_ARRAY_OK || state == MPT_ARRAY_PARTIAL || state == MPT_ARRAY_AT_RETURN;
}

void default_expect(const struct tu_call *c, struct expect *x)
{
	bool part_way =
	    c->ret == -ENODEV || c->ret == -EACCES || c->ret == -EFAULT || c->ret == -ENOMEM;

	x->pages_state = c->pages ? MPT_ARRAY_OK : MPT_ARRAY_NULL;
	x->nodes_state = c->nodes ? MPT_ARRAY_OK : MPT_ARRAY_NULL;
	if (c->ret < 0 && !part_way)
		x->status_state = MPT_ARRAY_NOT_FILLED;
	else if (!c->status)
		x->status_state = MPT_ARRAY_NULL;
	else
		x->status_state = c->ret < 0 ? MPT_ARRAY_PARTIAL : MPT_ARRAY_OK;
}

bool every_event;
uint32_t ring_bytes;

struct mpt_tracer *start_tracer_cap(uint32_t targ_tgid, bool trace_self, uint32_t max_inflight,
				    uint32_t cap, struct tu_events *sink)
{
	struct mpt_tracer_opts o;
	struct mpt_attach_report rep;
	struct mpt_tracer *t = NULL;
	char err[256];

	mpt_tracer_opts_default(&o);
	if (!every_event &&
	    mpt_filter_add_events(&o.filter, "move_pages,migrate_pages", err, sizeof(err)))
		fail_msg("%s", err);
	o.attach = attach_mode;
	o.array_cap = cap;
	if (targ_tgid) {
		o.filter.val[MPT_FILTER_PID][0] = targ_tgid;
		o.filter.n[MPT_FILTER_PID] = 1;
	}
	tu_trace_self = trace_self;
	if (max_inflight)
		o.max_inflight = max_inflight;
	if (ring_bytes)
		o.ringbuf_bytes = ring_bytes;
	o.on_event = tu_collect;
	o.ctx = sink;
	if (mpt_tracer_start(&o, &t, &rep)) {
		for (int m = 0; m < MPT_ATTACH_NR; m++)
			if (rep.tried[m])
				fprintf(stderr, "attach %s: %s\n", mpt_attach_name(m), rep.why[m]);
		if (rep.error[0])
			fprintf(stderr, "tracer: %s\n", rep.error);
	}
	return t;
}

struct mpt_tracer *start_tracer(uint32_t targ_tgid, bool trace_self, uint32_t max_inflight,
				struct tu_events *sink)
{
	return start_tracer_cap(targ_tgid, trace_self, max_inflight, CAP, sink);
}

static int group_setup(void **state)
{
	(void)state;
	page_size = sysconf(_SC_PAGESIZE);
	every_event = true;
	tracer = start_tracer(getpid(), true, 0, &events);
	every_event = false;
	if (!tracer)
		return -1;
	printf("# attach mode: %s\n", mpt_attach_name(mpt_tracer_mode(tracer)));
	{
		char why[MPT_REASON_LEN];

		kview_checked = !mpt_kernel_view_available(why, sizeof(why)) ? MPT_KVIEW_OFF
				: mpt_kernel_view_pmd_available()	     ? MPT_KVIEW_CHECKED
									     : MPT_KVIEW_CHECKED_4K;
	}
	printf("# the kernel's own view: %s\n", mpt_kview_name(kview_checked));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	mpt_tracer_free(tracer);
	mpt_tracer_free(cap4_tracer);
	tu_events_clear(&events);
	free(events.ev);
	tu_events_clear(&cap4_events);
	free(cap4_events.ev);
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	tu_print_lap();
	tu_events_clear(&events);
	return 0;
}

void own_comm(char comm[16])
{
	memset(comm, 0, 16);
	prctl(PR_GET_NAME, comm);
}

bool in_init_pidns(void)
{
	struct stat self, init;

	return !stat("/proc/self/ns/pid", &self) && !stat("/proc/1/ns/pid", &init) &&
	       self.st_ino == init.st_ino;
}

void assert_caller(const struct mpt_rec_hdr *h, pid_t tid, uint64_t before, uint64_t after)
{
	const struct mpt_task *t = &h->task;
	uint64_t cgid = tu_self_cgroup_id();
	char comm[16];

	assert_int_equal(h->version, MPT_EVENT_VERSION);
	assert_int_equal(h->ret_state, MPT_RET_SEEN);
	assert_int_equal(t->ns_tgid, getpid());
	assert_int_equal(t->ns_tid, tid);
	assert_int_equal(t->ns_ptgid, getppid());
	if (in_init_pidns()) {
		assert_int_equal(t->host_tgid, getpid());
		assert_int_equal(t->host_tid, tid);
		assert_int_equal(t->host_ptgid, getppid());
	}
	assert_int_equal(t->uid, getuid());
	assert_int_equal(t->gid, getgid());
	own_comm(comm);
	assert_memory_equal(t->comm, comm, 16);
	if (cgid)
		assert_int_equal(t->cgroup_id, cgid);
	assert_true(t->cpu < (uint32_t)sysconf(_SC_NPROCESSORS_CONF));
	assert_in_range(h->ts_boot_ns, before, after);
	assert_true(h->duration_ns > 0);
	assert_true(h->duration_ns <= after - before);
}

void assert_record(const struct mpt_call_event *ev, const struct tu_call *c,
		   const struct expect *x_in)
{
	unsigned int n = c->count < CAP ? c->count : CAP;
	struct mpt_view v;
	struct expect x;
	const char *why;
	unsigned int i;

	if (x_in)
		x = *x_in;
	else
		default_expect(c, &x);
	assert_int_equal(mpt_event_parse(ev, ev->size, &v, &why), 0);
	/* a plain native call, returned, nothing rewritten under it */
	assert_int_equal(ev->type, MPT_REC_MOVE_PAGES);
	assert_int_equal(ev->abi, MPT_ABI_X86_64);
	assert_int_equal(mp_changed(ev), 0);
	assert_int_equal(mp_exit_state(ev, MP_PAGES), MPT_ARRAY_OK);
	assert_int_equal(mp_exit_state(ev, MP_NODES), MPT_ARRAY_OK);

	/* who and when */
	assert_caller(&ev->hdr, c->tid, c->boot_before, c->boot_after);

	/* the six arguments and the result */
	assert_int_equal((int32_t)ev->arg[0], c->pid);
	assert_int_equal(ev->arg[1], c->count);
	assert_int_equal(ev->arg[2], (uintptr_t)c->pages);
	assert_int_equal(ev->arg[3], (uintptr_t)c->nodes);
	assert_int_equal(ev->arg[4], (uintptr_t)c->status);
	assert_int_equal((int32_t)ev->arg[5], c->flags);
	assert_int_equal(ev->ret, c->ret);

	/* the arrays */
	assert_int_equal(ev->cap[MP_PAGES].state, x.pages_state);
	assert_int_equal(mp_n(ev, MP_PAGES), has_data(x.pages_state) ? n : 0);
	for (i = 0; i < mp_n(ev, MP_PAGES); i++)
		assert_int_equal(mpt_view_page(&v, i), (uintptr_t)c->pages[i]);
	assert_int_equal(ev->cap[MP_NODES].state, x.nodes_state);
	assert_int_equal(mp_n(ev, MP_NODES), has_data(x.nodes_state) ? n : 0);
	for (i = 0; i < mp_n(ev, MP_NODES); i++)
		assert_int_equal(mpt_view_node(&v, i), c->nodes[i]);
	assert_int_equal(ev->cap[MP_STATUS].state, x.status_state);
	assert_int_equal(mp_n(ev, MP_STATUS), has_data(x.status_state) ? n : 0);
	assert_int_equal(ev->kview, want_kview(c, &x));
	for (i = 0; i < mp_n(ev, MP_STATUS); i++)
		assert_int_equal(mpt_view_status(&v, i), c->status_seen[i]);
}

void own_pages_call(struct tu_call *c, size_t n, char **mem)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	*mem = tu_touched_pages(n);
	assert_non_null(*mem);
	c->count = n;
	c->pages = calloc(n, sizeof(void *));
	c->status = calloc(n, sizeof(int));
	assert_non_null(c->pages);
	assert_non_null(c->status);
	for (i = 0; i < n; i++) {
		c->pages[i] = *mem + i * page_size;
		c->status[i] = -12345;
	}
}

void free_call(struct tu_call *c, char *mem, size_t n)
{
	free(c->pages);
	free(c->nodes);
	free(c->status);
	if (mem)
		munmap(mem, n * page_size);
}

pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid; /* reaped: nothing has this pid until the counter wraps */
}

void *thread_call(void *arg)
{
	tu_move_pages(arg);
	return NULL;
}

void uffd_region(struct uffd_region *r, size_t pages, size_t missing_from)
{
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg = {0};

	r->pages = pages;
	r->uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	assert_true(r->uffd >= 0);
	assert_int_equal(ioctl(r->uffd, UFFDIO_API, &api), 0);
	r->base = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	assert_true(r->base != MAP_FAILED);
	memset(r->base, 0, missing_from * page_size);
	reg.range.start = (uintptr_t)r->base + missing_from * page_size;
	reg.range.len = (pages - missing_from) * page_size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	assert_int_equal(ioctl(r->uffd, UFFDIO_REGISTER, &reg), 0);
}

void uffd_supply(struct uffd_region *r, size_t idx, const void *src)
{
	struct uffdio_copy copy = {
	    .dst = (uintptr_t)r->base + idx * page_size, .src = (uintptr_t)src, .len = page_size};

	assert_int_equal(ioctl(r->uffd, UFFDIO_COPY, &copy), 0);
}

void uffd_wait_fault(struct uffd_region *r)
{
	struct pollfd p = {.fd = r->uffd, .events = POLLIN};
	struct uffd_msg msg;

	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(r->uffd, &msg, sizeof(msg)), sizeof(msg));
	assert_int_equal(msg.event, UFFD_EVENT_PAGEFAULT);
}

void uffd_region_free(struct uffd_region *r)
{
	close(r->uffd);
	munmap(r->base, r->pages * page_size);
}

long syscall6_raw(unsigned long rax, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4, r8 __asm__("r8") = a5, r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(rax), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "memory", "rcx", "r11");
	return ret;
}

void migrate(struct mg_call *c)
{
	c->before = tu_boot_ns();
	c->ret = syscall(SYS_migrate_pages, c->pid, c->maxnode, c->old_nodes, c->new_nodes);
	if (c->ret < 0)
		c->ret = -errno;
	c->after = tu_boot_ns();
}

/* --event: a tracer of one event sees none of the other's calls, and counts none lost. */
/*
 * A child whose own seccomp filter refuses move_pages (EPERM) and
 * migrate_pages (EACCES), as a container's default profile does: the calls
 * never reach the syscalls, only their return passes sys_exit. Each is
 * reported, in every mode, with its arguments and arrays, marked refused.
 */
static pid_t refused_child(int go, void **pages, int *nodes, unsigned long *mask)
{
	pid_t child = fork();
	int status[2];
	char b;

	if (child)
		return child;
	/* EACCES is also an error move_pages returns part way: the record must still say not filled
	 */
	if (read(go, &b, 1) != 1 || tu_seccomp_refuse(EACCES, EPERM))
		_exit(2);
	if (syscall(SYS_move_pages, 4242, 2, pages, nodes, status, MPOL_MF_MOVE) != -1 ||
	    errno != EACCES)
		_exit(3);
	if (syscall(SYS_migrate_pages, 0, 65, mask, mask) != -1 || errno != EPERM)
		_exit(4);
	/* junk in rax's upper half: the kernel (and seccomp) take the low 32 bits, so must we */
	if (syscall6_raw(0xdead000000000000ul | SYS_move_pages, 4242, 2, (long)pages, (long)nodes,
			 (long)status, MPOL_MF_MOVE) != -EACCES)
		_exit(5);
	_exit(0);
}

static void test_refused_by_seccomp(void **state)
{
	struct tu_events sink = {0};
	void *pages[2] = {(void *)0x10000, (void *)0x20000};
	int nodes[2] = {1, 0}, go[2], st;
	unsigned long mask = 1;
	const struct mpt_call_event *mp;
	const struct mpt_call_event *mg;
	struct mpt_tracer *t;
	struct mpt_stats s;
	pid_t child;

	(void)state;
	assert_int_equal(pipe(go), 0);
	child = refused_child(go[0], pages, nodes, &mask);
	assert_true(child > 0);
	t = start_tracer(child, false, 0, &sink);
	assert_non_null(t);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_int_equal(st, 0);
	assert_int_equal(tu_wait_events(t, &sink, 3, WAIT_MS), 3);

	mp = sink.ev[0];
	assert_int_equal(mp->type, MPT_REC_MOVE_PAGES);
	assert_int_equal(mp->origin, MPT_ORIGIN_REFUSED);
	assert_int_equal(mp->ret_state, MPT_RET_SEEN);
	assert_int_equal(mp->ret, -EACCES);
	assert_int_equal(mp->task.host_tgid, child);
	assert_int_equal((int32_t)mp->arg[0], 4242);
	assert_int_equal(mp->arg[1], 2);
	assert_int_equal((int32_t)mp->arg[5], MPOL_MF_MOVE);
	assert_int_equal(mp->cap[MP_PAGES].state, MPT_ARRAY_OK);
	assert_int_equal(mp_n(mp, MP_PAGES), 2);
	assert_memory_equal(mp->data, pages, sizeof(pages));
	assert_int_equal(mp->cap[MP_NODES].state, MPT_ARRAY_OK);
	assert_memory_equal(mp->data + sizeof(pages), nodes, sizeof(nodes));
	assert_int_equal(mp->cap[MP_STATUS].state, MPT_ARRAY_NOT_FILLED);
	assert_int_equal(mp_changed(mp), 0);

	mg = (const struct mpt_call_event *)sink.ev[1];
	assert_int_equal(mg->type, MPT_REC_MIGRATE_PAGES);
	assert_int_equal(mg->origin, MPT_ORIGIN_REFUSED);
	assert_int_equal(mg->ret, -EPERM);
	assert_int_equal(mg->arg[1], 65);
	assert_int_equal(mg->cap[0].state, MPT_ARRAY_OK);
	assert_int_equal(mg->arg[2], (uintptr_t)&mask);

	/* the same move_pages again, rax's upper half junk: the same record */
	mp = sink.ev[2];
	assert_int_equal(mp->type, MPT_REC_MOVE_PAGES);
	assert_int_equal(mp->origin, MPT_ORIGIN_REFUSED);
	assert_int_equal(mp->abi, MPT_ABI_X86_64);
	assert_int_equal(mp->ret, -EACCES);
	assert_int_equal((int32_t)mp->arg[0], 4242);
	assert_memory_equal(mp->data, pages, sizeof(pages));

	assert_int_equal(mpt_tracer_stats(t, &s), 0);
	assert_int_equal(mpt_stats_lost(&s), 0);
	mpt_tracer_free(t);
	tu_events_clear(&sink);
	free(sink.ev);
	close(go[0]);
	close(go[1]);
}

static void test_event_selection(void **state)
{
	unsigned long node0 = 1;
	struct mg_call c = {.maxnode = 65, .old_nodes = &node0, .new_nodes = &node0};
	struct tu_events own = {0};
	struct mpt_tracer_opts o;
	struct mpt_attach_report rep;
	struct mpt_tracer *t = NULL;
	struct mpt_stats st;
	struct tu_call q;
	char err[128], *mem;

	(void)state;
	mpt_tracer_opts_default(&o);
	o.attach = attach_mode;
	o.array_cap = CAP;
	o.filter.val[MPT_FILTER_PID][0] = getpid();
	o.filter.n[MPT_FILTER_PID] = 1;
	tu_trace_self = true;
	o.on_event = tu_collect;
	o.ctx = &own;
	assert_int_equal(mpt_filter_add_events(&o.filter, "migrate_pages", err, sizeof(err)), 0);
	assert_int_equal(mpt_tracer_start(&o, &t, &rep), 0);
	assert_string_equal(mpt_tracer_events(t), "migrate_pages");
	own_pages_call(&q, 1, &mem);
	tu_move_pages(&q);
	migrate(&c);
	/* the group tracer saw both */
	assert_int_equal(tu_wait_events(tracer, &events, 2, WAIT_MS), 2);
	assert_int_equal(tu_wait_events(t, &own, 1, WAIT_MS), 1);
	mpt_tracer_poll(t, 50);
	assert_int_equal(own.n, 1);
	assert_int_equal(own.ev[0]->type, MPT_REC_MIGRATE_PAGES);
	assert_int_equal(mpt_tracer_stats(t, &st), 0);
	assert_int_equal(st.kernel[MPT_STAT_EVENTS], 1);
	assert_int_equal(mpt_stats_lost(&st), 0);
	mpt_tracer_free(t);
	tu_events_clear(&own);
	free(own.ev);
	free_call(&q, mem, 1);
	/* names it does not know are refused, with the ones it does */
	assert_int_equal(
	    mpt_filter_add_events(&o.filter, "move_pages,get_mempolicy", err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "unknown event 'get_mempolicy'"));
	assert_int_equal(mpt_filter_add_events(&o.filter, "move_pages,", err, sizeof(err)),
			 -EINVAL);
}

int main(void)
{
	int rc = tu_require_bpf("test_trace");

	if (rc)
		return rc;
	if (tu_attach_mode(&attach_mode))
		return 1;

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_query_mode, test_setup),
	    cmocka_unit_test_setup(test_move_to_node0, test_setup),
	    cmocka_unit_test_setup(test_count_zero, test_setup),
	    cmocka_unit_test_setup(test_truncation, test_setup),
	    cmocka_unit_test_setup(test_unmapped_page, test_setup),
	    cmocka_unit_test_setup(test_null_entry, test_setup),
	    cmocka_unit_test_setup(test_unreadable_pages, test_setup),
	    cmocka_unit_test_setup(test_unreadable_nodes, test_setup),
	    cmocka_unit_test_setup(test_invalid_flags, test_setup),
	    cmocka_unit_test_setup(test_nonexistent_pid, test_setup),
	    cmocka_unit_test_setup(test_offline_node, test_setup),
	    cmocka_unit_test_setup(test_arrays_not_present, test_setup),
	    cmocka_unit_test_setup(test_move_all, test_setup),
	    cmocka_unit_test_setup(test_real_migration, test_setup),
	    cmocka_unit_test_setup(test_second_thread, test_setup),
	    cmocka_unit_test_setup(test_other_process, test_setup),
	    cmocka_unit_test_setup(test_self_not_traced, test_setup),
	    cmocka_unit_test_setup(test_stats_count_events, test_setup),
	    cmocka_unit_test_setup(test_inflight_memory_bounded, test_setup),
	    cmocka_unit_test_setup(test_records_wrap_the_ring, test_setup),
	    cmocka_unit_test_setup(test_array_rewritten_during_call, test_setup),
	    cmocka_unit_test_setup(test_array_unmapped_during_call, test_setup),
	    cmocka_unit_test_setup(test_array_restored_before_return, test_setup),
	    cmocka_unit_test_setup(test_huge_page_restored_before_return, test_setup),
	    cmocka_unit_test_setup(test_many_held_calls, test_setup),
	    cmocka_unit_test_setup(test_more_held_calls_than_slots, test_setup),
	    cmocka_unit_test_setup(test_ia32_gate, test_setup),
	    cmocka_unit_test_setup(test_x32_gate, test_setup),
	    cmocka_unit_test_setup(test_exit_without_entry, test_setup),
	    cmocka_unit_test_setup(test_killed_inside_call, test_setup),
	    cmocka_unit_test_setup(test_migrate_pages_self, test_setup),
	    cmocka_unit_test_setup(test_migrate_pages_masks, test_setup),
	    cmocka_unit_test_setup(test_migrate_mask_rewritten_during_call, test_setup),
	    cmocka_unit_test_setup(test_mempolicy_mask_rewritten_during_call, test_setup),
	    cmocka_unit_test_setup(test_migrate_pages_other_process, test_setup),
	    cmocka_unit_test_setup(test_event_selection, test_setup),
	    cmocka_unit_test_setup(test_refused_by_seccomp, test_setup),
	    cmocka_unit_test_setup(test_no_state_left, test_setup),
	};
	return cmocka_run_group_tests_name("trace", tests, group_setup, group_teardown);
}
