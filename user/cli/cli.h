/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The command line, parsed into plain settings; no side effects. */
#ifndef MPTRACE_CLI_H
#define MPTRACE_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "detect/detect.h"
#include "decode/format.h"
#include "fleet/fleet.h"
#include "kernel/tracer.h"
#include "sinks/pipeline.h"

enum mpt_command {
	MPT_CMD_TRACE,
	MPT_CMD_PROBE,
	MPT_CMD_REPLAY,
	MPT_CMD_VERIFY,
	MPT_CMD_CAPTURE_INFO,
	MPT_CMD_SHIP,
	MPT_CMD_REPORT,
};

#define MPT_CLI_FILES_MAX 1024
/* --ancestors not given: its default depends on the format */
#define MPT_CLI_ANCESTORS_DEFAULT (-2)

struct mpt_cli {
	enum mpt_command command;
	struct mpt_tracer_opts tracer;
	enum mpt_format format;
	const char *output;	/* NULL: stdout; the first of outputs[] */
	const char *outputs[4]; /* -o given several times: the same lines to each; "-": stdout */
	int n_outputs;
	uint64_t max_events;  /* 0: no limit */
	uint64_t duration_ms; /* 0: until a signal */
	int verbosity;
	/* capture while tracing */
	const char *capture;
	bool capture_sync;
	bool capture_group_read; /* 0640 instead of 0600: for an unprivileged shipper */
	uint64_t capture_size;	 /* bytes; 0: one file */
	uint32_t capture_files;
	/* replay, verify, capture-info */
	const char *files[MPT_CLI_FILES_MAX];
	int n_files;
	bool follow;
	struct mpt_detect_cfg detect;
	uint64_t stats_ms; /* stats and drop records in the output stream; 0: none */
	uint64_t log_size; /* rotate --output past this many bytes; 0: never */
	uint32_t log_files;
	struct mpt_window window; /* replay, report: --since, --until */
	/*
	 * --ancestors: how many inline in each line; -1: all kept. Not given
	 * (MPT_CLI_ANCESTORS_DEFAULT): 0 for JSON, whose process records tell the
	 * chain, all for the formats that have none.
	 */
	int32_t ancestors;
	struct mpt_nats_opts nats;
	const char *metrics;	  /* --metrics ADDR:PORT; NULL: none */
	bool format_html;	  /* report: -f html (the default) */
	const char *command_line; /* set by main: the report shows what it was made with */
};

/*
 * Parse argv. Returns 0 to go on, > 0 when the run is over successfully
 * (--help, --version), < 0 on a bad command line; @err then says why.
 */
int mpt_cli_parse(int argc, char **argv, struct mpt_cli *cli, char *err, size_t len);

/*
 * mpt_cli_parse, with the settings of --config FILE (an INI file of
 * "long-option = value" lines) placed before the command line's own, so the
 * command line overrides single-valued settings and adds to filter lists.
 * *argv_out (free it) holds the combined argument list.
 */
int mpt_cli_parse_config(int argc, char **argv, struct mpt_cli *cli, char *err, size_t len,
			 char ***argv_out);

#endif
