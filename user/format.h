/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The two human/machine renderings of a move_pages event. */
#ifndef MPTRACE_FORMAT_H
#define MPTRACE_FORMAT_H

#include <stdint.h>

#include "decode.h"
#include "strbuf.h"

enum mpt_format {
	MPT_FMT_TABLE,
	MPT_FMT_JSON,
};

/* What a record alone does not say, fixed for the whole trace. */
struct mpt_fmt_ctx {
	int64_t boot_to_wall_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME at start */
	const char *hostname;
};

int mpt_format_parse(const char *name, enum mpt_format *fmt);

/* Append one line (with its newline) for @v to @sb. */
void mpt_format_event(enum mpt_format fmt, struct strbuf *sb, const struct mpt_view *v,
		      const struct mpt_fmt_ctx *ctx);

void mpt_format_json(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx);
void mpt_format_table(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx);

#endif
