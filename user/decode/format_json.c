// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON line of an event: one object, every field named as docs/guide.md lists. */
#include "decode/format.h"
#include "decode/format_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static size_t comm_len(const struct mpt_rec_hdr *h)
{
	return strnlen(h->task.comm, sizeof(h->task.comm));
}

/* One array's entries (@base: the entry's copy, or what the return found). */
static void json_items(struct strbuf *sb, const struct mpt_view *v, enum mpt_arg_kind kind,
		       const unsigned char *base, unsigned int n)
{
	sb_putc(sb, '[');
	for (unsigned int i = 0; i < n; i++) {
		if (i)
			sb_putc(sb, ',');
		if (kind == MPT_ARG_PTR_ARRAY) {
			sb_putc(sb, '"');
			sb_hex(sb, mpt_ptr_item(v, base, i));
			sb_putc(sb, '"');
		} else {
			sb_s64(sb, mpt_s32_item(base, i));
		}
	}
	sb_putc(sb, ']');
}

static void json_change(struct strbuf *sb, const struct mpt_view *v, enum mpt_arg_kind kind,
			const struct mpt_arg_view *a)
{
	if (!a->reread)
		return;
	if (!a->changed) {
		sb_puts(sb, ",\"changedDuringCall\":false");
		return;
	}
	sb_puts(sb, ",\"changedDuringCall\":true,\"dataAtExit\":");
	if (a->exit_state == MPT_ARRAY_OK && kind == MPT_ARG_NODEMASK) {
		struct mpt_arg_view at_exit = *a;

		at_exit.data = a->exit_data;
		mpt_format_mask(sb, &at_exit, ",");
		sb_putc(sb, ']');
	} else if (a->exit_state == MPT_ARRAY_OK) {
		json_items(sb, v, kind, a->exit_data, a->n);
	} else {
		const char *reason = mpt_array_state_reason(a->exit_state);

		sb_puts(sb, "null,\"exitReadError\":");
		sb_json_str(sb, reason, strlen(reason));
	}
}

/* Whether the kernel's own view checked pages[], and if not, why (mptrace_event.h). */
static void json_kview(struct strbuf *sb, uint8_t kview)
{
	const char *name = mpt_kview_name(kview);

	sb_puts(sb, ",\"kernelView\":");
	sb_json_str(sb, name, strlen(name));
}

static void json_array_data(struct strbuf *sb, const struct mpt_view *v, enum mpt_arg_kind kind,
			    const struct mpt_arg_view *a)
{
	if (a->state != MPT_ARRAY_OK) {
		const char *reason = mpt_array_state_reason(a->state);

		/* no data key at all: null would read as an array that was empty */
		sb_puts(sb, ",\"readError\":");
		sb_json_str(sb, reason, strlen(reason));
		return;
	}
	sb_puts(sb, ",\"data\":");
	if (kind == MPT_ARG_NODEMASK) {
		mpt_format_mask(sb, a, ",");
		sb_putc(sb, ']');
	} else {
		json_items(sb, v, kind, a->data, a->n);
	}
	if (a->truncated)
		sb_puts(sb, ",\"truncated\":true");
	else if (!v->lean)
		sb_puts(sb, ",\"truncated\":false");
	if (a->partial)
		sb_puts(sb, ",\"writtenInPart\":true");
	if (a->at_return)
		sb_puts(sb, ",\"readAtReturn\":true");
	json_change(sb, v, kind, a);
	if (a->kernel_other_n) {
		/* what the kernel migrated that the recorded array does not hold */
		sb_puts(sb, ",\"migratedNotInArray\":[");
		for (unsigned int i = 0; i < a->kernel_other_n; i++) {
			sb_puts(sb, i ? ",\"" : "\"");
			sb_hex(sb, mpt_u64_item(a->kernel_other, i));
			sb_putc(sb, '"');
		}
		sb_putc(sb, ']');
	}
}

static const struct mpt_enrich no_enrich = {"", "", "", "", "", NULL, NULL, NULL};

static void json_bool(struct strbuf *sb, const char *key, bool v)
{
	sb_puts(sb, key);
	sb_puts(sb, v ? "true" : "false");
}

/* @key (with its comma, quotes and colon) and a number */
static void json_u64(struct strbuf *sb, const char *key, uint64_t v)
{
	sb_puts(sb, key);
	sb_u64(sb, v);
}

/*
 * An executable's path: one longer than mptrace keeps is its last components
 * only, a shorter path that looks whole, so it is marked.
 */
static void json_exe(struct strbuf *sb, const char *exe, const struct mpt_proc_info *p,
		     uint8_t flags, bool caller)
{
	static const struct {
		uint8_t flag;
		const char *key;
	} marks[] = {
	    {MPT_PROC_PATH_TRUNCATED, ",\"pathTruncated\":true"},
	    {MPT_PROC_EXE_FILELESS, ",\"fileless\":true"},
	    {MPT_PROC_EXE_DELETED, ",\"deleted\":true"},
	    {MPT_PROC_EXE_ELSEWHERE, ",\"pathNamesOtherFile\":true"},
	};

	flags |= p ? p->flags : 0;
	sb_puts(sb, ",\"executable\":{\"path\":");
	sb_json_str(sb, exe, strlen(exe));
	/* the marks are there only when true, so an ordinary line stays as it was */
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (flags & marks[i].flag)
			sb_puts(sb, marks[i].key);
	/* the identity a path cannot fake: the caller's, and an ancestor's whose path is in doubt
	 */
	if (p && p->exe_ino && (caller || (flags & MPT_PROC_EXE_DOUBTED))) {
		sb_puts(sb, ",\"inode\":");
		sb_u64(sb, p->exe_ino);
		sb_puts(sb, ",\"device\":\"");
		sb_u64(sb, p->exe_dev >> 20);
		sb_putc(sb, ':');
		sb_u64(sb, p->exe_dev & 0xfffff);
		sb_putc(sb, '"');
	}
	sb_putc(sb, '}');
}

void mpt_format_json_creds(struct strbuf *sb, const struct mpt_rec_hdr *h, bool lean)
{
	static const char *const caps[8] = {
#define MPT_CRED_CAP(id, bit, cap) [bit] = cap,
	    MPT_CREDS(MPT_CRED_CAP)
#undef MPT_CRED_CAP
	};
	const struct mpt_task *t = &h->task;
	bool first = true;

	if (!(t->cred & MPT_CRED_KNOWN))
		return;
	/* lean: the ids are here only when they are not userId, which is when they matter */
	sb_puts(sb, ",\"credentials\":{");
	if (!lean || t->euid != t->uid) {
		json_u64(sb, "\"effectiveUserId\":", t->euid);
		sb_putc(sb, ',');
	}
	if (!lean || h->suid != t->uid) {
		json_u64(sb, "\"savedUserId\":", h->suid);
		sb_putc(sb, ',');
	}
	if (t->cred & MPT_CRED_FSUID_DIFFERS)
		sb_puts(sb, "\"fsUserIdDiffers\":true,");
	sb_puts(sb, "\"capabilities\":[");
	for (int b = 0; b < 8; b++) {
		if (!caps[b] || !(t->cred & 1u << b))
			continue;
		sb_puts(sb, first ? "\"" : ",\"");
		sb_puts(sb, caps[b]);
		sb_putc(sb, '"');
		first = false;
	}
	sb_putc(sb, ']');
	/* held in a user namespace below the initial one: they stop at its edge */
	if (t->cred & MPT_CRED_CHILD_USERNS)
		sb_puts(sb, ",\"inChildUserNamespace\":true");
	sb_putc(sb, '}');
}

/* @key and the entity id of process @tgid started at @start_ns. */
static void json_entity(struct strbuf *sb, const char *key, const struct mpt_fmt_ctx *ctx,
			uint32_t tgid, uint64_t start_ns)
{
	char id[MPT_ENTITY_ID_LEN];

	mpt_entity_id(id, ctx->boot_id, tgid, start_ns);
	sb_puts(sb, key);
	sb_putc(sb, '"');
	sb_put(sb, id, MPT_ENTITY_ID_LEN - 1);
	sb_putc(sb, '"');
}

/* The caller's entity id, and its parent's when the tracker knows when the parent started. */
static void json_entities(struct strbuf *sb, const struct mpt_task *t,
			  const struct mpt_lineage_view *l, const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_proc_info *self = l ? l->self : NULL;

	json_entity(sb, ",\"entityId\":", ctx, t->host_tgid, t->start_ns);
	if (self && self->pstart_ns)
		json_entity(sb, ",\"parentEntityId\":", ctx, self->ptgid, self->pstart_ns);
}

static void json_ancestors(struct strbuf *sb, const struct mpt_lineage_view *l,
			   const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_proc_info *self = l ? l->self : NULL;

	sb_puts(sb, ",\"ancestors\":[");
	for (unsigned int i = 0; self && i < l->n_anc; i++) {
		const struct mpt_proc_info *a = l->anc[i];

		sb_puts(sb, i ? ",{\"hostProcessId\":" : "{\"hostProcessId\":");
		sb_u64(sb, a->tgid);
		sb_puts(sb, ",\"processName\":");
		sb_json_str(sb, a->comm, strnlen(a->comm, MPT_TASK_COMM_LEN));
		json_exe(sb, a->exe, a, 0, false);
		sb_puts(sb, ",\"startTime\":");
		sb_u64(sb, a->start_ns + ctx->boot_to_wall_ns);
		/* it created the one below with CLONE_PARENT: the kernel names another parent */
		if ((i ? l->anc[i - 1] : self)->flags & MPT_PROC_CREATOR)
			sb_puts(sb, ",\"createdWithCloneParent\":true");
		sb_putc(sb, '}');
	}
	sb_putc(sb, ']');
}

/*
 * The caller's command line and ancestors, parent first; in the lean form
 * its record has the one and the records the other, so neither is here.
 */
static void json_lineage(struct strbuf *sb, const struct mpt_lineage_view *l, bool lean,
			 const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_proc_info *self = l ? l->self : NULL;
	bool recorded = self && lean;

	if (!recorded) {
		sb_puts(sb, ",\"commandLine\":[");
		mpt_format_cmdline(sb, self, true);
		sb_putc(sb, ']');
		json_bool(sb, ",\"commandLineTruncated\":",
			  self && (self->flags & MPT_PROC_ARGV_TRUNCATED));
	}
	if (!recorded || l->n_anc)
		json_ancestors(sb, l, ctx);
	json_bool(sb, ",\"ancestorsTruncated\":", self && l->anc_truncated);
	/* parentEntityId names its creator: said here too, for a line whose chain is cut */
	if (self && (self->flags & MPT_PROC_CREATOR))
		sb_puts(sb, ",\"parentIsCreator\":true");
}

static const struct mpt_enrich *enrich_of(const struct mpt_view *v)
{
	return v->enrich ? v->enrich : &no_enrich;
}

static void json_str_field(struct strbuf *sb, const char *name, const char *val)
{
	sb_puts(sb, ",\"");
	sb_puts(sb, name);
	sb_puts(sb, "\":");
	val = val ? val : "";
	sb_json_str(sb, val, strlen(val));
}

/* The same, left out when empty in the lean form. */
static void json_opt_field(struct strbuf *sb, const char *name, const char *val, bool lean)
{
	if (!lean || (val && val[0]))
		json_str_field(sb, name, val);
}

/*
 * Who called: its start, entity ids, executable, command line and ancestors.
 * In the lean form the caller's record tells its start, executable and
 * command line; the executable is here still when the call found it marked
 * (deleted, fileless) and the record does not say so.
 */
static void json_caller(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_task *t = &v->hdr->task;
	const struct mpt_enrich *en = enrich_of(v);
	const struct mpt_proc_info *self = en->lineage ? en->lineage->self : NULL;
	bool recorded = self && v->lean;

	if (!recorded)
		json_u64(sb, ",\"processStartTime\":", t->start_ns + ctx->boot_to_wall_ns);
	json_entities(sb, t, en->lineage, ctx);
	if (!recorded || (t->exe & ~self->flags & (MPT_PROC_EXE_FILELESS | MPT_PROC_EXE_DELETED)))
		json_exe(sb, en->exe_path, self, t->exe, true);
	json_lineage(sb, en->lineage, v->lean, ctx);
}

/* "key=value\n" lines as a JSON object. */
static void json_labels(struct strbuf *sb, const char *labels)
{
	bool first = true;

	sb_puts(sb, ",\"containerLabels\":{");
	for (const char *l = labels; *l;) {
		size_t len = strcspn(l, "\n"), k = strcspn(l, "=");

		if (k < len) {
			if (!first)
				sb_putc(sb, ',');
			sb_json_str(sb, l, k);
			sb_putc(sb, ':');
			sb_json_str(sb, l + k + 1, len - k - 1);
			first = false;
		}
		l += len + (l[len] == '\n');
	}
	sb_putc(sb, '}');
}

/* What the runtime says of the container: its names come with a verified id alone. */
static void json_ctr_meta(struct strbuf *sb, const struct mpt_ctr_meta *m)
{
	if (!m || m->verify == MPT_CTR_UNCHECKED)
		return;
	sb_puts(sb, m->verify == MPT_CTR_VERIFIED ? ",\"containerVerified\":true"
						  : ",\"containerVerified\":false");
	sb_puts(sb, ",\"containerVerification\":\"");
	sb_puts(sb, mpt_ctr_verify_name(m->verify));
	sb_putc(sb, '"');
	if (m->verify != MPT_CTR_VERIFIED)
		return;
	json_str_field(sb, "containerName", m->name);
	json_str_field(sb, "containerImage", m->image);
	json_str_field(sb, "containerImageId", m->image_id);
	json_str_field(sb, "containerImageDigest", m->image_digest);
	json_str_field(sb, "podName", m->pod_name);
	json_str_field(sb, "podNamespace", m->pod_namespace);
	json_labels(sb, m->labels);
}

/* The process the call names: who it was at the call, or only the pid when not known. */
static void json_target(struct strbuf *sb, const struct mpt_target *t,
			const struct mpt_fmt_ctx *ctx)
{
	if (!t)
		return;
	sb_puts(sb, ",\"target\":{\"processId\":");
	sb_s64(sb, t->pid);
	sb_puts(sb, t->resolved ? ",\"resolved\":true" : ",\"resolved\":false}");
	if (!t->resolved)
		return;
	json_u64(sb, ",\"hostProcessId\":", t->host_tgid);
	json_str_field(sb, "processName", t->comm);
	sb_puts(sb, ",\"executable\":{\"path\":");
	sb_json_str(sb, t->exe, strlen(t->exe));
	sb_puts(sb, "},\"startTime\":");
	sb_u64(sb, t->start_ns + ctx->boot_to_wall_ns);
	json_u64(sb, ",\"userId\":", t->uid);
	json_u64(sb, ",\"cgroupId\":", t->cgroup_id);
	/* "" is the host's; absent when its cgroup could not be found */
	if (t->cgroup_known)
		json_str_field(sb, "containerId", t->container_id);
	if (t->container_id[0]) {
		sb_puts(sb, t->container_verify == MPT_CTR_VERIFIED
				? ",\"containerVerified\":true"
				: ",\"containerVerified\":false");
		if (t->container_name[0])
			json_str_field(sb, "containerName", t->container_name);
	}
	sb_putc(sb, '}');
}

/* Who called, from processId to its lineage: what stays the same from one call to the next. */
static void json_who(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_rec_hdr *h = v->hdr;
	const struct mpt_task *t = &h->task;
	const struct mpt_enrich *en = enrich_of(v);

	json_u64(sb, ",\"processId\":", t->ns_tgid);
	json_u64(sb, ",\"threadId\":", t->ns_tid);
	json_u64(sb, ",\"parentProcessId\":", t->ns_ptgid);
	json_u64(sb, ",\"hostProcessId\":", t->host_tgid);
	json_u64(sb, ",\"hostThreadId\":", t->host_tid);
	json_u64(sb, ",\"hostParentProcessId\":", t->host_ptgid);
	json_u64(sb, ",\"userId\":", t->uid);
	json_u64(sb, ",\"groupId\":", t->gid);
	mpt_format_json_creds(sb, h, v->lean);
	sb_puts(sb, ",\"processName\":");
	sb_json_str(sb, t->comm, comm_len(h));
	sb_puts(sb, ",\"hostName\":");
	sb_json_str(sb, ctx->hostname, strlen(ctx->hostname));
	json_u64(sb, ",\"cgroupId\":", t->cgroup_id);
	json_str_field(sb, "cgroupPath", en->cgroup_path);
	json_str_field(sb, "containerId", en->container_id);
	json_opt_field(sb, "containerRuntime", en->container_runtime, v->lean);
	json_opt_field(sb, "podUid", en->pod_uid, v->lean);
	json_ctr_meta(sb, en->ctr_meta);
	json_u64(sb, ",\"mountNamespace\":", t->mnt_ns);
	json_u64(sb, ",\"pidNamespace\":", t->pid_ns);
	json_caller(sb, v, ctx);
}

/*
 * Everything json_who() reads, but its strings: the record's task (its CPU
 * aside) and the chain, which the tracker's stamp vouches for.
 */
struct who_key {
	struct mpt_task task;
	uint32_t suid;
	bool lean, lineage, anc_truncated;
	int64_t boot_to_wall_ns;
	uint64_t stamp;
	const struct mpt_proc_info *self;
	const struct mpt_proc_info *anc[MPT_ANCESTORS_MAX + 1];
	unsigned int n_anc;
};

#define WHO_STRINGS 7
#define WHO_STRINGS_MAX 1024
#define WHO_TEXT_MAX 2048

/* json_who()'s last text, for the key and the strings it was made from. */
struct who_kept {
	bool valid;
	struct who_key key;
	char strings[WHO_STRINGS_MAX]; /* each with its NUL, in json_who()'s order */
	size_t strings_len, text_len;
	char text[WHO_TEXT_MAX];
};

/* A key for @v, or false when json_who() reads more than a key holds. */
static bool who_key_of(const struct mpt_view *v, const struct mpt_fmt_ctx *ctx, struct who_key *k)
{
	const struct mpt_enrich *en = enrich_of(v);
	const struct mpt_lineage_view *l = en->lineage;

	if ((en->ctr_meta && en->ctr_meta->verify != MPT_CTR_UNCHECKED) || (l && !l->stamp))
		return false;
	memset(k, 0, sizeof(*k)); /* the padding too: it is compared */
	k->task = v->hdr->task;
	k->task.cpu = 0;
	k->suid = v->hdr->suid;
	k->lean = v->lean;
	k->boot_to_wall_ns = ctx->boot_to_wall_ns;
	if (l) {
		k->lineage = true;
		k->anc_truncated = l->anc_truncated;
		k->stamp = l->stamp;
		k->self = l->self;
		k->n_anc = l->n_anc;
		memcpy(k->anc, l->anc, sizeof(k->anc));
	}
	return true;
}

/* The strings json_who() reads: are they those of @w? With @keep, kept there when not. */
static bool who_strings(struct who_kept *w, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx,
			bool keep)
{
	const struct mpt_enrich *en = enrich_of(v);
	const char *s[WHO_STRINGS] = {ctx->hostname,	     ctx->boot_id ? ctx->boot_id : "",
				      en->cgroup_path,	     en->container_id,
				      en->container_runtime, en->pod_uid,
				      en->exe_path};
	size_t off = 0;

	for (int i = 0; i < WHO_STRINGS; i++) {
		const char *x = s[i] ? s[i] : "";
		size_t n = strlen(x) + 1;

		if (n > WHO_STRINGS_MAX - off)
			return false;
		if (keep)
			memcpy(w->strings + off, x, n);
		else if (off + n > w->strings_len || memcmp(w->strings + off, x, n))
			return false;
		off += n;
	}
	if (keep)
		w->strings_len = off;
	return off == w->strings_len;
}

/*
 * json_who(), or the text it gave last time for the same key and strings: a
 * flood from one thread prints the same caller hundreds of thousands of times.
 */
static void json_who_kept(struct strbuf *sb, const struct mpt_view *v,
			  const struct mpt_fmt_ctx *ctx)
{
	static __thread struct who_kept w;
	struct who_key k;
	size_t start = sb->len;

	if (!who_key_of(v, ctx, &k)) {
		json_who(sb, v, ctx);
		return;
	}
	if (w.valid && !memcmp(&k, &w.key, sizeof(k)) && who_strings(&w, v, ctx, false)) {
		sb_put(sb, w.text, w.text_len);
		return;
	}
	json_who(sb, v, ctx);
	w.valid = !sb->oom && sb->len - start <= WHO_TEXT_MAX && who_strings(&w, v, ctx, true);
	if (!w.valid)
		return;
	w.key = k;
	w.text_len = sb->len - start;
	memcpy(w.text, sb->buf + start, w.text_len);
}

static void json_event(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx,
		       bool keep)
{
	const struct mpt_rec_hdr *h = v->hdr;

	sb_putc(sb, '{');
	mpt_format_json_timestamp(sb, h->ts_boot_ns + ctx->boot_to_wall_ns);
	json_u64(sb, ",\"processorId\":", h->task.cpu);
	(keep ? json_who_kept : json_who)(sb, v, ctx);
	sb_puts(sb, ",\"eventName\":\"");
	sb_puts(sb, v->desc->name);
	/* lean: the syscall only when it is not the event's name, the count as args has it */
	if (!v->lean || strcmp(v->desc->name, mpt_view_syscall(v))) {
		sb_puts(sb, "\",\"syscall\":\"");
		sb_puts(sb, mpt_view_syscall(v));
	}
	sb_puts(sb, "\",\"abi\":\"");
	sb_puts(sb, mpt_abi_name(h->abi));
	sb_putc(sb, '"');
	if (!v->lean)
		json_u64(sb, ",\"argsNum\":", v->desc->nargs);
	mpt_format_json_return(sb, h);
	sb_puts(sb, ",\"args\":");
	mpt_format_json_args(sb, v);
	json_target(sb, enrich_of(v)->target, ctx);
	sb_puts(sb, "}\n");
}

void mpt_format_json(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx)
{
	json_event(sb, v, ctx, true);
}

void mpt_format_json_fresh(struct strbuf *sb, const struct mpt_view *v,
			   const struct mpt_fmt_ctx *ctx)
{
	json_event(sb, v, ctx, false);
}

void mpt_format_json_process(struct strbuf *sb, const struct mpt_proc_info *p, uint64_t ts_boot_ns,
			     const struct mpt_fmt_ctx *ctx)
{
	sb_putc(sb, '{');
	mpt_format_json_timestamp(sb, ts_boot_ns + ctx->boot_to_wall_ns);
	sb_puts(sb, ",\"eventName\":\"process\",\"hostName\":");
	sb_json_str(sb, ctx->hostname, strlen(ctx->hostname));
	json_entity(sb, ",\"entityId\":", ctx, p->tgid, p->start_ns);
	if (p->pstart_ns)
		json_entity(sb, ",\"parentEntityId\":", ctx, p->ptgid, p->pstart_ns);
	json_u64(sb, ",\"hostProcessId\":", p->tgid);
	json_u64(sb, ",\"hostParentProcessId\":", p->ptgid);
	json_u64(sb, ",\"processId\":", p->ns_tgid);
	sb_puts(sb, ",\"processName\":");
	sb_json_str(sb, p->comm, strnlen(p->comm, MPT_TASK_COMM_LEN));
	json_u64(sb, ",\"startTime\":", p->start_ns + ctx->boot_to_wall_ns);
	/* with its inode and device: for a lean line's caller, the record is all there is */
	json_exe(sb, p->exe ? p->exe : "", p, 0, true);
	sb_puts(sb, ",\"commandLine\":[");
	mpt_format_cmdline(sb, p, true);
	sb_putc(sb, ']');
	json_bool(sb, ",\"commandLineTruncated\":", p->flags & MPT_PROC_ARGV_TRUNCATED);
	/* its parent ids name the process that created it with clone(CLONE_PARENT), not the
	 * parent the kernel gives it */
	if (p->flags & MPT_PROC_CREATOR)
		sb_puts(sb, ",\"parentIsCreator\":true");
	sb_puts(sb, "}\n");
}

void mpt_format_json_return(struct strbuf *sb, const struct mpt_rec_hdr *h)
{
	if (h->ret_state == MPT_RET_SEEN) {
		sb_puts(sb, ",\"returnValue\":");
		sb_s64(sb, h->ret);
		sb_puts(sb, ",\"durationNs\":");
		/* reported from its return: no entry time, so no duration either */
		if (h->origin != MPT_ORIGIN_ENTRY)
			sb_puts(sb, "null,\"entrySeen\":false");
		else
			sb_u64(sb, h->duration_ns);
		if (h->origin == MPT_ORIGIN_REFUSED)
			sb_puts(sb, ",\"refusedBySeccomp\":true");
	} else {
		/* reported from its entry alone: there is no return to show */
		sb_puts(sb, ",\"returnValue\":null,\"durationNs\":null,\"returnMissing\":\"");
		sb_puts(sb, mpt_ret_state_name(h->ret_state));
		sb_puts(sb, "\"");
	}
}

/* An integer as its C type has it: an int signed, the rest unsigned. */
static void json_int(struct strbuf *sb, const struct mpt_arg_desc *ad, uint64_t bits)
{
	if (ad->width == MPT_W_INT)
		sb_s64(sb, (int32_t)bits);
	else
		sb_u64(sb, bits);
}

void mpt_format_json_args(struct strbuf *sb, const struct mpt_view *v)
{
	const struct mpt_event_desc *d = v->desc;

	sb_putc(sb, '[');
	for (unsigned int i = 0; i < d->nargs; i++) {
		const struct mpt_arg_desc *ad = &d->args[i];
		const struct mpt_arg_view *a = &v->arg[i];

		if (i)
			sb_putc(sb, ',');
		sb_puts(sb, "{\"name\":\"");
		sb_puts(sb, ad->name);
		/* lean: the types are the event's, as its description (docs/guide.md) says */
		if (!v->lean) {
			sb_puts(sb, "\",\"type\":\"");
			sb_puts(sb, ad->ctype);
		}
		sb_puts(sb, "\",\"value\":");
		switch (ad->kind) {
		case MPT_ARG_INT:
			sb_s64(sb, (int64_t)a->value);
			break;
		case MPT_ARG_ULONG:
			sb_u64(sb, a->value);
			break;
		case MPT_ARG_FLAGS:
			json_int(sb, ad, mpt_arg_bits(v, i));
			sb_puts(sb, ",\"decoded\":\"");
			mpt_flags_str(sb, d, mpt_arg_bits(v, i));
			sb_putc(sb, '"');
			break;
		case MPT_ARG_MODE:
			sb_s64(sb, (int32_t)a->value);
			sb_puts(sb, ",\"decoded\":\"");
			mpt_mode_str(sb, (int32_t)a->value);
			sb_putc(sb, '"');
			break;
		case MPT_ARG_ADDR:
			sb_putc(sb, '"');
			sb_hex(sb, a->value);
			sb_putc(sb, '"');
			break;
		default:
			sb_putc(sb, '"');
			sb_hex(sb, a->value);
			sb_putc(sb, '"');
			json_array_data(sb, v, ad->kind, a);
			if (a->kview)
				json_kview(sb, a->kview);
			break;
		}
		sb_putc(sb, '}');
	}
	sb_putc(sb, ']');
}
