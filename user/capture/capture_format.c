// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The capture format's shared parts: checksums (zlib's CRC-32), the hash
 * chain's digest (SHA-256 from OpenSSL), the EVENT payload, drop causes.
 * The format: docs/capture-format.md.
 */
#define _GNU_SOURCE
#include "capture/capture.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture_int.h"
#include "context/lineage.h"
#include "util/crc32.h"

/* CRC-32 over the record header's first 8 bytes and the payload. */
uint32_t mpt_cap_record_crc(const unsigned char *hdr, const unsigned char *payload, uint32_t len)
{
	return mpt_crc32(mpt_crc32(0, hdr, 8), payload, len);
}

/* SHA-256(prev || bytes): one chain block. */
int mpt_cap_chain_digest(const unsigned char *prev, const unsigned char *bytes, size_t len,
			 unsigned char *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, prev, MPT_CAP_HASH_LEN) && EVP_DigestUpdate(ctx, bytes, len) &&
	     EVP_DigestFinal_ex(ctx, out, &n) && n == MPT_CAP_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

void mpt_cap_hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

int mpt_cap_grow(unsigned char **p, size_t *cap, size_t need)
{
	unsigned char *q;
	size_t c = *cap ? *cap : 4096;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	q = realloc(*p, c);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

/* The fields of struct mpt_ctr_meta a record keeps, in their order. */
#define CTR_FIELDS(m)                                                                              \
	{                                                                                          \
		(m)->name, (m)->image, (m)->image_id, (m)->image_digest, (m)->pod_name,            \
		    (m)->pod_namespace, (m)->pod_uid, (m)->labels                                  \
	}
static const size_t ctr_field_cap[] = {MPT_CTR_STR_MAX, MPT_CTR_STR_MAX,   MPT_CTR_STR_MAX,
				       MPT_CTR_STR_MAX, MPT_CTR_STR_MAX,   MPT_CTR_STR_MAX,
				       MPT_CTR_STR_MAX, MPT_CTR_LABELS_MAX};
#define N_CTR_FIELDS (sizeof(ctr_field_cap) / sizeof(ctr_field_cap[0]))

/* @n strings, each u16 length + bytes (at most @cap[i] - 1 of them), at @out: their size. */
static uint32_t put_strs(unsigned char *out, const char *const *str, const size_t *cap, size_t n)
{
	uint32_t off = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(str[i], cap[i] - 1);

		put16(out + off, len);
		memcpy(out + off + 2, str[i], len);
		off += 2 + len;
	}
	return off;
}

/*
 * The strings put_strs wrote, at @p (@len bytes there), into @str: their
 * size, 0 when they do not hold. With @clean, control characters become
 * '?' (as the runtime's strings were when written: a hostile file's then
 * say nothing to a terminal), but for newlines in string @nl_ok; without,
 * a NUL is damage.
 */
static size_t get_strs(const unsigned char *p, size_t len, char *const *str, const size_t *cap,
		       size_t n, bool clean, size_t nl_ok)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (len - off < 2 || (k = get16(p + off)) >= cap[i] || k > len - off - 2 ||
		    (!clean && memchr(p + off + 2, '\0', k)))
			return 0;
		for (size_t j = 0; j < k; j++) {
			unsigned char c = p[off + 2 + j];

			bool ctl = (c < 0x20 && !(c == '\n' && i == nl_ok)) || c == 0x7f;

			str[i][j] = clean && ctl ? '?' : (char)c;
		}
		str[i][k] = '\0';
		off += 2 + k;
	}
	return off;
}

/* What the runtime said of a container, after the strings; nothing for none (its size). */
static uint32_t encode_ctr_meta(const struct mpt_ctr_meta *m, unsigned char *out)
{
	if (!m || m->verify == MPT_CTR_UNCHECKED)
		return 0;
	const char *str[] = CTR_FIELDS(m);

	put16(out, MPT_CAP_CTR_MARK);
	out[2] = m->verify;
	return 3 + put_strs(out + 3, str, ctr_field_cap, N_CTR_FIELDS);
}

/* The block encode_ctr_meta wrote, at @p: its length, or 0 when it does not hold together. */
static size_t decode_ctr_meta(struct mpt_ctr_meta *m, const unsigned char *p, size_t len)
{
	memset(m, 0, sizeof(*m));
	if (len < 3 || get16(p) != MPT_CAP_CTR_MARK || !p[2] || p[2] >= MPT_CTR_VERIFY_NR)
		return 0;
	m->verify = p[2];
	char *str[] = CTR_FIELDS(m);
	size_t n =
	    get_strs(p + 3, len - 3, str, ctr_field_cap, N_CTR_FIELDS, true, N_CTR_FIELDS - 1);

	return n ? 3 + n : 0;
}

/* The target's strings, in their order, with the room each has. */
#define TARGET_FIELDS(t)                                                                           \
	{                                                                                          \
		(t)->comm, (t)->exe, (t)->container_id, (t)->container_name                        \
	}
#define N_TARGET_FIELDS 4
#define TARGET_FIELDS_CAP                                                                          \
	{                                                                                          \
		MPT_TASK_COMM_LEN + 1, MPT_PROC_PATH_MAX + 1, MPT_CONTAINER_ID_LEN + 1,            \
		    MPT_CTR_STR_MAX                                                                \
	}

/* The process a call names, after the container block; nothing for none (its size). */
static uint32_t encode_target(const struct mpt_target *t, unsigned char *out)
{
	const char *str[] = TARGET_FIELDS(t);
	const size_t cap[] = TARGET_FIELDS_CAP;

	put16(out, MPT_CAP_TARGET_MARK);
	out[2] = t->resolved | t->cgroup_known << 1;
	out[3] = t->container_verify;
	put32(out + 4, (uint32_t)t->pid);
	put32(out + 8, t->host_tgid);
	put32(out + 12, t->uid);
	put64(out + 16, t->start_ns);
	put64(out + 24, t->cgroup_id);
	return 32 + put_strs(out + 32, str, cap, N_TARGET_FIELDS);
}

static size_t decode_target(struct mpt_target *t, const unsigned char *p, size_t len)
{
	char *str[] = TARGET_FIELDS(t);
	const size_t cap[] = TARGET_FIELDS_CAP;
	size_t n;

	memset(t, 0, sizeof(*t));
	if (len < 32 || get16(p) != MPT_CAP_TARGET_MARK || p[2] > 3 || p[3] >= MPT_CTR_VERIFY_NR)
		return 0;
	t->resolved = p[2] & 1;
	t->cgroup_known = p[2] >> 1;
	t->container_verify = p[3];
	t->pid = (int32_t)get32(p + 4);
	t->host_tgid = get32(p + 8);
	t->uid = get32(p + 12);
	t->start_ns = get64(p + 16);
	t->cgroup_id = get64(p + 24);
	n = get_strs(p + 32, len - 32, str, cap, N_TARGET_FIELDS, false, 0);
	return n ? 32 + n : 0;
}

/* The five strings after the kernel record, each u16 length + bytes; returns their size. */
uint32_t mpt_cap_encode_strings(const struct mpt_enrich *en, unsigned char *tail)
{
	static const struct mpt_enrich none = {"", "", "", "", "", NULL, NULL, NULL};
	const char *str[N_STRINGS];
	uint32_t tlen = 0;

	en = en ? en : &none;
	str[0] = en->cgroup_path, str[1] = en->exe_path, str[2] = en->container_id;
	str[3] = en->container_runtime, str[4] = en->pod_uid;
	for (int i = 0; i < N_STRINGS; i++) {
		size_t n = str[i] ? strlen(str[i]) : 0;

		if (n > 4096)
			n = 4096;
		put16(tail + tlen, n);
		if (n)
			memcpy(tail + tlen + 2, str[i], n);
		tlen += 2 + n;
	}
	tlen += encode_ctr_meta(en->ctr_meta, tail + tlen);
	return tlen + (en->target ? encode_target(en->target, tail + tlen) : 0);
}

static size_t proc_exe_len(const struct mpt_proc_info *p)
{
	return p->exe ? strnlen(p->exe, MPT_PROC_PATH_MAX) : 0;
}

static size_t proc_argv_len(const struct mpt_proc_info *p)
{
	return p->argv_len > MPT_PROC_ARGV_MAX ? MPT_PROC_ARGV_MAX : p->argv_len;
}

size_t mpt_cap_proc_size(const struct mpt_proc_info *p)
{
	return 64 + proc_exe_len(p) + proc_argv_len(p);
}

void mpt_cap_lineage_each(const struct mpt_lineage_view *l,
			  void (*fn)(void *ctx, const struct mpt_proc_info *p), void *ctx)
{
	if (!l || !l->self)
		return;
	/* past the cap, one more: a reader then sees the chain go on, as the live run did */
	if (l->anc_truncated)
		fn(ctx, l->anc[MPT_ANCESTORS_MAX]);
	for (unsigned int i = l->n_anc; i > 0; i--)
		fn(ctx, l->anc[i - 1]);
	fn(ctx, l->self);
}

size_t mpt_cap_proc_encode(const struct mpt_proc_info *p, unsigned char *out)
{
	size_t exe_len = proc_exe_len(p), argv_len = proc_argv_len(p);

	memset(out, 0, 64);
	put32(out, p->tgid);
	put32(out + 4, p->ptgid);
	put32(out + 8, p->ns_tgid);
	put32(out + 12, p->exe_dev);
	put64(out + 16, p->start_ns);
	put64(out + 24, p->pstart_ns);
	put64(out + 32, p->exe_ino);
	out[40] = p->flags;
	put16(out + 42, exe_len);
	put16(out + 44, argv_len);
	memcpy(out + 48, p->comm, strnlen(p->comm, MPT_TASK_COMM_LEN));
	memcpy(out + 64, p->exe, exe_len);
	if (argv_len)
		memcpy(out + 64 + exe_len, p->argv, argv_len);
	return 64 + exe_len + argv_len;
}

int mpt_cap_proc_decode(const unsigned char *p, size_t len, struct mpt_cap_proc *out)
{
	struct mpt_proc_info *i = &out->info;
	size_t exe_len, argv_len;

	if (len < 64)
		return -1;
	exe_len = get16(p + 42);
	argv_len = get16(p + 44);
	if (exe_len > MPT_PROC_PATH_MAX || argv_len > MPT_PROC_ARGV_MAX ||
	    64 + exe_len + argv_len != len || memchr(p + 64, '\0', exe_len))
		return -1;
	memset(i, 0, sizeof(*i));
	i->tgid = get32(p);
	i->ptgid = get32(p + 4);
	i->ns_tgid = get32(p + 8);
	i->exe_dev = get32(p + 12);
	i->start_ns = get64(p + 16);
	i->pstart_ns = get64(p + 24);
	i->exe_ino = get64(p + 32);
	i->flags = p[40];
	memcpy(i->comm, p + 48, MPT_TASK_COMM_LEN);
	i->comm[MPT_TASK_COMM_LEN] = '\0';
	memcpy(out->exe, p + 64, exe_len);
	out->exe[exe_len] = '\0';
	memcpy(out->argv, p + 64 + exe_len, argv_len);
	i->exe = out->exe;
	i->argv = out->argv;
	i->argv_len = argv_len;
	return 0;
}

/* @l after the strings: count, whether the chain went on, then each process (self first). */
static size_t encode_lineage(const struct mpt_lineage_view *l, unsigned char *out)
{
	size_t off = 4;
	unsigned int n = 0;

	if (!l || !l->self) {
		memset(out, 0, 4);
		return 4;
	}
	for (unsigned int i = 0; i <= l->n_anc; i++) {
		size_t k = mpt_cap_proc_encode(i ? l->anc[i - 1] : l->self, out + off + 2);

		put16(out + off, k);
		off += 2 + k;
		n++;
	}
	put16(out, n);
	out[2] = l->anc_truncated;
	out[3] = 0;
	return off;
}

size_t mpt_cap_event_encode(const struct mpt_view *v, unsigned char *out, size_t cap, bool lineage)
{
	size_t need =
	    4 + v->raw_size + MPT_CAP_EVENT_STRINGS_MAX + (lineage ? MPT_CAP_LINEAGE_MAX : 0);
	size_t n;

	if (cap < need)
		return 0;
	/* the record as it was read: an older one stays as it was, byte for byte */
	put32(out, v->raw_size);
	memcpy(out + 4, v->raw, v->raw_size);
	n = 4 + v->raw_size + mpt_cap_encode_strings(v->enrich, out + 4 + v->raw_size);
	if (lineage)
		n += encode_lineage(v->enrich ? v->enrich->lineage : NULL, out + n);
	return n;
}

/* A lineage after the strings (a shipped message's), into @b; -1 when it does not hold. */
static int decode_lineage(struct mpt_cap_event_buf *b, const unsigned char *p, size_t len)
{
	struct mpt_lineage_view *l = &b->lineage;
	unsigned int n;
	size_t off = 4;

	memset(l, 0, sizeof(*l));
	if (len < 4 || (n = get16(p)) > 1 + MPT_ANCESTORS_MAX)
		return -1;
	for (unsigned int i = 0; i < n; i++) {
		size_t k;

		if (len - off < 2 || (k = get16(p + off)) > len - off - 2 ||
		    mpt_cap_proc_decode(p + off + 2, k, &b->procs[i]))
			return -1;
		if (i)
			l->anc[l->n_anc++] = &b->procs[i].info;
		else
			l->self = &b->procs[0].info;
		off += 2 + k;
	}
	l->anc_truncated = p[2] != 0;
	return off == len ? 0 : -1;
}

int mpt_cap_proc_add(struct mpt_lineage **procs, struct mpt_cap_proc *buf, const void *payload,
		     size_t len)
{
	if (mpt_cap_proc_decode(payload, len, buf))
		return -EINVAL;
	if (!*procs && !(*procs = mpt_lineage_new()))
		return -ENOMEM;
	mpt_lineage_add(*procs, &buf->info);
	return 0;
}

void mpt_cap_event_link(struct mpt_cap_event_buf *b, struct mpt_cap_item *it,
			const struct mpt_lineage *procs)
{
	if (it->enrich.lineage || !procs)
		return;
	mpt_lineage_of(procs, it->view.hdr->task.host_tgid, it->view.hdr->task.start_ns,
		       &b->lineage);
	if (b->lineage.self)
		it->enrich.lineage = &b->lineage;
}

int mpt_cap_event_decode(struct mpt_cap_event_buf *b, const void *payload, size_t len,
			 struct mpt_cap_item *it, const char **why)
{
	const unsigned char *p = payload;
	uint32_t klen, off;

	if (len < 4 || (klen = get32(p)) > len - 4) {
		*why = "bad length";
		return -1;
	}
	/* an aligned copy: the view reads the record's fields in place */
	if (mpt_cap_grow(&b->event, &b->cap, klen + 8)) {
		*why = "out of memory";
		return -1;
	}
	memcpy(b->event, p + 4, klen);
	if (mpt_event_parse(b->event, klen, &it->view, why))
		return -1;
	off = 4 + klen;
	for (int i = 0; i < N_STRINGS; i++) {
		uint32_t n;

		if (len - off < 2 || (n = get16(p + off)) > 4096 || n > len - off - 2) {
			*why = "bad string length";
			return -1;
		}
		memcpy(b->str[i], p + off + 2, n);
		b->str[i][n] = '\0';
		off += 2 + n;
	}
	it->enrich.cgroup_path = b->str[0];
	it->enrich.exe_path = b->str[1];
	it->enrich.container_id = b->str[2];
	it->enrich.container_runtime = b->str[3];
	it->enrich.pod_uid = b->str[4];
	it->enrich.lineage = NULL;
	it->enrich.ctr_meta = NULL;
	it->view.enrich = &it->enrich;
	it->enrich.target = NULL;
	if (len - off >= 2 && get16(p + off) == MPT_CAP_CTR_MARK) {
		size_t n = decode_ctr_meta(&b->ctr_meta, p + off, len - off);

		if (!n) {
			*why = "bad container block";
			return -1;
		}
		it->enrich.ctr_meta = &b->ctr_meta;
		off += n;
	}
	if (len - off >= 2 && get16(p + off) == MPT_CAP_TARGET_MARK) {
		size_t n = decode_target(&b->target, p + off, len - off);

		if (!n) {
			*why = "bad target block";
			return -1;
		}
		it->enrich.target = &b->target;
		off += n;
	}
	/* what a message carries after its strings: its lineage */
	if (off < len) {
		if (decode_lineage(b, p + off, len - off)) {
			*why = "bad lineage";
			return -1;
		}
		it->enrich.lineage = &b->lineage;
	}
	return 0;
}

void mpt_cap_event_buf_free(struct mpt_cap_event_buf *b)
{
	free(b->event);
	b->event = NULL;
	b->cap = 0;
}

static int gravity(int status)
{
	return status == MPT_CAP_ETAMPERED ? MPT_CAP_ESET + 1 : status;
}

int mpt_cap_graver(int a, int b)
{
	return gravity(a) >= gravity(b) ? a : b;
}

const char *mpt_cap_drop_cause(uint32_t cause)
{
	static const char *const names[MPT_CAP_DROP_NR] = {
#define MPT_STAT_NAME(id, name, desc) [MPT_STAT_##id] = name,
	    MPT_STATS(MPT_STAT_NAME)
#undef MPT_STAT_NAME
		[MPT_CAP_DROP_UNFINISHED] = "unfinished",
	    [MPT_CAP_DROP_MALFORMED] = "malformed",
	    [MPT_CAP_DROP_OUTPUT] = "output",
	    [MPT_CAP_DROP_CAPTURE] = "capture",
	    [MPT_CAP_DROP_UNREAD] = "unread_at_stop",
	    [MPT_CAP_DROP_UNSUMMED] = "summary_full",
	    [MPT_CAP_DROP_SKIPPED] = "hooks_skipped",
	    [MPT_CAP_DROP_KPROBE] = "kprobe_missed",
	};

	return cause < MPT_CAP_DROP_NR ? names[cause] : "unknown cause";
}
