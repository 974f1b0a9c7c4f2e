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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "container.h"
#include "format.h"
#include "log.h"
#include "strbuf.h"
#include "tracer.h"

/* Records are written without a wake-up; the reader comes back this often. */
#define MPT_POLL_MS 10

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

struct sink {
	enum mpt_format format;
	struct mpt_fmt_ctx fmt;
	FILE *out;
	const char *out_name;
	struct strbuf line;
	uint64_t emitted;
	uint64_t max_events;
	int write_errno;
};

#define MPT_STOP_MAX_EVENTS (-ECANCELED)
#define MPT_STOP_WRITE_ERROR (-EIO)

static int emit_event(void *ctx, const struct mpt_view *v)
{
	struct sink *s = ctx;
	struct mpt_view ev = *v;
	struct mpt_container ctr;
	struct mpt_enrich en;

	/* what the record does not carry, from the live system (cached per cgroup, process) */
	mpt_enrich_live(&v->ev->task, &ctr, &en);
	ev.enrich = &en;

	sb_reset(&s->line);
	mpt_format_event(s->format, &s->line, &ev, &s->fmt);
	if (s->line.oom) {
		s->write_errno = ENOMEM;
		return MPT_STOP_WRITE_ERROR;
	}
	if (fwrite(s->line.buf, 1, s->line.len, s->out) != s->line.len) {
		s->write_errno = errno;
		return MPT_STOP_WRITE_ERROR;
	}
	s->emitted++;
	if (s->max_events && s->emitted >= s->max_events)
		return MPT_STOP_MAX_EVENTS;
	return 0;
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Records carry CLOCK_BOOTTIME, which keeps counting through suspend; output wants wall time. */
static int64_t boot_to_wall_ns(void)
{
	int64_t before = now_ns(CLOCK_REALTIME);
	int64_t boot = now_ns(CLOCK_BOOTTIME);
	int64_t after = now_ns(CLOCK_REALTIME);

	return before + (after - before) / 2 - boot;
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
	fprintf(stderr, "mptrace: %llu events, %llu dropped", (unsigned long long)s->emitted,
		(unsigned long long)mpt_stats_lost(&st));
#define MPT_STAT_PRINT(id, name, desc)                                                             \
	if (MPT_STAT_##id != MPT_STAT_EVENTS)                                                      \
		fprintf(stderr, " %s=%llu", name, (unsigned long long)st.kernel[MPT_STAT_##id]);
	MPT_STATS(MPT_STAT_PRINT)
#undef MPT_STAT_PRINT
	fprintf(stderr, " unfinished=%llu", (unsigned long long)st.unfinished);
	if (st.malformed)
		fprintf(stderr, " malformed=%llu", (unsigned long long)st.malformed);
	fputc('\n', stderr);
}

static int cmd_probe(void)
{
	char why[MPT_REASON_LEN];
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
		if (!mpt_tracer_probe_mode(m, why, sizeof(why))) {
			printf("%-10s yes  %s\n", mpt_attach_name(m), mpt_attach_hooks(m));
			usable++;
		} else {
			printf("%-10s no   %s\n", mpt_attach_name(m), why);
		}
	}
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
	char hostname[256] = "";
	char err[MPT_REASON_LEN];
	int64_t deadline = 0;
	int rc = 1, n;

	n = mpt_cli_parse(argc, argv, &cli, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "mptrace: %s\n", err);
		return 2;
	}
	if (n > 0)
		return 0;
	mpt_verbosity = cli.verbosity;
	if (cli.command == MPT_CMD_PROBE)
		return cmd_probe();

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
	sink.out = cli.output ? fopen(cli.output, "w") : stdout;
	if (!sink.out) {
		fprintf(stderr, "mptrace: cannot open output '%s': %s\n", cli.output,
			strerror(errno));
		goto cleanup;
	}
	setvbuf(sink.out, NULL, _IOFBF, 1 << 16);
	gethostname(hostname, sizeof(hostname) - 1);
	sink.fmt.hostname = hostname;
	sink.fmt.boot_to_wall_ns = boot_to_wall_ns();

	/* No SA_RESTART: a signal must end the wait in epoll. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	cli.tracer.on_event = emit_event;
	cli.tracer.ctx = &sink;
	if (mpt_tracer_start(&cli.tracer, &tracer, &rep)) {
		report_attach_failure(cli.tracer.attach, &rep);
		goto cleanup;
	}
	fprintf(stderr, "mptrace: tracing move_pages via %s\n",
		mpt_attach_name(mpt_tracer_mode(tracer)));

	if (cli.duration_ms)
		deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)cli.duration_ms * 1000000;
	while (!exiting) {
		n = mpt_tracer_poll(tracer, MPT_POLL_MS);
		if (n == -EINTR)
			continue;
		if (n < 0)
			break;
		if (fflush(sink.out)) {
			sink.write_errno = errno;
			break;
		}
		if (deadline && now_ns(CLOCK_MONOTONIC) >= deadline)
			break;
	}
	if (n >= 0 || n == -EINTR)
		n = mpt_tracer_stop(tracer);
	if (fflush(sink.out) && !sink.write_errno)
		sink.write_errno = errno;

	if (sink.write_errno && sink.write_errno != EPIPE) {
		fprintf(stderr, "mptrace: writing events to %s failed: %s\n", sink.out_name,
			strerror(sink.write_errno));
	} else if (n < 0 && n != MPT_STOP_MAX_EVENTS && n != MPT_STOP_WRITE_ERROR) {
		fprintf(stderr, "mptrace: reading the ring buffer failed: %s\n", strerror(-n));
	} else {
		rc = 0;
	}
	print_summary(tracer, &sink);

cleanup:
	mpt_tracer_free(tracer);
	if (sink.out && sink.out != stdout)
		fclose(sink.out);
	sb_free(&sink.line);
	return rc;
}
