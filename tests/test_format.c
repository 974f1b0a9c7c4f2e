// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Formatter unit tests: the table line to the byte, and the JSON parsed back
 * with a real parser (jansson) field by field. Every JSON line made here is
 * also written to format_samples.jsonl, which CTest then checks against the
 * schema (test schema_format_samples), and the same record as OCSF (and as a
 * Detection Finding of every rule) to ocsf_samples.jsonl, checked against the
 * OCSF description (test ocsf_format_samples).
 */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "context/lineage.h"
#include "detect/detect.h"
#include "fake_event.h"
#include "decode/format.h"
#include "sinks/pipeline.h"

static struct fake_event f;
static struct fake_migrate m;
static bool use_migrate; /* format m instead of f */
static struct strbuf sb;
static FILE *samples, *ocsf_samples;
static const struct mpt_fmt_ctx ctx = {.boot_to_wall_ns = 1700000000ll * 1000000000ll,
				       .hostname = "node-7",
				       .boot_id = "59c4e699-0d3c-4a8e-9f0e-0123456789ab",
				       .kernel = "6.18.0-test"};

/* @v as OCSF, and as a finding of every rule: for the OCSF check, each one line. */
static void ocsf_lines(const struct mpt_view *v)
{
	struct strbuf o;

	sb_init(&o);
	mpt_format_ocsf(&o, v, &ctx);
	for (int r = 0; r < MPT_DET_NR; r++)
		mpt_format_detection(MPT_FMT_OCSF, &o, r, v, &ctx);
	assert_false(o.oom);
	fwrite(o.buf, 1, o.len, ocsf_samples);
	sb_free(&o);
}

static const uint64_t pages3[3] = {0x7f12a000, 0x7f12b000, 0};
static const int32_t nodes3[3] = {1, 1, 1};
static const int32_t status3[3] = {1, 1, -EFAULT};

static int setup(void **state)
{
	(void)state;
	fake_init(&f);
	f.ev.count = 3;
	fake_arrays(&f, 3, pages3, nodes3, status3);
	fake_migrate_init(&m);
	use_migrate = false;
	sb_reset(&sb);
	return 0;
}

/* The record under test: f, or m after use_migrate. */
static void parse_current(struct mpt_view *v)
{
	const char *why;

	if (use_migrate)
		assert_int_equal(mpt_event_parse(&m, m.ev.size, v, &why), 0);
	else
		assert_int_equal(mpt_event_parse(&f, f.ev.size, v, &why), 0);
}

/*
 * An older record (m, a migrate_pages one of version 4, or f, a move_pages
 * one of version 5) prints exactly as the same call in this version's
 * generic record: what @fmt made of it, in sb, is checked against the
 * twin's, in every format a test asks for, with every detection's finding.
 */
static void check_twin(void (*fmt)(struct strbuf *, const struct mpt_view *,
				   const struct mpt_fmt_ctx *))
{
	static struct fake_call twin;
	struct mpt_view v;
	struct strbuf o;
	const char *why;

	if (use_migrate)
		fake_migrate_as_call(&m, &twin);
	else
		fake_move_as_call(&f, &twin);
	assert_int_equal(mpt_event_parse(&twin, twin.ev.size, &v, &why), 0);
	assert_ptr_equal(v.raw, &twin);
	sb_init(&o);
	fmt(&o, &v, &ctx);
	for (int r = 0; r < MPT_DET_NR; r++)
		mpt_format_detection(MPT_FMT_OCSF, &o, r, &v, &ctx);
	assert_false(o.oom);
	sb_putc(&o, '\0');
	parse_current(&v);
	assert_ptr_equal(v.raw, use_migrate ? (const void *)&m : (const void *)&f);
	assert_int_equal(v.raw_size, use_migrate ? m.ev.size : f.ev.size);
	sb_reset(&sb);
	fmt(&sb, &v, &ctx);
	for (int r = 0; r < MPT_DET_NR; r++)
		mpt_format_detection(MPT_FMT_OCSF, &sb, r, &v, &ctx);
	sb_putc(&sb, '\0');
	assert_string_equal(sb.buf, o.buf);
	sb_free(&o);
}

static const char *table(void)
{
	struct mpt_view v;

	check_twin(mpt_format_table);
	parse_current(&v);
	sb_reset(&sb);
	mpt_format_table(&sb, &v, &ctx);
	sb_putc(&sb, '\0');
	return sb.buf;
}

/* Format the record with @fmt, keep the line in @keep for its check, and parse it back. */
static json_t *formatted(void (*fmt)(struct strbuf *, const struct mpt_view *,
				     const struct mpt_fmt_ctx *),
			 FILE *keep, bool with_ocsf)
{
	struct mpt_view v;
	json_error_t err;
	json_t *root;

	check_twin(fmt);
	parse_current(&v);
	sb_reset(&sb);
	fmt(&sb, &v, &ctx);
	assert_true(sb.len > 0 && sb.buf[sb.len - 1] == '\n');
	assert_null(memchr(sb.buf, '\n', sb.len - 1)); /* exactly one line */
	fwrite(sb.buf, 1, sb.len, keep);
	if (with_ocsf)
		ocsf_lines(&v);
	root = json_loadb(sb.buf, sb.len, 0, &err);
	if (!root)
		fail_msg("invalid JSON (%s): %.*s", err.text, (int)sb.len, sb.buf);
	return root;
}

/* As JSON, for the schema check, and the same record as OCSF for the OCSF check. */
static json_t *json(void)
{
	return formatted(mpt_format_json, samples, true);
}

static json_t *ocsf(void)
{
	return formatted(mpt_format_ocsf, ocsf_samples, false);
}

/* The value at a dotted @path ("actor.process.pid"). */
static json_t *at(json_t *o, const char *path)
{
	char buf[128], *save, *k;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		o = json_object_get(o, k);
	if (!o)
		fail_msg("no %s", path);
	return o;
}

static json_int_t jint(json_t *o, const char *path)
{
	json_t *v = at(o, path);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

static const char *jstr(json_t *o, const char *path)
{
	json_t *v = at(o, path);

	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

/* The OCSF mapping, field by field, as the README's table gives it. */
static void test_ocsf_mapping(void **state)
{
	json_t *o;

	(void)state;
	/* a migration of three pages: Modify Page, by the caller, of its own pages */
	o = ocsf();
	assert_int_equal(jint(o, "class_uid"), 1004);
	assert_int_equal(jint(o, "category_uid"), 1);
	assert_int_equal(jint(o, "activity_id"), 2);
	assert_int_equal(jint(o, "type_uid"), 100402);
	assert_int_equal(jint(o, "time"), (f.ev.ts_boot_ns + ctx.boot_to_wall_ns) / 1000000);
	assert_int_equal(jint(o, "status_id"), 1);
	assert_int_equal(jint(o, "actor.process.pid"), f.ev.task.host_tgid);
	assert_int_equal(jint(o, "actor.process.ptid"), f.ev.task.host_tid);
	assert_int_equal(jint(o, "actor.process.parent_process.pid"), f.ev.task.host_ptgid);
	assert_string_equal(jstr(o, "actor.process.name"), "numad");
	assert_int_equal(jint(o, "process.pid"), f.ev.task.host_tgid);
	assert_string_equal(jstr(o, "device.hostname"), "node-7");
	assert_string_equal(jstr(o, "device.boot_uid"), ctx.boot_id);
	assert_string_equal(jstr(o, "device.os.kernel_release"), "6.18.0-test");
	assert_string_equal(jstr(o, "metadata.version"), "1.8.0");
	assert_string_equal(jstr(o, "metadata.product.name"), "mptrace");
	assert_null(json_object_get(o, "base_address")); /* three pages: no one address */
	assert_int_equal(json_array_size(json_object_get(json_object_get(o, "unmapped"), "args")),
			 6);
	json_decref(o);

	/* a failed query of another process's page: Other, Failure, the target by its pid */
	f.ev.nodes = 0;
	f.ev.nodes_state = MPT_ARRAY_NULL;
	f.ev.pid = 4242;
	f.ev.count = 1;
	f.ev.ret = -ESRCH;
	f.ev.status_state = MPT_ARRAY_NOT_FILLED;
	fake_arrays(&f, 1, pages3, NULL, NULL);
	o = ocsf();
	assert_int_equal(jint(o, "activity_id"), 99);
	assert_string_equal(jstr(o, "activity_name"), "Query Page Nodes");
	assert_int_equal(jint(o, "type_uid"), 100499);
	assert_int_equal(jint(o, "status_id"), 2);
	assert_string_equal(jstr(o, "status_code"), "ESRCH");
	assert_string_equal(jstr(o, "status_detail"), "No such process");
	assert_int_equal(jint(o, "process.pid"), 4242);
	assert_string_equal(jstr(o, "base_address"), "0x7f12a000");
	assert_int_equal(jint(o, "size"), 4096);
	json_decref(o);
}

static json_t *arg(json_t *root, size_t i, const char *name)
{
	json_t *a = json_array_get(json_object_get(root, "args"), i);

	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "name")), name);
	return a;
}

static void test_table_example(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	/* 1700000000 s after the epoch is 22:13:20 UTC */
	assert_string_equal(table(), "22:13:21.123456 numad[812] move_pages(0, 3, [0x7f12a000, "
				     "0x7f12b000, NULL], [1, 1, 1], [1, 1, -EFAULT], "
				     "MPOL_MF_MOVE) = 0 <0.000041>\n");
}

static void test_table_error_return(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	f.ev.ret = -EINVAL;
	f.ev.flags = 0x10;
	f.ev.status_state = MPT_ARRAY_NOT_FILLED;
	fake_arrays(&f, 3, pages3, nodes3, NULL);
	assert_string_equal(table(),
			    "22:13:21.123456 numad[812] move_pages(0, 3, [0x7f12a000, "
			    "0x7f12b000, NULL], [1, 1, 1], 0x7ffd2000, 0x10 /* MPOL_??? */) = -1 "
			    "EINVAL (Invalid argument) <0.000041>\n");
}

/* ENODEV part way: status[] as the return found it, said to be written only up to the failure */
static void test_status_written_in_part(void **state)
{
	static const int32_t status2[] = {1, -12345};
	json_t *root, *st;

	(void)state;
	setenv("TZ", "UTC", 1);
	f.ev.count = 2;
	f.ev.ret = -ENODEV;
	f.ev.status_state = MPT_ARRAY_PARTIAL;
	fake_arrays(&f, 2, pages3, nodes3, status2);
	assert_string_equal(table(),
			    "22:13:21.123456 numad[812] move_pages(0, 2, [0x7f12a000, "
			    "0x7f12b000], [1, 1], [1, -12345] /* written up to the element "
			    "that failed */, MPOL_MF_MOVE) = -1 ENODEV (No such device) "
			    "<0.000041>\n");
	root = json();
	st = arg(root, 4, "status");
	assert_true(json_is_true(json_object_get(st, "writtenInPart")));
	assert_int_equal(json_integer_value(json_array_get(json_object_get(st, "data"), 0)), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(st, "data"), 1)),
			 -12345);
	assert_null(json_object_get(st, "readError"));
	json_decref(root);
}

/* pages[] not in memory at the entry, read at the return: its data, said so, and no change check */
static void test_pages_read_at_return(void **state)
{
	json_t *root, *pg;

	(void)state;
	setenv("TZ", "UTC", 1);
	f.ev.pages_state = MPT_ARRAY_AT_RETURN;
	f.ev.kview = MPT_KVIEW_NOT_READ; /* the kernel's view had no pages[] to check against */
	fake_arrays(&f, 3, pages3, nodes3, status3);
	assert_string_equal(table(), "22:13:21.123456 numad[812] move_pages(0, 3, [0x7f12a000, "
				     "0x7f12b000, NULL] /* not in memory at the entry: read at the "
				     "return */, [1, 1, 1], [1, 1, -EFAULT], MPOL_MF_MOVE) = 0 "
				     "<0.000041>\n");
	root = json();
	pg = arg(root, 2, "pages");
	assert_true(json_is_true(json_object_get(pg, "readAtReturn")));
	assert_int_equal(json_array_size(json_object_get(pg, "data")), 3);
	assert_null(json_object_get(pg, "changedDuringCall"));
	assert_string_equal(json_string_value(json_object_get(pg, "kernelView")), "not read");
	assert_non_null(json_object_get(arg(root, 3, "nodes"), "changedDuringCall"));
	json_decref(root);
}

static void test_table_thread_query_fault(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	f.ev.task.host_tid = 813;
	f.ev.pid = 99;
	f.ev.nodes = 0;
	f.ev.nodes_state = MPT_ARRAY_NULL;
	f.ev.pages_state = MPT_ARRAY_FAULT;
	f.ev.status_state = MPT_ARRAY_NOT_FILLED;
	f.ev.ret = -EFAULT;
	f.ev.flags = 0;
	f.ev.duration_ns = 2500000001ull;
	fake_arrays(&f, 3, NULL, NULL, NULL);
	assert_string_equal(table(), "22:13:21.123456 numad[812/813] move_pages(99, 3, 0x7ffd0000, "
				     "NULL, 0x7ffd2000, 0) = -1 EFAULT (Bad address) "
				     "<2.500000>\n");
}

static void test_table_truncated_and_positive(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	f.ev.count = 1000;
	f.ev.ret = 2;
	fake_arrays(&f, 3, pages3, nodes3, status3);
	assert_non_null(strstr(table(),
			       "move_pages(0, 1000, [0x7f12a000, 0x7f12b000, NULL, ...], "
			       "[1, 1, 1, ...], [1, 1, -EFAULT, ...], MPOL_MF_MOVE) = 2 "));
	/* count 0: empty arrays, nothing truncated */
	f.ev.count = 0;
	fake_arrays(&f, 0, pages3, nodes3, status3);
	assert_non_null(strstr(table(), "move_pages(0, 0, [], [], [], MPOL_MF_MOVE) = 2 "));
}

static void test_table_comm_escaped(void **state)
{
	(void)state;
	memcpy(f.ev.task.comm, "a\\b\x01\xff", 6);
	assert_non_null(strstr(table(), " a\\x5cb\\x01\\xff[812] "));
}

static void test_json_all_fields(void **state)
{
	json_t *root, *a, *data;

	(void)state;
	f.ev.task.ns_tgid = 1;
	f.ev.task.ns_tid = 1;
	f.ev.task.ns_ptgid = 0;
	f.ev.task.uid = 1000;
	f.ev.task.gid = 1001;
	f.ev.ret = 1;
	root = json();
	assert_int_equal(json_integer_value(json_object_get(root, "timestamp")),
			 1700000001123456789ll);
	assert_int_equal(json_integer_value(json_object_get(root, "processorId")), 1);
	assert_int_equal(json_integer_value(json_object_get(root, "processId")), 1);
	assert_int_equal(json_integer_value(json_object_get(root, "threadId")), 1);
	assert_int_equal(json_integer_value(json_object_get(root, "parentProcessId")), 0);
	assert_int_equal(json_integer_value(json_object_get(root, "hostProcessId")), 812);
	assert_int_equal(json_integer_value(json_object_get(root, "hostThreadId")), 812);
	assert_int_equal(json_integer_value(json_object_get(root, "hostParentProcessId")), 1);
	assert_int_equal(json_integer_value(json_object_get(root, "userId")), 1000);
	assert_int_equal(json_integer_value(json_object_get(root, "groupId")), 1001);
	assert_string_equal(json_string_value(json_object_get(root, "processName")), "numad");
	assert_string_equal(json_string_value(json_object_get(root, "hostName")), "node-7");
	assert_int_equal(json_integer_value(json_object_get(root, "cgroupId")), 4242);
	assert_string_equal(json_string_value(json_object_get(root, "eventName")), "move_pages");
	assert_string_equal(json_string_value(json_object_get(root, "syscall")), "move_pages");
	assert_string_equal(json_string_value(json_object_get(root, "abi")), "x86_64");
	assert_null(json_object_get(root, "returnMissing"));
	assert_int_equal(json_integer_value(json_object_get(root, "argsNum")), 6);
	assert_int_equal(json_integer_value(json_object_get(root, "returnValue")), 1);
	assert_int_equal(json_integer_value(json_object_get(root, "durationNs")), 41000);
	assert_int_equal(json_array_size(json_object_get(root, "args")), 6);

	a = arg(root, 0, "pid");
	assert_string_equal(json_string_value(json_object_get(a, "type")), "int");
	assert_int_equal(json_integer_value(json_object_get(a, "value")), 0);
	a = arg(root, 1, "count");
	assert_string_equal(json_string_value(json_object_get(a, "type")), "unsigned long");
	assert_int_equal(json_integer_value(json_object_get(a, "value")), 3);
	a = arg(root, 2, "pages");
	assert_string_equal(json_string_value(json_object_get(a, "type")), "const void**");
	assert_string_equal(json_string_value(json_object_get(a, "value")), "0x7ffd0000");
	data = json_object_get(a, "data");
	assert_int_equal(json_array_size(data), 3);
	assert_string_equal(json_string_value(json_array_get(data, 0)), "0x7f12a000");
	assert_string_equal(json_string_value(json_array_get(data, 2)), "0x0");
	assert_true(json_is_false(json_object_get(a, "truncated")));
	assert_null(json_object_get(a, "readError"));
	/* read again at the return: unchanged */
	assert_true(json_is_false(json_object_get(a, "changedDuringCall")));
	assert_null(json_object_get(a, "dataAtExit"));
	a = arg(root, 3, "nodes");
	assert_true(json_is_false(json_object_get(a, "changedDuringCall")));
	assert_string_equal(json_string_value(json_object_get(a, "type")), "const int*");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(a, "data"), 2)), 1);
	a = arg(root, 4, "status");
	assert_string_equal(json_string_value(json_object_get(a, "type")), "int*");
	assert_string_equal(json_string_value(json_object_get(a, "value")), "0x7ffd2000");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(a, "data"), 2)),
			 -EFAULT);
	assert_null(json_object_get(a, "changedDuringCall")); /* written by the kernel */
	a = arg(root, 5, "flags");
	assert_string_equal(json_string_value(json_object_get(a, "type")), "int");
	assert_int_equal(json_integer_value(json_object_get(a, "value")), 2);
	assert_string_equal(json_string_value(json_object_get(a, "decoded")), "MPOL_MF_MOVE");
	json_decref(root);
}

/* An ia32 call: pages[] of 32-bit pointers, then the exit's copy of pages[] appended. */
static void fake_ia32_changed(void)
{
	static const uint32_t p32[2] = {0x5000, 0x6000}, p32_exit[2] = {0x9000, 0x6000};
	static const int32_t n2[2] = {0, 0}, s2[2] = {0, 0};
	unsigned char *p = f.data;

	f.ev.abi = MPT_ABI_IA32;
	f.ev.count = 2;
	f.ev.pages = 0x8000;
	f.ev.nodes = 0x8010;
	f.ev.status = 0x8020;
	f.ev.pages_n = f.ev.nodes_n = f.ev.status_n = 2;
	memcpy(p, p32, 8), p += 8;
	memcpy(p, n2, 8), p += 8;
	memcpy(p, s2, 8), p += 8;
	memcpy(p, p32_exit, 8), p += 8;
	f.ev.changed = MPT_CHANGED_PAGES;
	f.ev.size = sizeof(struct mpt_event) + (p - f.data);
}

static void test_table_ia32_changed(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	fake_ia32_changed();
	assert_string_equal(table(), "22:13:21.123456 numad[812] [ia32] move_pages(0, 2, [0x5000, "
				     "0x6000] /* CHANGED DURING CALL, at exit: [0x9000, 0x6000] */"
				     ", [0, 0], [0, 0], MPOL_MF_MOVE) = 0 <0.000041>\n");
	/* unreadable at the return */
	f.ev.nodes_exit_state = MPT_ARRAY_FAULT;
	f.ev.changed |= MPT_CHANGED_NODES;
	assert_string_equal(table(), "22:13:21.123456 numad[812] [ia32] move_pages(0, 2, [0x5000, "
				     "0x6000] /* CHANGED DURING CALL, at exit: [0x9000, 0x6000] */"
				     ", [0, 0] /* CHANGED DURING CALL, at exit: EFAULT */, [0, 0], "
				     "MPOL_MF_MOVE) = 0 <0.000041>\n");
}

static void test_json_ia32_changed(void **state)
{
	json_t *root, *a, *d;

	(void)state;
	fake_ia32_changed();
	f.ev.nodes_exit_state = MPT_ARRAY_FAULT;
	f.ev.changed |= MPT_CHANGED_NODES;
	root = json();
	assert_string_equal(json_string_value(json_object_get(root, "abi")), "ia32");
	a = arg(root, 2, "pages");
	d = json_object_get(a, "data");
	assert_string_equal(json_string_value(json_array_get(d, 0)), "0x5000");
	assert_true(json_is_true(json_object_get(a, "changedDuringCall")));
	d = json_object_get(a, "dataAtExit");
	assert_int_equal(json_array_size(d), 2);
	assert_string_equal(json_string_value(json_array_get(d, 0)), "0x9000");
	assert_string_equal(json_string_value(json_array_get(d, 1)), "0x6000");
	a = arg(root, 3, "nodes");
	assert_true(json_is_true(json_object_get(a, "changedDuringCall")));
	assert_true(json_is_null(json_object_get(a, "dataAtExit")));
	assert_string_equal(json_string_value(json_object_get(a, "exitReadError")), "EFAULT");
	json_decref(root);
}

/* The kernel migrated a page the recorded pages[] does not hold. */
static void test_kernel_migrated_other(void **state)
{
	static const uint64_t other = 0x7f99000;
	json_t *root, *a, *d;

	(void)state;
	setenv("TZ", "UTC", 1);
	/* after pages[] and nodes[], before status[] */
	memmove(f.data + 3 * 8 + 3 * 4 + 8, f.data + 3 * 8 + 3 * 4, 3 * 4);
	memcpy(f.data + 3 * 8 + 3 * 4, &other, 8);
	f.ev.kernel_other_n = 1;
	f.ev.size += 8;
	assert_string_equal(table(),
			    "22:13:21.123456 numad[812] move_pages(0, 3, [0x7f12a000, "
			    "0x7f12b000, NULL] /* KERNEL MIGRATED PAGES NOT IN IT: "
			    "[0x7f99000] */, [1, 1, 1], [1, 1, -EFAULT], MPOL_MF_MOVE) = 0 "
			    "<0.000041>\n");
	root = json();
	a = arg(root, 2, "pages");
	d = json_object_get(a, "migratedNotInArray");
	assert_int_equal(json_array_size(d), 1);
	assert_string_equal(json_string_value(json_array_get(d, 0)), "0x7f99000");
	assert_null(json_object_get(arg(root, 3, "nodes"), "migratedNotInArray"));
	json_decref(root);
}

/* Reported from its entry alone: no return value, no status, no re-read. */
static void test_return_missing(void **state)
{
	json_t *root, *a;

	(void)state;
	setenv("TZ", "UTC", 1);
	f.ev.ret_state = MPT_RET_UNTRACKED;
	f.ev.duration_ns = 0;
	f.ev.status_state = MPT_ARRAY_NO_RETURN;
	fake_arrays(&f, 3, pages3, nodes3, NULL);
	assert_string_equal(table(), "22:13:21.123456 numad[812] move_pages(0, 3, [0x7f12a000, "
				     "0x7f12b000, NULL], [1, 1, 1], 0x7ffd2000, MPOL_MF_MOVE) = ? "
				     "<untracked: return not seen>\n");
	root = json();
	assert_true(json_is_null(json_object_get(root, "returnValue")));
	assert_true(json_is_null(json_object_get(root, "durationNs")));
	assert_string_equal(json_string_value(json_object_get(root, "returnMissing")), "untracked");
	a = arg(root, 2, "pages");
	assert_null(json_object_get(a, "changedDuringCall"));
	a = arg(root, 4, "status");
	assert_string_equal(json_string_value(json_object_get(a, "readError")),
			    "not read: the return was not seen");
	json_decref(root);
}

/* What the user side adds, and the table's container tag. */
static void test_context_fields(void **state)
{
	static const struct mpt_enrich en = {
	    "/system.slice/docker-3f4e.scope",
	    "/usr/sbin/numad",
	    "3f4e2a1b9c0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f",
	    "docker",
	    "",
	    NULL,
	    NULL,
	    NULL};
	struct mpt_view v;
	const char *why;
	json_error_t err;
	json_t *root;

	(void)state;
	setenv("TZ", "UTC", 1);
	f.ev.task.mnt_ns = 4026531841u;
	f.ev.task.pid_ns = 4026531836u;
	f.ev.task.start_ns = 1000000000;
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	v.enrich = &en;
	sb_reset(&sb);
	mpt_format_json(&sb, &v, &ctx);
	fwrite(sb.buf, 1, sb.len, samples);
	ocsf_lines(&v);
	root = json_loadb(sb.buf, sb.len, 0, &err);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "cgroupPath")), en.cgroup_path);
	assert_string_equal(json_string_value(json_object_get(root, "containerId")),
			    en.container_id);
	assert_string_equal(json_string_value(json_object_get(root, "containerRuntime")), "docker");
	assert_string_equal(json_string_value(json_object_get(root, "podUid")), "");
	assert_int_equal(json_integer_value(json_object_get(root, "mountNamespace")), 4026531841u);
	assert_int_equal(json_integer_value(json_object_get(root, "pidNamespace")), 4026531836u);
	assert_int_equal(json_integer_value(json_object_get(root, "processStartTime")),
			 1700000001000000000ll);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "executable"), "path")),
	    "/usr/sbin/numad");
	json_decref(root);

	sb_reset(&sb);
	mpt_format_table(&sb, &v, &ctx);
	sb_putc(&sb, '\0');
	assert_non_null(strstr(sb.buf, " numad[812] ctr:3f4e2a1b9c0d move_pages(0, 3,"));
}

/* A line parsed back (@buf holds one or more; @skip of them are passed over). */
static json_t *line_at(const struct strbuf *b, int skip)
{
	const char *p = b->buf;
	json_error_t err;

	while (skip-- > 0)
		p = strchr(p, '\n') + 1;
	return json_loadb(p, strcspn(p, "\n"), 0, &err);
}

static const char *entity(uint32_t tgid, uint64_t start_ns)
{
	static char id[4][MPT_ENTITY_ID_LEN];
	static int n;

	mpt_entity_id(id[n % 4], ctx.boot_id, tgid, start_ns);
	return id[n++ % 4];
}

/*
 * OCSF stays lean: the parent one level deep and the rest a flat ancestry of
 * entities; the caller as its own target is named, not copied; a finding
 * points at its call by uid and carries its ATT&CK place and observables.
 */
static void test_ocsf_lean(void **state)
{
	static const struct mpt_proc_info self = {.tgid = 812, .start_ns = 5000, .comm = "numad"};
	static const struct mpt_proc_info up[3] = {
	    {.tgid = 700, .start_ns = 4000, .comm = "bash", .exe = "/usr/bin/bash"},
	    {.tgid = 600, .start_ns = 3000, .comm = "sshd", .exe = "/usr/sbin/sshd"},
	    {.tgid = 1, .start_ns = 1000, .comm = "systemd", .exe = "/usr/lib/systemd/systemd"}};
	struct mpt_lineage_view lin = {.self = &self, .anc = {&up[0], &up[1], &up[2]}, .n_anc = 3};
	struct mpt_enrich en = {"", "/usr/sbin/numad", "", "", "", &lin, NULL, NULL};
	json_t *o, *fnd, *anc, *proc, *obs;
	struct mpt_view v;
	const char *why;
	struct strbuf b;
	size_t i;

	(void)state;
	f.ev.task.host_tgid = 812;
	f.ev.task.start_ns = 5000;
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	v.enrich = &en;
	sb_init(&b);
	mpt_format_ocsf(&b, &v, &ctx);
	mpt_format_detection(MPT_FMT_OCSF, &b, MPT_DET_CHANGED_DURING_CALL, &v, &ctx);
	fwrite(b.buf, 1, b.len, ocsf_samples);
	o = line_at(&b, 0);
	fnd = line_at(&b, 1);
	assert_non_null(o);
	assert_non_null(fnd);
	assert_int_equal(jint(o, "actor.process.ptid"), f.ev.task.host_tid);
	assert_null(json_object_get(at(o, "actor.process"), "tid"));
	assert_string_equal(jstr(o, "actor.process.uid"), entity(812, 5000));
	assert_string_equal(jstr(o, "actor.process.parent_process.uid"), entity(700, 4000));
	assert_string_equal(jstr(o, "actor.process.parent_process.file.path"), "/usr/bin/bash");
	assert_null(json_object_get(at(o, "actor.process.parent_process"), "parent_process"));
	anc = at(o, "actor.process.ancestry");
	assert_int_equal(json_array_size(anc), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(jint(json_array_get(anc, i), "pid"), up[i].tgid);
		assert_string_equal(jstr(json_array_get(anc, i), "uid"),
				    entity(up[i].tgid, up[i].start_ns));
		assert_string_equal(jstr(json_array_get(anc, i), "path"), up[i].exe);
	}
	/* pid 0: the caller's own pages; it is named, not copied */
	proc = at(o, "process");
	assert_int_equal(json_object_size(proc), 2);
	assert_string_equal(jstr(o, "process.uid"), entity(812, 5000));
	obs = at(o, "observables");
	assert_true(json_array_size(obs) >= 4);
	assert_string_equal(jstr(json_array_get(obs, 2), "name"), "actor.process.pid");
	assert_int_equal(jint(json_array_get(obs, 2), "type_id"), 15);
	assert_string_equal(jstr(json_array_get(obs, 2), "value"), "812");
	/* the finding */
	assert_string_equal(jstr(json_array_get(at(fnd, "finding_info.related_events"), 0), "uid"),
			    jstr(o, "metadata.uid"));
	assert_int_equal(
	    jint(json_array_get(at(fnd, "finding_info.related_events"), 0), "type_uid"),
	    jint(o, "type_uid"));
	anc = json_array_get(at(fnd, "finding_info.attacks"), 0);
	assert_string_equal(jstr(anc, "tactic.uid"), "TA0005");
	assert_string_equal(jstr(anc, "technique.uid"), "T1562");
	assert_string_equal(jstr(anc, "technique.name"), "Impair Defenses");
	assert_string_equal(jstr(anc, "sub_technique.uid"), "T1562.006");
	assert_string_equal(jstr(anc, "sub_technique.name"), "Indicator Blocking");
	assert_string_equal(jstr(anc, "version"), MPT_ATTACK_VERSION);
	proc = json_array_get(at(fnd, "evidences"), 0);
	assert_null(json_object_get(proc, "data"));
	assert_string_equal(jstr(proc, "process.uid"), entity(812, 5000));
	assert_true(json_array_size(at(fnd, "observables")) >= 4);
	json_decref(o);
	json_decref(fnd);
	sb_free(&b);
}

/* The pipeline's end in a test: the line kept. */
static int keep_line(void *ctx, const struct strbuf *line)
{
	struct strbuf *out = ctx;

	sb_reset(out);
	sb_put(out, line->buf, line->len);
	return 0;
}

/* Where the event is among the lines, for --ancestors 1, 0 and all. */
static const int event_line[] = {3, 1, 0};

/*
 * A line cut by --ancestors comes after a process record of each ancestor not
 * put out before, the eldest first, each linked to its parent; once put out, a
 * process comes again only with a new image. In the lean form (i == 1) the
 * caller's record comes too, the last, with its executable's inode.
 */
static void check_process_records(struct strbuf *line, int i)
{
	static const uint32_t eldest_first[] = {1, 600, 700};
	json_t *o;

	for (int k = 0; i == 0 && k < 3; k++) {
		o = line_at(line, k);
		assert_string_equal(jstr(o, "eventName"), "process");
		assert_int_equal(jint(o, "hostProcessId"), eldest_first[k]);
		if (k)
			assert_string_equal(jstr(o, "parentEntityId"),
					    entity(eldest_first[k - 1], 1000000000ull * (k + 1)));
		json_decref(o);
	}
	if (i == 1) {
		o = line_at(line, 0);
		assert_string_equal(jstr(o, "eventName"), "process");
		assert_string_equal(jstr(o, "entityId"), entity(812, 5000000000));
		assert_string_equal(jstr(o, "parentEntityId"), entity(700, 4000000000));
		assert_string_equal(jstr(o, "executable.path"), "/opt/app/bin");
		assert_int_equal(jint(o, "executable.inode"), 4242);
		assert_string_equal(json_string_value(json_array_get(at(o, "commandLine"), 1)),
				    "--x");
		json_decref(o);
	}
	o = line_at(line, event_line[i]);
	assert_string_not_equal(jstr(o, "eventName"), "process");
	json_decref(o);
}

/*
 * What the lean line (--ancestors 0) leaves to the records and descriptions,
 * and what the complete one has: the caller's start, executable and command
 * line, argument types, argsNum, the syscall that is the event's name, an
 * empty runtime, a false truncated, user ids equal to userId.
 */
static void check_lean(json_t *o, bool lean)
{
	static const char *const left[] = {"processStartTime",
					   "executable",
					   "commandLine",
					   "commandLineTruncated",
					   "ancestors",
					   "argsNum",
					   "syscall",
					   "containerRuntime",
					   "podUid"};
	json_t *pages = json_array_get(at(o, "args"), 2);

	for (size_t k = 0; k < sizeof(left) / sizeof(left[0]); k++)
		assert_int_equal(json_object_get(o, left[k]) == NULL, lean);
	assert_int_equal(json_object_get(pages, "type") == NULL, lean);
	assert_int_equal(json_object_get(pages, "truncated") == NULL, lean);
	assert_int_equal(json_object_get(at(o, "credentials"), "effectiveUserId") == NULL, lean);
	assert_string_equal(jstr(o, "eventName"), "move_pages");
	assert_string_equal(jstr(o, "containerId"), "");
	assert_non_null(json_object_get(at(o, "credentials"), "capabilities"));
	assert_non_null(json_object_get(pages, "data"));
}

/*
 * @up's process execs the same file with arguments of the same length: its
 * record comes again before the next line, with the new command line (a
 * record keyed on numbers alone would let the old one stand for it). The
 * last pair differs in the bits a 64-bit multiply-xorshift hash of the
 * content cancels out (bit 63 of one word, bits 63 and 34 of the next), for
 * any seed: a set of such hashes took the crafted one for the one before.
 */
static void check_record_follows_argv(struct mpt_pipe *pipe, struct strbuf *line,
				      const struct mpt_view *v, struct mpt_proc_info *up)
{
	static const unsigned char first[] = "sh\0-c\0benign", second[] = "sh\0-c\0evil!!";
	static const unsigned char third[] = "sh\0-c\0echo hello; sleep 1";
	static const unsigned char crafted[] = "sh\0-c\0echo hell\xef; slaep\xa0"
					       "1";
	const struct {
		const unsigned char *argv;
		uint16_t len;
		const char *arg2;
	} execs[] = {{first, sizeof(first), "benign"},
		     {second, sizeof(second), "evil!!"},
		     {third, sizeof(third), "echo hello; sleep 1"},
		     {crafted, sizeof(crafted), NULL}}; /* not UTF-8: escaped */
	json_t *o;

	assert_int_equal(sizeof(third), sizeof(crafted));
	for (size_t i = 0; i < sizeof(execs) / sizeof(execs[0]); i++) {
		up->argv = execs[i].argv;
		up->argv_len = execs[i].len;
		assert_int_equal(mpt_pipe_event(pipe, v, &ctx), 1);
		o = line_at(line, 0);
		assert_string_equal(jstr(o, "eventName"), "process");
		assert_int_equal(jint(o, "hostProcessId"), up->tgid);
		if (execs[i].arg2)
			assert_string_equal(
			    json_string_value(json_array_get(at(o, "commandLine"), 2)),
			    execs[i].arg2);
		json_decref(o);
	}
	up->argv = NULL;
	up->argv_len = 0;
	assert_int_equal(mpt_pipe_event(pipe, v, &ctx), 1); /* back: its record again */
	/* what a record does not print (live only: a capture keeps neither) brings none */
	up->uid = 1000;
	up->pid_ns = 4026531836u;
	assert_int_equal(mpt_pipe_event(pipe, v, &ctx), 1);
	o = line_at(line, 0);
	assert_string_equal(jstr(o, "eventName"), "move_pages");
	json_decref(o);
	up->uid = 0;
	up->pid_ns = 0;
}

/* Lean, but the call found its file deleted, which the caller's record cannot say: here. */
static void check_marked_exe(struct mpt_pipe *pipe, struct strbuf *line,
			     const struct mpt_enrich *en)
{
	struct mpt_view v;
	const char *why;
	json_t *o;

	f.ev.task.exe = MPT_PROC_EXE_DELETED;
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	v.enrich = en;
	assert_int_equal(mpt_pipe_event(pipe, &v, &ctx), 1);
	o = line_at(line, 0);
	assert_true(json_is_true(at(o, "executable.deleted")));
	assert_int_equal(jint(o, "executable.inode"), 4242);
	assert_null(json_object_get(o, "commandLine"));
	json_decref(o);
}

/*
 * JSON names processes by entity id, the same for the tick-exact start the
 * kernel gives and the tick /proc gives; --ancestors cuts the chain in the
 * line (and says so) and leaves the event whole for the rest of the pipeline.
 */
static void test_json_entities_and_ancestors(void **state)
{
	static const unsigned char argv[] = "bin\0--x";
	static const struct mpt_proc_info self = {.tgid = 812,
						  .ptgid = 700,
						  .start_ns = 5000000000,
						  .pstart_ns = 4000000000,
						  .exe = "/opt/app/bin",
						  .exe_ino = 4242,
						  .argv = argv,
						  .argv_len = sizeof(argv)};
	static struct mpt_proc_info up[3] = {
	    {.tgid = 700, .ptgid = 600, .start_ns = 4003000000, .pstart_ns = 3000000000, .exe = ""},
	    {.tgid = 600, .ptgid = 1, .start_ns = 3000000000, .pstart_ns = 2000000000, .exe = ""},
	    {.tgid = 1, .start_ns = 2000000000, .exe = ""}};
	struct mpt_lineage_view lin = {.self = &self, .anc = {&up[0], &up[1], &up[2]}, .n_anc = 3};
	struct mpt_enrich en = {"", "", "", "", "", &lin, NULL, NULL};
	static const int32_t cut[] = {1, 0, -1};
	struct mpt_pipe pipe;
	struct strbuf line;
	struct mpt_view v;
	const char *why;
	json_t *o, *anc;

	(void)state;
	f.ev.task.host_tgid = 812;
	f.ev.task.start_ns = 5000000000;
	f.ev.task.cred = MPT_CRED_KNOWN; /* and euid, suid 0, as uid */
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	v.enrich = &en;
	/* 4.000 s exact, 4.003 s from /proc: the same tick, the same id; the next tick another */
	assert_string_equal(entity(700, 4000000000), entity(700, 4003000000));
	assert_string_not_equal(entity(700, 4000000000), entity(700, 4010000000));
	assert_string_not_equal(entity(700, 4000000000), entity(701, 4000000000));
	sb_init(&line);
	mpt_pipe_init(&pipe);
	pipe.format = MPT_FMT_JSON;
	pipe.end = keep_line;
	pipe.end_ctx = &line;
	for (int i = 0; i < 3; i++) {
		pipe.max_ancestors = cut[i];
		assert_int_equal(mpt_pipe_event(&pipe, &v, &ctx), 1);
		fwrite(line.buf, 1, line.len, samples);
		check_process_records(&line, i);
		o = line_at(&line, event_line[i]);
		check_lean(o, cut[i] == 0);
		assert_non_null(o);
		assert_string_equal(jstr(o, "entityId"), entity(812, 5000000000));
		assert_string_equal(jstr(o, "parentEntityId"), entity(700, 4000000000));
		anc = json_object_get(o, "ancestors");
		assert_int_equal(json_array_size(anc), cut[i] < 0 ? 3 : (size_t)cut[i]);
		assert_int_equal(json_is_true(at(o, "ancestorsTruncated")), cut[i] >= 0);
		if (json_array_size(anc))
			assert_int_equal(jint(json_array_get(anc, 0), "hostProcessId"), 700);
		json_decref(o);
	}
	assert_int_equal(lin.n_anc, 3); /* the event itself is left whole */
	assert_false(lin.anc_truncated);
	/* the parent runs another image: its record again, and only its */
	up[0].exe_ino = 77;
	pipe.max_ancestors = 0;
	assert_int_equal(mpt_pipe_event(&pipe, &v, &ctx), 1);
	o = line_at(&line, 0);
	assert_int_equal(jint(o, "hostProcessId"), 700);
	assert_string_equal(jstr(o, "eventName"), "process");
	json_decref(o);
	o = line_at(&line, 1);
	assert_string_equal(jstr(o, "eventName"), "move_pages");
	json_decref(o);
	up[0].exe_ino = 0;
	check_record_follows_argv(&pipe, &line, &v, &up[0]);
	check_marked_exe(&pipe, &line, &en);
	mpt_pipe_free(&pipe);
	sb_free(&line);
}

static size_t lines_in(const struct strbuf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->buf[i] == '\n';
	return n;
}

/* One event of process 812 through @pipe, its chain as the tracker has it now: the lines. */
static size_t event_from(struct mpt_pipe *pipe, struct strbuf *line, const struct mpt_lineage *l)
{
	struct mpt_lineage_view lin;
	struct mpt_enrich en = {"", "", "", "", "", &lin, NULL, NULL};
	struct mpt_view v;
	const char *why;

	mpt_lineage_of(l, 812, 5000000000, &lin);
	assert_non_null(lin.self);
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	v.enrich = &en;
	assert_int_equal(mpt_pipe_event(pipe, &v, &ctx), 1);
	return lines_in(line);
}

/*
 * With the tracker's own chain, a line repeats no record while nothing in
 * the tracker changed, and brings a process's record again as soon as it
 * did (an exec in place: the same entry, new contents), whatever changed.
 */
static void test_records_follow_the_tracker(void **state)
{
	static const unsigned char sh[] = "sh", evil[] = "sh\0-c\0evil";
	struct mpt_proc_info up = {.tgid = 700,
				   .start_ns = 4000000000,
				   .exe = "/bin/sh",
				   .argv = sh,
				   .argv_len = sizeof(sh)};
	struct mpt_proc_info self = {.tgid = 812,
				     .ptgid = 700,
				     .start_ns = 5000000000,
				     .pstart_ns = 4000000000,
				     .exe = "/opt/app"};
	struct mpt_proc_info other = {.tgid = 900, .start_ns = 6000000000, .exe = ""};
	struct mpt_lineage *l = mpt_lineage_new();
	struct mpt_pipe pipe;
	struct strbuf line;
	json_t *o;

	(void)state;
	assert_non_null(l);
	mpt_lineage_add(l, &up);
	mpt_lineage_add(l, &self);
	f.ev.task.host_tgid = 812;
	f.ev.task.start_ns = 5000000000;
	sb_init(&line);
	mpt_pipe_init(&pipe);
	pipe.format = MPT_FMT_JSON;
	pipe.max_ancestors = 0;
	pipe.end = keep_line;
	pipe.end_ctx = &line;
	assert_int_equal(event_from(&pipe, &line, l), 3); /* both records, then the event */
	assert_int_equal(event_from(&pipe, &line, l), 1);
	mpt_lineage_add(l, &other); /* another process: compared again, nothing new */
	assert_int_equal(event_from(&pipe, &line, l), 1);
	up.argv = evil;
	up.argv_len = sizeof(evil);
	mpt_lineage_add(l, &up); /* 700 runs a new image, in the same entry */
	assert_int_equal(event_from(&pipe, &line, l), 2);
	o = line_at(&line, 0);
	assert_int_equal(jint(o, "hostProcessId"), 700);
	assert_string_equal(json_string_value(json_array_get(at(o, "commandLine"), 2)), "evil");
	json_decref(o);
	assert_int_equal(event_from(&pipe, &line, l), 1);
	pipe.out_epoch++; /* a new file: every record again */
	assert_int_equal(event_from(&pipe, &line, l), 3);
	mpt_pipe_free(&pipe);
	sb_free(&line);
	mpt_lineage_free(l);
}

/* One of the caller's inputs to JSON changed at random (@k: which), or none. */
static void change_one(int k, struct mpt_lineage *l, struct mpt_proc_info *procs,
		       struct mpt_enrich *en, struct mpt_fmt_ctx *c, bool *lean)
{
	static const char *const strings[][3] = {
	    {"node-7", "node-8", "n\xff"},
	    {"59c4e699-0d3c-4a8e-9f0e-0123456789ab", "", "59c4e699-0d3c-4a8e-9f0e-0123456789ac"},
	    {"/", "/system.slice/x.scope", "/a"},
	    {"", "3f4e2a1b9c0d3f4e2a1b9c0d3f4e2a1b9c0d3f4e2a1b9c0d3f4e2a1b9c0d3f4e", "ab"},
	    {"", "podman", "containerd"},
	    {"", "0c5e1f2a-aaaa-bbbb-cccc-0123456789ab", "x"},
	    {"/opt/app", "/opt/ap", ""}};
	static const unsigned char argv[2][8] = {"a\0b", "a\0c"};
	const char **slot[] = {
	    &c->hostname,	    &c->boot_id,  &en->cgroup_path, &en->container_id,
	    &en->container_runtime, &en->pod_uid, &en->exe_path};
	unsigned char *task = (unsigned char *)&f.ev.task;
	int r = rand();

	switch (k) {
	case 0: /* a byte of the record's task, the CPU and the name among them */
		task[r % sizeof(f.ev.task)] ^= 1u << (r / 7 % 8);
		break;
	case 1:
		f.ev.suid = r % 3 ? 0 : 1000;
		break;
	case 2:
		*slot[r % 7] = strings[r % 7][r / 7 % 3];
		break;
	case 3:
		*lean = !*lean;
		break;
	case 4:
		c->boot_to_wall_ns += r % 2 ? 1 : -1;
		break;
	case 5: /* the parent or the caller runs another image, in the same entry */
		procs[r % 2].argv = argv[r / 2 % 2];
		procs[r % 2].argv_len = 4;
		procs[r % 2].flags = r / 4 % 2 ? MPT_PROC_EXE_DELETED : 0;
		mpt_lineage_add(l, &procs[r % 2]);
		break;
	case 6: /* the tracker changes elsewhere */
		procs[2].start_ns += 10000000;
		mpt_lineage_add(l, &procs[2]);
		break;
	case 7: /* the caller the tracker knows, after a change to its pid or start */
		f.ev.task.host_tgid = 812;
		f.ev.task.start_ns = 5000000000;
		break;
	default: /* the same again: the kept text must serve */
		break;
	}
}

/*
 * JSON keeps the caller's part of the last line when nothing it is made of
 * changed: thousands of lines, each after one input changed at random (or
 * none), must equal the line formatted afresh, --ancestors cuts included.
 */
static void test_json_caller_kept(void **state)
{
	static const unsigned char sh[] = "sh";
	struct mpt_proc_info procs[3] = {
	    {.tgid = 700, .start_ns = 4000000000, .exe = "/bin/sh", .argv = sh, .argv_len = 3},
	    {.tgid = 812,
	     .ptgid = 700,
	     .start_ns = 5000000000,
	     .pstart_ns = 4000000000,
	     .exe = "/opt/app"},
	    {.tgid = 900, .start_ns = 6000000000, .exe = ""}};
	struct mpt_lineage *l = mpt_lineage_new();
	struct mpt_lineage_view lin;
	struct mpt_enrich en = {"/", "/opt/app", "", "", "", &lin, NULL, NULL};
	struct mpt_fmt_ctx c = ctx;
	struct strbuf kept, fresh;
	bool lean = true;
	int with_lineage = 0;
	struct mpt_view v;
	const char *why;

	(void)state;
	for (int i = 0; i < 3; i++)
		mpt_lineage_add(l, &procs[i]);
	f.ev.task.host_tgid = 812;
	f.ev.task.start_ns = 5000000000;
	f.ev.task.cred = MPT_CRED_KNOWN | MPT_CRED_CAP_SYS_NICE;
	sb_init(&kept);
	sb_init(&fresh);
	srand(26);
	for (int i = 0; i < 4000; i++) {
		change_one(rand() % 11, l, procs, &en, &c, &lean);
		mpt_lineage_of(l, f.ev.task.host_tgid, f.ev.task.start_ns, &lin);
		en.lineage = lin.self ? &lin : NULL;
		if (lin.self && i % 3 == 0) /* cut as --ancestors 0 cuts it */
			lin.n_anc = 0, lin.anc_truncated = true;
		assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
		v.enrich = &en;
		v.lean = lean;
		sb_reset(&kept);
		sb_reset(&fresh);
		mpt_format_json(&kept, &v, &c);
		mpt_format_json_fresh(&fresh, &v, &c);
		assert_int_equal(kept.len, fresh.len);
		assert_memory_equal(kept.buf, fresh.buf, fresh.len);
		with_lineage += en.lineage != NULL;
	}
	assert_true(with_lineage > 1000);
	sb_free(&kept);
	sb_free(&fresh);
	mpt_lineage_free(l);
}

/* "time" is "timestamp" as RFC 3339, to the nanosecond. */
static void test_json_rfc3339(void **state)
{
	json_t *o;

	(void)state;
	f.ev.ts_boot_ns = 123456789; /* 1700000000.123456789: 2023-11-14T22:13:20 UTC */
	o = json();
	assert_int_equal(jint(o, "timestamp"), 1700000000123456789ll);
	assert_string_equal(jstr(o, "time"), "2023-11-14T22:13:20.123456789Z");
	json_decref(o);
	f.ev.ts_boot_ns = 1000000000ull * 86400 + 5; /* the next day, the date cached before */
	o = json();
	assert_string_equal(jstr(o, "time"), "2023-11-15T22:13:20.000000005Z");
	json_decref(o);
}

/* Values no kernel writes but a damaged capture can hold (found by the fuzzer). */
static void test_out_of_range_values(void **state)
{
	int32_t status[3] = {INT32_MIN, -4096, -4095};

	(void)state;
	setenv("TZ", "UTC", 1);
	f.ev.ret = INT64_MIN;
	fake_arrays(&f, 3, pages3, nodes3, status);
	assert_non_null(strstr(table(), "[-2147483648, -4096, -4095], MPOL_MF_MOVE) = "
					"-9223372036854775808 <"));
	f.ev.ret = -4096;
	assert_non_null(strstr(table(), ") = -4096 <"));
}

static void test_json_unreadable_and_null(void **state)
{
	json_t *root, *a;

	(void)state;
	f.ev.pages_state = MPT_ARRAY_FAULT;
	f.ev.nodes = 0;
	f.ev.nodes_state = MPT_ARRAY_NULL;
	f.ev.status_state = MPT_ARRAY_NOT_FILLED;
	f.ev.ret = -EFAULT;
	f.ev.flags = 0x14;
	fake_arrays(&f, 3, NULL, NULL, NULL);
	root = json();
	assert_int_equal(json_integer_value(json_object_get(root, "returnValue")), -EFAULT);
	a = arg(root, 2, "pages");
	assert_null(json_object_get(a, "data"));
	assert_string_equal(json_string_value(json_object_get(a, "readError")), "EFAULT");
	assert_null(json_object_get(a, "truncated"));
	a = arg(root, 3, "nodes");
	assert_string_equal(json_string_value(json_object_get(a, "value")), "0x0");
	assert_string_equal(json_string_value(json_object_get(a, "readError")), "NULL");
	a = arg(root, 4, "status");
	assert_string_equal(json_string_value(json_object_get(a, "readError")),
			    "not filled: the call failed");
	a = arg(root, 5, "flags");
	assert_string_equal(json_string_value(json_object_get(a, "decoded")),
			    "MPOL_MF_MOVE_ALL|0x10");
	json_decref(root);
}

static void test_json_truncated(void **state)
{
	json_t *root;

	(void)state;
	f.ev.count = 1ull << 40;
	root = json();
	assert_int_equal(json_integer_value(json_object_get(arg(root, 1, "count"), "value")),
			 1ll << 40);
	assert_true(json_is_true(json_object_get(arg(root, 2, "pages"), "truncated")));
	assert_true(json_is_true(json_object_get(arg(root, 4, "status"), "truncated")));
	json_decref(root);
}

/* comm is bytes: quotes, backslashes, control bytes and invalid UTF-8 must still give valid JSON.
 */
static void test_json_escaping(void **state)
{
	static const struct {
		const char comm[16];
		const char *want; /* as a JSON parser decodes it */
	} cases[] = {
	    {"say \"hi\"", "say \"hi\""},
	    {"back\\slash", "back\\slash"},
	    {"nl\nt\tcr\r", "nl\nt\tcr\r"},
	    {"ctl\x01\x1f\x7f", "ctl\x01\x1f\x7f"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"},		  /* valid UTF-8 passes through */
	    {"bad\xff\xc3", "bad\xc3\xbf\xc3\x83"},	  /* invalid bytes as U+00FF, U+00C3 */
	    {"\xe2\x82", "\xc3\xa2\xc2\x82"},		  /* a cut multibyte sequence */
	    {"\xed\xa0\x80", "\xc3\xad\xc2\xa0\xc2\x80"}, /* an encoded surrogate */
	    {"fifteen-chars-x", "fifteen-chars-x"},
	};
	json_t *root;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(f.ev.task.comm, cases[i].comm, 16);
		root = json();
		assert_string_equal(json_string_value(json_object_get(root, "processName")),
				    cases[i].want);
		json_decref(root);
	}
}

/* The node numbers in argument @i's data, as "0,1". */
static const char *mask_list(json_t *root, int i, char *buf, size_t len)
{
	json_t *data = json_object_get(json_array_get(json_object_get(root, "args"), i), "data");
	size_t k, n = 0;
	json_t *x;

	buf[0] = '\0';
	if (!json_is_array(data))
		return "(no data)";
	json_array_foreach(data, k, x) n +=
	    snprintf(buf + n, len - n, "%s%lld", k ? "," : "", json_integer_value(x));
	return buf;
}

static void test_migrate_pages(void **state)
{
	json_t *root, *args;
	char buf[256];

	(void)state;
	setenv("TZ", "UTC", 1);
	use_migrate = true;
	/* as strace shows it: the masks as the nodes in them */
	assert_string_equal(table(), "22:13:21.123456 numad[812] migrate_pages(4242, 65, [0], [1]) "
				     "= 0 <0.000041>\n");
	root = json();
	assert_string_equal(jstr(root, "eventName"), "migrate_pages");
	assert_string_equal(jstr(root, "syscall"), "migrate_pages");
	assert_int_equal(jint(root, "argsNum"), 4);
	assert_int_equal(jint(root, "returnValue"), 0);
	args = json_object_get(root, "args");
	assert_int_equal(json_array_size(args), 4);
	assert_string_equal(jstr(json_array_get(args, 0), "name"), "pid");
	assert_int_equal(jint(json_array_get(args, 0), "value"), 4242);
	assert_string_equal(jstr(json_array_get(args, 1), "name"), "maxnode");
	assert_string_equal(jstr(json_array_get(args, 1), "type"), "unsigned long");
	assert_int_equal(jint(json_array_get(args, 1), "value"), 65);
	assert_string_equal(jstr(json_array_get(args, 2), "name"), "old_nodes");
	assert_string_equal(jstr(json_array_get(args, 2), "type"), "const unsigned long*");
	assert_string_equal(jstr(json_array_get(args, 2), "value"), "0x7ffd3000");
	assert_string_equal(mask_list(root, 2, buf, sizeof(buf)), "0");
	assert_string_equal(mask_list(root, 3, buf, sizeof(buf)), "1");
	assert_false(json_is_true(json_object_get(json_array_get(args, 3), "truncated")));
	/* both masks read again at the return, and found the same */
	assert_true(json_is_false(json_object_get(json_array_get(args, 3), "changedDuringCall")));
	json_decref(root);

	/* the old mask rewritten while the kernel read it: what the return found, too */
	fake_migrate_masks(&m, (const uint8_t[8]){0x01}, (const uint8_t[8]){0x02}, 8);
	m.data[16] = 0x02;
	m.ev.size += 8;
	m.ev.changed = MPT_MG_V4_CHANGED_OLD;
	assert_string_equal(table(), "22:13:21.123456 numad[812] migrate_pages(4242, 65, [0] /* "
				     "CHANGED DURING CALL, at exit: [1] */, [1]) = 0 <0.000041>\n");
	root = json();
	args = json_object_get(root, "args");
	assert_true(json_is_true(json_object_get(json_array_get(args, 2), "changedDuringCall")));
	assert_int_equal(json_integer_value(json_array_get(
			     json_object_get(json_array_get(args, 2), "dataAtExit"), 0)),
			 1);
	json_decref(root);
}

/* Masks of several nodes, of none, longer than kept, NULL, unreadable; an ia32 caller. */
static void test_migrate_pages_masks_as_shown(void **state)
{
	json_t *root;
	char buf[256];

	(void)state;
	setenv("TZ", "UTC", 1);
	use_migrate = true;
	/* several nodes; only the maxnode - 1 bits the kernel reads count */
	m.ev.maxnode = 4;
	fake_migrate_masks(&m, (const uint8_t[8]){0x0b}, (const uint8_t[8]){0xff, 0xff}, 8);
	assert_string_equal(table(), "22:13:21.123456 numad[812] migrate_pages(4242, 4, [0, 1], "
				     "[0, 1, 2]) = 0 <0.000041>\n");
	/* maxnode 0 or 1: the kernel reads no bit at all */
	m.ev.maxnode = 1;
	assert_string_equal(table(), "22:13:21.123456 numad[812] migrate_pages(4242, 1, [], []) = "
				     "0 <0.000041>\n");

	/* a mask longer than a record keeps: flagged truncated; NULL and an unreadable one */
	m.ev.maxnode = 2000;
	m.ev.old_nodes = 0;
	m.ev.old_state = MPT_ARRAY_NULL;
	m.ev.new_state = MPT_ARRAY_OK;
	{
		uint8_t big[MPT_NODEMASK_BYTES_MAX] = {0};

		big[MPT_NODEMASK_BYTES_MAX - 1] = 0x80; /* node 1023 */
		fake_migrate_masks(&m, NULL, big, sizeof(big));
	}
	m.ev.hdr.ret = -EPERM;
	assert_string_equal(table(), "22:13:21.123456 numad[812] migrate_pages(4242, 2000, NULL, "
				     "[1023, ...]) = -1 EPERM (Operation not permitted) "
				     "<0.000041>\n");
	root = json();
	assert_string_equal(jstr(json_array_get(json_object_get(root, "args"), 2), "readError"),
			    "NULL");
	assert_true(json_is_true(
	    json_object_get(json_array_get(json_object_get(root, "args"), 3), "truncated")));
	assert_string_equal(mask_list(root, 3, buf, sizeof(buf)), "1023");
	json_decref(root);
	m.ev.new_state = MPT_ARRAY_FAULT;
	fake_migrate_masks(&m, NULL, NULL, 0);
	assert_string_equal(table(),
			    "22:13:21.123456 numad[812] migrate_pages(4242, 2000, NULL, "
			    "0x7ffd3008) = -1 EPERM (Operation not permitted) <0.000041>\n");
	root = json();
	assert_string_equal(jstr(json_array_get(json_object_get(root, "args"), 3), "readError"),
			    "EFAULT");
	json_decref(root);

	/* an ia32 caller, reported from its entry alone */
	m.ev.hdr.abi = MPT_ABI_IA32;
	m.ev.hdr.ret_state = MPT_RET_MISSED;
	assert_string_equal(table(), "22:13:21.123456 numad[812] [ia32] migrate_pages(4242, 2000, "
				     "NULL, 0x7ffd3008) = ? <missed: return not seen>\n");
	root = json();
	assert_string_equal(jstr(root, "abi"), "ia32");
	assert_string_equal(jstr(root, "returnMissing"), "missed");
	json_decref(root);
}

static void test_migrate_pages_ocsf(void **state)
{
	json_t *root;

	(void)state;
	use_migrate = true;
	root = ocsf();
	assert_int_equal(jint(root, "class_uid"), 1004);
	assert_int_equal(jint(root, "activity_id"), 2);
	assert_int_equal(jint(root, "type_uid"), 100402);
	assert_string_equal(jstr(root, "metadata.event_code"), "migrate_pages");
	assert_string_equal(jstr(root, "unmapped.eventName"), "migrate_pages");
	/* the process whose pages move: the pid argument */
	assert_int_equal(jint(root, "process.pid"), 4242);
	assert_int_equal(jint(root, "actor.process.pid"), 812);
	assert_null(json_object_get(root, "base_address"));
	json_decref(root);
}

static void test_format_parse(void **state)
{
	enum mpt_format fmt;

	(void)state;
	assert_int_equal(mpt_format_parse("json", &fmt), 0);
	assert_int_equal(fmt, MPT_FMT_JSON);
	assert_int_equal(mpt_format_parse("table", &fmt), 0);
	assert_int_equal(fmt, MPT_FMT_TABLE);
	assert_int_equal(mpt_format_parse("xml", &fmt), -EINVAL);
	assert_int_equal(mpt_format_parse("", &fmt), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_table_example, setup),
	    cmocka_unit_test_setup(test_ocsf_lean, setup),
	    cmocka_unit_test_setup(test_json_rfc3339, setup),
	    cmocka_unit_test_setup(test_json_entities_and_ancestors, setup),
	    cmocka_unit_test_setup(test_table_error_return, setup),
	    cmocka_unit_test_setup(test_table_thread_query_fault, setup),
	    cmocka_unit_test_setup(test_status_written_in_part, setup),
	    cmocka_unit_test_setup(test_pages_read_at_return, setup),
	    cmocka_unit_test_setup(test_table_truncated_and_positive, setup),
	    cmocka_unit_test_setup(test_table_comm_escaped, setup),
	    cmocka_unit_test_setup(test_json_all_fields, setup),
	    cmocka_unit_test_setup(test_records_follow_the_tracker, setup),
	    cmocka_unit_test_setup(test_json_caller_kept, setup),
	    cmocka_unit_test_setup(test_table_ia32_changed, setup),
	    cmocka_unit_test_setup(test_json_ia32_changed, setup),
	    cmocka_unit_test_setup(test_return_missing, setup),
	    cmocka_unit_test_setup(test_kernel_migrated_other, setup),
	    cmocka_unit_test_setup(test_json_unreadable_and_null, setup),
	    cmocka_unit_test_setup(test_json_truncated, setup),
	    cmocka_unit_test_setup(test_json_escaping, setup),
	    cmocka_unit_test(test_format_parse),
	    cmocka_unit_test_setup(test_migrate_pages, setup),
	    cmocka_unit_test_setup(test_migrate_pages_masks_as_shown, setup),
	    cmocka_unit_test_setup(test_migrate_pages_ocsf, setup),
	    cmocka_unit_test_setup(test_ocsf_mapping, setup),
	    cmocka_unit_test_setup(test_context_fields, setup),
	    cmocka_unit_test_setup(test_out_of_range_values, setup),
	};
	int rc;

	samples = fopen("format_samples.jsonl", "w");
	ocsf_samples = fopen("ocsf_samples.jsonl", "w");
	if (!samples || !ocsf_samples) {
		perror("format_samples.jsonl");
		return 1;
	}
	sb_init(&sb);
	rc = cmocka_run_group_tests_name("format", tests, NULL, NULL);
	sb_free(&sb);
	fclose(samples);
	fclose(ocsf_samples);
	return rc;
}
