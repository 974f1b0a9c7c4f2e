// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The 32-bit gates: ia32 (int 0x80) in every mode, every argument widened as
 * the kernel takes it; x32, which these kernels refuse.
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

/*
 * int 0x80 from this 64-bit process: the ia32 gate, with the kernel's
 * 32-bit view of every register. The upper halves carry junk that the
 * kernel ignores; so must the record.
 */
static long int80_6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r12 __asm__("r12") = a6;
	long ret;

	__asm__ volatile("push %%rbp\n\t"
			 "mov %%r12, %%rbp\n\t"
			 "int $0x80\n\t"
			 "pop %%rbp"
			 : "=a"(ret)
			 : "a"(nr), "b"(a1), "c"(a2), "d"(a3), "S"(a4), "D"(a5), "r"(r12)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

/* Does int 0x80 work here? It raises SIGSEGV on some hosts (the development VM). */
static bool ia32_gate_works(void)
{
	pid_t child = fork();
	int st;

	if (child == 0) {
		/* cmocka's handlers would carry on with the tests in this child */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		_exit(int80_6(20 /* getpid */, 0, 0, 0, 0, 0, 0) > 0 ? 0 : 1);
	}
	waitpid(child, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

#define JUNK 0xdead000000000000ul

/* The one record a call made: parsed, the generic record's, through the ia32 gate. */
static const struct mpt_call_event *one_ia32_call(struct mpt_view *v, uint16_t type, long ret)
{
	const struct mpt_call_event *c;
	const char *why;

	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	c = (const struct mpt_call_event *)events.ev[0];
	assert_int_equal(mpt_event_parse(c, c->size, v, &why), 0);
	assert_ptr_equal(v->call, c);
	assert_int_equal(c->type, type);
	assert_int_equal(c->abi, MPT_ABI_IA32);
	assert_int_equal(c->ret_state, MPT_RET_SEEN);
	assert_int_equal(c->ret, ret);
	assert_int_equal(c->task.host_tid, tu_gettid());
	/* the registers past the event's arguments held junk: not in the record */
	for (unsigned int i = v->desc->nargs; i < 6; i++)
		assert_int_equal(c->arg[i], 0);
	return c;
}

/*
 * The memory-policy calls through the ia32 gate, junk in every upper half:
 * each argument as the kernel takes it (an int's low 32 bits sign-extended,
 * the rest zero-extended), node masks of 32-bit longs. @low: a page below 4 GiB.
 */
static void ia32_mempolicy(uint32_t *low)
{
	uint32_t *mask32 = low + 48;
	const struct mpt_call_event *c;
	struct mpt_view v;
	long ret;

	tu_events_clear(&events);
	mask32[0] = 1;
	mask32[1] = 0xffffffff; /* past maxnode - 1 bits: not read */
	/* mode -1: an int, so -1 whatever the upper half; EINVAL */
	ret = int80_6(MPT_NR_SET_MEMPOLICY_IA32, JUNK | 0xffffffffu, JUNK | (uintptr_t)mask32,
		      JUNK | 33, JUNK, JUNK, JUNK);
	assert_int_equal((int)ret, -EINVAL);
	c = one_ia32_call(&v, MPT_REC_SET_MEMPOLICY, -EINVAL);
	assert_int_equal((int64_t)c->arg[0], -1);
	assert_int_equal(c->arg[1], (uintptr_t)mask32);
	assert_int_equal(c->arg[2], 33);
	assert_int_equal(c->ncaps, 1);
	assert_int_equal(c->cap[0].arg, 1);
	assert_int_equal(c->cap[0].bytes, 4);
	assert_true(mpt_mask_has(&v.arg[1], 0));
	assert_int_equal(mpt_mask_span(&v.arg[1]), 32);
	tu_events_clear(&events);

	/* mbind of the low page to node 0, flags an unsigned int: MPOL_MF_MOVE */
	ret = int80_6(MPT_NR_MBIND_IA32, JUNK | (uintptr_t)low, JUNK | page_size, JUNK | 2,
		      JUNK | (uintptr_t)mask32, JUNK | 33, JUNK | MPOL_MF_MOVE);
	assert_int_equal((int)ret, 0);
	c = one_ia32_call(&v, MPT_REC_MBIND, 0);
	assert_int_equal(c->arg[0], (uintptr_t)low);
	assert_int_equal(c->arg[1], page_size);
	assert_int_equal(c->arg[2], 2);
	assert_int_equal(c->arg[3], (uintptr_t)mask32);
	assert_int_equal(c->arg[4], 33);
	assert_int_equal(c->arg[5], MPOL_MF_MOVE);
	assert_int_equal(c->cap[0].arg, 3);
	assert_int_equal(c->cap[0].bytes, 4);
	assert_int_equal(c->cap[0].changed, 0);
	assert_true(mpt_mask_has(&v.arg[3], 0));
	tu_events_clear(&events);

	/* the home node of that range (MPOL_BIND now), no pointer read */
	ret = int80_6(MPT_NR_SET_MEMPOLICY_HOME_NODE_IA32, JUNK | (uintptr_t)low, JUNK | page_size,
		      JUNK | 0, JUNK | 0, JUNK, JUNK);
	assert_int_equal((int)ret, 0);
	c = one_ia32_call(&v, MPT_REC_SET_MEMPOLICY_HOME_NODE, 0);
	assert_int_equal(c->arg[0], (uintptr_t)low);
	assert_int_equal(c->arg[1], page_size);
	assert_int_equal(c->arg[2], 0);
	assert_int_equal(c->arg[3], 0);
	assert_int_equal(c->ncaps, 0);
	assert_int_equal(c->size, sizeof(*c));
	tu_events_clear(&events);
}

/* move_pages through int 0x80, junk in every upper half: the call as the kernel took it. */
static void ia32_move_pages(uint32_t *low)
{
	const struct mpt_call_event *ev;
	uint32_t *pages32, *nodes32;
	int32_t *status32;
	uint64_t before, after;
	struct mpt_view v;
	const char *why;
	long ret;

	/* page addresses as 32-bit pointers: only low pages qualify, so use low's own page */
	pages32 = low;
	nodes32 = low + 8;
	status32 = (int32_t *)low + 16;
	pages32[0] = (uint32_t)(uintptr_t)low;
	pages32[1] = 0; /* NULL: -EFAULT in status */
	nodes32[0] = nodes32[1] = 0;
	before = tu_boot_ns();
	ret = int80_6(MPT_NR_MOVE_PAGES_IA32, JUNK | 0, JUNK | 2, JUNK | (uintptr_t)pages32,
		      JUNK | (uintptr_t)nodes32, JUNK | (uintptr_t)status32, JUNK | MPOL_MF_MOVE);
	after = tu_boot_ns();
	assert_int_equal((int)ret, 0);

	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	ev = events.ev[0];
	assert_int_equal(mpt_event_parse(ev, ev->size, &v, &why), 0);
	assert_int_equal(ev->abi, MPT_ABI_IA32);
	assert_int_equal(v.ptr_bytes, 4);
	assert_int_equal(ev->task.host_tid, tu_gettid());
	assert_in_range(ev->ts_boot_ns, before, after);
	assert_int_equal(ev->ret_state, MPT_RET_SEEN);
	assert_int_equal(ev->ret, 0);
	/* 32-bit arguments: the junk in the upper halves is not part of the call */
	assert_int_equal((int32_t)ev->arg[0], 0);
	assert_int_equal(ev->arg[1], 2);
	assert_int_equal(ev->arg[2], (uintptr_t)pages32);
	assert_int_equal(ev->arg[3], (uintptr_t)nodes32);
	assert_int_equal(ev->arg[4], (uintptr_t)status32);
	assert_int_equal((int32_t)ev->arg[5], MPOL_MF_MOVE);
	/* pages[] holds 32-bit pointers */
	assert_int_equal(mp_n(ev, MP_PAGES), 2);
	assert_int_equal(mpt_view_page(&v, 0), (uintptr_t)low);
	assert_int_equal(mpt_view_page(&v, 1), 0);
	assert_int_equal(mp_n(ev, MP_NODES), 2);
	assert_int_equal(mpt_view_node(&v, 0), 0);
	assert_int_equal(ev->cap[MP_STATUS].state, MPT_ARRAY_OK);
	assert_int_equal(mp_n(ev, MP_STATUS), 2);
	assert_int_equal(mpt_view_status(&v, 0), status32[0]);
	assert_int_equal(mpt_view_status(&v, 1), -EFAULT);
	assert_int_equal(mp_changed(ev), 0);
	tu_events_clear(&events);
}

/* migrate_pages through the same gate: 32-bit masks, whole compat_ulongs of them. */
static void ia32_migrate_pages(uint32_t *low)
{
	uint64_t before, after;
	struct mpt_view v;
	long ret;
	const struct mpt_call_event *mg;
	uint32_t *mask32 = low + 32;

	mask32[0] = 1;
	mask32[1] = 0xffffffff; /* past maxnode - 1 bits: not read */
	before = tu_boot_ns();
	ret = int80_6(MPT_NR_MIGRATE_PAGES_IA32, JUNK | 0, JUNK | 33, JUNK | (uintptr_t)mask32,
		      JUNK | (uintptr_t)mask32, JUNK, JUNK);
	after = tu_boot_ns();
	assert_int_equal((int)ret, 0);
	mg = one_ia32_call(&v, MPT_REC_MIGRATE_PAGES, 0);
	assert_in_range(mg->ts_boot_ns, before, after);
	assert_int_equal(mg->arg[0], 0);
	assert_int_equal(mg->arg[1], 33);
	assert_int_equal(mg->arg[2], (uintptr_t)mask32);
	assert_int_equal(mg->arg[3], (uintptr_t)mask32);
	assert_int_equal(mg->ncaps, 2);
	assert_int_equal(mg->cap[0].bytes, 4);
	assert_int_equal(mg->cap[1].bytes, 4);
	assert_true(mpt_mask_has(&v.arg[2], 0));
	assert_int_equal(mpt_mask_span(&v.arg[2]), 32);
}

void test_ia32_gate(void **state)
{
	struct mpt_stats st;
	char *mem = tu_touched_pages(2);
	/* arrays the 32-bit view can address */
	uint32_t *low = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	uint64_t lost_before;

	(void)state;
	/* what the tests before made the group tracer queue */
	while (mpt_tracer_poll(tracer, 100) > 0)
		;
	tu_events_clear(&events);
	/* the held-call tests before may have made it count skipped hooks: only ours count */
	assert_int_equal(mpt_tracer_stats(tracer, &st), 0);
	lost_before = mpt_stats_lost(&st);
	/* a native syscall 317 (seccomp) is not an ia32 move_pages */
	assert_int_equal(syscall(317, 999, 0, NULL), -1);
	assert_int_equal(tu_wait_events(tracer, &events, 1, 300), 0);

	if (!ia32_gate_works()) {
		if (getenv("MPTRACE_REQUIRE_COMPAT"))
			fail_msg("int 0x80 does not work here, and MPTRACE_REQUIRE_COMPAT is set");
		/* no 32-bit call can be made: no hooks on every syscall, and it says why */
		assert_non_null(mpt_tracer_compat_off(tracer));
		assert_non_null(strstr(mpt_tracer_compat_off(tracer), "gates are closed"));
		printf("# int 0x80 raises a signal here: the ia32 call is checked in tests/vm\n");
		munmap(mem, 2 * page_size);
		munmap(low, page_size);
		skip();
	}
	/* the gate is open: the tracer must be watching it */
	assert_null(mpt_tracer_compat_off(tracer));
	assert_true(low != MAP_FAILED && (uintptr_t)low < (1ull << 32));
	ia32_move_pages(low);
	ia32_migrate_pages(low);
	ia32_mempolicy(low);
	assert_int_equal(mpt_tracer_stats(tracer, &st), 0);
	assert_int_equal(mpt_stats_lost(&st), lost_before);
	munmap(mem, 2 * page_size);
	munmap(low, page_size);
}

/*
 * The x32 gate (syscall.x32=y; the guests boot with it): 32-bit pointers
 * through the 64-bit entry, bit 30 set in rax. The kernel takes the low 32
 * bits of rax; orig_ax keeps the upper half, junk here. The record must be
 * whole: the return found, in every mode.
 */
void test_x32_gate(void **state)
{
	const unsigned long junk = 0xdead000000000000ul, x32 = MPT_X32_SYSCALL_BIT;
	char *low = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	uint32_t *pages32 = (uint32_t *)(low + page_size);
	int32_t *status32 = (int32_t *)(pages32 + 16);
	const struct mpt_call_event *ev;
	struct mpt_view v;
	const char *why;
	long ret;

	(void)state;
	assert_true(low != MAP_FAILED);
	if (syscall6_raw(x32 | 39 /* getpid */, 0, 0, 0, 0, 0, 0) == -ENOSYS) {
		if (getenv("MPTRACE_REQUIRE_X32"))
			fail_msg(
			    "x32 calls fail here (syscall.x32=y?), and MPTRACE_REQUIRE_X32 is set");
		munmap(low, 2 * page_size);
		skip();
	}
	while (mpt_tracer_poll(tracer, 100) > 0)
		;
	tu_events_clear(&events);
	low[0] = 1;
	pages32[0] = (uint32_t)(uintptr_t)low;
	status32[0] = -12345;
	ret = syscall6_raw(junk | x32 | MPT_NR_MOVE_PAGES_64, 0, 1, (long)pages32, 0,
			   (long)status32, 0);
	assert_int_equal(ret, 0);
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	ev = (const struct mpt_call_event *)events.ev[0];
	assert_int_equal(mpt_event_parse(ev, ev->size, &v, &why), 0);
	assert_int_equal(ev->abi, MPT_ABI_X32);
	assert_int_equal(ev->ret_state, MPT_RET_SEEN);
	assert_int_equal(ev->ret, 0);
	assert_int_equal(ev->arg[1], 1);
	assert_int_equal(mp_n(ev, MP_PAGES), 1);
	assert_int_equal(mpt_view_page(&v, 0), (uintptr_t)low);
	assert_int_equal(ev->cap[MP_STATUS].state, MPT_ARRAY_OK);
	assert_int_equal(mpt_view_status(&v, 0), status32[0]);
	munmap(low, 2 * page_size);
}
