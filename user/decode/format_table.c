// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The table line of an event, in strace's style. */
#include "decode/format.h"
#include "decode/format_int.h"

#include <errno.h>
#include <string.h>
#include <time.h>

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
	mpt_format_mask(sb, &m, ", ");
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
