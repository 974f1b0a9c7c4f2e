// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report as one self-contained HTML page: a header, a timeline in
 * inline SVG (binned: its size does not grow with the events), and tables
 * that link to the timeline's lanes. No script, no fetch, every string from
 * a record escaped.
 */
#define _GNU_SOURCE
#include "report/report_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Text, escaped for HTML (element content and quoted attributes). */
static void esc(struct strbuf *sb, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = *s;

		if (c == '<')
			sb_puts(sb, "&lt;");
		else if (c == '>')
			sb_puts(sb, "&gt;");
		else if (c == '&')
			sb_puts(sb, "&amp;");
		else if (c == '"')
			sb_puts(sb, "&quot;");
		else if (c == '\'')
			sb_puts(sb, "&#39;");
		else if (c < 0x20 || c == 0x7f)
			sb_printf(sb, "\\x%02x", c);
		else
			sb_putc(sb, c);
	}
}

static void td(struct strbuf *sb, const char *s)
{
	sb_puts(sb, "<td>");
	esc(sb, s);
	sb_puts(sb, "</td>");
}

static void td_num(struct strbuf *sb, uint64_t v)
{
	sb_printf(sb, "<td class=n>%llu</td>", (unsigned long long)v);
}

static void td_time(struct strbuf *sb, int64_t ns)
{
	char t[48];

	mpt_report_time(t, sizeof(t), ns);
	td(sb, ns ? t : "");
}

static const char style[] =
    "body{font:14px/1.4 sans-serif;margin:16px;color:#222}"
    "h1{font-size:20px}h2{font-size:16px;margin-top:24px}"
    "table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ccc;padding:2px "
    "6px;text-align:left;vertical-align:top}th{background:#eee}td.n{text-align:right}"
    ".bad{color:#b00;font-weight:bold}.ok{color:#070}.mono{font-family:monospace}"
    "svg text{font:11px sans-serif}";

/* -- the header ----------------------------------------------------------- */

static void source_row(struct strbuf *sb, const struct mpt_report_source *s)
{
	sb_puts(sb, "<tr>");
	td(sb, s->name);
	td(sb, s->host);
	td(sb, s->kernel);
	td(sb, s->attach_mode);
	td(sb, s->set_id);
	if (!s->verified)
		sb_puts(sb, "<td>not checked (read from the stream: no hash chain)</td>");
	else if (s->intact)
		sb_puts(sb, "<td class=ok>intact</td>");
	else {
		sb_puts(sb, "<td class=bad>DAMAGED: ");
		esc(sb, s->damage);
		sb_puts(sb, "</td>");
	}
	sb_puts(sb, "<td class=mono>");
	esc(sb, s->chain_head);
	sb_puts(sb, "</td>");
	td_num(sb, s->records);
	td(sb, !s->verified ? "" : s->closed ? "yes" : "no");
	sb_puts(sb, "</tr>\n");
}

static void header(struct mpt_report *r, struct strbuf *sb)
{
	char a[48], b[48];
	bool whole = rp_whole(r);

	mpt_report_time(a, sizeof(a), r->first_ns);
	mpt_report_time(b, sizeof(b), r->last_ns);
	sb_puts(sb, "<h1>mptrace report</h1>\n<p id=summary>");
	sb_printf(sb, "<b id=events>%llu</b> events shown", (unsigned long long)r->shown);
	sb_printf(sb, " (of %llu read)", (unsigned long long)r->events);
	if (r->summed)
		sb_printf(sb, ", %llu calls summed over fair shares",
			  (unsigned long long)r->summed);
	sb_printf(sb, ", <b id=lost class=%s>%llu</b> calls lost while tracing",
		  r->lost ? "bad" : "ok", (unsigned long long)r->lost);
	if (r->first_ns)
		sb_printf(sb, ", from %s to %s", a, b);
	sb_puts(sb, ".<br>Record: ");
	sb_puts(sb, whole ? "<b id=verdict class=ok>whole</b>"
			  : "<b id=verdict class=bad>NOT whole: damaged, edited or incomplete</b>");
	if (r->set_broken)
		sb_puts(sb, " (files of a set are missing or out of order)");
	if (r->filters) {
		sb_puts(sb, ".<br>Made with: <span class=mono>");
		esc(sb, r->filters);
		sb_puts(sb, "</span>");
	}
	sb_puts(sb, "</p>\n<table id=sources><tr><th>source<th>host<th>kernel<th>attach mode"
		    "<th>capture set<th>verify<th>chain head<th>records<th>closed cleanly</tr>\n");
	for (unsigned int i = 0; i < r->n_src; i++)
		source_row(sb, &r->src[i]);
	sb_puts(sb, "</table>\n<ul>");
	for (unsigned int i = 0; i < r->n_src; i++) {
		bool seen = false;

		for (unsigned int k = 0; k < i; k++)
			seen |= !strcmp(r->src[k].attach_mode, r->src[i].attach_mode);
		if (!seen && r->src[i].attach_mode[0]) {
			sb_puts(sb, "<li>");
			esc(sb, mpt_report_mode_guarantee(r->src[i].attach_mode));
		}
	}
	sb_puts(sb, "</ul>\n<table id=losses><tr><th>calls lost, by cause<th>count</tr>");
	for (unsigned int i = 0; i < r->n_causes; i++) {
		sb_puts(sb, "<tr>");
		td(sb, r->causes[i].name);
		td_num(sb, r->causes[i].count);
		sb_puts(sb, "</tr>");
	}
	sb_puts(sb, "</table>\n");
}

/* -- the timeline ---------------------------------------------------------- */

#define TL_LEFT 230
#define TL_WIDTH 860
#define TL_LANE 24
#define TL_TOP 24

struct timeline {
	uint32_t lane[RP_LANES];
	unsigned int n, rows; /* lanes, and rows drawn (the shared one too) */
	uint32_t max;	      /* the busiest bin */
	unsigned int used;    /* bins from the first record to the last: the width drawn */
	double bin_px;
};

static double x_of(const struct mpt_report *r, const struct timeline *tl, int64_t ns)
{
	double x = ns <= r->t0 ? 0 : (double)(ns - r->t0) / r->bin_ns * tl->bin_px;

	return TL_LEFT + (x > TL_WIDTH ? TL_WIDTH : x);
}

static void lane_label(struct mpt_report *r, struct strbuf *sb, unsigned int row,
		       const struct rp_proc *p)
{
	int y = TL_TOP + row * TL_LANE + 16;

	sb_printf(sb, "<g id=\"lane-%u\"><text x=\"4\" y=\"%d\">", row, y);
	if (!p) {
		sb_puts(sb, "other processes</text>");
		return;
	}
	esc(sb, p->comm);
	sb_printf(sb, " [%u]", p->tgid);
	if (p->container[0])
		sb_printf(sb, " %.12s", p->container);
	else if (r->n_hosts > 1)
		esc(sb, r->hosts[p->host]);
	sb_puts(sb, "</text>");
}

static void lane_bins(struct strbuf *sb, const struct timeline *tl, unsigned int row,
		      const struct rp_bin *bins)
{
	int base = TL_TOP + (row + 1) * TL_LANE - 3;

	for (unsigned int b = 0; b < RP_BINS; b++) {
		double h, f;

		if (!bins[b].calls)
			continue;
		h = 3 + 15 * log1p(bins[b].calls) / log1p(tl->max ? tl->max : 1);
		sb_printf(sb,
			  "<rect class=calls x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			  "fill=\"#1f6fd1\"><title>%u calls, %u failed</title></rect>",
			  TL_LEFT + b * tl->bin_px, base - h, tl->bin_px, h, bins[b].calls,
			  bins[b].failed);
		f = h * bins[b].failed / bins[b].calls;
		if (bins[b].failed)
			sb_printf(sb,
				  "<rect class=failed x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				  "height=\"%.1f\" fill=\"#e8a317\"/>",
				  TL_LEFT + b * tl->bin_px, base - f, tl->bin_px, f < 1 ? 1 : f);
	}
	/* after every bar, so that no neighbour's bar covers a marker wider than its bin */
	for (unsigned int b = 0; b < RP_BINS; b++)
		if (bins[b].calls && bins[b].dets)
			sb_printf(sb,
				  "<path class=detection d=\"M%d %d l5 -10 l5 10 z\" "
				  "shape-rendering=\"crispEdges\" fill=\"#d0021b\">"
				  "<title>%u detections</title></path>",
				  (int)(TL_LEFT + b * tl->bin_px + tl->bin_px / 2) - 5, base - 1,
				  bins[b].dets);
	sb_puts(sb, "</g>\n");
}

static void shade(struct mpt_report *r, struct strbuf *sb, const struct timeline *tl)
{
	int h = tl->rows * TL_LANE;

	for (unsigned int i = 0; i < r->n_losses; i++) {
		const struct rp_loss *l = &r->losses[i];
		double x = x_of(r, tl, l->first_ns), w = x_of(r, tl, l->last_ns) - x;

		sb_printf(sb,
			  "<rect class=loss x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
			  "fill=\"#888\" fill-opacity=\"0.35\"><title>%llu calls lost (",
			  x, TL_TOP, w < 2 ? 2 : w, h, (unsigned long long)l->count);
		esc(sb, l->cause);
		sb_puts(sb, ")</title></rect>\n");
	}
	for (unsigned int i = 0; i < r->n_src; i++) {
		const struct mpt_report_source *s = &r->src[i];
		double x;

		if (!s->verified || s->intact)
			continue;
		x = s->last_good_ns ? x_of(r, tl, s->last_good_ns) : TL_LEFT;
		sb_printf(sb,
			  "<rect class=unverified x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
			  "height=\"%d\" fill=\"#f5a623\" fill-opacity=\"0.25\"><title>",
			  x, TL_TOP, TL_LEFT + TL_WIDTH - x < 2 ? 2 : TL_LEFT + TL_WIDTH - x, h);
		esc(sb, s->name);
		sb_puts(sb, ": damaged from here on, not verified</title></rect>\n");
	}
}

/* The row a target is drawn in: its own lane when it called too, else the shared one. */
static int target_row(const struct mpt_report *r, const struct timeline *tl, uint32_t t)
{
	int proc = r->targets[t].proc;

	if (proc >= 0 && r->procs[proc].lane >= 0)
		return r->procs[proc].lane;
	return tl->n;
}

static int by_arc(const void *a, const void *b)
{
	const struct rp_arc *x = a, *y = b;

	if (x->caller != y->caller)
		return x->caller < y->caller ? -1 : 1;
	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	return x->bin < y->bin ? -1 : x->bin > y->bin;
}

/* Cross-process calls: a line from the caller's lane to the target's, one per bin. */
static void arcs(struct mpt_report *r, struct strbuf *sb, const struct timeline *tl)
{
	qsort(r->arcs, r->n_arcs, sizeof(*r->arcs), by_arc);
	for (size_t i = 0; i < r->n_arcs;) {
		const struct rp_arc *a = &r->arcs[i];
		uint64_t n = 0;
		int from = r->procs[a->caller].lane >= 0 ? r->procs[a->caller].lane : (int)tl->n;
		int to = target_row(r, tl, a->target);
		double x = TL_LEFT + (a->bin + 0.5) * tl->bin_px;
		size_t k;

		for (k = i; k < r->n_arcs && !by_arc(&r->arcs[k], a); k++)
			n += r->arcs[k].count;
		sb_printf(sb,
			  "<line class=cross x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			  "stroke=\"#7b2cbf\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\">"
			  "<title>%llu calls from ",
			  x, TL_TOP + from * TL_LANE + 12, x,
			  TL_TOP + to * TL_LANE + (to > from ? 4 : 20), (unsigned long long)n);
		esc(sb, r->procs[a->caller].comm);
		sb_printf(sb, " [%u] on pid %d</title></line>\n", r->procs[a->caller].tgid,
			  r->targets[a->target].pid);
		i = k;
	}
}

static void axis(struct mpt_report *r, struct strbuf *sb, const struct timeline *tl)
{
	int y = TL_TOP + tl->rows * TL_LANE;

	sb_printf(sb, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>", TL_LEFT, y,
		  TL_LEFT + TL_WIDTH, y);
	for (int i = 0; i <= 4; i++) {
		int64_t ns = r->t0 + (int64_t)((double)r->bin_ns * tl->used * i / 4);
		char t[48];

		mpt_report_time(t, sizeof(t), ns);
		t[23] = '\0'; /* to the millisecond */
		sb_printf(sb, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\">%s</text>",
			  TL_LEFT + TL_WIDTH * i / 4, y + 14,
			  i == 0   ? "start"
			  : i == 4 ? "end"
				   : "middle",
			  t + 11);
	}
}

static void timeline(struct mpt_report *r, struct strbuf *sb)
{
	struct timeline tl = {.used = RP_BINS};

	if (r->last_ns >= r->t0 && (uint64_t)(r->last_ns - r->t0) / r->bin_ns < RP_BINS)
		tl.used = (r->last_ns - r->t0) / r->bin_ns + 1;
	tl.bin_px = (double)TL_WIDTH / tl.used;
	tl.n = r->n_lanes;
	memcpy(tl.lane, r->lane, sizeof(tl.lane));
	tl.rows = tl.n + 1;
	for (unsigned int b = 0; b < RP_BINS; b++) {
		for (unsigned int i = 0; i < tl.n; i++)
			if (r->procs[tl.lane[i]].bins[b].calls > tl.max)
				tl.max = r->procs[tl.lane[i]].bins[b].calls;
		if (r->other[b].calls > tl.max)
			tl.max = r->other[b].calls;
	}
	sb_printf(sb,
		  "<h2>Timeline</h2>\n<p>Bins of %.3f ms; bar height: calls (log scale); "
		  "amber: failed; red triangle: detection; purple arrow: a call on another "
		  "process; grey: calls lost; orange: not verified.</p>\n",
		  r->bin_ns / 1e6);
	sb_printf(sb,
		  "<svg id=timeline xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		  "height=\"%d\"><defs><marker id=\"arrow\" markerWidth=\"6\" markerHeight=\"6\" "
		  "refX=\"3\" refY=\"3\" orient=\"auto\"><path d=\"M0 0 L6 3 L0 6 z\" "
		  "fill=\"#7b2cbf\"/></marker></defs>\n",
		  TL_LEFT + TL_WIDTH + 10, TL_TOP + tl.rows * TL_LANE + 24);
	for (unsigned int i = 0; i < tl.rows; i++)
		sb_printf(sb, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>",
			  TL_LEFT, TL_TOP + i * TL_LANE, TL_WIDTH, TL_LANE,
			  i % 2 ? "#f4f4f4" : "#fbfbfb");
	shade(r, sb, &tl);
	for (unsigned int i = 0; i < tl.n; i++) {
		lane_label(r, sb, i, &r->procs[tl.lane[i]]);
		lane_bins(sb, &tl, i, r->procs[tl.lane[i]].bins);
	}
	lane_label(r, sb, tl.n, NULL);
	lane_bins(sb, &tl, tl.n, r->other);
	arcs(r, sb, &tl);
	axis(r, sb, &tl);
	sb_puts(sb, "</svg>\n");
}

/* -- the tables ------------------------------------------------------------ */

static void lane_link(struct strbuf *sb, const struct rp_proc *p, unsigned int shared)
{
	sb_printf(sb, "<td><a href=\"#lane-%d\">", p->lane >= 0 ? p->lane : (int)shared);
	esc(sb, p->comm);
	sb_printf(sb, " [%u]</a></td>", p->tgid);
}

static int by_proc_calls(const void *a, const void *b, void *ctx)
{
	const struct rp_proc *p = ctx;
	uint64_t x = p[*(const uint32_t *)a].calls, y = p[*(const uint32_t *)b].calls;

	return x < y ? 1 : x > y ? -1 : 0;
}

static void process_row(struct mpt_report *r, struct strbuf *sb, const struct rp_proc *p,
			unsigned int shared)
{
	sb_printf(sb, "<tr class=proc data-pid=\"%u\">", p->tgid);
	lane_link(sb, p, shared);
	td(sb, r->hosts[p->host]);
	td(sb, p->exe);
	td(sb, p->cmdline);
	td(sb, p->ancestry);
	td(sb, p->container[0] ? p->container : "(host)");
	td_num(sb, p->uid);
	sb_printf(sb, "<td class=n data-calls=\"%llu\">%llu</td>", (unsigned long long)p->calls,
		  (unsigned long long)p->calls);
	td_num(sb, p->pages);
	td_num(sb, p->failed);
	td_num(sb, p->refused);
	td_num(sb, p->dets);
	sb_puts(sb, "<td>");
	for (unsigned int k = 0; k < p->n_targets; k++)
		sb_printf(sb, "%s%d", k ? ", " : "", r->targets[p->targets[k]].pid);
	sb_puts(sb, "</td>");
	td_time(sb, p->first_ns);
	td_time(sb, p->last_ns);
	sb_puts(sb, "</tr>\n");
}

static void processes(struct mpt_report *r, struct strbuf *sb, unsigned int shared)
{
	size_t n = r->n_procs < 1000 ? r->n_procs : 1000;
	uint32_t *order = malloc((r->n_procs ? r->n_procs : 1) * sizeof(*order));

	if (!order)
		return;
	for (size_t i = 0; i < r->n_procs; i++)
		order[i] = i;
	qsort_r(order, r->n_procs, sizeof(*order), by_proc_calls, r->procs);
	sb_printf(sb,
		  "<h2>Processes (%zu)</h2>\n<table id=processes><tr><th>process<th>host"
		  "<th>executable<th>command line<th>ancestry<th>container<th>uid<th>calls"
		  "<th>pages<th>failed<th>refused<th>detections<th>targets<th>first<th>last"
		  "</tr>\n",
		  r->n_procs);
	for (size_t i = 0; i < n; i++)
		process_row(r, sb, &r->procs[order[i]], shared);
	sb_puts(sb, "</table>\n");
	if (n < r->n_procs)
		sb_printf(sb, "<p>... and %zu more processes (--format json lists them all).</p>\n",
			  r->n_procs - n);
	free(order);
}

static void targets(struct mpt_report *r, struct strbuf *sb, unsigned int shared)
{
	sb_printf(sb,
		  "<h2>Targets: calls on other processes (%u)</h2>\n<table id=targets><tr>"
		  "<th>pid (caller's namespace)<th>host<th>process<th>calls<th>pages<th>failed"
		  "<th>callers</tr>\n",
		  r->n_targets);
	for (unsigned int i = 0; i < r->n_targets; i++) {
		const struct rp_target *t = &r->targets[i];

		sb_printf(sb, "<tr class=target data-pid=\"%d\"><td>%d</td>", t->pid, t->pid);
		td(sb, r->hosts[t->host]);
		if (t->proc >= 0)
			lane_link(sb, &r->procs[t->proc], shared);
		else
			td(sb, "(not seen calling)");
		td_num(sb, t->calls);
		td_num(sb, t->pages);
		td_num(sb, t->failed);
		td_num(sb, t->callers);
		sb_puts(sb, "</tr>\n");
	}
	sb_puts(sb, "</table>\n");
	if (r->targets_untold)
		sb_printf(sb, "<p>... and %llu calls on further targets.</p>\n",
			  (unsigned long long)r->targets_untold);
}

static void detections(struct mpt_report *r, struct strbuf *sb, unsigned int shared)
{
	sb_puts(sb, "<h2>Detections</h2>\n<table id=detections><tr><th>rule<th>name<th>severity"
		    "<th>count<th>process<th>time<th>the call that triggered it</tr>\n");
	for (unsigned int id = 0; id < MPT_DET_NR; id++) {
		const struct rp_rule *rule = &r->rules[id];

		for (unsigned int k = 0; k < rule->n_hits; k++) {
			sb_printf(sb, "<tr class=detection data-rule=\"%s\">", rp_rules[id].code);
			td(sb, rp_rules[id].code);
			td(sb, rp_rules[id].name);
			td(sb, rp_rules[id].severity);
			if (k == 0)
				td_num(sb, rule->count);
			else
				td(sb, "");
			lane_link(sb, &r->procs[rule->hits[k].proc], shared);
			td_time(sb, rule->hits[k].wall_ns);
			sb_puts(sb, "<td class=mono>");
			esc(sb, rule->hits[k].line);
			sb_puts(sb, "</td></tr>\n");
		}
	}
	sb_puts(sb, "</table>\n");
}

int mpt_report_write_html(struct mpt_report *r, FILE *out)
{
	struct strbuf sb;
	unsigned int shared;

	sb_init(&sb);
	mpt_report_finish(r);
	sb_printf(&sb,
		  "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
		  "<title>mptrace report</title><style>%s</style></head><body>\n",
		  style);
	header(r, &sb);
	timeline(r, &sb);
	shared = r->n_lanes;
	processes(r, &sb, shared);
	targets(r, &sb, shared);
	detections(r, &sb, shared);
	sb_puts(&sb, "</body></html>\n");
	return rp_write(&sb, out);
}
