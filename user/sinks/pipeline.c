// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "sinks/pipeline.h"

#include <string.h>

void mpt_pipe_init(struct mpt_pipe *p)
{
	memset(p, 0, sizeof(*p));
	sb_init(&p->line);
}

void mpt_pipe_free(struct mpt_pipe *p)
{
	sb_free(&p->line);
}

static bool selected(const struct mpt_pipe *p, const struct mpt_view *v,
		     const struct mpt_fmt_ctx *fmt)
{
	int64_t wall = (int64_t)v->hdr->ts_boot_ns + fmt->boot_to_wall_ns;

	return mpt_window_holds(&p->window, wall) &&
	       (!p->filter || mpt_filter_match(p->filter, v)) &&
	       (!p->names || mpt_filter_match_names(p->names, v));
}

int mpt_pipe_event(struct mpt_pipe *p, const struct mpt_view *v, const struct mpt_fmt_ctx *fmt)
{
	int rc = 0;

	if (p->done)
		return 0;
	if (!selected(p, v, fmt)) {
		if (p->report)
			mpt_report_skipped(p->report);
		return 0;
	}
	/* the capture counts what its disk refuses; nothing here stops the trace */
	if (p->cap)
		mpt_cap_write_event(p->cap, v);
	p->hits = 0;
	if (p->report) {
		mpt_report_event(p->report, v, fmt);
	} else {
		sb_reset(&p->line);
		mpt_format_event(p->format, &p->line, v, fmt);
		/* the same rules on the same records: replay finds what live found */
		if (p->detect)
			p->hits = mpt_detect_lines(p->detect, p->format, &p->line, v, fmt);
		if (p->end)
			rc = p->end(p->end_ctx, &p->line);
	}
	if (rc < 0)
		return rc;
	p->shown++;
	if (p->max_events && p->shown >= p->max_events)
		p->done = true;
	return 1;
}
