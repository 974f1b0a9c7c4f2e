/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event log: whole lines only, appended, rotated by size, reopened on
 * request. A failing disk does not stop the tracer: the lines that cannot be
 * written are counted, the file is cut back to its last whole line, and
 * writing resumes when it can, with a drop record saying what was lost.
 */
#ifndef MPTRACE_OUTPUT_H
#define MPTRACE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mpt_output {
	const char *path; /* NULL: standard output */
	int fd;
	char *buf; /* whole lines not yet written */
	size_t len, cap;
	uint64_t pending_events; /* event lines in buf */
	uint64_t file_bytes;	 /* whole lines in the current file */
	uint64_t log_size;	 /* rotate past this; 0: never */
	uint32_t log_files;
	uint64_t lost_events; /* event lines that could not be written, in all */
	uint64_t unreported;  /* ... since writing last worked */
	int failing;	      /* errno while writes fail, 0 when they work */
	void (*say)(const char *msg);
};

int mpt_output_open(struct mpt_output *o, const char *path, uint64_t log_size, uint32_t log_files,
		    void (*say)(const char *msg));
/* Queue one whole line (with its newline); flushes when enough is queued. */
int mpt_output_line(struct mpt_output *o, const char *line, size_t len, bool event);
/*
 * Write what is queued. Returns 0, also when the disk refused it (counted in
 * lost_events, said once); < 0 only when writing can never work again (the
 * reader of a pipe went away: -EPIPE).
 */
int mpt_output_flush(struct mpt_output *o);
/* Reopen the file at its path (after logrotate moved it). */
int mpt_output_reopen(struct mpt_output *o);
int mpt_output_close(struct mpt_output *o);

#endif
