// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mptrace: trace every move_pages(2) call on the host.
 *
 * parse args -> check privileges -> open output -> run the attach plan
 * (open, configure, load, attach) -> announce -> poll until told to stop ->
 * detach and drain -> report counters -> cleanup.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "cli.h"
#include "container.h"
#include "detect.h"
#include "fleet.h"
#include "format.h"
#include "fsutil.h"
#include "log.h"
#include "output.h"
#include "privs.h"
#include "strbuf.h"
#include "replay.h"
#include "tracer.h"
#include "version.h"

/* Records are written without a wake-up; the reader comes back this often. */
#define MPT_POLL_MS 10

static volatile sig_atomic_t exiting, stats_wanted, reopen_wanted;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		stats_wanted = 1;
	else if (sig == SIGHUP)
		reopen_wanted = 1;
	else
		exiting = 1;
}

struct sink {
	enum mpt_format format;
	struct mpt_fmt_ctx fmt;
	struct mpt_output out[4]; /* the same lines to each (-o, several times) */
	int n_out;
	const char *out_name;
	uint64_t out_failed_since[4]; /* boot clock, while an output refuses writes */
	struct strbuf line;
	uint64_t emitted;
	uint64_t max_events;
	bool done;	 /* -n reached: later records are read and not shown */
	bool all_broken; /* every output's reader went away */
	int write_errno;
	/* --capture */
	struct mpt_cap_writer *cap;
	const char *cap_name;
	uint64_t cap_lost;		/* after close */
	uint64_t lost[MPT_CAP_DROP_NR]; /* already written as drop records */
	uint64_t lost_since_ns;		/* boot clock */
	struct mpt_detector *detect;
	bool stream_stats;   /* --stats-interval: stats and drop records in the output */
	char host_json[600]; /* the host name as a JSON string, quotes included */
	const char *mode;
};

/* Captures flush on this timer (and when their buffer fills, and at exit). */
#define MPT_CAPTURE_FLUSH_MS 200

/* How long the stop waits for a slow reader of the output before counting the rest as lost. */
#define MPT_STOP_DRAIN_MS 500
/* A change of the boot-to-wall offset beyond this is a clock step, not measuring noise. */
#define MPT_CLOCK_STEP_NS 10000000ll

static void say(const char *msg)
{
	fprintf(stderr, "mptrace: %s\n", msg);
}

static void stream_drop(struct sink *s, int only, int cause, uint64_t count, uint64_t from,
			uint64_t to);
static uint64_t boot_ns(void);

/*
 * Write what is queued. Events the disk refused are counted; once writing
 * works again a drop record marks the gap in the log itself.
 */
static int flush_one(struct sink *s, int i)
{
	struct mpt_output *o = &s->out[i];
	int err = mpt_output_flush(o);

	if (err)
		return err;
	if (!o->failing && o->unreported) {
		uint64_t now = boot_ns(), count = o->unreported;

		/* a small write can fit a nearly full disk: the record counts once written */
		stream_drop(s, i, MPT_CAP_DROP_OUTPUT, count, s->out_failed_since[i], now);
		err = mpt_output_flush(o);
		if (!err && !o->failing)
			o->unreported -= count;
	}
	if (o->failing && !s->out_failed_since[i])
		s->out_failed_since[i] = boot_ns();
	if (!o->failing)
		s->out_failed_since[i] = 0;
	return err;
}

static void flush_output(struct sink *s)
{
	int broken = 0;

	for (int i = 0; i < s->n_out; i++)
		broken += flush_one(s, i) == -EPIPE;
	s->all_broken = s->n_out && broken == s->n_out;
}

/* Events some output could not take: counted per output, reported as the worst. */
static uint64_t output_lost(const struct sink *s)
{
	uint64_t lost = 0;

	for (int i = 0; i < s->n_out; i++)
		if (s->out[i].lost_events > lost)
			lost = s->out[i].lost_events;
	return lost;
}

static int emit_event(void *ctx, const struct mpt_view *v)
{
	struct sink *s = ctx;
	struct mpt_view ev = *v;
	struct mpt_container ctr;
	struct mpt_enrich en;

	/* -n: the user asked for that many; the rest is read (the ring must empty) and left */
	if (s->done)
		return 0;
	/* what the record does not carry, from the live system (cached per cgroup, process) */
	mpt_enrich_live(&v->ev->task, &ctr, &en);
	ev.enrich = &en;

	/* the capture counts what its disk refuses; nothing here stops the trace */
	if (s->cap)
		mpt_cap_write_event(s->cap, &ev);
	sb_reset(&s->line);
	mpt_format_event(s->format, &s->line, &ev, &s->fmt);
	if (s->detect)
		mpt_detect_lines(s->detect, s->format, &s->line, &ev, &s->fmt);
	/* a full disk, a stalled or a vanished reader: counted per output, never a stop */
	for (int i = 0; i < s->n_out; i++) {
		if (s->line.oom)
			s->out[i].lost_events++;
		else
			mpt_output_line(&s->out[i], s->line.buf, s->line.len, true);
	}
	s->emitted++;
	if (s->max_events && s->emitted >= s->max_events)
		s->done = true;
	return 0;
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Records carry CLOCK_BOOTTIME, which keeps counting through suspend; output
 * wants wall time. The best of three readings: a preemption between the
 * clock reads would look like a clock step.
 */
static int64_t boot_to_wall_ns(void)
{
	int64_t best = 0, best_gap = INT64_MAX;

	for (int i = 0; i < 3; i++) {
		int64_t before = now_ns(CLOCK_REALTIME);
		int64_t boot = now_ns(CLOCK_BOOTTIME);
		int64_t after = now_ns(CLOCK_REALTIME);

		int64_t gap = after > before ? after - before : before - after;

		if (gap < best_gap) {
			best_gap = gap;
			best = before + (after - before) / 2 - boot;
		}
	}
	return best;
}

static uint64_t boot_ns(void)
{
	return now_ns(CLOCK_BOOTTIME);
}

/* One record of the accounting stream (JSON, or a "--" line in the table), to @only or all. */
static void stream_line(struct sink *s, int only, const char *json, const char *table)
{
	const char *line = s->format == MPT_FMT_JSON ? json : table;

	/* an OCSF stream holds OCSF events only: losses are on stderr and in the capture */
	if (s->format == MPT_FMT_OCSF)
		return;

	for (int i = 0; i < s->n_out; i++)
		if (only < 0 || only == i)
			mpt_output_line(&s->out[i], line, strlen(line), false);
}

static void stream_drop(struct sink *s, int only, int cause, uint64_t count, uint64_t from,
			uint64_t to)
{
	char json[512], table[256];

	snprintf(json, sizeof(json),
		 "{\"timestamp\":%lld,\"eventName\":\"drop\",\"cause\":\"%s\",\"count\":%llu,"
		 "\"fromTimestamp\":%lld,\"toTimestamp\":%lld}\n",
		 (long long)(to + s->fmt.boot_to_wall_ns), mpt_cap_drop_cause(cause),
		 (unsigned long long)count, (long long)(from + s->fmt.boot_to_wall_ns),
		 (long long)(to + s->fmt.boot_to_wall_ns));
	snprintf(table, sizeof(table), "-- %llu calls lost (%s) in the last %.3f s\n",
		 (unsigned long long)count, mpt_cap_drop_cause(cause), (to - from) / 1e9);
	stream_line(s, only, json, table);
}

/*
 * Every loss so far, by drop cause. Unfinished calls are known only once the
 * tracer stopped (0 before).
 */
static void loss_counts(const struct sink *s, const struct mpt_stats *st, uint64_t *cur)
{
	for (int k = 0; k < MPT_STAT_NR; k++)
		cur[k] = k == MPT_STAT_EVENTS ? 0 : st->kernel[k];
	cur[MPT_CAP_DROP_UNFINISHED] = st->unfinished;
	cur[MPT_CAP_DROP_MALFORMED] = st->malformed;
	cur[MPT_CAP_DROP_OUTPUT] = output_lost(s);
	cur[MPT_CAP_DROP_CAPTURE] = s->cap ? mpt_cap_writer_lost(s->cap) : s->cap_lost;
}

/*
 * Losses since the last look become drop records: in the capture, so the
 * file shows each gap, and in the output with --stats-interval.
 */
static int account_losses(struct sink *s, struct mpt_tracer *t)
{
	uint64_t now = boot_ns(), cur[MPT_CAP_DROP_NR];
	struct mpt_stats st;
	int err = 0;

	if ((!s->cap && !s->stream_stats) || mpt_tracer_stats(t, &st))
		return 0;
	loss_counts(s, &st, cur);
	/*
	 * The output's own losses are marked by flush_one(), once writing works
	 * again; the capture marks its own in the capture.
	 */
	for (int k = 0; k < MPT_CAP_DROP_NR && !err; k++) {
		if (k == MPT_CAP_DROP_OUTPUT || cur[k] <= s->lost[k])
			continue;
		if (s->cap && k != MPT_CAP_DROP_CAPTURE)
			err = mpt_cap_write_drop(s->cap, k, cur[k] - s->lost[k], s->lost_since_ns,
						 now);
		if (s->stream_stats)
			stream_drop(s, -1, k, cur[k] - s->lost[k], s->lost_since_ns, now);
		s->lost[k] = cur[k];
	}
	s->lost_since_ns = now;
	return err;
}

/* Where the trace stands: what the kernel saw, what was written, what was lost and why. */
static void stream_stats(struct sink *s, struct mpt_tracer *t, bool final)
{
	uint64_t queued, size, cur[MPT_CAP_DROP_NR];
	struct mpt_stats st;
	char json[1024], table[512];
	int n, m;

	if (mpt_tracer_stats(t, &st))
		return;
	mpt_tracer_ring_fill(t, &queued, &size);
	n = snprintf(json, sizeof(json),
		     "{\"timestamp\":%lld,\"eventName\":\"stats\",\"hostName\":%s,"
		     "\"attachMode\":\"%s\",\"final\":%s,\"eventsSeen\":%llu,"
		     "\"eventsReceived\":%llu,\"eventsEmitted\":%llu,\"dropped\":{",
		     (long long)(boot_ns() + s->fmt.boot_to_wall_ns), s->host_json, s->mode,
		     final ? "true" : "false", (unsigned long long)st.kernel[MPT_STAT_EVENTS],
		     (unsigned long long)st.received, (unsigned long long)s->emitted);
	m = snprintf(table, sizeof(table), "-- stats: %llu seen, %llu written, lost:",
		     (unsigned long long)st.kernel[MPT_STAT_EVENTS],
		     (unsigned long long)s->emitted);
	loss_counts(s, &st, cur);
	for (int k = 0; k < MPT_CAP_DROP_NR; k++) {
		uint64_t v = cur[k];

		if (k == MPT_STAT_EVENTS)
			continue;
		n += snprintf(json + n, sizeof(json) - n, "%s\"%s\":%llu",
			      n && json[n - 1] == '{' ? "" : ",", mpt_cap_drop_cause(k),
			      (unsigned long long)v);
		m += snprintf(table + m, sizeof(table) - m, " %s=%llu", mpt_cap_drop_cause(k),
			      (unsigned long long)v);
	}
	snprintf(json + n, sizeof(json) - n,
		 "},\"kretprobeMissed\":%llu,\"compatTraced\":%s,"
		 "\"ringBufferQueuedBytes\":%llu,\"ringBufferBytes\":%llu}\n",
		 (unsigned long long)st.kretprobe_missed,
		 mpt_tracer_compat_off(t) ? "false" : "true", (unsigned long long)queued,
		 (unsigned long long)size);
	snprintf(table + m, sizeof(table) - m, ", ring buffer %llu of %llu bytes queued%s\n",
		 (unsigned long long)queued, (unsigned long long)size,
		 mpt_tracer_compat_off(t) ? ", 32-bit calls NOT traced" : "");
	stream_line(s, -1, json, table);
}

static void read_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

static int open_capture(struct sink *s, const struct mpt_cli *cli, struct mpt_tracer *t,
			const char *cmdline)
{
	const struct mpt_cap_writer_opts o = {.path = cli->capture,
					      .max_bytes = cli->capture_size,
					      .max_files = cli->capture_files,
					      .sync = cli->capture_sync,
					      .group_read = cli->capture_group_read,
					      .say = say};
	struct mpt_cap_meta m = {0};
	struct utsname uts;
	char boot_id[64], err[512];

	uname(&uts);
	read_boot_id(boot_id, sizeof(boot_id));
	m.mptrace_version = MPTRACE_VERSION;
	m.hostname = s->fmt.hostname;
	m.kernel = uts.release;
	m.boot_id = boot_id;
	m.boot_to_wall_ns = s->fmt.boot_to_wall_ns;
	m.attach_mode = mpt_attach_name(mpt_tracer_mode(t));
	m.array_cap = cli->tracer.array_cap;
	m.command_line = cmdline;
	m.created_ns = now_ns(CLOCK_REALTIME);
	if (mpt_cap_writer_open(&o, &m, &s->cap, err, sizeof(err))) {
		fprintf(stderr, "mptrace: %s\n", err);
		return -1;
	}
	s->cap_name = cli->capture;
	s->lost_since_ns = boot_ns();
	return 0;
}

/* argv as one line, for the capture header. */
static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	for (int i = 0; s && i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static void report_attach_failure(enum mpt_attach_mode request, const struct mpt_attach_report *rep)
{
	int m;

	if (rep->error[0]) {
		fprintf(stderr, "mptrace: %s\n", rep->error);
		return;
	}
	if (request != MPT_ATTACH_AUTO) {
		fprintf(stderr, "mptrace: cannot trace via %s: %s\n", mpt_attach_name(request),
			rep->why[request]);
		return;
	}
	fprintf(stderr, "mptrace: no attach mode works on this kernel:");
	for (m = 0; m < MPT_ATTACH_NR; m++)
		fprintf(stderr, "%s %s: %s", m ? ";" : "", mpt_attach_name(m), rep->why[m]);
	fputc('\n', stderr);
}

static void print_summary(struct mpt_tracer *t, const struct sink *s)
{
	struct mpt_stats st;

	if (mpt_tracer_stats(t, &st)) {
		fprintf(stderr, "mptrace: %llu events, drop counters unreadable\n",
			(unsigned long long)s->emitted);
		return;
	}
	fprintf(stderr, "mptrace: %llu events, %llu dropped",
		(unsigned long long)(s->emitted - output_lost(s)),
		(unsigned long long)(mpt_stats_lost(&st) + output_lost(s)));
#define MPT_STAT_PRINT(id, name, desc)                                                             \
	if (MPT_STAT_##id != MPT_STAT_EVENTS)                                                      \
		fprintf(stderr, " %s=%llu", name, (unsigned long long)st.kernel[MPT_STAT_##id]);
	MPT_STATS(MPT_STAT_PRINT)
#undef MPT_STAT_PRINT
	fprintf(stderr, " unfinished=%llu", (unsigned long long)st.unfinished);
	if (st.kretprobe_missed)
		fprintf(stderr, " kretprobe_missed=%llu", (unsigned long long)st.kretprobe_missed);
	if (st.malformed)
		fprintf(stderr, " malformed=%llu", (unsigned long long)st.malformed);
	if (output_lost(s))
		fprintf(stderr, " output_lost=%llu", (unsigned long long)output_lost(s));
	if (s->cap_lost)
		fprintf(stderr, " capture_lost=%llu", (unsigned long long)s->cap_lost);
	fputc('\n', stderr);
}

/* Events an output could not take, not counting a reader that went away. */
static uint64_t output_lost_unbroken(const struct sink *s)
{
	uint64_t lost = 0;

	for (int i = 0; i < s->n_out; i++)
		if (!s->out[i].broken)
			lost += s->out[i].lost_events;
	return lost;
}

/* A wall clock step (NTP, an admin): later times follow it, and the capture says when. */
static void check_clock(struct sink *s)
{
	int64_t off = boot_to_wall_ns(), d = off - s->fmt.boot_to_wall_ns;

	if (d > -MPT_CLOCK_STEP_NS && d < MPT_CLOCK_STEP_NS)
		return;
	fprintf(stderr, "mptrace: the wall clock stepped by %+.3f s; times from now on follow it\n",
		d / 1e9);
	s->fmt.boot_to_wall_ns = off;
	if (s->cap)
		mpt_cap_write_clock(s->cap, boot_ns(), off);
}

/*
 * Evidence is never overwritten and never mixed: an output may not be the
 * capture (or a file of its set), and two outputs may not be one file.
 */
static int check_paths(const struct mpt_cli *cli)
{
	for (int i = 0; i < cli->n_outputs; i++) {
		const char *o = cli->outputs[i];

		if (!strcmp(o, "-"))
			continue;
		if (cli->capture && (mpt_same_file(o, cli->capture) ||
				     (cli->capture_size && mpt_in_capture_set(o, cli->capture)))) {
			fprintf(stderr, "mptrace: -o %s is the capture file: they must differ\n",
				o);
			return -1;
		}
		for (int j = 0; j < i; j++) {
			if (strcmp(cli->outputs[j], "-") && mpt_same_file(o, cli->outputs[j])) {
				fprintf(stderr, "mptrace: -o %s is given twice\n", o);
				return -1;
			}
		}
	}
	return 0;
}

static int cmd_probe(void)
{
	char why[MPT_REASON_LEN], compat_why[MPT_REASON_LEN];
	struct utsname uts;
	int m, usable = 0;

	uname(&uts);
	printf("kernel %s %s\n", uts.release, uts.machine);
	if (mpt_check_privileges(why, sizeof(why))) {
		fprintf(stderr, "mptrace: %s\n", why);
		return 1;
	}
	for (m = 0; m < MPT_ATTACH_NR; m++) {
		why[0] = '\0';
		if (!mpt_tracer_probe_mode(m, why, compat_why, sizeof(why))) {
			printf("%-10s yes  %s\n", mpt_attach_name(m), mpt_attach_hooks(m));
			if (compat_why[0])
				printf("%-10s      32-bit (ia32, x32) calls: not traced: %s\n", "",
				       compat_why);
			else
				printf("%-10s      32-bit (ia32, x32) calls: traced\n", "");
			usable++;
		} else {
			printf("%-10s no   %s\n", mpt_attach_name(m), why);
		}
	}
	/* the same hook in every mode */
	if (mpt_kernel_view_available(why, sizeof(why)))
		printf("every mode: pages the kernel migrates are checked against the recorded "
		       "pages[] (migrate:remove_migration_pte)\n");
	else
		printf("every mode: pages the kernel migrates are not checked: %s\n", why);
	return usable ? 0 : 1;
}

static void warn(const char *msg)
{
	fprintf(stderr, "mptrace: warning: %s\n", msg);
}

int main(int argc, char **argv)
{
	struct sink sink = {0};
	struct mpt_attach_report rep;
	struct mpt_tracer *tracer = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	struct mpt_cli cli;
	char hostname[256] = "", boot_id[64] = "";
	struct utsname uts;
	char err[MPT_REASON_LEN];
	int64_t deadline = 0, next_flush = 0, next_stats = 0;
	int cap_err = 0, stop_err = 0;
	uint64_t watchdog_usec = 0;
	int64_t next_watchdog = 0;
	char **config_argv = NULL;
	char *cmdline = NULL;
	int rc = 1, n = 0;

	/* the settings' strings live as long as the process: cli points into them */
	n = mpt_cli_parse_config(argc, argv, &cli, err, sizeof(err), &config_argv);
	if (n < 0) {
		fprintf(stderr, "mptrace: %s\n", err);
		free(config_argv);
		return 2;
	}
	if (n > 0)
		return 0;
	mpt_verbosity = cli.verbosity;
	switch (cli.command) {
	case MPT_CMD_PROBE:
		rc = cmd_probe();
		if (fflush(stdout) || ferror(stdout)) {
			fprintf(stderr, "mptrace: writing to standard output failed: %s\n",
				strerror(errno ? errno : EIO));
			rc = 1;
		}
		return rc;
	case MPT_CMD_REPLAY:
	case MPT_CMD_SHIP:
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		if (cli.command == MPT_CMD_SHIP)
			return mpt_cmd_ship(&cli, (volatile int *)&exiting);
		if (cli.nats.urls)
			return mpt_cmd_replay_nats(&cli, (volatile int *)&exiting);
		return mpt_cmd_replay(&cli, (volatile int *)&exiting);
	case MPT_CMD_VERIFY:
		return mpt_cmd_verify(&cli);
	case MPT_CMD_CAPTURE_INFO:
		return mpt_cmd_capture_info(&cli);
	default:
		break;
	}

	if (mpt_check_privileges(err, sizeof(err))) {
		fprintf(stderr, "mptrace: %s\n", err);
		return 1;
	}
	if (mpt_filter_resolve(&cli.tracer.filter, err, sizeof(err), warn)) {
		fprintf(stderr, "mptrace: %s\n", err);
		return 2;
	}

	sb_init(&sink.line);
	sink.format = cli.format;
	sink.max_events = cli.max_events;
	sink.out_name = cli.output ? cli.output : "stdout";
	sink.n_out = cli.n_outputs ? cli.n_outputs : 1;
	if (check_paths(&cli))
		goto cleanup;
	gethostname(hostname, sizeof(hostname) - 1);
	sink.fmt.hostname = hostname;
	read_boot_id(boot_id, sizeof(boot_id));
	uname(&uts);
	sink.fmt.boot_id = boot_id;
	sink.fmt.kernel = uts.release;
	sink.fmt.boot_to_wall_ns = boot_to_wall_ns();

	/* No SA_RESTART: a signal must end the wait in epoll. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a file size limit is a full disk, counted like one, not a reason to die */
	signal(SIGXFSZ, SIG_IGN);

	if (cli.detect.enabled && !(sink.detect = mpt_detector_new(&cli.detect))) {
		fprintf(stderr, "mptrace: out of memory\n");
		goto cleanup;
	}
	cli.tracer.on_event = emit_event;
	cli.tracer.ctx = &sink;
	if (mpt_tracer_start(&cli.tracer, &tracer, &rep)) {
		report_attach_failure(cli.tracer.attach, &rep);
		goto cleanup;
	}
	/* the capture first: a capture that cannot be made leaves no empty log behind */
	if (cli.capture) {
		cmdline = join_args(argc, argv);
		if (open_capture(&sink, &cli, tracer, cmdline ? cmdline : ""))
			goto cleanup;
	}
	for (int i = 0; i < sink.n_out; i++) {
		const char *path =
		    cli.n_outputs && strcmp(cli.outputs[i], "-") ? cli.outputs[i] : NULL;

		n = mpt_output_open(&sink.out[i], path, cli.log_size, cli.log_files, say);
		if (n) {
			fprintf(stderr, "mptrace: cannot open output '%s': %s\n", path,
				strerror(-n));
			sink.out[i].fd = -1;
			sink.n_out = i;
			/* nothing was traced into it: the capture goes too */
			mpt_cap_writer_discard(sink.cap);
			sink.cap = NULL;
			goto cleanup;
		}
	}
	{
		char kept[128];

		/* attached: what is left to do needs far less than it took to get here */
		if (mpt_drop_privileges(kept, sizeof(kept), err, sizeof(err))) {
			fprintf(stderr, "mptrace: %s\n", err);
			goto cleanup;
		}
		mpt_info("dropped every capability but %s", kept[0] ? kept : "none");
	}
	if (mpt_tracer_compat_off(tracer))
		fprintf(stderr,
			"mptrace: tracing move_pages via %s; 32-bit (ia32, x32) calls NOT "
			"traced: %s\n",
			mpt_attach_name(mpt_tracer_mode(tracer)), mpt_tracer_compat_off(tracer));
	else
		fprintf(stderr, "mptrace: tracing move_pages via %s\n",
			mpt_attach_name(mpt_tracer_mode(tracer)));
	sd_notifyf(0, "READY=1\nSTATUS=tracing move_pages via %s",
		   mpt_attach_name(mpt_tracer_mode(tracer)));
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
		next_watchdog = now_ns(CLOCK_MONOTONIC);
	next_flush = now_ns(CLOCK_MONOTONIC);
	sink.mode = mpt_attach_name(mpt_tracer_mode(tracer));
	sink.stream_stats = cli.stats_ms > 0;
	{
		struct strbuf h;

		sb_init(&h);
		sb_json_str(&h, hostname, strlen(hostname));
		snprintf(sink.host_json, sizeof(sink.host_json), "%.*s", (int)h.len,
			 h.buf ? h.buf : "\"\"");
		sb_free(&h);
	}
	next_stats = now_ns(CLOCK_MONOTONIC) + (int64_t)cli.stats_ms * 1000000;

	if (cli.duration_ms)
		deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)cli.duration_ms * 1000000;
	/* each pass does bounded work (mpt_tracer_poll's budget): signals and timers keep up */
	while (!exiting && !sink.done && !sink.all_broken) {
		n = mpt_tracer_poll(tracer, MPT_POLL_MS);
		if (n < 0 && n != -EINTR)
			break;
		n = 0;
		flush_output(&sink);
		if (reopen_wanted) {
			reopen_wanted = 0;
			/* calls made before the HUP belong in the file logrotate moved */
			mpt_tracer_poll(tracer, 0);
			flush_output(&sink);
			for (int i = 0; i < sink.n_out; i++)
				if ((n = mpt_output_reopen(&sink.out[i])))
					fprintf(stderr, "mptrace: reopening %s failed: %s\n",
						sink.out[i].path, strerror(-n));
			n = 0;
		}
		if (now_ns(CLOCK_MONOTONIC) >= next_flush) {
			next_flush = now_ns(CLOCK_MONOTONIC) + MPT_CAPTURE_FLUSH_MS * 1000000ll;
			check_clock(&sink);
			account_losses(&sink, tracer);
			if (sink.cap)
				mpt_cap_flush(sink.cap);
		}
		if (sink.stream_stats && (stats_wanted || now_ns(CLOCK_MONOTONIC) >= next_stats)) {
			stats_wanted = 0;
			next_stats = now_ns(CLOCK_MONOTONIC) + (int64_t)cli.stats_ms * 1000000;
			stream_stats(&sink, tracer, false);
		}
		/* the service manager's keep-alive, at twice the rate it asks for */
		if (watchdog_usec && now_ns(CLOCK_MONOTONIC) >= next_watchdog) {
			sd_notify(0, "WATCHDOG=1");
			next_watchdog = now_ns(CLOCK_MONOTONIC) + (int64_t)watchdog_usec * 500;
		}
		if (deadline && now_ns(CLOCK_MONOTONIC) >= deadline)
			break;
	}
	sd_notify(0, "STOPPING=1");
	if (n < 0)
		fprintf(stderr, "mptrace: reading the ring buffer failed: %s\n", strerror(-n));
	/* always: what is still in the ring and in flight is delivered or counted */
	stop_err = mpt_tracer_stop(tracer);
	if (stop_err)
		fprintf(stderr, "mptrace: stopping the tracer failed: %s\n", strerror(-stop_err));
	/* the last word: what was seen plus what was lost adds up to what the kernel counted */
	account_losses(&sink, tracer);
	if (sink.stream_stats)
		stream_stats(&sink, tracer, true);
	/* a reader that does not take its lines cannot hold the stop: the rest is counted */
	flush_output(&sink);
	for (int i = 0; i < sink.n_out; i++)
		mpt_output_drain(&sink.out[i], MPT_STOP_DRAIN_MS);

	if (sink.cap) {
		char head[2 * MPT_CAP_HASH_LEN + 1];
		uint64_t lost;

		head[0] = '\0';
		cap_err = mpt_cap_writer_close(sink.cap, head, &lost);
		sink.cap = NULL;
		sink.cap_lost = lost;
		/* the last hash is the anchor to keep elsewhere: verify prints the same */
		if (head[0])
			fprintf(stderr, "mptrace: capture %s: chain head %s\n", sink.cap_name,
				head);
		if (lost)
			fprintf(stderr,
				"mptrace: %llu events could not be written to the capture %s\n",
				(unsigned long long)lost, sink.cap_name);
		else if (cap_err)
			fprintf(stderr, "mptrace: closing the capture %s failed: %s\n",
				sink.cap_name, strerror(-cap_err));
	}
	for (int i = 0; i < sink.n_out; i++)
		if (sink.out[i].lost_events && !sink.out[i].broken)
			fprintf(stderr, "mptrace: %llu events could not be written to %s\n",
				(unsigned long long)sink.out[i].lost_events,
				sink.out[i].path ? sink.out[i].path : "stdout");
	/* a reader that went away (| head) is how a pipeline ends, not a failure */
	if (!n && !stop_err && !cap_err && !output_lost_unbroken(&sink))
		rc = 0;
	print_summary(tracer, &sink);

cleanup:
	mpt_cap_writer_close(sink.cap, NULL, NULL);
	mpt_detector_free(sink.detect);
	free(cmdline);
	mpt_tracer_free(tracer);
	for (int i = 0; i < sink.n_out; i++)
		mpt_output_close(&sink.out[i]);
	sb_free(&sink.line);
	return rc;
}
