// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "sinks/pipeline.h"

#include <string.h>

void mpt_pipe_init(struct mpt_pipe *p)
{
	memset(p, 0, sizeof(*p));
	p->max_ancestors = -1;
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

/*
 * --ancestors N: the view the line is made from, its chain cut to N and said
 * to be cut. The selection, the capture and the report see it whole.
 */
static const struct mpt_view *cut_ancestors(const struct mpt_pipe *p, const struct mpt_view *v,
					    struct mpt_view *vc, struct mpt_enrich *ec,
					    struct mpt_lineage_view *lc)
{
	const struct mpt_lineage_view *l = v->enrich ? v->enrich->lineage : NULL;

	if (p->max_ancestors < 0 || !l || l->n_anc <= (unsigned int)p->max_ancestors)
		return v;
	*lc = *l;
	lc->n_anc = (unsigned int)p->max_ancestors;
	lc->anc_truncated = true;
	*ec = *v->enrich;
	ec->lineage = lc;
	*vc = *v;
	vc->enrich = ec;
	return vc;
}

int mpt_pipe_event(struct mpt_pipe *p, const struct mpt_view *v, const struct mpt_fmt_ctx *fmt)
{
	struct mpt_lineage_view lc;
	struct mpt_enrich ec;
	struct mpt_view vc;
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
		v = cut_ancestors(p, v, &vc, &ec, &lc);
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
