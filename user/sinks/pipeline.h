/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every event goes through, whether the tracer read it a moment ago or a
 * replay read it back from a capture or a stream: selected, captured, then
 * either counted into the report or formatted with its detections and handed
 * to the end. Live tracing, file replay and stream replay run this one path,
 * so a replay prints what the live run printed by construction.
 */
#ifndef MPTRACE_PIPELINE_H
#define MPTRACE_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/capture.h"
#include "context/filter.h"
#include "decode/format.h"
#include "detect/detect.h"
#include "report/report.h"
#include "util/lastseen.h"
#include "util/strbuf.h"

/* --since, --until: event wall times (ns); 0 leaves that side open. */
struct mpt_window {
	int64_t since_ns, until_ns;
};

static inline bool mpt_window_holds(const struct mpt_window *w, int64_t wall_ns)
{
	return (!w->since_ns || wall_ns >= w->since_ns) && (!w->until_ns || wall_ns <= w->until_ns);
}

/* Takes the formatted line (it may be out of memory: line->oom); < 0 ends the pipeline. */
typedef int (*mpt_pipe_end_fn)(void *ctx, const struct strbuf *line);

struct mpt_pipe {
	/* selection; live, the kernel applied the filters and only the names are left */
	const struct mpt_filter *filter; /* every filter, on recorded fields (replay) */
	const struct mpt_filter *names;	 /* --container NAME, --pod (live) */
	struct mpt_window window;
	uint64_t max_events; /* -n; 0: no limit */
	/*
	 * --ancestors: inline in each line; -1 (the default): all kept. Those a
	 * JSON or OCSF line leaves out come as process records before it, once each.
	 */
	int32_t max_ancestors;
	/* the stages, each optional; none is owned */
	struct mpt_cap_writer *cap;
	struct mpt_report *report; /* instead of the line and its end */
	struct mpt_detector *detect;
	enum mpt_format format;
	mpt_pipe_end_fn end;
	void *end_ctx;
	/* what went through */
	struct strbuf line;
	struct mpt_lastseen procs_out;	    /* the process records put out, each the last one */
	struct mpt_lineage_view procs_last; /* the chain they were last put out for */
	/*
	 * Moves whenever what the end holds may lack records put out before:
	 * a file begun (rotated, reopened) or lines lost (a full disk, a
	 * stalled reader), as its owner counts them. When it moves, the records
	 * start over, so the lines written after hold the records they need.
	 */
	uint64_t out_epoch, out_epoch_seen;
	uint64_t shown;
	uint32_t hits; /* the detections of the last event shown */
	bool done;     /* -n reached: later events are taken and not shown */
};

void mpt_pipe_init(struct mpt_pipe *p);
void mpt_pipe_free(struct mpt_pipe *p);

/*
 * One event, its wall clock from @fmt. 1 if it was shown, 0 if the selection
 * left it out (or -n was reached), < 0 if the end refused it.
 */
int mpt_pipe_event(struct mpt_pipe *p, const struct mpt_view *v, const struct mpt_fmt_ctx *fmt);

#endif
