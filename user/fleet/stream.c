// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* replay --nats: the stream's events, each capture set's in its order, down the pipeline. */
#include "fleet/fleet_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "context/lineage.h"
#include "util/keyset.h"
#include "util/siphash.h"

/*
 * A set's messages in the capture's order. Each names the message before it
 * (Mptrace-Prev); one that arrives before its predecessor (resent after a
 * failure, while later ones were already stored) waits for it. A predecessor
 * that never comes (the replay began later, --since) releases the waiting
 * ones in the capture's order once too many wait, or at the end.
 */
#define HOLD_MAX 8192

struct held {
	natsMsg *m;
	char id[160], prev[160];
	unsigned long long seq, off;
};

struct set_order {
	char set[64];
	char last[160];	 /* the id of the message put out last */
	bool past_until; /* an event of this set came after --until: the rest will too */
	struct held *h;
	size_t n, cap;
};

struct replay {
	struct mpt_pipe *pipe;
	/*
	 * A message stored twice (resent past the stream's duplicate window) is
	 * put out once; one whose predecessor never came is a gap: messages the
	 * stream lost (discarded, deleted). Both are counted.
	 */
	struct mpt_keyset seen; /* the ids put out (a batch's records' too), hashed */
	struct mpt_keyset held; /* the ids held back for their predecessor, ever */
	/*
	 * Keyed: whoever can publish to the stream chooses ids, and with an
	 * unkeyed hash could make one that a record to come collides with, which
	 * would then be taken as put out already and left out.
	 */
	uint8_t id_key[16];
	struct mpt_stream_counts *n;
	const char *stream;
	/*
	 * The stream's last sequence as its leader said it when the read began,
	 * when the subject read takes all the stream holds; else 0. The ordered
	 * consumer may read a replica still catching up (a node restarted): its
	 * count of what is pending ends there, the stream does not.
	 */
	uint64_t last_seq;
	/*
	 * The read names an event (mptrace.HOST.EVENT...): it takes a part of
	 * each set, whose links name messages it never reads. Put out in the
	 * stream's order, each once; gaps cannot be told.
	 */
	bool part;
	struct mpt_cap_event_buf buf;
	struct mpt_cap_proc proc;
	struct set_order *sets;
	size_t n_sets;
};

static struct set_order *set_of(struct replay *rp, const char *id);

/* A message id, hashed for the sets of those put out and held. */
static uint64_t id_hash(const struct replay *rp, const char *id)
{
	return mpt_siphash(rp->id_key, id, strlen(id));
}

/* A set's records are in its order: once one is past --until, the rest of the set is. */
static void mark_past_until(struct replay *rp, const char *id)
{
	struct set_order *so = *id ? set_of(rp, id) : NULL;

	if (so)
		so->past_until = true;
}

/*
 * Has --until been passed for good? A message stored more than the clocks'
 * slack after it, with every set seen past it and none held back. A set first stored later still
 * (its shipper down that long) is not waited for: reading on would read the whole stream, which
 * --until is there to spare.
 */
static bool past_until(const struct replay *rp, int64_t stored_ns)
{
	int64_t until = rp->pipe->window.until_ns;

	if (!until || !rp->n_sets || stored_ns <= until + SINCE_SLACK_NS)
		return false;
	for (size_t i = 0; i < rp->n_sets; i++)
		if (!rp->sets[i].past_until || rp->sets[i].n)
			return false;
	return true;
}

/* A drop record: on stderr, as a file replay says it (stdout stays the live output's bytes). */
static void replay_drop(struct replay *rp, natsMsg *m, const char *rec,
			const struct mpt_fmt_ctx *fmt)
{
	unsigned long long count, first, last;
	struct mpt_report *report = rp->pipe->report;
	unsigned int cause;

	if (sscanf(rec, "%u %llu %llu %llu", &cause, &count, &first, &last) != 4)
		return;
	fprintf(
	    stderr, "mptrace: %s: %llu calls lost (%s) between %lld and %lld ns since the epoch\n",
	    natsMsg_GetSubject(m), count, mpt_cap_drop_cause(cause),
	    (long long)(first + fmt->boot_to_wall_ns), (long long)(last + fmt->boot_to_wall_ns));
	rp->n->dropped += count;
	if (report)
		mpt_report_loss(report, mpt_cap_drop_cause(cause), count,
				(int64_t)(first + fmt->boot_to_wall_ns),
				(int64_t)(last + fmt->boot_to_wall_ns), 0);
}

/*
 * An encoded event record of message @id down the pipeline, its caller from
 * @procs (a batch's processes) when the record does not carry its lineage:
 * 0, or -1 (said).
 */
static int replay_event(struct replay *rp, const char *id, const unsigned char *raw, size_t n,
			const struct mpt_fmt_ctx *fmt, const struct mpt_lineage *procs)
{
	int64_t until = rp->pipe->window.until_ns, wall;
	const char *why = "not base64";
	struct mpt_cap_item it;

	memset(&it, 0, sizeof(it));
	if (!raw || mpt_cap_event_decode(&rp->buf, raw, n, &it, &why)) {
		fleet_say("stream %s: a message that is not an mptrace record (%s)", rp->stream,
			  why);
		return -1;
	}
	mpt_cap_event_link(&rp->buf, &it, procs);
	rp->n->events++;
	wall = (int64_t)it.view.hdr->ts_boot_ns + fmt->boot_to_wall_ns;
	if (until && wall > until)
		mark_past_until(rp, id);
	return mpt_pipe_event(rp->pipe, &it.view, fmt) < 0 ? -1 : 0;
}

/*
 * A batch: each record not put out before (batches that overlap, from a
 * resend) in its turn, with the processes the batch carries; @last names
 * the last one. 0, or -1 (said).
 */
static int replay_batch(struct replay *rp, natsMsg *m, const struct mpt_fmt_ctx *fmt, char *last,
			size_t len)
{
	const char *id = fleet_header(m, "Nats-Msg-Id"), *why = NULL;
	size_t n = 0, pos = 0, set_len = strcspn(id, ":");
	unsigned char *raw =
	    fleet_batch_unpack(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &n, &why);
	struct mpt_lineage *procs = NULL;
	const unsigned char *p;
	unsigned long long file;
	uint64_t off;
	uint32_t size;
	uint8_t kind;
	int r = -1, seen;

	if (raw && sscanf(id + set_len, ":%llu:", &file) == 1)
		while ((r = fleet_batch_next(raw, n, &pos, &kind, &off, &p, &size)) > 0) {
			/* not a record of the capture: what its events name, whether put out or not
			 */
			if (kind == FLEET_REC_PROCESS) {
				if (mpt_cap_proc_add(&procs, &rp->proc, p, size))
					break;
				continue;
			}
			snprintf(last, len, "%.*s:%llu:%" PRIu64, (int)set_len, id, file, off);
			if ((seen = mpt_keyset_add(&rp->seen, id_hash(rp, last))) < 0)
				break;
			rp->n->duplicates += seen;
			if (seen)
				continue;
			if (kind == FLEET_REC_EVENT && replay_event(rp, id, p, size, fmt, procs))
				break;
			if (kind == FLEET_REC_DROP) {
				char rec[128];

				snprintf(rec, sizeof(rec), "%.*s", (int)(size < 127 ? size : 127),
					 p);
				replay_drop(rp, m, rec, fmt);
			}
		}
	if (r)
		fleet_say("stream %s: batch %s cannot be read (%s)", rp->stream, id,
			  !raw	  ? why
			  : r > 0 ? "a record in it"
				  : "torn");
	mpt_lineage_free(procs);
	free(raw);
	return r ? -1 : 0;
}

/*
 * One message, in its turn: an event down the pipeline, a drop or a loss
 * said, a batch's records each. @last: the id a successor names. 0, or -1.
 */
static int replay_one(struct replay *rp, natsMsg *m, char *last, size_t len)
{
	const char *kind = fleet_header(m, "Mptrace-Kind"), *id = fleet_header(m, "Nats-Msg-Id");
	int seen = *id ? mpt_keyset_add(&rp->seen, id_hash(rp, id)) : 0;
	struct mpt_fmt_ctx fmt;
	struct fleet_ctx_buf cb;

	snprintf(last, len, "%s", id);
	if (seen < 0) {
		fleet_say("out of memory");
		return -1;
	}
	/* put out already: its record came in a batch while it waited */
	if (seen) {
		rp->n->duplicates++;
		return 0;
	}
	fleet_parse_context(fleet_header(m, "Mptrace-Context"), &fmt, &cb);
	if (!strcmp(kind, "event")) {
		size_t n = 0;
		unsigned char *raw = fleet_unb64(fleet_header(m, "Mptrace-Record"), &n);
		int rc = replay_event(rp, id, raw, n, &fmt, NULL);

		free(raw);
		return rc;
	} else if (!strcmp(kind, "batch")) {
		return replay_batch(rp, m, &fmt, last, len);
	} else if (!strcmp(kind, "drop")) {
		replay_drop(rp, m, fleet_header(m, "Mptrace-Record"), &fmt);
	} else if (!strcmp(kind, "lost")) {
		fprintf(stderr, "mptrace: %s: %.*s\n", natsMsg_GetSubject(m),
			natsMsg_GetDataLength(m), natsMsg_GetData(m));
	}
	return 0;
}

static struct set_order *set_of(struct replay *rp, const char *id)
{
	size_t len = strcspn(id, ":");
	struct set_order *p;

	for (size_t i = 0; i < rp->n_sets; i++)
		if (strlen(rp->sets[i].set) == len && !strncmp(rp->sets[i].set, id, len))
			return &rp->sets[i];
	p = realloc(rp->sets, (rp->n_sets + 1) * sizeof(*p));
	if (!p)
		return NULL;
	rp->sets = p;
	p = &rp->sets[rp->n_sets++];
	memset(p, 0, sizeof(*p));
	snprintf(p->set, sizeof(p->set), "%.*s", (int)(len < 63 ? len : 63), id);
	return p;
}

/*
 * Does a message naming @prev come now: its predecessor was put out last, or
 * put out already (a batch resent over records another batch had)?
 */
static bool follows(const struct replay *rp, const struct set_order *so, const char *prev)
{
	return !*prev || rp->part || !strcmp(prev, so->last) ||
	       mpt_keyset_has(&rp->seen, id_hash(rp, prev));
}

/* Put out held message @i, then whatever waited for it. */
static int release(struct replay *rp, struct set_order *so, size_t i)
{
	/* its predecessor never came; at the start of a --since window, none is expected */
	if (!follows(rp, so, so->h[i].prev) && (so->last[0] || !rp->pipe->window.since_ns))
		rp->n->gaps++;
	for (;;) {
		struct held h = so->h[i];
		int rc;

		so->h[i] = so->h[--so->n];
		rc = replay_one(rp, h.m, so->last, sizeof(so->last));
		natsMsg_Destroy(h.m);
		if (rc)
			return rc;
		for (i = 0; i < so->n && !follows(rp, so, so->h[i].prev); i++)
			;
		if (i == so->n)
			return 0;
	}
}

/* The waiting message earliest in the capture: by file, then offset. */
static size_t earliest(const struct set_order *so)
{
	size_t best = 0;

	for (size_t i = 1; i < so->n; i++)
		if (so->h[i].seq < so->h[best].seq ||
		    (so->h[i].seq == so->h[best].seq && so->h[i].off < so->h[best].off))
			best = i;
	return best;
}

/* A message from the stream: now, or once its predecessor was put out. Takes @m. */
static int replay_in_order(struct replay *rp, natsMsg *m)
{
	const char *id = fleet_header(m, "Nats-Msg-Id"), *prev = fleet_header(m, "Mptrace-Prev");
	struct set_order *so = *id ? set_of(rp, id) : NULL;
	struct held *h;
	uint64_t key = id_hash(rp, id);

	if (*id && (mpt_keyset_has(&rp->seen, key) || mpt_keyset_has(&rp->held, key))) {
		natsMsg_Destroy(m);
		rp->n->duplicates++;
		return 0;
	}
	if (!so || follows(rp, so, prev)) {
		char last[160];
		int rc =
		    replay_one(rp, m, so ? so->last : last, so ? sizeof(so->last) : sizeof(last));

		natsMsg_Destroy(m);
		for (size_t i = 0; !rc && so && i < so->n; i++)
			if (follows(rp, so, so->h[i].prev))
				return release(rp, so, i);
		return rc;
	}
	if (mpt_keyset_add(&rp->held, key) < 0) {
		natsMsg_Destroy(m);
		fleet_say("out of memory");
		return -1;
	}
	if (so->n == so->cap) {
		size_t cap = so->cap ? 2 * so->cap : 64;
		struct held *p = realloc(so->h, cap * sizeof(*p));

		if (!p) {
			natsMsg_Destroy(m);
			fleet_say("out of memory");
			return -1;
		}
		so->h = p;
		so->cap = cap;
	}
	h = &so->h[so->n++];
	h->m = m;
	snprintf(h->id, sizeof(h->id), "%s", id);
	snprintf(h->prev, sizeof(h->prev), "%s", prev);
	h->seq = h->off = 0;
	sscanf(id + strcspn(id, ":"), ":%llu:%llu", &h->seq, &h->off);
	return so->n > HOLD_MAX ? release(rp, so, earliest(so)) : 0;
}

/* The end: what still waits goes out in the capture's order. */
static int replay_flush(struct replay *rp)
{
	for (size_t s = 0; s < rp->n_sets; s++) {
		struct set_order *so = &rp->sets[s];

		while (so->n)
			if (release(rp, so, earliest(so)))
				return -1;
	}
	return 0;
}

/* An ordered consumer of the stream, from --since's slack before it: 0, or -1 said. */
static int replay_subscribe(struct replay *rp, struct fleet_conn *c, const char *subject,
			    natsSubscription **sub)
{
	int64_t since = rp->pipe->window.since_ns;
	jsErrCode jerr = 0;
	jsSubOptions so;
	natsStatus s;

	jsSubOptions_Init(&so);
	so.Stream = rp->stream;
	so.Ordered = true;
	if (since) {
		/*
		 * The server's clock stamps a message when it is stored, the event's
		 * own (the tracer's boot-to-wall offset) when it happened: they can
		 * disagree by more than the shipper's lag. Start well before, and let
		 * the events' own times decide (the pipeline's window).
		 */
		so.Config.DeliverPolicy = js_DeliverByStartTime;
		so.Config.OptStartTime = since - SINCE_SLACK_NS;
	}
	s = js_SubscribeSync(sub, c->js, subject, NULL, &so, &jerr);
	if (s != NATS_OK) {
		fleet_say("reading stream %s, subject %s: %s", rp->stream, subject, fleet_error(s));
		return -1;
	}
	return 0;
}

/* Is @seq among the @n deleted sequences @del? */
static bool deleted(const uint64_t *del, int n, uint64_t seq)
{
	for (int i = 0; i < n; i++)
		if (del[i] == seq)
			return true;
	return false;
}

/*
 * The stream's last message still there, if @subject takes every subject it
 * holds; else 0. The stream's last sequence stays when its message is
 * deleted: the deleted ones at the end are not waited for.
 */
static uint64_t whole_stream_last(struct fleet_conn *c, const char *stream, const char *subject)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	uint64_t last = 0;
	jsOptions o;

	jsOptions_Init(&o);
	o.Stream.Info.DeletedDetails = true;
	if (js_GetStreamInfo(&si, c->js, stream, &o, &jerr) != NATS_OK)
		return 0;
	last = si->State.LastSeq;
	while (last >= si->State.FirstSeq && last &&
	       deleted(si->State.Deleted, si->State.DeletedLen, last))
		last--;
	for (int i = 0; i < si->Config->SubjectsLen; i++)
		if (!fleet_subject_matches(subject, si->Config->Subjects[i]))
			last = 0;
	jsStreamInfo_Destroy(si);
	return last;
}

/* Every message to the stream's end (or --until's): 0, or -1 said. */
static int replay_read(struct replay *rp, natsSubscription *sub, volatile int *stop)
{
	uint64_t seq = 0;
	bool caught_up = false; /* the consumer had nothing pending at the last message */

	for (uint64_t got = 0; !*stop; got++) {
		natsMsg *m = NULL;
		jsMsgMetaData *md = NULL;
		int64_t stored = 0;
		bool last = false;
		natsStatus s;

		/* an empty stream says nothing: a quiet two seconds is its end */
		s = natsSubscription_NextMsg(&m, sub, got || rp->last_seq ? 10000 : 2000);
		if (s == NATS_TIMEOUT && !got && !rp->last_seq)
			break;
		if (s == NATS_TIMEOUT && caught_up) {
			/* its last messages deleted since it began, or a replica that stays behind
			 */
			fleet_say_warning(
			    "stream %s: the read ended at sequence %llu, its leader said %llu "
			    "when it began: what is between was not read",
			    rp->stream, (unsigned long long)seq, (unsigned long long)rp->last_seq);
			break;
		}
		if (s != NATS_OK) {
			fleet_say("reading stream %s: %s (at sequence %llu of %llu)", rp->stream,
				  fleet_error(s), (unsigned long long)seq,
				  (unsigned long long)rp->last_seq);
			return -1;
		}
		if (natsMsg_GetMetaData(&md, m) == NATS_OK) {
			seq = md->Sequence.Stream;
			caught_up = md->NumPending == 0;
			last = caught_up && seq >= rp->last_seq;
			stored = md->Timestamp;
			jsMsgMetaData_Destroy(md);
		}
		if (replay_in_order(rp, m))
			return -1;
		if (last || past_until(rp, stored) || rp->pipe->done)
			break;
	}
	return 0;
}

/* Does @subject name an event (a third token other than ">"), so taking part of each set? */
static bool reads_part(const char *subject)
{
	const char *third;

	if (strncmp(subject, "mptrace.", 8) || !(third = strchr(subject + 8, '.')))
		return false;
	return strcmp(third + 1, ">") != 0;
}

/* Does @stream hold batches (ship --batch), which no event's subject takes? */
static bool holds_batches(struct fleet_conn *c, const char *stream)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	jsOptions jo;
	bool yes;

	jsOptions_Init(&jo);
	jo.Stream.Info.SubjectsFilter = "mptrace.*.batch";
	if (js_GetStreamInfo(&si, c->js, stream, &jo, &jerr) != NATS_OK)
		return false;
	yes = si->State.Subjects && si->State.Subjects->Count > 0;
	jsStreamInfo_Destroy(si);
	return yes;
}

/*
 * A subject that names an event reads a part, said. Batches mix events:
 * --event's subject gives way to the whole stream when there are any, and
 * a subject given is warned that it misses them. The subject to read.
 */
static const char *choose_part(struct replay *rp, struct fleet_conn *c,
			       const struct mpt_nats_opts *o, const char *subject)
{
	rp->part = reads_part(subject);
	if (rp->part && holds_batches(c, rp->stream)) {
		if (o->subject_from_event) {
			rp->part = false;
			return "mptrace.>";
		}
		fleet_say_warning("stream %s holds batches (ship --batch, on mptrace.HOST.batch), "
				  "which subject %s does not take: their events are not read",
				  rp->stream, subject);
	}
	if (rp->part)
		mpt_notice("subject %s is a part of each capture set: its events come in the "
			   "stream's order, and neither gaps nor the losses on mptrace.HOST.meta "
			   "are told",
			   subject);
	return subject;
}

int mpt_stream_replay(const struct mpt_nats_opts *o, struct mpt_pipe *pipe,
		      struct mpt_stream_counts *counts, volatile int *stop)
{
	const char *subject = o->subject ? o->subject : "mptrace.>";
	struct replay rp = {.pipe = pipe, .n = counts};
	natsSubscription *sub = NULL;
	struct fleet_conn c = {0};
	int rc = -1;

	memset(counts, 0, sizeof(*counts));
	mpt_siphash_key(rp.id_key);
	rp.stream = o->stream ? o->stream : MPT_NATS_DEFAULT_STREAM;
	if (!fleet_connect(o, false, stop, NULL, NULL, &c)) {
		subject = choose_part(&rp, &c, o, subject);
		rp.last_seq = whole_stream_last(&c, rp.stream, subject);
		if (!replay_subscribe(&rp, &c, subject, &sub) && !replay_read(&rp, sub, stop) &&
		    !replay_flush(&rp))
			rc = 0;
	}
	for (size_t i = 0; i < rp.n_sets; i++) {
		for (size_t k = 0; k < rp.sets[i].n; k++)
			natsMsg_Destroy(rp.sets[i].h[k].m);
		free(rp.sets[i].h);
	}
	free(rp.sets);
	mpt_keyset_free(&rp.seen);
	mpt_keyset_free(&rp.held);
	/*
	 * The connection closes first: its reader thread may still be handing
	 * messages to a subscription left early (--until), which must not be
	 * freed under it.
	 */
	if (c.nc)
		natsConnection_Close(c.nc);
	natsSubscription_Destroy(sub);
	if (c.nc)
		fleet_disconnect(&c);
	fleet_library_close();
	mpt_cap_event_buf_free(&rp.buf);
	return rc;
}
