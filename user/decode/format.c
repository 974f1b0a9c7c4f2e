// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The formats' dispatch, and what JSON, the table and OCSF share. Every
 * format takes any event: the common header the same way for all, the
 * arguments as the event's descriptors (events/) say.
 */
#include "decode/format.h"
#include "decode/format_int.h"
#include "util/strbuf.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int mpt_format_parse(const char *name, enum mpt_format *fmt)
{
	if (!strcmp(name, "table"))
		*fmt = MPT_FMT_TABLE;
	else if (!strcmp(name, "json"))
		*fmt = MPT_FMT_JSON;
	else if (!strcmp(name, "ocsf"))
		*fmt = MPT_FMT_OCSF;
	else if (!strcmp(name, "none"))
		*fmt = MPT_FMT_NONE;
	else
		return -EINVAL;
	return 0;
}

void mpt_format_event(enum mpt_format fmt, struct strbuf *sb, const struct mpt_view *v,
		      const struct mpt_fmt_ctx *ctx)
{
	if (fmt == MPT_FMT_JSON)
		mpt_format_json(sb, v, ctx);
	else if (fmt == MPT_FMT_OCSF)
		mpt_format_ocsf(sb, v, ctx);
	else if (fmt == MPT_FMT_TABLE)
		mpt_format_table(sb, v, ctx);
}

void mpt_format_mask(struct strbuf *sb, const struct mpt_arg_view *a, const char *sep)
{
	uint64_t span = mpt_mask_span(a);
	bool first = true;

	sb_putc(sb, '[');
	for (uint64_t node = 0; node < span; node++) {
		if (!mpt_mask_has(a, node))
			continue;
		if (!first)
			sb_puts(sb, sep);
		sb_u64(sb, node);
		first = false;
	}
}

/*
 * An array read again at the return: did it change while the kernel was
 * working on it, and into what? Only for arrays read at entry, of calls
 * whose return was seen.
 */

/* Each NUL-ended argument of @p's command line (the last one cut short may have none). */
static void each_arg(const struct mpt_proc_info *p, void (*fn)(void *, const char *, size_t),
		     void *ctx)
{
	size_t at = 0;

	while (p && at < p->argv_len) {
		const unsigned char *nul = memchr(p->argv + at, '\0', p->argv_len - at);
		size_t n = nul ? (size_t)(nul - (p->argv + at)) : p->argv_len - at;

		fn(ctx, (const char *)p->argv + at, n);
		at += n + 1;
	}
}

struct args_out {
	struct strbuf *sb;
	bool first;
	const char *sep;
	bool json;
};

static void put_arg(void *ctx, const char *s, size_t n)
{
	struct args_out *o = ctx;

	if (!o->first)
		sb_puts(o->sb, o->sep);
	o->first = false;
	if (o->json)
		sb_json_str(o->sb, s, n);
	else
		sb_put(o->sb, s, n);
}

void mpt_format_cmdline(struct strbuf *sb, const struct mpt_proc_info *p, bool json)
{
	struct args_out o = {sb, true, json ? "," : " ", json};

	each_arg(p, put_arg, &o);
}

/* FNV-1a of the boot id: kept from the last call, as every id of an event has the same. */
static uint64_t boot_hash(const char *boot_id)
{
	static __thread char last_boot[64];
	static __thread uint64_t last_h; /* 0: none kept */
	uint64_t h = 0xcbf29ce484222325ull;
	size_t len;

	if (last_h && !strncmp(last_boot, boot_id, sizeof(last_boot)))
		return last_h;
	len = strlen(boot_id);
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)boot_id[i]) * 0x100000001b3ull;
	/* one too long to keep whole is hashed each time */
	last_h = len < sizeof(last_boot) ? h : 0;
	if (last_h)
		memcpy(last_boot, boot_id, len + 1);
	return h;
}

void mpt_entity_id(char out[MPT_ENTITY_ID_LEN], const char *boot_id, uint32_t tgid,
		   uint64_t start_ns)
{
	/*
	 * The start in clock ticks (USER_HZ, 100 a second) as /proc/PID/stat
	 * gives it: a process found in /proc when tracing began, whose start is
	 * known only to the tick, gets the id the kernel's exact time gives.
	 * The last two ids are kept: a line names its caller and its parent.
	 */
	static __thread struct {
		uint64_t boot, ticks;
		uint32_t tgid;
		char id[MPT_ENTITY_ID_LEN];
	} kept[2];
	static __thread unsigned int next;
	uint64_t boot = boot_hash(boot_id ? boot_id : ""), h = boot, ticks = start_ns / 10000000;
	unsigned char b[12];

	for (int k = 0; k < 2; k++) {
		if (kept[k].boot == boot && kept[k].tgid == tgid && kept[k].ticks == ticks) {
			memcpy(out, kept[k].id, MPT_ENTITY_ID_LEN);
			return;
		}
	}
	memcpy(b, &tgid, 4);
	memcpy(b + 4, &ticks, 8);
	for (int i = 0; i < 12; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	/* by hand, not printf: OCSF names every ancestor by it */
	for (int i = MPT_ENTITY_ID_LEN - 2; i >= 0; i--, h >>= 4)
		out[i] = "0123456789abcdef"[h & 0xf];
	out[MPT_ENTITY_ID_LEN - 1] = '\0';
	next ^= 1;
	kept[next].boot = boot, kept[next].tgid = tgid, kept[next].ticks = ticks;
	memcpy(kept[next].id, out, MPT_ENTITY_ID_LEN);
}

/* The date part is kept from the last call: events come seconds apart at most. */
size_t mpt_format_timestamp_str(char out[MPT_TIMESTAMP_LEN], uint64_t ns)
{
	static __thread uint64_t sec_cached = UINT64_MAX;
	static __thread char date[24];
	static __thread size_t date_len;
	uint64_t sec = ns / 1000000000;
	char frac[10];
	size_t len;

	if (sec != sec_cached) {
		time_t tt = (time_t)sec;
		struct tm tm;

		gmtime_r(&tt, &tm);
		date_len = strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
		sec_cached = sec;
	}
	/* no printf: every JSON event starts here */
	memcpy(out, "\"timestamp\":", 12);
	len = mpt_u64_dec(out + 12, ns) - out;
	memcpy(out + len, ",\"time\":\"", 9);
	len += 9;
	memcpy(out + len, date, date_len);
	len += date_len;
	out[len++] = '.';
	/* the nanoseconds zero-padded to nine digits: those of 10^9 + n after its 1 */
	mpt_u64_dec(frac, 1000000000 + ns % 1000000000);
	memcpy(out + len, frac + 1, 9);
	len += 9;
	memcpy(out + len, "Z\"", 3);
	return len + 2;
}

void mpt_format_json_timestamp(struct strbuf *sb, uint64_t ns)
{
	char buf[MPT_TIMESTAMP_LEN];

	sb_put(sb, buf, mpt_format_timestamp_str(buf, ns));
}

const char *mpt_exe_doubt(uint8_t flags)
{
	if (flags & MPT_PROC_EXE_FILELESS)
		return "fileless: run from memory (a memfd), its path is only the name it was "
		       "given";
	if (flags & MPT_PROC_EXE_ELSEWHERE)
		return "its path names another file from the host's view: see inode and device";
	if (flags & MPT_PROC_EXE_DELETED)
		return "deleted: the file was unlinked or replaced after it was started";
	if (flags & MPT_PROC_PATH_TRUNCATED)
		return "path truncated: only its last components were kept";
	return NULL;
}
