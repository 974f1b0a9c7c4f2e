// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mptrace ship: the capture is the spool. It is read record by record and
 * each record published asynchronously, with a Nats-Msg-Id made of the
 * capture set's id, the file's number and the record's offset: the same after
 * any restart, so JetStream's duplicate window drops what is sent twice. The
 * state file moves only over records acknowledged without a gap; any failure
 * rewinds to it. While the servers are away nothing is read, and the capture
 * keeps it all.
 */
#define _GNU_SOURCE
#include "fleet/fleet_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "capture/capture.h"
#include "metrics/metrics.h"
#include "util/fsutil.h"
#include "util/keyset.h"
#include "util/siphash.h"
#include "util/strbuf.h"

#define ACK_WAIT_MS 10000 /* an ack later than this is a failure: rewind */
/* The server refuses a message over the stream's max_msg_size (JSStreamMessageExceedsMaximumErr) */
#define JS_MSG_TOO_LARGE 10054
#define STATE_EVERY_MS 200

/* Where shipping stands: everything before (file, offset) of the set is acknowledged. */
struct pos {
	uint32_t file_seq;
	uint64_t offset;
};

struct slot {
	struct pos next;  /* the position once this message is acknowledged */
	int64_t wall_ns;  /* the event's time; 0 for other records */
	uint32_t records; /* records it carries past the first (a batch's) */
	bool acked;
};

/* A process as a batch tells it from another: its host id, start and image. */
struct proc_id {
	uint32_t tgid, gen;
	uint64_t start_ns;
};

/* The processes an event names, in mpt_cap_lineage_each's order. */
struct chain {
	struct proc_id id[MPT_ANCESTORS_MAX + 2];
	unsigned int n;
	size_t bytes; /* as batch entries */
};

/* --batch: records read and not yet published, for one message. */
struct batch {
	struct strbuf raw;
	uint32_t n;
	size_t max_raw; /* uncompressed bytes at most: the message must fit any limit */
	char prev[160]; /* the id of the message before its first record */
	char first[160];
	uint64_t last_off;
	struct pos next;
	int64_t wall_ns; /* its newest event's time */
	/* the processes in it (keyed: whoever names a process cannot make it pass for another) */
	struct mpt_keyset procs;
	uint8_t proc_key[16];
	/*
	 * The last event's processes, all in it (n = UINT_MAX: no event yet):
	 * most events follow one of the same caller, and need no lookup.
	 */
	struct chain last;
	ZSTD_CCtx *zc;
	void *packed;
	size_t packed_cap;
};

struct shipper {
	const struct mpt_ship_opts *o;
	struct fleet_conn c;
	const char *stream;
	/*
	 * What the messages go to: --subject's, or by default mptrace.HOST.> as
	 * mptrace.HOST.EVENT.CONTAINER for an event (the container's id, or
	 * "host") and mptrace.HOST.meta for the rest, so that a consumer picks
	 * events and containers on the server.
	 */
	const char *subject;
	bool per_event;
	char subject_buf[300], host_subject[280], meta_subject[300], batch_subject[300];
	const char *cur_subject; /* the event or batch being published: its subject */
	char set_id[64];
	char host[256]; /* the traced host, from the capture: the reader that named it is gone */
	/* the window of messages in flight, guarded by mu */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct slot win[IN_FLIGHT];
	uint64_t head, tail, gen;
	struct pos acked; /* over records acknowledged without a gap */
	bool waiting;	  /* the reader waits for room: only then is a wake-up needed */
	bool failed;
	bool outage; /* said to have failed, and nothing acknowledged since */
	char why[256];
	uint64_t shipped, duplicates;
	/* the files of the set */
	char base[4096]; /* FILE of FILE.N; "" for a single capture */
	const char *single;
	struct pos saved;
	int64_t next_save;
	bool state_failing; /* said to fail, and not written since */
	uint64_t files_lost;
	int64_t last_scan_ms;
	uint32_t following;	 /* the file being followed */
	bool followed_past;	 /* a newer file of the set exists: following it is over */
	uint64_t set_created_ns; /* the newest file of the set seen: a set begun later is newer */
	uint32_t first_seq;	 /* the set's first file, as given */
	/*
	 * The id of the message before the next one, in the capture's order: a
	 * resend after a failure lands later in the stream than what followed it,
	 * and replay --nats puts it back in its place by this link.
	 */
	char prev_id[160];
	/* prev_id not yet written out: the record at prev_off of file prev_seq */
	bool prev_lazy;
	uint32_t prev_seq;
	uint64_t prev_off;
	char lost_id[160];
	uint32_t lost_to; /* the files lost_id names end here */
	volatile int *stop;
	/* --metrics */
	struct mpt_metrics *metrics;
	int64_t next_metrics_ms;
	int64_t cur_wall_ns;   /* the event being published */
	int64_t acked_wall_ns; /* the newest event acknowledged (mu) */
	uint64_t published, outages;
	uint64_t too_large; /* records no server or stream would take (mu) */
	/*
	 * The first stream sequence this run stored (mu), and the stream's own
	 * first sequence as last checked: a stream that limits only what it takes
	 * must still hold it.
	 */
	uint64_t first_stored, first_held, deleted;
	int64_t next_kept_check_ms;
	bool idle; /* at the end of the newest file, waiting for more */
	struct batch b;
	struct mpt_fmt_ctx *fmt; /* the file's context while it is shipped (a batch's) */
};

static const char *event_subject(struct shipper *sh, const struct mpt_view *v, char *out,
				 size_t len);
static int batch_flush(struct shipper *sh, const struct mpt_fmt_ctx *fmt);
static const char *prev_id(struct shipper *sh);
static void copy_id(char *dst, const char *src, size_t len);

/* How often the shipper's metrics are brought up to date: its loop passes here often. */
#define METRICS_EVERY_MS 500

static int64_t wall_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void ship_metrics(struct shipper *sh)
{
	uint64_t pending, acked, dups, outages, too_large;
	int64_t acked_wall, lag = 0, now = wall_now_ns();
	bool down;
	struct strbuf b;

	if (!sh->metrics || fleet_mono_ms() < sh->next_metrics_ms)
		return;
	sh->next_metrics_ms = fleet_mono_ms() + METRICS_EVERY_MS;
	pthread_mutex_lock(&sh->mu);
	pending = sh->head - sh->tail;
	acked = sh->shipped;
	dups = sh->duplicates;
	acked_wall = sh->acked_wall_ns;
	down = sh->outage;
	outages = sh->outages;
	too_large = sh->too_large;
	pthread_mutex_unlock(&sh->mu);
	/* behind: something is read and not acknowledged, or not yet read */
	if (acked_wall && (pending || !sh->idle) && now > acked_wall)
		lag = now - acked_wall;
	sb_init(&b);
	mpt_metric_build_info(&b, "command", "ship");
	mpt_metric_one(&b, "mptrace_ship_published_total", "counter",
		       "Messages published (resends included).", sh->published);
	mpt_metric_one(&b, "mptrace_ship_acked_total", "counter",
		       "Records the stream acknowledged, in order.", acked);
	mpt_metric_one(&b, "mptrace_ship_duplicates_total", "counter",
		       "Acknowledged records the stream already held.", dups);
	mpt_metric_one(&b, "mptrace_ship_pending_messages", "gauge",
		       "Messages published and not yet acknowledged.", pending);
	mpt_metric_one(&b, "mptrace_ship_lag_seconds", "gauge",
		       "How old the newest acknowledged event is while more is to ship; 0 when "
		       "caught up.",
		       lag / 1e9);
	mpt_metric_one(&b, "mptrace_ship_acked_event_timestamp_seconds", "gauge",
		       "The time of the newest acknowledged event.", acked_wall / 1e9);
	mpt_metric_one(&b, "mptrace_ship_up", "gauge", "0 while publishing fails, 1 otherwise.",
		       down ? 0 : 1);
	mpt_metric_one(&b, "mptrace_ship_outages_total", "counter",
		       "Times publishing began to fail.", outages);
	mpt_metric_one(&b, "mptrace_ship_files_lost_total", "counter",
		       "Capture files rotated away before they were shipped.", sh->files_lost);
	mpt_metric_one(&b, "mptrace_ship_stream_deleted_messages_total", "counter",
		       "Messages the stream acknowledged to this ship and then deleted (at most "
		       "this many of them were this ship's).",
		       sh->deleted);
	mpt_metric_one(&b, "mptrace_ship_records_too_large_total", "counter",
		       "Records over the server's max_payload or the stream's max_msg_size, not "
		       "shipped.",
		       too_large);
	if (!b.oom)
		mpt_metrics_publish(sh->metrics, b.buf, b.len);
	sb_free(&b);
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	struct shipper *sh = closure;
	const char *tag = NULL;
	unsigned long long gen, n;

	(void)js;
	if (natsMsgHeader_Get(msg, "Mptrace-Slot", &tag) != NATS_OK || !tag ||
	    sscanf(tag, "%llu:%llu", &gen, &n) != 2) {
		natsMsg_Destroy(msg);
		return;
	}
	pthread_mutex_lock(&sh->mu);
	if (gen == sh->gen && n >= sh->tail && n < sh->head) {
		if (pa) {
			sh->win[n % IN_FLIGHT].acked = true;
			/* counted in records, as shipped is: a batch held already is all of them */
			if (pa->Duplicate)
				sh->duplicates += 1 + sh->win[n % IN_FLIGHT].records;
			if (pa->Sequence && (!sh->first_stored || pa->Sequence < sh->first_stored))
				sh->first_stored = pa->Sequence;
		} else if (pae && pae->ErrCode == JS_MSG_TOO_LARGE) {
			/* never taken, however often sent: said, counted, and passed (a gap) */
			sh->win[n % IN_FLIGHT].acked = true;
			sh->too_large++;
			mpt_warn(
			    "stream %s refused record %s as over its max_msg_size: not shipped",
			    sh->stream, tag);
		} else if (!sh->failed) {
			sh->failed = true;
			snprintf(sh->why, sizeof(sh->why), "%s",
				 pae && pae->ErrText ? pae->ErrText
				 : pae		     ? natsStatus_GetText(pae->Err)
						     : "no acknowledgment");
		}
		while (sh->tail < sh->head && sh->win[sh->tail % IN_FLIGHT].acked) {
			sh->acked = sh->win[sh->tail % IN_FLIGHT].next;
			if (sh->win[sh->tail % IN_FLIGHT].wall_ns)
				sh->acked_wall_ns = sh->win[sh->tail % IN_FLIGHT].wall_ns;
			sh->shipped += 1 + sh->win[sh->tail % IN_FLIGHT].records;
			sh->tail++;
			/* each outage is said when it ends, so the next one is said too */
			if (sh->outage) {
				sh->outage = false;
				mpt_notice("publishing works again");
			}
		}
		if (sh->waiting || sh->failed)
			pthread_cond_signal(&sh->cond);
	}
	pthread_mutex_unlock(&sh->mu);
	natsMsg_Destroy(msg);
}

/* The state file, written whole or not at all (rename), synced. */
static void save_state(struct shipper *sh, bool force)
{
	char tmp[4200], buf[512];
	struct pos p;
	int fd, n, err = 0;

	/* asked after every record: the clock first, the lock the acks take only when due */
	if (!sh->o->nats->state || (!force && fleet_mono_ms() < sh->next_save))
		return;
	pthread_mutex_lock(&sh->mu);
	p = sh->acked;
	pthread_mutex_unlock(&sh->mu);
	if (!force && p.file_seq == sh->saved.file_seq && p.offset == sh->saved.offset)
		return;
	sh->next_save = fleet_mono_ms() + STATE_EVERY_MS;
	n = snprintf(buf, sizeof(buf),
		     "{\"setId\":\"%s\",\"fileSeq\":%u,\"offset\":%" PRIu64 ",\"stream\":\"%s\","
		     "\"subject\":\"%s\"}\n",
		     sh->set_id, p.file_seq, p.offset, sh->stream, sh->subject);
	snprintf(tmp, sizeof(tmp), "%s.tmp", sh->o->nats->state);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, n) != n || fsync(fd))
		err = errno ? errno : EIO;
	if (fd >= 0 && close(fd) && !err)
		err = errno;
	if (!err && rename(tmp, sh->o->nats->state))
		err = errno;
	/* tried every STATE_EVERY_MS: said when it begins to fail and when it works again */
	if (err) {
		if (!sh->state_failing)
			fleet_say(
			    "writing the state %s failed: %s; retried, and said when it works",
			    sh->o->nats->state, strerror(err));
		sh->state_failing = true;
		return;
	}
	if (sh->state_failing)
		mpt_notice("writing the state %s works again", sh->o->nats->state);
	sh->state_failing = false;
	sh->saved = p;
}

/*
 * The state a restart resumes from, into @p: 0; 1: none, or another set's
 * (@p untouched); -1: unreadable, said.
 */
static int load_state(struct shipper *sh, struct pos *p)
{
	char err[512];
	json_error_t jerr;
	json_t *j;
	int fd;

	if (!sh->o->nats->state || access(sh->o->nats->state, F_OK))
		return 1;
	fd = mpt_open_regular(sh->o->nats->state, 4096, err, sizeof(err));
	if (fd < 0) {
		fleet_say("state %s", err);
		return -1;
	}
	j = json_loadfd(fd, 0, &jerr);
	close(fd);
	if (!j) {
		fleet_say("state %s is not JSON: %s", sh->o->nats->state, jerr.text);
		return -1;
	}
	/*
	 * A new capture set (the daemon began one: files removed, or the newest
	 * unreadable): shipped from its start. Refusing it made a service that
	 * restarts on failure fail for ever.
	 */
	if (strcmp(json_string_value(json_object_get(j, "setId")) ?: "", sh->set_id)) {
		fleet_say(
		    "state %s names capture set %s; the files are of set %s, a new one: shipping "
		    "it from its oldest file (what of the old set was not shipped is not)",
		    sh->o->nats->state, json_string_value(json_object_get(j, "setId")) ?: "?",
		    sh->set_id);
		json_decref(j);
		return 1;
	}
	p->file_seq = json_integer_value(json_object_get(j, "fileSeq"));
	p->offset = json_integer_value(json_object_get(j, "offset"));
	json_decref(j);
	sh->saved = *p;
	return 0;
}

/* A capture file of the set by its fileSeq, in @name; its header read. */
struct member {
	FILE *f;
	char *iobuf;
	struct mpt_cap_reader *r;
	char name[4300];
};

static int open_member(const char *name, struct member *m)
{
	char err[512];
	int fd = mpt_open_regular(name, 0, err, sizeof(err));

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (fd < 0)
		return -1;
	m->f = fdopen(fd, "re");
	if (!m->f) {
		close(fd);
		return -1;
	}
	m->iobuf = mpt_cap_read_buffer(m->f);
	if (mpt_cap_reader_open(m->f, &m->r, err, sizeof(err))) {
		fclose(m->f);
		free(m->iobuf);
		m->f = NULL;
		m->iobuf = NULL;
		return -1;
	}
	return 0;
}

static void close_member(struct member *m)
{
	mpt_cap_reader_free(m->r);
	if (m->f)
		fclose(m->f);
	free(m->iobuf);
	memset(m, 0, sizeof(*m));
}

/*
 * Each readable capture named FILE.N beside the set's base (@fn may keep
 * the member: it returns 1 then, 0 to have it closed, -1 to stop).
 */
static void each_member(struct shipper *sh, int (*fn)(void *, struct member *), void *ctx)
{
	char dir[4096], full[8300];
	const char *slash = strrchr(sh->base, '/'), *base = slash ? slash + 1 : sh->base;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - sh->base) : 1,
		 slash ? sh->base : ".");
	if (slash == sh->base)
		snprintf(dir, sizeof(dir), "/");
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(base);
		struct member t;
		int rc;

		if (strncmp(de->d_name, base, n) || de->d_name[n] != '.' ||
		    !isdigit((unsigned char)de->d_name[n + 1]))
			continue;
		snprintf(full, sizeof(full), "%s/%s", dir, de->d_name);
		if (open_member(full, &t))
			continue;
		rc = fn(ctx, &t);
		if (rc <= 0)
			close_member(&t);
		if (rc < 0)
			break;
	}
	closedir(d);
}

/* A capture set begun after ours, beside it (the daemon began a new one). */
struct newer {
	uint64_t created_ns; /* ours first: sets begun after it count */
	char set_id[64];     /* "": none */
};

struct find {
	struct shipper *sh;
	uint32_t seq, *after;
	struct member *m;
	struct newer *n; /* NULL: not looked for */
	bool found;
};

static int find_one(void *ctx, struct member *t)
{
	struct find *f = ctx;
	const struct mpt_cap_meta *meta = mpt_cap_reader_meta(t->r);
	uint32_t fs = meta->file_seq;

	/* a capture given alone is the set (one from before sets has no id) */
	if (f->sh->base[0] && strcmp(meta->set_id, f->sh->set_id)) {
		if (f->n && meta->set_id[0] && meta->created_ns > f->n->created_ns) {
			f->n->created_ns = meta->created_ns;
			snprintf(f->n->set_id, sizeof(f->n->set_id), "%s", meta->set_id);
		}
		return 0;
	}
	if (fs > f->seq && (*f->after == f->seq || fs < *f->after))
		*f->after = fs;
	if (fs == f->seq && !f->found && f->m) {
		*f->m = *t;
		f->found = true;
		return 1;
	}
	f->found |= fs == f->seq;
	return 0;
}

/*
 * Find file @seq of the set (into @m, when given); *@after gets the first
 * fileSeq after @seq the set has now (@seq when none); with @n, a set begun
 * since ours is looked for in the same pass. A ring reuses names, so the
 * headers decide, not the names.
 */
static bool scan_set(struct shipper *sh, uint32_t seq, struct member *m, uint32_t *after,
		     struct newer *n)
{
	struct find f = {sh, seq, after, m, n, false};

	*after = seq;
	if (n) {
		n->created_ns = sh->set_created_ns;
		n->set_id[0] = '\0';
	}
	if (sh->base[0]) {
		each_member(sh, find_one, &f);
	} else {
		struct member t;

		if (open_member(sh->single, &t))
			return false;
		if (find_one(&f, &t) <= 0)
			close_member(&t);
	}
	return f.found;
}

static bool find_file(struct shipper *sh, uint32_t seq, struct member *m, uint32_t *after)
{
	return scan_set(sh, seq, m, after, NULL);
}

/* Following: wait at the end of a file while it is the set's newest and all goes well. */
static bool still_newest(void *ctx)
{
	struct shipper *sh = ctx;
	struct newer n;
	uint32_t newest;
	bool failed;

	if (*sh->stop)
		return false;
	/* what was read goes now: a batch is not held for records still to come */
	batch_flush(sh, sh->fmt);
	sh->idle = true;
	ship_metrics(sh);
	pthread_mutex_lock(&sh->mu);
	failed = sh->failed;
	pthread_mutex_unlock(&sh->mu);
	if (failed)
		return false;
	/*
	 * Once a newer file is there, the answer stays no: the reader asks again
	 * at each level of a record, and a "yes" between scans kept it waiting
	 * forever at the end of a file whose writer was killed.
	 */
	if (sh->followed_past)
		return false;
	if (fleet_mono_ms() - sh->last_scan_ms < 1000)
		return true;
	sh->last_scan_ms = fleet_mono_ms();
	save_state(sh, false);
	scan_set(sh, sh->following, NULL, &newest, &n);
	sh->followed_past = newest != sh->following || n.set_id[0];
	return !sh->followed_past;
}

/*
 * What formatting needs besides the record, in one header: "B2W BOOTID KERNEL
 * HOST", each string %-escaped (a host name may hold any byte, and a CR or LF
 * in a header would split the message), "-" for an empty one.
 */
/* Wait for room in the window; false on a failure or a stop. */
static bool wait_room(struct shipper *sh)
{
	bool ok;

	pthread_mutex_lock(&sh->mu);
	while (!sh->failed && !*sh->stop && sh->head - sh->tail >= IN_FLIGHT) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
		sh->waiting = true;
		pthread_cond_timedwait(&sh->cond, &sh->mu, &ts);
		sh->waiting = false;
	}
	ok = !sh->failed && !*sh->stop;
	pthread_mutex_unlock(&sh->mu);
	return ok;
}

/*
 * A message the server cannot take, whatever the retries: over its
 * max_payload. Its record is said and counted, and a short message in its
 * place keeps the stream's chain whole, so replay --nats says it too.
 */
static bool over_max_payload(struct shipper *sh, const char *id, size_t size, char *instead,
			     size_t len)
{
	int64_t max = natsConnection_GetMaxPayload(sh->c.nc);

	if (max <= 0 || (int64_t)size <= max)
		return false;
	snprintf(instead, len,
		 "record %s (%zu bytes with its headers) is over the server's max_payload (%lld "
		 "bytes): not shipped",
		 id, size, (long long)max);
	mpt_warn("%s", instead);
	pthread_mutex_lock(&sh->mu);
	sh->too_large++;
	pthread_mutex_unlock(&sh->mu);
	return true;
}

/*
 * Publish one message for position @next (or, without a body, only move the
 * position: a file's end). Returns 0, or -1 on a failure (rewind).
 */
static int publish(struct shipper *sh, const char *kind, const char *id, const char *body,
		   size_t len, const char *record, const struct mpt_fmt_ctx *fmt, struct pos next)
{
	jsPubOptions po;
	natsMsg *m = NULL;
	char tag[64], ctx[1400], big[512];
	bool batch = !strcmp(kind, "batch");
	const char *to;
	uint64_t n;
	natsStatus s;

	sh->idle = false;
	ship_metrics(sh);
	if (!wait_room(sh))
		return -1;
	if (body)
		sh->published++;
	pthread_mutex_lock(&sh->mu);
	n = sh->head++;
	sh->win[n % IN_FLIGHT] = (struct slot){.next = next,
					       .wall_ns = body ? sh->cur_wall_ns : 0,
					       .records = batch ? sh->b.n - 1 : 0,
					       .acked = !body};
	sh->cur_wall_ns = 0;
	snprintf(tag, sizeof(tag), "%llu:%llu", (unsigned long long)sh->gen, (unsigned long long)n);
	if (!body) {
		/* nothing to send: acknowledged as soon as what is before it is */
		while (sh->tail < sh->head && sh->win[sh->tail % IN_FLIGHT].acked) {
			sh->acked = sh->win[sh->tail % IN_FLIGHT].next;
			sh->tail++;
		}
		pthread_mutex_unlock(&sh->mu);
		return 0;
	}
	pthread_mutex_unlock(&sh->mu);
	fleet_context(fmt, ctx, sizeof(ctx));
	/* the headers below, Nats-Msg-Id and the framing, generously */
	if (over_max_payload(sh, id,
			     len + strlen(ctx) + strlen(prev_id(sh)) + strlen(id) +
				 (record ? strlen(record) : 0) + 256,
			     big, sizeof(big))) {
		kind = "lost";
		body = big;
		len = strlen(big);
		record = NULL;
	}
	to = sh->cur_subject ? sh->cur_subject : sh->per_event ? sh->meta_subject : sh->subject;
	sh->cur_subject = NULL;
	s = natsMsg_Create(&m, to, NULL, body, (int)len);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Mptrace-Slot", tag);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Mptrace-Kind", kind);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Mptrace-Context", ctx);
	/* a batch's records moved prev_id as they were read: it names the one before them */
	if (s == NATS_OK && (batch ? sh->b.prev : prev_id(sh))[0])
		s = natsMsgHeader_Set(m, "Mptrace-Prev", batch ? sh->b.prev : prev_id(sh));
	if (!batch)
		copy_id(sh->prev_id, id, sizeof(sh->prev_id));
	if (s == NATS_OK && record)
		s = natsMsgHeader_Set(m, "Mptrace-Record", record);
	jsPubOptions_Init(&po);
	po.MsgId = id;
	po.MaxWait = ACK_WAIT_MS;
	if (s == NATS_OK)
		s = js_PublishMsgAsync(sh->c.js, &m, &po);
	natsMsg_Destroy(m);
	if (s != NATS_OK) {
		pthread_mutex_lock(&sh->mu);
		if (!sh->failed) {
			sh->failed = true;
			snprintf(sh->why, sizeof(sh->why), "%s", fleet_error(s));
		}
		pthread_mutex_unlock(&sh->mu);
		return -1;
	}
	return 0;
}

/* @s as a JSON string, quotes included: a host name is whatever sethostname() took. */
static void json_quoted(const char *s, char *out, size_t len)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_json_str(&sb, s, strlen(s));
	snprintf(out, len, "%.*s", sb.buf ? (int)sb.len : 2, sb.buf ? sb.buf : "\"\"");
	sb_free(&sb);
}

/* "SET:FILE:OFFSET" and @what: every record's, so not through printf */
static void msg_id(const struct shipper *sh, uint32_t seq, uint64_t off, const char *what,
		   char *out, size_t len)
{
	size_t set = strlen(sh->set_id), w = strlen(what);
	char *o = out;

	if (len < set + w + 2 * 21 + 1) {
		snprintf(out, len, "%s:%u:%" PRIu64 "%s", sh->set_id, seq, off, what);
		return;
	}
	memcpy(o, sh->set_id, set);
	o += set;
	*o++ = ':';
	o = mpt_u64_dec(o, seq);
	*o++ = ':';
	o = mpt_u64_dec(o, off);
	memcpy(o, what, w + 1);
}

/* @src into @dst[@len], cut to fit: an id's copy, without printf */
static void copy_id(char *dst, const char *src, size_t len)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The id of the message before the next one, written out when first asked for. */
static const char *prev_id(struct shipper *sh)
{
	if (sh->prev_lazy)
		msg_id(sh, sh->prev_seq, sh->prev_off, "", sh->prev_id, sizeof(sh->prev_id));
	sh->prev_lazy = false;
	return sh->prev_id;
}

/* The record at @off of file @seq is the one before the next: most never need its id. */
static void set_prev(struct shipper *sh, uint32_t seq, uint64_t off)
{
	sh->prev_lazy = true;
	sh->prev_seq = seq;
	sh->prev_off = off;
}

/* A file of the set that rotation removed before it was shipped: a loss the stream records. */
static int publish_lost(struct shipper *sh, uint32_t from, uint32_t to,
			const struct mpt_fmt_ctx *fmt)
{
	char body[1024], id[128], host[600], ts[MPT_TIMESTAMP_LEN];
	struct timespec now;
	int n;

	json_quoted(fmt->hostname, host, sizeof(host));
	clock_gettime(CLOCK_REALTIME, &now);
	mpt_format_timestamp_str(ts, (uint64_t)now.tv_sec * 1000000000 + now.tv_nsec);
	n = snprintf(body, sizeof(body),
		     "{%s,\"eventName\":\"drop\",\"cause\":\"unshipped\","
		     "\"hostName\":%s,\"fileSeqFrom\":%u,\"fileSeqTo\":%u,\"count\":null}",
		     ts, host, from, to);
	msg_id(sh, from, 0, ":lost", id, sizeof(id));
	snprintf(sh->lost_id, sizeof(sh->lost_id), "%s", id);
	sh->lost_to = to;
	fleet_say_warning("capture files %u to %u of the set were removed before they were shipped",
			  from, to);
	sh->files_lost += to - from + 1;
	return publish(sh, "lost", id, body, n, NULL, fmt, (struct pos){to + 1, 0});
}

/*
 * Ship file @p.file_seq from @p.offset on. Returns 1 when the file is done
 * (closed, or left unclosed by a writer that a newer file follows), 0 when
 * there is nothing more for now (not following), -1 on a failure.
 */
/* A file begins: its context, and the message its first one follows. */
static void ship_file_begin(struct shipper *sh, const struct mpt_cap_meta *meta, struct pos p,
			    struct mpt_fmt_ctx *fmt)
{
	fmt->hostname = meta->hostname;
	fmt->boot_id = meta->boot_id;
	fmt->kernel = meta->kernel;
	fmt->boot_to_wall_ns = meta->boot_to_wall_ns;
	sh->following = p.file_seq;
	sh->followed_past = false;
	if (meta->created_ns > sh->set_created_ns)
		sh->set_created_ns = meta->created_ns;
	/* the file is read from its start, whatever was shipped: the links come out right */
	sh->prev_lazy = false;
	if (sh->lost_id[0] && sh->lost_to + 1 == p.file_seq)
		snprintf(sh->prev_id, sizeof(sh->prev_id), "%s", sh->lost_id);
	else if (p.file_seq > sh->first_seq)
		msg_id(sh, p.file_seq - 1, UINT64_MAX, ":end", sh->prev_id, sizeof(sh->prev_id));
	else
		sh->prev_id[0] = '\0';
}

static void batch_reset(struct batch *b)
{
	sb_reset(&b->raw);
	mpt_keyset_clear(&b->procs);
	b->last.n = UINT_MAX;
	b->n = 0;
	b->wall_ns = 0;
}

/* A process's key in the batch: a new image is a new record. */
static uint64_t batch_proc_key(const struct batch *b, const struct mpt_proc_info *p)
{
	const uint64_t k[2] = {(uint64_t)p->tgid << 32 | p->gen, p->start_ns};

	return mpt_siphash(b->proc_key, k, sizeof(k));
}

static void chain_add(void *ctx, const struct mpt_proc_info *p)
{
	struct chain *c = ctx;

	c->id[c->n++] = (struct proc_id){p->tgid, p->gen, p->start_ns};
}

/* The bytes of @l's processes the batch lacks, as entries. */
struct proc_bytes {
	const struct batch *b;
	size_t n, all;
};

static void count_proc(void *ctx, const struct mpt_proc_info *p)
{
	struct proc_bytes *c = ctx;
	size_t n = FLEET_BATCH_ENTRY_HDR + mpt_cap_proc_size(p);

	c->all += n;
	if (!mpt_keyset_has(&c->b->procs, batch_proc_key(c->b, p)))
		c->n += n;
}

/*
 * The bytes of @l's processes as entries (@pb->all), and of those the batch
 * lacks (@pb->n). The same processes as the last event's: none lacking.
 */
static void chain_bytes(struct batch *b, const struct mpt_lineage_view *l, struct chain *c,
			struct proc_bytes *pb)
{
	c->n = 0;
	mpt_cap_lineage_each(l, chain_add, c);
	if (c->n == b->last.n && !memcmp(c->id, b->last.id, c->n * sizeof(c->id[0]))) {
		pb->all = b->last.bytes;
		return;
	}
	mpt_cap_lineage_each(l, count_proc, pb);
	c->bytes = pb->all;
}

static void put_proc(void *ctx, const struct mpt_proc_info *p)
{
	struct batch *b = ctx;
	unsigned char rec[MPT_CAP_PROC_MAX];

	if (mpt_keyset_add(&b->procs, batch_proc_key(b, p)) != 1)
		fleet_batch_put(&b->raw, FLEET_REC_PROCESS, 0, rec, mpt_cap_proc_encode(p, rec));
}

/* The batch as one message, compressed: 0 (also when empty), or -1 (a failed publish). */
static int batch_flush(struct shipper *sh, const struct mpt_fmt_ctx *fmt)
{
	struct batch *b = &sh->b;
	size_t need = ZSTD_compressBound(b->raw.len), z;
	char id[200];
	int rc;

	if (!b->n)
		return 0;
	if (need > b->packed_cap) {
		void *p = realloc(b->packed, need);

		if (!p) {
			fleet_say("out of memory");
			return -1;
		}
		b->packed = p;
		b->packed_cap = need;
	}
	if (!b->zc)
		b->zc = ZSTD_createCCtx();
	/* level 1: the server's cost is per message and per byte, ours per record */
	z = b->zc ? ZSTD_compressCCtx(b->zc, b->packed, b->packed_cap, b->raw.buf, b->raw.len, 1)
		  : 0;
	if (!b->zc || ZSTD_isError(z)) {
		fleet_say("compressing a batch failed: %s",
			  b->zc ? ZSTD_getErrorName(z) : "out of memory");
		return -1;
	}
	snprintf(id, sizeof(id), "%s+%" PRIu64, b->first, b->last_off);
	sh->cur_wall_ns = b->wall_ns;
	if (sh->per_event)
		sh->cur_subject = sh->batch_subject;
	rc = publish(sh, "batch", id, (const char *)b->packed, z, NULL, fmt, b->next);
	batch_reset(b);
	return rc;
}

/*
 * --batch: a record into the batch, published once full. 0, -1 (said, or a
 * failed publish), or 1: too large for any batch, to be shipped on its own.
 */
static int batch_add(struct shipper *sh, const struct mpt_cap_item *it, struct pos next,
		     const struct mpt_fmt_ctx *fmt)
{
	struct batch *b = &sh->b;
	bool event = it->type == MPT_CAP_REC_EVENT;
	const struct mpt_lineage_view *l = event ? it->view.enrich->lineage : NULL;
	struct proc_bytes pb = {.b = b};
	struct chain c;
	char drop[128];
	size_t n = it->payload_len;

	if (!event)
		n = snprintf(drop, sizeof(drop), "%u %" PRIu64 " %" PRIu64 " %" PRIu64,
			     it->drop_cause, it->drop_count, it->drop_first_ns, it->drop_last_ns);
	chain_bytes(b, l, &c, &pb);
	n += FLEET_BATCH_ENTRY_HDR;
	if (n + pb.all > b->max_raw)
		return batch_flush(sh, fmt) ? -1 : 1;
	if (b->raw.len + n + pb.n > b->max_raw && batch_flush(sh, fmt))
		return -1;
	if (!b->n) {
		copy_id(b->prev, prev_id(sh), sizeof(b->prev));
		msg_id(sh, next.file_seq, it->offset, "", b->first, sizeof(b->first));
	}
	/* each process once a batch, before its first event: not in every event, as a message */
	if (c.n != b->last.n || memcmp(c.id, b->last.id, c.n * sizeof(c.id[0]))) {
		mpt_cap_lineage_each(l, put_proc, b);
		b->last = c;
	}
	fleet_batch_put(&b->raw, event ? FLEET_REC_EVENT : FLEET_REC_DROP, it->offset,
			event ? (const void *)it->payload : drop,
			(uint32_t)(n - FLEET_BATCH_ENTRY_HDR));
	if (b->raw.oom) {
		fleet_say("out of memory");
		return -1;
	}
	b->n++;
	b->last_off = it->offset;
	b->next = next;
	if (event)
		b->wall_ns = (int64_t)it->view.hdr->ts_boot_ns + fmt->boot_to_wall_ns;
	set_prev(sh, next.file_seq, it->offset);
	return b->n >= sh->o->nats->batch ? batch_flush(sh, fmt) : 0;
}

/* One event or drop record as its message: 0, or -1 (said, or a failed publish). */
static int ship_record(struct shipper *sh, const struct member *m, const struct mpt_cap_item *it,
		       struct pos next, struct mpt_fmt_ctx *fmt, struct strbuf *line,
		       unsigned char *rec)
{
	char *record, drop[128], d[512], subj[600], id[160];
	size_t n;
	int rc;

	if (sh->o->nats->batch && (rc = batch_add(sh, it, next, fmt)) <= 0)
		return rc;
	msg_id(sh, next.file_seq, it->offset, "", id, sizeof(id));
	sb_reset(line);
	if (it->type == MPT_CAP_REC_EVENT) {
		sh->cur_wall_ns = (int64_t)it->view.hdr->ts_boot_ns + fmt->boot_to_wall_ns;
		sh->cur_subject = event_subject(sh, &it->view, subj, sizeof(subj));
		mpt_format_json(line, &it->view, fmt);
		n = mpt_cap_event_encode(&it->view, rec, MPT_CAP_MAX_PAYLOAD, true);
		if (!n) {
			fleet_say("%s: a record too large to ship", m->name);
			return -1;
		}
		/* rec holds 1 MiB: its base64 goes after the encoded record */
		record = fleet_b64(rec, n, (char *)rec + n);
	} else {
		char ts[MPT_TIMESTAMP_LEN];

		mpt_format_timestamp_str(ts, it->drop_last_ns + fmt->boot_to_wall_ns);
		snprintf(d, sizeof(d),
			 "{%s,\"eventName\":\"drop\",\"cause\":\"%s\","
			 "\"count\":%" PRIu64 ",\"fromTimestamp\":%" PRId64
			 ",\"toTimestamp\":%" PRId64 "}\n",
			 ts, mpt_cap_drop_cause(it->drop_cause), it->drop_count,
			 (int64_t)it->drop_first_ns + fmt->boot_to_wall_ns,
			 (int64_t)it->drop_last_ns + fmt->boot_to_wall_ns);
		sb_puts(line, d);
		/* the drop record itself, so replay --nats reports it as a file replay does */
		snprintf(drop, sizeof(drop), "%u %" PRIu64 " %" PRIu64 " %" PRIu64, it->drop_cause,
			 it->drop_count, it->drop_first_ns, it->drop_last_ns);
		record = drop;
	}
	return publish(sh, it->type == MPT_CAP_REC_EVENT ? "event" : "drop", id, line->buf,
		       line->len - 1, record, fmt, next);
}

/* A file read to its clean end: its own count, so a consumer can check it has it all. */
static int ship_file_end(struct shipper *sh, const struct member *m, struct pos p,
			 struct mpt_fmt_ctx *fmt)
{
	const struct mpt_cap_counts *c = mpt_cap_reader_counts(m->r);
	char body[1024], host[600], id[160];
	int n;

	json_quoted(mpt_cap_reader_meta(m->r)->hostname, host, sizeof(host));
	n = snprintf(body, sizeof(body),
		     "{\"eventName\":\"stats\",\"hostName\":%s,\"fileSeq\":%u,"
		     "\"events\":%" PRIu64 ",\"dropRecords\":%" PRIu64 ",\"dropped\":%" PRIu64 "}",
		     host, p.file_seq, c->events, c->drop_records, c->dropped);
	msg_id(sh, p.file_seq, UINT64_MAX, ":end", id, sizeof(id));
	return publish(sh, "stats", id, body, n, NULL, fmt, (struct pos){p.file_seq + 1, 0}) ? -1
											     : 1;
}

/* Damage or an unclosed tail: past it (1) only if the set went on; else 0, or -1 failed. */
static int ship_file_stopped(struct shipper *sh, const struct member *m, struct pos p,
			     struct mpt_fmt_ctx *fmt)
{
	struct newer n;
	uint32_t newest;
	int rc;

	pthread_mutex_lock(&sh->mu);
	rc = sh->failed ? -1 : 0;
	pthread_mutex_unlock(&sh->mu);
	if (rc < 0 || *sh->stop)
		return rc;
	scan_set(sh, p.file_seq, NULL, &newest, &n);
	if (newest > p.file_seq || (sh->o->follow && n.set_id[0])) {
		fleet_say("%s: %s; going on with the next file", m->name,
			  mpt_cap_reader_error(m->r));
		publish(sh, "end", NULL, NULL, 0, NULL, fmt, (struct pos){p.file_seq + 1, 0});
		return 1;
	}
	if (!strstr(mpt_cap_reader_error(m->r), "not closed"))
		fleet_say("%s: %s", m->name, mpt_cap_reader_error(m->r));
	return 0;
}

/*
 * Ship file @m from position @p: 1 when it was read to its end (or left for
 * the next), 0 when it stopped short (followed, or damaged at the set's
 * end), -1 on a failure.
 */
static int ship_file(struct shipper *sh, struct member *m, struct pos p, struct mpt_fmt_ctx *fmt,
		     struct strbuf *line, unsigned char *rec)
{
	struct mpt_cap_item it;
	int rc;

	ship_file_begin(sh, mpt_cap_reader_meta(m->r), p, fmt);
	sh->fmt = fmt;
	if (sh->o->follow)
		mpt_cap_reader_follow_while(m->r, sh->stop, still_newest, sh);
	while ((rc = mpt_cap_next(m->r, &it)) > 0) {
		/* a batch is under one context */
		if (it.type == MPT_CAP_REC_CLOCK && batch_flush(sh, fmt))
			break;
		if (it.type == MPT_CAP_REC_CLOCK) {
			fmt->boot_to_wall_ns = it.clock_boot_to_wall_ns;
			continue;
		}
		if (it.offset < p.offset) {
			set_prev(sh, p.file_seq, it.offset);
			continue;
		}
		if (ship_record(sh, m, &it, (struct pos){p.file_seq, it.offset + it.size}, fmt,
				line, rec))
			break;
		/* within a file too (every STATE_EVERY_MS): a kill -9 then resends little */
		save_state(sh, false);
	}
	if (rc > 0 || batch_flush(sh, fmt)) {
		batch_reset(&sh->b); /* what follows the acknowledged is read again */
		return -1;
	}
	return rc == 0 ? ship_file_end(sh, m, p, fmt) : ship_file_stopped(sh, m, p, fmt);
}

/* Everything acknowledged, or a failure: wait for the acks in flight. */
static bool drain_acks(struct shipper *sh)
{
	jsPubOptions po;
	bool ok;

	jsPubOptions_Init(&po);
	po.MaxWait = ACK_WAIT_MS;
	js_PublishAsyncComplete(sh->c.js, &po);
	pthread_mutex_lock(&sh->mu);
	ok = !sh->failed && sh->tail == sh->head;
	pthread_mutex_unlock(&sh->mu);
	return ok;
}

/* A failure: is it a new outage (the last one ended with an acknowledgment)? */
static bool begin_outage(struct shipper *sh)
{
	bool began;

	pthread_mutex_lock(&sh->mu);
	began = !sh->outage;
	sh->outage = true;
	sh->outages += began;
	pthread_mutex_unlock(&sh->mu);
	return began;
}

/* After a failure: forget the window, resume from the last position acknowledged. */
static struct pos rewind_to_acked(struct shipper *sh)
{
	struct pos p;

	pthread_mutex_lock(&sh->mu);
	sh->gen++;
	sh->head = sh->tail;
	sh->failed = false;
	p = sh->acked;
	pthread_mutex_unlock(&sh->mu);
	return p;
}

/* FILE.N -> FILE; a capture without a number ships alone. */
static void set_base(struct shipper *sh, const char *name)
{
	const char *dot = strrchr(name, '.');
	const char *p = dot ? dot + 1 : NULL;

	while (p && isdigit((unsigned char)*p))
		p++;
	if (dot && dot[1] && p && !*p)
		snprintf(sh->base, sizeof(sh->base), "%.*s", (int)(dot - name), name);
	else
		sh->single = name;
}

/* @s as one subject token: dots, wildcards and blanks would split or widen it. */
static void subject_token(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i < len - 1; i++)
		out[i] = strchr(".*> \t\r\n", s[i]) ? '_' : s[i];
	out[i] = '\0';
}

static void subject_for(struct shipper *sh, const char *host)
{
	char h[256];

	subject_token(host, h, sizeof(h));
	snprintf(sh->host_subject, sizeof(sh->host_subject), "mptrace.%s", h[0] ? h : "unknown");
	snprintf(sh->subject_buf, sizeof(sh->subject_buf), "%s.>", sh->host_subject);
	snprintf(sh->meta_subject, sizeof(sh->meta_subject), "%s.meta", sh->host_subject);
	snprintf(sh->batch_subject, sizeof(sh->batch_subject), "%s.batch", sh->host_subject);
	sh->subject = sh->subject_buf;
	sh->per_event = true;
}

/* An event's subject: mptrace.HOST.EVENT.CONTAINER. */
static const char *event_subject(struct shipper *sh, const struct mpt_view *v, char *out,
				 size_t len)
{
	const struct mpt_enrich *en = v->enrich;
	const char *ctr = en && en->container_id[0] ? en->container_id : "";
	char c[160];

	if (!sh->per_event)
		return sh->subject;
	/* an id its runtime has at another cgroup is a claim (MPT-10), not that container's */
	if (ctr[0] && en->ctr_meta && en->ctr_meta->verify == MPT_CTR_ELSEWHERE)
		ctr = "elsewhere";
	subject_token(ctr, c, sizeof(c));
	snprintf(out, len, "%s.%s.%s", sh->host_subject, v->desc->name, c[0] ? c : "host");
	return out;
}

/*
 * Following, at the end of the set: a set the daemon began since is shipped
 * from its oldest file (its messages have ids of their own). True if there is one.
 */
static bool next_set(struct shipper *sh, struct pos *p)
{
	struct newer n;
	uint32_t after;

	/* what is in flight is the old set's: acknowledged before the state names the new one */
	scan_set(sh, p->file_seq, NULL, &after, &n);
	if (!n.set_id[0] || !drain_acks(sh))
		return false;
	fleet_say(
	    "capture set %s ends at file %u; shipping set %s, begun since, from its oldest file",
	    sh->set_id, p->file_seq ? p->file_seq - 1 : 0, n.set_id);
	snprintf(sh->set_id, sizeof(sh->set_id), "%s", n.set_id);
	sh->set_created_ns = n.created_ns;
	p->file_seq = find_file(sh, 0, NULL, &after) ? 0 : after;
	p->offset = 0;
	sh->first_seq = p->file_seq;
	sh->lost_id[0] = '\0';
	pthread_mutex_lock(&sh->mu);
	sh->acked = *p;
	pthread_mutex_unlock(&sh->mu);
	save_state(sh, true);
	return true;
}

/* --metrics: a port that is taken is said before anything is shipped. */
static int start_metrics(struct shipper *sh)
{
	char err[512];

	if (!sh->o->metrics)
		return 0;
	if (mpt_metrics_listen(sh->o->metrics, &sh->metrics, err, sizeof(err)) ||
	    mpt_metrics_serve(sh->metrics, err, sizeof(err))) {
		fleet_say("%s", err);
		return -1;
	}
	sh->next_metrics_ms = 0;
	ship_metrics(sh);
	return 0;
}

/*
 * The set to ship, from the files given: its id, host and subject, and where
 * to begin (the state, else the set's oldest file still there). 0, or -1
 * after saying why.
 */
static int ship_open_set(struct shipper *sh, struct mpt_fmt_ctx *fmt, struct pos *p)
{
	const struct mpt_ship_opts *o = sh->o;
	const struct mpt_cap_meta *meta;
	struct member first;
	uint32_t after = 0;
	int state;

	if (open_member(o->files[0], &first)) {
		fleet_say("%s: not a readable capture (mptrace verify says why)", o->files[0]);
		return -1;
	}
	meta = mpt_cap_reader_meta(first.r);
	snprintf(sh->set_id, sizeof(sh->set_id), "%s", meta->set_id);
	if (!sh->set_id[0])
		/* a capture from before sets (format 1.0): its boot and creation name it */
		snprintf(sh->set_id, sizeof(sh->set_id), "%.36s-%" PRIu64, meta->boot_id,
			 meta->created_ns);
	if (o->nats->subject)
		sh->subject = o->nats->subject;
	else
		subject_for(sh, meta->hostname);
	snprintf(sh->host, sizeof(sh->host), "%s", meta->hostname);
	fmt->hostname = sh->host;
	*p = (struct pos){meta->file_seq, 0};
	close_member(&first);
	set_base(sh, o->files[0]);
	for (int i = 1; i < o->n_files; i++) {
		struct member m;

		if (open_member(o->files[i], &m))
			continue;
		meta = mpt_cap_reader_meta(m.r);
		if (strcmp(meta->set_id, sh->set_id)) {
			fleet_say("%s: of another capture set; ship takes one set at a time",
				  m.name);
			close_member(&m);
			return -1;
		}
		if (meta->file_seq < p->file_seq)
			p->file_seq = meta->file_seq;
		close_member(&m);
	}
	state = load_state(sh, p);
	if (state < 0)
		return -1;
	/*
	 * Nothing shipped yet: from the set's oldest file still there. A ring
	 * reuses names, so FILE.0 (as the unit names it) may hold a newer file
	 * than FILE.1 does.
	 */
	if (state > 0 && sh->base[0] && find_file(sh, 0, NULL, &after))
		p->file_seq = 0;
	else if (state > 0 && sh->base[0] && after && after < p->file_seq)
		p->file_seq = after;
	sh->first_seq = p->file_seq;
	sh->acked = sh->saved = *p;
	return 0;
}

/*
 * Does the stream still hold what it acknowledged? Under a limit with discard
 * new it refuses what it cannot take, yet nats-server before 2.10.5 can store
 * a message that overruns max_bytes and delete the stream's oldest to make
 * room (nats-server#4771): records acknowledged, then gone, with nothing said.
 * Ages and retention other than limits delete by design, and are not checked.
 */
static void check_stream_kept(struct shipper *sh, bool now)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	uint64_t first, from;

	if (!now && fleet_mono_ms() < sh->next_kept_check_ms)
		return;
	sh->next_kept_check_ms = fleet_mono_ms() + 5000;
	pthread_mutex_lock(&sh->mu);
	first = sh->first_stored;
	pthread_mutex_unlock(&sh->mu);
	if (!first || js_GetStreamInfo(&si, sh->c.js, sh->stream, NULL, &jerr) != NATS_OK)
		return;
	from = first > sh->first_held ? first : sh->first_held;
	if (si->Config->MaxAge == 0 && si->Config->Retention == js_LimitsPolicy &&
	    si->State.FirstSeq > from) {
		sh->deleted += si->State.FirstSeq - from;
		fleet_say_warning(
		    "stream %s deleted messages %" PRIu64 " to %" PRIu64
		    " after acknowledging them (this ship stored from %" PRIu64
		    "): records lost in the stream, which replay --nats counts as gaps; a stream "
		    "at max_bytes with discard new does this on nats-server before 2.10.5, where "
		    "max_msgs is safe",
		    sh->stream, from, si->State.FirstSeq - 1, first);
		sh->first_held = si->State.FirstSeq;
	}
	jsStreamInfo_Destroy(si);
}

/*
 * A batch's uncompressed bytes at most: compressed, with its headers, it
 * fits the server's max_payload and the stream's max_msg_size, whatever it
 * holds (zstd's bound: a 256th more, and a little).
 */
static void batch_limit(struct shipper *sh)
{
	int64_t cap = natsConnection_GetMaxPayload(sh->c.nc);

	if (cap <= 0 || cap > (1 << 20))
		cap = 1 << 20;
	if (sh->c.max_msg_size && sh->c.max_msg_size < cap)
		cap = sh->c.max_msg_size;
	cap -= 8192;
	sh->b.max_raw = cap > 4096 ? (size_t)(cap - cap / 256 - 1024) : 2048;
}

enum ship_step { SHIP_AGAIN, SHIP_END, SHIP_FAILED };

/* One file shipped (or followed, or said lost), or the next set: what comes next. */
static enum ship_step ship_step(struct shipper *sh, struct pos *p, struct mpt_fmt_ctx *fmt,
				struct strbuf *line, unsigned char *rec)
{
	bool follow = sh->o->follow;
	struct member m;
	uint32_t newest;

	if (find_file(sh, p->file_seq, &m, &newest)) {
		int r = ship_file(sh, &m, *p, fmt, line, rec);

		close_member(&m);
		if (r > 0) {
			*p = (struct pos){p->file_seq + 1, 0};
			save_state(sh, false);
			return SHIP_AGAIN;
		}
		if (r < 0)
			return SHIP_FAILED;
		return follow ? SHIP_AGAIN : SHIP_END;
	}
	if (newest > p->file_seq) {
		/* rotated away unshipped (newest: the next file there is): said, then on */
		if (publish_lost(sh, p->file_seq, newest - 1, fmt))
			return SHIP_FAILED;
		*p = (struct pos){newest, 0};
		return SHIP_AGAIN;
	}
	if (!follow)
		return SHIP_END;
	save_state(sh, false);
	check_stream_kept(sh, false);
	if (!next_set(sh, p))
		fleet_nap(500, sh->stop);
	return SHIP_AGAIN;
}

/* Publishing failed: said once per outage, back to what was acknowledged, a wait. */
static void ship_retry(struct shipper *sh, struct pos *p, int *backoff)
{
	drain_acks(sh);
	if (begin_outage(sh)) {
		fleet_say(
		    "publishing to NATS failed: %s; resending from the last acknowledged record "
		    "as soon as it works",
		    sh->why[0] ? sh->why : "no acknowledgment");
		*backoff = 250;
	}
	*p = rewind_to_acked(sh);
	save_state(sh, true);
	ship_metrics(sh);
	fleet_nap(*backoff, sh->stop);
	*backoff = *backoff < 4000 ? *backoff * 2 : 4000;
}

int mpt_ship(const struct mpt_ship_opts *o, volatile int *stop)
{
	static struct shipper sh;
	struct mpt_fmt_ctx fmt = {0};
	/* a record (at most 1 MiB) and its base64 after it */
	unsigned char *rec = malloc(3 * MPT_CAP_MAX_PAYLOAD);
	struct strbuf line;
	int backoff = 250, rc = 1;
	struct pos p;

	memset(&sh, 0, sizeof(sh));
	sb_init(&line);
	sb_init(&sh.b.raw);
	mpt_siphash_key(sh.b.proc_key);
	sh.o = o;
	sh.stop = stop;
	pthread_mutex_init(&sh.mu, NULL);
	pthread_cond_init(&sh.cond, NULL);
	sh.stream = o->nats->stream ? o->nats->stream : MPT_NATS_DEFAULT_STREAM;
	if (!rec) {
		fleet_say("out of memory");
		goto out;
	}
	if (ship_open_set(&sh, &fmt, &p))
		goto out;
	if (start_metrics(&sh)) {
		rc = 2;
		goto out;
	}
	if (fleet_connect(o->nats, true, stop, on_ack, &sh, &sh.c) ||
	    fleet_ensure_stream(&sh.c, sh.stream, sh.subject, o->nats->replicas, stop))
		goto out;
	batch_limit(&sh);
	while (!*stop) {
		enum ship_step st = ship_step(&sh, &p, &fmt, &line, rec);

		if (st == SHIP_AGAIN)
			continue;
		/* everything there is went out: done once all of it is acknowledged */
		if (st == SHIP_END && drain_acks(&sh)) {
			check_stream_kept(&sh, true);
			break;
		}
		ship_retry(&sh, &p, &backoff);
	}
	if (!*stop && !drain_acks(&sh))
		rewind_to_acked(&sh);
	save_state(&sh, true);
	if (sh.too_large)
		mpt_log_next(MPT_LOG_WARNING);
	mpt_notice(
	    "shipped %" PRIu64 " records to stream %s, subject %s (%" PRIu64 " already there)%s%s",
	    sh.shipped, sh.stream, sh.subject, sh.duplicates,
	    sh.files_lost ? "; capture files were lost before shipping" : "",
	    sh.too_large ? "; records too large for the server were not shipped (said)" : "");
	rc = 0;
out:
	if (sh.c.nc)
		fleet_disconnect(&sh.c);
	fleet_library_close();
	mpt_metrics_free(sh.metrics);
	sb_free(&line);
	sb_free(&sh.b.raw);
	mpt_keyset_free(&sh.b.procs);
	ZSTD_freeCCtx(sh.b.zc);
	free(sh.b.packed);
	free(rec);
	return rc;
}
