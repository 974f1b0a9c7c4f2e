/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The renderings of an event: strace's table, mptrace's JSON, OCSF. */
#ifndef MPTRACE_FORMAT_H
#define MPTRACE_FORMAT_H

#include <stdint.h>

#include "decode/decode.h"
#include "util/strbuf.h"

enum mpt_format {
	MPT_FMT_TABLE,
	MPT_FMT_JSON,
	MPT_FMT_OCSF, /* OCSF 1.8.0 Memory Activity, Detection Finding, Live Evidence Info */
	MPT_FMT_NONE, /* no line at all: tracing into a capture alone */
};

/* What a record alone does not say, fixed for the whole trace. */
struct mpt_fmt_ctx {
	int64_t boot_to_wall_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME at start */
	const char *hostname;
	const char *boot_id; /* may be NULL: OCSF event ids and device.boot_uid use it */
	const char *kernel;  /* uname release; may be NULL */
};

int mpt_format_parse(const char *name, enum mpt_format *fmt);

/* Append one line (with its newline) for @v to @sb. */
void mpt_format_event(enum mpt_format fmt, struct strbuf *sb, const struct mpt_view *v,
		      const struct mpt_fmt_ctx *ctx);

void mpt_format_json(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx);
/*
 * The same line, every part of it formatted afresh: mpt_format_json() keeps
 * the caller's part from the last line when nothing it is made of changed.
 */
void mpt_format_json_fresh(struct strbuf *sb, const struct mpt_view *v,
			   const struct mpt_fmt_ctx *ctx);
/*
 * A process record (JSON): who process @p is, stamped with the time of the
 * event that first named it (@ts_boot_ns), so that a line that names an
 * ancestor by its entity id alone can be joined to it.
 */
void mpt_format_json_process(struct strbuf *sb, const struct mpt_proc_info *p, uint64_t ts_boot_ns,
			     const struct mpt_fmt_ctx *ctx);
void mpt_format_table(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx);
void mpt_format_ocsf(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx);
/* A process record as OCSF: a Live Evidence Info of query type Process (ocsf.c). */
void mpt_format_ocsf_process(struct strbuf *sb, const struct mpt_proc_info *p, uint64_t ts_boot_ns,
			     const struct mpt_fmt_ctx *ctx);
/* An OCSF Detection Finding for rule @rule (detect.h's table) that @trigger raised. */
struct mpt_ocsf_rule {
	const char *code, *name, *severity, *description;
	/* MITRE ATT&CK, in version @attack_version; "" where no technique fits */
	const char *tactic, *tactic_name, *technique, *technique_name, *attack_version;
};
void mpt_format_ocsf_finding(struct strbuf *sb, const struct mpt_ocsf_rule *rule,
			     const struct mpt_view *trigger, const struct mpt_fmt_ctx *ctx);

/*
 * A process's entity id: the same in every event, output and replay, and
 * across hosts (their boot ids differ); a pid given out again gets another.
 * A hash of the boot id, the host pid and the start time to the clock tick.
 * 16 hex digits and a NUL.
 */
#define MPT_ENTITY_ID_LEN 17
void mpt_entity_id(char out[MPT_ENTITY_ID_LEN], const char *boot_id, uint32_t tgid,
		   uint64_t start_ns);

/*
 * A JSON record's times for @ns since the epoch: "timestamp":N,"time":"..."
 * (RFC 3339 in UTC to the nanosecond, "2026-12-03T08:28:37.775413234Z", for
 * tools that read the integer into a double and lose its last digits).
 * Unsigned, as the integer is printed: any 64 bits are a year before 2555.
 */
void mpt_format_json_timestamp(struct strbuf *sb, uint64_t ns);
/* The same into @out (NUL-ended), for lines written with snprintf; its length. */
#define MPT_TIMESTAMP_LEN 80
size_t mpt_format_timestamp_str(char out[MPT_TIMESTAMP_LEN], uint64_t ns);

/* Why an executable's path is in doubt (@flags: MPT_PROC_*), the gravest reason; NULL if not. */
const char *mpt_exe_doubt(uint8_t flags);

/* @p's command line: JSON strings with commas (@json), or words with spaces. */
void mpt_format_cmdline(struct strbuf *sb, const struct mpt_proc_info *p, bool json);

/*
 * Pieces of the JSON format that other formats carry as they are; creds:
 * ",\"credentials\":{...}" when the record has them (@lean: the user ids only
 * where they are not userId).
 */
void mpt_format_json_creds(struct strbuf *sb, const struct mpt_rec_hdr *h, bool lean);
void mpt_format_json_return(struct strbuf *sb, const struct mpt_rec_hdr *h);
void mpt_format_json_args(struct strbuf *sb, const struct mpt_view *v);

#endif
