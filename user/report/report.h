/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The forensic report: what a capture (or the stream) says happened, by
 * whom, to whom, and whether the record is whole, as one self-contained
 * HTML page (inline SVG, no script, nothing fetched) or the same summary as
 * JSON. It is fed the events a replay would print, so it counts exactly
 * what replay shows; its memory is bounded whatever the number of events
 * (the timeline is binned, never one element per call).
 */
#ifndef MPTRACE_REPORT_H
#define MPTRACE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "decode/decode.h"
#include "detect/detect.h"
#include "decode/format.h"

struct mpt_report;

/* Where the events came from: one capture file, or the stream. */
struct mpt_report_source {
	const char *name; /* a file name, or "stream NAME" */
	const char *host, *kernel, *boot_id, *attach_mode, *set_id, *version;
	uint32_t array_cap;
	bool verified;	    /* false: read from the stream, no chain to check */
	bool intact;	    /* the hash chain and every block checked out */
	const char *damage; /* what was wrong, when not intact */
	const char *chain_head;
	uint64_t records;
	bool closed;	      /* the tracer closed the file cleanly */
	int64_t last_good_ns; /* wall time of the last event read before the damage; 0: none */
};

struct mpt_report *mpt_report_new(const struct mpt_detect_cfg *detect);
void mpt_report_free(struct mpt_report *r);

/* An event that passed the filters. */
void mpt_report_event(struct mpt_report *r, const struct mpt_view *v,
		      const struct mpt_fmt_ctx *ctx);
/* An event that the filters left out: counted, not shown. */
void mpt_report_skipped(struct mpt_report *r);
/* Calls lost while tracing (a drop record), times on the wall clock. */
void mpt_report_loss(struct mpt_report *r, const char *cause, uint64_t count, int64_t first_ns,
		     int64_t last_ns, uint32_t tgid);
void mpt_report_source(struct mpt_report *r, const struct mpt_report_source *s);
/* The set of files is incomplete or out of order (mptrace verify says which). */
void mpt_report_set_broken(struct mpt_report *r);
/* The filters the report was made with, as the command line gave them. */
void mpt_report_filters(struct mpt_report *r, const char *text);

/* Write the page, or the JSON summary. 0, or -1 with errno set. */
int mpt_report_write_html(struct mpt_report *r, FILE *out);
int mpt_report_write_json(struct mpt_report *r, FILE *out);
/* The one --format asks for: MPT_FMT_JSON the summary, anything else the page. */
int mpt_report_write(struct mpt_report *r, FILE *out, enum mpt_format fmt);

#endif
