// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "detect/detect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/exceptions.h"
#include "decode/format.h"

#define SLOTS 4096

static const struct {
	const char *code, *name, *severity, *tactic, *tactic_name, *technique, *technique_name;
} rules[] = {
#define MPT_DET_ROW(id, code, name, sev, tac, tacname, tid, tname)                                 \
	{code, name, sev, tac, tacname, tid, tname},
    MPT_DETECTIONS(MPT_DET_ROW)
#undef MPT_DET_ROW
};

static const char *const descriptions[MPT_DET_NR] = {
    [MPT_DET_OTHER_PROCESS] = "a process asked to migrate the pages of another process",
    [MPT_DET_MOVE_ALL] = "MPOL_MF_MOVE_ALL moves pages shared with other processes too "
			 "(needs CAP_SYS_NICE)",
    [MPT_DET_PROBE_BURST] = "one process got many EPERM, EACCES or ESRCH results in a short "
			    "time: probing for targets or privileges",
    [MPT_DET_LAYOUT_SCAN] = "a process queried where many pages of another process live "
			    "(nodes NULL): memory-layout discovery",
    [MPT_DET_MIGRATION_FLOOD] = "one process asked to migrate pages at a very high rate: a "
				"noisy neighbour or a denial of service",
    [MPT_DET_CHANGED_DURING_CALL] =
	"pages[] or nodes[] (move_pages) or a node mask "
	"(migrate_pages, mbind, set_mempolicy) changed while the kernel "
	"was reading them: "
	"what the kernel acted on may differ from what was recorded at "
	"entry (a TOCTOU race against syscall tracers)",
    [MPT_DET_MIGRATE_OTHER] = "a process asked to migrate all pages of another process between "
			      "node sets (migrate_pages; needs CAP_SYS_NICE or the same "
			      "credentials)",
    [MPT_DET_FAIR_SHARE_FLOOD] = "a process called faster than its fair share of the tracer, so "
				 "its calls were summed instead of recorded one by one: flooding "
				 "a monitor is how its buffer is made to drop what comes next",
    [MPT_DET_REFUSED_REPEAT] = "a process kept making page-migration calls its seccomp filter "
			       "refuses (a container's default profile refuses them without "
			       "CAP_SYS_NICE): probing what its sandbox allows",
    [MPT_DET_CONTAINER_SPOOFED] = "the caller's cgroup is named for a container that its runtime "
				  "placed in another cgroup: a cgroup made to pass for that "
				  "container, and for its name and image",
    [MPT_DET_CROSS_CONTAINER] = "a process in a container named a process outside it (another "
				"container's, or the host's) in a page-migration call: a "
				"workload reaching across its isolation",
};

/* A caller in a container names a process known to be outside it (not merely unknown). */
static bool crosses_container(const struct mpt_view *v)
{
	const struct mpt_enrich *en = v->enrich;

	return en && en->container_id && en->container_id[0] && en->target &&
	       en->target->resolved && en->target->cgroup_known &&
	       strcmp(en->target->container_id, en->container_id);
}

/* A sum over a window that starts with its first addition and lasts window_ns. */
struct window {
	uint64_t start, sum;
};

/*
 * Records arrive in the order calls return, stamped with their entry time: a
 * @now before the window's start is a call that began earlier and belongs in it.
 */
static uint64_t window_add(struct window *w, uint64_t now, uint64_t add, uint64_t window_ns)
{
	if (!w->sum || (now > w->start && now - w->start > window_ns)) {
		w->start = now;
		w->sum = 0;
	}
	return w->sum += add;
}

/* What the rules remember about one process (tgid + start time: pids are reused). */
struct proc_state {
	uint32_t tgid;
	uint64_t start_ns;
	struct window errors;		 /* EPERM/EACCES/ESRCH results (MPT-3) */
	struct window flood;		 /* pages asked to move (MPT-5) */
	struct window scan;		 /* pages of other processes located (MPT-4) */
	struct window refused;		 /* calls refused by seccomp (MPT-9) */
	uint64_t last_fired[MPT_DET_NR]; /* event time + 1; 0: never */
};

struct mpt_detector {
	struct mpt_detect_cfg cfg;
	struct proc_state slot[SLOTS];
	struct mpt_exceptions *ex;
	uint64_t suppressed[MPT_DET_NR];
};

void mpt_detect_cfg_default(struct mpt_detect_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->burst_errors = 5;
	c->window_ns = 1000000000ull;
	c->scan_pages = 16;
	c->flood_pages = 100000;
	c->cooldown_ns = 10000000000ull;
	c->refused = 3;
}

struct mpt_detector *mpt_detector_new(const struct mpt_detect_cfg *c)
{
	struct mpt_detector *d = calloc(1, sizeof(*d));

	if (d)
		d->cfg = *c;
	return d;
}

struct mpt_detector *mpt_detector_open(const struct mpt_detect_cfg *c, char *err, size_t len)
{
	struct mpt_detector *d = mpt_detector_new(c);

	if (!d) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	if (c->exceptions && !(d->ex = mpt_exceptions_load(c->exceptions, err, len))) {
		free(d);
		return NULL;
	}
	return d;
}

int mpt_detector_reload(struct mpt_detector *d, char *err, size_t len)
{
	struct mpt_exceptions *x;

	if (!d || !d->cfg.exceptions)
		return 0;
	x = mpt_exceptions_load(d->cfg.exceptions, err, len);
	if (!x)
		return -1;
	mpt_exceptions_free(d->ex);
	d->ex = x;
	return 0;
}

unsigned int mpt_detector_exceptions(const struct mpt_detector *d)
{
	return d ? mpt_exceptions_count(d->ex) : 0;
}

const uint64_t *mpt_detector_suppressed(const struct mpt_detector *d)
{
	return d->suppressed;
}

void mpt_detector_free(struct mpt_detector *d)
{
	if (d)
		mpt_exceptions_free(d->ex);
	free(d);
}

const char *mpt_detection_code(enum mpt_detection_id id)
{
	return id < MPT_DET_NR ? rules[id].code : "?";
}

static struct proc_state *state_of(struct mpt_detector *d, const struct mpt_task *t)
{
	struct proc_state *s = &d->slot[t->host_tgid % SLOTS];

	if (s->tgid != t->host_tgid || s->start_ns != t->start_ns) {
		memset(s, 0, sizeof(*s));
		s->tgid = t->host_tgid;
		s->start_ns = t->start_ns;
	}
	return s;
}

/* The target pid argument names a process other than the caller. */
static bool targets_other(const struct mpt_view *v)
{
	int32_t pid;

	return mpt_view_other_pid(v, &pid);
}

/*
 * The rules for a call that names pages one by one (pages and page nodes
 * roles): moving another's, or asking where another's are (a layout scan),
 * or moving many (a flood), each over a window.
 */
static uint32_t page_hits(struct mpt_detector *d, const struct mpt_view *v, struct proc_state *s)
{
	const struct mpt_arg_view *nodes = mpt_view_role(v, MPT_ROLE_PAGE_NODES);
	const struct mpt_rec_hdr *h = v->hdr;
	uint64_t pages = mpt_view_role_value(v, MPT_ROLE_PAGE_COUNT, 0);
	uint32_t hit = 0;

	if (targets_other(v) && nodes->value)
		hit |= 1u << MPT_DET_OTHER_PROCESS;
	if (targets_other(v) && !nodes->value && h->ret_state == MPT_RET_SEEN && h->ret >= 0 &&
	    window_add(&s->scan, h->ts_boot_ns, pages, d->cfg.window_ns) >= d->cfg.scan_pages)
		hit |= 1u << MPT_DET_LAYOUT_SCAN;
	if (nodes->value &&
	    window_add(&s->flood, h->ts_boot_ns, pages, d->cfg.window_ns) >= d->cfg.flood_pages)
		hit |= 1u << MPT_DET_MIGRATION_FLOOD;
	return hit;
}

/* The bit of the flag named @name in @ed's flag table; 0 when it has none. */
static uint32_t flag_named(const struct mpt_event_desc *ed, const char *name)
{
	for (unsigned int i = 0; i < ed->nflags; i++)
		if (!strcmp(ed->flags[i].name, name))
			return ed->flags[i].value;
	return 0;
}

/* The rules of a call, found by its arguments' kinds and roles. */
static uint32_t call_hits(struct mpt_detector *d, const struct mpt_view *v, struct proc_state *s)
{
	const struct mpt_event_desc *ed = v->desc;
	uint32_t move_all = flag_named(ed, "MPOL_MF_MOVE_ALL"), hit = 0;

	if (mpt_view_role(v, MPT_ROLE_PAGE_NODES))
		hit |= page_hits(d, v, s);
	else if (targets_other(v))
		/* every page of another process moved: there is no array of them to weigh */
		hit |= 1u << MPT_DET_MIGRATE_OTHER;
	for (unsigned int i = 0; i < ed->nargs; i++) {
		if (ed->args[i].kind == MPT_ARG_FLAGS && (mpt_arg_bits(v, i) & move_all))
			hit |= 1u << MPT_DET_MOVE_ALL;
		/* rewritten during the call, or the kernel acted on pages it did not name */
		if (v->arg[i].changed || v->arg[i].kernel_other_n)
			hit |= 1u << MPT_DET_CHANGED_DURING_CALL;
	}
	return hit;
}

uint32_t mpt_detect(struct mpt_detector *d, const struct mpt_view *v)
{
	const struct mpt_rec_hdr *h = v->hdr;
	uint64_t now = h->ts_boot_ns;
	struct proc_state *s;
	uint32_t hit = 0, fire = 0;

	if (!d->cfg.enabled)
		return 0;
	s = state_of(d, &h->task);
	if (v->flood)
		hit |= 1u << MPT_DET_FAIR_SHARE_FLOOD;
	else
		hit |= call_hits(d, v, s);
	if (v->enrich && v->enrich->ctr_meta && v->enrich->ctr_meta->verify == MPT_CTR_ELSEWHERE)
		hit |= 1u << MPT_DET_CONTAINER_SPOOFED;
	if (crosses_container(v))
		hit |= 1u << MPT_DET_CROSS_CONTAINER;
	if (h->origin == MPT_ORIGIN_REFUSED &&
	    window_add(&s->refused, now, 1, d->cfg.window_ns) >= d->cfg.refused)
		hit |= 1u << MPT_DET_REFUSED_REPEAT;
	/* a refusal is MPT-9's: the call never reached the kernel's permission checks */
	if (!v->flood && h->origin != MPT_ORIGIN_REFUSED &&
	    (h->ret == -EPERM || h->ret == -EACCES || h->ret == -ESRCH)) {
		if (window_add(&s->errors, now, 1, d->cfg.window_ns) >= d->cfg.burst_errors)
			hit |= 1u << MPT_DET_PROBE_BURST;
	}
	/*
	 * At most once per process and rule per cooldown: a signal, not a
	 * flood. Not MPT-6: a harmless race first must not hide the next one.
	 */
	for (int r = 0; r < MPT_DET_NR; r++) {
		if (!(hit & (1u << r)))
			continue;
		/* an earlier entry time arriving later is inside the cooldown, not past it */
		if (r != MPT_DET_CHANGED_DURING_CALL && s->last_fired[r] &&
		    (now + 1 <= s->last_fired[r] ||
		     now + 1 - s->last_fired[r] < d->cfg.cooldown_ns))
			continue;
		if (now + 1 > s->last_fired[r])
			s->last_fired[r] = now + 1;
		fire |= 1u << r;
	}
	return fire;
}

static void json_str(struct strbuf *sb, const char *s)
{
	sb_json_str(sb, s, strlen(s));
}

void mpt_format_detection(enum mpt_format fmt, struct strbuf *sb, enum mpt_detection_id id,
			  const struct mpt_view *trigger, const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_rec_hdr *ev = trigger->hdr;
	struct strbuf inner;

	if (id >= MPT_DET_NR)
		return;
	if (fmt == MPT_FMT_OCSF) {
		const struct mpt_ocsf_rule rule = {
		    rules[id].code,	 rules[id].name,	   rules[id].severity,
		    descriptions[id],	 rules[id].tactic,	   rules[id].tactic_name,
		    rules[id].technique, rules[id].technique_name, MPT_ATTACK_VERSION};

		mpt_format_ocsf_finding(sb, &rule, trigger, ctx);
		return;
	}
	sb_init(&inner);
	if (fmt == MPT_FMT_JSON) {
		mpt_format_json(&inner, trigger, ctx);
		if (inner.len && inner.buf[inner.len - 1] == '\n')
			inner.len--;
		sb_putc(sb, '{');
		mpt_format_json_timestamp(sb, ev->ts_boot_ns + ctx->boot_to_wall_ns);
		sb_puts(sb, ",\"eventName\":\"detection\",\"hostName\":");
		json_str(sb, ctx->hostname);
		sb_puts(sb, ",\"detection\":{\"id\":");
		json_str(sb, rules[id].code);
		sb_puts(sb, ",\"name\":");
		json_str(sb, rules[id].name);
		sb_puts(sb, ",\"severity\":");
		json_str(sb, rules[id].severity);
		sb_puts(sb, ",\"description\":");
		json_str(sb, descriptions[id]);
		sb_puts(sb, ",\"mitre\":{\"technique\":");
		json_str(sb, rules[id].technique);
		sb_puts(sb, ",\"name\":");
		json_str(sb, rules[id].technique_name);
		sb_puts(sb, "}},\"triggeredBy\":");
		sb_put(sb, inner.buf ? inner.buf : "null", inner.buf ? inner.len : 4);
		sb_puts(sb, "}\n");
	} else {
		/* the event's own line, with the detection in front */
		mpt_format_table(&inner, trigger, ctx);
		sb_puts(sb, "DETECTION ");
		sb_puts(sb, rules[id].code);
		sb_puts(sb, " [");
		sb_puts(sb, rules[id].severity);
		sb_puts(sb, "] ");
		sb_puts(sb, rules[id].name);
		sb_puts(sb, ": ");
		sb_put(sb, inner.buf ? inner.buf : "\n", inner.buf ? inner.len : 1);
	}
	sb_free(&inner);
}

uint32_t mpt_detect_unexcepted(struct mpt_detector *d, const struct mpt_view *v)
{
	uint32_t hits = mpt_detect(d, v), quiet = hits ? mpt_exceptions_match(d->ex, hits, v) : 0;

	for (int r = 0; quiet && r < MPT_DET_NR; r++)
		if (quiet & (1u << r))
			d->suppressed[r]++;
	return hits & ~quiet;
}

uint32_t mpt_detect_lines(struct mpt_detector *d, enum mpt_format fmt, struct strbuf *sb,
			  const struct mpt_view *v, const struct mpt_fmt_ctx *ctx)
{
	uint32_t hits = mpt_detect_unexcepted(d, v);

	for (int r = 0; r < MPT_DET_NR; r++)
		if (hits & (1u << r))
			mpt_format_detection(fmt, sb, r, v, ctx);
	return hits;
}
