/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where the records go while tracing: formatted once, then to each output,
 * the capture and the detections; losses accounted for as drop records and
 * stats; the wall clock watched. main() drives it, the tracer feeds it.
 */
#ifndef MPTRACE_SINK_H
#define MPTRACE_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "capture/capture.h"
#include "detect/detect.h"
#include "decode/format.h"
#include "sinks/output.h"
#include "sinks/pipeline.h"
#include "util/strbuf.h"
#include "kernel/tracer.h"

#define MPT_SINK_EVENTS_MAX 16

struct mpt_metrics;

struct mpt_sink {
	struct mpt_pipe pipe; /* ends in the outputs */
	struct mpt_fmt_ctx fmt;
	struct mpt_output out[4]; /* the same lines to each (-o, several times) */
	int n_out;
	const char *out_name;
	uint64_t out_failed_since[4]; /* boot clock, while an output refuses writes */
	bool all_broken;	      /* every output's reader went away */
	int write_errno;
	/* --capture */
	const char *cap_name;
	uint64_t cap_lost;		/* after close */
	uint64_t lost[MPT_CAP_DROP_NR]; /* already written as drop records */
	uint64_t lost_since_ns;		/* boot clock */
	/* for the metrics: records by event (events/events.h order), detections by rule */
	uint64_t by_event[MPT_SINK_EVENTS_MAX];
	uint64_t by_rule[MPT_DET_NR];
	uint64_t lag_ns; /* a recent record's age when it was read (sampled) */
	struct mpt_metrics *metrics;
	double start_wall_s;
	uint64_t next_status_ns; /* boot clock: systemd's STATUS= line, once a second */
	/* who every process is (the kernel's process records and /proc): an event's lineage */
	struct mpt_lineage *lineage;
	bool stream_stats;   /* --stats-interval: stats and drop records in the output */
	char host_json[600]; /* the host name as a JSON string, quotes included */
	const char *mode;
};

/* Captures flush on this timer (and when their buffer fills, and at exit). */
#define MPT_CAPTURE_FLUSH_MS 200

/* How long the stop waits for a slow reader of the output before counting the rest as lost. */
#define MPT_STOP_DRAIN_MS 500

/* Before anything else: the pipeline ends in the outputs. */
void mpt_sink_init(struct mpt_sink *s);
/* The tracer's callback: one record, enriched from the live system, down the pipeline. */
int mpt_sink_emit(void *ctx, const struct mpt_view *v);
/* The tracer's process callback: into the lineage table. */
void mpt_sink_process(void *ctx, const struct mpt_proc_event *p);
/* Write what the outputs can take now; notes when every reader went away. */
void mpt_sink_flush(struct mpt_sink *s);
/* Losses since the last look, as drop records (capture, and the stream with stats). */
int mpt_sink_account(struct mpt_sink *s, struct mpt_tracer *t);
/*
 * The live counts, read once: the metrics' text for the next scrape
 * (--metrics), and systemd's STATUS= at most once a second.
 */
void mpt_sink_publish(struct mpt_sink *s, struct mpt_tracer *t);
/* A stats record into the stream (--stats-interval). */
void mpt_sink_stats(struct mpt_sink *s, struct mpt_tracer *t, bool final);
/* The capture @o names, its header from @s, @t and the command line. 0, or -1 said. */
int mpt_sink_open_capture(struct mpt_sink *s, const struct mpt_cap_writer_opts *o,
			  uint32_t array_cap, struct mpt_tracer *t, const char *cmdline);
/* A wall-clock step: later times follow it, and the capture records it. */
void mpt_sink_check_clock(struct mpt_sink *s);
/* The last line on stderr: events, losses by cause. */
void mpt_sink_summary(struct mpt_tracer *t, const struct mpt_sink *s);
/* Events an output could not take, not counting a reader that went away. */
uint64_t mpt_sink_lost_unbroken(const struct mpt_sink *s);
/* The outputs and the capture name different files. 0, or -1 after saying why. */
int mpt_sink_check_paths(const char *const *outputs, int n, const char *capture,
			 uint64_t capture_size);
/* "mptrace: MSG" on stderr: what outputs and the capture say of their outages. */
void mpt_sink_say(const char *msg);

void mpt_read_boot_id(char *buf, size_t len);
int64_t mpt_now_ns(clockid_t clk);
/* CLOCK_REALTIME - CLOCK_BOOTTIME, the best of three readings. */
int64_t mpt_boot_to_wall_ns(void);

#endif
