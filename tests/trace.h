/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the files of test_trace share: one tracer loaded for the group (the
 * slowest step in a guest under emulation), the checks of a record against
 * the call that made it, and the tools that race the kernel.
 */
#ifndef MPTRACE_TESTS_TRACE_H
#define MPTRACE_TESTS_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"

#define CAP 64

#define MPOL_MF_MOVE (1 << 1)

#define MPOL_MF_MOVE_ALL (1 << 2)

#define WAIT_MS 3000

extern struct mpt_tracer *tracer;

extern struct tu_events events;

/* a tracer that keeps 4 entries of each array, for the tests that race the kernel */
extern struct mpt_tracer *cap4_tracer;

extern struct tu_events cap4_events;

extern enum mpt_attach_mode attach_mode;

extern long page_size;

/* What the record should say about each array, when the default guess is wrong. */
struct expect {
	uint8_t pages_state, nodes_state, status_state;
};

/* What the kernel's own view says of a call's pages[]; kview_checked: what it can do here. */
extern uint8_t kview_checked;

/* What the kernel's view should say of call @c's pages[]. */
uint8_t want_kview(const struct tu_call *c, const struct expect *x);

/* The states in which a record holds the array's entries. */
bool has_data(uint8_t state);

/* The array states a record of call @c holds unless a test says otherwise. */
void default_expect(const struct tu_call *c, struct expect *x);

/*
 * The events a tracer of one test traces: the group tracer takes every one;
 * the others, which check move_pages and migrate_pages, load only theirs
 * (under TCG every event's hooks cost seconds of verifying per start).
 */
extern bool every_event;
/* The ring buffer's bytes for the next tracer started; 0: the default. */
extern uint32_t ring_bytes;

/* A tracer of @targ_tgid (0: all) keeping @cap entries of each array, records into @sink. */
struct mpt_tracer *start_tracer_cap(uint32_t targ_tgid, bool trace_self, uint32_t max_inflight,
				    uint32_t cap, struct tu_events *sink);

/* The same, with the group's array cap. */
struct mpt_tracer *start_tracer(uint32_t targ_tgid, bool trace_self, uint32_t max_inflight,
				struct tu_events *sink);

/* This thread's comm, as a record holds it. */
void own_comm(char comm[16]);

/* Whether this process sees the host's pids. */
bool in_init_pidns(void);

/* The common header: this process's thread @tid called between @before and @after. */
void assert_caller(const struct mpt_rec_hdr *h, pid_t tid, uint64_t before, uint64_t after);

/* Every field of @ev against the call @c made by this process. */
void assert_record(const struct mpt_call_event *ev, const struct tu_call *c,
		   const struct expect *x_in);

/* A call on @n touched pages of our own; the caller frees *mem with munmap. */
void own_pages_call(struct tu_call *c, size_t n, char **mem);

/* Undo own_pages_call(). */
void free_call(struct tu_call *c, char *mem, size_t n);

/* A pid no process has (a child that was reaped). */
pid_t dead_pid(void);

/* A thread that makes the call its argument describes. */
void *thread_call(void *arg);

/* Memory whose missing pages block a reader until the test supplies them. */
struct uffd_region {
	int uffd;
	char *base;
	size_t pages;
};

/* A userfaultfd region of @pages pages whose first @missing_from pages are present. */
void uffd_region(struct uffd_region *r, size_t pages, size_t missing_from);

/* Supply page @idx with @src (a page of bytes): every thread blocked on it goes on. */
void uffd_supply(struct uffd_region *r, size_t idx, const void *src);

/* Until a thread faults on the region. */
void uffd_wait_fault(struct uffd_region *r);

/* Unmap the region and close its descriptor. */
void uffd_region_free(struct uffd_region *r);

/* A native `syscall` with rax as given, junk in its upper half included. */
long syscall6_raw(unsigned long rax, long a1, long a2, long a3, long a4, long a5, long a6);

/* One migrate_pages call, as the caller saw it. */
struct mg_call {
	int pid;
	unsigned long maxnode;
	const unsigned long *old_nodes, *new_nodes;
	long ret;
	uint64_t before, after;
};

void migrate(struct mg_call *c);

/* trace_calls.c: one call's record, field by field */
void test_query_mode(void **state);
void test_move_to_node0(void **state);
void test_count_zero(void **state);
void test_truncation(void **state);
void test_unmapped_page(void **state);
void test_null_entry(void **state);
void test_unreadable_pages(void **state);
void test_unreadable_nodes(void **state);
void test_invalid_flags(void **state);
void test_nonexistent_pid(void **state);
void test_offline_node(void **state);
void test_arrays_not_present(void **state);
void test_move_all(void **state);
void test_real_migration(void **state);
void test_second_thread(void **state);
void test_other_process(void **state);
void test_self_not_traced(void **state);
void test_stats_count_events(void **state);
void test_inflight_memory_bounded(void **state);
void test_records_wrap_the_ring(void **state);
void test_no_state_left(void **state);
/* trace_races.c: arrays changed under the kernel, calls held inside it */
void test_array_rewritten_during_call(void **state);
void test_array_unmapped_during_call(void **state);
void test_array_restored_before_return(void **state);
void test_huge_page_restored_before_return(void **state);
void test_many_held_calls(void **state);
void test_more_held_calls_than_slots(void **state);
void test_exit_without_entry(void **state);
void test_killed_inside_call(void **state);
/* trace_gates.c: the 32-bit gates */
void test_ia32_gate(void **state);
void test_x32_gate(void **state);
/* trace_policy.c: migrate_pages and the memory-policy calls */
void test_migrate_pages_self(void **state);
void test_migrate_pages_masks(void **state);
void test_migrate_mask_rewritten_during_call(void **state);
void test_mempolicy_mask_rewritten_during_call(void **state);
void test_migrate_pages_other_process(void **state);

#endif
