// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migrate_pages and the memory-policy calls: their masks, read at entry and
 * again at the return, rewritten during the call.
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
 * Every field of the one record the call made: its header, the arguments,
 * and each mask as the bytes the kernel reads (@bytes of it, or @state).
 */
static void assert_migrate(const struct mg_call *c, size_t bytes, uint8_t old_state,
			   uint8_t new_state)
{
	const struct mpt_call_event *mg;
	struct mpt_view v;
	const char *why;

	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	mg = (const struct mpt_call_event *)events.ev[0];
	assert_int_equal(mg->type, MPT_REC_MIGRATE_PAGES);
	assert_int_equal(mg->version, MPT_EVENT_VERSION);
	assert_int_equal(mpt_event_parse(mg, mg->size, &v, &why), 0);
	assert_ptr_equal(v.call, mg);
	assert_string_equal(v.desc->name, "migrate_pages");
	assert_caller(&mg->hdr, tu_gettid(), c->before, c->after);
	assert_int_equal(mg->abi, MPT_ABI_X86_64);
	assert_int_equal(mg->ret, c->ret);
	assert_int_equal((int64_t)mg->arg[0], c->pid);
	assert_int_equal(mg->arg[1], c->maxnode);
	assert_int_equal(mg->arg[2], (uintptr_t)c->old_nodes);
	assert_int_equal(mg->arg[3], (uintptr_t)c->new_nodes);
	assert_int_equal(mg->arg[4], 0);
	assert_int_equal(mg->arg[5], 0);
	assert_int_equal(mg->ncaps, 2);
	assert_int_equal(mg->cap[0].arg, 2);
	assert_int_equal(mg->cap[1].arg, 3);
	assert_int_equal(mg->cap[0].state, old_state);
	assert_int_equal(mg->cap[1].state, new_state);
	assert_int_equal(mg->cap[0].bytes, old_state == MPT_ARRAY_OK ? bytes : 0);
	assert_int_equal(mg->cap[1].bytes, new_state == MPT_ARRAY_OK ? bytes : 0);
	/* read again at the return, both the same: no copy kept */
	assert_int_equal(mg->cap[0].changed | mg->cap[1].changed, 0);
	assert_int_equal(mg->size, sizeof(*mg) + mg->cap[0].bytes + mg->cap[1].bytes);
	if (old_state == MPT_ARRAY_OK)
		assert_memory_equal(mg->data, c->old_nodes, bytes);
	if (new_state == MPT_ARRAY_OK)
		assert_memory_equal(mg->data + mg->cap[0].bytes, c->new_nodes, bytes);
	assert_int_equal(v.arg[0].value, (uint64_t)(int64_t)c->pid);
	assert_int_equal(v.arg[1].value, c->maxnode);
}

void test_migrate_pages_self(void **state)
{
	unsigned long node0 = 1, node1 = 2;
	struct mg_call c = {.maxnode = 65, .old_nodes = &node0, .new_nodes = &node0};
	struct tu_call q;
	char *mem;

	(void)state;
	/* four pages of ours, touched now: on node 0 (the default policy's first choice) */
	own_pages_call(&q, 4, &mem);
	/* node 0 to node 0: nothing moves, and the call says so */
	migrate(&c);
	assert_int_equal(c.ret, 0);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_OK);
	tu_events_clear(&events);
	if (tu_online_nodes() < 2) {
		printf("# one NUMA node: migrate_pages to node 1 is checked in tests/vm\n");
		free_call(&q, mem, 4);
		return;
	}
	/* every page of ours on node 0 moves to node 1: a query then finds those there */
	c.new_nodes = &node1;
	migrate(&c);
	assert_true(c.ret >= 0);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_OK);
	tu_events_clear(&events);
	tu_move_pages(&q);
	assert_int_equal(q.ret, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(q.status_seen[i], 1);
	/* the query's own record, so that it does not spill into the next test */
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	assert_record(events.ev[0], &q, NULL);
	printf("# migrate_pages moved our pages from node 0 to node 1\n");
	free_call(&q, mem, 4);
	tu_events_clear(&events);
}

static void *thread_migrate(void *arg)
{
	migrate(arg);
	return NULL;
}

/*
 * Run @fn(@c) in a thread of its own, @c's old_nodes a mask whose tail is on
 * a missing userfaultfd page: while the kernel waits for the tail, the head
 * it has not read yet is rewritten from node 0 to node 1.
 */
static void rewrite_mask_during(void *(*fn)(void *), struct mg_call *c)
{
	char *zero = calloc(1, page_size);
	struct uffd_region r;
	unsigned long *mask;
	pthread_t th;

	uffd_region(&r, 2, 1);
	mask = (unsigned long *)(r.base + page_size - 128);
	mask[0] = 1;
	c->old_nodes = mask;
	assert_int_equal(pthread_create(&th, NULL, fn, c), 0);
	uffd_wait_fault(&r);
	mask[0] = 2;
	uffd_supply(&r, 1, zero);
	pthread_join(th, NULL);
	uffd_region_free(&r);
	free(zero);
}

/* The record of a call whose mask was rewritten raises MPT-6. */
static void assert_mpt6(const struct mpt_view *v)
{
	struct mpt_detect_cfg cfg;
	struct mpt_detector *d;

	mpt_detect_cfg_default(&cfg);
	cfg.enabled = true;
	d = mpt_detector_new(&cfg);
	assert_true(mpt_detect(d, v) & (1u << MPT_DET_CHANGED_DURING_CALL));
	mpt_detector_free(d);
}

/*
 * migrate_pages reads a long mask's tail first (get_nodes() checks, from the
 * end, that the bits past MAX_NUMNODES are zero), then its head. The tail
 * is on a missing userfaultfd page here: while the kernel waits for it, the
 * head the entry copied is rewritten from node 0 to node 1, which the
 * kernel then reads. The record keeps what the entry saw, says what the
 * return found, and MPT-6 is raised.
 */
void test_migrate_mask_rewritten_during_call(void **state)
{
	enum { MAXNODE = 1089, BYTES = 136 }; /* 1088 bits: 17 longs, 8 bytes past a record's 128 */
	static unsigned long new_nodes[BYTES / 8] = {1};
	struct mg_call c = {.maxnode = MAXNODE, .new_nodes = new_nodes};
	const struct mpt_call_event *mg;
	struct mpt_fmt_ctx ctx = {.hostname = "h"};
	struct mpt_view v;
	struct strbuf sb;
	const char *why;

	(void)state;
	rewrite_mask_during(thread_migrate, &c);
	/* with two nodes our pages on node 1 moved to 0: some may not have (a positive count) */
	assert_true(c.ret >= 0);
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	mg = (const struct mpt_call_event *)events.ev[0];
	assert_int_equal(mpt_event_parse(mg, mg->size, &v, &why), 0);
	assert_int_equal(mg->type, MPT_REC_MIGRATE_PAGES);
	assert_int_equal(mg->cap[0].state, MPT_ARRAY_OK);
	assert_int_equal(mg->cap[0].bytes, 128);
	assert_int_equal(mg->data[0], 1); /* what the entry saw */
	assert_int_equal(mg->cap[0].changed, 1);
	assert_int_equal(mg->cap[1].changed, 0);
	assert_int_equal(mg->cap[0].exit_fault, 0);
	assert_true(v.arg[2].changed);
	assert_false(v.arg[3].changed);
	assert_int_equal(v.arg[2].exit_data[0], 2); /* what the return found */
	assert_int_equal(mg->size, sizeof(*mg) + 3 * 128);
	sb_init(&sb);
	mpt_format_json(&sb, &v, &ctx);
	assert_non_null(strstr(sb.buf, "\"data\":[0],\"truncated\":true,\"changedDuringCall\":true,"
				       "\"dataAtExit\":[1]"));
	sb_free(&sb);
	assert_mpt6(&v);
}

/* set_mempolicy(MPOL_BIND, @arg's mask, 1089) from a thread of its own: its policy alone. */
static void *thread_set_mempolicy(void *arg)
{
	struct mg_call *c = arg;

	c->ret = syscall(SYS_set_mempolicy, 2, c->old_nodes, c->maxnode) ? -errno : 0;
	return NULL;
}

/*
 * The generic record's re-read, as migrate_pages' above: set_mempolicy's
 * mask has its tail on a missing userfaultfd page, its head rewritten from
 * node 0 to node 1 while the kernel waits. The record keeps the entry's
 * copy and the return's, and MPT-6 is raised.
 */
void test_mempolicy_mask_rewritten_during_call(void **state)
{
	struct mg_call c = {.maxnode = 1089};
	const struct mpt_call_event *ev;
	struct mpt_view v;
	const char *why;

	(void)state;
	rewrite_mask_during(thread_set_mempolicy, &c);
	/* node 1 exists in the guests, not on a one-node host: EINVAL there */
	assert_true(c.ret == 0 || c.ret == -EINVAL);
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	ev = (const struct mpt_call_event *)events.ev[0];
	assert_int_equal(mpt_event_parse(ev, ev->size, &v, &why), 0);
	assert_int_equal(ev->type, MPT_REC_SET_MEMPOLICY);
	assert_int_equal(ev->cap[0].state, MPT_ARRAY_OK);
	assert_int_equal(ev->cap[0].bytes, 128);
	assert_int_equal(ev->data[0], 1); /* what the entry saw */
	assert_int_equal(ev->cap[0].changed, 1);
	assert_int_equal(ev->cap[0].exit_fault, 0);
	assert_true(v.arg[1].changed);
	assert_int_equal(v.arg[1].exit_data[0], 2); /* what the return found */
	assert_int_equal(ev->size, sizeof(*ev) + 2 * 128);
	assert_mpt6(&v);
}

void test_migrate_pages_masks(void **state)
{
	static unsigned long big[32];
	unsigned long node0 = 1;
	struct mg_call c = {.maxnode = 65, .old_nodes = NULL, .new_nodes = &node0};

	(void)state;
	/* NULL old_nodes: an empty mask to the kernel, NULL in the record */
	migrate(&c);
	assert_migrate(&c, 8, MPT_ARRAY_NULL, MPT_ARRAY_OK);
	tu_events_clear(&events);
	/* an unreadable mask: the kernel and the record both fail to read it */
	c.old_nodes = &node0;
	c.new_nodes = (const unsigned long *)8;
	migrate(&c);
	assert_int_equal(c.ret, -EFAULT);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_FAULT);
	tu_events_clear(&events);
	/* 2000 bits: the record keeps the first 1024 (128 bytes), flagged truncated */
	big[0] = 1;
	c.maxnode = 2000;
	c.old_nodes = c.new_nodes = big;
	migrate(&c);
	assert_migrate(&c, MPT_NODEMASK_BYTES_MAX, MPT_ARRAY_OK, MPT_ARRAY_OK);
	{
		struct mpt_view v;
		const char *why;

		assert_int_equal(mpt_event_parse(events.ev[0], events.ev[0]->size, &v, &why), 0);
		assert_true(v.arg[2].truncated);
		assert_true(mpt_mask_has(&v.arg[2], 0));
		assert_false(mpt_mask_has(&v.arg[2], 1));
	}
	tu_events_clear(&events);
	/* maxnode 3: two bits, in one whole unsigned long */
	c.maxnode = 3;
	migrate(&c);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_OK);
	tu_events_clear(&events);
}

void test_migrate_pages_other_process(void **state)
{
	unsigned long node0 = 1;
	struct mg_call c = {.maxnode = 65, .old_nodes = &node0, .new_nodes = &node0};
	pid_t child = fork();

	(void)state;
	if (child == 0) {
		/* killed below; the alarm ends it if the test fails first */
		alarm(30);
		pause();
		_exit(0);
	}
	assert_true(child > 0);
	c.pid = child;
	migrate(&c);
	assert_true(c.ret >= 0);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_OK);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	tu_events_clear(&events);
	/* a pid that does not exist */
	c.pid = dead_pid();
	migrate(&c);
	assert_int_equal(c.ret, -ESRCH);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_OK);
	tu_events_clear(&events);
}
