// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The connection to NATS JetStream, and the stream ship publishes to. */
#include "fleet/fleet_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_URL "nats://127.0.0.1:4222"
#define DUP_WINDOW_NS (3600ll * 1000000000)    /* a stream ship creates drops resends this long */
#define MIN_DUP_WINDOW_NS (120ll * 1000000000) /* an existing stream's, at least (the default) */
#define MIN_MSG_SIZE (64 * 1024)	       /* a message: a record, its JSON and headers */

void fleet_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mptrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int64_t fleet_mono_ms(void)
{
	struct timespec ts;

	/* asked for every record; the coarse clock's tick (a few ms) is finer than any use */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fleet_nap(int ms, volatile int *stop)
{
	for (int64_t end = fleet_mono_ms() + ms; !*stop && fleet_mono_ms() < end;)
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

			fleet_say("bad NATS URL '%s': nats://HOST:PORT or tls://HOST:PORT",
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

/* A refusal that waiting will not cure. */
static bool fatal_status(natsStatus s)
{
	return s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED || s == NATS_SSL_ERROR ||
	       s == NATS_INVALID_ARG || s == NATS_SECURE_CONNECTION_WANTED ||
	       s == NATS_SECURE_CONNECTION_REQUIRED;
}

const char *fleet_error(natsStatus s)
{
	const char *text = nats_GetLastError(NULL);

	if (!text || !*text)
		return natsStatus_GetText(s);
	/* "(conn.c:1905): Authorization Violation": the library's place is no help */
	if (*text == '(' && strstr(text, "): "))
		return strstr(text, "): ") + 3;
	return text;
}

/* The client's settings for @o's servers (@list), or NULL when the library refuses one. */
static natsOptions *client_options(const struct mpt_nats_opts *o, char **list, int n, bool tls)
{
	natsOptions *opts = NULL;
	natsStatus s = natsOptions_Create(&opts);

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
		fleet_say("NATS settings refused: %s", fleet_error(s));
		natsOptions_Destroy(opts);
		return NULL;
	}
	return opts;
}

int fleet_connect(const struct mpt_nats_opts *o, bool wait, volatile int *stop,
		  jsPubAckHandler on_ack, void *closure, struct fleet_conn *c)
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
	if (!(opts = client_options(o, list, n, tls)))
		goto out;
	for (;;) {
		s = natsConnection_Connect(&c->nc, opts);
		if (s == NATS_OK)
			break;
		if (fatal_status(s) || !wait) {
			fleet_say("cannot connect to NATS at %s: %s",
				  redacted(urls, shown, sizeof(shown)), fleet_error(s));
			goto out;
		}
		if (!waiting)
			fleet_say_warning("waiting for NATS at %s: %s",
					  redacted(urls, shown, sizeof(shown)), fleet_error(s));
		waiting = true;
		fleet_nap(1000, stop);
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
		fleet_say("JetStream unavailable: %s", fleet_error(s));
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

void fleet_disconnect(struct fleet_conn *c)
{
	jsCtx_Destroy(c->js);
	natsConnection_Destroy(c->nc);
	memset(c, 0, sizeof(*c));
}

void fleet_library_close(void)
{
	/* 5 s at most: a thread stuck in a dead server's socket must not hold the exit */
	nats_CloseAndWait(5000);
}

bool fleet_subject_matches(const char *pat, const char *subj)
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

static int ensure_stream_once(struct fleet_conn *c, const char *stream, const char *subject,
			      uint32_t replicas, natsStatus *st, jsErrCode *je);

int fleet_ensure_stream(struct fleet_conn *c, const char *stream, const char *subject,
			uint32_t replicas, volatile int *stop)
{
	bool waiting = false;
	natsStatus s;
	jsErrCode jerr;
	int rc;

	while ((rc = ensure_stream_once(c, stream, subject, replicas, &s, &jerr))) {
		if (rc == -2)
			return -1;
		if (!jetstream_forming(s, jerr) || *stop) {
			fleet_say("stream %s: %s (JetStream error %d)", stream, fleet_error(s),
				  (int)jerr);
			return -1;
		}
		if (!waiting)
			fleet_say_warning(
			    "waiting for JetStream to take stream %s: %s (JetStream error %d)",
			    stream, fleet_error(s), (int)jerr);
		waiting = true;
		fleet_nap(1000, stop);
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
		covered |= fleet_subject_matches(cfg->Subjects[i], subject);
	if (!covered)
		fleet_say("stream %s exists and does not take subject %s: a configuration conflict "
			  "(give --stream or --subject)",
			  stream, subject);
	else if (limited && cfg->Discard == js_DiscardOld)
		fleet_say(
		    "stream %s discards old messages at its limits (max_msgs %lld, max_bytes %lld, "
		    "max_age %lld s): records it acknowledged would be deleted with nothing said; "
		    "use discard new, or no limits",
		    stream, (long long)cfg->MaxMsgs, (long long)cfg->MaxBytes,
		    (long long)(cfg->MaxAge / 1000000000));
	else if (cfg->Duplicates < MIN_DUP_WINDOW_NS)
		fleet_say(
		    "stream %s keeps duplicates for %lld s: a record resent after a restart or an "
		    "outage would be stored twice; %d s at least",
		    stream, (long long)(cfg->Duplicates / 1000000000),
		    (int)(MIN_DUP_WINDOW_NS / 1000000000));
	else if (cfg->MaxMsgSize > 0 && cfg->MaxMsgSize < MIN_MSG_SIZE)
		fleet_say(
		    "stream %s refuses messages over %d bytes: records would be refused forever; "
		    "%d at least",
		    stream, (int)cfg->MaxMsgSize, MIN_MSG_SIZE);
	else
		return 0;
	return -2;
}

/* One try: 0; -1 with the status in @st, @je; -2 for a configuration conflict, said. */
static int ensure_stream_once(struct fleet_conn *c, const char *stream, const char *subject,
			      uint32_t replicas, natsStatus *st, jsErrCode *je)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, c->js, stream, NULL, &jerr);

	*st = NATS_OK;
	*je = 0;

	if (s == NATS_OK) {
		int rc = stream_usable(si->Config, stream, subject);

		c->max_msg_size = si->Config->MaxMsgSize > 0 ? si->Config->MaxMsgSize : 0;
		jsStreamInfo_Destroy(si);
		return rc;
	}
	if (s == NATS_NOT_FOUND) {
		/* every host's subject, unless the subject given is outside mptrace.> */
		const char *subjects[] = {fleet_subject_matches("mptrace.>", subject) ? "mptrace.>"
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
