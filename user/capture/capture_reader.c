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
#include <pthread.h>
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

#define ERROR_LEN 512

/*
 * Reading and checking: the records since the last chain record, as they
 * are in the file from @block_off, until a chain record vouches for them
 * (@verified bytes). Items start at @start: block 0 begins with the preamble
 * and the header.
 */
struct scan {
	FILE *f;
	uint64_t off;  /* of the next record to read */
	uint64_t fpos; /* where the FILE stands; UINT64_MAX: not known */
	unsigned char *block;
	size_t block_len, block_cap, verified, start;
	uint64_t block_off;
	unsigned char prev[MPT_CAP_HASH_LEN];
	bool after_end;
	/* records, unknown, chain_blocks and ended; items count the rest as they go out */
	struct mpt_cap_counts counts;
	volatile int *stop;
	bool follow;
	bool (*keep_waiting)(void *ctx); /* NULL: until *stop */
	void *wait_ctx;
	int status; /* of the last block: 1 verified, 0 the end, or a negative status */
	char error[ERROR_LEN];
};

/*
 * Reading ahead: a thread reads and checks the next blocks while the caller
 * takes the items of this one, so the reads, the CRCs and SHA-256 are off
 * its path. Each block goes over with the scan's state as of its end, in the
 * order of the file, so items, damage and counts come out as they would
 * without the thread. Either side sleeps only on an empty or full ring, and
 * is woken when it is half full or half empty: a wakeup a block would cost
 * more than the reading saves.
 */
#define AHEAD_BLOCKS 8
#define AHEAD_BYTES (8u << 20) /* at most this much read ahead, whatever the blocks' size */
#define AHEAD_KEEP (1u << 20)  /* a larger buffer is freed once read */
/* readers with a thread at once: replay opens every file of a set */
#define AHEAD_READERS 16

static int ahead_readers;

struct ahead {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	struct scan s;			/* the thread's, reading into s.block */
	struct scan ring[AHEAD_BLOCKS]; /* each owns its block's buffer */
	unsigned head, tail;		/* blocks read; taken (the caller holds the tail's) */
	size_t queued;			/* bytes in the ring */
	bool quit, want_more, want_room;
};

struct mpt_cap_reader {
	/* the block being handed out; without a thread, also the one reading */
	struct scan s;
	struct ahead *ahead;
	bool ahead_tried, holding;
	bool handed_out; /* an item: the caller reads this file now, not only its first record */
	size_t deliver;	 /* the next record to hand out, in s.block */
	int minor;
	json_t *header;
	struct mpt_cap_meta meta;
	struct mpt_cap_counts counts;
	struct mpt_cap_event_buf ev;
	/* the processes this file's PROCESS records named, for its events' lineage */
	struct mpt_lineage *lineage;
	struct mpt_cap_proc proc;
	char error[ERROR_LEN];
};

/* @fmt into @error (an ERROR_LEN buffer, the reader's or a scan's): -@status. */
static int fail(char *error, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *error, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error, ERROR_LEN, fmt, ap);
	va_end(ap);
	return -status;
}

/* Following: wait for more at the end, until told to stop or the caller gives up. */
static bool keep_following(const struct scan *s)
{
	if (!s->follow || (s->stop && *s->stop))
		return false;
	return !s->keep_waiting || s->keep_waiting(s->wait_ctx);
}

/*
 * Read exactly @n bytes at @at into the block's end. 1: done; 0: the file
 * ends first (after waiting, when following); -1: a read error.
 */
static int read_exact(struct scan *s, unsigned char *p, size_t n, uint64_t at)
{
	for (;;) {
		size_t got;

		/* records are read in order: seek (which drops stdio's buffer) only when not there
		 */
		if (at != s->fpos && fseeko(s->f, (off_t)at, SEEK_SET)) {
			s->fpos = UINT64_MAX;
			return -1;
		}
		/* the FILE is the reader's alone: stdio's lock would cost more than the copy */
		got = fread_unlocked(p, 1, n, s->f);
		s->fpos = got == n ? at + n : UINT64_MAX;
		if (got == n)
			return 1;
		if (ferror_unlocked(s->f))
			return -1;
		if (!keep_following(s))
			return 0;
		clearerr_unlocked(s->f);
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
		return fail(r->error, MPT_CAP_EDAMAGED, "the header is not valid JSON: %s",
			    jerr.text);
	if (strcmp(jstr(h, "format"), "mptrace-capture")) {
		json_decref(h);
		return fail(r->error, MPT_CAP_ENOTCAP,
			    "the header does not describe an mptrace capture");
	}
	ev = json_object_get(h, "event");
	rv = json_integer_value(json_object_get(ev, "recordVersion"));
	/* older records read as newer ones whose new fields are zero (decode.c) */
	if (rv < MPT_EVENT_VERSION_MIN || rv > MPT_EVENT_VERSION) {
		json_decref(h);
		return fail(r->error, MPT_CAP_EVERSION,
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
static int read_record(struct scan *s, uint32_t *plen)
{
	unsigned char *hdr;
	uint32_t len;
	int rc;

	if (mpt_cap_grow(&s->block, &s->block_cap, s->block_len + MPT_CAP_REC_HDR_SIZE))
		return fail(s->error, MPT_CAP_EIO, "out of memory");
	hdr = s->block + s->block_len;
	rc = read_exact(s, hdr, MPT_CAP_REC_HDR_SIZE, s->off);
	if (rc < 0)
		return fail(s->error, MPT_CAP_EIO, "reading at offset %llu: %s",
			    (unsigned long long)s->off, strerror(errno));
	if (rc == 0) {
		long got;

		fseeko(s->f, 0, SEEK_END);
		s->fpos = UINT64_MAX;
		got = (long)(ftello(s->f) - (off_t)s->off);
		if (got <= 0)
			return 0;
		return fail(s->error, MPT_CAP_EDAMAGED,
			    "torn tail at offset %llu: %ld bytes of an incomplete record ignored",
			    (unsigned long long)s->off, got);
	}
	len = get32(hdr + 4);
	if (len > MPT_CAP_MAX_PAYLOAD)
		return fail(s->error, MPT_CAP_EDAMAGED,
			    "impossible record length %u at offset %llu (at most %u)", len,
			    (unsigned long long)s->off, MPT_CAP_MAX_PAYLOAD);
	if (s->block_len + MPT_CAP_REC_HDR_SIZE + len > MPT_CAP_MAX_BLOCK)
		return fail(s->error, MPT_CAP_EDAMAGED,
			    "no chain record within %u bytes at offset %llu: not what mptrace "
			    "writes",
			    MPT_CAP_MAX_BLOCK, (unsigned long long)s->block_off);
	if (mpt_cap_grow(&s->block, &s->block_cap, s->block_len + MPT_CAP_REC_HDR_SIZE + len))
		return fail(s->error, MPT_CAP_EIO, "out of memory");
	hdr = s->block + s->block_len;
	rc = read_exact(s, hdr + MPT_CAP_REC_HDR_SIZE, len, s->off + MPT_CAP_REC_HDR_SIZE);
	if (rc < 0)
		return fail(s->error, MPT_CAP_EIO, "reading at offset %llu: %s",
			    (unsigned long long)s->off, strerror(errno));
	if (rc == 0)
		return fail(s->error, MPT_CAP_EDAMAGED,
			    "torn tail at offset %llu: a record of %u bytes is cut short",
			    (unsigned long long)s->off, len);
	if (CHECKSUMS_ENFORCED &&
	    mpt_cap_record_crc(hdr, hdr + MPT_CAP_REC_HDR_SIZE, len) != get32(hdr + 8))
		return fail(s->error, MPT_CAP_EDAMAGED, "bad checksum in the record at offset %llu",
			    (unsigned long long)s->off);
	*plen = len;
	return get16(hdr) ? get16(hdr)
			  : fail(s->error, MPT_CAP_EDAMAGED, "record type 0 at offset %llu",
				 (unsigned long long)s->off);
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
	struct scan *s;
	uint32_t plen;
	int rc;

	*out = NULL;
	if (!r) {
		snprintf(err, len, "out of memory");
		return MPT_CAP_EIO;
	}
	s = &r->s;
	s->f = f;
	s->fpos = UINT64_MAX;
	rc = read_exact(s, pre, sizeof(pre), 0);
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
	if (mpt_cap_grow(&s->block, &s->block_cap, sizeof(pre))) {
		snprintf(err, len, "out of memory");
		mpt_cap_reader_free(r);
		return MPT_CAP_EIO;
	}
	memcpy(s->block, pre, sizeof(pre));
	s->block_len = s->off = sizeof(pre);
	rc = read_record(s, &plen);
	if (rc < 0)
		snprintf(r->error, sizeof(r->error), "%s", s->error);
	else if (rc == MPT_CAP_REC_HEADER)
		rc = parse_header(r, s->block + s->block_len + MPT_CAP_REC_HDR_SIZE, plen);
	else
		rc = fail(r->error, MPT_CAP_EDAMAGED, "the first record is not the header");
	if (rc < 0) {
		snprintf(err, len, "%s", r->error);
		mpt_cap_reader_free(r);
		return -rc;
	}
	s->block_len += MPT_CAP_REC_HDR_SIZE + plen;
	s->off = s->block_len;
	/* the preamble and the header are in block 0 but are not items */
	s->start = r->deliver = s->block_len;
	s->counts.records = r->counts.records = 1;
	*out = r;
	return MPT_CAP_OK;
}

static int check_chain(struct scan *s, const unsigned char *p, uint32_t len)
{
	unsigned char digest[MPT_CAP_HASH_LEN];

	if (len < 16 + MPT_CAP_HASH_LEN)
		return fail(s->error, MPT_CAP_EDAMAGED, "short chain record at offset %llu",
			    (unsigned long long)s->off);
	if (mpt_cap_chain_digest(s->prev, s->block, s->block_len, digest))
		return fail(s->error, MPT_CAP_EIO, "computing SHA-256 failed");
	if (CHECKSUMS_ENFORCED && (get64(p) != s->counts.chain_blocks || get64(p + 8) != s->off ||
				   memcmp(digest, p + 16, MPT_CAP_HASH_LEN)))
		return fail(s->error, MPT_CAP_ETAMPERED,
			    "hash chain breaks at block %llu (chain record at offset %llu): the "
			    "bytes before it were changed",
			    (unsigned long long)s->counts.chain_blocks, (unsigned long long)s->off);
	memcpy(s->prev, digest, MPT_CAP_HASH_LEN);
	s->counts.chain_blocks++;
	return 0;
}

static int decode_event(struct mpt_cap_reader *r, const unsigned char *p, uint32_t len,
			struct mpt_cap_item *it)
{
	const char *why;

	if (mpt_cap_event_decode(&r->ev, p, len, it, &why))
		return fail(r->error, MPT_CAP_EDAMAGED, "event record at offset %llu: %s",
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
		return fail(r->error, MPT_CAP_EDAMAGED, "short end record at offset %llu",
			    (unsigned long long)at);
	if (r->minor < 1)
		return 0;
	if (get64(p) != c->events || get64(p + 8) != c->drop_records || get64(p + 16) != c->dropped)
		return fail(r->error, MPT_CAP_ETAMPERED,
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
	const unsigned char *hdr = r->s.block + r->deliver;
	uint32_t len = get32(hdr + 4);
	const unsigned char *p = hdr + MPT_CAP_REC_HDR_SIZE;
	int type = get16(hdr), rc = 0;

	memset(it, 0, sizeof(*it));
	it->type = type;
	it->offset = r->s.block_off + r->deliver;
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
			return fail(r->error, MPT_CAP_EDAMAGED, "short drop record at offset %llu",
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
			return fail(r->error, MPT_CAP_EDAMAGED, "short clock record at offset %llu",
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
			return fail(r->error, MPT_CAP_EDAMAGED,
				    "process record at offset %llu: bad length",
				    (unsigned long long)it->offset);
		r->counts.processes++;
		return 0;
	default:
		return 0; /* a newer minor's record: skipped by its length */
	}
}

/* The records up to the next chain record, checked: 1 (s->verified), or < 0. */
static int scan_block(struct scan *s)
{
	for (;;) {
		uint32_t len = 0;
		int type, rc;

		type = read_record(s, &len);
		if (type < 0)
			return type;
		if (type == 0) {
			if (keep_following(s)) {
				usleep(100 * 1000);
				continue;
			}
			return fail(
			    s->error, MPT_CAP_EDAMAGED,
			    "the capture was not closed (the writer stopped at offset %llu%s)",
			    (unsigned long long)s->off,
			    s->block_len > s->start
				? "; the records after the last chain record are not "
				  "vouched for and were not read"
				: "");
		}
		if (type == MPT_CAP_REC_CHAIN) {
			rc = check_chain(s, s->block + s->block_len + MPT_CAP_REC_HDR_SIZE, len);
			if (rc)
				return rc;
			s->verified = s->block_len;
			s->off += MPT_CAP_REC_HDR_SIZE + len;
			s->counts.records++;
			if (s->after_end)
				s->counts.ended = true;
			return 1;
		}
		if (s->after_end)
			return fail(s->error, MPT_CAP_EDAMAGED,
				    "data after the end of the capture at offset %llu",
				    (unsigned long long)s->off);
		if (type == MPT_CAP_REC_HEADER)
			return fail(s->error, MPT_CAP_EDAMAGED, "a second header at offset %llu",
				    (unsigned long long)s->off);
		if (type == MPT_CAP_REC_END)
			s->after_end = true;
		else if (type != MPT_CAP_REC_EVENT && type != MPT_CAP_REC_DROP &&
			 type != MPT_CAP_REC_CLOCK && type != MPT_CAP_REC_PROCESS)
			s->counts.unknown++;
		s->block_len += MPT_CAP_REC_HDR_SIZE + len;
		s->off += MPT_CAP_REC_HDR_SIZE + len;
		s->counts.records++;
	}
}

/* The next block: 1 (verified), 0 after the file's end, or < 0; kept in s->status. */
static int next_block(struct scan *s)
{
	if (s->verified) {
		/* the block is out: the next one starts after its chain record */
		s->block_off = s->off;
		s->block_len = s->verified = s->start = 0;
	}
	s->status = s->counts.ended ? 0 : scan_block(s);
	return s->status;
}

static bool ring_full(const struct ahead *a)
{
	return a->head - a->tail == AHEAD_BLOCKS ||
	       (a->head != a->tail && a->queued >= AHEAD_BYTES);
}

/*
 * A copy of the block just read into its slot: the thread reads on in a
 * buffer the caller never touches. Handing the buffer itself over costs more
 * than the copy: the thread's next writes to it would have to take its cache
 * lines back from the caller's CPU. 0, or -1 out of memory (said in the slot).
 */
static int ring_fill(struct scan *slot, const struct scan *s)
{
	unsigned char *buf = slot->block;
	size_t cap = slot->block_cap;
	int rc = 0;

	if (cap > AHEAD_KEEP && s->verified <= AHEAD_KEEP) {
		free(buf);
		buf = NULL;
		cap = 0;
	}
	*slot = *s;
	if (mpt_cap_grow(&buf, &cap, s->verified)) {
		slot->verified = 0;
		rc = slot->status = fail(slot->error, MPT_CAP_EIO, "out of memory");
	} else if (s->verified) {
		memcpy(buf, s->block, s->verified);
	}
	slot->block = buf;
	slot->block_cap = cap;
	return rc;
}

/* Wait for room in the ring: false when told to quit. */
static bool wait_room(struct ahead *a)
{
	bool go;

	pthread_mutex_lock(&a->mu);
	while (!a->quit && ring_full(a)) {
		a->want_room = true;
		pthread_cond_wait(&a->room, &a->mu);
	}
	a->want_room = false;
	go = !a->quit;
	pthread_mutex_unlock(&a->mu);
	return go;
}

static void *read_ahead(void *arg)
{
	struct ahead *a = arg;
	int rc;

	do {
		rc = next_block(&a->s);
		if (!wait_room(a))
			break;
		/* the slot at the head is this thread's until the head moves past it */
		if (ring_fill(&a->ring[a->head % AHEAD_BLOCKS], &a->s))
			rc = -1;
		pthread_mutex_lock(&a->mu);
		a->queued += a->ring[a->head % AHEAD_BLOCKS].verified;
		a->head++;
		if (a->want_more && (rc <= 0 || a->head - a->tail >= AHEAD_BLOCKS / 2 ||
				     a->queued >= AHEAD_BYTES / 2))
			pthread_cond_signal(&a->more);
		pthread_mutex_unlock(&a->mu);
	} while (rc > 0);
	return NULL;
}

/*
 * A thread to read ahead, for a regular file not followed: a pipe could
 * block it past the reader's end, and a followed file's wait calls back
 * into the caller. It starts once the caller wants a second block: replay
 * reads the first record of every file it merges, and most wait their turn.
 * Without one (too many readers, or none could be made), the caller reads.
 */
static void start_ahead(struct mpt_cap_reader *r)
{
	struct ahead *a;
	struct stat st;
	int fd = fileno(r->s.f);

	r->ahead_tried = true;
	if (r->s.follow || fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode))
		return;
	if (__atomic_add_fetch(&ahead_readers, 1, __ATOMIC_RELAXED) > AHEAD_READERS ||
	    !(a = calloc(1, sizeof(*a)))) {
		__atomic_sub_fetch(&ahead_readers, 1, __ATOMIC_RELAXED);
		return;
	}
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->more, NULL);
	pthread_cond_init(&a->room, NULL);
	a->s = r->s;
	if (pthread_create(&a->thread, NULL, read_ahead, a)) {
		pthread_mutex_destroy(&a->mu);
		pthread_cond_destroy(&a->more);
		pthread_cond_destroy(&a->room);
		free(a);
		__atomic_sub_fetch(&ahead_readers, 1, __ATOMIC_RELAXED);
		return;
	}
	/* the block buffer is the thread's now */
	r->s.block = NULL;
	r->s.block_cap = 0;
	r->ahead = a;
}

/* The thread's next block: its status, with r->s as the thread had it at its end. */
static int take_block(struct mpt_cap_reader *r)
{
	struct ahead *a = r->ahead;

	/* the block taken last was the thread's last: the same answer again */
	if (r->holding && r->s.status <= 0)
		return r->s.status;
	pthread_mutex_lock(&a->mu);
	if (r->holding) {
		/* the block handed out last is read: its slot is the thread's again */
		a->queued -= a->ring[a->tail % AHEAD_BLOCKS].verified;
		a->tail++;
		if (a->want_room && a->head - a->tail <= AHEAD_BLOCKS / 2 &&
		    a->queued < AHEAD_BYTES / 2)
			pthread_cond_signal(&a->room);
	}
	while (a->head == a->tail) {
		a->want_more = true;
		pthread_cond_wait(&a->more, &a->mu);
	}
	a->want_more = false;
	r->s = a->ring[a->tail % AHEAD_BLOCKS];
	r->holding = true;
	pthread_mutex_unlock(&a->mu);
	return r->s.status;
}

int mpt_cap_next(struct mpt_cap_reader *r, struct mpt_cap_item *it)
{
	for (;;) {
		struct mpt_cap_counts *c = &r->counts;
		int rc;

		if (r->deliver < r->s.verified) {
			rc = deliver(r, it);
			r->handed_out |= rc > 0;
			if (rc)
				return rc;
			continue;
		}
		if (!r->ahead_tried && r->handed_out)
			start_ahead(r);
		rc = r->ahead ? take_block(r) : next_block(&r->s);
		c->records = r->s.counts.records;
		c->unknown = r->s.counts.unknown;
		c->chain_blocks = r->s.counts.chain_blocks;
		c->ended = r->s.counts.ended;
		if (rc < 0)
			snprintf(r->error, sizeof(r->error), "%s", r->s.error);
		if (rc <= 0)
			return rc;
		r->deliver = r->s.start;
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
	r->s.follow = true;
	r->s.stop = stop;
}

void mpt_cap_reader_follow_while(struct mpt_cap_reader *r, volatile int *stop,
				 bool (*keep_waiting)(void *ctx), void *ctx)
{
	mpt_cap_reader_follow(r, stop);
	r->s.keep_waiting = keep_waiting;
	r->s.wait_ctx = ctx;
}

/* The thread stopped, and every buffer it and the ring held freed. */
static void stop_ahead(struct ahead *a)
{
	pthread_mutex_lock(&a->mu);
	a->quit = true;
	pthread_cond_signal(&a->room);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	free(a->s.block);
	for (int i = 0; i < AHEAD_BLOCKS; i++)
		free(a->ring[i].block);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->more);
	pthread_cond_destroy(&a->room);
	free(a);
	__atomic_sub_fetch(&ahead_readers, 1, __ATOMIC_RELAXED);
}

void mpt_cap_reader_free(struct mpt_cap_reader *r)
{
	if (!r)
		return;
	if (r->ahead)
		stop_ahead(r->ahead);
	else
		free(r->s.block); /* with a thread, a buffer of its ring */
	json_decref(r->header);
	mpt_cap_event_buf_free(&r->ev);
	mpt_lineage_free(r->lineage);
	free(r);
}

void mpt_cap_reader_chain_head(const struct mpt_cap_reader *r, char *out)
{
	mpt_cap_hex(r->s.prev, MPT_CAP_HASH_LEN, out);
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
