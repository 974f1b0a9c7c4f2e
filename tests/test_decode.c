// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "decode/decode.h"
#include "util/strbuf.h"
#include "fake_event.h"

static struct fake_event f;

static int setup(void **state)
{
	static const uint64_t pages[3] = {0x1000, 0x2000, 0};
	static const int32_t nodes[3] = {1, 1, 1};
	static const int32_t status[3] = {1, 1, -EFAULT};

	(void)state;
	fake_init(&f);
	f.ev.count = 3;
	fake_arrays(&f, 3, pages, nodes, status);
	return 0;
}

/* The record at @rec (@len bytes) refused, for a reason that says @reason_part. */
static void rejected_for(const void *rec, size_t len, const char *reason_part)
{
	struct mpt_view v;
	const char *why;

	assert_int_equal(mpt_event_parse(rec, len, &v, &why), -EINVAL);
	assert_non_null(why);
	if (!strstr(why, reason_part))
		fail_msg("rejected for '%s', not '%s'", why, reason_part);
}

static void expect_invalid(const char *reason_part)
{
	rejected_for(&f, f.ev.size, reason_part);
}

static void test_parse_valid(void **state)
{
	struct mpt_view v;
	const char *why;

	(void)state;
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	assert_int_equal(mpt_view_page(&v, 0), 0x1000);
	assert_int_equal(mpt_view_page(&v, 2), 0);
	assert_int_equal(mpt_view_node(&v, 1), 1);
	assert_int_equal(mpt_view_status(&v, 2), -EFAULT);
	assert_false(v.arg[2].truncated); /* pages[] */
}

static void test_parse_unaligned_copy(void **state)
{
	unsigned char *buf = malloc(f.ev.size + 1);
	struct mpt_view v;
	const char *why;

	(void)state;
	/* records read from a file need not be aligned */
	memcpy(buf + 1, &f, f.ev.size);
	assert_int_equal(mpt_event_parse(buf + 1, f.ev.size, &v, &why), 0);
	assert_int_equal(mpt_view_page(&v, 1), 0x2000);
	assert_int_equal(mpt_view_status(&v, 2), -EFAULT);
	free(buf);
}

static void test_parse_short(void **state)
{
	struct mpt_view v;
	const char *why;

	(void)state;
	assert_int_equal(mpt_event_parse(&f, sizeof(struct mpt_event) - 1, &v, &why), -EINVAL);
	assert_non_null(strstr(why, "shorter"));
	/* the header claims more than the buffer holds */
	assert_int_equal(mpt_event_parse(&f, f.ev.size - 1, &v, &why), -EINVAL);
}

static void test_parse_bad_type_version(void **state)
{
	(void)state;
	f.ev.type = 99;
	expect_invalid("type");
	f.ev.type = MPT_REC_MOVE_PAGES;
	f.ev.version = MPT_EVENT_VERSION + 1;
	expect_invalid("version");
}

static void test_parse_old_version_and_new_fields(void **state)
{
	struct mpt_view v;
	const char *why;

	(void)state;
	/*
	 * Records of versions 2 and 3 (from older captures) read as version 4
	 * ones with the same fields; a capture writes them again as they were.
	 */
	for (int ver = 2; ver <= 3; ver++) {
		struct mpt_event_v3 *o = calloc(1, sizeof(*o) + 64);

		fake_arrays(&f, 2, (uint64_t[]){0x1000, 0x2000}, (int32_t[]){1, 0},
			    (int32_t[]){1, -14});
		f.ev.count = 2;
		f.ev.ret = 1;
		f.ev.abi = MPT_ABI_X86_64;
		o->type = MPT_REC_MOVE_PAGES;
		o->version = ver;
		o->size = sizeof(*o) + 32;
		o->ts_boot_ns = f.ev.ts_boot_ns;
		o->duration_ns = f.ev.duration_ns;
		o->task = f.ev.task;
		o->ret = f.ev.ret;
		o->pid = f.ev.pid;
		o->flags = f.ev.flags;
		o->count = 2;
		o->pages = f.ev.pages;
		o->nodes = f.ev.nodes;
		o->status = f.ev.status;
		o->pages_n = o->nodes_n = o->status_n = 2;
		memcpy(o->data, f.data, 32);
		assert_int_equal(mpt_event_parse(o, o->size, &v, &why), 0);
		assert_int_equal(v.ptr_bytes, 8);
		assert_ptr_equal(v.raw, o);
		assert_int_equal(v.raw_size, o->size);
		assert_int_equal(v.hdr->ret, 1);
		assert_int_equal(v.arg[1].value, 2);
		assert_int_equal(v.hdr->task.host_tgid, 812);
		assert_int_equal(mpt_view_page(&v, 1), 0x2000);
		assert_int_equal(mpt_view_node(&v, 0), 1);
		assert_int_equal(mpt_view_status(&v, 1), -14);
		/* one byte short: the header's length is checked, as for a new record */
		assert_int_equal(mpt_event_parse(o, o->size - 1, &v, &why), -EINVAL);
		free(o);
	}
	setup(NULL);
	f.ev.version = 1;
	expect_invalid("version");
	f.ev.version = MPT_MOVE_PAGES_VERSION_CALL - 1;
	f.ev.abi = MPT_ABI_NR;
	expect_invalid("ABI");
	f.ev.abi = 0;
	f.ev.ret_state = MPT_RET_NR;
	expect_invalid("return state");
	f.ev.ret_state = 0;
	f.ev.changed = 4;
	expect_invalid("change bits");
	/* changed, but no copy appended at the end */
	f.ev.changed = MPT_CHANGED_NODES;
	expect_invalid("length");
	/* changed, though the entry could not read it */
	f.ev.nodes_state = MPT_ARRAY_FAULT;
	f.ev.nodes_n = 0;
	expect_invalid("re-read");
	/* migrated pages counted but not carried */
	f.ev.changed = 0;
	f.ev.nodes_state = MPT_ARRAY_OK;
	f.ev.nodes_n = 3;
	f.ev.kernel_other_n = 1;
	expect_invalid("length");
	f.ev.kernel_other_n = MPT_ARRAY_CAP_MAX + 1;
	expect_invalid("migrated pages");
	f.ev.kernel_other_n = 0;
	/* a record without its return cannot carry a re-read */
	f.ev.nodes_state = MPT_ARRAY_OK;
	f.ev.nodes_n = 3;
	f.ev.changed = 0;
	f.ev.ret_state = MPT_RET_MISSED;
	expect_invalid("re-read");
}

static void test_parse_compat_pointers(void **state)
{
	static const uint32_t p32[2] = {0x1000, 0xfffff000};
	struct mpt_view v;
	const char *why;

	(void)state;
	f.ev.abi = MPT_ABI_IA32;
	f.ev.count = 2;
	f.ev.pages_n = 2;
	f.ev.nodes_n = f.ev.status_n = 0;
	f.ev.nodes_state = MPT_ARRAY_NULL;
	f.ev.status_state = MPT_ARRAY_NULL;
	memcpy(f.data, p32, sizeof(p32));
	f.ev.size = sizeof(f.ev) + 8;
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	assert_int_equal(v.ptr_bytes, 4);
	/* zero-extended, as compat_ptr() does */
	assert_int_equal(mpt_view_page(&v, 1), 0xfffff000ull);
	f.ev.size += 8; /* as if the pointers were 8 bytes */
	expect_invalid("length");
}

static void test_parse_state_mismatch(void **state)
{
	(void)state;
	f.ev.nodes_state = MPT_ARRAY_NULL; /* but nodes_n is 3 */
	expect_invalid("state");
	f.ev.nodes_state = 17;
	expect_invalid("state");
}

static void test_parse_longer_than_count(void **state)
{
	(void)state;
	f.ev.count = 2;
	expect_invalid("count");
}

static void test_parse_size_mismatch(void **state)
{
	(void)state;
	f.ev.size += 4;
	expect_invalid("length");
	f.ev.size -= 8;
	expect_invalid("length");
}

static void test_parse_over_cap(void **state)
{
	(void)state;
	f.ev.count = 5000;
	f.ev.pages_n = MPT_ARRAY_CAP_MAX + 1;
	expect_invalid("state");
}

static void test_truncated(void **state)
{
	struct mpt_view v;
	const char *why;

	(void)state;
	f.ev.count = 100;
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	assert_true(v.arg[2].truncated); /* pages[] */
}

/* A set_mempolicy record in the generic record: one 8-byte mask read at entry. */
struct fake_policy {
	struct mpt_call_event c;
	unsigned char data[4 * MPT_NODEMASK_BYTES_MAX];
};

static void fake_call_init(struct fake_policy *f)
{
	memset(f, 0, sizeof(*f));
	f->c.type = MPT_REC_SET_MEMPOLICY;
	f->c.version = MPT_EVENT_VERSION;
	f->c.arg[0] = 2;
	f->c.arg[1] = 0x7ffd0000;
	f->c.arg[2] = 65;
	f->c.ncaps = 1;
	f->c.cap[0] = (struct mpt_capture){.arg = 1, .state = MPT_ARRAY_OK, .bytes = 8};
	f->c.data[0] = 0x5; /* nodes 0 and 2 */
	f->c.size = sizeof(f->c) + 8;
}

static void call_rejected(struct fake_policy *f, const char *why_part)
{
	rejected_for(f, sizeof(*f), why_part);
	fake_call_init(f);
}

/* The generic record: its table of captures checked against the event's rows. */
static void test_parse_call(void **state)
{
	struct fake_policy f;
	struct mpt_view v;
	const char *why;

	(void)state;
	fake_call_init(&f);
	assert_int_equal(mpt_event_parse(&f, sizeof(f), &v, &why), 0);
	assert_ptr_equal(v.call, &f.c);
	assert_string_equal(v.desc->name, "set_mempolicy");
	assert_int_equal(v.arg[0].value, 2);
	assert_int_equal(v.arg[1].n, 8);
	assert_true(mpt_mask_has(&v.arg[1], 0) && mpt_mask_has(&v.arg[1], 2));
	assert_false(mpt_mask_has(&v.arg[1], 1));
	assert_int_equal(v.arg[1].bits, 64);
	assert_false(v.arg[1].changed);
	/* rewritten during the call: the return's copy follows the entry's */
	f.c.cap[0].changed = 1;
	f.data[8] = 0x2;
	f.c.size += 8;
	assert_int_equal(mpt_event_parse(&f, sizeof(f), &v, &why), 0);
	assert_true(v.arg[1].changed);
	assert_ptr_equal(v.arg[1].exit_data, f.c.data + 8);
	fake_call_init(&f);
	f.c.ncaps = 2;
	call_rejected(&f, "captured arrays");
	f.c.ncaps = 0;
	call_rejected(&f, "record length");
	f.c.cap[0].arg = 2; /* maxnode: not a mask */
	call_rejected(&f, "captured arrays");
	f.c.cap[0].state = MPT_ARRAY_NULL; /* NULL, with bytes */
	call_rejected(&f, "captured arrays");
	f.c.cap[0].bytes = MPT_NODEMASK_BYTES_MAX + 8;
	f.c.size = sizeof(f.c) + f.c.cap[0].bytes;
	call_rejected(&f, "captured arrays");
	f.c.cap[0].changed = 1; /* a change with no copy of it */
	call_rejected(&f, "record length");
	f.c.cap[0].changed = 1, f.c.size += 8, f.c.ret_state = MPT_RET_MISSED;
	call_rejected(&f, "captured arrays"); /* a change seen at a return never seen */
	f.c.size += 1;
	call_rejected(&f, "record length");
	f.c._pad[3] = 1;
	call_rejected(&f, "captured arrays");
}

/* The generic record's move_pages call like f (set up), its table checked against the rows. */
static struct fake_call mp;

static void move_call_rejected(const char *why_part)
{
	rejected_for(&mp, mp.ev.size, why_part);
	fake_move_as_call(&f, &mp);
}

static void test_parse_move_pages_call(void **state)
{
	struct mpt_view v;
	const char *why;

	(void)state;
	/* three pages; pages[] rewritten during the call; a page migrated that it does not name */
	f.ev.changed = MPT_CHANGED_PAGES;
	memcpy(f.data + 48, (uint64_t[]){0x9000, 0x2000, 0}, 24);
	f.ev.size += 24;
	fake_move_as_call(&f, &mp);
	assert_int_equal(mpt_event_parse(&mp, mp.ev.size, &v, &why), 0);
	assert_ptr_equal(v.call, &mp.ev);
	assert_string_equal(v.desc->name, "move_pages");
	assert_int_equal(v.arg[1].value, 3);
	assert_int_equal(mpt_view_page(&v, 1), 0x2000);
	assert_int_equal(mpt_view_node(&v, 2), 1);
	assert_int_equal(mpt_view_status(&v, 2), -EFAULT);
	assert_true(v.arg[2].changed && !v.arg[3].changed);
	assert_int_equal(mpt_view_page_exit(&v, 0), 0x9000);
	assert_null(v.arg[4].exit_data);
	fake_move_as_call(&f, &mp);

	mp.ev.cap[2].arg = 3; /* the kernel's view of nodes[]: no such capture */
	move_call_rejected("captured arrays");
	mp.ev.ncaps = 3; /* status[] left out, its bytes too */
	mp.ev.size -= 12;
	move_call_rejected("captured arrays");
	mp.ev.cap[0].bytes =
	    20; /* two pointers and a half, at the entry and in the return's copy */
	mp.ev.size -= 8;
	move_call_rejected("captured arrays");
	mp.ev.cap[3].changed = 1; /* status[] is read once: it cannot have changed */
	mp.ev.size += 12;
	move_call_rejected("captured arrays");
	mp.ev.arg[1] = 2; /* more entries than count */
	move_call_rejected("captured arrays");
	mp.ev.kview = MPT_KVIEW_NR;
	move_call_rejected("captured arrays");
	/* a return never seen: status[] not read, no migration seen, no change */
	mp.ev.ret_state = MPT_RET_MISSED;
	move_call_rejected("captured arrays");
	mp.ev.ret_state = MPT_RET_MISSED;
	mp.ev.cap[3] = (struct mpt_capture){.arg = 4, .state = MPT_ARRAY_NO_RETURN};
	mp.ev.cap[0].changed = mp.ev.cap[0].exit_fault = 0;
	mp.ev.size = sizeof(mp.ev) + 24 + 12;
	assert_int_equal(mpt_event_parse(&mp, mp.ev.size, &v, &why), 0);
	assert_int_equal(v.arg[4].state, MPT_ARRAY_NO_RETURN);
	mp.ev.cap[2].bytes = 8;
	mp.ev.size += 8;
	move_call_rejected("captured arrays");
}

static void migrate_v4_rejected(struct fake_migrate *m, const char *why_part)
{
	rejected_for(m, sizeof(*m), why_part);
	fake_migrate_init(m);
}

/*
 * A migrate_pages record of version 4 (older captures and streams) is read
 * through the generic record: lifted whole, its own bytes still the raw
 * record, and every check the version 4 decoder made still made.
 */
static void test_parse_migrate_v4(void **state)
{
	struct fake_migrate m;
	struct mpt_view v;
	const char *why;

	(void)state;
	fake_migrate_init(&m);
	m.data[16] = 0x04; /* old_nodes as the return found it: node 2 */
	m.ev.size += 8;
	m.ev.changed = MPT_MG_V4_CHANGED_OLD;
	assert_int_equal(mpt_event_parse(&m, sizeof(m), &v, &why), 0);
	assert_ptr_equal(v.raw, &m);
	assert_int_equal(v.raw_size, m.ev.size);
	assert_ptr_equal(v.call, (const void *)v.lifted);
	assert_ptr_equal(v.hdr, (const void *)v.lifted);
	assert_int_equal(v.hdr->version, 4);
	assert_int_equal(v.hdr->task.host_tgid, m.ev.task.host_tgid);
	assert_string_equal(v.desc->name, "migrate_pages");
	assert_int_equal(v.arg[0].value, 4242);
	assert_int_equal(v.arg[1].value, 65);
	assert_int_equal(v.arg[2].value, 0x7ffd3000);
	assert_int_equal(v.arg[3].value, 0x7ffd3008);
	assert_true(mpt_mask_has(&v.arg[2], 0) && !mpt_mask_has(&v.arg[2], 1));
	assert_true(mpt_mask_has(&v.arg[3], 1) && !mpt_mask_has(&v.arg[3], 0));
	assert_int_equal(v.arg[2].bits, 64);
	assert_true(v.arg[2].changed && !v.arg[3].changed);
	assert_int_equal(v.arg[2].exit_data[0], 0x04);
	/* a negative pid is an int's, sign-extended */
	m.ev.pid = -1;
	assert_int_equal(mpt_event_parse(&m, sizeof(m), &v, &why), 0);
	assert_int_equal(v.arg[0].value, UINT64_MAX);

	fake_migrate_init(&m);
	m.ev.changed = 4; /* a change bit version 4 never had */
	migrate_v4_rejected(&m, "re-read");
	m.ev.exit_fault = MPT_MG_V4_CHANGED_NEW; /* unreadable, yet not changed */
	migrate_v4_rejected(&m, "captured arrays");
	m.ev.changed = MPT_MG_V4_CHANGED_NEW; /* a change with no copy of it */
	migrate_v4_rejected(&m, "record length");
	m.ev.old_state = MPT_ARRAY_NULL; /* NULL, with bytes */
	migrate_v4_rejected(&m, "captured arrays");
	m.ev.size += 1;
	migrate_v4_rejected(&m, "record length");
	m.ev.old_bytes = m.ev.new_bytes = 400; /* more than the lift could hold */
	m.ev.size = sizeof(m.ev) + 800;
	migrate_v4_rejected(&m, "record length");
	assert_int_equal(mpt_event_parse(&m, sizeof(m.ev) - 1, &v, &why), -EINVAL);
	m.ev.version = 3; /* migrate_pages came with version 4 */
	migrate_v4_rejected(&m, "version");
}

/* Modes as strace names them; what is unknown as hex. */
static void mode_is(int32_t mode, const char *want)
{
	struct strbuf sb;

	sb_init(&sb);
	mpt_mode_str(&sb, mode);
	sb_putc(&sb, '\0');
	assert_string_equal(sb.buf, want);
	sb_free(&sb);
}

static void test_modes(void **state)
{
	(void)state;
	mode_is(0, "MPOL_DEFAULT");
	mode_is(2, "MPOL_BIND");
	mode_is(6, "MPOL_WEIGHTED_INTERLEAVE");
	mode_is(1 | 1 << 15, "MPOL_PREFERRED|MPOL_F_STATIC_NODES");
	mode_is(3 | 1 << 14 | 1 << 13,
		"MPOL_INTERLEAVE|MPOL_F_RELATIVE_NODES|MPOL_F_NUMA_BALANCING");
	mode_is(7, "0x7");
	mode_is(2 | 0x100, "0x102");
	mode_is(-1, "0xffffffff");
}

static void flags_is(int32_t flags, const char *want)
{
	struct strbuf sb;

	sb_init(&sb);
	mpt_flags_str(&sb, mpt_event_desc_of(MPT_REC_MOVE_PAGES), (uint32_t)flags);
	sb_putc(&sb, '\0');
	assert_string_equal(sb.buf, want);
	sb_free(&sb);
}

static void test_flags(void **state)
{
	(void)state;
	flags_is(0, "0");
	flags_is(2, "MPOL_MF_MOVE");
	flags_is(4, "MPOL_MF_MOVE_ALL");
	flags_is(6, "MPOL_MF_MOVE|MPOL_MF_MOVE_ALL");
	flags_is(0x12, "MPOL_MF_MOVE|0x10");
	flags_is(0x100, "0x100 /* MPOL_??? */");
	flags_is(-1, "MPOL_MF_MOVE|MPOL_MF_MOVE_ALL|0xfffffff9");
	flags_is(1, "0x1 /* MPOL_??? */");
	flags_is(8 | 2, "MPOL_MF_MOVE|0x8");
}

static void test_errno_names(void **state)
{
	(void)state;
	assert_string_equal(mpt_errno_name(EINVAL), "EINVAL");
	assert_string_equal(mpt_errno_name(EFAULT), "EFAULT");
	assert_string_equal(mpt_errno_name(ENODEV), "ENODEV");
	assert_string_equal(mpt_errno_name(ESRCH), "ESRCH");
	assert_null(mpt_errno_name(4000));
	assert_string_equal(mpt_errno_desc(EINVAL), "Invalid argument");
	assert_string_equal(mpt_errno_desc(4000), "Unknown error");
}

static const char *schema_path;

/* @item's "properties".@key.const, following a "$ref" into @defs for what it leaves out. */
static const char *schema_const(json_t *item, json_t *defs, const char *key)
{
	json_t *c =
	    json_object_get(json_object_get(json_object_get(item, "properties"), key), "const");
	const char *ref = json_string_value(json_object_get(item, "$ref"));

	if (json_is_string(c))
		return json_string_value(c);
	if (ref && !strncmp(ref, "#/$defs/", 8))
		return schema_const(json_object_get(defs, ref + 8), defs, key);
	return NULL;
}

/* The schema's rule for @d lists its arguments as the descriptor does: names, C types, count. */
static void check_schema_rule(json_t *schema, json_t *defs, const struct mpt_event_desc *d)
{
	json_t *rule, *then = NULL, *args;
	size_t k;

	json_array_foreach(json_object_get(schema, "allOf"), k, rule)
	{
		json_t *name = json_object_get(
		    json_object_get(json_object_get(json_object_get(rule, "if"), "properties"),
				    "eventName"),
		    "const");

		if (json_is_string(name) && !strcmp(json_string_value(name), d->name))
			then = json_object_get(json_object_get(rule, "then"), "properties");
	}
	if (!then)
		fail_msg("the schema has no rule for %s", d->name);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(then, "argsNum"), "const")),
	    d->nargs);
	args = json_object_get(json_object_get(then, "args"), "prefixItems");
	assert_int_equal(json_array_size(args), d->nargs);
	for (unsigned int i = 0; i < d->nargs; i++) {
		json_t *item = json_array_get(args, i);
		const char *name = schema_const(item, defs, "name");
		const char *type = schema_const(item, defs, "type");

		if (!name || strcmp(name, d->args[i].name) || !type ||
		    strcmp(type, d->args[i].ctype))
			fail_msg("%s argument %u: schema says %s %s, events/ says %s %s", d->name,
				 i, type ? type : "?", name ? name : "?", d->args[i].ctype,
				 d->args[i].name);
	}
}

/* The schema lists each event's arguments, and a summary's sums, as events/ does. */
static void test_schema_follows_descriptors(void **state)
{
	const struct mpt_event_desc *d;
	json_error_t jerr;
	json_t *schema = json_load_file(schema_path, 0, &jerr), *defs;

	(void)state;
	if (!schema)
		fail_msg("%s: %s", schema_path, jerr.text);
	defs = json_object_get(schema, "$defs");
	for (unsigned int e = 0; (d = mpt_event_desc_at(e)); e++)
		check_schema_rule(json_object_get(defs, "event"), defs, d);
	check_schema_rule(json_object_get(defs, "event"), defs, mpt_event_desc_of(MPT_REC_FLOOD));
	json_decref(schema);
}

/* A flood summary parses when its counts hold together, and names the syscall it sums. */
static void test_parse_flood(void **state)
{
	struct mpt_flood_event f = {.type = MPT_REC_FLOOD,
				    .version = MPT_EVENT_VERSION,
				    .size = sizeof(f),
				    .ts_boot_ns = 100,
				    .event = MPT_REC_MOVE_PAGES,
				    .calls = 10,
				    .pages = 20,
				    .targets = 0x11,
				    .returns = 9,
				    .failures = 2,
				    .last_ns = 200};
	struct mpt_view v;
	const char *why;

	(void)state;
	assert_int_equal(mpt_event_parse(&f, sizeof(f), &v, &why), 0);
	assert_ptr_equal(v.flood, &f);
	assert_string_equal(v.desc->name, "flood");
	assert_string_equal(mpt_view_syscall(&v), "move_pages");
	assert_int_equal(v.arg[0].value, 10);
	assert_int_equal(v.arg[2].value, 2); /* two bits: at least two targets */
	assert_null(mpt_syscall_desc_of(MPT_REC_FLOOD));
	assert_null(mpt_event_desc_named("flood"));
	f.failures = 10; /* more failures than returns */
	assert_int_equal(mpt_event_parse(&f, sizeof(f), &v, &why), -EINVAL);
	f.failures = 2;
	f.event = MPT_REC_PROCESS; /* not a syscall */
	assert_int_equal(mpt_event_parse(&f, sizeof(f), &v, &why), -EINVAL);
	f.event = MPT_REC_MIGRATE_PAGES;
	f.last_ns = 50; /* ends before it starts */
	assert_int_equal(mpt_event_parse(&f, sizeof(f), &v, &why), -EINVAL);
	f.last_ns = 200;
	assert_int_equal(mpt_event_parse(&f, sizeof(f) - 1, &v, &why), -EINVAL);
	assert_int_equal(mpt_event_parse(&f, sizeof(f), &v, &why), 0);
	assert_string_equal(mpt_view_syscall(&v), "migrate_pages");
}

/* Every number of every line goes through sb_u64: each digit count, each edge. */
static void test_sb_u64(void **state)
{
	uint64_t edges[] = {0,
			    1,
			    9,
			    10,
			    99,
			    100,
			    4294967295ull,
			    9999999999999999999ull,
			    10000000000000000000ull,
			    UINT64_MAX};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct strbuf sb;
	char want[24];

	(void)state;
	sb_init(&sb);
	for (int i = 0; i < 20000; i++) {
		uint64_t v = i < 10 ? edges[i] : x >> (i % 64);

		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: every digit count */
		sb_reset(&sb);
		sb_puts(&sb, "a");
		sb_u64(&sb, v);
		snprintf(want, sizeof(want), "a%llu", (unsigned long long)v);
		assert_int_equal(sb.len, strlen(want));
		assert_memory_equal(sb.buf, want, sb.len);
	}
	sb_free(&sb);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sb_u64),
	    cmocka_unit_test_setup(test_parse_valid, setup),
	    cmocka_unit_test_setup(test_parse_unaligned_copy, setup),
	    cmocka_unit_test_setup(test_parse_short, setup),
	    cmocka_unit_test_setup(test_parse_bad_type_version, setup),
	    cmocka_unit_test_setup(test_parse_state_mismatch, setup),
	    cmocka_unit_test_setup(test_parse_old_version_and_new_fields, setup),
	    cmocka_unit_test_setup(test_parse_compat_pointers, setup),
	    cmocka_unit_test_setup(test_parse_longer_than_count, setup),
	    cmocka_unit_test_setup(test_parse_size_mismatch, setup),
	    cmocka_unit_test_setup(test_parse_over_cap, setup),
	    cmocka_unit_test_setup(test_truncated, setup),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_parse_call),
	    cmocka_unit_test(test_parse_migrate_v4),
	    cmocka_unit_test_setup(test_parse_move_pages_call, setup),
	    cmocka_unit_test(test_modes),
	    cmocka_unit_test(test_errno_names),
	    cmocka_unit_test(test_schema_follows_descriptors),
	    cmocka_unit_test(test_parse_flood),
	};

	schema_path = argc > 1 ? argv[1] : "events/events.schema.json";
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
