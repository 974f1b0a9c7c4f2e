/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The fleet: captures shipped to NATS JetStream, and their events read back
 * from it down the same pipeline a file replay runs (docs/fleet.md).
 */
#ifndef MPTRACE_FLEET_H
#define MPTRACE_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "sinks/pipeline.h"

/* ship --batch: records a message at most. */
#define FLEET_BATCH_MAX 4096

/* The stream when --stream names none. */
#define MPT_NATS_DEFAULT_STREAM "MPTRACE"

/* NATS JetStream: where ship publishes and replay --nats reads. */
struct mpt_nats_opts {
	const char *urls;	 /* comma-separated; NULL: not used (replay) */
	const char *stream;	 /* NULL: MPT_NATS_DEFAULT_STREAM */
	const char *subject;	 /* ship: default mptrace.HOST.EVENT.CONTAINER; replay: mptrace.> */
	const char *state;	 /* ship: what was acknowledged */
	uint32_t replicas;	 /* a stream ship creates: 1 */
	uint32_t batch;		 /* ship: records a message at most, compressed; 0: one, as JSON */
	bool subject_from_event; /* replay: the subject is --event's, the whole stream if batched */
	const char *tls_ca, *tls_cert, *tls_key, *creds;
	bool tls;
};

/* mptrace ship CAPTURE... */
struct mpt_ship_opts {
	const struct mpt_nats_opts *nats;
	const char *const *files; /* one capture, or the files of one set */
	int n_files;
	bool follow;	     /* a live capture: wait for what its tracer writes next */
	const char *metrics; /* --metrics ADDR:PORT; NULL: none */
};

/* Ship until the end (or a stop, with follow); the exit status. */
int mpt_ship(const struct mpt_ship_opts *o, volatile int *stop);

/* What a reading of the stream met besides the events it handed on. */
struct mpt_stream_counts {
	uint64_t events;     /* records read */
	uint64_t dropped;    /* calls the tracers lost, as their drop records say */
	uint64_t duplicates; /* records stored twice (alone or in batches), handed on once */
	uint64_t gaps;	     /* messages the stream no longer holds */
};

/*
 * Every event of the stream down @pipe, each capture set's in its order,
 * from --since to --until (@pipe's window). Drop records are said on stderr
 * and go into @pipe's report. 0, or -1 after saying why.
 */
int mpt_stream_replay(const struct mpt_nats_opts *o, struct mpt_pipe *pipe,
		      struct mpt_stream_counts *counts, volatile int *stop);

#endif
