// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * OCSF 1.8.0: a call is a Memory Activity (class 1004), a detection a
 * Detection Finding (class 2004) carrying that activity as its evidence, and
 * a process record (an ancestor a line's chain leaves out) a Live Evidence
 * Info (class 5040) of query type Process. What OCSF has no attribute for is under "unmapped",
 * named as in mptrace's JSON format. The attributes used, their types and enums are in
 * events/ocsf-1.8.0.json (written from the schema by scripts/ocsf_describe.py);
 * tests/check_ocsf.py holds every line the tests make to it. The mapping,
 * field by field, is in the README.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "decode/format.h"
#include "mptrace_event.h"
#include "version.h"

#define OCSF_VERSION "1.8.0"
#define MEMORY_ACTIVITY 1004
#define DETECTION_FINDING 2004
#define LIVE_EVIDENCE_INFO 5040
#define QUERY_PROCESS 10 /* query_evidence's query_type_id */
/* memory_activity's activity_id: a call that asks for migration modifies pages */
#define ACT_MODIFY_PAGE 2
#define ACT_OTHER 99 /* a query (nodes NULL): it reads where pages are, nothing changes */
#define OS_LINUX 200
#define PAGE_BYTES 4096 /* x86-64, the only architecture mptrace traces */

/* An OCSF class: type_uid and type_name follow from it and the activity. */
struct ocsf_class {
	int uid;
	const char *name;
	int category_uid;
	const char *category;
};

static const struct ocsf_class memory_activity_class = {MEMORY_ACTIVITY, "Memory Activity", 1,
							"System Activity"};
static const struct ocsf_class evidence_class = {LIVE_EVIDENCE_INFO, "Live Evidence Info", 5,
						 "Discovery"};
static const struct ocsf_class finding_class = {DETECTION_FINDING, "Detection Finding", 2,
						"Findings"};

static void str(struct strbuf *sb, const char *s)
{
	sb_json_str(sb, s ? s : "", s ? strlen(s) : 0);
}

static void key(struct strbuf *sb, const char *k)
{
	if (sb->len && sb->buf[sb->len - 1] != '{' && sb->buf[sb->len - 1] != '[')
		sb_putc(sb, ',');
	sb_putc(sb, '"');
	sb_puts(sb, k);
	sb_puts(sb, "\":");
}

static void kstr(struct strbuf *sb, const char *k, const char *v)
{
	key(sb, k);
	str(sb, v);
}

static void kint(struct strbuf *sb, const char *k, int64_t v)
{
	key(sb, k);
	sb_s64(sb, v);
}

/*
 * The class and activity attributes. @caption is the activity as OCSF names
 * it in type_name; @name may say more (an "Other" activity's own name).
 */
static void classify(struct strbuf *sb, const struct ocsf_class *c, int act, const char *name,
		     const char *caption)
{
	char type[96];

	kint(sb, "class_uid", c->uid);
	kstr(sb, "class_name", c->name);
	kint(sb, "category_uid", c->category_uid);
	kstr(sb, "category_name", c->category);
	kint(sb, "activity_id", act);
	kstr(sb, "activity_name", name);
	kint(sb, "type_uid", c->uid * 100 + act);
	snprintf(type, sizeof(type), "%s: %s", c->name, caption);
	kstr(sb, "type_name", type);
}

static const struct mpt_enrich *enrich_of(const struct mpt_view *v)
{
	static const struct mpt_enrich none = {"", "", "", "", "", NULL, NULL, NULL};

	return v->enrich ? v->enrich : &none;
}

static int64_t wall_ms(uint64_t boot_ns, const struct mpt_fmt_ctx *ctx)
{
	return ((int64_t)boot_ns + ctx->boot_to_wall_ns) / 1000000;
}

static bool in_container(const struct mpt_view *v)
{
	return enrich_of(v)->container_id[0] != '\0';
}

static void exe_file(struct strbuf *sb, const char *exe, const struct mpt_proc_info *p,
		     uint8_t flags)
{
	const char *base = strrchr(exe, '/');

	key(sb, "file");
	sb_putc(sb, '{');
	kstr(sb, "name", base ? base + 1 : exe);
	kstr(sb, "path", exe);
	/* a path longer than kept is its last components: it looks whole, so say it is not */
	flags |= p ? p->flags : 0;
	if (flags & (MPT_PROC_PATH_TRUNCATED | MPT_PROC_EXE_DOUBTED))
		kstr(sb, "desc", mpt_exe_doubt(flags));
	kint(sb, "type_id", 1); /* Regular File */
	kstr(sb, "type", "Regular File");
	sb_putc(sb, '}');
}

static void cmd_line(struct strbuf *sb, const struct mpt_proc_info *p)
{
	struct strbuf words;

	if (!p || !p->argv_len)
		return;
	sb_init(&words);
	mpt_format_cmdline(&words, p, false);
	key(sb, "cmd_line");
	sb_json_str(sb, words.buf ? words.buf : "", words.len);
	sb_free(&words);
}

/* "uid": the process's entity id, the same in every event that names it. */
static void entity_uid(struct strbuf *sb, const struct mpt_fmt_ctx *ctx, uint32_t tgid,
		       uint64_t start_ns)
{
	char id[MPT_ENTITY_ID_LEN];

	mpt_entity_id(id, ctx->boot_id, tgid, start_ns);
	kstr(sb, "uid", id);
}

/* What names a process entity: pid, uid (entity id), name, created_time. */
static void entity(struct strbuf *sb, const struct mpt_proc_info *a, const struct mpt_fmt_ctx *ctx)
{
	kint(sb, "pid", a->tgid);
	entity_uid(sb, ctx, a->tgid, a->start_ns);
	key(sb, "name");
	sb_json_str(sb, a->comm, strnlen(a->comm, MPT_TASK_COMM_LEN));
	kint(sb, "created_time", wall_ms(a->start_ns, ctx));
}

/* A process as its record knows it: the entity, its file and command line. */
static void process_fields(struct strbuf *sb, const struct mpt_proc_info *a,
			   const struct mpt_fmt_ctx *ctx)
{
	entity(sb, a, ctx);
	if (a->exe[0])
		exe_file(sb, a->exe, a, 0);
	cmd_line(sb, a);
}

/* The parent: one level, as OCSF has it; the ones above it are in the ancestry. */
static void parent(struct strbuf *sb, const struct mpt_proc_info *a, const struct mpt_fmt_ctx *ctx)
{
	sb_putc(sb, '{');
	process_fields(sb, a, ctx);
	sb_putc(sb, '}');
}

/* A parent named only: its pid and entity id. */
static void parent_ref(struct strbuf *sb, const struct mpt_proc_info *a,
		       const struct mpt_fmt_ctx *ctx)
{
	sb_putc(sb, '{');
	kint(sb, "pid", a->ptgid);
	entity_uid(sb, ctx, a->ptgid, a->pstart_ns);
	sb_putc(sb, '}');
}

/* OCSF's flat ancestry: process entities, the parent first, up to the oldest kept. */
static void ancestry(struct strbuf *sb, const struct mpt_lineage_view *l,
		     const struct mpt_fmt_ctx *ctx)
{
	key(sb, "ancestry");
	sb_putc(sb, '[');
	for (unsigned int i = 0; i < l->n_anc; i++) {
		if (i)
			sb_putc(sb, ',');
		sb_putc(sb, '{');
		entity(sb, l->anc[i], ctx);
		if (l->anc[i]->exe[0])
			kstr(sb, "path", l->anc[i]->exe);
		sb_putc(sb, '}');
	}
	sb_putc(sb, ']');
}

/* "user":{"uid":"N"}: OCSF's user object, its uid a string. */
static void user_uid(struct strbuf *sb, uint32_t uid)
{
	key(sb, "user");
	sb_puts(sb, "{\"uid\":\"");
	sb_u64(sb, uid);
	sb_puts(sb, "\"}");
}

/* What a verified container's runtime names: the container, its image, labels, orchestrator. */
static void container_names(struct strbuf *sb, const struct mpt_ctr_meta *m)
{
	if (!m || m->verify != MPT_CTR_VERIFIED)
		return;
	if (m->name[0])
		kstr(sb, "name", m->name);
	/* OCSF's image needs its uid: a name alone goes under unmapped */
	if (m->image_id[0]) {
		key(sb, "image");
		sb_putc(sb, '{');
		kstr(sb, "uid", m->image_id);
		if (m->image[0])
			kstr(sb, "name", m->image);
		sb_putc(sb, '}');
	}
	if (m->labels[0]) {
		key(sb, "labels");
		sb_putc(sb, '[');
		for (const char *l = m->labels; *l;) {
			size_t len = strcspn(l, "\n");

			if (l != m->labels)
				sb_putc(sb, ',');
			sb_json_str(sb, l, len);
			l += len + (l[len] == '\n');
		}
		sb_putc(sb, ']');
	}
	if (m->pod_name[0])
		kstr(sb, "orchestrator", "Kubernetes");
}

/* What OCSF's container has no attribute for: the verdict, the digest, the pod's names. */
static void container_unmapped(struct strbuf *sb, const struct mpt_ctr_meta *m)
{
	if (!m || m->verify == MPT_CTR_UNCHECKED)
		return;
	key(sb, "containerVerified");
	sb_puts(sb, m->verify == MPT_CTR_VERIFIED ? "true" : "false");
	kstr(sb, "containerVerification", mpt_ctr_verify_name(m->verify));
	if (m->verify != MPT_CTR_VERIFIED)
		return;
	if (m->image[0] && !m->image_id[0])
		kstr(sb, "containerImage", m->image);
	if (m->image_digest[0])
		kstr(sb, "containerImageDigest", m->image_digest);
	if (m->pod_name[0])
		kstr(sb, "podName", m->pod_name);
	if (m->pod_namespace[0])
		kstr(sb, "podNamespace", m->pod_namespace);
}

/* The caller: what the record knows of it and what user space added. */
static void caller_process(struct strbuf *sb, const struct mpt_view *v,
			   const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_task *t = &v->hdr->task;
	const struct mpt_enrich *en = enrich_of(v);
	const char *exe = en->exe_path;

	sb_putc(sb, '{');
	kint(sb, "pid", t->host_tgid);
	kint(sb, "ptid", t->host_tid);
	entity_uid(sb, ctx, t->host_tgid, t->start_ns);
	key(sb, "name");
	sb_json_str(sb, t->comm, strnlen(t->comm, sizeof(t->comm)));
	kint(sb, "created_time", wall_ms(t->start_ns, ctx));
	if (exe[0])
		exe_file(sb, exe, en->lineage ? en->lineage->self : NULL, t->exe);
	cmd_line(sb, en->lineage ? en->lineage->self : NULL);
	user_uid(sb, t->uid);
	key(sb, "parent_process");
	if (en->lineage && en->lineage->self && en->lineage->n_anc) {
		parent(sb, en->lineage->anc[0], ctx);
		ancestry(sb, en->lineage, ctx);
	} else if (en->lineage && en->lineage->self && en->lineage->self->pstart_ns) {
		/* --ancestors 0: the parent by its entity id, whose process record tells the rest
		 */
		parent_ref(sb, en->lineage->self, ctx);
	} else {
		sb_putc(sb, '{');
		kint(sb, "pid", t->host_ptgid);
		sb_putc(sb, '}');
	}
	if (in_container(v)) {
		key(sb, "container");
		sb_putc(sb, '{');
		kstr(sb, "uid", en->container_id);
		if (en->container_runtime[0])
			kstr(sb, "runtime", en->container_runtime);
		if (en->pod_uid[0])
			kstr(sb, "pod_uuid", en->pod_uid);
		container_names(sb, en->ctr_meta);
		sb_putc(sb, '}');
		kint(sb, "namespace_pid", t->ns_tgid);
	}
	sb_putc(sb, '}');
}

/*
 * The call's target pid (a summary's targets are many: it is told as the
 * caller's activity), when it is not the caller: 0, its own pid or tid.
 */
static bool target_other(const struct mpt_view *v, int32_t *pid)
{
	const struct mpt_task *t = &v->hdr->task;

	*pid = mpt_view_target_pid(v);
	return *pid != 0 && (uint32_t)*pid != t->ns_tgid && (uint32_t)*pid != t->ns_tid;
}

/*
 * The process acted on: the caller, unless the target pid argument names
 * another, a pid of the caller's pid namespace (a host pid only when the
 * caller runs in the host's).
 */
static void target_process(struct strbuf *sb, const struct mpt_view *v,
			   const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_task *t = &v->hdr->task;
	const struct mpt_target *tg = enrich_of(v)->target;
	int32_t pid;

	if (!target_other(v, &pid)) {
		/* the caller itself: actor.process says who it is, this names it */
		sb_putc(sb, '{');
		kint(sb, "pid", t->host_tgid);
		entity_uid(sb, ctx, t->host_tgid, t->start_ns);
		sb_putc(sb, '}');
		return;
	}
	sb_putc(sb, '{');
	if (tg && tg->resolved) {
		kint(sb, "pid", tg->host_tgid);
		entity_uid(sb, ctx, tg->host_tgid, tg->start_ns);
		kstr(sb, "name", tg->comm);
		kint(sb, "created_time", wall_ms(tg->start_ns, ctx));
		if (tg->exe[0])
			exe_file(sb, tg->exe, NULL, 0);
		user_uid(sb, tg->uid);
		if (tg->container_id[0]) {
			key(sb, "container");
			sb_putc(sb, '{');
			kstr(sb, "uid", tg->container_id);
			if (tg->container_name[0])
				kstr(sb, "name", tg->container_name);
			sb_putc(sb, '}');
		}
	}
	if (!tg || !tg->resolved || t->ns_tgid != t->host_tgid) {
		if (t->ns_tgid == t->host_tgid)
			kint(sb, "pid", pid);
		else
			kint(sb, "namespace_pid", pid);
	}
	sb_putc(sb, '}');
}

/* The target names a pid of another namespace: a container profile attribute. */
static bool uses_container_profile(const struct mpt_view *v)
{
	const struct mpt_task *t = &v->hdr->task;
	int32_t pid;

	return in_container(v) || (target_other(v, &pid) && t->ns_tgid != t->host_tgid);
}

/* A stable id: the boot, the entry time and the thread name one call. */
static void event_uid(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx,
		      const char *prefix)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "%s%s-%" PRIx64 "-%u", prefix,
		 ctx->boot_id && ctx->boot_id[0] ? ctx->boot_id : "noboot",
		 (uint64_t)v->hdr->ts_boot_ns, v->hdr->task.host_tid);
	str(sb, buf);
}

/* The metadata every line opens with: OCSF's version, the product, the profiles used. */
static void metadata_head(struct strbuf *sb, const char *profiles)
{
	key(sb, "metadata");
	sb_putc(sb, '{');
	kstr(sb, "version", OCSF_VERSION);
	key(sb, "product");
	sb_putc(sb, '{');
	kstr(sb, "name", "mptrace");
	kstr(sb, "vendor_name", "mptrace");
	kstr(sb, "version", MPTRACE_VERSION);
	sb_putc(sb, '}');
	key(sb, "profiles");
	sb_puts(sb, profiles);
}

/* ... and closes with: the record's own clock (ns, where time has ms) and what made it. */
static void metadata_tail(struct strbuf *sb, int64_t wall_ns, const char *code)
{
	char orig[32];

	snprintf(orig, sizeof(orig), "%" PRId64, wall_ns);
	kstr(sb, "original_time", orig);
	kstr(sb, "event_code", code);
	sb_putc(sb, '}');
}

static void metadata(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx,
		     const char *uid_prefix)
{
	metadata_head(sb, uses_container_profile(v) ? "[\"host\",\"container\"]" : "[\"host\"]");
	key(sb, "uid");
	event_uid(sb, v, ctx, uid_prefix);
	metadata_tail(sb, (int64_t)v->hdr->ts_boot_ns + ctx->boot_to_wall_ns, v->desc->name);
}

static void device(struct strbuf *sb, const struct mpt_fmt_ctx *ctx)
{
	key(sb, "device");
	sb_putc(sb, '{');
	kstr(sb, "hostname", ctx->hostname);
	kint(sb, "type_id", 0); /* Unknown: a server, a desktop, a VM: not known here */
	kstr(sb, "type", "Unknown");
	if (ctx->boot_id && ctx->boot_id[0])
		kstr(sb, "boot_uid", ctx->boot_id);
	key(sb, "os");
	sb_putc(sb, '{');
	kstr(sb, "name", "Linux");
	kint(sb, "type_id", OS_LINUX);
	kstr(sb, "type", "Linux");
	if (ctx->kernel && ctx->kernel[0])
		kstr(sb, "kernel_release", ctx->kernel);
	sb_puts(sb, "}}");
}

/* status_id, status, status_code, status_detail from the return value. */
static void status(struct strbuf *sb, const struct mpt_rec_hdr *ev)
{
	char detail[64];

	if (ev->ret_state != MPT_RET_SEEN) {
		kint(sb, "status_id", 0);
		kstr(sb, "status", "Unknown");
		kstr(sb, "status_detail", mpt_ret_state_desc(ev->ret_state));
	} else if (ev->ret < 0) {
		const char *name = mpt_errno_name((int)-ev->ret);

		kint(sb, "status_id", 2);
		kstr(sb, "status", "Failure");
		if (name)
			kstr(sb, "status_code", name);
		/* refused before it ran: that is the detail that matters */
		kstr(sb, "status_detail",
		     ev->origin == MPT_ORIGIN_REFUSED ? mpt_origin_desc(ev->origin)
						      : mpt_errno_desc((int)-ev->ret));
	} else {
		kint(sb, "status_id", 1);
		kstr(sb, "status", "Success");
		if (ev->ret > 0) {
			/* move_pages(2), migrate_pages(2): a positive return is the pages not
			 * migrated */
			snprintf(detail, sizeof(detail), "%" PRId64 " pages not migrated",
				 (int64_t)ev->ret);
			kstr(sb, "status_detail", detail);
		}
	}
}

/* What OCSF has no attribute for, named as in mptrace's JSON format. */
static void unmapped(struct strbuf *sb, const struct mpt_view *v)
{
	const struct mpt_rec_hdr *ev = v->hdr;
	const struct mpt_task *t = &ev->task;
	const struct mpt_enrich *en = enrich_of(v);

	key(sb, "unmapped");
	sb_putc(sb, '{');
	kstr(sb, "eventName", v->desc->name);
	kstr(sb, "abi", mpt_abi_name(ev->abi));
	mpt_format_json_return(sb, ev);
	kint(sb, "processorId", t->cpu);
	kint(sb, "processId", t->ns_tgid);
	kint(sb, "threadId", t->ns_tid);
	kint(sb, "parentProcessId", t->ns_ptgid);
	kint(sb, "groupId", t->gid);
	mpt_format_json_creds(sb, ev, false);
	kint(sb, "cgroupId", (int64_t)t->cgroup_id);
	kstr(sb, "cgroupPath", en->cgroup_path);
	container_unmapped(sb, en->ctr_meta);
	kint(sb, "mountNamespace", t->mnt_ns);
	kint(sb, "pidNamespace", t->pid_ns);
	if (en->lineage && en->lineage->self && (en->lineage->self->flags & MPT_PROC_CREATOR))
		sb_puts(sb, ",\"parentIsCreator\":true");
	key(sb, "args");
	mpt_format_json_args(sb, v);
	sb_putc(sb, '}');
}

/*
 * The name of a call's activity when it is not Modify Page: move_pages with
 * nodes NULL only asks where pages are; a summary sums calls; an event that
 * names no range and no process sets the caller's own policy. NULL: the
 * call moves pages or sets the policy of a range of them.
 */
static const char *activity_other(const struct mpt_view *v)
{
	const struct mpt_arg_view *nodes = mpt_view_role(v, MPT_ROLE_PAGE_NODES);

	if (v->flood)
		return "Calls Over Fair Share";
	if (nodes && !nodes->value)
		return "Query Page Nodes";
	if (mpt_desc_role_arg(v->desc, MPT_ROLE_RANGE) < 0 &&
	    mpt_desc_role_arg(v->desc, MPT_ROLE_TARGET_PID) < 0)
		return "Set Memory Policy";
	return NULL;
}

static void base_address(struct strbuf *sb, uint64_t addr, uint64_t size)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%" PRIx64, addr);
	kstr(sb, "base_address", s);
	kint(sb, "size", (int64_t)size);
}

/* One entry of observables: @value (a string in OCSF) under the attribute it is at. */
static void observable(struct strbuf *sb, bool *first, const char *name, int type_id,
		       const char *type, const char *value)
{
	if (!value || !*value)
		return;
	if (!*first)
		sb_putc(sb, ',');
	*first = false;
	sb_putc(sb, '{');
	kstr(sb, "name", name);
	kint(sb, "type_id", type_id);
	kstr(sb, "type", type);
	kstr(sb, "value", value);
	sb_putc(sb, '}');
}

/*
 * What a SIEM indexes to pivot on: the host, the caller's name, pid and
 * executable, the target's pid. @target: where the target process is
 * ("process", or a finding's "evidences[0].process").
 */
static void observables(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx,
			const char *target)
{
	const struct mpt_task *t = &v->hdr->task;
	const struct mpt_target *tg = enrich_of(v)->target;
	char comm[MPT_TASK_COMM_LEN + 1], pid[16], tpid[16], tname[64];
	bool first = true;
	int32_t other;

	snprintf(comm, sizeof(comm), "%.*s", (int)strnlen(t->comm, sizeof(t->comm)), t->comm);
	snprintf(pid, sizeof(pid), "%u", t->host_tgid);
	key(sb, "observables");
	sb_putc(sb, '[');
	observable(sb, &first, "device.hostname", 1, "Hostname", ctx->hostname);
	observable(sb, &first, "actor.process.name", 9, "Process Name", comm);
	observable(sb, &first, "actor.process.pid", 15, "Process ID", pid);
	observable(sb, &first, "actor.process.file.path", 45, "File Path", enrich_of(v)->exe_path);
	if (target_other(v, &other) && tg && tg->resolved) {
		snprintf(tpid, sizeof(tpid), "%u", tg->host_tgid);
		snprintf(tname, sizeof(tname), "%s.pid", target);
		observable(sb, &first, tname, 15, "Process ID", tpid);
	}
	sb_putc(sb, ']');
}

/* Does @v name one page, read whole from its pages array at the entry? */
static bool one_page(const struct mpt_view *v)
{
	const struct mpt_arg_view *pages = mpt_view_role(v, MPT_ROLE_PAGES);

	return pages && mpt_view_role_value(v, MPT_ROLE_PAGE_COUNT, 0) == 1 &&
	       pages->state == MPT_ARRAY_OK && pages->n == 1 && !pages->at_return;
}

/* One Memory Activity object, without its newline. */
static void memory_activity(struct strbuf *sb, const struct mpt_view *v,
			    const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_rec_hdr *ev = v->hdr;
	int range = v->flood ? -1 : mpt_desc_role_arg(v->desc, MPT_ROLE_RANGE);
	int range_len = mpt_desc_role_arg(v->desc, MPT_ROLE_RANGE_LEN);
	const char *other = activity_other(v);
	int act = other ? ACT_OTHER : ACT_MODIFY_PAGE;

	sb_putc(sb, '{');
	classify(sb, &memory_activity_class, act, act == ACT_MODIFY_PAGE ? "Modify Page" : other,
		 act == ACT_MODIFY_PAGE ? "Modify Page" : "Other");
	kint(sb, "time", wall_ms(ev->ts_boot_ns, ctx));
	kint(sb, "severity_id", 1);
	kstr(sb, "severity", "Informational");
	status(sb, ev);
	if (ev->ret_state == MPT_RET_SEEN && ev->origin == MPT_ORIGIN_ENTRY)
		kint(sb, "duration", (int64_t)(ev->duration_ns / 1000000));
	if (v->flood) {
		/* the calls summed: OCSF's count over start_time..end_time */
		kint(sb, "count", (int64_t)v->flood->calls);
		kint(sb, "start_time", wall_ms(ev->ts_boot_ns, ctx));
		kint(sb, "end_time", wall_ms(v->flood->last_ns, ctx));
	}
	/* one page, or a range: its address and size mean what OCSF says they mean */
	if (one_page(v))
		base_address(sb, mpt_view_page(v, 0), PAGE_BYTES);
	else if (range >= 0 && range_len >= 0)
		base_address(sb, v->arg[range].value, v->arg[range_len].value);
	key(sb, "actor");
	sb_puts(sb, "{\"process\":");
	caller_process(sb, v, ctx);
	user_uid(sb, ev->task.uid);
	sb_putc(sb, '}');
	key(sb, "process");
	target_process(sb, v, ctx);
	device(sb, ctx);
	metadata(sb, v, ctx, "");
	observables(sb, v, ctx, "process");
	unmapped(sb, v);
	sb_putc(sb, '}');
}

void mpt_format_ocsf(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx)
{
	memory_activity(sb, v, ctx);
	sb_putc(sb, '\n');
}

/*
 * A process an event's chain leaves out, once per output before the first
 * line that needs it: its entity id is the uid the lines' parent_process and
 * the records' own parent_process name.
 */
void mpt_format_ocsf_process(struct strbuf *sb, const struct mpt_proc_info *p, uint64_t ts_boot_ns,
			     const struct mpt_fmt_ctx *ctx)
{
	sb_putc(sb, '{');
	classify(sb, &evidence_class, 1, "Query", "Query");
	kint(sb, "time", wall_ms(ts_boot_ns, ctx));
	kint(sb, "severity_id", 1);
	kstr(sb, "severity", "Informational");
	kint(sb, "query_result_id", 1);
	kstr(sb, "query_result", "Exists");
	key(sb, "query_evidence");
	sb_putc(sb, '{');
	kint(sb, "query_type_id", QUERY_PROCESS);
	kstr(sb, "query_type", "Process");
	key(sb, "process");
	sb_putc(sb, '{');
	process_fields(sb, p, ctx);
	if (p->pstart_ns) {
		key(sb, "parent_process");
		parent_ref(sb, p, ctx);
	}
	sb_puts(sb, "}}");
	device(sb, ctx);
	/* no call made it: its code is "process" */
	metadata_head(sb, "[\"host\"]");
	metadata_tail(sb, (int64_t)(ts_boot_ns + ctx->boot_to_wall_ns), "process");
	/* its parent ids name the process that created it with clone(CLONE_PARENT) */
	if (p->flags & MPT_PROC_CREATOR)
		sb_puts(sb, ",\"unmapped\":{\"parentIsCreator\":true}");
	sb_puts(sb, "}\n");
}

static int severity_id(const char *sev)
{
	static const char *const names[] = {"informational", "low", "medium", "high", "critical"};

	for (int i = 0; i < 5; i++)
		if (!strcmp(sev, names[i]))
			return i + 1;
	return 0;
}

/* The rule's place in MITRE ATT&CK: its tactic, technique and sub-technique. */
static void attacks(struct strbuf *sb, const struct mpt_ocsf_rule *rule)
{
	const char *dot = strchr(rule->technique, '.');
	const char *sub = strstr(rule->technique_name, ": ");

	if (!rule->technique[0])
		return;
	key(sb, "attacks");
	sb_puts(sb, "[{\"tactic\":{");
	kstr(sb, "uid", rule->tactic);
	kstr(sb, "name", rule->tactic_name);
	sb_puts(sb, "},\"technique\":{");
	key(sb, "uid");
	sb_json_str(sb, rule->technique,
		    dot ? (size_t)(dot - rule->technique) : strlen(rule->technique));
	key(sb, "name");
	sb_json_str(sb, rule->technique_name,
		    sub ? (size_t)(sub - rule->technique_name) : strlen(rule->technique_name));
	sb_putc(sb, '}');
	if (dot && sub) {
		sb_puts(sb, ",\"sub_technique\":{");
		kstr(sb, "uid", rule->technique);
		kstr(sb, "name", sub + 2);
		sb_putc(sb, '}');
	}
	kstr(sb, "version", rule->attack_version);
	sb_puts(sb, "}]");
}

/* The call that raised it, by its uid: it is the Memory Activity line just before. */
static void related_event(struct strbuf *sb, const struct mpt_view *v,
			  const struct mpt_fmt_ctx *ctx)
{
	int act = activity_other(v) ? ACT_OTHER : ACT_MODIFY_PAGE;

	key(sb, "related_events");
	sb_puts(sb, "[{\"uid\":");
	event_uid(sb, v, ctx, "");
	kint(sb, "type_uid", MEMORY_ACTIVITY * 100 + act);
	kstr(sb, "type_name",
	     act == ACT_MODIFY_PAGE ? "Memory Activity: Modify Page" : "Memory Activity: Other");
	sb_puts(sb, "}]");
}

void mpt_format_ocsf_finding(struct strbuf *sb, const struct mpt_ocsf_rule *rule,
			     const struct mpt_view *trigger, const struct mpt_fmt_ctx *ctx)
{
	static const char *const sev_names[] = {"Unknown", "Informational", "Low",
						"Medium",  "High",	    "Critical"};
	int sev = severity_id(rule->severity);
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "%s-", rule->code);
	sb_putc(sb, '{');
	classify(sb, &finding_class, 1, "Create", "Create");
	kint(sb, "time", wall_ms(trigger->hdr->ts_boot_ns, ctx));
	kint(sb, "severity_id", sev);
	kstr(sb, "severity", sev_names[sev]);
	kint(sb, "status_id", 1);
	kstr(sb, "status", "New");
	key(sb, "is_alert");
	sb_puts(sb, "true");
	key(sb, "finding_info");
	sb_putc(sb, '{');
	key(sb, "uid");
	event_uid(sb, trigger, ctx, prefix);
	kstr(sb, "title", rule->name);
	kstr(sb, "desc", rule->description);
	key(sb, "analytic");
	sb_putc(sb, '{');
	kstr(sb, "uid", rule->code);
	kstr(sb, "name", rule->name);
	kint(sb, "type_id", 1);
	kstr(sb, "type", "Rule");
	sb_putc(sb, '}');
	attacks(sb, rule);
	related_event(sb, trigger, ctx);
	sb_putc(sb, '}');
	key(sb, "actor");
	sb_puts(sb, "{\"process\":");
	caller_process(sb, trigger, ctx);
	sb_putc(sb, '}');
	/* the process acted on; the call itself is the Memory Activity that related_events names */
	key(sb, "evidences");
	sb_puts(sb, "[{\"process\":");
	target_process(sb, trigger, ctx);
	sb_puts(sb, "}]");
	observables(sb, trigger, ctx, "evidences[0].process");
	device(sb, ctx);
	metadata(sb, trigger, ctx, prefix);
	sb_puts(sb, "}\n");
}
