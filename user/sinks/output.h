/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event log: whole lines only, appended, rotated by size, reopened on
 * request. Nothing here blocks the tracer or stops it:
 *  - a failing disk: the lines that cannot be written are counted, the file
 *    is cut back to its last whole line, and writing resumes when it can,
 *    with a drop record saying what was lost;
 *  - a reader that stalls (a pipe nobody empties): lines queue up to a
 *    bound, then are counted as lost until it catches up;
 *  - a reader that went away: every later line is counted as lost.
 */
#ifndef MPTRACE_OUTPUT_H
#define MPTRACE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lines queued for a reader that does not keep up, at most. */
#define MPT_OUTPUT_QUEUE_MAX (16u << 20)

struct mpt_output {
	const char *path; /* NULL: standard output */
	int fd;
	bool regular; /* a regular file: writes never wait for a reader */
	char *buf;    /* whole lines not yet written (the first may be partly written) */
	size_t len, cap;
	size_t *ends; /* where each queued event's lines end in buf */
	size_t n_ends, cap_ends;
	uint64_t file_bytes; /* whole lines in the current file */
	uint64_t log_size;   /* rotate past this; 0: never */
	uint32_t log_files;
	size_t max_queue;
	uint64_t lost_events; /* event lines that could not be written, in all */
	uint64_t unreported;  /* ... since writing last worked */
	int failing;	      /* errno while writes fail (EAGAIN: the queue is full), else 0 */
	bool broken;	      /* the reader went away (EPIPE): nothing can be written again */
	int rotate_err;	      /* errno while rotation fails, else 0 */
	int64_t rotate_retry; /* CLOCK_MONOTONIC ms of the next try */
	int64_t reopen_retry; /* likewise, while the file cannot be opened again */
	void (*say)(const char *msg);
	uint32_t files_begun; /* opened, rotated or reopened: a file that starts empty */
};

int mpt_output_open(struct mpt_output *o, const char *path, uint64_t log_size, uint32_t log_files,
		    void (*say)(const char *msg));
/* Queue one whole line (or several: @event counts them as one event); may write. */
int mpt_output_line(struct mpt_output *o, const char *line, size_t len, bool event);
/*
 * Write what the fd takes now, without waiting. Returns 0, also when the
 * disk refused it (counted in lost_events, said once); -EPIPE once the
 * reader went away (then and later).
 */
int mpt_output_flush(struct mpt_output *o);
/*
 * Wait up to @timeout_ms for the queue to be written; what is still queued
 * then is counted as lost. For the stop: a stalled reader cannot hold it.
 */
void mpt_output_drain(struct mpt_output *o, int timeout_ms);
/* Reopen the file at its path (after logrotate moved it). */
int mpt_output_reopen(struct mpt_output *o);
/* Flush without waiting, count what is left as lost, close. */
int mpt_output_close(struct mpt_output *o);

#endif
