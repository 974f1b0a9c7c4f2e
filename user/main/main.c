// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mptrace: trace every page-migration and memory-policy call on the host.
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

#include "capture/capture.h"
#include "context/container.h"
#include "context/lineage.h"
#include "cli/cli.h"
#include "detect/detect.h"
#include "detect/exceptions.h"
#include "fleet/fleet.h"
#include "decode/format.h"
#include "util/log.h"
#include "metrics/metrics.h"
#include "sinks/output.h"
#include "kernel/privs.h"
#include "context/runtime.h"
#include "util/strbuf.h"
#include "cli/replay.h"
#include "sinks/sink.h"
#include "kernel/tracer.h"
#include "version.h"

/* Records are written without a wake-up; the reader comes back this often. */
#define MPT_POLL_MS 10
/* How long the hooks have to show they deliver (a guest under emulation is slow). */
#define MPT_PROVE_MS 10000

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

/* The ready line, when 32-bit calls are not traced: a warning, and the tests' ready line. */
static void say_ready_compat_off(struct mpt_tracer *tracer)
{
	mpt_log_next(MPT_LOG_WARNING);
	fprintf(stderr, "mptrace: tracing %s via %s; 32-bit (ia32, x32) calls NOT traced: %s\n",
		mpt_tracer_events(tracer), mpt_attach_name(mpt_tracer_mode(tracer)),
		mpt_tracer_compat_off(tracer));
	mpt_log_next(MPT_LOG_ERR);
}

/* A malformed exceptions file is a bad setting, said before anything starts. */
static int check_exceptions(const struct mpt_cli *cli)
{
	struct mpt_exceptions *x;
	char err[512];

	if (!cli->detect.exceptions)
		return 0;
	if (!cli->detect.enabled && cli->command != MPT_CMD_REPORT) {
		fprintf(stderr, "mptrace: --exceptions silences findings: it needs --detect\n");
		return -1;
	}
	x = mpt_exceptions_load(cli->detect.exceptions, err, sizeof(err));
	if (!x) {
		fprintf(stderr, "mptrace: %s\n", err);
		return -1;
	}
	mpt_exceptions_free(x);
	return 0;
}

/* SIGHUP: a file that no longer reads keeps the exceptions in force, and says so. */
static void reload_exceptions(struct mpt_detector *d, const char *path)
{
	char err[512];

	if (!d || !path)
		return;
	if (mpt_detector_reload(d, err, sizeof(err)))
		mpt_warn("%s; the %u exceptions read before stay in force", err,
			 mpt_detector_exceptions(d));
	else
		mpt_notice("exceptions reloaded: %u in force", mpt_detector_exceptions(d));
}

static void warn(const char *msg)
{
	fprintf(stderr, "mptrace: warning: %s\n", msg);
}

static int cmd_ship(const struct mpt_cli *cli)
{
	const struct mpt_ship_opts o = {.nats = &cli->nats,
					.files = cli->files,
					.n_files = cli->n_files,
					.follow = cli->follow,
					.metrics = cli->metrics};

	return mpt_ship(&o, (volatile int *)&exiting);
}

/* The commands that read (replay, report, ship, verify, ...): their exit code; -1 for trace. */
static int run_reader(struct mpt_cli *cli, int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	char *cmdline;
	int rc;

	switch (cli->command) {
	case MPT_CMD_PROBE:
		rc = cmd_probe();
		if (fflush(stdout) || ferror(stdout)) {
			fprintf(stderr, "mptrace: writing to standard output failed: %s\n",
				strerror(errno ? errno : EIO));
			rc = 1;
		}
		return rc;
	case MPT_CMD_REPLAY:
	case MPT_CMD_REPORT:
	case MPT_CMD_SHIP:
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		signal(SIGXFSZ, SIG_IGN); /* a file size limit is a write that fails, said */
		if (cli->command == MPT_CMD_SHIP)
			return cmd_ship(cli);
		if (cli->nats.urls)
			return mpt_cmd_replay_nats(cli, (volatile int *)&exiting);
		if (cli->command == MPT_CMD_REPORT) {
			cmdline = join_args(argc, argv);
			cli->command_line = cmdline;
			rc = mpt_cmd_report(cli, (volatile int *)&exiting);
			free(cmdline);
			return rc;
		}
		return mpt_cmd_replay(cli, (volatile int *)&exiting);
	case MPT_CMD_VERIFY:
		return mpt_cmd_verify(cli);
	case MPT_CMD_CAPTURE_INFO:
		return mpt_cmd_capture_info(cli);
	default:
		return -1;
	}
}

/* One live trace: what its phases share. */
struct trace {
	struct mpt_cli *cli;
	struct mpt_sink sink;
	struct mpt_tracer *tracer;
	char hostname[256], boot_id[64];
	struct utsname uts;
	char *cmdline;
	char err[MPT_REASON_LEN];
	int64_t deadline, next_flush, next_stats, next_watchdog;
	uint64_t watchdog_usec;
};

/* Settings checked, the sink and its identity set up, signals taken: 0, or an exit code. */
static int trace_prepare(struct trace *t)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct mpt_sink *sink = &t->sink;
	struct mpt_cli *cli = t->cli;

	if (mpt_check_privileges(t->err, sizeof(t->err))) {
		fprintf(stderr, "mptrace: %s\n", t->err);
		return 1;
	}
	if (mpt_filter_resolve(&cli->tracer.filter, t->err, sizeof(t->err), warn)) {
		fprintf(stderr, "mptrace: %s\n", t->err);
		return 2;
	}
	/* a port that is taken is a bad setting: said before anything is loaded */
	if (cli->metrics &&
	    mpt_metrics_listen(cli->metrics, &sink->metrics, t->err, sizeof(t->err))) {
		fprintf(stderr, "mptrace: %s\n", t->err);
		return 2;
	}
	sink->pipe.format = cli->format;
	sink->pipe.max_events = cli->max_events;
	sink->pipe.max_ancestors = cli->ancestors;
	sink->out_name = cli->output ? cli->output : "stdout";
	/* -f none: the capture is the only output */
	sink->n_out = cli->format == MPT_FMT_NONE ? 0 : cli->n_outputs ? cli->n_outputs : 1;
	if (mpt_sink_check_paths(cli->outputs, cli->n_outputs, cli->capture, cli->capture_size))
		return 1;
	gethostname(t->hostname, sizeof(t->hostname) - 1);
	sink->fmt.hostname = t->hostname;
	mpt_read_boot_id(t->boot_id, sizeof(t->boot_id));
	uname(&t->uts);
	sink->fmt.boot_id = t->boot_id;
	sink->fmt.kernel = t->uts.release;
	sink->fmt.boot_to_wall_ns = mpt_boot_to_wall_ns();
	/* No SA_RESTART: a signal must end the wait in epoll. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a file size limit is a full disk, counted like one, not a reason to die */
	signal(SIGXFSZ, SIG_IGN);
	if (cli->detect.enabled &&
	    !(sink->pipe.detect = mpt_detector_open(&cli->detect, t->err, sizeof(t->err)))) {
		fprintf(stderr, "mptrace: %s\n", t->err);
		return 1;
	}
	sink->lineage = mpt_lineage_new();
	sink->pipe.names = &cli->tracer.filter;
	if (!sink->lineage) {
		fprintf(stderr, "mptrace: out of memory\n");
		return 1;
	}
	return 0;
}

/* The capture, then the outputs: a capture that cannot be made leaves no empty log behind. */
static int trace_open_outputs(struct trace *t, int argc, char **argv)
{
	struct mpt_sink *sink = &t->sink;
	struct mpt_cli *cli = t->cli;
	int n;

	if (cli->capture) {
		const struct mpt_cap_writer_opts o = {.path = cli->capture,
						      .max_bytes = cli->capture_size,
						      .max_files = cli->capture_files,
						      .sync = cli->capture_sync,
						      .group_read = cli->capture_group_read,
						      .say = mpt_sink_say};

		t->cmdline = join_args(argc, argv);
		if (mpt_sink_open_capture(sink, &o, cli->tracer.array_cap, t->tracer,
					  t->cmdline ? t->cmdline : ""))
			return 1;
	}
	for (int i = 0; i < sink->n_out; i++) {
		const char *path =
		    cli->n_outputs && strcmp(cli->outputs[i], "-") ? cli->outputs[i] : NULL;

		n = mpt_output_open(&sink->out[i], path, cli->log_size, cli->log_files,
				    mpt_sink_say);
		if (n) {
			fprintf(stderr, "mptrace: cannot open output '%s': %s\n", path,
				strerror(-n));
			sink->out[i].fd = -1;
			sink->n_out = i;
			/* nothing was traced into it: the capture goes too */
			mpt_cap_writer_discard(sink->pipe.cap);
			sink->pipe.cap = NULL;
			return 1;
		}
	}
	return 0;
}

/* Attached and opened: give up what is no longer needed, start the helpers. */
static int trace_unprivileged(struct trace *t)
{
	char kept[128];
	int n;

	/* attached: what is left to do needs far less than it took to get here */
	if (mpt_drop_privileges(kept, sizeof(kept), t->err, sizeof(t->err))) {
		fprintf(stderr, "mptrace: %s\n", t->err);
		return 1;
	}
	mpt_info("dropped every capability but %s", kept[0] ? kept : "none");
	/* the server's thread is made now, so it never held what was dropped */
	if (mpt_metrics_serve(t->sink.metrics, t->err, sizeof(t->err))) {
		fprintf(stderr, "mptrace: %s\n", t->err);
		return 1;
	}
	/* without it a container gone before its first record is read stays unverified */
	n = mpt_runtime_watch_start();
	if (n)
		mpt_warn("cannot watch the container runtimes' state: %s", strerror(-n));
	return 0;
}

/* Proven to deliver: say so, to the user and the service manager; the timers start. */
static int trace_ready(struct trace *t)
{
	struct mpt_sink *sink = &t->sink;
	struct strbuf h;
	int64_t now;

	/* ready means delivering: a test call of each traced syscall came back through the ring */
	if (mpt_tracer_prove(t->tracer, MPT_PROVE_MS, t->err, sizeof(t->err))) {
		fprintf(stderr, "mptrace: %s\n", t->err);
		return 1;
	}
	if (mpt_tracer_compat_off(t->tracer))
		say_ready_compat_off(t->tracer);
	else
		mpt_notice("tracing %s via %s", mpt_tracer_events(t->tracer),
			   mpt_attach_name(mpt_tracer_mode(t->tracer)));
	sd_notifyf(0, "READY=1\nSTATUS=tracing %s via %s", mpt_tracer_events(t->tracer),
		   mpt_attach_name(mpt_tracer_mode(t->tracer)));
	now = mpt_now_ns(CLOCK_MONOTONIC);
	if (sd_watchdog_enabled(0, &t->watchdog_usec) > 0)
		t->next_watchdog = now;
	t->next_flush = now;
	t->next_stats = now + (int64_t)t->cli->stats_ms * 1000000;
	if (t->cli->duration_ms)
		t->deadline = now + (int64_t)t->cli->duration_ms * 1000000;
	sink->mode = mpt_attach_name(mpt_tracer_mode(t->tracer));
	sink->start_wall_s = (double)mpt_now_ns(CLOCK_REALTIME) / 1e9;
	mpt_sink_publish(sink, t->tracer);
	sink->stream_stats = t->cli->stats_ms > 0;
	sb_init(&h);
	sb_json_str(&h, t->hostname, strlen(t->hostname));
	snprintf(sink->host_json, sizeof(sink->host_json), "%.*s", (int)h.len,
		 h.buf ? h.buf : "\"\"");
	sb_free(&h);
	return 0;
}

/* SIGHUP: the exceptions read again, the logs reopened where logrotate left them. */
static void trace_reopen(struct trace *t)
{
	struct mpt_sink *sink = &t->sink;
	int n;

	reopen_wanted = 0;
	reload_exceptions(sink->pipe.detect, t->cli->detect.exceptions);
	/* calls made before the HUP belong in the file logrotate moved */
	mpt_tracer_poll(t->tracer, 0);
	mpt_sink_flush(sink);
	for (int i = 0; i < sink->n_out; i++)
		if ((n = mpt_output_reopen(&sink->out[i])))
			fprintf(stderr,
				"mptrace: reopening %s failed: %s; trying again every second\n",
				sink->out[i].path, strerror(-n));
}

/* What is due on the clock: the capture's flush and accounts, stats, the watchdog. */
static void trace_timers(struct trace *t)
{
	struct mpt_sink *sink = &t->sink;
	int64_t now = mpt_now_ns(CLOCK_MONOTONIC);

	if (now >= t->next_flush) {
		t->next_flush = now + MPT_CAPTURE_FLUSH_MS * 1000000ll;
		mpt_sink_check_clock(sink);
		mpt_sink_account(sink, t->tracer);
		if (sink->pipe.cap)
			mpt_cap_flush(sink->pipe.cap);
		mpt_sink_publish(sink, t->tracer);
	}
	if (sink->stream_stats && (stats_wanted || now >= t->next_stats)) {
		stats_wanted = 0;
		t->next_stats = now + (int64_t)t->cli->stats_ms * 1000000;
		mpt_sink_stats(sink, t->tracer, false);
	}
	/* the service manager's keep-alive, at twice the rate it asks for */
	if (t->watchdog_usec && now >= t->next_watchdog) {
		sd_notify(0, "WATCHDOG=1");
		t->next_watchdog = now + (int64_t)t->watchdog_usec * 500;
	}
}

/* Until told to stop, or done: 0, or the ring's read error (negative). */
static int trace_loop(struct trace *t)
{
	struct mpt_sink *sink = &t->sink;
	int n;

	/* each pass does bounded work (mpt_tracer_poll's budget): signals and timers keep up */
	while (!exiting && !sink->pipe.done && !sink->all_broken) {
		n = mpt_tracer_poll(t->tracer, MPT_POLL_MS);
		if (n < 0 && n != -EINTR)
			return n;
		mpt_sink_flush(sink);
		if (reopen_wanted)
			trace_reopen(t);
		trace_timers(t);
		if (t->deadline && mpt_now_ns(CLOCK_MONOTONIC) >= t->deadline)
			break;
	}
	return 0;
}

/* The capture closed, its anchor said: 0, or its error (negative). */
static int trace_close_capture(struct mpt_sink *sink)
{
	char head[2 * MPT_CAP_HASH_LEN + 1] = "";
	uint64_t lost;
	int err;

	if (!sink->pipe.cap)
		return 0;
	err = mpt_cap_writer_close(sink->pipe.cap, head, &lost);
	sink->pipe.cap = NULL;
	sink->cap_lost = lost;
	/* the last hash is the anchor to keep elsewhere: verify prints the same */
	if (head[0])
		mpt_notice("capture %s: chain head %s", sink->cap_name, head);
	if (lost)
		fprintf(stderr, "mptrace: %llu events could not be written to the capture %s\n",
			(unsigned long long)lost, sink->cap_name);
	else if (err)
		fprintf(stderr, "mptrace: closing the capture %s failed: %s\n", sink->cap_name,
			strerror(-err));
	return err;
}

/* Detached and drained, every output's losses said, the summary: the exit code. */
static int trace_stop(struct trace *t, int read_err)
{
	struct mpt_sink *sink = &t->sink;
	int stop_err, cap_err;

	sd_notify(0, "STOPPING=1");
	if (read_err < 0)
		fprintf(stderr, "mptrace: reading the ring buffer failed: %s\n",
			strerror(-read_err));
	/* always: what is still in the ring and in flight is delivered or counted */
	stop_err = mpt_tracer_stop(t->tracer);
	if (stop_err)
		fprintf(stderr, "mptrace: stopping the tracer failed: %s\n", strerror(-stop_err));
	/* the last word: what was seen plus what was lost adds up to what the kernel counted */
	mpt_sink_account(sink, t->tracer);
	/* a reader that does not take its lines cannot hold the stop: the rest is counted */
	mpt_sink_flush(sink);
	for (int i = 0; i < sink->n_out; i++)
		mpt_output_drain(&sink->out[i], MPT_STOP_DRAIN_MS);
	/* the books close once the outputs' own losses are known: the summary's numbers */
	if (sink->stream_stats) {
		mpt_sink_stats(sink, t->tracer, true);
		mpt_sink_flush(sink);
		for (int i = 0; i < sink->n_out; i++)
			mpt_output_drain(&sink->out[i], MPT_STOP_DRAIN_MS / 5);
	}
	cap_err = trace_close_capture(sink);
	for (int i = 0; i < sink->n_out; i++)
		if (sink->out[i].lost_events && !sink->out[i].broken)
			fprintf(stderr, "mptrace: %llu events could not be written to %s\n",
				(unsigned long long)sink->out[i].lost_events,
				sink->out[i].path ? sink->out[i].path : "stdout");
	mpt_sink_summary(t->tracer, sink);
	/* a reader that went away (| head) is how a pipeline ends, not a failure */
	return !read_err && !stop_err && !cap_err && !mpt_sink_lost_unbroken(sink) ? 0 : 1;
}

static void trace_free(struct trace *t)
{
	struct mpt_sink *sink = &t->sink;

	mpt_runtime_watch_stop();
	mpt_cap_writer_close(sink->pipe.cap, NULL, NULL);
	mpt_detector_free(sink->pipe.detect);
	mpt_lineage_free(sink->lineage);
	mpt_metrics_free(sink->metrics);
	free(t->cmdline);
	mpt_tracer_free(t->tracer);
	for (int i = 0; i < sink->n_out; i++)
		mpt_output_close(&sink->out[i]);
	mpt_pipe_free(&sink->pipe);
}

/* Attach in the mode the plan picks; a refusal is explained. 0, or an exit code. */
static int trace_attach(struct trace *t)
{
	struct mpt_attach_report rep;
	struct mpt_cli *cli = t->cli;
	int n;

	cli->tracer.on_event = mpt_sink_emit;
	cli->tracer.on_process = mpt_sink_process;
	cli->tracer.ctx = &t->sink;
	n = mpt_tracer_start(&cli->tracer, &t->tracer, &rep);
	if (n) {
		report_attach_failure(cli->tracer.attach, &rep);
		/* settings that cannot work together are a usage error, like any other */
		return n == -EINVAL ? 2 : 1;
	}
	/* cgroup paths as they were at the call, not looked up in a tree that changed since */
	mpt_cgroup_path_source(mpt_tracer_cgroup_path, t->tracer);
	/* what ran before the tracker was attached; what forks or execs from now is recorded */
	mpt_lineage_scan_proc(t->sink.lineage);
	return 0;
}

int main(int argc, char **argv)
{
	static struct trace t;
	char **config_argv = NULL;
	struct mpt_cli cli;
	int rc;

	mpt_log_setup_journal();
	/* the settings' strings live as long as the process: cli points into them */
	rc = mpt_cli_parse_config(argc, argv, &cli, t.err, sizeof(t.err), &config_argv);
	if (rc < 0) {
		fprintf(stderr, "mptrace: %s\n", t.err);
		free(config_argv);
		return 2;
	}
	if (rc > 0)
		return 0;
	mpt_verbosity = cli.verbosity;
	if (check_exceptions(&cli))
		return 2;
	rc = run_reader(&cli, argc, argv);
	if (rc >= 0)
		return rc;

	t.cli = &cli;
	mpt_sink_init(&t.sink);
	rc = trace_prepare(&t);
	if (!rc)
		rc = trace_attach(&t);
	if (!rc)
		rc = trace_open_outputs(&t, argc, argv);
	if (!rc)
		rc = trace_unprivileged(&t);
	if (!rc)
		rc = trace_ready(&t);
	if (!rc)
		rc = trace_stop(&t, trace_loop(&t));
	trace_free(&t);
	return rc;
}
