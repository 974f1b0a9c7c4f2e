// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "format.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "move_pages.h"

static const struct {
	const char *name;
	const char *type;
} arg_meta[MPT_MOVE_PAGES_NARGS] = {
#define MPT_ARG_META(idx, name, type, tags) [idx] = {#name, type},
    MPT_MOVE_PAGES_ARGS(MPT_ARG_META)
#undef MPT_ARG_META
};

enum {
#define MPT_ARG_IDX(idx, name, type, tags) ARG_##name = idx,
	MPT_MOVE_PAGES_ARGS(MPT_ARG_IDX)
#undef MPT_ARG_IDX
};

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

static size_t comm_len(const struct mpt_event *ev)
{
	return strnlen(ev->task.comm, sizeof(ev->task.comm));
}

/* ---- JSON ---- */

enum array_kind { PAGES, NODES, STATUS };

/* Entries captured for one array, and its state. */
static unsigned int array_of(const struct mpt_event *ev, enum array_kind kind, uint8_t *state)
{
	switch (kind) {
	case PAGES:
		*state = ev->pages_state;
		return ev->pages_n;
	case NODES:
		*state = ev->nodes_state;
		return ev->nodes_n;
	default:
		*state = ev->status_state;
		return ev->status_n;
	}
}

/* One array's entries; @at_exit: pages[] or nodes[] as the return found them. */
static void json_array_items(struct strbuf *sb, const struct mpt_view *v, enum array_kind kind,
			     unsigned int n, bool at_exit)
{
	sb_putc(sb, '[');
	for (unsigned int i = 0; i < n; i++) {
		if (i)
			sb_putc(sb, ',');
		if (kind == PAGES) {
			sb_putc(sb, '"');
			sb_hex(sb, at_exit ? mpt_view_page_exit(v, i) : mpt_view_page(v, i));
			sb_putc(sb, '"');
		} else if (kind == NODES) {
			sb_s64(sb, at_exit ? mpt_view_node_exit(v, i) : mpt_view_node(v, i));
		} else {
			sb_s64(sb, mpt_view_status(v, i));
		}
	}
	sb_putc(sb, ']');
}

/*
 * pages[] and nodes[] were read again at the return: did they change while
 * the kernel was working on them, and into what? Only for arrays read at
 * entry, of calls whose return was seen.
 */
static void json_change(struct strbuf *sb, const struct mpt_view *v, enum array_kind kind,
			unsigned int n)
{
	const struct mpt_event *ev = v->ev;
	uint8_t bit = kind == PAGES ? MPT_CHANGED_PAGES : MPT_CHANGED_NODES;
	uint8_t exit_state = kind == PAGES ? ev->pages_exit_state : ev->nodes_exit_state;

	if (kind == STATUS || ev->ret_state != MPT_RET_SEEN || !n)
		return;
	if (!(ev->changed & bit)) {
		sb_puts(sb, ",\"changedDuringCall\":false");
		return;
	}
	sb_puts(sb, ",\"changedDuringCall\":true,\"dataAtExit\":");
	if (exit_state == MPT_ARRAY_OK) {
		json_array_items(sb, v, kind, n, true);
	} else {
		const char *reason = mpt_array_state_reason(exit_state);

		sb_puts(sb, "null,\"exitReadError\":");
		sb_json_str(sb, reason, strlen(reason));
	}
}

static void json_array_data(struct strbuf *sb, const struct mpt_view *v, enum array_kind kind)
{
	uint8_t state;
	unsigned int n = array_of(v->ev, kind, &state);

	if (state != MPT_ARRAY_OK) {
		const char *reason = mpt_array_state_reason(state);

		/* no data key at all: null would read as an array that was empty */
		sb_puts(sb, ",\"readError\":");
		sb_json_str(sb, reason, strlen(reason));
		return;
	}
	sb_puts(sb, ",\"data\":");
	json_array_items(sb, v, kind, n, false);
	sb_puts(sb, ",\"truncated\":");
	sb_puts(sb, mpt_array_truncated(v, n) ? "true" : "false");
	json_change(sb, v, kind, n);
	if (kind == PAGES && v->ev->kernel_other_n) {
		/* what the kernel migrated that the recorded array does not hold */
		sb_puts(sb, ",\"migratedNotInArray\":[");
		for (unsigned int i = 0; i < v->ev->kernel_other_n; i++) {
			sb_puts(sb, i ? ",\"" : "\"");
			sb_hex(sb, mpt_view_kernel_other(v, i));
			sb_putc(sb, '"');
		}
		sb_putc(sb, ']');
	}
}

static void json_arg_open(struct strbuf *sb, int idx)
{
	if (idx)
		sb_putc(sb, ',');
	sb_puts(sb, "{\"name\":\"");
	sb_puts(sb, arg_meta[idx].name);
	sb_puts(sb, "\",\"type\":\"");
	sb_puts(sb, arg_meta[idx].type);
	sb_puts(sb, "\",\"value\":");
}

static void json_ptr_arg(struct strbuf *sb, const struct mpt_view *v, int idx, uint64_t ptr,
			 enum array_kind kind)
{
	json_arg_open(sb, idx);
	sb_putc(sb, '"');
	sb_hex(sb, ptr);
	sb_putc(sb, '"');
	json_array_data(sb, v, kind);
	sb_putc(sb, '}');
}

static const struct mpt_enrich no_enrich = {"", "", "", "", ""};

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

void mpt_format_json(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_event *ev = v->ev;
	const struct mpt_task *t = &ev->task;
	const struct mpt_enrich *en = enrich_of(v);

	sb_puts(sb, "{\"timestamp\":");
	sb_u64(sb, ev->ts_boot_ns + ctx->boot_to_wall_ns);
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
	sb_puts(sb, ",\"processName\":");
	sb_json_str(sb, t->comm, comm_len(ev));
	sb_puts(sb, ",\"hostName\":");
	sb_json_str(sb, ctx->hostname, strlen(ctx->hostname));
	sb_puts(sb, ",\"cgroupId\":");
	sb_u64(sb, t->cgroup_id);
	json_str_field(sb, "cgroupPath", en->cgroup_path);
	json_str_field(sb, "containerId", en->container_id);
	json_str_field(sb, "containerRuntime", en->container_runtime);
	json_str_field(sb, "podUid", en->pod_uid);
	sb_puts(sb, ",\"mountNamespace\":");
	sb_u64(sb, t->mnt_ns);
	sb_puts(sb, ",\"pidNamespace\":");
	sb_u64(sb, t->pid_ns);
	sb_puts(sb, ",\"processStartTime\":");
	sb_u64(sb, t->start_ns + ctx->boot_to_wall_ns);
	sb_puts(sb, ",\"executable\":{\"path\":");
	sb_json_str(sb, en->exe_path, strlen(en->exe_path));
	sb_putc(sb, '}');
	sb_puts(sb, ",\"eventName\":\"move_pages\",\"syscall\":\"move_pages\",\"abi\":\"");
	sb_puts(sb, mpt_abi_name(ev->abi));
	sb_puts(sb, "\",\"argsNum\":");
	sb_u64(sb, MPT_MOVE_PAGES_NARGS);
	mpt_format_json_return(sb, ev);
	sb_puts(sb, ",\"args\":");
	mpt_format_json_args(sb, v);
	sb_puts(sb, "}\n");
}

void mpt_format_json_return(struct strbuf *sb, const struct mpt_event *ev)
{
	if (ev->ret_state == MPT_RET_SEEN) {
		sb_puts(sb, ",\"returnValue\":");
		sb_s64(sb, ev->ret);
		sb_puts(sb, ",\"durationNs\":");
		sb_u64(sb, ev->duration_ns);
	} else {
		/* reported from its entry alone: there is no return to show */
		sb_puts(sb, ",\"returnValue\":null,\"durationNs\":null,\"returnMissing\":\"");
		sb_puts(sb, mpt_ret_state_name(ev->ret_state));
		sb_puts(sb, "\"");
	}
}

void mpt_format_json_args(struct strbuf *sb, const struct mpt_view *v)
{
	const struct mpt_event *ev = v->ev;

	sb_putc(sb, '[');
	json_arg_open(sb, ARG_pid);
	sb_s64(sb, ev->pid);
	sb_putc(sb, '}');
	json_arg_open(sb, ARG_count);
	sb_u64(sb, ev->count);
	sb_putc(sb, '}');
	json_ptr_arg(sb, v, ARG_pages, ev->pages, PAGES);
	json_ptr_arg(sb, v, ARG_nodes, ev->nodes, NODES);
	json_ptr_arg(sb, v, ARG_status, ev->status, STATUS);
	json_arg_open(sb, ARG_flags);
	sb_s64(sb, ev->flags);
	sb_puts(sb, ",\"decoded\":\"");
	mpt_flags_str(sb, ev->flags);
	sb_puts(sb, "\"}]");
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

static void table_items(struct strbuf *sb, const struct mpt_view *v, enum array_kind kind,
			unsigned int n, bool at_exit)
{
	unsigned int i;

	sb_putc(sb, '[');
	for (i = 0; i < n; i++) {
		if (i)
			sb_puts(sb, ", ");
		if (kind == PAGES) {
			uint64_t p = at_exit ? mpt_view_page_exit(v, i) : mpt_view_page(v, i);

			if (p)
				sb_hex(sb, p);
			else
				sb_puts(sb, "NULL");
		} else if (kind == NODES) {
			sb_s64(sb, at_exit ? mpt_view_node_exit(v, i) : mpt_view_node(v, i));
		} else {
			int32_t s = mpt_view_status(v, i);

			if (is_errno(s)) {
				sb_putc(sb, '-');
				table_errno(sb, -s);
			} else {
				sb_s64(sb, s);
			}
		}
	}
	if (mpt_array_truncated(v, n))
		sb_puts(sb, n ? ", ..." : "...");
	sb_putc(sb, ']');
}

/* Pointers the kernel could not (or did not) fill are shown as addresses, as strace does. */
static void table_array(struct strbuf *sb, const struct mpt_view *v, uint64_t ptr,
			enum array_kind kind)
{
	const struct mpt_event *ev = v->ev;
	uint8_t state, bit = kind == PAGES ? MPT_CHANGED_PAGES : MPT_CHANGED_NODES;
	unsigned int n = array_of(ev, kind, &state);

	if (!ptr) {
		sb_puts(sb, "NULL");
		return;
	}
	if (state != MPT_ARRAY_OK) {
		sb_hex(sb, ptr);
		return;
	}
	table_items(sb, v, kind, n, false);
	/* rewritten while the kernel read it: what the return found, in a comment */
	if (kind != STATUS && (ev->changed & bit)) {
		uint8_t exit_state = kind == PAGES ? ev->pages_exit_state : ev->nodes_exit_state;

		sb_puts(sb, " /* CHANGED DURING CALL, at exit: ");
		if (exit_state == MPT_ARRAY_OK)
			table_items(sb, v, kind, n, true);
		else
			sb_puts(sb, mpt_array_state_reason(exit_state));
		sb_puts(sb, " */");
	}
	if (kind == PAGES && ev->kernel_other_n) {
		sb_puts(sb, " /* KERNEL MIGRATED PAGES NOT IN IT: [");
		for (unsigned int i = 0; i < ev->kernel_other_n; i++) {
			if (i)
				sb_puts(sb, ", ");
			sb_hex(sb, mpt_view_kernel_other(v, i));
		}
		sb_puts(sb, "] */");
	}
}

static void table_comm(struct strbuf *sb, const struct mpt_event *ev)
{
	size_t i, n = comm_len(ev);

	for (i = 0; i < n; i++) {
		unsigned char c = ev->task.comm[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			sb_putc(sb, c);
		else
			sb_printf(sb, "\\x%02x", c);
	}
}

void mpt_format_table(struct strbuf *sb, const struct mpt_view *v, const struct mpt_fmt_ctx *ctx)
{
	const struct mpt_event *ev = v->ev;
	uint64_t wall = ev->ts_boot_ns + ctx->boot_to_wall_ns;
	time_t sec = wall / 1000000000ull;
	struct tm tm;

	localtime_r(&sec, &tm);
	sb_printf(sb, "%02d:%02d:%02d.%06llu ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		  (unsigned long long)(wall % 1000000000ull / 1000));
	table_comm(sb, ev);
	sb_putc(sb, '[');
	sb_u64(sb, ev->task.host_tgid);
	if (ev->task.host_tid != ev->task.host_tgid) {
		sb_putc(sb, '/');
		sb_u64(sb, ev->task.host_tid);
	}
	sb_puts(sb, "] ");
	/* the container, by the short id docker ps shows */
	if (v->enrich && v->enrich->container_id && v->enrich->container_id[0])
		sb_printf(sb, "ctr:%.12s ", v->enrich->container_id);
	/* a call through a 32-bit gate, as plain as strace's personality notes */
	if (ev->abi != MPT_ABI_X86_64)
		sb_printf(sb, "[%s] ", mpt_abi_name(ev->abi));
	sb_puts(sb, "move_pages(");
	sb_s64(sb, ev->pid);
	sb_puts(sb, ", ");
	sb_u64(sb, ev->count);
	sb_puts(sb, ", ");
	table_array(sb, v, ev->pages, PAGES);
	sb_puts(sb, ", ");
	table_array(sb, v, ev->nodes, NODES);
	sb_puts(sb, ", ");
	table_array(sb, v, ev->status, STATUS);
	sb_puts(sb, ", ");
	mpt_flags_str(sb, ev->flags);
	sb_puts(sb, ") = ");
	if (ev->ret_state != MPT_RET_SEEN) {
		/* strace's "= ?" for a call whose return it never saw */
		sb_printf(sb, "? <%s: return not seen>\n", mpt_ret_state_name(ev->ret_state));
		return;
	}
	if (is_errno(ev->ret)) {
		sb_puts(sb, "-1 ");
		table_errno(sb, -ev->ret);
		sb_puts(sb, " (");
		sb_puts(sb, mpt_errno_desc(-ev->ret));
		sb_putc(sb, ')');
	} else {
		sb_s64(sb, ev->ret);
	}
	sb_printf(sb, " <%llu.%06llu>\n", (unsigned long long)(ev->duration_ns / 1000000000ull),
		  (unsigned long long)(ev->duration_ns % 1000000000ull / 1000));
}
