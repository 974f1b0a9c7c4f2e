// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cli/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "detect/detect.h"
#include "decode/format.h"
#include "util/log.h"
#include "util/fsutil.h"
#include "mptrace_event.h"
#include "fleet/fleet.h"
#include "report/report.h"
#include "sinks/pipeline.h"

struct source {
	const char *name;
	FILE *f;
	char *iobuf;
	struct mpt_cap_reader *r;
	struct mpt_fmt_ctx fmt;
	struct mpt_cap_item it;
	bool have; /* it holds the next item */
	bool skip; /* the same file as an earlier input */
	int status;
	char head[2 * MPT_CAP_HASH_LEN + 1]; /* the last chain hash, once read whole */
	char damage[256];		     /* what the reader found wrong */
	int64_t last_good_ns;		     /* wall time of the last event read */
};

static int worse(int a, int b)
{
	return mpt_cap_graver(a, b);
}

static int open_source(struct source *s, const char *name)
{
	char err[512];
	int rc;

	memset(s, 0, sizeof(*s));
	s->name = name;
	/* a FIFO or a device would hang or never end: only regular files are captures */
	rc = mpt_open_regular(name, 0, err, sizeof(err));
	s->f = rc >= 0 ? fdopen(rc, "re") : NULL;
	if (!s->f) {
		if (rc >= 0)
			close(rc);
		fprintf(stderr, "mptrace: %s\n", rc < 0 ? err : strerror(errno));
		return s->status = MPT_CAP_EIO;
	}
	s->iobuf = mpt_cap_read_buffer(s->f);
	rc = mpt_cap_reader_open(s->f, &s->r, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "mptrace: %s: %s\n", name, err);
		fclose(s->f);
		free(s->iobuf);
		s->f = NULL;
		s->iobuf = NULL;
		return s->status = rc;
	}
	s->fmt.hostname = mpt_cap_reader_meta(s->r)->hostname;
	s->fmt.boot_to_wall_ns = mpt_cap_reader_meta(s->r)->boot_to_wall_ns;
	s->fmt.boot_id = mpt_cap_reader_meta(s->r)->boot_id;
	s->fmt.kernel = mpt_cap_reader_meta(s->r)->kernel;
	return 0;
}

static void close_source(struct source *s)
{
	mpt_cap_reader_free(s->r);
	if (s->f)
		fclose(s->f);
	free(s->iobuf);
	s->iobuf = NULL;
}

/* Fetch the next item of @s; on the end or damage, report and retire it. */
static void advance(struct source *s)
{
	int rc;

	s->have = false;
	if (!s->r)
		return;
	rc = mpt_cap_next(s->r, &s->it);
	if (rc > 0) {
		s->have = true;
		return;
	}
	if (rc < 0) {
		snprintf(s->damage, sizeof(s->damage), "%s", mpt_cap_reader_error(s->r));
		fprintf(stderr, "mptrace: %s: %s\n", s->name, s->damage);
		s->status = worse(s->status, -rc);
	}
	mpt_cap_reader_chain_head(s->r, s->head);
}

static void say(const char *msg)
{
	fprintf(stderr, "mptrace: %s\n", msg);
}

/* The same file given twice is read once: it would repeat every event. */
static void mark_repeats(struct source *src, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i && !src[i].skip; j++)
			if (!src[j].skip && mpt_same_file(src[i].name, src[j].name)) {
				fprintf(stderr, "mptrace: %s: given twice; read once\n",
					src[i].name);
				src[i].skip = true;
			}
}

/* The files that were read whole and are of a set: do they follow each other? */
static int check_set(struct source *src, int n)
{
	const struct mpt_cap_meta **meta = calloc(n ? n : 1, sizeof(*meta));
	const char **names = calloc(n ? n : 1, sizeof(*names));
	const char **head = calloc(n ? n : 1, sizeof(*head));
	int k = 0, rc = MPT_CAP_OK;

	if (!meta || !names || !head) {
		rc = MPT_CAP_EIO;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (src[i].skip || !src[i].r)
			continue;
		meta[k] = mpt_cap_reader_meta(src[i].r);
		names[k] = src[i].name;
		head[k++] = src[i].head;
	}
	rc = mpt_cap_check_set(names, meta, head, k, say);
out:
	free(meta);
	free(names);
	free(head);
	return rc;
}

static int64_t wall_of(const struct source *s)
{
	uint64_t ts = s->it.type == MPT_CAP_REC_EVENT	? s->it.view.hdr->ts_boot_ns
		      : s->it.type == MPT_CAP_REC_CLOCK ? s->it.clock_boot_ns
							: s->it.drop_first_ns;

	return (int64_t)ts + s->fmt.boot_to_wall_ns;
}

static void report_drop(const struct source *s)
{
	const struct mpt_cap_item *it = &s->it;
	const char *cause = mpt_cap_drop_cause(it->drop_cause);

	char whose[48] = "";

	if (it->drop_tgid)
		snprintf(whose, sizeof(whose), " of process %u", it->drop_tgid);
	/* on stderr: what stdout shows stays byte-identical to the live output */
	fprintf(stderr,
		"mptrace: %s: %llu calls%s lost (%s) between %lld and %lld ns since the epoch\n",
		s->name, (unsigned long long)it->drop_count, whose, cause,
		(long long)(it->drop_first_ns + s->fmt.boot_to_wall_ns),
		(long long)(it->drop_last_ns + s->fmt.boot_to_wall_ns));
}

/*
 * The files of one set are one stream, read in order: file N+1 waits until
 * file N is done. Only different sets (hosts, runs) merge by time, so a
 * replay prints the set's records in the order they were written, as a
 * replay from the fleet's stream does.
 */
static bool waits_in_set(const struct source *src, int n, int i)
{
	const struct mpt_cap_meta *m = mpt_cap_reader_meta(src[i].r);

	if (!m->set_id[0])
		return false;
	for (int j = 0; j < n; j++) {
		const struct mpt_cap_meta *o;

		if (j == i || !src[j].have)
			continue;
		o = mpt_cap_reader_meta(src[j].r);
		if (!strcmp(o->set_id, m->set_id) && o->file_seq < m->file_seq)
			return true;
	}
	return false;
}

/* A reading: every event down the pipeline (replay prints it, report counts it). */
struct reading {
	const struct mpt_cli *cli;
	struct source *src;
	uint64_t events, dropped;
	struct mpt_pipe pipe;
	void (*drop)(struct reading *rd, struct source *s);
	FILE *out;
	int status;
};

/* The next record of the set that comes first; NULL at the end. */
static struct source *next_source(struct reading *rd)
{
	const struct mpt_cli *cli = rd->cli;
	struct source *next = NULL;

	for (int i = 0; i < cli->n_files; i++)
		if (rd->src[i].have && !waits_in_set(rd->src, cli->n_files, i) &&
		    (!next || wall_of(&rd->src[i]) < wall_of(next)))
			next = &rd->src[i];
	return next;
}

/* Several files (a rotated ring, several hosts), merged in time order, each record handed on. */
static void read_merged(struct reading *rd)
{
	struct source *next;

	while ((next = next_source(rd))) {
		if (next->it.type == MPT_CAP_REC_CLOCK) {
			/* the live run switched offsets here: so does its replay */
			next->fmt.boot_to_wall_ns = next->it.clock_boot_to_wall_ns;
		} else if (next->it.type == MPT_CAP_REC_DROP) {
			rd->dropped += next->it.drop_count;
			rd->drop(rd, next);
		} else {
			rd->events++;
			next->last_good_ns = wall_of(next);
			if (mpt_pipe_event(&rd->pipe, &next->it.view, &next->fmt) < 0 ||
			    rd->pipe.done)
				break;
		}
		advance(next);
	}
}

/* Open every input (each file once) and read its first record. */
static int open_inputs(const struct mpt_cli *cli, struct source *src, volatile int *stop)
{
	int status = 0;

	for (int i = 0; i < cli->n_files; i++) {
		src[i].name = cli->files[i];
		mark_repeats(src, i + 1);
		if (src[i].skip)
			continue;
		status = worse(status, open_source(&src[i], cli->files[i]));
		if (src[i].r && cli->follow)
			mpt_cap_reader_follow(src[i].r, stop);
		advance(&src[i]);
	}
	return status;
}

static bool any_open(const struct mpt_cli *cli, const struct source *src)
{
	for (int i = 0; i < cli->n_files; i++)
		if (src[i].r)
			return true;
	return false;
}

/* -o names a capture or an input: refused, before anything is opened. */
static int output_refused(const struct mpt_cli *cli)
{
	/* `replay -o r.mpcap.*`: the shell put a capture after -o */
	if (cli->output && mpt_file_begins_with(cli->output, MPT_CAP_MAGIC, MPT_CAP_MAGIC_LEN)) {
		fprintf(stderr, "mptrace: -o %s is a capture file: it would be destroyed\n",
			cli->output);
		return 2;
	}
	for (int i = 0; cli->output && i < cli->n_files; i++) {
		if (mpt_same_file(cli->output, cli->files[i])) {
			fprintf(stderr, "mptrace: -o %s is also an input: it would be destroyed\n",
				cli->output);
			return 2;
		}
	}
	return 0;
}

/*
 * Lines go out in 64 KiB writes, as live tracing writes them: stdio's 4 KiB
 * blocks cost a system call every other event. --follow flushes each line,
 * and a terminal keeps its line buffering. Before anything is written.
 */
static void buffer_output(FILE *f, const struct mpt_cli *cli)
{
	static char bufs[2][64 << 10]; /* stdout's, and -o's (one file at a time) */

	if (!cli->follow && !isatty(fileno(f)))
		setvbuf(f, bufs[f != stdout], _IOFBF, sizeof(bufs[0]));
}

/* -o's file, or stdout; NULL after saying why it cannot be opened. */
static FILE *fopen_output(const struct mpt_cli *cli)
{
	FILE *out = cli->output ? fopen(cli->output, "we") : stdout;

	if (!out)
		fprintf(stderr, "mptrace: cannot open output '%s': %s\n", cli->output,
			strerror(errno));
	else if (out != stdout)
		buffer_output(out, cli);
	return out;
}

/* Only now, with something read: a bad input must not cost the output file. */
static FILE *open_output(const struct mpt_cli *cli, const struct source *src, int *status)
{
	FILE *out;

	if (!cli->output)
		return stdout;
	if (!any_open(cli, src)) {
		fprintf(stderr, "mptrace: no capture could be read; %s left alone\n", cli->output);
		return NULL;
	}
	out = fopen_output(cli);
	if (!out)
		*status = worse(*status, 1);
	return out;
}

/* Flush and close @out (unless stdout); the status, worse if that failed. */
static int close_output(FILE *out, const char *what, int status)
{
	if (!out)
		return status;
	if (fflush(out) || ferror(out) || (out != stdout && fclose(out))) {
		fprintf(stderr, "mptrace: writing the %s failed: %s\n", what, strerror(errno));
		return worse(status, 1);
	}
	return status;
}

/* The replay's end: the output file (from a stream, opened once the stream answered). */
static int replay_write(void *ctx, const struct strbuf *line)
{
	struct reading *rd = ctx;

	if (!rd->out && !(rd->out = fopen_output(rd->cli))) {
		rd->status = worse(rd->status, 1);
		return -1;
	}
	if (line->oom || fwrite(line->buf, 1, line->len, rd->out) != line->len) {
		fprintf(stderr, "mptrace: writing the replay failed: %s\n",
			strerror(line->oom ? ENOMEM : errno));
		rd->status = worse(rd->status, 1);
		return -1;
	}
	if (rd->cli->follow)
		fflush(rd->out);
	return 0;
}

/* The selection a replay applies itself: the live run's filters, --since, --until, -n. */
static void reading_init(struct reading *rd, const struct mpt_cli *cli)
{
	memset(rd, 0, sizeof(*rd));
	rd->cli = cli;
	mpt_pipe_init(&rd->pipe);
	rd->pipe.filter = &cli->tracer.filter;
	rd->pipe.window = cli->window;
	rd->pipe.max_events = cli->max_events;
	rd->pipe.max_ancestors = cli->ancestors;
	rd->pipe.format = cli->format;
	buffer_output(stdout, cli);
}

static void replay_drop(struct reading *rd, struct source *s)
{
	(void)rd;
	report_drop(s);
}

/* The status of every input, and of the set when it was read to its end. */
static int inputs_status(const struct mpt_cli *cli, struct source *src, int status)
{
	for (int i = 0; i < cli->n_files; i++)
		status = worse(status, src[i].status);
	/* a set read to its end: a missing file is calls nobody sees */
	if (!cli->max_events)
		status = worse(status, check_set(src, cli->n_files));
	return status;
}

int mpt_cmd_replay(const struct mpt_cli *cli, volatile int *stop)
{
	struct reading rd;
	char err[512];
	int status;

	status = output_refused(cli);
	if (status)
		return status;
	reading_init(&rd, cli);
	rd.drop = replay_drop;
	rd.pipe.end = replay_write;
	rd.pipe.end_ctx = &rd;
	rd.src = calloc(cli->n_files, sizeof(*rd.src));
	if (!rd.src) {
		fprintf(stderr, "mptrace: out of memory\n");
		mpt_pipe_free(&rd.pipe);
		return 1;
	}
	if (cli->detect.enabled &&
	    !(rd.pipe.detect = mpt_detector_open(&cli->detect, err, sizeof(err)))) {
		fprintf(stderr, "mptrace: %s\n", err);
		mpt_pipe_free(&rd.pipe);
		free(rd.src);
		return 2;
	}
	status = open_inputs(cli, rd.src, stop);
	rd.out = open_output(cli, rd.src, &status);
	if (rd.out) {
		read_merged(&rd);
		status = close_output(rd.out, "replay", worse(status, rd.status));
		status = inputs_status(cli, rd.src, status);
		mpt_log_next(rd.dropped || status ? MPT_LOG_WARNING : MPT_LOG_NOTICE);
		fprintf(stderr,
			"mptrace: replayed %llu of %llu events, %llu calls lost while tracing%s\n",
			(unsigned long long)rd.pipe.shown, (unsigned long long)rd.events,
			(unsigned long long)rd.dropped,
			status == MPT_CAP_ESET
			    ? ", and files of the set are missing or out of place"
			    : "");
		mpt_log_next(MPT_LOG_ERR);
	}
	for (int i = 0; i < cli->n_files; i++)
		close_source(&rd.src[i]);
	mpt_detector_free(rd.pipe.detect);
	mpt_pipe_free(&rd.pipe);
	free(rd.src);
	return status;
}

/* -- from the stream (--nats) ------------------------------------------------ */

/* report --nats: the page (or JSON) of what the stream held. 0, or 1 if it was not written. */
static int write_stream_report(struct reading *rd, const struct mpt_stream_counts *n)
{
	const char *stream = rd->cli->nats.stream ? rd->cli->nats.stream : MPT_NATS_DEFAULT_STREAM;
	char name[160];
	struct mpt_report_source src = {.name = name, .attach_mode = ""};

	snprintf(name, sizeof(name), "stream %s", stream);
	src.records = n->events;
	mpt_report_source(rd->pipe.report, &src);
	if (!(rd->out = fopen_output(rd->cli)))
		return 1;
	if (mpt_report_write(rd->pipe.report, rd->out, rd->cli->format)) {
		fprintf(stderr, "mptrace: writing the report failed: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

/* The closing line; what the stream lost or holds twice is said there too. */
static void say_streamed(const struct reading *rd, const struct mpt_stream_counts *n)
{
	char dup[96] = "", gap[160] = "";

	if (n->duplicates)
		snprintf(dup, sizeof(dup), "; %llu records stored twice, put out once",
			 (unsigned long long)n->duplicates);
	if (n->gaps)
		snprintf(gap, sizeof(gap),
			 "; %llu gaps: messages the stream no longer holds (discarded or deleted), "
			 "their records missing here",
			 (unsigned long long)n->gaps);
	mpt_log_next(n->dropped || n->gaps ? MPT_LOG_WARNING : MPT_LOG_NOTICE);
	fprintf(stderr, "mptrace: %s %llu of %llu events, %llu calls lost while tracing%s%s\n",
		rd->pipe.report ? "report of" : "replayed", (unsigned long long)rd->pipe.shown,
		(unsigned long long)n->events, (unsigned long long)n->dropped, dup, gap);
	mpt_log_next(MPT_LOG_ERR);
}

/* The stages: the report, or the output and the detections. 0, or an exit code said. */
static int stream_stages(struct reading *rd)
{
	const struct mpt_cli *cli = rd->cli;
	char why[512];

	if (cli->command == MPT_CMD_REPORT) {
		if (!(rd->pipe.report = mpt_report_new(&cli->detect))) {
			fprintf(stderr, "mptrace: out of memory\n");
			return 1;
		}
		mpt_report_filters(rd->pipe.report, cli->command_line);
		return 0;
	}
	rd->pipe.end = replay_write;
	rd->pipe.end_ctx = rd;
	if (cli->detect.enabled &&
	    !(rd->pipe.detect = mpt_detector_open(&cli->detect, why, sizeof(why)))) {
		fprintf(stderr, "mptrace: %s\n", why);
		return 2;
	}
	return 0;
}

/*
 * --event with one event and no --subject: the server sends that event's
 * subject alone (ship's default mptrace.HOST.EVENT.CONTAINER).
 */
static const char *event_subject(const struct mpt_cli *cli, char *buf, size_t len)
{
	uint32_t ev = cli->tracer.filter.events;
	const struct mpt_event_desc *d;

	if (cli->nats.subject || !ev || (ev & (ev - 1)))
		return cli->nats.subject;
	d = mpt_event_desc_of((uint16_t)__builtin_ctz(ev));
	if (!d)
		return NULL;
	snprintf(buf, len, "mptrace.*.%s.>", d->name);
	return buf;
}

int mpt_cmd_replay_nats(const struct mpt_cli *cli, volatile int *stop)
{
	struct mpt_nats_opts o = cli->nats;
	struct mpt_stream_counts n;
	struct reading rd;
	char subject[128];
	int rc;

	reading_init(&rd, cli);
	rc = stream_stages(&rd);
	o.subject = event_subject(cli, subject, sizeof(subject));
	o.subject_from_event = o.subject && !cli->nats.subject;
	if (!rc && mpt_stream_replay(&o, &rd.pipe, &n, stop))
		rc = 1;
	if (!rc && rd.pipe.report)
		rc = write_stream_report(&rd, &n);
	if (!rc && !rd.out)
		rd.out = fopen_output(cli);
	if (!rc && !rd.out)
		rc = 1;
	if (rd.out && rd.out != stdout && fclose(rd.out) && !rc) {
		fprintf(stderr, "mptrace: writing the %s failed: %s\n",
			rd.pipe.report ? "report" : "replay", strerror(errno));
		rc = 1;
	}
	if (!rc && (fflush(stdout) || ferror(stdout))) {
		fprintf(stderr, "mptrace: writing to standard output failed\n");
		rc = 1;
	}
	if (!rc)
		say_streamed(&rd, &n);
	mpt_detector_free(rd.pipe.detect);
	mpt_report_free(rd.pipe.report);
	mpt_pipe_free(&rd.pipe);
	return rc;
}

/* -- report --------------------------------------------------------------- */

static void report_loss(struct reading *rd, struct source *s)
{
	const struct mpt_cap_item *it = &s->it;

	mpt_report_loss(rd->pipe.report, mpt_cap_drop_cause(it->drop_cause), it->drop_count,
			(int64_t)it->drop_first_ns + s->fmt.boot_to_wall_ns,
			(int64_t)it->drop_last_ns + s->fmt.boot_to_wall_ns, it->drop_tgid);
}

/* Each input as the page's header shows it: what it is and whether it is whole. */
static void report_sources(struct reading *rd)
{
	for (int i = 0; i < rd->cli->n_files; i++) {
		const struct source *s = &rd->src[i];
		const struct mpt_cap_meta *m = s->r ? mpt_cap_reader_meta(s->r) : NULL;
		struct mpt_report_source rs = {.name = s->name, .verified = true};

		if (s->skip)
			continue;
		rs.intact = !s->status;
		rs.damage = s->damage[0] ? s->damage : s->status ? "not a readable capture" : "";
		rs.chain_head = s->head;
		rs.last_good_ns = s->last_good_ns;
		if (m) {
			rs.host = m->hostname, rs.kernel = m->kernel, rs.boot_id = m->boot_id;
			rs.attach_mode = m->attach_mode, rs.set_id = m->set_id;
			rs.version = m->mptrace_version, rs.array_cap = m->array_cap;
			rs.records = mpt_cap_reader_counts(s->r)->records;
			rs.closed = mpt_cap_reader_counts(s->r)->ended;
		}
		mpt_report_source(rd->pipe.report, &rs);
	}
}

int mpt_cmd_report(const struct mpt_cli *cli, volatile int *stop)
{
	struct reading rd;
	int status;

	status = output_refused(cli);
	if (status)
		return status;
	reading_init(&rd, cli);
	rd.drop = report_loss;
	rd.src = calloc(cli->n_files, sizeof(*rd.src));
	rd.pipe.report = mpt_report_new(&cli->detect);
	if (!rd.src || !rd.pipe.report) {
		fprintf(stderr, "mptrace: out of memory\n");
		status = 1;
		goto out;
	}
	mpt_report_filters(rd.pipe.report, cli->command_line);
	status = open_inputs(cli, rd.src, stop);
	read_merged(&rd);
	/* a damaged input is on the page, said as damaged: the page is still written */
	if (check_set(rd.src, cli->n_files))
		mpt_report_set_broken(rd.pipe.report);
	report_sources(&rd);
	status = inputs_status(cli, rd.src, status);
	rd.out = open_output(cli, rd.src, &status);
	if (rd.out) {
		int rc = mpt_report_write(rd.pipe.report, rd.out, cli->format);

		/* a failed write to the file is said once, by close_output() */
		if (rc && !ferror(rd.out))
			fprintf(stderr, "mptrace: writing the report failed: %s\n",
				strerror(errno));
		status = close_output(rd.out, "report", rc ? worse(status, 1) : status);
		mpt_log_next(rd.dropped || status ? MPT_LOG_WARNING : MPT_LOG_NOTICE);
		fprintf(stderr,
			"mptrace: report of %llu of %llu events, %llu calls lost while tracing\n",
			(unsigned long long)rd.pipe.shown, (unsigned long long)rd.events,
			(unsigned long long)rd.dropped);
		mpt_log_next(MPT_LOG_ERR);
	} else {
		status = worse(status, 1);
	}
out:
	for (int i = 0; rd.src && i < cli->n_files; i++)
		close_source(&rd.src[i]);
	mpt_report_free(rd.pipe.report);
	mpt_pipe_free(&rd.pipe);
	free(rd.src);
	return status;
}

/* Read a whole file; 0 or its status. */
static int read_all(struct source *s, const char *name)
{
	int rc = open_source(s, name);

	if (rc)
		return rc;
	do
		advance(s);
	while (s->have);
	return s->status;
}

/* What went to standard output must have got there: `> /dev/full` is a failure. */
static int stdout_status(int status)
{
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "mptrace: writing to standard output failed: %s\n",
			strerror(errno ? errno : EIO));
		return worse(status, 1);
	}
	return status;
}

/* Each file read whole (each said once), then the set they form. */
static int read_inputs(const struct mpt_cli *cli, struct source *src, int *status)
{
	for (int i = 0; i < cli->n_files; i++) {
		src[i].name = cli->files[i];
		mark_repeats(src, i + 1);
		if (!src[i].skip)
			*status = worse(*status, read_all(&src[i], cli->files[i]));
	}
	return check_set(src, cli->n_files);
}

/*
 * Read every input whole, check the set they form, then @report each (not
 * the repeats): verify and capture-info differ only in what they print.
 */
static int each_input(const struct mpt_cli *cli, void (*report)(const struct source *s),
		      const char *set_failed)
{
	struct source *src = calloc(cli->n_files, sizeof(*src));
	int status = 0, set;

	if (!src) {
		fprintf(stderr, "mptrace: out of memory\n");
		return 1;
	}
	set = read_inputs(cli, src, &status);
	for (int i = 0; i < cli->n_files; i++)
		if (!src[i].skip)
			report(&src[i]);
	if (set && set_failed)
		printf("%s\n", set_failed);
	status = worse(status, set);
	for (int i = 0; i < cli->n_files; i++)
		close_source(&src[i]);
	free(src);
	return stdout_status(status);
}

static void report_verify(const struct source *s)
{
	if (!s->status && s->r) {
		const struct mpt_cap_counts *c = mpt_cap_reader_counts(s->r);

		printf("%s: intact: %llu records in %llu chain blocks, chain head %s\n", s->name,
		       (unsigned long long)c->records, (unsigned long long)c->chain_blocks,
		       s->head);
	} else {
		printf("%s: NOT intact (see above)\n", s->name);
	}
}

int mpt_cmd_verify(const struct mpt_cli *cli)
{
	return each_input(cli, report_verify,
			  "the set of files is NOT complete or NOT in order (see above)");
}

static void print_time(const char *label, int64_t wall_ns)
{
	time_t sec = wall_ns / 1000000000;
	struct tm tm;
	char buf[64];

	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%-18s %s.%09lldZ\n", label, buf, (long long)(wall_ns % 1000000000));
}

static void report_info(const struct source *s)
{
	const struct mpt_cap_meta *m;
	const struct mpt_cap_counts *c;

	if (!s->r)
		return;
	m = mpt_cap_reader_meta(s->r);
	c = mpt_cap_reader_counts(s->r);
	printf("%-18s %s\n", "file", s->name);
	printf("%-18s %s\n", "mptrace version", m->mptrace_version);
	printf("%-18s %s\n", "host", m->hostname);
	printf("%-18s %s\n", "kernel", m->kernel);
	printf("%-18s %s\n", "boot id", m->boot_id);
	printf("%-18s %s\n", "attach mode", m->attach_mode);
	printf("%-18s %u\n", "array cap", m->array_cap);
	printf("%-18s %s\n", "command line", m->command_line);
	printf("%-18s %u\n", "file in set", m->file_seq);
	if (m->set_id[0])
		printf("%-18s %s\n", "set", m->set_id);
	if (m->prev_file_seq >= 0)
		printf("%-18s %lld, chain head %s\n", "follows file", (long long)m->prev_file_seq,
		       m->prev_file_hash);
	print_time("created", (int64_t)m->created_ns);
	printf("%-18s %llu\n", "events", (unsigned long long)c->events);
	printf("%-18s %llu in %llu drop records\n", "calls lost", (unsigned long long)c->dropped,
	       (unsigned long long)c->drop_records);
	if (c->events) {
		print_time("first event", (int64_t)c->first_ns + m->boot_to_wall_ns);
		print_time("last event", (int64_t)c->last_ns + m->boot_to_wall_ns);
	}
	if (c->clock_steps)
		printf("%-18s %llu\n", "clock steps", (unsigned long long)c->clock_steps);
	printf("%-18s %llu\n", "process records", (unsigned long long)c->processes);
	printf("%-18s %llu\n", "records skipped", (unsigned long long)c->unknown);
	printf("%-18s %llu\n", "chain blocks", (unsigned long long)c->chain_blocks);
	printf("%-18s %s\n", "closed cleanly", c->ended ? "yes" : "no");
}

int mpt_cmd_capture_info(const struct mpt_cli *cli)
{
	return each_input(cli, report_info, NULL);
}
