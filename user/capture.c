// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Capture writer and reader. Every record is length-prefixed, typed and
 * checksummed (zlib's CRC-32), so a reader skips what it does not know and
 * stops at the first damage; every flush closes a hash-chain block (SHA-256
 * from OpenSSL), so an edit that keeps the checksums right still shows.
 */
#define _GNU_SOURCE
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "move_pages.h"
#include "version.h"

#define FLUSH_BYTES (64u << 10)

/*
 * The fuzzer cannot forge checksums: in its build they are not enforced, so
 * it reaches the parsers behind them (the usual libFuzzer convention).
 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CHECKSUMS_ENFORCED 0
#else
#define CHECKSUMS_ENFORCED 1
#endif
#define N_STRINGS 5

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = v, p[1] = v >> 8;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static uint16_t get16(const unsigned char *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* CRC-32 over the record header's first 8 bytes and the payload. */
static uint32_t record_crc(const unsigned char *hdr, const unsigned char *payload, uint32_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, hdr, 8);
	if (len)
		crc = crc32(crc, payload, len);
	return (uint32_t)crc;
}

/* SHA-256(prev || bytes): one chain block. */
static int chain_digest(const unsigned char *prev, const unsigned char *bytes, size_t len,
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

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* ---- writer ----------------------------------------------------------------- */

struct mpt_cap_writer {
	struct mpt_cap_writer_opts opts;
	struct mpt_cap_meta meta;
	char *header_json;
	int fd;
	uint32_t seq;	     /* file index in the ring */
	uint64_t file_bytes; /* written to the current file */
	unsigned char *buf;  /* records not yet written: one chain block */
	size_t len, cap;
	unsigned char prev[MPT_CAP_HASH_LEN];
	uint64_t blocks;
	uint64_t events, drops, dropped;
	char head_hex[2 * MPT_CAP_HASH_LEN + 1];
	char error[4400];
};

static int reserve(struct mpt_cap_writer *w, size_t more)
{
	size_t cap = w->cap ? w->cap : FLUSH_BYTES * 2;
	unsigned char *p;

	if (w->len + more <= w->cap)
		return 0;
	while (cap < w->len + more)
		cap *= 2;
	p = realloc(w->buf, cap);
	if (!p)
		return -ENOMEM;
	w->buf = p;
	w->cap = cap;
	return 0;
}

struct piece {
	const void *p;
	uint32_t len;
};

/* Append one record, its payload gathered from @n pieces, to the block being built. */
static int append_pieces(struct mpt_cap_writer *w, uint16_t type, const struct piece *pc, int n)
{
	uint32_t len = 0, off = MPT_CAP_REC_HDR_SIZE;
	unsigned char *hdr;

	for (int i = 0; i < n; i++)
		len += pc[i].len;
	if (len > MPT_CAP_MAX_PAYLOAD)
		return -E2BIG;
	if (reserve(w, MPT_CAP_REC_HDR_SIZE + len))
		return -ENOMEM;
	hdr = w->buf + w->len;
	put16(hdr, type);
	put16(hdr + 2, 0);
	put32(hdr + 4, len);
	for (int i = 0; i < n; i++) {
		if (pc[i].len)
			memcpy(hdr + off, pc[i].p, pc[i].len);
		off += pc[i].len;
	}
	put32(hdr + 8, record_crc(hdr, hdr + MPT_CAP_REC_HDR_SIZE, len));
	w->len += MPT_CAP_REC_HDR_SIZE + len;
	return 0;
}

static int append(struct mpt_cap_writer *w, uint16_t type, const void *payload, uint32_t len)
{
	const struct piece pc = {payload, len};

	return append_pieces(w, type, &pc, 1);
}

int mpt_cap_write_raw(struct mpt_cap_writer *w, uint16_t type, const void *payload, uint32_t len)
{
	return append(w, type, payload, len);
}

static char *header_json(const struct mpt_cap_meta *m)
{
	json_t *args = json_array(), *root;
	char *s;

#define MPT_ARG_JSON(idx, name, ctype, tags)                                                       \
	json_array_append_new(                                                                     \
	    args, json_pack("{s:s,s:s,s:s}", "name", #name, "type", ctype, "tags", tags));
	MPT_MOVE_PAGES_ARGS(MPT_ARG_JSON)
#undef MPT_ARG_JSON
	root = json_pack(
	    "{s:s,s:i,s:i,s:s,s:s,s:s,s:s,s:I,s:s,s:i,s:s,s:i,s:I,s:{s:s,s:i,s:i,s:o}}", "format",
	    "mptrace-capture", "major", MPT_CAP_MAJOR, "minor", MPT_CAP_MINOR, "mptraceVersion",
	    m->mptrace_version, "hostName", m->hostname, "kernelRelease", m->kernel, "bootId",
	    m->boot_id, "bootToWallNs", (json_int_t)m->boot_to_wall_ns, "attachMode",
	    m->attach_mode, "arrayCap", (int)m->array_cap, "commandLine", m->command_line,
	    "fileSeq", (int)m->file_seq, "createdNs", (json_int_t)m->created_ns, "event", "name",
	    "move_pages", "recordVersion", MPT_EVENT_VERSION, "headerSize",
	    (int)sizeof(struct mpt_event), "args", args);
	if (!root)
		return NULL;
	s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	return s;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= k;
	}
	return 0;
}

static int flush_block(struct mpt_cap_writer *w)
{
	unsigned char chain[8 + 8 + MPT_CAP_HASH_LEN];
	unsigned char digest[MPT_CAP_HASH_LEN];
	size_t block = w->len;
	int err;

	if (!block)
		return 0;
	err = chain_digest(w->prev, w->buf, block, digest);
	if (err)
		return err;
	put64(chain, w->blocks);
	put64(chain + 8, w->file_bytes + block);
	memcpy(chain + 16, digest, MPT_CAP_HASH_LEN);
	err = append(w, MPT_CAP_REC_CHAIN, chain, sizeof(chain));
	if (err)
		return err;
	err = write_all(w->fd, w->buf, w->len);
	if (err) {
		/* drop the chain record again: the block stays buffered for a retry */
		w->len = block;
		return err;
	}
	if (w->opts.sync && fdatasync(w->fd))
		return -errno;
	w->file_bytes += w->len;
	w->len = 0;
	memcpy(w->prev, digest, MPT_CAP_HASH_LEN);
	hex(digest, MPT_CAP_HASH_LEN, w->head_hex);
	w->blocks++;
	return 0;
}

static void file_name(const struct mpt_cap_writer *w, uint32_t seq, char *out, size_t len)
{
	if (!w->opts.max_bytes)
		snprintf(out, len, "%s", w->opts.path);
	else
		snprintf(out, len, "%s.%u", w->opts.path,
			 w->opts.max_files ? seq % w->opts.max_files : seq);
}

static int open_file(struct mpt_cap_writer *w)
{
	unsigned char pre[MPT_CAP_PREAMBLE_SIZE];
	char name[4096];
	int err;

	file_name(w, w->seq, name, sizeof(name));
	/* captures hold other processes' addresses and names: owner only */
	w->fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		err = -errno;
		snprintf(w->error, sizeof(w->error), "cannot create capture '%s': %s", name,
			 strerror(-err));
		return err;
	}
	memset(w->prev, 0, sizeof(w->prev));
	w->blocks = 0;
	w->file_bytes = 0;
	w->meta.file_seq = w->seq;
	free(w->header_json);
	w->header_json = header_json(&w->meta);
	if (!w->header_json)
		return -ENOMEM;
	memcpy(pre, MPT_CAP_MAGIC, 8);
	put16(pre + 8, MPT_CAP_MAJOR);
	put16(pre + 10, MPT_CAP_MINOR);
	put32(pre + 12, (uint32_t)crc32(crc32(0L, Z_NULL, 0), pre, 12));
	/* the preamble is part of the first chain block */
	err = reserve(w, sizeof(pre));
	if (err)
		return err;
	memmove(w->buf + sizeof(pre), w->buf, w->len);
	memcpy(w->buf, pre, sizeof(pre));
	w->len += sizeof(pre);
	err = append(w, MPT_CAP_REC_HEADER, w->header_json, strlen(w->header_json));
	err = err ?: flush_block(w);
	if (err)
		snprintf(w->error, sizeof(w->error), "cannot write capture '%s': %s", name,
			 strerror(-err));
	return err;
}

static int end_file(struct mpt_cap_writer *w)
{
	unsigned char end[32];
	int err;

	put64(end, w->events);
	put64(end + 8, w->drops);
	put64(end + 16, w->dropped);
	put64(end + 24, 0);
	err = append(w, MPT_CAP_REC_END, end, sizeof(end));
	err = err ?: flush_block(w);
	if (w->opts.sync && !err && fsync(w->fd))
		err = -errno;
	if (close(w->fd) && !err)
		err = -errno;
	w->fd = -1;
	return err;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

int mpt_cap_writer_open(const struct mpt_cap_writer_opts *o, const struct mpt_cap_meta *meta,
			struct mpt_cap_writer **out, char *err, size_t len)
{
	struct mpt_cap_writer *w = calloc(1, sizeof(*w));
	int rc;

	*out = NULL;
	if (!w) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	w->opts = *o;
	w->opts.path = strdup(o->path);
	w->meta = *meta;
	w->meta.mptrace_version = dup_or_empty(meta->mptrace_version);
	w->meta.hostname = dup_or_empty(meta->hostname);
	w->meta.kernel = dup_or_empty(meta->kernel);
	w->meta.boot_id = dup_or_empty(meta->boot_id);
	w->meta.attach_mode = dup_or_empty(meta->attach_mode);
	w->meta.command_line = dup_or_empty(meta->command_line);
	w->fd = -1;
	rc = open_file(w);
	if (rc) {
		snprintf(err, len, "%s", w->error[0] ? w->error : strerror(-rc));
		if (w->fd >= 0)
			close(w->fd);
		w->fd = -1;
		mpt_cap_writer_close(w, NULL);
		return rc;
	}
	*out = w;
	return 0;
}

int mpt_cap_write_event(struct mpt_cap_writer *w, const struct mpt_view *v)
{
	static const struct mpt_enrich none = {"", "", "", "", ""};
	const struct mpt_enrich *en = v->enrich ? v->enrich : &none;
	const char *str[N_STRINGS] = {en->cgroup_path, en->exe_path, en->container_id,
				      en->container_runtime, en->pod_uid};
	unsigned char tail[N_STRINGS * (2 + 4096)], head[4];
	uint32_t klen = v->ev->size, tlen = 0;
	int err;

	for (int i = 0; i < N_STRINGS; i++) {
		size_t n = str[i] ? strlen(str[i]) : 0;

		if (n > 4096)
			n = 4096;
		put16(tail + tlen, n);
		if (n)
			memcpy(tail + tlen + 2, str[i], n);
		tlen += 2 + n;
	}
	put32(head, klen);
	/* one record, one CRC: the kernel record's length, the record, the strings */
	err = append_pieces(w, MPT_CAP_REC_EVENT,
			    (const struct piece[]){{head, 4}, {v->ev, klen}, {tail, tlen}}, 3);
	if (err)
		return err;
	w->events++;
	return w->len >= FLUSH_BYTES ? mpt_cap_flush(w) : 0;
}

int mpt_cap_write_drop(struct mpt_cap_writer *w, uint32_t cause, uint64_t count, uint64_t ts_first,
		       uint64_t ts_last)
{
	unsigned char p[32];

	put32(p, cause);
	put32(p + 4, 0);
	put64(p + 8, count);
	put64(p + 16, ts_first);
	put64(p + 24, ts_last);
	w->drops++;
	w->dropped += count;
	return append(w, MPT_CAP_REC_DROP, p, sizeof(p));
}

int mpt_cap_flush(struct mpt_cap_writer *w)
{
	int err = flush_block(w);

	if (err) {
		snprintf(w->error, sizeof(w->error), "writing the capture failed: %s",
			 strerror(-err));
		return err;
	}
	if (w->opts.max_bytes && w->file_bytes >= w->opts.max_bytes) {
		err = end_file(w);
		if (!err) {
			w->seq++;
			err = open_file(w);
		}
		if (err && !w->error[0])
			snprintf(w->error, sizeof(w->error), "rotating the capture failed: %s",
				 strerror(-err));
	}
	return err;
}

int mpt_cap_writer_close(struct mpt_cap_writer *w, char *head)
{
	int err = 0;

	if (!w)
		return 0;
	if (w->fd >= 0)
		err = end_file(w);
	if (head)
		memcpy(head, w->head_hex, sizeof(w->head_hex));
	free(w->buf);
	free(w->header_json);
	free((char *)w->opts.path);
	free((char *)w->meta.mptrace_version);
	free((char *)w->meta.hostname);
	free((char *)w->meta.kernel);
	free((char *)w->meta.boot_id);
	free((char *)w->meta.attach_mode);
	free((char *)w->meta.command_line);
	free(w);
	return err;
}

const char *mpt_cap_chain_head(const struct mpt_cap_writer *w)
{
	return w->head_hex;
}

const char *mpt_cap_writer_error(const struct mpt_cap_writer *w)
{
	return w->error;
}

/* ---- reader ----------------------------------------------------------------- */

struct mpt_cap_reader {
	FILE *f;
	uint64_t off;	    /* of the next record */
	unsigned char *rec; /* the current record, header and payload */
	size_t rec_cap;
	unsigned char *block; /* bytes since the last chain record, for the chain */
	size_t block_len, block_cap;
	unsigned char prev[MPT_CAP_HASH_LEN];
	bool after_end;
	volatile int *stop;
	bool follow;
	json_t *header;
	struct mpt_cap_meta meta;
	struct mpt_cap_counts counts;
	unsigned char *event; /* the kernel record, 8-byte aligned */
	size_t event_cap;
	char str[N_STRINGS][4097];
	char error[512];
};

static int fail(struct mpt_cap_reader *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct mpt_cap_reader *r, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	return -status;
}

static int grow(unsigned char **p, size_t *cap, size_t need)
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

static int block_add(struct mpt_cap_reader *r, const unsigned char *p, size_t n)
{
	if (grow(&r->block, &r->block_cap, r->block_len + n))
		return -ENOMEM;
	memcpy(r->block + r->block_len, p, n);
	r->block_len += n;
	return 0;
}

/*
 * Read exactly @n bytes at the current position. 1: done; 0: the file ends
 * first (after waiting, when following). Partial reads are undone.
 */
static int read_exact(struct mpt_cap_reader *r, unsigned char *p, size_t n, uint64_t at)
{
	for (;;) {
		size_t got;

		if (fseeko(r->f, (off_t)at, SEEK_SET))
			return -1;
		got = fread(p, 1, n, r->f);
		if (got == n)
			return 1;
		if (ferror(r->f))
			return -1;
		if (!r->follow || (r->stop && *r->stop))
			return 0;
		clearerr(r->f);
		usleep(100 * 1000);
	}
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int parse_header(struct mpt_cap_reader *r, const unsigned char *p, uint32_t len)
{
	json_error_t jerr;
	json_t *h = json_loadb((const char *)p, len, 0, &jerr), *ev;
	json_int_t rv;

	if (!h || !json_is_object(h))
		return fail(r, MPT_CAP_EDAMAGED, "the header is not valid JSON: %s", jerr.text);
	if (strcmp(jstr(h, "format"), "mptrace-capture")) {
		json_decref(h);
		return fail(r, MPT_CAP_ENOTCAP, "the header does not describe an mptrace capture");
	}
	ev = json_object_get(h, "event");
	rv = json_integer_value(json_object_get(ev, "recordVersion"));
	/* older records read as newer ones whose new fields are zero (decode.c) */
	if (rv < MPT_EVENT_VERSION_MIN || rv > MPT_EVENT_VERSION) {
		json_decref(h);
		return fail(r, MPT_CAP_EVERSION,
			    "event records of version %lld; this mptrace reads versions %d to %d",
			    (long long)rv, MPT_EVENT_VERSION_MIN, MPT_EVENT_VERSION);
	}
	r->header = h;
	r->meta.mptrace_version = jstr(h, "mptraceVersion");
	r->meta.hostname = jstr(h, "hostName");
	r->meta.kernel = jstr(h, "kernelRelease");
	r->meta.boot_id = jstr(h, "bootId");
	r->meta.boot_to_wall_ns = json_integer_value(json_object_get(h, "bootToWallNs"));
	r->meta.attach_mode = jstr(h, "attachMode");
	r->meta.array_cap = json_integer_value(json_object_get(h, "arrayCap"));
	r->meta.command_line = jstr(h, "commandLine");
	r->meta.file_seq = json_integer_value(json_object_get(h, "fileSeq"));
	r->meta.created_ns = json_integer_value(json_object_get(h, "createdNs"));
	return 0;
}

/*
 * One record into r->rec. Returns its type (> 0), 0 at a clean end of
 * file, or a negative status.
 */
static int read_record(struct mpt_cap_reader *r, uint32_t *plen)
{
	unsigned char hdr[MPT_CAP_REC_HDR_SIZE];
	uint32_t len;
	int rc;

	rc = read_exact(r, hdr, sizeof(hdr), r->off);
	if (rc < 0)
		return fail(r, MPT_CAP_EIO, "reading at offset %llu: %s",
			    (unsigned long long)r->off, strerror(errno));
	if (rc == 0) {
		long got;

		fseeko(r->f, 0, SEEK_END);
		got = (long)(ftello(r->f) - (off_t)r->off);
		if (got == 0)
			return 0;
		return fail(r, MPT_CAP_EDAMAGED,
			    "torn tail at offset %llu: %ld bytes of an incomplete record ignored",
			    (unsigned long long)r->off, got);
	}
	len = get32(hdr + 4);
	if (len > MPT_CAP_MAX_PAYLOAD)
		return fail(r, MPT_CAP_EDAMAGED,
			    "impossible record length %u at offset %llu (at most %u)", len,
			    (unsigned long long)r->off, MPT_CAP_MAX_PAYLOAD);
	if (grow(&r->rec, &r->rec_cap, sizeof(hdr) + len))
		return fail(r, MPT_CAP_EIO, "out of memory");
	memcpy(r->rec, hdr, sizeof(hdr));
	rc = read_exact(r, r->rec + sizeof(hdr), len, r->off + sizeof(hdr));
	if (rc < 0)
		return fail(r, MPT_CAP_EIO, "reading at offset %llu: %s",
			    (unsigned long long)r->off, strerror(errno));
	if (rc == 0)
		return fail(r, MPT_CAP_EDAMAGED,
			    "torn tail at offset %llu: a record of %u bytes is cut short",
			    (unsigned long long)r->off, len);
	if (CHECKSUMS_ENFORCED && record_crc(r->rec, r->rec + sizeof(hdr), len) != get32(hdr + 8))
		return fail(r, MPT_CAP_EDAMAGED, "bad checksum in the record at offset %llu",
			    (unsigned long long)r->off);
	*plen = len;
	return get16(hdr) ? get16(hdr)
			  : fail(r, MPT_CAP_EDAMAGED, "record type 0 at offset %llu",
				 (unsigned long long)r->off);
}

int mpt_cap_reader_open(FILE *f, struct mpt_cap_reader **out, char *err, size_t len)
{
	struct mpt_cap_reader *r = calloc(1, sizeof(*r));
	unsigned char pre[MPT_CAP_PREAMBLE_SIZE];
	uint32_t plen;
	int rc;

	*out = NULL;
	if (!r) {
		snprintf(err, len, "out of memory");
		return MPT_CAP_EIO;
	}
	r->f = f;
	rc = read_exact(r, pre, sizeof(pre), 0);
	if (rc <= 0 || memcmp(pre, MPT_CAP_MAGIC, 8)) {
		snprintf(err, len, "not an mptrace capture (no capture magic at the start)");
		mpt_cap_reader_free(r);
		return MPT_CAP_ENOTCAP;
	}
	if (CHECKSUMS_ENFORCED &&
	    (uint32_t)crc32(crc32(0L, Z_NULL, 0), pre, 12) != get32(pre + 12)) {
		snprintf(err, len, "damaged capture: bad checksum in the file preamble");
		mpt_cap_reader_free(r);
		return MPT_CAP_EDAMAGED;
	}
	if (get16(pre + 8) > MPT_CAP_MAJOR) {
		snprintf(err, len, "capture format %u.%u is newer than this mptrace reads (%d.x)",
			 get16(pre + 8), get16(pre + 10), MPT_CAP_MAJOR);
		mpt_cap_reader_free(r);
		return MPT_CAP_EVERSION;
	}
	block_add(r, pre, sizeof(pre));
	r->off = sizeof(pre);
	rc = read_record(r, &plen);
	if (rc == MPT_CAP_REC_HEADER)
		rc = parse_header(r, r->rec + MPT_CAP_REC_HDR_SIZE, plen);
	else if (rc >= 0)
		rc = fail(r, MPT_CAP_EDAMAGED, "the first record is not the header");
	if (rc < 0) {
		snprintf(err, len, "%s", r->error);
		mpt_cap_reader_free(r);
		return -rc;
	}
	block_add(r, r->rec, MPT_CAP_REC_HDR_SIZE + plen);
	r->off += MPT_CAP_REC_HDR_SIZE + plen;
	r->counts.records = 1;
	*out = r;
	return MPT_CAP_OK;
}

static int check_chain(struct mpt_cap_reader *r, const unsigned char *p, uint32_t len)
{
	unsigned char digest[MPT_CAP_HASH_LEN];

	if (len < 16 + MPT_CAP_HASH_LEN)
		return fail(r, MPT_CAP_EDAMAGED, "short chain record at offset %llu",
			    (unsigned long long)r->off);
	if (chain_digest(r->prev, r->block, r->block_len, digest))
		return fail(r, MPT_CAP_EIO, "computing SHA-256 failed");
	if (CHECKSUMS_ENFORCED &&
	    (get64(p) != r->counts.chain_blocks || memcmp(digest, p + 16, MPT_CAP_HASH_LEN)))
		return fail(r, MPT_CAP_ETAMPERED,
			    "hash chain breaks at block %llu (chain record at offset %llu): the "
			    "bytes before it were changed",
			    (unsigned long long)r->counts.chain_blocks, (unsigned long long)r->off);
	memcpy(r->prev, digest, MPT_CAP_HASH_LEN);
	r->block_len = 0;
	r->counts.chain_blocks++;
	return 0;
}

static int decode_event(struct mpt_cap_reader *r, const unsigned char *p, uint32_t len,
			struct mpt_cap_item *it)
{
	const char *why;
	uint32_t klen, off;

	if (len < 4 || (klen = get32(p)) > len - 4)
		return fail(r, MPT_CAP_EDAMAGED, "event record at offset %llu: bad length",
			    (unsigned long long)r->off);
	/* an aligned copy: the view reads the record's fields in place */
	if (grow(&r->event, &r->event_cap, klen + 8))
		return fail(r, MPT_CAP_EIO, "out of memory");
	memcpy(r->event, p + 4, klen);
	if (mpt_event_parse(r->event, klen, &it->view, &why))
		return fail(r, MPT_CAP_EDAMAGED, "event record at offset %llu: %s",
			    (unsigned long long)r->off, why);
	off = 4 + klen;
	for (int i = 0; i < N_STRINGS; i++) {
		uint32_t n;

		if (len - off < 2 || (n = get16(p + off)) > 4096 || n > len - off - 2)
			return fail(r, MPT_CAP_EDAMAGED,
				    "event record at offset %llu: bad string length",
				    (unsigned long long)r->off);
		memcpy(r->str[i], p + off + 2, n);
		r->str[i][n] = '\0';
		off += 2 + n;
	}
	it->enrich.cgroup_path = r->str[0];
	it->enrich.exe_path = r->str[1];
	it->enrich.container_id = r->str[2];
	it->enrich.container_runtime = r->str[3];
	it->enrich.pod_uid = r->str[4];
	it->view.enrich = &it->enrich;
	return 0;
}

int mpt_cap_next(struct mpt_cap_reader *r, struct mpt_cap_item *it)
{
	for (;;) {
		uint32_t len = 0;
		const unsigned char *p;
		int type, rc;

		type = read_record(r, &len);
		if (type < 0)
			return type;
		if (type == 0) {
			if (r->counts.ended)
				return 0;
			if (r->follow && !(r->stop && *r->stop)) {
				usleep(100 * 1000);
				continue;
			}
			return fail(
			    r, MPT_CAP_EDAMAGED,
			    "the capture was not closed (the writer stopped at offset %llu%s)",
			    (unsigned long long)r->off,
			    r->block_len ? "; records after the last chain block are "
					   "not covered by it"
					 : "");
		}
		if (r->counts.ended)
			return fail(r, MPT_CAP_EDAMAGED,
				    "data after the end of the capture at offset %llu",
				    (unsigned long long)r->off);
		p = r->rec + MPT_CAP_REC_HDR_SIZE;
		memset(it, 0, sizeof(*it));
		it->type = type;
		it->offset = r->off;
		it->size = MPT_CAP_REC_HDR_SIZE + len;
		rc = 0;
		if (type == MPT_CAP_REC_CHAIN) {
			rc = check_chain(r, p, len);
			if (!rc && r->after_end)
				r->counts.ended = true;
		} else {
			if (block_add(r, r->rec, MPT_CAP_REC_HDR_SIZE + len))
				return fail(r, MPT_CAP_EIO, "out of memory");
			if (type == MPT_CAP_REC_EVENT) {
				rc = decode_event(r, p, len, it);
			} else if (type == MPT_CAP_REC_DROP) {
				if (len < 32)
					rc = fail(r, MPT_CAP_EDAMAGED,
						  "short drop record at offset %llu",
						  (unsigned long long)r->off);
				it->drop_cause = len >= 32 ? get32(p) : 0;
				it->drop_count = len >= 32 ? get64(p + 8) : 0;
				it->drop_first_ns = len >= 32 ? get64(p + 16) : 0;
				it->drop_last_ns = len >= 32 ? get64(p + 24) : 0;
			} else if (type == MPT_CAP_REC_END) {
				r->after_end = true;
			} else if (type == MPT_CAP_REC_HEADER) {
				rc = fail(r, MPT_CAP_EDAMAGED, "a second header at offset %llu",
					  (unsigned long long)r->off);
			} else {
				r->counts.unknown++;
			}
		}
		if (rc)
			return rc;
		r->off += MPT_CAP_REC_HDR_SIZE + len;
		r->counts.records++;
		if (type == MPT_CAP_REC_EVENT) {
			uint64_t ts = it->view.ev->ts_boot_ns;

			if (!r->counts.events || ts < r->counts.first_ns)
				r->counts.first_ns = ts;
			if (ts > r->counts.last_ns)
				r->counts.last_ns = ts;
			r->counts.events++;
			return 1;
		}
		if (type == MPT_CAP_REC_DROP) {
			r->counts.drop_records++;
			r->counts.dropped += it->drop_count;
			return 1;
		}
	}
}

const struct mpt_cap_meta *mpt_cap_reader_meta(const struct mpt_cap_reader *r)
{
	return &r->meta;
}

const struct mpt_cap_counts *mpt_cap_reader_counts(const struct mpt_cap_reader *r)
{
	return &r->counts;
}

const char *mpt_cap_reader_error(const struct mpt_cap_reader *r)
{
	return r->error;
}

void mpt_cap_reader_follow(struct mpt_cap_reader *r, volatile int *stop)
{
	r->follow = true;
	r->stop = stop;
}

void mpt_cap_reader_free(struct mpt_cap_reader *r)
{
	if (!r)
		return;
	json_decref(r->header);
	free(r->rec);
	free(r->block);
	free(r->event);
	free(r);
}

void mpt_cap_reader_chain_head(const struct mpt_cap_reader *r, char *out)
{
	hex(r->prev, MPT_CAP_HASH_LEN, out);
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
	};

	return cause < MPT_CAP_DROP_NR ? names[cause] : "unknown cause";
}
