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
	mpt_lastseen_free(&p->procs_out);
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
 * JSON's lean form (--ancestors 0): the caller, too, is named by its entity id,
 * and what stays the same for the whole process is in its record.
 */
static bool lean(const struct mpt_pipe *p)
{
	return p->max_ancestors == 0 && p->format == MPT_FMT_JSON;
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

	if (p->max_ancestors < 0 ||
	    (!lean(p) && (!l || l->n_anc <= (unsigned int)p->max_ancestors)))
		return v;
	mpt_view_copy(vc, v);
	vc->lean = lean(p);
	if (!l || l->n_anc <= (unsigned int)p->max_ancestors)
		return vc;
	*lc = *l;
	lc->n_anc = (unsigned int)p->max_ancestors;
	lc->anc_truncated = true;
	*ec = *v->enrich;
	ec->lineage = lc;
	vc->enrich = ec;
	return vc;
}

/* Processes remembered as put out: past this, forgotten, and put out again when next named. */
#define PROCS_KEPT 4096

/*
 * Whether @a's record, as it would print now, is the one this output last
 * had for the process: compared whole, so a process that execs (even the
 * same file with arguments of the same length) gets its record again, and no
 * crafted command line can pass for the one before it. Only what a record
 * prints is compared: a capture keeps no uid or pid namespace, and a replay
 * must write its records where the live run did.
 */
static int seen_before(struct mpt_lastseen *s, const struct mpt_proc_info *a)
{
	struct {
		uint64_t start_ns, pstart_ns, exe_ino;
		uint32_t tgid, ptgid, ns_tgid, exe_dev;
		uint16_t comm_len, exe_len, argv_len;
		uint8_t flags;
	} num;
	const char *exe = a->exe ? a->exe : "";
	struct mpt_seen_part parts[4] = {{&num, sizeof(num)}, {a->comm, 0}, {exe, 0}, {a->argv, 0}};

	memset(&num, 0, sizeof(num)); /* the padding too: it is compared */
	num.start_ns = a->start_ns, num.pstart_ns = a->pstart_ns, num.exe_ino = a->exe_ino;
	num.tgid = a->tgid, num.ptgid = a->ptgid, num.ns_tgid = a->ns_tgid;
	num.exe_dev = a->exe_dev, num.flags = a->flags;
	num.comm_len = parts[1].len = strnlen(a->comm, sizeof(a->comm));
	num.exe_len = parts[2].len = strnlen(exe, MPT_PROC_PATH_MAX);
	num.argv_len = parts[3].len =
	    a->argv ? (a->argv_len < MPT_PROC_ARGV_MAX ? a->argv_len : MPT_PROC_ARGV_MAX) : 0;
	return mpt_lastseen_put(s, (uint64_t)a->tgid * 0x9e3779b97f4a7c15ull ^ a->start_ns, parts,
				4);
}

/* The records start over: none is out, and no chain is known to have them. */
static void forget_records(struct mpt_pipe *p)
{
	mpt_lastseen_clear(&p->procs_out);
	p->procs_last.stamp = 0;
}

/* @a's record, unless this output has had it since it last started over. */
static void put_process(struct mpt_pipe *p, const struct mpt_proc_info *a, uint64_t ts_boot_ns,
			const struct mpt_fmt_ctx *fmt)
{
	if (p->procs_out.n >= PROCS_KEPT)
		forget_records(p);
	/* out of memory (-1): put out again rather than not at all */
	if (seen_before(&p->procs_out, a) != 1)
		(p->format == MPT_FMT_OCSF ? mpt_format_ocsf_process
					   : mpt_format_json_process)(&p->line, a, ts_boot_ns, fmt);
}

/*
 * The chain the last records were put out for, in a tracker that has not
 * changed since: each of its records is out already, as it is now, so
 * comparing them again would find each the same.
 */
static bool same_chain(const struct mpt_lineage_view *last, const struct mpt_lineage_view *l)
{
	return l->stamp && l->stamp == last->stamp && l->self == last->self &&
	       l->n_anc == last->n_anc && !memcmp(l->anc, last->anc, l->n_anc * sizeof(l->anc[0]));
}

/*
 * A JSON or OCSF line whose chain --ancestors cut: every ancestor as a process record
 * before it, each once per output, the eldest first (a parent's record before
 * its child's), and in JSON's lean form the caller's last. Each names its
 * parent's entity id, so from the line's parentEntityId on, the records alone
 * tell the whole ancestry.
 */
static void put_processes(struct mpt_pipe *p, const struct mpt_view *v,
			  const struct mpt_fmt_ctx *fmt)
{
	const struct mpt_lineage_view *l = v->enrich ? v->enrich->lineage : NULL;

	if (p->max_ancestors < 0 || p->format == MPT_FMT_TABLE || !l || !l->self ||
	    (l->n_anc <= (unsigned int)p->max_ancestors && !lean(p)))
		return;
	if (p->out_epoch != p->out_epoch_seen) {
		forget_records(p);
		p->out_epoch_seen = p->out_epoch;
	}
	if (same_chain(&p->procs_last, l) && p->procs_out.n < PROCS_KEPT)
		return;
	p->procs_last = *l;
	for (unsigned int i = l->n_anc; i-- > 0;)
		put_process(p, l->anc[i], v->hdr->ts_boot_ns, fmt);
	if (lean(p))
		put_process(p, l->self, v->hdr->ts_boot_ns, fmt);
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
	} else if (p->format != MPT_FMT_NONE) {
		sb_reset(&p->line);
		put_processes(p, v, fmt);
		v = cut_ancestors(p, v, &vc, &ec, &lc);
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
