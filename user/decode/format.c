// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * JSON and strace-style table lines for any event: the common header the
 * same way for all, the arguments as the event's descriptors (events/) say.
 */
#include "decode/format.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int mpt_format_parse(const char *name, enum mpt_format *fmt)
{
	if (!strcmp(name, "table"))
		*fmt = MPT_FMT_TABLE;
	else if (!strcmp(name, "json"))
		*fmt = MPT_FMT_JSON;
	else if (!strcmp(name, "ocsf"))
		*fmt = MPT_FMT_OCSF;
	else
		return -EINVAL;
	return 0;
}

void mpt_format_event(enum mpt_format fmt, struct strbuf *sb, const struct mpt_view *v,
		      const struct mpt_fmt_ctx *ctx)
{
	if (fmt == MPT_FMT_JSON)
		mpt_format_json(sb, v, ctx);
	else if (fmt == MPT_FMT_OCSF)
		mpt_format_ocsf(sb, v, ctx);
	else
		mpt_format_table(sb, v, ctx);
}

static size_t comm_len(const struct mpt_rec_hdr *h)
{
	return strnlen(h->task.comm, sizeof(h->task.comm));
}

/* ---- JSON ---- */

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

/* A node mask as the list of its nodes (only the bits the kernel reads). */
static void mask_items(struct strbuf *sb, const struct mpt_arg_view *a, const char *sep)
{
	uint64_t span = mpt_mask_span(a);
	bool first = true;

	sb_putc(sb, '[');
	for (uint64_t node = 0; node < span; node++) {
		if (!mpt_mask_has(a, node))
			continue;
		if (!first)
			sb_puts(sb, sep);
		sb_u64(sb, node);
		first = false;
	}
}

/*
 * An array read again at the return: did it change while the kernel was
 * working on it, and into what? Only for arrays read at entry, of calls
 * whose return was seen.
 */
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
		mask_items(sb, &at_exit, ",");
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
		mask_items(sb, a, ",");
		sb_putc(sb, ']');
	} else {
		json_items(sb, v, kind, a->data, a->n);
	}
	sb_puts(sb, ",\"truncated\":");
	sb_puts(sb, a->truncated ? "true" : "false");
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

/* Each NUL-ended argument of @p's command line (the last one cut short may have none). */
static void each_arg(const struct mpt_proc_info *p, void (*fn)(void *, const char *, size_t),
		     void *ctx)
{
	size_t at = 0;

	while (p && at < p->argv_len) {
		const unsigned char *nul = memchr(p->argv + at, '\0', p->argv_len - at);
		size_t n = nul ? (size_t)(nul - (p->argv + at)) : p->argv_len - at;

		fn(ctx, (const char *)p->argv + at, n);
		at += n + 1;
	}
}

struct args_out {
	struct strbuf *sb;
	bool first;
	const char *sep;
	bool json;
};

static void put_arg(void *ctx, const char *s, size_t n)
{
	struct args_out *o = ctx;

	if (!o->first)
		sb_puts(o->sb, o->sep);
	o->first = false;
	if (o->json)
		sb_json_str(o->sb, s, n);
	else
		sb_put(o->sb, s, n);
}

void mpt_format_cmdline(struct strbuf *sb, const struct mpt_proc_info *p, bool json)
{
	struct args_out o = {sb, true, json ? "," : " ", json};

	each_arg(p, put_arg, &o);
}

const char *mpt_exe_doubt(uint8_t flags)
{
	if (flags & MPT_PROC_EXE_FILELESS)
		return "fileless: run from memory (a memfd), its path is only the name it was "
		       "given";
	if (flags & MPT_PROC_EXE_ELSEWHERE)
		return "its path names another file from the host's view: see inode and device";
	if (flags & MPT_PROC_EXE_DELETED)
		return "deleted: the file was unlinked or replaced after it was started";
	if (flags & MPT_PROC_PATH_TRUNCATED)
		return "path truncated: only its last components were kept";
	return NULL;
}

static void json_bool(struct strbuf *sb, const char *key, bool v)
{
	sb_puts(sb, key);
	sb_puts(sb, v ? "true" : "false");
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
		sb_printf(sb, ",\"device\":\"%u:%u\"", p->exe_dev >> 20, p->exe_dev & 0xfffff);
	}
	sb_putc(sb, '}');
}

void mpt_format_json_creds(struct strbuf *sb, const struct mpt_rec_hdr *h)
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
	sb_puts(sb, ",\"credentials\":{\"effectiveUserId\":");
	sb_u64(sb, t->euid);
	sb_puts(sb, ",\"savedUserId\":");
	sb_u64(sb, h->suid);
	if (t->cred & MPT_CRED_FSUID_DIFFERS)
		sb_puts(sb, ",\"fsUserIdDiffers\":true");
	sb_puts(sb, ",\"capabilities\":[");
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

/* Who the caller is and who started it: its command line, then its ancestors, parent first. */
static void json_lineage(struct strbuf *sb, const struct mpt_lineage_view *l,
			 const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_proc_info *self = l ? l->self : NULL;

	sb_puts(sb, ",\"commandLine\":[");
	mpt_format_cmdline(sb, self, true);
	sb_putc(sb, ']');
	json_bool(sb,
		  ",\"commandLineTruncated\":", self && (self->flags & MPT_PROC_ARGV_TRUNCATED));
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
	json_bool(sb, ",\"ancestorsTruncated\":", self && l->anc_truncated);
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
	sb_puts(sb, ",\"hostProcessId\":");
	sb_u64(sb, t->host_tgid);
	json_str_field(sb, "processName", t->comm);
	sb_puts(sb, ",\"executable\":{\"path\":");
	sb_json_str(sb, t->exe, strlen(t->exe));
	sb_puts(sb, "},\"startTime\":");
	sb_u64(sb, t->start_ns + ctx->boot_to_wall_ns);
	sb_puts(sb, ",\"userId\":");
	sb_u64(sb, t->uid);
	sb_puts(sb, ",\"cgroupId\":");
	sb_u64(sb, t->cgroup_id);
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

void mpt_format_json(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_rec_hdr *h = v->hdr;
	const struct mpt_task *t = &h->task;
	const struct mpt_enrich *en = enrich_of(v);

	sb_puts(sb, "{\"timestamp\":");
	sb_u64(sb, h->ts_boot_ns + ctx->boot_to_wall_ns);
	sb_puts(sb, ",\"processorId\":");
	sb_u64(sb, t->cpu);
	sb_puts(sb, ",\"processId\":");
	sb_u64(sb, t->ns_tgid);
	sb_puts(sb, ",\"threadId\":");
	sb_u64(sb, t->ns_tid);
	sb_puts(sb, ",\"parentProcessId\":");
	sb_u64(sb, t->ns_ptgid);
	sb_puts(sb, ",\"hostProcessId\":");
	sb_u64(sb, t->host_tgid);
	sb_puts(sb, ",\"hostThreadId\":");
	sb_u64(sb, t->host_tid);
	sb_puts(sb, ",\"hostParentProcessId\":");
	sb_u64(sb, t->host_ptgid);
	sb_puts(sb, ",\"userId\":");
	sb_u64(sb, t->uid);
	sb_puts(sb, ",\"groupId\":");
	sb_u64(sb, t->gid);
	mpt_format_json_creds(sb, h);
	sb_puts(sb, ",\"processName\":");
	sb_json_str(sb, t->comm, comm_len(h));
	sb_puts(sb, ",\"hostName\":");
	sb_json_str(sb, ctx->hostname, strlen(ctx->hostname));
	sb_puts(sb, ",\"cgroupId\":");
	sb_u64(sb, t->cgroup_id);
	json_str_field(sb, "cgroupPath", en->cgroup_path);
	json_str_field(sb, "containerId", en->container_id);
	json_str_field(sb, "containerRuntime", en->container_runtime);
	json_str_field(sb, "podUid", en->pod_uid);
	json_ctr_meta(sb, en->ctr_meta);
	sb_puts(sb, ",\"mountNamespace\":");
	sb_u64(sb, t->mnt_ns);
	sb_puts(sb, ",\"pidNamespace\":");
	sb_u64(sb, t->pid_ns);
	sb_puts(sb, ",\"processStartTime\":");
	sb_u64(sb, t->start_ns + ctx->boot_to_wall_ns);
	json_exe(sb, en->exe_path, en->lineage ? en->lineage->self : NULL, t->exe, true);
	json_lineage(sb, en->lineage, ctx);
	sb_puts(sb, ",\"eventName\":\"");
	sb_puts(sb, v->desc->name);
	sb_puts(sb, "\",\"syscall\":\"");
	sb_puts(sb, mpt_view_syscall(v));
	sb_puts(sb, "\",\"abi\":\"");
	sb_puts(sb, mpt_abi_name(h->abi));
	sb_puts(sb, "\",\"argsNum\":");
	sb_u64(sb, v->desc->nargs);
	mpt_format_json_return(sb, h);
	sb_puts(sb, ",\"args\":");
	mpt_format_json_args(sb, v);
	json_target(sb, en->target, ctx);
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
		sb_puts(sb, "\",\"type\":\"");
		sb_puts(sb, ad->ctype);
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

/* ---- table, in strace's style ---- */

static void table_errno(struct strbuf *sb, int err)
{
	const char *name = mpt_errno_name(err);

	if (name)
		sb_puts(sb, name);
	else
		sb_u64(sb, err);
}

/* The kernel's errors are -1..-4095; anything else (a damaged capture) prints as a number. */
static bool is_errno(int64_t v)
{
	return v < 0 && v >= -4095;
}

static void table_items(struct strbuf *sb, const struct mpt_view *v, enum mpt_arg_kind kind,
			const unsigned char *base, const struct mpt_arg_view *a)
{
	unsigned int i;

	sb_putc(sb, '[');
	for (i = 0; i < a->n; i++) {
		if (i)
			sb_puts(sb, ", ");
		if (kind == MPT_ARG_PTR_ARRAY) {
			uint64_t p = mpt_ptr_item(v, base, i);

			if (p)
				sb_hex(sb, p);
			else
				sb_puts(sb, "NULL");
		} else if (kind == MPT_ARG_STATUS_ARRAY && is_errno(mpt_s32_item(base, i))) {
			sb_putc(sb, '-');
			table_errno(sb, -mpt_s32_item(base, i));
		} else {
			sb_s64(sb, mpt_s32_item(base, i));
		}
	}
	if (a->truncated)
		sb_puts(sb, a->n ? ", ..." : "...");
	sb_putc(sb, ']');
}

/* A node mask as the nodes in it, as strace shows one; @data: the entry's, or the return's. */
static void table_mask(struct strbuf *sb, const struct mpt_arg_view *a, const unsigned char *data)
{
	struct mpt_arg_view m = *a;

	m.data = data;
	mask_items(sb, &m, ", ");
	if (a->truncated)
		sb_puts(sb, sb->buf[sb->len - 1] == '[' ? "..." : ", ...");
	sb_putc(sb, ']');
}

/* An array's entries, or a mask's nodes: at @data, the entry's copy or the return's. */
static void table_data(struct strbuf *sb, const struct mpt_view *v, enum mpt_arg_kind kind,
		       const struct mpt_arg_view *a, const unsigned char *data)
{
	if (kind == MPT_ARG_NODEMASK)
		table_mask(sb, a, data);
	else
		table_items(sb, v, kind, data, a);
}

/* Pointers the kernel could not (or did not) fill are shown as addresses, as strace does. */
static void table_array(struct strbuf *sb, const struct mpt_view *v, enum mpt_arg_kind kind,
			const struct mpt_arg_view *a)
{
	if (!a->value) {
		sb_puts(sb, "NULL");
		return;
	}
	if (a->state != MPT_ARRAY_OK) {
		sb_hex(sb, a->value);
		return;
	}
	table_data(sb, v, kind, a, a->data);
	if (a->partial)
		sb_puts(sb, " /* written up to the element that failed */");
	if (a->at_return)
		sb_puts(sb, " /* not in memory at the entry: read at the return */");
	/* rewritten while the kernel read it: what the return found, in a comment */
	if (a->changed) {
		sb_puts(sb, " /* CHANGED DURING CALL, at exit: ");
		if (a->exit_state == MPT_ARRAY_OK)
			table_data(sb, v, kind, a, a->exit_data);
		else
			sb_puts(sb, mpt_array_state_reason(a->exit_state));
		sb_puts(sb, " */");
	}
	if (a->kernel_other_n) {
		sb_puts(sb, " /* KERNEL MIGRATED PAGES NOT IN IT: [");
		for (unsigned int i = 0; i < a->kernel_other_n; i++) {
			if (i)
				sb_puts(sb, ", ");
			sb_hex(sb, mpt_u64_item(a->kernel_other, i));
		}
		sb_puts(sb, "] */");
	}
}

static void table_name(struct strbuf *sb, const char *comm)
{
	size_t i, n = strnlen(comm, MPT_TASK_COMM_LEN);

	for (i = 0; i < n; i++) {
		unsigned char c = comm[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			sb_putc(sb, c);
		else
			sb_printf(sb, "\\x%02x", c);
	}
}

/* The ancestors, compactly, after the call: " <- bash[7000] <- sshd[900]". */
static void table_lineage(struct strbuf *sb, const struct mpt_lineage_view *l)
{
	if (!l || !l->self)
		return;
	for (unsigned int i = 0; i < l->n_anc; i++) {
		sb_puts(sb, " <- ");
		table_name(sb, l->anc[i]->comm);
		sb_printf(sb, "[%u]", l->anc[i]->tgid);
	}
	if (l->anc_truncated)
		sb_puts(sb, " <- ...");
}

/* A flood summary: what the calls over the fair share did, in one line. */
static void table_flood(struct strbuf *sb, const struct mpt_view *v)
{
	const struct mpt_flood_event *f = v->flood;

	sb_printf(sb,
		  "FLOOD %s x %llu over its fair share in %llu.%06llu s (pages %llu, targets >= "
		  "%llu, %llu of %llu returns failed)",
		  mpt_view_syscall(v), (unsigned long long)f->calls,
		  (unsigned long long)(f->duration_ns / 1000000000ull),
		  (unsigned long long)(f->duration_ns % 1000000000ull / 1000),
		  (unsigned long long)f->pages, (unsigned long long)v->arg[2].value,
		  (unsigned long long)f->failures, (unsigned long long)f->returns);
	table_lineage(sb, v->enrich ? v->enrich->lineage : NULL);
	sb_putc(sb, '\n');
}

/* "ctr:<short id> ", with the runtime's name for it, or a mark when the runtime disowns it. */
static void table_container(struct strbuf *sb, const struct mpt_enrich *en)
{
	const struct mpt_ctr_meta *m = en->ctr_meta;

	sb_printf(sb, "ctr:%.12s", en->container_id);
	if (m && m->verify == MPT_CTR_VERIFIED && m->name[0])
		sb_printf(sb, "(%s)", m->name);
	else if (m && m->verify != MPT_CTR_UNCHECKED && m->verify != MPT_CTR_VERIFIED)
		sb_printf(sb, "(unverified:%s)", mpt_ctr_verify_name(m->verify));
	sb_putc(sb, ' ');
}

/* Argument @i as strace shows it: by its kind in the event's rows. */
static void table_arg(struct strbuf *sb, const struct mpt_view *v, unsigned int i)
{
	const struct mpt_arg_view *a = &v->arg[i];

	switch (v->desc->args[i].kind) {
	case MPT_ARG_INT:
		sb_s64(sb, (int64_t)a->value);
		break;
	case MPT_ARG_ULONG:
		sb_u64(sb, a->value);
		break;
	case MPT_ARG_FLAGS:
		mpt_flags_str(sb, v->desc, mpt_arg_bits(v, i));
		break;
	case MPT_ARG_MODE:
		mpt_mode_str(sb, (int32_t)a->value);
		break;
	case MPT_ARG_ADDR:
		sb_hex(sb, a->value);
		break;
	default:
		table_array(sb, v, v->desc->args[i].kind, a);
		break;
	}
}

void mpt_format_table(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_rec_hdr *h = v->hdr;
	const struct mpt_event_desc *d = v->desc;
	uint64_t wall = h->ts_boot_ns + ctx->boot_to_wall_ns;
	time_t sec = wall / 1000000000ull;
	struct tm tm;

	localtime_r(&sec, &tm);
	sb_printf(sb, "%02d:%02d:%02d.%06llu ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		  (unsigned long long)(wall % 1000000000ull / 1000));
	table_name(sb, h->task.comm);
	sb_putc(sb, '[');
	sb_u64(sb, h->task.host_tgid);
	if (h->task.host_tid != h->task.host_tgid) {
		sb_putc(sb, '/');
		sb_u64(sb, h->task.host_tid);
	}
	sb_puts(sb, "] ");
	/* the container, by the short id docker ps shows */
	if (v->enrich && v->enrich->container_id && v->enrich->container_id[0])
		table_container(sb, v->enrich);
	/* a call through a 32-bit gate, as plain as strace's personality notes */
	if (h->abi != MPT_ABI_X86_64)
		sb_printf(sb, "[%s] ", mpt_abi_name(h->abi));
	if (v->flood) {
		table_flood(sb, v);
		return;
	}
	sb_puts(sb, d->name);
	sb_putc(sb, '(');
	for (unsigned int i = 0; i < d->nargs; i++) {
		if (i)
			sb_puts(sb, ", ");
		table_arg(sb, v, i);
	}
	sb_puts(sb, ") = ");
	if (h->ret_state != MPT_RET_SEEN) {
		/* strace's "= ?" for a call whose return it never saw */
		sb_printf(sb, "? <%s: return not seen>", mpt_ret_state_name(h->ret_state));
		table_lineage(sb, v->enrich ? v->enrich->lineage : NULL);
		sb_putc(sb, '\n');
		return;
	}
	if (is_errno(h->ret)) {
		sb_puts(sb, "-1 ");
		table_errno(sb, -h->ret);
		sb_puts(sb, " (");
		sb_puts(sb, mpt_errno_desc(-h->ret));
		sb_putc(sb, ')');
	} else {
		sb_s64(sb, h->ret);
	}
	if (h->origin != MPT_ORIGIN_ENTRY)
		sb_printf(sb, " <%s>", mpt_origin_desc(h->origin));
	else
		sb_printf(sb, " <%llu.%06llu>",
			  (unsigned long long)(h->duration_ns / 1000000000ull),
			  (unsigned long long)(h->duration_ns % 1000000000ull / 1000));
	table_lineage(sb, v->enrich ? v->enrich->lineage : NULL);
	sb_putc(sb, '\n');
}
