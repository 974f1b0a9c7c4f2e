// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The report's summary as data: what the page shows, as one JSON document. */
#include "report/report_int.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static void key(struct strbuf *sb, const char *k)
{
	sb_json_str(sb, k, strlen(k));
	sb_putc(sb, ':');
}

static void str(struct strbuf *sb, const char *k, const char *v)
{
	key(sb, k);
	sb_json_str(sb, v ? v : "", v ? strlen(v) : 0);
	sb_putc(sb, ',');
}

static void num(struct strbuf *sb, const char *k, uint64_t v)
{
	key(sb, k);
	sb_u64(sb, v);
	sb_putc(sb, ',');
}

static void boolean(struct strbuf *sb, const char *k, bool v)
{
	key(sb, k);
	sb_puts(sb, v ? "true," : "false,");
}

static void when(struct strbuf *sb, const char *k, int64_t ns)
{
	char t[48];

	mpt_report_time(t, sizeof(t), ns);
	if (ns)
		str(sb, k, t);
	else {
		key(sb, k);
		sb_puts(sb, "null,");
	}
}

/* Replace the trailing comma with @close. */
static void close_with(struct strbuf *sb, char close)
{
	if (sb->len && sb->buf[sb->len - 1] == ',')
		sb->len--;
	sb_putc(sb, close);
	sb_putc(sb, ',');
}

static void sources(struct mpt_report *r, struct strbuf *sb)
{
	key(sb, "sources");
	sb_putc(sb, '[');
	for (unsigned int i = 0; i < r->n_src; i++) {
		const struct mpt_report_source *s = &r->src[i];

		sb_putc(sb, '{');
		str(sb, "name", s->name);
		str(sb, "host", s->host);
		str(sb, "kernel", s->kernel);
		str(sb, "attachMode", s->attach_mode);
		str(sb, "guarantee", mpt_report_mode_guarantee(s->attach_mode));
		str(sb, "captureSet", s->set_id);
		boolean(sb, "verified", s->verified);
		boolean(sb, "intact", s->intact);
		str(sb, "damage", s->damage);
		str(sb, "chainHead", s->chain_head);
		num(sb, "records", s->records);
		boolean(sb, "closedCleanly", s->closed);
		close_with(sb, '}');
	}
	close_with(sb, ']');
}

static void losses(struct mpt_report *r, struct strbuf *sb)
{
	key(sb, "lostByCause");
	sb_putc(sb, '{');
	for (unsigned int i = 0; i < r->n_causes; i++)
		num(sb, r->causes[i].name, r->causes[i].count);
	close_with(sb, '}');
	key(sb, "losses");
	sb_putc(sb, '[');
	for (unsigned int i = 0; i < r->n_losses; i++) {
		sb_putc(sb, '{');
		str(sb, "cause", r->losses[i].cause);
		num(sb, "count", r->losses[i].count);
		when(sb, "first", r->losses[i].first_ns);
		when(sb, "last", r->losses[i].last_ns);
		num(sb, "hostProcessId", r->losses[i].tgid);
		close_with(sb, '}');
	}
	close_with(sb, ']');
}

static void process(struct mpt_report *r, struct strbuf *sb, const struct rp_proc *p)
{
	sb_putc(sb, '{');
	num(sb, "hostProcessId", p->tgid);
	str(sb, "host", r->hosts[p->host]);
	str(sb, "processName", p->comm);
	str(sb, "executable", p->exe);
	str(sb, "commandLine", p->cmdline);
	str(sb, "ancestry", p->ancestry);
	str(sb, "containerId", p->container);
	str(sb, "containerRuntime", p->runtime);
	num(sb, "userId", p->uid);
	num(sb, "calls", p->calls);
	num(sb, "pages", p->pages);
	num(sb, "failed", p->failed);
	num(sb, "refused", p->refused);
	num(sb, "summed", p->summed);
	num(sb, "detections", p->dets);
	key(sb, "targets");
	sb_putc(sb, '[');
	for (unsigned int k = 0; k < p->n_targets; k++)
		sb_printf(sb, "%d,", r->targets[p->targets[k]].pid);
	close_with(sb, ']');
	when(sb, "first", p->first_ns);
	when(sb, "last", p->last_ns);
	key(sb, "lane");
	sb_printf(sb, "%d,", p->lane >= 0 ? p->lane : (int)r->n_lanes);
	close_with(sb, '}');
}

static void targets(struct mpt_report *r, struct strbuf *sb)
{
	key(sb, "targets");
	sb_putc(sb, '[');
	for (unsigned int i = 0; i < r->n_targets; i++) {
		const struct rp_target *t = &r->targets[i];

		sb_putc(sb, '{');
		key(sb, "pid");
		sb_printf(sb, "%d,", t->pid);
		str(sb, "host", r->hosts[t->host]);
		num(sb, "pidNamespace", t->pid_ns);
		if (t->proc >= 0) {
			num(sb, "hostProcessId", r->procs[t->proc].tgid);
			str(sb, "processName", r->procs[t->proc].comm);
		}
		num(sb, "calls", t->calls);
		num(sb, "pages", t->pages);
		num(sb, "failed", t->failed);
		num(sb, "callers", t->callers);
		close_with(sb, '}');
	}
	close_with(sb, ']');
}

static void detections(struct mpt_report *r, struct strbuf *sb)
{
	key(sb, "detections");
	sb_putc(sb, '[');
	for (unsigned int id = 0; id < MPT_DET_NR; id++) {
		const struct rp_rule *rule = &r->rules[id];

		if (!rule->count)
			continue;
		sb_putc(sb, '{');
		str(sb, "rule", rp_rules[id].code);
		str(sb, "name", rp_rules[id].name);
		str(sb, "severity", rp_rules[id].severity);
		num(sb, "count", rule->count);
		key(sb, "hits");
		sb_putc(sb, '[');
		for (unsigned int k = 0; k < rule->n_hits; k++) {
			sb_putc(sb, '{');
			when(sb, "time", rule->hits[k].wall_ns);
			num(sb, "hostProcessId", r->procs[rule->hits[k].proc].tgid);
			str(sb, "processName", r->procs[rule->hits[k].proc].comm);
			str(sb, "call", rule->hits[k].line);
			close_with(sb, '}');
		}
		close_with(sb, ']');
		close_with(sb, '}');
	}
	close_with(sb, ']');
}

static void bins(struct strbuf *sb, const char *k, const struct rp_bin *b, size_t field)
{
	key(sb, k);
	sb_putc(sb, '[');
	for (unsigned int i = 0; i < RP_BINS; i++)
		sb_printf(sb, "%u,", *(const uint32_t *)((const char *)&b[i] + field));
	close_with(sb, ']');
}

static void lane(struct strbuf *sb, const char *label, int64_t pid, const struct rp_bin *b)
{
	sb_putc(sb, '{');
	str(sb, "label", label);
	if (pid >= 0)
		num(sb, "hostProcessId", pid);
	bins(sb, "calls", b, offsetof(struct rp_bin, calls));
	bins(sb, "failed", b, offsetof(struct rp_bin, failed));
	bins(sb, "detections", b, offsetof(struct rp_bin, dets));
	close_with(sb, '}');
}

static void timeline(struct mpt_report *r, struct strbuf *sb)
{
	key(sb, "timeline");
	sb_putc(sb, '{');
	when(sb, "start", r->t0);
	num(sb, "binNs", r->bin_ns);
	key(sb, "lanes");
	sb_putc(sb, '[');
	for (unsigned int i = 0; i < r->n_lanes; i++) {
		const struct rp_proc *p = &r->procs[r->lane[i]];

		lane(sb, p->comm, p->tgid, p->bins);
	}
	lane(sb, "other processes", -1, r->other);
	close_with(sb, ']');
	close_with(sb, '}');
}

int mpt_report_write_json(struct mpt_report *r, FILE *out)
{
	struct strbuf sb;

	mpt_report_finish(r);
	sb_init(&sb);
	sb_putc(&sb, '{');
	num(&sb, "events", r->events);
	num(&sb, "shown", r->shown);
	num(&sb, "lost", r->lost);
	num(&sb, "summed", r->summed);
	when(&sb, "first", r->first_ns);
	when(&sb, "last", r->last_ns);
	boolean(&sb, "whole", rp_whole(r));
	boolean(&sb, "setBroken", r->set_broken);
	str(&sb, "madeWith", r->filters);
	sources(r, &sb);
	losses(r, &sb);
	key(&sb, "processes");
	sb_putc(&sb, '[');
	for (size_t i = 0; i < r->n_procs; i++)
		process(r, &sb, &r->procs[i]);
	close_with(&sb, ']');
	targets(r, &sb);
	detections(r, &sb);
	timeline(r, &sb);
	sb.len--; /* the last comma */
	sb_puts(&sb, "}\n");
	return rp_write(&sb, out);
}
