// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mptrace: trace every move_pages(2) and migrate_pages(2) call on the host.
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
#include "container.h"
#include "cli.h"
#include "detect.h"
#include "exceptions.h"
#include "fleet.h"
#include "format.h"
#include "log.h"
#include "metrics.h"
#include "output.h"
#include "privs.h"
#include "runtime.h"
#include "strbuf.h"
#include "replay.h"
#include "sink.h"
#include "tracer.h"
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

int main(int argc, char **argv)
{
	struct mpt_sink sink = {0};
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

	mpt_log_setup_journal();
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
	if (check_exceptions(&cli))
		return 2;
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
	case MPT_CMD_REPORT:
	case MPT_CMD_SHIP:
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		if (cli.command == MPT_CMD_SHIP)
			return mpt_cmd_ship(&cli, (volatile int *)&exiting);
		if (cli.nats.urls)
			return mpt_cmd_replay_nats(&cli, (volatile int *)&exiting);
		if (cli.command == MPT_CMD_REPORT) {
			cmdline = join_args(argc, argv);
			cli.command_line = cmdline;
			rc = mpt_cmd_report(&cli, (volatile int *)&exiting);
			free(cmdline);
			return rc;
		}
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
	/* a port that is taken is a bad setting: said before anything is loaded */
	if (cli.metrics && mpt_metrics_listen(cli.metrics, &sink.metrics, err, sizeof(err))) {
		fprintf(stderr, "mptrace: %s\n", err);
		return 2;
	}

	sb_init(&sink.line);
	sink.format = cli.format;
	sink.max_events = cli.max_events;
	sink.out_name = cli.output ? cli.output : "stdout";
	sink.n_out = cli.n_outputs ? cli.n_outputs : 1;
	if (mpt_sink_check_paths(&cli))
		goto cleanup;
	gethostname(hostname, sizeof(hostname) - 1);
	sink.fmt.hostname = hostname;
	mpt_read_boot_id(boot_id, sizeof(boot_id));
	uname(&uts);
	sink.fmt.boot_id = boot_id;
	sink.fmt.kernel = uts.release;
	sink.fmt.boot_to_wall_ns = mpt_boot_to_wall_ns();

	/* No SA_RESTART: a signal must end the wait in epoll. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a file size limit is a full disk, counted like one, not a reason to die */
	signal(SIGXFSZ, SIG_IGN);

	if (cli.detect.enabled &&
	    !(sink.detect = mpt_detector_open(&cli.detect, err, sizeof(err)))) {
		fprintf(stderr, "mptrace: %s\n", err);
		goto cleanup;
	}
	sink.lineage = mpt_lineage_new();
	sink.filter = &cli.tracer.filter;
	if (!sink.lineage) {
		fprintf(stderr, "mptrace: out of memory\n");
		goto cleanup;
	}
	cli.tracer.on_event = mpt_sink_emit;
	cli.tracer.on_process = mpt_sink_process;
	cli.tracer.ctx = &sink;
	n = mpt_tracer_start(&cli.tracer, &tracer, &rep);
	if (n) {
		report_attach_failure(cli.tracer.attach, &rep);
		/* settings that cannot work together are a usage error, like any other */
		if (n == -EINVAL)
			rc = 2;
		goto cleanup;
	}
	/* cgroup paths as they were at the call, not looked up in a tree that changed since */
	mpt_cgroup_path_source(mpt_tracer_cgroup_path, tracer);
	/* what ran before the tracker was attached; what forks or execs from now is recorded */
	mpt_lineage_scan_proc(sink.lineage);
	/* the capture first: a capture that cannot be made leaves no empty log behind */
	if (cli.capture) {
		cmdline = join_args(argc, argv);
		if (mpt_sink_open_capture(&sink, &cli, tracer, cmdline ? cmdline : ""))
			goto cleanup;
	}
	for (int i = 0; i < sink.n_out; i++) {
		const char *path =
		    cli.n_outputs && strcmp(cli.outputs[i], "-") ? cli.outputs[i] : NULL;

		n = mpt_output_open(&sink.out[i], path, cli.log_size, cli.log_files, mpt_sink_say);
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
		/* the server's thread is made now, so it never held what was dropped */
		if (mpt_metrics_serve(sink.metrics, err, sizeof(err))) {
			fprintf(stderr, "mptrace: %s\n", err);
			goto cleanup;
		}
		/* without it a container gone before its first record is read stays unverified */
		n = mpt_runtime_watch_start();
		if (n)
			mpt_warn("cannot watch the container runtimes' state: %s", strerror(-n));
		n = 0;
	}
	/* ready means delivering: a test call of each traced syscall came back through the ring */
	if (mpt_tracer_prove(tracer, MPT_PROVE_MS, err, sizeof(err))) {
		fprintf(stderr, "mptrace: %s\n", err);
		goto cleanup;
	}
	if (mpt_tracer_compat_off(tracer))
		say_ready_compat_off(tracer);
	else
		mpt_notice("tracing %s via %s", mpt_tracer_events(tracer),
			   mpt_attach_name(mpt_tracer_mode(tracer)));
	sd_notifyf(0, "READY=1\nSTATUS=tracing %s via %s", mpt_tracer_events(tracer),
		   mpt_attach_name(mpt_tracer_mode(tracer)));
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
		next_watchdog = mpt_now_ns(CLOCK_MONOTONIC);
	next_flush = mpt_now_ns(CLOCK_MONOTONIC);
	sink.mode = mpt_attach_name(mpt_tracer_mode(tracer));
	sink.start_wall_s = (double)mpt_now_ns(CLOCK_REALTIME) / 1e9;
	mpt_sink_publish(&sink, tracer);
	sink.stream_stats = cli.stats_ms > 0;
	{
		struct strbuf h;

		sb_init(&h);
		sb_json_str(&h, hostname, strlen(hostname));
		snprintf(sink.host_json, sizeof(sink.host_json), "%.*s", (int)h.len,
			 h.buf ? h.buf : "\"\"");
		sb_free(&h);
	}
	next_stats = mpt_now_ns(CLOCK_MONOTONIC) + (int64_t)cli.stats_ms * 1000000;

	if (cli.duration_ms)
		deadline = mpt_now_ns(CLOCK_MONOTONIC) + (int64_t)cli.duration_ms * 1000000;
	/* each pass does bounded work (mpt_tracer_poll's budget): signals and timers keep up */
	while (!exiting && !sink.done && !sink.all_broken) {
		n = mpt_tracer_poll(tracer, MPT_POLL_MS);
		if (n < 0 && n != -EINTR)
			break;
		n = 0;
		mpt_sink_flush(&sink);
		if (reopen_wanted) {
			reopen_wanted = 0;
			reload_exceptions(sink.detect, cli.detect.exceptions);
			/* calls made before the HUP belong in the file logrotate moved */
			mpt_tracer_poll(tracer, 0);
			mpt_sink_flush(&sink);
			for (int i = 0; i < sink.n_out; i++)
				if ((n = mpt_output_reopen(&sink.out[i])))
					fprintf(stderr,
						"mptrace: reopening %s failed: %s; trying "
						"again every second\n",
						sink.out[i].path, strerror(-n));
			n = 0;
		}
		if (mpt_now_ns(CLOCK_MONOTONIC) >= next_flush) {
			next_flush = mpt_now_ns(CLOCK_MONOTONIC) + MPT_CAPTURE_FLUSH_MS * 1000000ll;
			mpt_sink_check_clock(&sink);
			mpt_sink_account(&sink, tracer);
			if (sink.cap)
				mpt_cap_flush(sink.cap);
			mpt_sink_publish(&sink, tracer);
		}
		if (sink.stream_stats &&
		    (stats_wanted || mpt_now_ns(CLOCK_MONOTONIC) >= next_stats)) {
			stats_wanted = 0;
			next_stats = mpt_now_ns(CLOCK_MONOTONIC) + (int64_t)cli.stats_ms * 1000000;
			mpt_sink_stats(&sink, tracer, false);
		}
		/* the service manager's keep-alive, at twice the rate it asks for */
		if (watchdog_usec && mpt_now_ns(CLOCK_MONOTONIC) >= next_watchdog) {
			sd_notify(0, "WATCHDOG=1");
			next_watchdog = mpt_now_ns(CLOCK_MONOTONIC) + (int64_t)watchdog_usec * 500;
		}
		if (deadline && mpt_now_ns(CLOCK_MONOTONIC) >= deadline)
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
	mpt_sink_account(&sink, tracer);
	/* a reader that does not take its lines cannot hold the stop: the rest is counted */
	mpt_sink_flush(&sink);
	for (int i = 0; i < sink.n_out; i++)
		mpt_output_drain(&sink.out[i], MPT_STOP_DRAIN_MS);
	/* the books close once the outputs' own losses are known: the summary's numbers */
	if (sink.stream_stats) {
		mpt_sink_stats(&sink, tracer, true);
		mpt_sink_flush(&sink);
		for (int i = 0; i < sink.n_out; i++)
			mpt_output_drain(&sink.out[i], MPT_STOP_DRAIN_MS / 5);
	}

	if (sink.cap) {
		char head[2 * MPT_CAP_HASH_LEN + 1];
		uint64_t lost;

		head[0] = '\0';
		cap_err = mpt_cap_writer_close(sink.cap, head, &lost);
		sink.cap = NULL;
		sink.cap_lost = lost;
		/* the last hash is the anchor to keep elsewhere: verify prints the same */
		if (head[0])
			mpt_notice("capture %s: chain head %s", sink.cap_name, head);
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
	if (!n && !stop_err && !cap_err && !mpt_sink_lost_unbroken(&sink))
		rc = 0;
	mpt_sink_summary(tracer, &sink);

cleanup:
	mpt_runtime_watch_stop();
	mpt_cap_writer_close(sink.cap, NULL, NULL);
	mpt_detector_free(sink.detect);
	mpt_lineage_free(sink.lineage);
	mpt_metrics_free(sink.metrics);
	free(cmdline);
	mpt_tracer_free(tracer);
	for (int i = 0; i < sink.n_out; i++)
		mpt_output_close(&sink.out[i]);
	sb_free(&sink.line);
	return rc;
}
