/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the fleet's parts share: the connection and the wire format. */
#ifndef MPTRACE_FLEET_INT_H
#define MPTRACE_FLEET_INT_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/format.h"
#include "util/strbuf.h"
#include "fleet/fleet.h"
#include "util/log.h"

#define IN_FLIGHT 4096			    /* publishes awaiting their ack, at most */
#define SINCE_SLACK_NS (600ll * 1000000000) /* replay --since: the clocks may disagree */

/* ---- connection (nats.c) ---- */

void fleet_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What is wrong but waited out: a warning in the journal (routine news: mpt_notice). */
#define fleet_say_warning(...)                                                                     \
	(mpt_log_next(MPT_LOG_WARNING), fleet_say(__VA_ARGS__), mpt_log_next(MPT_LOG_ERR))

int64_t fleet_mono_ms(void);
/* Sleep up to @ms, in steps, returning early on a stop. */
void fleet_nap(int ms, volatile int *stop);

struct fleet_conn {
	natsConnection *nc;
	jsCtx *js;
	int64_t max_msg_size; /* the stream's, as fleet_ensure_stream found it; 0: no limit */
};

/* The library's last error, without its source position. */
const char *fleet_error(natsStatus s);
/*
 * Connect; with @wait, keep trying while the servers are away (said once).
 * Returns 0, or -1 after saying why.
 */
int fleet_connect(const struct mpt_nats_opts *o, bool wait, volatile int *stop,
		  jsPubAckHandler on_ack, void *closure, struct fleet_conn *c);
void fleet_disconnect(struct fleet_conn *c);
/*
 * The library's threads stopped, once every connection is destroyed, before
 * the process exits: a thread still at work while OpenSSL's exit handler
 * frees what it uses makes the exit crash after all was done, and the exit
 * status a signal's.
 */
void fleet_library_close(void);
/* The stream exists and takes @subject; created if missing. 0, or -1 after saying why. */
int fleet_ensure_stream(struct fleet_conn *c, const char *stream, const char *subject,
			uint32_t replicas, volatile int *stop);

/* ---- the wire format (wire.c) ---- */

/* @p in base64, into @out (4 * ((n + 2) / 3) + 1 bytes). */
char *fleet_b64(const unsigned char *p, size_t n, char *out);
/* Base64 back to bytes (malloc'd, *@n long); NULL if it is not base64. */
unsigned char *fleet_unb64(const char *s, size_t *n);

/*
 * What formatting needs besides the record, in one header: "B2W BOOTID KERNEL
 * HOST", each string %-escaped (a host name may hold any byte, and a CR or LF
 * in a header would split the message), "-" for an empty one.
 */
void fleet_context(const struct mpt_fmt_ctx *fmt, char *out, size_t len);

/* The header back into @fmt, its strings in @buf (the message may go first). */
struct fleet_ctx_buf {
	char boot[200], kernel[300], host[800];
};
void fleet_parse_context(const char *h, struct mpt_fmt_ctx *fmt, struct fleet_ctx_buf *b);

/*
 * A batch (ship --batch): records of one capture file under one context, in
 * the file's order, each "KIND OFFSET LENGTH BYTES" (a byte, then 64 and 32
 * bits little-endian), the whole compressed as one zstd frame. KIND: an event
 * (its EVENT payload, as the capture holds it; the first form of batches put
 * the caller's lineage after it, as Mptrace-Record does), a drop ("CAUSE COUNT
 * FIRST LAST" as text, as a drop message's Mptrace-Record has it), or a
 * process (a PROCESS payload, offset 0): each process an event names, once
 * a batch, before the first event that names it, the oldest first, so that
 * a batch stands alone, as a capture file does.
 */
enum { FLEET_REC_EVENT = 1, FLEET_REC_DROP = 2, FLEET_REC_PROCESS = 3 };
#define FLEET_BATCH_ENTRY_HDR 13
/* A batch this large uncompressed at most: a frame claiming more is refused. */
#define FLEET_BATCH_RAW_MAX (64u << 20)

void fleet_batch_put(struct strbuf *raw, uint8_t kind, uint64_t offset, const void *p, uint32_t n);
/* The entry at *@pos of an uncompressed batch: 1 and *@pos moved past it, 0 at the end, -1 torn. */
int fleet_batch_next(const unsigned char *b, size_t len, size_t *pos, uint8_t *kind,
		     uint64_t *offset, const unsigned char **p, uint32_t *n);
/* A zstd frame back to the batch (malloc'd, *@n long); NULL and *@why if it is not one. */
unsigned char *fleet_batch_unpack(const void *p, size_t len, size_t *n, const char **why);

/* A header's value; "" when it has none. */
const char *fleet_header(natsMsg *m, const char *key);

/* Does subject filter @pat ("mptrace.>", "a.*.c") take @subj? */
bool fleet_subject_matches(const char *pat, const char *subj);

#endif
