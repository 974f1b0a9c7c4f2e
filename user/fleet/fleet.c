// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The fleet: captures shipped to NATS JetStream, and replayed from it
 * (docs/fleet.md).
 *
 * The capture is the spool. `ship` reads it record by record and publishes
 * each one asynchronously, with a Nats-Msg-Id made of the capture set's id,
 * the file's number and the record's offset: the same after any restart, so
 * JetStream's duplicate window drops what is sent twice. The state file moves
 * only over records acknowledged without a gap; any failure rewinds to it.
 * While the servers are away nothing is read, and the capture keeps it all.
 *
 * A message's body is the JSON line `replay --format json` prints for the
 * record; its headers carry the record itself and what formatting needs, so
 * `replay --nats` prints exactly what a replay of the capture prints.
 */
#define _GNU_SOURCE
#include "fleet/fleet.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <nats/nats.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "detect/detect.h"
#include "decode/format.h"
#include "util/fsutil.h"
#include "report/report.h"
#include "util/keyset.h"
#include "util/log.h"
#include "metrics/metrics.h"
#include "util/strbuf.h"

#define DEFAULT_URL "nats://127.0.0.1:4222"
#define DEFAULT_STREAM "MPTRACE"
#define IN_FLIGHT 4096			       /* publishes awaiting their ack, at most */
#define ACK_WAIT_MS 10000		       /* an ack later than this is a failure: rewind */
#define DUP_WINDOW_NS (3600ll * 1000000000)    /* a stream ship creates drops resends this long */
#define MIN_DUP_WINDOW_NS (120ll * 1000000000) /* an existing stream's, at least (the default) */
/* The server refuses a message over the stream's max_msg_size (JSStreamMessageExceedsMaximumErr) */
#define JS_MSG_TOO_LARGE 10054
#define SINCE_SLACK_NS (600ll * 1000000000) /* replay --since: the clocks may disagree */
#define MIN_MSG_SIZE (64 * 1024)	    /* a message: a record, its JSON and headers */
#define STATE_EVERY_MS 200

/* ---- connection ---------------------------------------------------------- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mptrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* What is wrong but waited out: a warning in the journal (routine news: mpt_notice). */
#define say_warning(...)                                                                           \
	(mpt_log_next(MPT_LOG_WARNING), say(__VA_ARGS__), mpt_log_next(MPT_LOG_ERR))

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep up to @ms, in steps, returning early on a stop. */
static void nap(int ms, volatile int *stop)
{
	for (int64_t end = mono_ms() + ms; !*stop && mono_ms() < end;)
		usleep(20 * 1000);
}

/*
 * @urls as said on stderr (a journal many can read): "nats://u:***@h:4222".
 * A password in a URL shows in ps too: --config or --creds keep it out.
 */
static const char *redacted(const char *urls, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = urls; *p && o + 4 < len; p++) {
		const char *at = strpbrk(p, "@,"), *colon;

		/* "scheme://" then "user:pass@": the password runs from the ':' to the '@' */
		if (p[0] == '/' && p[1] == '/' && at && *at == '@' &&
		    (colon = memchr(p + 2, ':', at - p - 2))) {
			int n = snprintf(out + o, len - o, "%.*s:***", (int)(colon - p), p);

			o += n > 0 && (size_t)n < len - o ? (size_t)n : 0;
			p = at - 1;
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
	return out;
}

/*
 * "nats://a:4222,tls://b:4222": each a URL nats.c can take. @tls: one of
 * them asks for TLS, which nats.c alone does not insist on (a plaintext
 * server would be sent to in the clear): then every server must speak it.
 */
static int split_urls(const char *urls, char ***out, int *n, bool *tls)
{
	char *copy = strdup(urls), *save, *tok;
	char **list = calloc(64, sizeof(*list));

	*n = 0;
	if (!copy || !list) {
		free(copy);
		free(list);
		return -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok && *n < 64; tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "nats://", 7) && strncmp(tok, "tls://", 6)) {
			char shown[1024];

			say("bad NATS URL '%s': nats://HOST:PORT or tls://HOST:PORT",
			    redacted(tok, shown, sizeof(shown)));
			free(copy);
			free(list);
			return -1;
		}
		*tls |= !strncmp(tok, "tls://", 6);
		list[(*n)++] = strdup(tok);
	}
	free(copy);
	*out = list;
	return *n ? 0 : -1;
}

struct conn {
	natsConnection *nc;
	jsCtx *js;
};

/* A refusal that waiting will not cure. */
static bool fatal_status(natsStatus s)
{
	return s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED || s == NATS_SSL_ERROR ||
	       s == NATS_INVALID_ARG || s == NATS_SECURE_CONNECTION_WANTED ||
	       s == NATS_SECURE_CONNECTION_REQUIRED;
}

static const char *last_error(natsStatus s)
{
	const char *text = nats_GetLastError(NULL);

	if (!text || !*text)
		return natsStatus_GetText(s);
	/* "(conn.c:1905): Authorization Violation": the library's place is no help */
	if (*text == '(' && strstr(text, "): "))
		return strstr(text, "): ") + 3;
	return text;
}

/*
 * Connect; with @wait, keep trying while the servers are away (said once).
 * Returns 0, or -1 after saying why.
 */
static int nats_open(const struct mpt_nats_opts *o, bool wait, volatile int *stop,
		     jsPubAckHandler on_ack, void *closure, struct conn *c)
{
	const char *urls = o->urls ? o->urls : DEFAULT_URL;
	natsOptions *opts = NULL;
	jsOptions jo;
	char **list = NULL;
	bool waiting = false, tls = o->tls || o->tls_ca || o->tls_cert;
	char shown[1024];
	natsStatus s;
	int n = 0, rc = -1;

	memset(c, 0, sizeof(*c));
	if (split_urls(urls, &list, &n, &tls))
		return -1;
	s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(opts, (const char **)list, n);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(opts, 500);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, 2000);
	/* a server that vanished without a word is noticed within seconds */
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(opts, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(opts, 2);
	if (s == NATS_OK && tls)
		s = natsOptions_SetSecure(opts, true);
	if (s == NATS_OK && o->tls_ca)
		s = natsOptions_LoadCATrustedCertificates(opts, o->tls_ca);
	if (s == NATS_OK && o->tls_cert)
		s = natsOptions_LoadCertificatesChain(opts, o->tls_cert, o->tls_key);
	if (s == NATS_OK && o->creds)
		s = natsOptions_SetUserCredentialsFromFiles(opts, o->creds, NULL);
	if (s != NATS_OK) {
		say("NATS settings refused: %s", last_error(s));
		goto out;
	}
	for (;;) {
		s = natsConnection_Connect(&c->nc, opts);
		if (s == NATS_OK)
			break;
		if (fatal_status(s) || !wait) {
			say("cannot connect to NATS at %s: %s",
			    redacted(urls, shown, sizeof(shown)), last_error(s));
			goto out;
		}
		if (!waiting)
			say_warning("waiting for NATS at %s: %s",
				    redacted(urls, shown, sizeof(shown)), last_error(s));
		waiting = true;
		nap(1000, stop);
		if (*stop)
			goto out;
	}
	if (waiting)
		mpt_notice("connected to NATS at %s", redacted(urls, shown, sizeof(shown)));
	jsOptions_Init(&jo);
	jo.Wait = 5000;
	jo.PublishAsync.MaxPending = IN_FLIGHT;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = closure;
	s = natsConnection_JetStream(&c->js, c->nc, &jo);
	if (s != NATS_OK) {
		say("JetStream unavailable: %s", last_error(s));
		goto out;
	}
	rc = 0;
out:
	if (rc && c->nc) {
		natsConnection_Destroy(c->nc);
		c->nc = NULL;
	}
	natsOptions_Destroy(opts);
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return rc;
}

static void nats_close(struct conn *c)
{
	jsCtx_Destroy(c->js);
	natsConnection_Destroy(c->nc);
	memset(c, 0, sizeof(*c));
}

/* Does subject filter @pat ("mptrace.>", "a.*.c") take @subj? */
static bool subject_matches(const char *pat, const char *subj)
{
	while (*pat && *subj) {
		const char *pe = strchr(pat, '.'), *se = strchr(subj, '.');
		size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
		size_t sl = se ? (size_t)(se - subj) : strlen(subj);

		if (pl == 1 && *pat == '>')
			return true;
		if (!(pl == 1 && *pat == '*') && (pl != sl || strncmp(pat, subj, pl)))
			return false;
		pat += pl + (pe != NULL);
		subj += sl + (se != NULL);
		if (!pe || !se)
			return !pe && !se;
	}
	return false;
}

/*
 * JetStream answers but cannot act yet: servers that just started are still
 * electing the cluster's leader, or have not yet met the peers an R3 stream
 * needs. Waited out, as a server that is down is.
 */
static bool jetstream_forming(natsStatus s, jsErrCode jerr)
{
	return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || jerr == JSClusterNoPeersErr ||
	       jerr == JSClusterNotActiveErr || jerr == JSClusterNotAssignedErr ||
	       jerr == JSClusterNotAvailErr || jerr == JSClusterNotLeaderErr;
}

static int ensure_stream_once(struct conn *c, const char *stream, const char *subject,
			      uint32_t replicas, natsStatus *st, jsErrCode *je);

/* The stream exists and takes @subject; created if missing. 0, or -1 after saying why. */
static int ensure_stream(struct conn *c, const char *stream, const char *subject, uint32_t replicas,
			 volatile int *stop)
{
	bool waiting = false;
	natsStatus s;
	jsErrCode jerr;
	int rc;

	while ((rc = ensure_stream_once(c, stream, subject, replicas, &s, &jerr))) {
		if (rc == -2)
			return -1;
		if (!jetstream_forming(s, jerr) || *stop) {
			say("stream %s: %s (JetStream error %d)", stream, last_error(s), (int)jerr);
			return -1;
		}
		if (!waiting)
			say_warning(
			    "waiting for JetStream to take stream %s: %s (JetStream error %d)",
			    stream, last_error(s), (int)jerr);
		waiting = true;
		nap(1000, stop);
	}
	if (waiting)
		mpt_notice("JetStream takes stream %s", stream);
	return 0;
}

/*
 * An existing stream: does it take @subject, and keep what it acknowledges?
 * Discarding old messages at a limit deletes records it acknowledged, with
 * nothing said; a short duplicate window stores a resend twice; a small
 * message limit refuses records forever. 0, or -2 after saying why.
 */
static int stream_usable(const jsStreamConfig *cfg, const char *stream, const char *subject)
{
	bool covered = false, limited = cfg->MaxMsgs > 0 || cfg->MaxBytes > 0 || cfg->MaxAge > 0 ||
					cfg->MaxMsgsPerSubject > 0;

	for (int i = 0; i < cfg->SubjectsLen; i++)
		covered |= subject_matches(cfg->Subjects[i], subject);
	if (!covered)
		say("stream %s exists and does not take subject %s: a configuration conflict "
		    "(give --stream or --subject)",
		    stream, subject);
	else if (limited && cfg->Discard == js_DiscardOld)
		say("stream %s discards old messages at its limits (max_msgs %lld, max_bytes %lld, "
		    "max_age %lld s): records it acknowledged would be deleted with nothing said; "
		    "use discard new, or no limits",
		    stream, (long long)cfg->MaxMsgs, (long long)cfg->MaxBytes,
		    (long long)(cfg->MaxAge / 1000000000));
	else if (cfg->Duplicates < MIN_DUP_WINDOW_NS)
		say("stream %s keeps duplicates for %lld s: a record resent after a restart or an "
		    "outage would be stored twice; %d s at least",
		    stream, (long long)(cfg->Duplicates / 1000000000),
		    (int)(MIN_DUP_WINDOW_NS / 1000000000));
	else if (cfg->MaxMsgSize > 0 && cfg->MaxMsgSize < MIN_MSG_SIZE)
		say("stream %s refuses messages over %d bytes: records would be refused forever; "
		    "%d at least",
		    stream, (int)cfg->MaxMsgSize, MIN_MSG_SIZE);
	else
		return 0;
	return -2;
}

/* One try: 0; -1 with the status in @st, @je; -2 for a configuration conflict, said. */
static int ensure_stream_once(struct conn *c, const char *stream, const char *subject,
			      uint32_t replicas, natsStatus *st, jsErrCode *je)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, c->js, stream, NULL, &jerr);

	*st = NATS_OK;
	*je = 0;

	if (s == NATS_OK) {
		int rc = stream_usable(si->Config, stream, subject);

		jsStreamInfo_Destroy(si);
		return rc;
	}
	if (s == NATS_NOT_FOUND) {
		/* every host's subject, unless the subject given is outside mptrace.> */
		const char *subjects[] = {subject_matches("mptrace.>", subject) ? "mptrace.>"
										: subject};
		jsStreamConfig cfg;

		jsStreamConfig_Init(&cfg);
		cfg.Name = stream;
		cfg.Subjects = subjects;
		cfg.SubjectsLen = 1;
		cfg.Replicas = replicas ? replicas : 1;
		cfg.Duplicates = DUP_WINDOW_NS;
		s = js_AddStream(&si, c->js, &cfg, NULL, &jerr);
		if (s == NATS_OK) {
			jsStreamInfo_Destroy(si);
			mpt_notice("created stream %s (subjects %s, %d replicas)", stream,
				   subjects[0], (int)cfg.Replicas);
			return 0;
		}
	}
	*st = s;
	*je = jerr;
	return -1;
}

/* ---- base64, for the record in a header ------------------------------------------ */

/* @p in base64, into @out (4 * ((n + 2) / 3) + 1 bytes). */
static char *b64(const unsigned char *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

static unsigned char *unb64(const char *s, size_t *n)
{
	size_t len = strlen(s), pad = 0;
	unsigned char *out;
	int got;

	if (len % 4)
		return NULL;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (got < 0) {
		free(out);
		return NULL;
	}
	pad = len && s[len - 1] == '=' ? 1 + (len > 1 && s[len - 2] == '=') : 0;
	*n = (size_t)got - pad;
	return out;
}

/* ---- ship -------------------------------------------------------------------- */

/* Where shipping stands: everything before (file, offset) of the set is acknowledged. */
struct pos {
	uint32_t file_seq;
	uint64_t offset;
};

struct slot {
	struct pos next; /* the position once this message is acknowledged */
	int64_t wall_ns; /* the event's time; 0 for other records */
	bool acked;
};

struct shipper {
	const struct mpt_cli *cli;
	struct conn c;
	const char *stream, *subject;
	char subject_buf[300];
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
	bool idle;	    /* at the end of the newest file, waiting for more */
};

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

	if (!sh->metrics || mono_ms() < sh->next_metrics_ms)
		return;
	sh->next_metrics_ms = mono_ms() + METRICS_EVERY_MS;
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
			sh->duplicates += pa->Duplicate;
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
			sh->tail++;
			sh->shipped++;
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

	if (!sh->cli->nats.state)
		return;
	pthread_mutex_lock(&sh->mu);
	p = sh->acked;
	pthread_mutex_unlock(&sh->mu);
	if (!force && (mono_ms() < sh->next_save ||
		       (p.file_seq == sh->saved.file_seq && p.offset == sh->saved.offset)))
		return;
	sh->next_save = mono_ms() + STATE_EVERY_MS;
	n = snprintf(buf, sizeof(buf),
		     "{\"setId\":\"%s\",\"fileSeq\":%u,\"offset\":%" PRIu64 ",\"stream\":\"%s\","
		     "\"subject\":\"%s\"}\n",
		     sh->set_id, p.file_seq, p.offset, sh->stream, sh->subject);
	snprintf(tmp, sizeof(tmp), "%s.tmp", sh->cli->nats.state);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, n) != n || fsync(fd))
		err = errno ? errno : EIO;
	if (fd >= 0 && close(fd) && !err)
		err = errno;
	if (!err && rename(tmp, sh->cli->nats.state))
		err = errno;
	/* tried every STATE_EVERY_MS: said when it begins to fail and when it works again */
	if (err) {
		if (!sh->state_failing)
			say("writing the state %s failed: %s; retried, and said when it works",
			    sh->cli->nats.state, strerror(err));
		sh->state_failing = true;
		return;
	}
	if (sh->state_failing)
		mpt_notice("writing the state %s works again", sh->cli->nats.state);
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

	if (!sh->cli->nats.state || access(sh->cli->nats.state, F_OK))
		return 1;
	fd = mpt_open_regular(sh->cli->nats.state, 4096, err, sizeof(err));
	if (fd < 0) {
		say("state %s", err);
		return -1;
	}
	j = json_loadfd(fd, 0, &jerr);
	close(fd);
	if (!j) {
		say("state %s is not JSON: %s", sh->cli->nats.state, jerr.text);
		return -1;
	}
	/*
	 * A new capture set (the daemon began one: files removed, or the newest
	 * unreadable): shipped from its start. Refusing it made a service that
	 * restarts on failure fail for ever.
	 */
	if (strcmp(json_string_value(json_object_get(j, "setId")) ?: "", sh->set_id)) {
		say("state %s names capture set %s; the files are of set %s, a new one: shipping "
		    "it from its oldest file (what of the old set was not shipped is not)",
		    sh->cli->nats.state, json_string_value(json_object_get(j, "setId")) ?: "?",
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
	if (mpt_cap_reader_open(m->f, &m->r, err, sizeof(err))) {
		fclose(m->f);
		m->f = NULL;
		return -1;
	}
	return 0;
}

static void close_member(struct member *m)
{
	mpt_cap_reader_free(m->r);
	if (m->f)
		fclose(m->f);
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
	if (mono_ms() - sh->last_scan_ms < 1000)
		return true;
	sh->last_scan_ms = mono_ms();
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
static void pct(const char *s, char *out, size_t len)
{
	size_t o = 0;

	if (!s || !*s)
		s = "-";
	for (; *s && o + 4 < len; s++) {
		unsigned char c = *s;

		if (isalnum(c) || strchr("._:-+", c))
			out[o++] = c;
		else
			o += snprintf(out + o, len - o, "%%%02x", c);
	}
	out[o] = '\0';
}

static void unpct(char *s)
{
	char *w = s;

	if (!strcmp(s, "-")) {
		*s = '\0';
		return;
	}
	for (; *s; s++) {
		unsigned int c;

		if (*s == '%' && sscanf(s + 1, "%2x", &c) == 1) {
			*w++ = (char)c;
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static void context(const struct mpt_fmt_ctx *fmt, char *out, size_t len)
{
	char boot[200], kernel[300], host[800];

	pct(fmt->boot_id, boot, sizeof(boot));
	pct(fmt->kernel, kernel, sizeof(kernel));
	pct(fmt->hostname, host, sizeof(host));
	snprintf(out, len, "%" PRId64 " %s %s %s", fmt->boot_to_wall_ns, boot, kernel, host);
}

/* The header back into @fmt, its strings in @buf (the message may go first). */
struct ctx_buf {
	char boot[200], kernel[300], host[800];
};

static void parse_context(const char *h, struct mpt_fmt_ctx *fmt, struct ctx_buf *b)
{
	long long b2w = 0;

	b->boot[0] = b->kernel[0] = b->host[0] = '\0';
	sscanf(h, "%lld %199s %299s %799s", &b2w, b->boot, b->kernel, b->host);
	unpct(b->boot);
	unpct(b->kernel);
	unpct(b->host);
	fmt->boot_to_wall_ns = b2w;
	fmt->boot_id = b->boot;
	fmt->kernel = b->kernel;
	fmt->hostname = b->host;
}

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
	sh->win[n % IN_FLIGHT] =
	    (struct slot){.next = next, .wall_ns = body ? sh->cur_wall_ns : 0, .acked = !body};
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
	context(fmt, ctx, sizeof(ctx));
	/* the headers below, Nats-Msg-Id and the framing, generously */
	if (over_max_payload(sh, id,
			     len + strlen(ctx) + strlen(sh->prev_id) + strlen(id) +
				 (record ? strlen(record) : 0) + 256,
			     big, sizeof(big))) {
		kind = "lost";
		body = big;
		len = strlen(big);
		record = NULL;
	}
	s = natsMsg_Create(&m, sh->subject, NULL, body, (int)len);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Mptrace-Slot", tag);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Mptrace-Kind", kind);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Mptrace-Context", ctx);
	if (s == NATS_OK && sh->prev_id[0])
		s = natsMsgHeader_Set(m, "Mptrace-Prev", sh->prev_id);
	snprintf(sh->prev_id, sizeof(sh->prev_id), "%s", id);
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
			snprintf(sh->why, sizeof(sh->why), "%s", last_error(s));
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

static void msg_id(const struct shipper *sh, uint32_t seq, uint64_t off, const char *what,
		   char *out, size_t len)
{
	snprintf(out, len, "%s:%u:%" PRIu64 "%s", sh->set_id, seq, off, what);
}

/* A file of the set that rotation removed before it was shipped: a loss the stream records. */
static int publish_lost(struct shipper *sh, uint32_t from, uint32_t to,
			const struct mpt_fmt_ctx *fmt)
{
	char body[1024], id[128], host[600];
	struct timespec now;
	int n;

	json_quoted(fmt->hostname, host, sizeof(host));
	clock_gettime(CLOCK_REALTIME, &now);
	n = snprintf(body, sizeof(body),
		     "{\"timestamp\":%" PRId64 ",\"eventName\":\"drop\",\"cause\":\"unshipped\","
		     "\"hostName\":%s,\"fileSeqFrom\":%u,\"fileSeqTo\":%u,\"count\":null}",
		     (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, host, from, to);
	msg_id(sh, from, 0, ":lost", id, sizeof(id));
	snprintf(sh->lost_id, sizeof(sh->lost_id), "%s", id);
	sh->lost_to = to;
	say_warning("capture files %u to %u of the set were removed before they were shipped", from,
		    to);
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
	if (sh->lost_id[0] && sh->lost_to + 1 == p.file_seq)
		snprintf(sh->prev_id, sizeof(sh->prev_id), "%s", sh->lost_id);
	else if (p.file_seq > sh->first_seq)
		msg_id(sh, p.file_seq - 1, UINT64_MAX, ":end", sh->prev_id, sizeof(sh->prev_id));
	else
		sh->prev_id[0] = '\0';
}

/* One event or drop record as its message: 0, or -1 (said, or a failed publish). */
static int ship_record(struct shipper *sh, const struct member *m, const struct mpt_cap_item *it,
		       const char *id, struct pos next, struct mpt_fmt_ctx *fmt,
		       struct strbuf *line, unsigned char *rec)
{
	char *record, drop[128], d[512];
	size_t n;

	sb_reset(line);
	if (it->type == MPT_CAP_REC_EVENT) {
		sh->cur_wall_ns = (int64_t)it->view.hdr->ts_boot_ns + fmt->boot_to_wall_ns;
		mpt_format_json(line, &it->view, fmt);
		n = mpt_cap_event_encode(&it->view, rec, MPT_CAP_MAX_PAYLOAD, true);
		if (!n) {
			say("%s: a record too large to ship", m->name);
			return -1;
		}
		/* rec holds 1 MiB: its base64 goes after the encoded record */
		record = b64(rec, n, (char *)rec + n);
	} else {
		snprintf(d, sizeof(d),
			 "{\"timestamp\":%" PRId64 ",\"eventName\":\"drop\",\"cause\":\"%s\","
			 "\"count\":%" PRIu64 ",\"fromTimestamp\":%" PRId64
			 ",\"toTimestamp\":%" PRId64 "}\n",
			 (int64_t)it->drop_last_ns + fmt->boot_to_wall_ns,
			 mpt_cap_drop_cause(it->drop_cause), it->drop_count,
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
	if (newest > p.file_seq || (sh->cli->follow && n.set_id[0])) {
		say("%s: %s; going on with the next file", m->name, mpt_cap_reader_error(m->r));
		publish(sh, "end", NULL, NULL, 0, NULL, fmt, (struct pos){p.file_seq + 1, 0});
		return 1;
	}
	if (!strstr(mpt_cap_reader_error(m->r), "not closed"))
		say("%s: %s", m->name, mpt_cap_reader_error(m->r));
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
	char id[160];
	int rc;

	ship_file_begin(sh, mpt_cap_reader_meta(m->r), p, fmt);
	if (sh->cli->follow)
		mpt_cap_reader_follow_while(m->r, sh->stop, still_newest, sh);
	while ((rc = mpt_cap_next(m->r, &it)) > 0) {
		if (it.type == MPT_CAP_REC_CLOCK) {
			fmt->boot_to_wall_ns = it.clock_boot_to_wall_ns;
			continue;
		}
		msg_id(sh, p.file_seq, it.offset, "", id, sizeof(id));
		if (it.offset < p.offset) {
			snprintf(sh->prev_id, sizeof(sh->prev_id), "%s", id);
			continue;
		}
		if (ship_record(sh, m, &it, id, (struct pos){p.file_seq, it.offset + it.size}, fmt,
				line, rec))
			return -1;
		/* within a file too (every STATE_EVERY_MS): a kill -9 then resends little */
		save_state(sh, false);
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

static void subject_for(struct shipper *sh, const char *host)
{
	char h[256];
	size_t i;

	/* a host name is one subject token: dots and wildcards would split or widen it */
	for (i = 0; host[i] && i < sizeof(h) - 1; i++)
		h[i] = strchr(".*> \t", host[i]) ? '_' : host[i];
	h[i] = '\0';
	snprintf(sh->subject_buf, sizeof(sh->subject_buf), "mptrace.%s.move_pages",
		 h[0] ? h : "unknown");
	sh->subject = sh->subject_buf;
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
	say("capture set %s ends at file %u; shipping set %s, begun since, from its oldest file",
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

	if (!sh->cli->metrics)
		return 0;
	if (mpt_metrics_listen(sh->cli->metrics, &sh->metrics, err, sizeof(err)) ||
	    mpt_metrics_serve(sh->metrics, err, sizeof(err))) {
		say("%s", err);
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
	const struct mpt_cli *cli = sh->cli;
	const struct mpt_cap_meta *meta;
	struct member first;
	uint32_t after = 0;
	int state;

	if (open_member(cli->files[0], &first)) {
		say("%s: not a readable capture (mptrace verify says why)", cli->files[0]);
		return -1;
	}
	meta = mpt_cap_reader_meta(first.r);
	snprintf(sh->set_id, sizeof(sh->set_id), "%s", meta->set_id);
	if (!sh->set_id[0])
		/* a capture from before sets (format 1.0): its boot and creation name it */
		snprintf(sh->set_id, sizeof(sh->set_id), "%.36s-%" PRIu64, meta->boot_id,
			 meta->created_ns);
	if (cli->nats.subject)
		sh->subject = cli->nats.subject;
	else
		subject_for(sh, meta->hostname);
	snprintf(sh->host, sizeof(sh->host), "%s", meta->hostname);
	fmt->hostname = sh->host;
	*p = (struct pos){meta->file_seq, 0};
	close_member(&first);
	set_base(sh, cli->files[0]);
	for (int i = 1; i < cli->n_files; i++) {
		struct member m;

		if (open_member(cli->files[i], &m))
			continue;
		meta = mpt_cap_reader_meta(m.r);
		if (strcmp(meta->set_id, sh->set_id)) {
			say("%s: of another capture set; ship takes one set at a time", m.name);
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

enum ship_step { SHIP_AGAIN, SHIP_END, SHIP_FAILED };

/* One file shipped (or followed, or said lost), or the next set: what comes next. */
static enum ship_step ship_step(struct shipper *sh, struct pos *p, struct mpt_fmt_ctx *fmt,
				struct strbuf *line, unsigned char *rec)
{
	bool follow = sh->cli->follow;
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
	if (!next_set(sh, p))
		nap(500, sh->stop);
	return SHIP_AGAIN;
}

/* Publishing failed: said once per outage, back to what was acknowledged, a wait. */
static void ship_retry(struct shipper *sh, struct pos *p, int *backoff)
{
	drain_acks(sh);
	if (begin_outage(sh)) {
		say("publishing to NATS failed: %s; resending from the last acknowledged record "
		    "as soon as it works",
		    sh->why[0] ? sh->why : "no acknowledgment");
		*backoff = 250;
	}
	*p = rewind_to_acked(sh);
	save_state(sh, true);
	ship_metrics(sh);
	nap(*backoff, sh->stop);
	*backoff = *backoff < 4000 ? *backoff * 2 : 4000;
}

int mpt_cmd_ship(const struct mpt_cli *cli, volatile int *stop)
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
	sh.cli = cli;
	sh.stop = stop;
	pthread_mutex_init(&sh.mu, NULL);
	pthread_cond_init(&sh.cond, NULL);
	sh.stream = cli->nats.stream ? cli->nats.stream : DEFAULT_STREAM;
	if (!rec) {
		say("out of memory");
		goto out;
	}
	if (ship_open_set(&sh, &fmt, &p))
		goto out;
	if (start_metrics(&sh)) {
		rc = 2;
		goto out;
	}
	if (nats_open(&cli->nats, true, stop, on_ack, &sh, &sh.c) ||
	    ensure_stream(&sh.c, sh.stream, sh.subject, cli->nats.replicas, stop))
		goto out;
	while (!*stop) {
		enum ship_step st = ship_step(&sh, &p, &fmt, &line, rec);

		if (st == SHIP_AGAIN)
			continue;
		/* everything there is went out: done once all of it is acknowledged */
		if (st == SHIP_END && drain_acks(&sh))
			break;
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
		nats_close(&sh.c);
	mpt_metrics_free(sh.metrics);
	sb_free(&line);
	free(rec);
	return rc;
}

/* ---- replay from the stream ------------------------------------------------------- */

static const char *header(natsMsg *m, const char *key)
{
	const char *v = NULL;

	return natsMsgHeader_Get(m, key, &v) == NATS_OK && v ? v : "";
}

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

/* A message id, hashed for the set of those put out. */
static uint64_t id_hash(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 0x100000001b3ull;
	return h;
}

struct replay {
	const struct mpt_cli *cli;
	/*
	 * A message stored twice (resent past the stream's duplicate window) is
	 * put out once; one whose predecessor never came is a gap: messages the
	 * stream lost (discarded, deleted). Both are counted and said.
	 */
	struct mpt_keyset seen; /* the ids put out, hashed */
	uint64_t duplicates, gaps;
	const char *stream;
	struct mpt_report *report; /* report --nats: counted there, not printed */
	struct mpt_detector *detect;
	struct mpt_cap_event_buf buf;
	struct strbuf line;
	FILE *out;
	uint64_t events, shown, dropped;
	struct set_order *sets;
	size_t n_sets;
};

static struct set_order *set_of(struct replay *rp, const char *id);

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
	if (!rp->cli->nats.until_ns || !rp->n_sets ||
	    stored_ns <= rp->cli->nats.until_ns + SINCE_SLACK_NS)
		return false;
	for (size_t i = 0; i < rp->n_sets; i++)
		if (!rp->sets[i].past_until || rp->sets[i].n)
			return false;
	return true;
}

/* One message, in its turn: an event printed, a drop or a loss said. 0, or -1 on an error. */
static int replay_one(struct replay *rp, natsMsg *m)
{
	const struct mpt_cli *cli = rp->cli;
	const char *kind = header(m, "Mptrace-Kind");
	struct mpt_fmt_ctx fmt;
	struct ctx_buf cb;

	parse_context(header(m, "Mptrace-Context"), &fmt, &cb);
	if (!strcmp(kind, "event")) {
		struct mpt_cap_item it;
		const char *why = "not base64";
		unsigned char *raw;
		size_t n = 0;
		int64_t wall;

		memset(&it, 0, sizeof(it));
		raw = unb64(header(m, "Mptrace-Record"), &n);
		if (!raw || mpt_cap_event_decode(&rp->buf, raw, n, &it, &why)) {
			say("stream %s: a message that is not an mptrace record (%s)", rp->stream,
			    why);
			free(raw);
			return -1;
		}
		free(raw);
		rp->events++;
		wall = (int64_t)it.view.hdr->ts_boot_ns + fmt.boot_to_wall_ns;
		if (cli->nats.until_ns && wall > cli->nats.until_ns)
			mark_past_until(rp, header(m, "Nats-Msg-Id"));
		if (!mpt_cli_in_window(cli, wall) ||
		    !mpt_filter_match(&cli->tracer.filter, &it.view)) {
			if (rp->report)
				mpt_report_skipped(rp->report);
			return 0;
		}
		rp->shown++;
		if (rp->report) {
			mpt_report_event(rp->report, &it.view, &fmt);
			return 0;
		}
		sb_reset(&rp->line);
		mpt_format_event(cli->format, &rp->line, &it.view, &fmt);
		if (rp->detect)
			mpt_detect_lines(rp->detect, cli->format, &rp->line, &it.view, &fmt);
		if (rp->line.oom ||
		    fwrite(rp->line.buf, 1, rp->line.len, rp->out) != rp->line.len) {
			say("writing the replay failed: %s", strerror(errno));
			return -1;
		}
	} else if (!strcmp(kind, "drop")) {
		unsigned long long count, first, last;
		unsigned int cause;

		/* on stderr, as a file replay says it: stdout stays the live output's bytes */
		if (sscanf(header(m, "Mptrace-Record"), "%u %llu %llu %llu", &cause, &count, &first,
			   &last) == 4) {
			fprintf(
			    stderr,
			    "mptrace: %s: %llu calls lost (%s) between %lld and %lld ns since the "
			    "epoch\n",
			    natsMsg_GetSubject(m), count, mpt_cap_drop_cause(cause),
			    (long long)(first + fmt.boot_to_wall_ns),
			    (long long)(last + fmt.boot_to_wall_ns));
			rp->dropped += count;
			if (rp->report)
				mpt_report_loss(rp->report, mpt_cap_drop_cause(cause), count,
						(int64_t)(first + fmt.boot_to_wall_ns),
						(int64_t)(last + fmt.boot_to_wall_ns), 0);
		}
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

/* Put out held message @i, then whatever waited for it. */
static int release(struct replay *rp, struct set_order *so, size_t i)
{
	/* its predecessor never came; at the start of a --since window, none is expected */
	if (strcmp(so->h[i].prev, so->last) && (so->last[0] || !rp->cli->nats.since_ns))
		rp->gaps++;
	for (;;) {
		struct held h = so->h[i];
		int rc;

		so->h[i] = so->h[--so->n];
		rc = replay_one(rp, h.m);
		natsMsg_Destroy(h.m);
		if (rc)
			return rc;
		snprintf(so->last, sizeof(so->last), "%s", h.id);
		for (i = 0; i < so->n && strcmp(so->h[i].prev, so->last); i++)
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
	const char *id = header(m, "Nats-Msg-Id"), *prev = header(m, "Mptrace-Prev");
	struct set_order *so = *id ? set_of(rp, id) : NULL;
	struct held *h;
	int seen = *id ? mpt_keyset_add(&rp->seen, id_hash(id)) : 0;

	if (seen) {
		natsMsg_Destroy(m);
		if (seen < 0) {
			say("out of memory");
			return -1;
		}
		rp->duplicates++;
		return 0;
	}
	if (!so || !*prev || !strcmp(prev, so->last)) {
		int rc = replay_one(rp, m);

		if (so)
			snprintf(so->last, sizeof(so->last), "%s", id);
		natsMsg_Destroy(m);
		for (size_t i = 0; !rc && so && i < so->n; i++)
			if (!strcmp(so->h[i].prev, so->last))
				return release(rp, so, i);
		return rc;
	}
	if (so->n == so->cap) {
		size_t cap = so->cap ? 2 * so->cap : 64;
		struct held *p = realloc(so->h, cap * sizeof(*p));

		if (!p) {
			natsMsg_Destroy(m);
			say("out of memory");
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

/* report --nats: the page (or JSON) of what the stream held. 0, or 1 if it was not written. */
static int write_report(struct replay *rp)
{
	char name[160];
	struct mpt_report_source src = {.name = name, .attach_mode = ""};
	int rc;

	snprintf(name, sizeof(name), "stream %s", rp->stream);
	src.records = rp->events;
	mpt_report_source(rp->report, &src);
	rc = mpt_report_write(rp->report, rp->out, rp->cli->format);
	if (rc) {
		say("writing the report failed: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* The closing line; what the stream lost or holds twice is said there too. */
static void say_replayed(const struct replay *rp)
{
	char dup[96] = "", gap[160] = "";

	if (rp->duplicates)
		snprintf(dup, sizeof(dup), "; %llu messages stored twice, put out once",
			 (unsigned long long)rp->duplicates);
	if (rp->gaps)
		snprintf(gap, sizeof(gap),
			 "; %llu gaps: messages the stream no longer holds (discarded or deleted), "
			 "their records missing here",
			 (unsigned long long)rp->gaps);
	mpt_log_next(rp->dropped || rp->gaps ? MPT_LOG_WARNING : MPT_LOG_NOTICE);
	fprintf(stderr, "mptrace: %s %llu of %llu events, %llu calls lost while tracing%s%s\n",
		rp->report ? "report of" : "replayed", (unsigned long long)rp->shown,
		(unsigned long long)rp->events, (unsigned long long)rp->dropped, dup, gap);
	mpt_log_next(MPT_LOG_ERR);
}

/* An ordered consumer of the stream, from --since's slack before it: 0, or -1 said. */
static int replay_subscribe(struct replay *rp, struct conn *c, const char *subject,
			    natsSubscription **sub)
{
	const struct mpt_cli *cli = rp->cli;
	jsErrCode jerr = 0;
	jsSubOptions so;
	natsStatus s;

	jsSubOptions_Init(&so);
	so.Stream = rp->stream;
	so.Ordered = true;
	if (cli->nats.since_ns) {
		/*
		 * The server's clock stamps a message when it is stored, the event's
		 * own (the tracer's boot-to-wall offset) when it happened: they can
		 * disagree by more than the shipper's lag. Start well before, and let
		 * the events' own times decide (mpt_cli_in_window).
		 */
		so.Config.DeliverPolicy = js_DeliverByStartTime;
		so.Config.OptStartTime = cli->nats.since_ns - SINCE_SLACK_NS;
	}
	s = js_SubscribeSync(sub, c->js, subject, NULL, &so, &jerr);
	if (s != NATS_OK) {
		say("reading stream %s, subject %s: %s", rp->stream, subject, last_error(s));
		return -1;
	}
	return 0;
}

/* Every message to the stream's end (or --until's): 0, or -1 said. */
static int replay_read(struct replay *rp, natsSubscription *sub, volatile int *stop)
{
	for (uint64_t got = 0; !*stop; got++) {
		natsMsg *m = NULL;
		jsMsgMetaData *md = NULL;
		int64_t stored = 0;
		bool last = false;
		natsStatus s;

		/* an empty stream says nothing: a quiet two seconds is its end */
		s = natsSubscription_NextMsg(&m, sub, got ? 10000 : 2000);
		if (s == NATS_TIMEOUT && !got)
			break;
		if (s != NATS_OK) {
			say("reading stream %s: %s", rp->stream, last_error(s));
			return -1;
		}
		if (natsMsg_GetMetaData(&md, m) == NATS_OK) {
			last = md->NumPending == 0;
			stored = md->Timestamp;
			jsMsgMetaData_Destroy(md);
		}
		if (replay_in_order(rp, m))
			return -1;
		if (last || past_until(rp, stored))
			break;
	}
	return 0;
}

int mpt_cmd_replay_nats(const struct mpt_cli *cli, volatile int *stop)
{
	const char *subject = cli->nats.subject ? cli->nats.subject : "mptrace.>";
	struct replay rp = {.cli = cli, .out = stdout};
	natsSubscription *sub = NULL;
	char why[512];
	struct conn c = {0};
	int rc = 1;

	rp.stream = cli->nats.stream ? cli->nats.stream : DEFAULT_STREAM;
	sb_init(&rp.line);
	if (cli->command == MPT_CMD_REPORT) {
		if (!(rp.report = mpt_report_new(&cli->detect))) {
			say("out of memory");
			return 1;
		}
		mpt_report_filters(rp.report, cli->command_line);
	} else if (cli->detect.enabled &&
		   !(rp.detect = mpt_detector_open(&cli->detect, why, sizeof(why)))) {
		say("%s", why);
		return 2;
	}
	if (nats_open(&cli->nats, false, stop, NULL, NULL, &c) ||
	    replay_subscribe(&rp, &c, subject, &sub))
		goto out;
	if (cli->output && !(rp.out = fopen(cli->output, "we"))) {
		say("cannot open output '%s': %s", cli->output, strerror(errno));
		rp.out = stdout;
		goto out;
	}
	if (replay_read(&rp, sub, stop))
		goto out;
	if (replay_flush(&rp))
		goto out;
	rc = rp.report ? write_report(&rp) : 0;
out:
	if (rp.out != stdout && fclose(rp.out) && !rc) {
		say("writing the %s failed: %s", rp.report ? "report" : "replay", strerror(errno));
		rc = 1;
	}
	if (!rc && (fflush(stdout) || ferror(stdout))) {
		say("writing to standard output failed");
		rc = 1;
	}
	if (!rc)
		say_replayed(&rp);
	for (size_t i = 0; i < rp.n_sets; i++) {
		for (size_t k = 0; k < rp.sets[i].n; k++)
			natsMsg_Destroy(rp.sets[i].h[k].m);
		free(rp.sets[i].h);
	}
	free(rp.sets);
	mpt_keyset_free(&rp.seen);
	/*
	 * The connection closes first: its reader thread may still be handing
	 * messages to a subscription left early (--until), which must not be
	 * freed under it.
	 */
	if (c.nc)
		natsConnection_Close(c.nc);
	natsSubscription_Destroy(sub);
	if (c.nc)
		nats_close(&c);
	mpt_cap_event_buf_free(&rp.buf);
	mpt_detector_free(rp.detect);
	mpt_report_free(rp.report);
	sb_free(&rp.line);
	return rc;
}
