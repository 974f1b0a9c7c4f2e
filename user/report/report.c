// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The report's tallies: one pass over the events, memory bounded whatever their number. */
#define _GNU_SOURCE
#include "report/report_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "context/lineage.h"

const struct rp_rule_name rp_rules[MPT_DET_NR] = {
#define RP_RULE(id, code, name, sev, tac, tacname, tid, tname) {code, name, sev},
    MPT_DETECTIONS(RP_RULE)
#undef RP_RULE
};

struct mpt_report *mpt_report_new(const struct mpt_detect_cfg *detect)
{
	struct mpt_report *r = calloc(1, sizeof(*r));
	char err[256];

	if (!r)
		return NULL;
	r->bin_ns = 1000000; /* 1 ms, doubled as needed */
	/* the exceptions file was read once already, at the start (main) */
	r->detect = mpt_detector_open(detect, err, sizeof(err));
	r->index_cap = 1024;
	r->index = calloc(r->index_cap, sizeof(*r->index));
	r->arcs = calloc(RP_ARCS, sizeof(*r->arcs));
	sb_init(&r->scratch);
	if (!r->detect || !r->index || !r->arcs) {
		mpt_report_free(r);
		return NULL;
	}
	return r;
}

static void free_source(struct mpt_report_source *s)
{
	free((char *)s->name);
	free((char *)s->host);
	free((char *)s->kernel);
	free((char *)s->boot_id);
	free((char *)s->attach_mode);
	free((char *)s->set_id);
	free((char *)s->version);
	free((char *)s->damage);
	free((char *)s->chain_head);
}

void mpt_report_free(struct mpt_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_procs; i++) {
		struct rp_proc *p = &r->procs[i];

		free(p->exe), free(p->cmdline), free(p->ancestry), free(p->container);
		free(p->runtime), free(p->bins);
	}
	for (unsigned int i = 0; i < MPT_DET_NR; i++)
		for (unsigned int k = 0; k < r->rules[i].n_hits; k++)
			free(r->rules[i].hits[k].line);
	for (unsigned int i = 0; i < r->n_src; i++)
		free_source(&r->src[i]);
	for (unsigned int i = 0; i < r->n_hosts; i++)
		free(r->hosts[i]);
	free(r->procs), free(r->index), free(r->arcs), free(r->filters);
	mpt_detector_free(r->detect);
	sb_free(&r->scratch);
	free(r);
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

void mpt_report_source(struct mpt_report *r, const struct mpt_report_source *s)
{
	struct mpt_report_source *d;

	if (r->n_src == RP_SOURCES)
		return;
	d = &r->src[r->n_src++];
	*d = *s;
	d->name = dup_or_empty(s->name);
	d->host = dup_or_empty(s->host);
	d->kernel = dup_or_empty(s->kernel);
	d->boot_id = dup_or_empty(s->boot_id);
	d->attach_mode = dup_or_empty(s->attach_mode);
	d->set_id = dup_or_empty(s->set_id);
	d->version = dup_or_empty(s->version);
	d->damage = dup_or_empty(s->damage);
	d->chain_head = dup_or_empty(s->chain_head);
}

void mpt_report_set_broken(struct mpt_report *r)
{
	r->set_broken = true;
}

void mpt_report_filters(struct mpt_report *r, const char *text)
{
	free(r->filters);
	r->filters = text && *text ? strdup(text) : NULL;
}

void mpt_report_skipped(struct mpt_report *r)
{
	r->events++;
}

/* -- the timeline --------------------------------------------------------- */

static void fold(struct rp_bin *b)
{
	for (unsigned int i = 0; i < RP_BINS / 2; i++) {
		b[i].calls = b[2 * i].calls + b[2 * i + 1].calls;
		b[i].failed = b[2 * i].failed + b[2 * i + 1].failed;
		b[i].dets = b[2 * i].dets + b[2 * i + 1].dets;
	}
	memset(&b[RP_BINS / 2], 0, RP_BINS / 2 * sizeof(*b));
}

/* The bin of wall time @ns, the bins made wider until it fits. */
static unsigned int bin_of(struct mpt_report *r, int64_t ns)
{
	if (!r->t0)
		r->t0 = ns;
	if (ns < r->t0)
		return 0; /* another set's clock, a little behind: the first bin */
	while ((uint64_t)(ns - r->t0) / r->bin_ns >= RP_BINS) {
		r->bin_ns *= 2;
		for (size_t i = 0; i < r->n_procs; i++)
			if (r->procs[i].bins)
				fold(r->procs[i].bins);
		fold(r->other);
		for (size_t i = 0; i < r->n_arcs; i++)
			r->arcs[i].bin /= 2;
	}
	return (uint64_t)(ns - r->t0) / r->bin_ns;
}

static void span(struct mpt_report *r, int64_t first, int64_t last)
{
	if (!r->first_ns || first < r->first_ns)
		r->first_ns = first;
	if (last > r->last_ns)
		r->last_ns = last;
}

/* -- processes ------------------------------------------------------------ */

static unsigned int host_of(struct mpt_report *r, const char *name)
{
	name = name ? name : "";
	for (unsigned int i = 0; i < r->n_hosts; i++)
		if (!strcmp(r->hosts[i], name))
			return i;
	if (r->n_hosts == RP_HOSTS)
		return RP_HOSTS - 1;
	r->hosts[r->n_hosts] = strdup(name);
	return r->hosts[r->n_hosts] ? r->n_hosts++ : 0;
}

static size_t proc_hash(uint32_t host, uint32_t tgid, uint64_t start)
{
	uint64_t h = (start ^ ((uint64_t)host << 32 | tgid)) * 0x9e3779b97f4a7c15ull;

	return h >> 20;
}

static int grow_index(struct mpt_report *r)
{
	size_t cap = r->index_cap * 2;
	uint32_t *idx = calloc(cap, sizeof(*idx));

	if (!idx)
		return -1;
	for (size_t i = 0; i < r->n_procs; i++) {
		const struct rp_proc *p = &r->procs[i];
		size_t h = proc_hash(p->host, p->tgid, p->start_ns) & (cap - 1);

		while (idx[h])
			h = (h + 1) & (cap - 1);
		idx[h] = i + 1;
	}
	free(r->index);
	r->index = idx;
	r->index_cap = cap;
	return 0;
}

/* "bash[120] < sshd[100] < systemd[1]": the caller's ancestors, parent first. */
static char *ancestry_of(const struct mpt_lineage_view *l, struct strbuf *sb)
{
	sb_reset(sb);
	for (unsigned int i = 0; l && i < l->n_anc; i++) {
		if (i)
			sb_puts(sb, " < ");
		sb_printf(sb, "%s[%u]", l->anc[i]->comm, l->anc[i]->tgid);
	}
	if (l && l->anc_truncated)
		sb_puts(sb, " < ...");
	return strndup(sb->buf ? sb->buf : "", sb->len);
}

static char *cmdline_of(const struct mpt_proc_info *p)
{
	char *s;

	if (!p || !p->argv_len)
		return strdup("");
	s = malloc(p->argv_len + 1);
	if (!s)
		return NULL;
	for (unsigned int i = 0; i < p->argv_len; i++)
		s[i] = p->argv[i] ? (char)p->argv[i] : ' ';
	s[p->argv_len] = '\0';
	for (unsigned int n = p->argv_len; n && s[n - 1] == ' '; n--)
		s[n - 1] = '\0';
	return s;
}

static void describe(struct mpt_report *r, struct rp_proc *p, const struct mpt_view *v)
{
	const struct mpt_enrich *e = v->enrich;
	const struct mpt_lineage_view *l = e ? e->lineage : NULL;

	snprintf(p->comm, sizeof(p->comm), "%.*s", MPT_TASK_COMM_LEN, v->hdr->task.comm);
	p->exe = dup_or_empty(e && e->exe_path ? e->exe_path : l && l->self ? l->self->exe : "");
	p->cmdline = cmdline_of(l ? l->self : NULL);
	p->ancestry = ancestry_of(l, &r->scratch);
	p->container = dup_or_empty(e ? e->container_id : NULL);
	p->runtime = dup_or_empty(e ? e->container_runtime : NULL);
}

static struct rp_proc *proc_of(struct mpt_report *r, const struct mpt_view *v, unsigned int host)
{
	const struct mpt_task *t = &v->hdr->task;
	size_t h = proc_hash(host, t->host_tgid, t->start_ns) & (r->index_cap - 1);
	struct rp_proc *p;

	for (; r->index[h]; h = (h + 1) & (r->index_cap - 1)) {
		p = &r->procs[r->index[h] - 1];
		if (p->host == host && p->tgid == t->host_tgid && p->start_ns == t->start_ns)
			return p;
	}
	if (r->n_procs == r->cap_procs) {
		size_t cap = r->cap_procs ? 2 * r->cap_procs : 256;
		struct rp_proc *np = realloc(r->procs, cap * sizeof(*np));

		if (!np)
			return NULL;
		r->procs = np;
		r->cap_procs = cap;
	}
	p = &r->procs[r->n_procs];
	memset(p, 0, sizeof(*p));
	p->host = host, p->tgid = t->host_tgid, p->start_ns = t->start_ns;
	p->pid_ns = t->pid_ns, p->ns_tgid = t->ns_tgid, p->uid = t->uid;
	p->lane = -1;
	if (r->n_procs < RP_TIMED_PROCS)
		p->bins = calloc(RP_BINS, sizeof(*p->bins));
	describe(r, p, v);
	r->index[h] = ++r->n_procs;
	if (r->n_procs * 2 > r->index_cap && grow_index(r))
		return NULL;
	return &r->procs[r->n_procs - 1];
}

/* -- targets -------------------------------------------------------------- */

/* The target of a cross-process call: another process named by pid; -1 for none. */
static int target_of(struct mpt_report *r, const struct mpt_view *v, const struct rp_proc *p,
		     uint32_t caller)
{
	struct rp_target *t;
	int32_t pid;
	size_t h;
	unsigned int i;

	if (!mpt_view_other_pid(v, &pid))
		return -1;
	/* an index, not a scan of every target for every call */
	h = proc_hash(p->host, (uint32_t)pid, p->pid_ns) & (RP_TARGET_SLOTS - 1);
	for (; r->target_index[h]; h = (h + 1) & (RP_TARGET_SLOTS - 1)) {
		t = &r->targets[r->target_index[h] - 1];
		if (t->host == p->host && t->pid_ns == p->pid_ns && t->pid == pid)
			break;
	}
	i = r->target_index[h] ? r->target_index[h] - 1 : r->n_targets;
	if (i == r->n_targets) {
		if (i == RP_TARGETS) {
			r->targets_untold++;
			return -1;
		}
		t = &r->targets[r->n_targets++];
		r->target_index[h] = r->n_targets;
		memset(t, 0, sizeof(*t));
		t->host = p->host, t->pid_ns = p->pid_ns, t->pid = pid;
		t->proc = -1;
		t->last_caller = UINT32_MAX;
	}
	t = &r->targets[i];
	t->calls++;
	t->failed += v->hdr->ret < 0;
	t->pages += mpt_view_role_value(v, MPT_ROLE_PAGE_COUNT, 0);
	if (t->last_caller != caller) {
		t->callers++;
		t->last_caller = caller;
	}
	return (int)i;
}

static void note_target(struct rp_proc *p, uint32_t target)
{
	for (unsigned int i = 0; i < p->n_targets; i++)
		if (p->targets[i] == target)
			return;
	if (p->n_targets < RP_TARGETS_LISTED)
		p->targets[p->n_targets++] = target;
}

static void add_arc(struct mpt_report *r, uint32_t caller, uint32_t target, uint32_t bin)
{
	if (r->n_arcs && r->arcs[r->n_arcs - 1].caller == caller &&
	    r->arcs[r->n_arcs - 1].target == target && r->arcs[r->n_arcs - 1].bin == bin) {
		r->arcs[r->n_arcs - 1].count++;
		return;
	}
	if (r->n_arcs == RP_ARCS) {
		r->arcs_untold++;
		return;
	}
	r->arcs[r->n_arcs++] = (struct rp_arc){caller, target, bin, 1};
}

/* -- events --------------------------------------------------------------- */

static void note_detections(struct mpt_report *r, const struct mpt_view *v,
			    const struct mpt_fmt_ctx *ctx, uint32_t proc, int64_t wall)
{
	uint32_t fired = mpt_detect_unexcepted(r->detect, v);

	for (unsigned int id = 0; id < MPT_DET_NR; id++) {
		struct rp_rule *rule = &r->rules[id];
		struct rp_hit *h;

		if (!(fired & (1u << id)))
			continue;
		rule->count++;
		r->procs[proc].dets++;
		if (r->procs[proc].bins)
			r->procs[proc].bins[bin_of(r, wall)].dets++;
		else
			r->other[bin_of(r, wall)].dets++;
		if (rule->n_hits == RP_HITS)
			continue;
		h = &rule->hits[rule->n_hits++];
		h->wall_ns = wall;
		h->proc = proc;
		sb_reset(&r->scratch);
		mpt_format_table(&r->scratch, v, ctx);
		if (r->scratch.len && r->scratch.buf[r->scratch.len - 1] == '\n')
			r->scratch.len--;
		h->line = strndup(r->scratch.buf ? r->scratch.buf : "", r->scratch.len);
	}
}

static void tally(struct rp_proc *p, struct rp_bin *b, const struct mpt_view *v, int64_t wall)
{
	uint64_t calls = v->flood ? v->flood->calls : 1;
	uint64_t failed = v->flood ? v->flood->failures : v->hdr->ret < 0;

	p->calls += calls;
	p->failed += failed;
	p->summed += v->flood ? calls : 0;
	p->refused += v->hdr->origin == MPT_ORIGIN_REFUSED;
	p->pages += v->flood ? v->flood->pages : mpt_view_role_value(v, MPT_ROLE_PAGE_COUNT, 0);
	if (!p->first_ns || wall < p->first_ns)
		p->first_ns = wall;
	if (wall > p->last_ns)
		p->last_ns = wall;
	b->calls += calls;
	b->failed += failed;
}

void mpt_report_event(struct mpt_report *r, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx)
{
	int64_t wall = (int64_t)v->hdr->ts_boot_ns + ctx->boot_to_wall_ns;
	unsigned int host = host_of(r, ctx->hostname);
	struct rp_proc *p = proc_of(r, v, host);
	unsigned int bin;
	uint32_t idx;
	int target;

	r->events++;
	r->shown++;
	if (!p)
		return;
	idx = p - r->procs;
	span(r, wall, wall);
	bin = bin_of(r, wall);
	tally(p, p->bins ? &p->bins[bin] : &r->other[bin], v, wall);
	r->summed += v->flood ? v->flood->calls : 0;
	target = target_of(r, v, p, idx);
	if (target >= 0) {
		note_target(p, target);
		add_arc(r, idx, target, bin);
	}
	note_detections(r, v, ctx, idx, wall);
}

static void count_cause(struct mpt_report *r, const char *cause, uint64_t count)
{
	unsigned int i;

	for (i = 0; i < r->n_causes && strcmp(r->causes[i].name, cause); i++)
		;
	if (i == r->n_causes) {
		if (i == sizeof(r->causes) / sizeof(r->causes[0]))
			i--; /* more causes than there are: never, but stay inside */
		else
			snprintf(r->causes[r->n_causes++].name, sizeof(r->causes[0].name), "%s",
				 cause);
	}
	r->causes[i].count += count;
}

void mpt_report_loss(struct mpt_report *r, const char *cause, uint64_t count, int64_t first_ns,
		     int64_t last_ns, uint32_t tgid)
{
	struct rp_loss *l;

	r->lost += count;
	count_cause(r, cause, count);
	span(r, first_ns, last_ns);
	bin_of(r, last_ns);
	if (r->n_losses == RP_LOSSES) {
		/* past the cap: the last range grows to cover the rest */
		l = &r->losses[RP_LOSSES - 1];
		l->count += count;
		if (last_ns > l->last_ns)
			l->last_ns = last_ns;
		return;
	}
	l = &r->losses[r->n_losses++];
	snprintf(l->cause, sizeof(l->cause), "%s", cause);
	l->count = count, l->first_ns = first_ns, l->last_ns = last_ns, l->tgid = tgid;
}

/* -- what both renderings need -------------------------------------------- */

static int by_calls(const void *a, const void *b, void *ctx)
{
	const struct rp_proc *procs = ctx;
	uint64_t x = procs[*(const uint32_t *)a].calls, y = procs[*(const uint32_t *)b].calls;

	return x < y ? 1 : x > y ? -1 : (int)(*(const uint32_t *)a - *(const uint32_t *)b);
}

static unsigned int pick_lanes(struct mpt_report *r, uint32_t *lane, unsigned int max)
{
	size_t n = r->n_procs < RP_TIMED_PROCS ? r->n_procs : RP_TIMED_PROCS;
	uint32_t *all = malloc((n ? n : 1) * sizeof(*all));
	unsigned int k = 0;

	if (!all)
		return 0;
	for (size_t i = 0; i < n; i++)
		all[i] = i;
	qsort_r(all, n, sizeof(*all), by_calls, r->procs);
	for (size_t i = 0; i < r->n_procs; i++)
		r->procs[i].lane = -1;
	for (k = 0; k < n && k < max; k++) {
		lane[k] = all[k];
		r->procs[all[k]].lane = k;
	}
	/* the others share the last lane: their bins join it */
	for (size_t i = k; i < n; i++)
		for (unsigned int b = 0; b < RP_BINS; b++) {
			r->other[b].calls += r->procs[all[i]].bins[b].calls;
			r->other[b].failed += r->procs[all[i]].bins[b].failed;
			r->other[b].dets += r->procs[all[i]].bins[b].dets;
			r->procs[all[i]].bins[b] = (struct rp_bin){0};
		}
	free(all);
	return k;
}

static int by_ns_pid(const void *a, const void *b, void *ctx)
{
	const struct rp_proc *x = &((const struct rp_proc *)ctx)[*(const uint32_t *)a];
	const struct rp_proc *y = &((const struct rp_proc *)ctx)[*(const uint32_t *)b];

	if (x->host != y->host)
		return x->host < y->host ? -1 : 1;
	if (x->pid_ns != y->pid_ns)
		return x->pid_ns < y->pid_ns ? -1 : 1;
	return x->ns_tgid < y->ns_tgid ? -1 : x->ns_tgid > y->ns_tgid;
}

/* Same host, pid namespace and pid: the target is a process the trace saw calling. */
static void name_targets(struct mpt_report *r)
{
	uint32_t *order = malloc((r->n_procs ? r->n_procs : 1) * sizeof(*order));

	if (!order)
		return;
	for (size_t i = 0; i < r->n_procs; i++)
		order[i] = i;
	qsort_r(order, r->n_procs, sizeof(*order), by_ns_pid, r->procs);
	for (unsigned int i = 0; i < r->n_targets; i++) {
		struct rp_target *t = &r->targets[i];
		size_t lo = 0, hi = r->n_procs;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			const struct rp_proc *p = &r->procs[order[mid]];
			int c = p->host != t->host	 ? (p->host < t->host ? -1 : 1)
				: p->pid_ns != t->pid_ns ? (p->pid_ns < t->pid_ns ? -1 : 1)
				: p->ns_tgid != (uint32_t)t->pid
				    ? (p->ns_tgid < (uint32_t)t->pid ? -1 : 1)
				    : 0;

			if (!c) {
				t->proc = order[mid];
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	free(order);
}

void mpt_report_finish(struct mpt_report *r)
{
	if (r->finished)
		return;
	r->finished = true;
	r->n_lanes = pick_lanes(r, r->lane, RP_LANES);
	name_targets(r);
}

int mpt_report_write(struct mpt_report *r, FILE *out, enum mpt_format fmt)
{
	return fmt == MPT_FMT_JSON ? mpt_report_write_json(r, out) : mpt_report_write_html(r, out);
}

bool rp_whole(const struct mpt_report *r)
{
	bool whole = !r->set_broken;

	for (unsigned int i = 0; i < r->n_src; i++)
		whole &= !r->src[i].verified || r->src[i].intact;
	return whole;
}

int rp_write(struct strbuf *sb, FILE *out)
{
	int rc = 0;

	if (sb->oom) {
		errno = ENOMEM;
		rc = -1;
	} else if (fwrite(sb->buf, 1, sb->len, out) != sb->len) {
		rc = -1;
	}
	sb_free(sb);
	return rc;
}

void mpt_report_time(char *buf, size_t len, int64_t ns)
{
	time_t sec = ns / 1000000000;
	struct tm tm;
	char day[32];

	gmtime_r(&sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09lldZ", day, (long long)(ns % 1000000000));
}

const char *mpt_report_mode_guarantee(const char *mode)
{
	if (!strcmp(mode, "kprobe"))
		return "kprobe: every call's entry; a return for up to 4096 calls in flight at "
		       "once "
		       "(past that, reported from the entry and counted)";
	if (!strcmp(mode, "fentry"))
		return "fentry: every call's entry and return, except calls inside while a "
		       "trampoline is replaced (reported from the entry)";
	if (!strcmp(mode, "tracepoint"))
		return "tracepoint: every call's entry and return, calls refused by seccomp "
		       "included";
	return "unknown attach mode";
}
