// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The capture writer: records buffered into blocks, each closed by a chain
 * record and written at once; never overwrites, never stops the trace.
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
#include "decode/decode.h"
#include "util/keyset.h"

/* ---- writer ----------------------------------------------------------------- */

struct carried_drop {
	uint64_t count, first_ns, last_ns;
};

struct mpt_cap_writer {
	struct mpt_cap_writer_opts opts;
	struct mpt_cap_meta meta;
	char set_id[33];
	char prev_hash[2 * MPT_CAP_HASH_LEN + 1];
	char *header_json;
	int fd;		     /* -1 between files, while a new one cannot be created */
	int lock_fd;	     /* a rotated set's lock */
	uint32_t seq;	     /* fileSeq of the current file */
	uint64_t file_bytes; /* whole blocks in the current file */
	unsigned char *buf;  /* records not yet written: one chain block */
	size_t len, cap;
	unsigned char prev[MPT_CAP_HASH_LEN];
	uint64_t blocks;
	/* this file's counts, for its END record */
	uint64_t events, drops, dropped;
	/* what the buffered block holds, lost with it if it cannot be written */
	uint64_t block_events, block_drops, block_dropped;
	struct carried_drop block_drop[MPT_CAP_DROP_NR];
	/* lost blocks' drop records and events, written once writing works again */
	struct carried_drop carry[MPT_CAP_DROP_NR];
	uint64_t lost;			   /* events lost since writing last worked */
	uint64_t lost_total;		   /* ... in all */
	uint64_t bytes_total, files_total; /* written, created: for the metrics */
	/* the newest clock record, written again if the block holding it is lost */
	bool clock_set, clock_in_block, clock_carried;
	uint64_t clock_boot_ns;
	int64_t clock_offset;
	int failing; /* errno of the current outage */
	bool sync_failing;
	bool created_any;
	char head_hex[2 * MPT_CAP_HASH_LEN + 1];
	char error[4400];
	/* processes this file holds a record of (tgid, start, image): open addressing, 0 empty */
	struct mpt_keyset procs;
};

static void wsay(struct mpt_cap_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void wsay(struct mpt_cap_writer *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->error, sizeof(w->error), fmt, ap);
	va_end(ap);
	if (w->opts.say)
		w->opts.say(w->error);
}

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
	put32(hdr + 8, mpt_cap_record_crc(hdr, hdr + MPT_CAP_REC_HDR_SIZE, len));
	w->len += MPT_CAP_REC_HDR_SIZE + len;
	return 0;
}

static int append(struct mpt_cap_writer *w, uint16_t type, const void *payload, uint32_t len)
{
	const struct piece pc = {payload, len};

	return append_pieces(w, type, &pc, 1);
}

/* Every event's argument table, from its descriptors: a capture describes itself. */
static json_t *events_json(void)
{
	json_t *events = json_array();
	const struct mpt_event_desc *d;

	for (unsigned int i = 0; (d = mpt_event_desc_at(i)); i++) {
		json_t *args = json_array();

		for (unsigned int k = 0; k < d->nargs; k++)
			json_array_append_new(
			    args, json_pack("{s:s,s:s,s:s}", "name", d->args[k].name, "type",
					    d->args[k].ctype, "tags", d->args[k].tags));
		json_array_append_new(events, json_pack("{s:s,s:i,s:o}", "name", d->name,
							"recordType", (int)d->type, "args", args));
	}
	return events;
}

static char *header_json(const struct mpt_cap_meta *m)
{
	json_t *root, *ev;
	char *s;

	ev = json_pack("{s:i,s:i,s:o}", "recordVersion", MPT_EVENT_VERSION, "headerSize",
		       (int)sizeof(struct mpt_rec_hdr), "events", events_json());
	root = json_pack(
	    "{s:s,s:i,s:i,s:s,s:s,s:s,s:s,s:I,s:s,s:i,s:s,s:i,s:I,s:s,s:I,s:s,s:i,s:o}", "format",
	    "mptrace-capture", "major", MPT_CAP_MAJOR, "minor", MPT_CAP_MINOR, "mptraceVersion",
	    m->mptrace_version, "hostName", m->hostname, "kernelRelease", m->kernel, "bootId",
	    m->boot_id, "bootToWallNs", (json_int_t)m->boot_to_wall_ns, "attachMode",
	    m->attach_mode, "arrayCap", (int)m->array_cap, "commandLine", m->command_line,
	    "fileSeq", (int)m->file_seq, "createdNs", (json_int_t)m->created_ns, "setId", m->set_id,
	    "prevFileSeq", (json_int_t)m->prev_file_seq, "prevFileHash", m->prev_file_hash,
	    "ringFiles", (int)m->ring_files, "event", ev);
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
		if (k == 0)
			return -ENOSPC;
		p += k;
		n -= k;
	}
	return 0;
}

/* What a lost block held is counted and its drop records carried to the next one. */
/* The processes recorded are this file's, and only those of blocks written or to be. */
static void forget_procs(struct mpt_cap_writer *w)
{
	mpt_keyset_clear(&w->procs);
}

static uint64_t proc_key(const struct mpt_proc_info *p)
{
	return (uint64_t)p->tgid * 0x9e3779b97f4a7c15ull ^ p->start_ns ^ (uint64_t)p->gen << 48;
}

/*
 * Is @p recorded in this file already? If not, remember that it now is.
 * With no room to remember, it is written again.
 */
static bool proc_seen(struct mpt_cap_writer *w, const struct mpt_proc_info *p)
{
	return mpt_keyset_add(&w->procs, proc_key(p)) == 1;
}

static void lose_block(struct mpt_cap_writer *w, size_t keep)
{
	/* the process records of a lost block go with it: written again when next named */
	forget_procs(w);
	w->lost += w->block_events;
	w->lost_total += w->block_events;
	w->clock_carried |= w->clock_in_block;
	w->events -= w->block_events;
	w->drops -= w->block_drops;
	w->dropped -= w->block_dropped;
	for (int k = 0; k < MPT_CAP_DROP_NR; k++) {
		struct carried_drop *c = &w->carry[k], *b = &w->block_drop[k];

		if (!b->count)
			continue;
		if (!c->count || b->first_ns < c->first_ns)
			c->first_ns = b->first_ns;
		if (b->last_ns > c->last_ns)
			c->last_ns = b->last_ns;
		c->count += b->count;
	}
	w->len = keep;
}

static int add_clock(struct mpt_cap_writer *w)
{
	unsigned char p[16];

	put64(p, w->clock_boot_ns);
	put64(p + 8, (uint64_t)w->clock_offset);
	return append(w, MPT_CAP_REC_CLOCK, p, sizeof(p));
}

/*
 * A block is written or lost: the next begins. A clock step that went with a
 * lost block opens it, before any event: the events after the step need the
 * new offset, and a reader applies a CLOCK record to what follows it.
 */
static void block_done(struct mpt_cap_writer *w)
{
	w->block_events = w->block_drops = w->block_dropped = 0;
	w->clock_in_block = false;
	memset(w->block_drop, 0, sizeof(w->block_drop));
	if (w->clock_carried && !w->len && !add_clock(w)) {
		w->clock_carried = false;
		w->clock_in_block = true;
	}
}

static int add_drop(struct mpt_cap_writer *w, uint32_t cause, uint32_t tgid, uint64_t count,
		    uint64_t first, uint64_t last)
{
	unsigned char p[32];
	int err;

	put32(p, cause);
	put32(p + 4, tgid);
	put64(p + 8, count);
	put64(p + 16, first);
	put64(p + 24, last);
	err = append(w, MPT_CAP_REC_DROP, p, sizeof(p));
	if (!err) {
		w->drops++;
		w->dropped += count;
	}
	return err;
}

static uint64_t boot_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void put_end(struct mpt_cap_writer *w, unsigned char end[32])
{
	put64(end, w->events);
	put64(end + 8, w->drops);
	put64(end + 16, w->dropped);
	put64(end + 24, 0);
}

/*
 * Write the buffered records as one block; with @end, the file's END record
 * closes it, after the drop records carried from failed blocks (so that
 * nothing follows the END, and its counts include them). A block that
 * cannot be written is cut off the file again (the file stays whole), its
 * events are counted as lost and its drop records carried; the first block
 * that can be written again says what was lost. A failed sync loses
 * nothing: the bytes are in.
 */
/* A block the disk refused: the file cut back to its last whole block, the failure said once. */
static void block_failed(struct mpt_cap_writer *w, int err, uint64_t now)
{
	if (ftruncate(w->fd, (off_t)w->file_bytes) ||
	    lseek(w->fd, (off_t)w->file_bytes, SEEK_SET) < 0)
		wsay(w, "cannot cut capture file %u back to its last whole block: %s", w->seq,
		     strerror(errno));
	lose_block(w, 0);
	if (w->failing != -err)
		wsay(w,
		     "writing the capture failed: %s; tracing goes on, counting the events "
		     "it cannot hold",
		     strerror(-err));
	if (!w->failing)
		w->carry[MPT_CAP_DROP_CAPTURE].first_ns = now;
	w->failing = -err;
	block_done(w);
}

static int flush_block(struct mpt_cap_writer *w, bool end)
{
	unsigned char end_rec[32];
	unsigned char chain[8 + 8 + MPT_CAP_HASH_LEN];
	unsigned char digest[MPT_CAP_HASH_LEN];
	uint64_t carried_drops = 0, carried_dropped = 0, now = boot_now();
	size_t block;
	int err = 0;

	if ((!w->len && !end) || w->fd < 0)
		return 0;
	if (w->clock_carried && !add_clock(w))
		w->clock_in_block = true;
	/* what earlier failures lost goes first into this block; kept until it is written */
	for (int k = 0; k < MPT_CAP_DROP_NR && !err; k++) {
		const struct carried_drop *c = &w->carry[k];

		/* carried losses are merged by cause: whose they were is not kept */
		if (c->count && !add_drop(w, k, 0, c->count, c->first_ns, c->last_ns))
			carried_drops++, carried_dropped += c->count;
	}
	if (w->lost && !add_drop(w, MPT_CAP_DROP_CAPTURE, 0, w->lost,
				 w->carry[MPT_CAP_DROP_CAPTURE].first_ns, now))
		carried_drops++, carried_dropped += w->lost;
	if (end) {
		put_end(w, end_rec);
		err = append(w, MPT_CAP_REC_END, end_rec, sizeof(end_rec));
	}
	block = w->len;
	err = err ?: mpt_cap_chain_digest(w->prev, w->buf, block, digest);
	if (!err) {
		put64(chain, w->blocks);
		put64(chain + 8, w->file_bytes + block);
		memcpy(chain + 16, digest, MPT_CAP_HASH_LEN);
		err = append(w, MPT_CAP_REC_CHAIN, chain, sizeof(chain));
	}
	err = err ?: write_all(w->fd, w->buf, w->len);
	if (err) {
		/* the carried records are still carried; the block's own are lost */
		w->drops -= carried_drops;
		w->dropped -= carried_dropped;
		block_failed(w, err, now);
		return err;
	}
	w->clock_carried = false;
	if (w->failing)
		wsay(w, "writing the capture works again; %llu events were lost meanwhile",
		     (unsigned long long)w->lost);
	w->failing = 0;
	w->lost = 0;
	memset(w->carry, 0, sizeof(w->carry));
	w->file_bytes += w->len;
	w->bytes_total += w->len;
	w->len = 0;
	memcpy(w->prev, digest, MPT_CAP_HASH_LEN);
	mpt_cap_hex(digest, MPT_CAP_HASH_LEN, w->head_hex);
	w->blocks++;
	block_done(w);
	if (w->opts.sync && fdatasync(w->fd)) {
		if (!w->sync_failing)
			wsay(w,
			     "syncing the capture failed: %s; the data is written, its "
			     "durability not confirmed",
			     strerror(errno));
		w->sync_failing = true;
	} else {
		w->sync_failing = false;
	}
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

/*
 * Start file w->seq: preamble and header are its block 0, with whatever is
 * buffered. A ring reuses the name of its oldest file; nothing else is ever
 * overwritten, and a symlink is never followed.
 */
static int open_file(struct mpt_cap_writer *w)
{
	unsigned char pre[MPT_CAP_PREAMBLE_SIZE];
	char name[4096];
	int err;

	file_name(w, w->seq, name, sizeof(name));
	if (w->opts.max_bytes && w->opts.max_files && unlink(name) && errno != ENOENT) {
		err = -errno;
		snprintf(w->error, sizeof(w->error), "cannot replace the oldest capture '%s': %s",
			 name, strerror(-err));
		return err;
	}
	/* captures hold other processes' addresses and names: owner only */
	w->fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	/* the file being written is locked too: the set's lock file can be deleted */
	if (w->fd >= 0)
		(void)flock(w->fd, LOCK_EX | LOCK_NB);
	if (w->fd < 0) {
		struct stat st;

		err = -errno;
		if (err == -EEXIST && !lstat(name, &st) && S_ISDIR(st.st_mode))
			err = -EISDIR;
		if (err == -EEXIST)
			snprintf(w->error, sizeof(w->error),
				 "capture '%s' already exists: mptrace never overwrites a capture; "
				 "name a new file, or use --capture-size to continue a rotated set",
				 name);
		else
			snprintf(w->error, sizeof(w->error), "cannot create capture '%s': %s", name,
				 strerror(-err));
		return err;
	}
	w->created_any = true;
	w->files_total++;
	/* exactly the mode asked for, whatever the umask */
	if (fchmod(w->fd, w->opts.group_read ? 0640 : 0600))
		wsay(w, "setting the mode of capture '%s' failed: %s", name, strerror(errno));
	memset(w->prev, 0, sizeof(w->prev));
	w->blocks = 0;
	w->file_bytes = 0;
	w->events = w->drops = w->dropped = 0;
	forget_procs(w);
	w->meta.file_seq = w->seq;
	w->meta.prev_file_hash = w->prev_hash;
	free(w->header_json);
	w->header_json = header_json(&w->meta);
	err = w->header_json ? reserve(w, sizeof(pre)) : -ENOMEM;
	if (!err) {
		memcpy(pre, MPT_CAP_MAGIC, 8);
		put16(pre + 8, MPT_CAP_MAJOR);
		put16(pre + 10, MPT_CAP_MINOR);
		put32(pre + 12, mpt_crc32(0, pre, 12));
		memmove(w->buf + sizeof(pre), w->buf, w->len);
		memcpy(w->buf, pre, sizeof(pre));
		w->len += sizeof(pre);
		err = append(w, MPT_CAP_REC_HEADER, w->header_json, strlen(w->header_json));
		if (err)
			w->len -= sizeof(pre);
	}
	/* records that were waiting for this file move over; a header that cannot go in does not */
	if (!err)
		err = flush_block(w, false);
	if (err) {
		char why[4400];

		snprintf(why, sizeof(why), "cannot write capture '%s': %s", name, strerror(-err));
		memcpy(w->error, why, sizeof(why));
		close(w->fd);
		w->fd = -1;
		unlink(name);
	}
	return err;
}

static int end_file(struct mpt_cap_writer *w)
{
	int err = flush_block(w, true);

	if (err)
		return err;
	if (w->opts.sync && fsync(w->fd) && !w->sync_failing)
		wsay(w, "syncing the capture failed: %s", strerror(errno));
	close(w->fd);
	w->fd = -1;
	memcpy(w->prev_hash, w->head_hex, sizeof(w->prev_hash));
	w->meta.prev_file_seq = w->seq;
	return 0;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* The set's newest file by its header's fileSeq: where a restart continues. */
struct newest {
	char path[8300]; /* the newest file's name */
	bool found;
	bool moved_aside; /* a member that could not be read was moved out of the set */
	uint32_t seq, max_index;
	char set_id[33];
	char head[2 * MPT_CAP_HASH_LEN + 1];
};

/* A file of the set, its header read: 0, or -1 when it is not a readable capture. */
static int open_member(const char *name, FILE **f, struct mpt_cap_reader **r)
{
	char err[256];
	struct stat st;
	int fd = open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	*f = NULL;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !(*f = fdopen(fd, "r"))) {
		close(fd);
		return -1;
	}
	if (mpt_cap_reader_open(*f, r, err, sizeof(err))) {
		fclose(*f);
		*f = NULL;
		return -1;
	}
	return 0;
}

/*
 * A file of the set whose header cannot be read (damaged, or a newer format)
 * is evidence all the same: it must not be taken for the oldest file and
 * replaced. Moved out of the set's names (FILE.N.unreadable.TIME), and said.
 */
static void move_aside(struct mpt_cap_writer *w, const char *full, struct newest *nw)
{
	char to[8400];
	struct stat st;

	if (lstat(full, &st) || !S_ISREG(st.st_mode))
		return;
	snprintf(to, sizeof(to), "%s.unreadable.%lld", full, (long long)time(NULL));
	if (rename(full, to)) {
		wsay(w, "capture '%s' cannot be read as a capture, and moving it aside failed: %s",
		     full, strerror(errno));
		return;
	}
	nw->moved_aside = true;
	wsay(w, "capture '%s' cannot be read as a capture: kept as '%s'; a new set begins", full,
	     to);
}

/*
 * The set's newest file by its header's fileSeq (headers only), then that
 * one read whole for its last chain hash: where a restart continues.
 */
static void find_newest(struct mpt_cap_writer *w, const char *path, struct newest *nw)
{
	char dir[4096], best[8300] = "", *slash;
	struct mpt_cap_reader *r;
	struct mpt_cap_item it;
	const char *base;
	struct dirent *de;
	FILE *f;
	DIR *d;

	memset(nw, 0, sizeof(*nw));
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	base = slash ? path + (slash - dir) + 1 : path;
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(base);
		char full[8300], *end;
		unsigned long idx;

		if (strncmp(de->d_name, base, n) || de->d_name[n] != '.' ||
		    !isdigit((unsigned char)de->d_name[n + 1]))
			continue;
		idx = strtoul(de->d_name + n + 1, &end, 10);
		if (*end || idx > UINT32_MAX)
			continue;
		if (idx + 1 > nw->max_index)
			nw->max_index = idx + 1;
		snprintf(full, sizeof(full), "%s/%s", dir, de->d_name);
		if (open_member(full, &f, &r)) {
			move_aside(w, full, nw);
			continue;
		}
		if (!nw->found || mpt_cap_reader_meta(r)->file_seq >= nw->seq) {
			nw->found = true;
			nw->seq = mpt_cap_reader_meta(r)->file_seq;
			snprintf(best, sizeof(best), "%s", full);
		}
		mpt_cap_reader_free(r);
		fclose(f);
	}
	closedir(d);
	if (!nw->found || open_member(best, &f, &r))
		return;
	snprintf(nw->path, sizeof(nw->path), "%s", best);
	snprintf(nw->set_id, sizeof(nw->set_id), "%s", mpt_cap_reader_meta(r)->set_id);
	/* as far as it is intact: a writer killed mid-block left a torn tail */
	while (mpt_cap_next(r, &it) > 0)
		;
	mpt_cap_reader_chain_head(r, nw->head);
	mpt_cap_reader_free(r);
	fclose(f);
}

static void new_set_id(char *out)
{
	unsigned char b[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;
	uint64_t t = boot_now() ^ ((uint64_t)getpid() << 32);

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = t >> (8 * (i % 8)) ^ i;
	mpt_cap_hex(b, sizeof(b), out);
}

/* Is the set's newest file locked by the mptrace writing it? */
static bool newest_in_use(const struct newest *nw)
{
	int fd = open(nw->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	bool busy;

	if (fd < 0)
		return false;
	busy = flock(fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

/* A rotated set has one writer: a second mptrace would interleave its files. */
static int lock_set(struct mpt_cap_writer *w)
{
	char name[4200], pid[32] = "";
	ssize_t n;

	const char *slash = strrchr(w->opts.path, '/');

	/* hidden, so that FILE.* names the set's captures and nothing else */
	if (slash)
		snprintf(name, sizeof(name), "%.*s/.%s.lock", (int)(slash - w->opts.path),
			 w->opts.path, slash + 1);
	else
		snprintf(name, sizeof(name), ".%s.lock", w->opts.path);
	w->lock_fd = open(name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (w->lock_fd < 0) {
		snprintf(w->error, sizeof(w->error), "cannot create the capture lock '%s': %s",
			 name, strerror(errno));
		return -errno;
	}
	if (flock(w->lock_fd, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		n = pread(w->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(w->error, sizeof(w->error),
			 err == -EWOULDBLOCK
			     ? "capture '%s' is being written by another mptrace%s%s"
			     : "cannot lock capture '%s'%s%s",
			 w->opts.path, pid[0] ? " (pid " : "", pid[0] ? pid : "");
		if (pid[0])
			strncat(w->error, ")", sizeof(w->error) - strlen(w->error) - 1);
		return err == -EWOULDBLOCK ? -EBUSY : err;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	/* the pid is a courtesy for the message above: failing to write it is no error */
	if (ftruncate(w->lock_fd, 0) == 0)
		n = pwrite(w->lock_fd, pid, n, 0);
	return 0;
}

int mpt_cap_writer_open(const struct mpt_cap_writer_opts *o, const struct mpt_cap_meta *meta,
			struct mpt_cap_writer **out, char *err, size_t len)
{
	struct mpt_cap_writer *w = calloc(1, sizeof(*w));
	int rc = 0;

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
	w->meta.prev_file_seq = -1;
	w->meta.ring_files = o->max_bytes ? o->max_files : 0;
	w->meta.set_id = w->set_id;
	w->fd = w->lock_fd = -1;
	new_set_id(w->set_id);
	if (o->max_bytes) {
		struct newest nw;

		rc = lock_set(w);
		if (!rc) {
			/* a restart continues the set: the next fileSeq, chained to the newest */
			find_newest(w, o->path, &nw);
			if (nw.found && newest_in_use(&nw)) {
				snprintf(
				    w->error, sizeof(w->error),
				    "capture '%s' is being written by another mptrace (%.2000s is "
				    "locked; the set's lock file was removed)",
				    o->path, nw.path);
				rc = -EBUSY;
			}
			/* with a member moved aside the chain is broken: a new set, numbered on */
			if (nw.moved_aside) {
				w->seq = nw.max_index > nw.seq + 1 ? nw.max_index : nw.seq + 1;
			} else if (nw.found) {
				w->seq = nw.seq + 1;
				w->meta.prev_file_seq = nw.seq;
				memcpy(w->prev_hash, nw.head, sizeof(w->prev_hash));
				if (nw.set_id[0])
					memcpy(w->set_id, nw.set_id, sizeof(w->set_id));
			}
			if (!o->max_files && nw.max_index > w->seq)
				w->seq = nw.max_index;
		}
	}
	rc = rc ?: open_file(w);
	if (rc) {
		snprintf(err, len, "%s", w->error[0] ? w->error : strerror(-rc));
		mpt_cap_writer_close(w, NULL, NULL);
		return rc;
	}
	*out = w;
	return 0;
}

/* A process record, once per file, before the first event that names the process. */
static void write_proc(void *ctx, const struct mpt_proc_info *p)
{
	struct mpt_cap_writer *w = ctx;
	unsigned char rec[MPT_CAP_PROC_MAX];

	if (!proc_seen(w, p))
		append(w, MPT_CAP_REC_PROCESS, rec, mpt_cap_proc_encode(p, rec));
}

int mpt_cap_write_event(struct mpt_cap_writer *w, const struct mpt_view *v)
{
	const struct mpt_lineage_view *l = v->enrich ? v->enrich->lineage : NULL;
	unsigned char tail[MPT_CAP_EVENT_STRINGS_MAX], head[4];
	uint32_t klen = v->raw_size, tlen = mpt_cap_encode_strings(v->enrich, tail);
	int err;

	mpt_cap_lineage_each(l, write_proc, w);
	put32(head, klen);
	/* one record, one CRC: the kernel record's length, the record, the strings */
	err = append_pieces(w, MPT_CAP_REC_EVENT,
			    (const struct piece[]){{head, 4}, {v->raw, klen}, {tail, tlen}}, 3);
	if (err) {
		w->lost++;
		w->lost_total++;
		return err;
	}
	w->events++;
	w->block_events++;
	return w->len >= FLUSH_BYTES ? mpt_cap_flush(w) : -w->failing;
}

int mpt_cap_write_drop(struct mpt_cap_writer *w, uint32_t cause, uint32_t tgid, uint64_t count,
		       uint64_t ts_first, uint64_t ts_last)
{
	struct carried_drop *b = &w->block_drop[cause < MPT_CAP_DROP_NR ? cause : 0];
	int err = add_drop(w, cause, tgid, count, ts_first, ts_last);

	if (err)
		return err;
	w->block_drops++;
	w->block_dropped += count;
	if (cause < MPT_CAP_DROP_NR) {
		if (!b->count || ts_first < b->first_ns)
			b->first_ns = ts_first;
		if (ts_last > b->last_ns)
			b->last_ns = ts_last;
		b->count += count;
	}
	return 0;
}

int mpt_cap_write_clock(struct mpt_cap_writer *w, uint64_t boot_ns, int64_t boot_to_wall_ns)
{
	int err;

	w->clock_set = true;
	w->clock_boot_ns = boot_ns;
	w->clock_offset = boot_to_wall_ns;
	/* a file started later says it in its header */
	w->meta.boot_to_wall_ns = boot_to_wall_ns;
	err = add_clock(w);
	if (err)
		w->clock_carried = true;
	else
		w->clock_in_block = true;
	return err;
}

int mpt_cap_flush(struct mpt_cap_writer *w)
{
	int err;

	if (w->fd < 0) {
		/* between files: the next one could not be created; try again */
		err = open_file(w);
		if (err) {
			lose_block(w, 0);
			block_done(w);
			if (w->failing != -err)
				wsay(w, "%s; tracing goes on, counting the events it cannot hold",
				     w->error);
			w->failing = -err;
			return err;
		}
		return 0;
	}
	err = flush_block(w, false);
	if (err)
		return err;
	if (w->opts.max_bytes && w->file_bytes >= w->opts.max_bytes) {
		/* a file whose END cannot be written stays open and whole; rotation retries */
		err = end_file(w);
		if (!err) {
			w->seq++;
			err = open_file(w);
			if (err) {
				if (w->failing != -err)
					wsay(w,
					     "%s; tracing goes on, counting the events it cannot "
					     "hold",
					     w->error);
				w->failing = -err;
			}
		}
	}
	return err;
}

void mpt_cap_writer_counts(const struct mpt_cap_writer *w, uint64_t *bytes, uint64_t *files)
{
	*bytes = w ? w->bytes_total : 0;
	*files = w ? w->files_total : 0;
}

uint64_t mpt_cap_writer_lost(const struct mpt_cap_writer *w)
{
	return w->lost_total;
}

static void writer_free(struct mpt_cap_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	free(w->buf);
	free(w->header_json);
	mpt_keyset_free(&w->procs);
	free((char *)w->opts.path);
	free((char *)w->meta.mptrace_version);
	free((char *)w->meta.hostname);
	free((char *)w->meta.kernel);
	free((char *)w->meta.boot_id);
	free((char *)w->meta.attach_mode);
	free((char *)w->meta.command_line);
	free(w);
}

int mpt_cap_writer_close(struct mpt_cap_writer *w, char *head, uint64_t *lost)
{
	int err = 0;

	if (lost)
		*lost = 0;
	if (!w)
		return 0;
	if (w->fd < 0 && (w->len || w->lost) && w->created_any)
		err = mpt_cap_flush(w);
	if (w->fd >= 0)
		err = end_file(w);
	if (!err && w->lost_total)
		err = -EIO;
	if (lost)
		*lost = w->lost_total;
	if (head)
		memcpy(head, w->head_hex, sizeof(w->head_hex));
	writer_free(w);
	return err;
}

void mpt_cap_writer_discard(struct mpt_cap_writer *w)
{
	char name[4096];

	if (!w)
		return;
	file_name(w, w->seq, name, sizeof(name));
	/* only a file that holds nothing but its header */
	if (w->fd >= 0 && w->blocks <= 1 && !w->events && !w->len)
		unlink(name);
	writer_free(w);
}

const char *mpt_cap_chain_head(const struct mpt_cap_writer *w)
{
	return w->head_hex;
}

const char *mpt_cap_writer_error(const struct mpt_cap_writer *w)
{
	return w->error;
}
