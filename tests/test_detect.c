// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The detection rules on synthetic streams: each fires when it should, and only then. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "detect/detect.h"
#include "fake_event.h"
#include "decode/format.h"

#define SEC 1000000000ull

static struct mpt_detector *det;
static struct mpt_detect_cfg cfg;
static struct fake_event f;

static int setup(void **state)
{
	(void)state;
	mpt_detect_cfg_default(&cfg);
	cfg.enabled = true;
	det = mpt_detector_new(&cfg);
	fake_init(&f);
	f.ev.count = 1;
	return det ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mpt_detector_free(det);
	return 0;
}

/* One call by process @tgid at @t seconds; returns the rules it raised. */
static uint32_t call(uint32_t tgid, double t, int32_t pid, uint64_t count, uint64_t nodes,
		     int32_t flags, int64_t ret)
{
	struct mpt_view v;
	const char *why;

	f.ev.task.host_tgid = f.ev.task.host_tid = tgid;
	f.ev.task.ns_tgid = f.ev.task.ns_tid = tgid;
	f.ev.ts_boot_ns = (uint64_t)(t * SEC);
	f.ev.pid = pid;
	f.ev.count = count;
	f.ev.nodes = nodes;
	f.ev.nodes_state = nodes ? MPT_ARRAY_OK : MPT_ARRAY_NULL;
	f.ev.flags = flags;
	f.ev.ret = ret;
	fake_arrays(&f, 0, NULL, NULL, NULL);
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	return mpt_detect(det, &v);
}

#define BIT(r) (1u << MPT_DET_##r)

static void test_benign(void **state)
{
	(void)state;
	/* its own pages, by 0 or by its own pid; a query; a move; one failure */
	assert_int_equal(call(100, 1, 0, 4, 0, 0, 0), 0);
	assert_int_equal(call(100, 1, 100, 4, 0x1000, 2, 0), 0);
	assert_int_equal(call(100, 1, 0, 64, 0, 0, 0), 0);
	assert_int_equal(call(100, 1, 0, 1, 0, 0, -ESRCH), 0);
	assert_int_equal(call(100, 1, 0, 1, 0, 0, -EINVAL), 0);
}

static void test_other_process_and_move_all(void **state)
{
	(void)state;
	assert_int_equal(call(100, 1, 200, 1, 0x1000, 2, 0), BIT(OTHER_PROCESS));
	/* the cooldown: not again for the same process, but for another one */
	assert_int_equal(call(100, 2, 200, 1, 0x1000, 2, 0), 0);
	assert_int_equal(call(101, 2, 200, 1, 0x1000, 2, 0), BIT(OTHER_PROCESS));
	assert_int_equal(call(100, 12, 200, 1, 0x1000, 2, 0), BIT(OTHER_PROCESS));
	/* MOVE_ALL, even on its own pages and even when refused */
	assert_int_equal(call(102, 1, 0, 1, 0x1000, 4, -EPERM), BIT(MOVE_ALL));
	assert_int_equal(call(103, 1, 300, 1, 0x1000, 6, 0), BIT(OTHER_PROCESS) | BIT(MOVE_ALL));
}

static void test_probe_burst(void **state)
{
	(void)state;
	/* four failures: nothing; the fifth within the window fires */
	for (int i = 0; i < 4; i++)
		assert_int_equal(call(100, 1 + i * 0.1, 4000 + i, 1, 0, 0, -ESRCH), 0);
	assert_int_equal(call(100, 1.5, 4000, 1, 0, 0, -EPERM), BIT(PROBE_BURST));
	/* spread over more than the window they do not */
	for (int i = 0; i < 10; i++)
		assert_int_equal(call(200, i * 1.5, 4000, 1, 0, 0, -EACCES), 0);
	/* other errors do not count */
	for (int i = 0; i < 10; i++)
		assert_int_equal(call(300, 1 + i * 0.01, 0, 1, 0, 0x10, -EINVAL), 0);
}

/* Records come in the order calls return; their times are the entries'. */
static void test_out_of_order(void **state)
{
	(void)state;
	/* a burst whose records arrive newest first still counts as one burst */
	for (int i = 4; i > 0; i--)
		assert_int_equal(call(400, 1 + i * 0.1, 4000, 1, 0, 0, -ESRCH), 0);
	assert_int_equal(call(400, 1.0, 4000, 1, 0, 0, -ESRCH), BIT(PROBE_BURST));
	/* an earlier call arriving after a detection is inside the cooldown */
	assert_int_equal(call(401, 5, 200, 1, 0x1000, 2, 0), BIT(OTHER_PROCESS));
	assert_int_equal(call(401, 4.9, 200, 1, 0x1000, 2, 0), 0);
	assert_int_equal(call(401, 5.1, 200, 1, 0x1000, 2, 0), 0);
}

/* A call by 100 at @t of 4 pages to nodes[] read at the entry; its return saw nodes[] @exit. */
static uint32_t nodes_call(double t, uint8_t changed, uint8_t exit)
{
	static const int32_t nodes[4] = {1, 1, 0, 0};
	struct mpt_view v;
	const char *why;

	f.ev.task.host_tgid = f.ev.task.host_tid = f.ev.task.ns_tgid = f.ev.task.ns_tid = 100;
	f.ev.ts_boot_ns = (uint64_t)(t * SEC);
	f.ev.pid = 0;
	f.ev.count = 4;
	f.ev.nodes = 0x1000;
	f.ev.nodes_state = MPT_ARRAY_OK;
	f.ev.flags = 2;
	f.ev.ret = 0;
	fake_arrays(&f, 4, NULL, nodes, NULL);
	f.ev.changed = changed;
	f.ev.nodes_exit_state = exit;
	if (changed && exit == MPT_ARRAY_OK) {
		/* the copy the return read: its first node rewritten */
		memcpy(f.data + 16, nodes, 16);
		f.data[16] = 7;
		f.ev.size += 16;
	}
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	return mpt_detect(det, &v);
}

static void test_changed_during_call(void **state)
{
	(void)state;
	/* nodes[] unreadable at the return: rewritten (unmapped) under the kernel */
	assert_int_equal(nodes_call(1, MPT_CHANGED_NODES, MPT_ARRAY_FAULT),
			 BIT(CHANGED_DURING_CALL));
	/* every time: a first, harmless race must not open a cooldown for the next */
	assert_int_equal(nodes_call(1.1, MPT_CHANGED_NODES, MPT_ARRAY_OK),
			 BIT(CHANGED_DURING_CALL));
	assert_int_equal(nodes_call(1.2, 0, MPT_ARRAY_OK), 0);
	f.ev.changed = 0;
	f.ev.nodes_exit_state = MPT_ARRAY_OK;
	/* restored before the return, but the kernel migrated a page not recorded */
	f.ev.kernel_other_n = 1;
	f.ev.size += 8;
	{
		struct mpt_view v;
		const char *why;

		f.ev.ts_boot_ns = 1.3 * SEC;
		assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
		assert_int_equal(mpt_detect(det, &v), BIT(CHANGED_DURING_CALL));
	}
	f.ev.kernel_other_n = 0;
}

/* @m, then its twin in this version's generic record, to a fresh detector each: their rules. */
static uint32_t migrate_rules(const struct fake_migrate *m, uint32_t *twin_rules)
{
	static struct fake_call twin;
	struct mpt_detector *d;
	struct mpt_view v;
	const char *why;
	uint32_t hit;

	assert_non_null(d = mpt_detector_new(&cfg));
	assert_int_equal(mpt_event_parse(m, m->ev.size, &v, &why), 0);
	hit = mpt_detect(d, &v);
	mpt_detector_free(d);
	fake_migrate_as_call(m, &twin);
	assert_non_null(d = mpt_detector_new(&cfg));
	assert_int_equal(mpt_event_parse(&twin, twin.ev.size, &v, &why), 0);
	*twin_rules = mpt_detect(d, &v);
	mpt_detector_free(d);
	return hit;
}

/* migrate_pages: MPT-7 on another process, MPT-6 on a mask rewritten; old records alike. */
static void test_migrate_pages_rules(void **state)
{
	struct fake_migrate m;
	uint32_t twin;

	(void)state;
	fake_migrate_init(&m); /* pid 4242: not the caller */
	assert_int_equal(migrate_rules(&m, &twin), 1u << MPT_DET_MIGRATE_OTHER);
	assert_int_equal(twin, 1u << MPT_DET_MIGRATE_OTHER);
	m.ev.pid = (int32_t)m.ev.task.ns_tgid; /* itself, by pid or as 0 */
	assert_int_equal(migrate_rules(&m, &twin), 0);
	assert_int_equal(twin, 0);
	m.ev.pid = 0;
	assert_int_equal(migrate_rules(&m, &twin), 0);
	assert_int_equal(twin, 0);
	/* new_nodes rewritten while the kernel read it, unreadable at the return */
	m.ev.changed = m.ev.exit_fault = MPT_MG_V4_CHANGED_NEW;
	assert_int_equal(migrate_rules(&m, &twin), 1u << MPT_DET_CHANGED_DURING_CALL);
	assert_int_equal(twin, 1u << MPT_DET_CHANGED_DURING_CALL);
}

static void test_layout_scan(void **state)
{
	(void)state;
	/* a query of another process's pages, many of them, that worked */
	assert_int_equal(call(100, 1, 200, 15, 0, 0, 0), 0);
	assert_int_equal(call(101, 1, 200, 16, 0, 0, 0), BIT(LAYOUT_SCAN));
	assert_int_equal(call(102, 1, 200, 1000, 0, 0, -EPERM), 0);
	/* reported from its entry: whether it worked is unknown */
	f.ev.ret_state = MPT_RET_UNFINISHED;
	f.ev.status_state = MPT_ARRAY_NO_RETURN;
	assert_int_equal(call(104, 1, 200, 1000, 0, 0, 0), 0);
	f.ev.ret_state = MPT_RET_SEEN;
	f.ev.status_state = MPT_ARRAY_OK;
	assert_int_equal(call(103, 1, 0, 1000, 0, 0, 0), 0);
	/* many small queries within the window are one scan: the second of 15 pages fires */
	assert_int_equal(call(105, 2, 200, 15, 0, 0, 0), 0);
	assert_int_equal(call(105, 2.5, 300, 15, 0, 0, 0), BIT(LAYOUT_SCAN));
	/* spread wider than the window they are not */
	for (int i = 0; i < 20; i++)
		assert_int_equal(call(106, 10 + i * 1.5, 200, 15, 0, 0, 0), 0);
}

/* A flood summary raises MPT-8, once per cooldown, and nothing else. */
static void test_fair_share_flood(void **state)
{
	struct mpt_flood_event fl = {.type = MPT_REC_FLOOD,
				     .version = MPT_EVENT_VERSION,
				     .size = sizeof(fl),
				     .event = MPT_REC_MOVE_PAGES,
				     .calls = 5000,
				     .pages = 5000,
				     .targets = 1,
				     .returns = 5000,
				     .failures = 5000};
	struct mpt_view v;
	const char *why;

	(void)state;
	fl.task.host_tgid = fl.task.ns_tgid = 500;
	fl.ret = -EPERM; /* never read as a failure of a call: a summary has none */
	for (int i = 0; i < 3; i++) {
		fl.ts_boot_ns = (uint64_t)(1 + i) * SEC;
		fl.last_ns = fl.ts_boot_ns + SEC / 2;
		assert_int_equal(mpt_event_parse(&fl, sizeof(fl), &v, &why), 0);
		assert_int_equal(mpt_detect(det, &v), i ? 0 : BIT(FAIR_SHARE_FLOOD));
	}
}

static void test_migration_flood(void **state)
{
	(void)state;
	/* 100000 pages asked to move within a second */
	assert_int_equal(call(100, 1.0, 0, 60000, 0x1000, 2, 0), 0);
	assert_int_equal(call(100, 1.5, 0, 40000, 0x1000, 2, 0), BIT(MIGRATION_FLOOD));
	/* the same spread over two windows */
	assert_int_equal(call(200, 1.0, 0, 60000, 0x1000, 2, 0), 0);
	assert_int_equal(call(200, 2.5, 0, 60000, 0x1000, 2, 0), 0);
}

/* A reused pid is another process: it does not inherit the old one's counts. */
static void test_pid_reuse(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(call(100, 1, 4000, 1, 0, 0, -ESRCH), 0);
	f.ev.task.start_ns = 999;
	assert_int_equal(call(100, 1, 4000, 1, 0, 0, -ESRCH), 0);
}

static void test_off_by_default(void **state)
{
	struct mpt_detect_cfg off;
	struct mpt_detector *d;
	struct mpt_view v;
	const char *why;

	(void)state;
	mpt_detect_cfg_default(&off);
	d = mpt_detector_new(&off);
	f.ev.flags = 4;
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	assert_int_equal(mpt_detect(d, &v), 0);
	mpt_detector_free(d);
}

static void test_detection_json(void **state)
{
	const struct mpt_fmt_ctx ctx = {.boot_to_wall_ns = 0, .hostname = "h"};
	struct mpt_view v;
	struct strbuf sb;
	json_error_t err;
	json_t *root, *d;
	const char *why;

	(void)state;
	sb_init(&sb);
	f.ev.flags = 4;
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	mpt_format_detection(MPT_FMT_JSON, &sb, MPT_DET_MOVE_ALL, &v, &ctx);
	assert_true(sb.len && sb.buf[sb.len - 1] == '\n');
	root = json_loadb(sb.buf, sb.len, 0, &err);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "eventName")), "detection");
	d = json_object_get(root, "detection");
	assert_string_equal(json_string_value(json_object_get(d, "id")), "MPT-2");
	assert_string_equal(json_string_value(json_object_get(d, "severity")), "high");
	assert_non_null(json_string_value(json_object_get(d, "description")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "triggeredBy"), "eventName")),
	    "move_pages");
	json_decref(root);
	sb_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_benign, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_process_and_move_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_burst, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_layout_scan, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_pages_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fair_share_flood, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changed_during_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migration_flood, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pid_reuse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_off_by_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_detection_json, setup, teardown),
	};
	return cmocka_run_group_tests_name("detect", tests, NULL, NULL);
}
