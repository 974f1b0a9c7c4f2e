// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The capture reader: every record checksummed, nothing handed out before
 * its block's chain record checks out, damage named with its offset; and the
 * check that the files of a rotated set follow each other.
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
#include "util/crc32.h"
#include "context/lineage.h"

/* ---- reader ----------------------------------------------------------------- */

struct mpt_cap_reader {
	FILE *f;
	uint64_t off;  /* of the next record to read */
	uint64_t fpos; /* where the FILE stands; UINT64_MAX: not known */
	int minor;
	/*
	 * The block being read: records since the last chain record, as they are
	 * in the file from @block_off. Items are handed out only from the part
	 * a chain record has vouched for (@verified bytes), from @deliver on.
	 */
	unsigned char *block;
	size_t block_len, block_cap, verified, deliver;
	uint64_t block_off;
	unsigned char prev[MPT_CAP_HASH_LEN];
	bool after_end;
	uint64_t end_events, end_drops, end_dropped; /* what the END record says */
	volatile int *stop;
	bool follow;
	bool (*keep_waiting)(void *ctx); /* NULL: until *stop */
	void *wait_ctx;
	json_t *header;
	struct mpt_cap_meta meta;
	struct mpt_cap_counts counts;
	struct mpt_cap_event_buf ev;
	/* the processes this file's PROCESS records named, for its events' lineage */
	struct mpt_lineage *lineage;
	struct mpt_cap_proc proc;
	char error[512];
};

static int fail(struct mpt_cap_reader *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Following: wait for more at the end, until told to stop or the caller gives up. */
static bool keep_following(const struct mpt_cap_reader *r)
{
	if (!r->follow || (r->stop && *r->stop))
		return false;
	return !r->keep_waiting || r->keep_waiting(r->wait_ctx);
}

static int fail(struct mpt_cap_reader *r, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	return -status;
}

/*
 * Read exactly @n bytes at @at into the block's end. 1: done; 0: the file
 * ends first (after waiting, when following); -1: a read error.
 */
static int read_exact(struct mpt_cap_reader *r, unsigned char *p, size_t n, uint64_t at)
{
	for (;;) {
		size_t got;

		/* records are read in order: seek (which drops stdio's buffer) only when not there
		 */
		if (at != r->fpos && fseeko(r->f, (off_t)at, SEEK_SET)) {
			r->fpos = UINT64_MAX;
			return -1;
		}
		got = fread(p, 1, n, r->f);
		r->fpos = got == n ? at + n : UINT64_MAX;
		if (got == n)
			return 1;
		if (ferror(r->f))
			return -1;
		if (!keep_following(r))
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
	json_t *h = json_loadb((const char *)p, len, 0, &jerr), *ev, *prev;
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
	/* 1.1: how the file links to the rest of its set */
	r->meta.set_id = jstr(h, "setId");
	prev = json_object_get(h, "prevFileSeq");
	r->meta.prev_file_seq = json_is_integer(prev) ? json_integer_value(prev) : -1;
	r->meta.prev_file_hash = jstr(h, "prevFileHash");
	r->meta.ring_files = json_integer_value(json_object_get(h, "ringFiles"));
	return 0;
}

/*
 * One record appended to the block. Returns its type (> 0) with *@plen its
 * payload length, 0 at a clean end of file, or a negative status.
 */
static int read_record(struct mpt_cap_reader *r, uint32_t *plen)
{
	unsigned char *hdr;
	uint32_t len;
	int rc;

	if (mpt_cap_grow(&r->block, &r->block_cap, r->block_len + MPT_CAP_REC_HDR_SIZE))
		return fail(r, MPT_CAP_EIO, "out of memory");
	hdr = r->block + r->block_len;
	rc = read_exact(r, hdr, MPT_CAP_REC_HDR_SIZE, r->off);
	if (rc < 0)
		return fail(r, MPT_CAP_EIO, "reading at offset %llu: %s",
			    (unsigned long long)r->off, strerror(errno));
	if (rc == 0) {
		long got;

		fseeko(r->f, 0, SEEK_END);
		r->fpos = UINT64_MAX;
		got = (long)(ftello(r->f) - (off_t)r->off);
		if (got <= 0)
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
	if (r->block_len + MPT_CAP_REC_HDR_SIZE + len > MPT_CAP_MAX_BLOCK)
		return fail(r, MPT_CAP_EDAMAGED,
			    "no chain record within %u bytes at offset %llu: not what mptrace "
			    "writes",
			    MPT_CAP_MAX_BLOCK, (unsigned long long)r->block_off);
	if (mpt_cap_grow(&r->block, &r->block_cap, r->block_len + MPT_CAP_REC_HDR_SIZE + len))
		return fail(r, MPT_CAP_EIO, "out of memory");
	hdr = r->block + r->block_len;
	rc = read_exact(r, hdr + MPT_CAP_REC_HDR_SIZE, len, r->off + MPT_CAP_REC_HDR_SIZE);
	if (rc < 0)
		return fail(r, MPT_CAP_EIO, "reading at offset %llu: %s",
			    (unsigned long long)r->off, strerror(errno));
	if (rc == 0)
		return fail(r, MPT_CAP_EDAMAGED,
			    "torn tail at offset %llu: a record of %u bytes is cut short",
			    (unsigned long long)r->off, len);
	if (CHECKSUMS_ENFORCED &&
	    mpt_cap_record_crc(hdr, hdr + MPT_CAP_REC_HDR_SIZE, len) != get32(hdr + 8))
		return fail(r, MPT_CAP_EDAMAGED, "bad checksum in the record at offset %llu",
			    (unsigned long long)r->off);
	*plen = len;
	return get16(hdr) ? get16(hdr)
			  : fail(r, MPT_CAP_EDAMAGED, "record type 0 at offset %llu",
				 (unsigned long long)r->off);
}

char *mpt_cap_read_buffer(FILE *f)
{
	char *b = malloc(MPT_CAP_READ_BUFFER);

	if (b && setvbuf(f, b, _IOFBF, MPT_CAP_READ_BUFFER)) {
		free(b);
		b = NULL;
	}
	return b;
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
	r->fpos = UINT64_MAX;
	rc = read_exact(r, pre, sizeof(pre), 0);
	if (rc <= 0 || memcmp(pre, MPT_CAP_MAGIC, 8)) {
		snprintf(err, len, "not an mptrace capture (no capture magic at the start)");
		mpt_cap_reader_free(r);
		return MPT_CAP_ENOTCAP;
	}
	if (CHECKSUMS_ENFORCED && mpt_crc32(0, pre, 12) != get32(pre + 12)) {
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
	r->minor = get16(pre + 10);
	if (mpt_cap_grow(&r->block, &r->block_cap, sizeof(pre))) {
		snprintf(err, len, "out of memory");
		mpt_cap_reader_free(r);
		return MPT_CAP_EIO;
	}
	memcpy(r->block, pre, sizeof(pre));
	r->block_len = r->off = sizeof(pre);
	rc = read_record(r, &plen);
	if (rc == MPT_CAP_REC_HEADER)
		rc = parse_header(r, r->block + r->block_len + MPT_CAP_REC_HDR_SIZE, plen);
	else if (rc >= 0)
		rc = fail(r, MPT_CAP_EDAMAGED, "the first record is not the header");
	if (rc < 0) {
		snprintf(err, len, "%s", r->error);
		mpt_cap_reader_free(r);
		return -rc;
	}
	r->block_len += MPT_CAP_REC_HDR_SIZE + plen;
	r->off = r->block_len;
	/* the preamble and the header are in block 0 but are not items */
	r->deliver = r->block_len;
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
	if (mpt_cap_chain_digest(r->prev, r->block, r->block_len, digest))
		return fail(r, MPT_CAP_EIO, "computing SHA-256 failed");
	if (CHECKSUMS_ENFORCED && (get64(p) != r->counts.chain_blocks || get64(p + 8) != r->off ||
				   memcmp(digest, p + 16, MPT_CAP_HASH_LEN)))
		return fail(r, MPT_CAP_ETAMPERED,
			    "hash chain breaks at block %llu (chain record at offset %llu): the "
			    "bytes before it were changed",
			    (unsigned long long)r->counts.chain_blocks, (unsigned long long)r->off);
	memcpy(r->prev, digest, MPT_CAP_HASH_LEN);
	r->counts.chain_blocks++;
	return 0;
}

static int decode_event(struct mpt_cap_reader *r, const unsigned char *p, uint32_t len,
			struct mpt_cap_item *it)
{
	const char *why;

	if (mpt_cap_event_decode(&r->ev, p, len, it, &why))
		return fail(r, MPT_CAP_EDAMAGED, "event record at offset %llu: %s",
			    (unsigned long long)it->offset, why);
	/* the process records before it name its caller and the caller's ancestors */
	mpt_cap_event_link(&r->ev, it, r->lineage);
	return 0;
}

/* The END record's counts against what this file holds (1.1 on: counts per file). */
static int check_end(struct mpt_cap_reader *r, const unsigned char *p, uint32_t len, uint64_t at)
{
	const struct mpt_cap_counts *c = &r->counts;

	if (len < 24)
		return fail(r, MPT_CAP_EDAMAGED, "short end record at offset %llu",
			    (unsigned long long)at);
	if (r->minor < 1)
		return 0;
	if (get64(p) != c->events || get64(p + 8) != c->drop_records || get64(p + 16) != c->dropped)
		return fail(r, MPT_CAP_ETAMPERED,
			    "the end record at offset %llu counts %llu events, %llu drop records "
			    "and %llu lost calls; the file holds %llu, %llu and %llu",
			    (unsigned long long)at, (unsigned long long)get64(p),
			    (unsigned long long)get64(p + 8), (unsigned long long)get64(p + 16),
			    (unsigned long long)c->events, (unsigned long long)c->drop_records,
			    (unsigned long long)c->dropped);
	return 0;
}

/* The next verified record of the block as an item: 1, 0 for one that is not an item, < 0. */
static int deliver(struct mpt_cap_reader *r, struct mpt_cap_item *it)
{
	const unsigned char *hdr = r->block + r->deliver;
	uint32_t len = get32(hdr + 4);
	const unsigned char *p = hdr + MPT_CAP_REC_HDR_SIZE;
	int type = get16(hdr), rc = 0;

	memset(it, 0, sizeof(*it));
	it->type = type;
	it->offset = r->block_off + r->deliver;
	it->size = MPT_CAP_REC_HDR_SIZE + len;
	r->deliver += it->size;
	switch (type) {
	case MPT_CAP_REC_EVENT:
		rc = decode_event(r, p, len, it);
		if (rc)
			return rc;
		it->payload = p;
		it->payload_len = len;
		if (!r->counts.events || it->view.hdr->ts_boot_ns < r->counts.first_ns)
			r->counts.first_ns = it->view.hdr->ts_boot_ns;
		if (it->view.hdr->ts_boot_ns > r->counts.last_ns)
			r->counts.last_ns = it->view.hdr->ts_boot_ns;
		r->counts.events++;
		return 1;
	case MPT_CAP_REC_DROP:
		if (len < 32)
			return fail(r, MPT_CAP_EDAMAGED, "short drop record at offset %llu",
				    (unsigned long long)it->offset);
		it->drop_cause = get32(p);
		it->drop_tgid = get32(p + 4);
		it->drop_count = get64(p + 8);
		it->drop_first_ns = get64(p + 16);
		it->drop_last_ns = get64(p + 24);
		r->counts.drop_records++;
		r->counts.dropped += it->drop_count;
		return 1;
	case MPT_CAP_REC_CLOCK:
		if (len < 16)
			return fail(r, MPT_CAP_EDAMAGED, "short clock record at offset %llu",
				    (unsigned long long)it->offset);
		it->clock_boot_ns = get64(p);
		it->clock_boot_to_wall_ns = (int64_t)get64(p + 8);
		r->counts.clock_steps++;
		return 1;
	case MPT_CAP_REC_END:
		return check_end(r, p, len, it->offset);
	case MPT_CAP_REC_PROCESS:
		/* out of memory: the events go without their lineage, and are read still */
		if (mpt_cap_proc_add(&r->lineage, &r->proc, p, len) == -EINVAL)
			return fail(r, MPT_CAP_EDAMAGED,
				    "process record at offset %llu: bad length",
				    (unsigned long long)it->offset);
		r->counts.processes++;
		return 0;
	default:
		return 0; /* a newer minor's record: skipped by its length */
	}
}

int mpt_cap_next(struct mpt_cap_reader *r, struct mpt_cap_item *it)
{
	for (;;) {
		uint32_t len = 0;
		int type, rc;

		if (r->deliver < r->verified) {
			rc = deliver(r, it);
			if (rc)
				return rc;
			continue;
		}
		if (r->verified) {
			/* the block is out: the next one starts after its chain record */
			r->block_off = r->off;
			r->block_len = r->verified = r->deliver = 0;
		}
		if (r->counts.ended)
			return 0;
		type = read_record(r, &len);
		if (type < 0)
			return type;
		if (type == 0) {
			if (keep_following(r)) {
				usleep(100 * 1000);
				continue;
			}
			return fail(
			    r, MPT_CAP_EDAMAGED,
			    "the capture was not closed (the writer stopped at offset %llu%s)",
			    (unsigned long long)r->off,
			    r->block_len > r->deliver
				? "; the records after the last chain record are not "
				  "vouched for and were not read"
				: "");
		}
		if (type == MPT_CAP_REC_CHAIN) {
			rc = check_chain(r, r->block + r->block_len + MPT_CAP_REC_HDR_SIZE, len);
			if (rc)
				return rc;
			r->verified = r->block_len;
			r->off += MPT_CAP_REC_HDR_SIZE + len;
			r->counts.records++;
			if (r->after_end)
				r->counts.ended = true;
			continue;
		}
		if (r->after_end)
			return fail(r, MPT_CAP_EDAMAGED,
				    "data after the end of the capture at offset %llu",
				    (unsigned long long)r->off);
		if (type == MPT_CAP_REC_HEADER)
			return fail(r, MPT_CAP_EDAMAGED, "a second header at offset %llu",
				    (unsigned long long)r->off);
		if (type == MPT_CAP_REC_END)
			r->after_end = true;
		else if (type != MPT_CAP_REC_EVENT && type != MPT_CAP_REC_DROP &&
			 type != MPT_CAP_REC_CLOCK && type != MPT_CAP_REC_PROCESS)
			r->counts.unknown++;
		r->block_len += MPT_CAP_REC_HDR_SIZE + len;
		r->off += MPT_CAP_REC_HDR_SIZE + len;
		r->counts.records++;
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

void mpt_cap_reader_follow_while(struct mpt_cap_reader *r, volatile int *stop,
				 bool (*keep_waiting)(void *ctx), void *ctx)
{
	mpt_cap_reader_follow(r, stop);
	r->keep_waiting = keep_waiting;
	r->wait_ctx = ctx;
}

void mpt_cap_reader_free(struct mpt_cap_reader *r)
{
	if (!r)
		return;
	json_decref(r->header);
	free(r->block);
	mpt_cap_event_buf_free(&r->ev);
	mpt_lineage_free(r->lineage);
	free(r);
}

void mpt_cap_reader_chain_head(const struct mpt_cap_reader *r, char *out)
{
	mpt_cap_hex(r->prev, MPT_CAP_HASH_LEN, out);
}

/* ---- sets of files ------------------------------------------------------------ */

static void ssay(void (*say)(const char *msg), const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ssay(void (*say)(const char *msg), const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say(msg);
}

/* What a ring or a numbered set calls file @seq: its name's last suffix. */
static bool name_fits(const char *name, const struct mpt_cap_meta *m)
{
	const char *dot = strrchr(name, '.');
	char *end;
	unsigned long idx;

	if (!dot || !isdigit((unsigned char)dot[1]))
		return true; /* a single file, or renamed on purpose: nothing to compare */
	idx = strtoul(dot + 1, &end, 10);
	if (*end)
		return true;
	return idx == (m->ring_files ? m->file_seq % m->ring_files : m->file_seq);
}

/* @name's part before its last ".N", in @base: 0 when it is not named so. */
static size_t set_base(const char *name, char *base, size_t len)
{
	const char *dot = strrchr(name, '.');
	size_t n;

	if (!dot || !isdigit((unsigned char)dot[1]) || dot[strspn(dot + 1, "0123456789") + 1])
		return 0;
	n = (size_t)(dot - name);
	if (n >= len)
		return 0;
	memcpy(base, name, n);
	base[n] = '\0';
	return n;
}

/* Files named as one set (BASE.N) that belong to different sets: one was swapped in. */
static int mixed_sets(const char *const *names, const struct mpt_cap_meta *const *meta, int n,
		      void (*say)(const char *msg))
{
	char a[4096], b[4096];
	int status = MPT_CAP_OK;

	for (int i = 0; i < n; i++) {
		if (!meta[i]->set_id[0] || !set_base(names[i], a, sizeof(a)))
			continue;
		for (int j = 0; j < i; j++) {
			if (!meta[j]->set_id[0] || !set_base(names[j], b, sizeof(b)) ||
			    strcmp(a, b) || !strcmp(meta[i]->set_id, meta[j]->set_id))
				continue;
			ssay(say,
			     "%s: belongs to another set than %s, named as one with it: a "
			     "file of another set was put in",
			     names[i], names[j]);
			status = MPT_CAP_ESET;
			break;
		}
	}
	return status;
}

/*
 * A ring keeps its newest ring_files files: fewer, once it has written that
 * many, means one was taken away (the oldest leaves no gap in the chain).
 * @first..@last (in @order) are one set's files, by fileSeq.
 */
static int ring_short(const char *const *names, const struct mpt_cap_meta *const *meta,
		      const int *order, int first, int last, void (*say)(const char *msg))
{
	const struct mpt_cap_meta *m = meta[order[last]];
	uint64_t want = m->ring_files, have = (uint64_t)(last - first + 1);

	if (!m->ring_files || !m->set_id[0])
		return MPT_CAP_OK;
	if ((uint64_t)m->file_seq + 1 < want)
		want = (uint64_t)m->file_seq + 1;
	if (have >= want)
		return MPT_CAP_OK;
	ssay(say,
	     "%s: the newest of a ring of %u files, with %llu of its set here: the set keeps "
	     "files %llu to %u, and %llu of them are missing",
	     names[order[last]], m->ring_files, (unsigned long long)have,
	     (unsigned long long)(m->file_seq + 1 - want), m->file_seq,
	     (unsigned long long)(want - have));
	return MPT_CAP_ESET;
}

/* Each file of a set (in @order) names its predecessor, which is there and ends as it says. */
static int check_links(const char *const *names, const struct mpt_cap_meta *const *meta,
		       const char *const *head, const int *order, int n,
		       void (*say)(const char *msg))
{
	int status = MPT_CAP_OK;

	for (int k = 0; k < n; k++) {
		const struct mpt_cap_meta *m = meta[order[k]];
		const char *name = names[order[k]];
		const struct mpt_cap_meta *p = k ? meta[order[k - 1]] : NULL;
		bool first = !p || strcmp(p->set_id, m->set_id);

		if (!m->set_id[0])
			continue; /* written before sets were chained (format 1.0) */
		if (!name_fits(name, m)) {
			ssay(say, "%s: holds file %u of its set: renamed or reordered", name,
			     m->file_seq);
			status = MPT_CAP_ESET;
		}
		if (first) {
			if (m->prev_file_seq >= 0 && !m->ring_files) {
				ssay(say,
				     "%s: file %u of its set; the files before it (from %lld) are "
				     "missing",
				     name, m->file_seq, (long long)m->prev_file_seq);
				status = MPT_CAP_ESET;
			}
			continue;
		}
		if (m->file_seq == p->file_seq) {
			ssay(say, "%s: file %u of its set again (%s holds it too): a repeated file",
			     name, m->file_seq, names[order[k - 1]]);
			status = MPT_CAP_ESET;
		} else if ((int64_t)m->prev_file_seq != (int64_t)p->file_seq) {
			char gap[64];

			if ((int64_t)p->file_seq + 1 == m->prev_file_seq)
				snprintf(gap, sizeof(gap), "file %lld is",
					 (long long)m->prev_file_seq);
			else
				snprintf(gap, sizeof(gap), "files %u to %lld are", p->file_seq + 1,
					 (long long)m->prev_file_seq);
			ssay(say, "%s: file %u of its set follows file %lld; %s missing", name,
			     m->file_seq, (long long)m->prev_file_seq, gap);
			status = MPT_CAP_ESET;
		} else if (strcmp(m->prev_file_hash, head[order[k - 1]])) {
			ssay(say,
			     "%s: does not continue %s: the previous file's last chain hash "
			     "differs (a file was substituted or altered)",
			     name, names[order[k - 1]]);
			status = MPT_CAP_ESET;
		}
	}
	return status;
}

int mpt_cap_check_set(const char *const *names, const struct mpt_cap_meta *const *meta,
		      const char *const *head, int n, void (*say)(const char *msg))
{
	int status = MPT_CAP_OK;
	int *order = calloc(n ? n : 1, sizeof(*order));

	if (!order) {
		say("out of memory");
		return MPT_CAP_EIO;
	}
	for (int i = 0; i < n; i++)
		order[i] = i;
	/* by set, then by fileSeq: insertion sort, sets are small */
	for (int i = 1; i < n; i++) {
		for (int j = i; j > 0; j--) {
			const struct mpt_cap_meta *a = meta[order[j - 1]], *b = meta[order[j]];
			int c = strcmp(a->set_id, b->set_id);

			if (c < 0 || (!c && a->file_seq <= b->file_seq))
				break;
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}
	status = mixed_sets(names, meta, n, say);
	/* a single file is checked as itself: which files should be beside it is not asked */
	for (int k = 0, from = 0; n > 1 && k < n; k++) {
		if (k + 1 < n && !strcmp(meta[order[k]]->set_id, meta[order[k + 1]]->set_id))
			continue;
		if (ring_short(names, meta, order, from, k, say))
			status = MPT_CAP_ESET;
		from = k + 1;
	}
	if (check_links(names, meta, head, order, n, say))
		status = MPT_CAP_ESET;
	free(order);
	return status;
}
