// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "sinks/sink.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "context/container.h"
#include "context/target.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "metrics/metrics.h"
#include "version.h"

/* A change of the boot-to-wall offset beyond this is a clock step, not measuring noise. */
#define MPT_CLOCK_STEP_NS 10000000ll

void mpt_sink_say(const char *msg)
{
	fprintf(stderr, "mptrace: %s\n", msg);
}

static void stream_drop(struct mpt_sink *s, int only, int cause, uint32_t tgid, uint64_t count,
			uint64_t from, uint64_t to);
static uint64_t boot_ns(void);
static uint64_t suppressed(const struct mpt_sink *s);

/*
 * Write what is queued. Events the disk refused are counted; once writing
 * works again a drop record marks the gap in the log itself.
 */
static int flush_one(struct mpt_sink *s, int i)
{
	struct mpt_output *o = &s->out[i];
	int err = mpt_output_flush(o);

	if (err)
		return err;
	if (!o->failing && o->unreported) {
		uint64_t now = boot_ns(), count = o->unreported;

		/* a small write can fit a nearly full disk: the record counts once written */
		stream_drop(s, i, MPT_CAP_DROP_OUTPUT, 0, count, s->out_failed_since[i], now);
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

void mpt_sink_flush(struct mpt_sink *s)
{
	int broken = 0;

	for (int i = 0; i < s->n_out; i++)
		broken += flush_one(s, i) == -EPIPE;
	s->all_broken = s->n_out && broken == s->n_out;
}

/* Events some output could not take: counted per output, reported as the worst. */
static uint64_t output_lost(const struct mpt_sink *s)
{
	uint64_t lost = 0;

	for (int i = 0; i < s->n_out; i++)
		if (s->out[i].lost_events > lost)
			lost = s->out[i].lost_events;
	return lost;
}

/*
 * The process records start over after a file is begun or a line is lost:
 * a lost line may have held the only record of a process later lines name.
 * An output whose reader went away takes nothing again and counts no more.
 */
static uint64_t output_epoch(const struct mpt_sink *s)
{
	uint64_t e = 0;

	for (int i = 0; i < s->n_out; i++)
		e += s->out[i].files_begun + (s->out[i].broken ? 0 : s->out[i].lost_events);
	return e;
}

void mpt_sink_process(void *ctx, const struct mpt_proc_event *p)
{
	struct mpt_sink *s = ctx;

	if (s->lineage)
		mpt_lineage_feed(s->lineage, p);
}

static void count_rules(struct mpt_sink *s, uint32_t hits)
{
	for (int r = 0; hits && r < MPT_DET_NR; r++)
		if (hits & (1u << r))
			s->by_rule[r]++;
}

/* How far behind the reader is, sampled: a clock read per record would cost more than it says. */
#define LAG_SAMPLE 64

static void count_event(struct mpt_sink *s, const struct mpt_view *v)
{
	int i = mpt_view_event_index(v);

	if (i >= 0 && i < MPT_SINK_EVENTS_MAX)
		s->by_event[i]++;
	if (!(s->pipe.shown % LAG_SAMPLE)) {
		uint64_t end = v->hdr->ts_boot_ns + v->hdr->duration_ns, now = boot_ns();

		s->lag_ns = now > end ? now - end : 0;
	}
}

/* The live pipeline's end: a full disk, a stalled or a vanished reader is counted per output. */
static int sink_write(void *ctx, const struct strbuf *line)
{
	struct mpt_sink *s = ctx;

	for (int i = 0; i < s->n_out; i++) {
		if (line->oom)
			s->out[i].lost_events++;
		else
			mpt_output_line(&s->out[i], line->buf, line->len, true);
	}
	return 0;
}

void mpt_sink_init(struct mpt_sink *s)
{
	mpt_pipe_init(&s->pipe);
	s->pipe.end = sink_write;
	s->pipe.end_ctx = s;
}

int mpt_sink_emit(void *ctx, const struct mpt_view *v)
{
	struct mpt_sink *s = ctx;
	struct mpt_view ev;
	struct mpt_lineage_view lin;
	struct mpt_container ctr;
	struct mpt_target target;
	struct mpt_enrich en;

	mpt_view_copy(&ev, v);

	/* -n: the user asked for that many; the rest is read (the ring must empty) and left */
	if (s->pipe.done)
		return 0;
	/* who it is and who started it, from the process tracker: right even once they are gone */
	memset(&en, 0, sizeof(en));
	if (s->lineage) {
		mpt_lineage_of(s->lineage, v->hdr->task.host_tgid, v->hdr->task.start_ns, &lin);
		if (lin.self) {
			en.lineage = &lin;
			en.exe_path = lin.self->exe;
		}
	}
	/* the rest, from the live system (cached per cgroup, process) */
	mpt_enrich_live(&v->hdr->task, &ctr, &en);
	/* whom it names: the tracker has read every exit before this call, none after it */
	if (mpt_target_resolve(s->lineage, v, &target))
		en.target = &target;
	ev.enrich = &en;
	s->pipe.out_epoch = output_epoch(s);
	if (mpt_pipe_event(&s->pipe, &ev, &s->fmt) > 0) {
		count_rules(s, s->pipe.hits);
		count_event(s, v);
	}
	return 0;
}

int64_t mpt_now_ns(clockid_t clk)
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
int64_t mpt_boot_to_wall_ns(void)
{
	int64_t best = 0, best_gap = INT64_MAX;

	for (int i = 0; i < 3; i++) {
		int64_t before = mpt_now_ns(CLOCK_REALTIME);
		int64_t boot = mpt_now_ns(CLOCK_BOOTTIME);
		int64_t after = mpt_now_ns(CLOCK_REALTIME);

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
	return mpt_now_ns(CLOCK_BOOTTIME);
}

/* One record of the accounting stream (JSON, or a "--" line in the table), to @only or all. */
static void stream_line(struct mpt_sink *s, int only, const char *json, const char *table)
{
	const char *line = s->pipe.format == MPT_FMT_JSON ? json : table;

	/* an OCSF stream holds OCSF events only: losses are on stderr and in the capture */
	if (s->pipe.format == MPT_FMT_OCSF)
		return;

	for (int i = 0; i < s->n_out; i++)
		if (only < 0 || only == i)
			mpt_output_line(&s->out[i], line, strlen(line), false);
}

static void stream_drop(struct mpt_sink *s, int only, int cause, uint32_t tgid, uint64_t count,
			uint64_t from, uint64_t to)
{
	char json[512], table[256], who[48] = "", twho[48] = "", ts[MPT_TIMESTAMP_LEN];

	mpt_format_timestamp_str(ts, to + s->fmt.boot_to_wall_ns);
	if (tgid) {
		snprintf(who, sizeof(who), ",\"hostProcessId\":%u", tgid);
		snprintf(twho, sizeof(twho), " of process %u", tgid);
	}
	snprintf(json, sizeof(json),
		 "{%s,\"eventName\":\"drop\",\"cause\":\"%s\",\"count\":%llu%s,"
		 "\"fromTimestamp\":%lld,\"toTimestamp\":%lld}\n",
		 ts, mpt_cap_drop_cause(cause), (unsigned long long)count, who,
		 (long long)(from + s->fmt.boot_to_wall_ns),
		 (long long)(to + s->fmt.boot_to_wall_ns));
	snprintf(table, sizeof(table), "-- %llu calls%s lost (%s) in the last %.3f s\n",
		 (unsigned long long)count, twho, mpt_cap_drop_cause(cause), (to - from) / 1e9);
	stream_line(s, only, json, table);
}

/*
 * Every loss so far, by drop cause. Unfinished calls are known only once the
 * tracer stopped (0 before).
 */
static void loss_counts(const struct mpt_sink *s, const struct mpt_stats *st, uint64_t *cur)
{
	for (int k = 0; k < MPT_STAT_NR; k++)
		cur[k] = k == MPT_STAT_EVENTS ? 0 : st->kernel[k];
	cur[MPT_CAP_DROP_UNFINISHED] = st->unfinished;
	cur[MPT_CAP_DROP_UNREAD] = st->unread;
	cur[MPT_CAP_DROP_MALFORMED] = st->malformed;
	cur[MPT_CAP_DROP_OUTPUT] = output_lost(s);
	cur[MPT_CAP_DROP_CAPTURE] = s->pipe.cap ? mpt_cap_writer_lost(s->pipe.cap) : s->cap_lost;
	cur[MPT_CAP_DROP_UNSUMMED] = st->unsummed;
	cur[MPT_CAP_DROP_SKIPPED] = st->skipped;
	cur[MPT_CAP_DROP_KPROBE] = st->kprobe_missed;
}

/* Processes a ring-full drop names at most; the rest of its count is not named. */
#define NAMED_MAX 16

/* One drop record of cause @k for @count calls (@tgid's, or nobody's in particular). */
static int write_drop(struct mpt_sink *s, int k, uint32_t tgid, uint64_t count, uint64_t now)
{
	int err = 0;

	if (s->pipe.cap && k != MPT_CAP_DROP_CAPTURE)
		err = mpt_cap_write_drop(s->pipe.cap, k, tgid, count, s->lost_since_ns, now);
	if (s->stream_stats)
		stream_drop(s, -1, k, tgid, count, s->lost_since_ns, now);
	return err;
}

/*
 * @count calls lost to cause @k: a full ring's losses as a record per
 * process that lost calls (the kernel counts them by process), then the
 * rest; every other cause as one record.
 */
static int write_drops(struct mpt_sink *s, struct mpt_tracer *t, int k, uint64_t count,
		       uint64_t now)
{
	uint32_t tgid[NAMED_MAX];
	uint64_t n[NAMED_MAX];
	unsigned int named = 0;
	int err = 0;

	if (k == MPT_STAT_RINGBUF_FULL)
		named = mpt_tracer_lost_by_process(t, tgid, n, NAMED_MAX);
	for (unsigned int i = 0; i < named && count && !err; i++) {
		uint64_t c = n[i] < count ? n[i] : count;

		err = write_drop(s, k, tgid[i], c, now);
		count -= c;
	}
	return err || !count ? err : write_drop(s, k, 0, count, now);
}

/*
 * Losses since the last look become drop records: in the capture, so the
 * file shows each gap, and in the output with --stats-interval.
 */
int mpt_sink_account(struct mpt_sink *s, struct mpt_tracer *t)
{
	uint64_t now = boot_ns(), cur[MPT_CAP_DROP_NR];
	struct mpt_stats st;
	int err = 0;

	if ((!s->pipe.cap && !s->stream_stats) || mpt_tracer_stats(t, &st))
		return 0;
	loss_counts(s, &st, cur);
	/*
	 * The output's own losses are marked by flush_one(), once writing works
	 * again; the capture marks its own in the capture.
	 */
	for (int k = 0; k < MPT_CAP_DROP_NR && !err; k++) {
		if (k == MPT_CAP_DROP_OUTPUT || cur[k] <= s->lost[k])
			continue;
		err = write_drops(s, t, k, cur[k] - s->lost[k], now);
		s->lost[k] = cur[k];
	}
	s->lost_since_ns = now;
	return err;
}

/*
 * Where the trace stands: what the kernel saw, what was written, what was
 * lost and why. Written plus every loss but the capture's (whose events the
 * outputs still have) is every call let through, as in the summary line: an
 * event an output could not take counts as lost, not also as written.
 */
void mpt_sink_stats(struct mpt_sink *s, struct mpt_tracer *t, bool final)
{
	uint64_t queued, size, cur[MPT_CAP_DROP_NR], written = s->pipe.shown - output_lost(s);
	struct mpt_stats st;
	char json[1024], table[512], ts[MPT_TIMESTAMP_LEN];
	int n, m;

	if (mpt_tracer_stats(t, &st))
		return;
	mpt_format_timestamp_str(ts, boot_ns() + s->fmt.boot_to_wall_ns);
	mpt_tracer_ring_fill(t, &queued, &size);
	n = snprintf(json, sizeof(json),
		     "{%s,\"eventName\":\"stats\",\"hostName\":%s,"
		     "\"attachMode\":\"%s\",\"final\":%s,\"eventsSeen\":%llu,"
		     "\"eventsReceived\":%llu,\"eventsEmitted\":%llu,\"callsSummed\":%llu,"
		     "\"floodSummaries\":%llu,\"dropped\":{",
		     ts, s->host_json, s->mode, final ? "true" : "false",
		     (unsigned long long)st.kernel[MPT_STAT_EVENTS],
		     (unsigned long long)st.received, (unsigned long long)written,
		     (unsigned long long)st.summed_calls, (unsigned long long)st.summaries);
	m = snprintf(table, sizeof(table), "-- stats: %llu seen, %llu written, %llu summed, lost:",
		     (unsigned long long)st.kernel[MPT_STAT_EVENTS], (unsigned long long)written,
		     (unsigned long long)st.summed_calls);
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
		 "},\"findingsSuppressed\":%llu,\"kretprobeMissed\":%llu,\"hooksSkipped\":%llu,"
		 "\"lineageLost\":%llu,"
		 "\"compatTraced\":%s,\"ringBufferQueuedBytes\":%llu,\"ringBufferBytes\":%llu}\n",
		 (unsigned long long)suppressed(s), (unsigned long long)st.kretprobe_missed,
		 (unsigned long long)st.hooks_skipped, (unsigned long long)st.proc_lost,
		 mpt_tracer_compat_off(t) ? "false" : "true", (unsigned long long)queued,
		 (unsigned long long)size);
	snprintf(table + m, sizeof(table) - m, ", ring buffer %llu of %llu bytes queued%s\n",
		 (unsigned long long)queued, (unsigned long long)size,
		 mpt_tracer_compat_off(t) ? ", 32-bit calls NOT traced" : "");
	stream_line(s, -1, json, table);
}

static void metrics_counts(struct strbuf *b, const struct mpt_sink *s, const struct mpt_stats *st,
			   const uint64_t *cur)
{
	const struct mpt_event_desc *d;

	mpt_metric_head(b, "mptrace_events_total", "counter",
			"Records written: calls, and flood summaries of the calls they sum.");
	for (int i = 0; i < MPT_SINK_EVENTS_MAX && (d = mpt_event_desc_at(i)); i++)
		mpt_metric_u64(b, "mptrace_events_total", "event", d->name, s->by_event[i]);
	mpt_metric_one(b, "mptrace_calls_seen_total", "counter",
		       "Traced calls the kernel side counted.", st->kernel[MPT_STAT_EVENTS]);
	mpt_metric_one(b, "mptrace_calls_summed_total", "counter",
		       "Calls over a process's fair share, summed into flood summaries.",
		       st->summed_calls);
	mpt_metric_head(b, "mptrace_lost_total", "counter",
			"Calls not recorded, or records not written, by cause.");
	for (int k = 0; k < MPT_CAP_DROP_NR; k++)
		if (k != MPT_STAT_EVENTS)
			mpt_metric_u64(b, "mptrace_lost_total", "cause", mpt_cap_drop_cause(k),
				       cur[k]);
	mpt_metric_one(b, "mptrace_lineage_lost_total", "counter",
		       "Process records lost: gaps in the lineage.", st->proc_lost);
	mpt_metric_head(b, "mptrace_detections_total", "counter", "Detections raised, by rule.");
	for (int r = 0; r < MPT_DET_NR; r++)
		mpt_metric_u64(b, "mptrace_detections_total", "rule", mpt_detection_code(r),
			       s->by_rule[r]);
	mpt_metric_head(b, "mptrace_detections_suppressed_total", "counter",
			"Findings an exception silenced (the events were written), by rule.");
	for (int r = 0; r < MPT_DET_NR; r++)
		mpt_metric_u64(b, "mptrace_detections_suppressed_total", "rule",
			       mpt_detection_code(r),
			       s->pipe.detect ? mpt_detector_suppressed(s->pipe.detect)[r] : 0);
	mpt_metric_one(b, "mptrace_exceptions", "gauge", "Exceptions in force (--exceptions).",
		       mpt_detector_exceptions(s->pipe.detect));
}

/* Prometheus' text format: every series from the start, zeros included, so rates work. */
static void publish_metrics(struct mpt_sink *s, struct mpt_tracer *t, const struct mpt_stats *st,
			    const uint64_t *cur)
{
	uint64_t queued = 0, size = 0, bytes, files;
	struct strbuf b;

	sb_init(&b);
	mpt_metric_build_info(&b, "attach_mode", s->mode);
	mpt_metric_one(&b, "mptrace_start_time_seconds", "gauge",
		       "When tracing started, seconds since the epoch.", s->start_wall_s);
	metrics_counts(&b, s, st, cur);
	mpt_tracer_ring_fill(t, &queued, &size);
	mpt_metric_one(&b, "mptrace_ring_buffer_queued_bytes", "gauge",
		       "Bytes in the ring buffer not yet read.", queued);
	mpt_metric_one(&b, "mptrace_ring_buffer_size_bytes", "gauge", "The ring buffer's size.",
		       size);
	mpt_metric_one(&b, "mptrace_reader_lag_seconds", "gauge",
		       "Age of a recent record when it was read (sampled).", s->lag_ns / 1e9);
	mpt_metric_one(&b, "mptrace_compat_traced", "gauge",
		       "1 if calls through the 32-bit gates are traced.",
		       mpt_tracer_compat_off(t) ? 0 : 1);
	mpt_cap_writer_counts(s->pipe.cap, &bytes, &files);
	mpt_metric_one(&b, "mptrace_capture_written_bytes_total", "counter",
		       "Bytes written to capture files.", bytes);
	mpt_metric_one(&b, "mptrace_capture_files_created_total", "counter",
		       "Capture files created.", files);
	if (!b.oom)
		mpt_metrics_publish(s->metrics, b.buf, b.len);
	sb_free(&b);
}

static void notify_status(const struct mpt_sink *s, struct mpt_tracer *t, const uint64_t *cur)
{
	uint64_t lost = 0, found = 0;

	for (int k = 0; k < MPT_CAP_DROP_NR; k++)
		lost += cur[k];
	for (int r = 0; r < MPT_DET_NR; r++)
		found += s->by_rule[r];
	sd_notifyf(0, "STATUS=tracing %s via %s: %llu events, %llu lost, %llu detections",
		   mpt_tracer_events(t), s->mode, (unsigned long long)s->pipe.shown,
		   (unsigned long long)lost, (unsigned long long)found);
}

void mpt_sink_publish(struct mpt_sink *s, struct mpt_tracer *t)
{
	uint64_t cur[MPT_CAP_DROP_NR], now = boot_ns();
	bool status = now >= s->next_status_ns;
	struct mpt_stats st;

	if ((!s->metrics && !status) || mpt_tracer_stats(t, &st))
		return;
	loss_counts(s, &st, cur);
	if (s->metrics)
		publish_metrics(s, t, &st, cur);
	if (status) {
		s->next_status_ns = now + 1000000000ull;
		notify_status(s, t, cur);
	}
}

void mpt_read_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

int mpt_sink_open_capture(struct mpt_sink *s, const struct mpt_cap_writer_opts *o,
			  uint32_t array_cap, struct mpt_tracer *t, const char *cmdline)
{
	struct mpt_cap_meta m = {0};
	struct utsname uts;
	char boot_id[64], err[512];

	uname(&uts);
	mpt_read_boot_id(boot_id, sizeof(boot_id));
	m.mptrace_version = MPTRACE_VERSION;
	m.hostname = s->fmt.hostname;
	m.kernel = uts.release;
	m.boot_id = boot_id;
	m.boot_to_wall_ns = s->fmt.boot_to_wall_ns;
	m.attach_mode = mpt_attach_name(mpt_tracer_mode(t));
	m.array_cap = array_cap;
	m.command_line = cmdline;
	m.created_ns = mpt_now_ns(CLOCK_REALTIME);
	if (mpt_cap_writer_open(o, &m, &s->pipe.cap, err, sizeof(err))) {
		fprintf(stderr, "mptrace: %s\n", err);
		return -1;
	}
	s->cap_name = o->path;
	s->lost_since_ns = boot_ns();
	return 0;
}

static uint64_t suppressed(const struct mpt_sink *s)
{
	uint64_t n = 0;

	for (int r = 0; s->pipe.detect && r < MPT_DET_NR; r++)
		n += mpt_detector_suppressed(s->pipe.detect)[r];
	return n;
}

void mpt_sink_summary(struct mpt_tracer *t, const struct mpt_sink *s)
{
	uint64_t quiet = suppressed(s);
	struct mpt_stats st;

	if (mpt_tracer_stats(t, &st)) {
		fprintf(stderr, "mptrace: %llu events, drop counters unreadable\n",
			(unsigned long long)s->pipe.shown);
		return;
	}
	/* a summary with losses is a warning in the journal */
	mpt_log_next(mpt_stats_lost(&st) + output_lost(s) + s->cap_lost + st.proc_lost
			 ? MPT_LOG_WARNING
			 : MPT_LOG_NOTICE);
	fprintf(stderr, "mptrace: %llu events, %llu dropped",
		(unsigned long long)(s->pipe.shown - output_lost(s)),
		(unsigned long long)(mpt_stats_lost(&st) + output_lost(s)));
	if (st.summed_calls)
		fprintf(stderr, " (%llu calls over a fair share summed in %llu flood summaries)",
			(unsigned long long)st.summed_calls, (unsigned long long)st.summaries);
#define MPT_STAT_PRINT(id, name, desc)                                                             \
	if (MPT_STAT_##id != MPT_STAT_EVENTS)                                                      \
		fprintf(stderr, " %s=%llu", name, (unsigned long long)st.kernel[MPT_STAT_##id]);
	MPT_STATS(MPT_STAT_PRINT)
#undef MPT_STAT_PRINT
	fprintf(stderr, " unfinished=%llu", (unsigned long long)st.unfinished);
	if (st.unread)
		fprintf(stderr, " unread_at_stop=%llu", (unsigned long long)st.unread);
	if (st.unsummed)
		fprintf(stderr, " summary_full=%llu", (unsigned long long)st.unsummed);
	if (st.skipped)
		fprintf(stderr, " hooks_skipped=%llu", (unsigned long long)st.skipped);
	if (st.kprobe_missed)
		fprintf(stderr, " kprobe_missed=%llu", (unsigned long long)st.kprobe_missed);
	if (st.kretprobe_missed)
		fprintf(stderr, " kretprobe_missed=%llu", (unsigned long long)st.kretprobe_missed);
	/* process records lost: no call is lost, but some lineage may be unknown */
	if (st.proc_lost)
		fprintf(stderr, " lineage_lost=%llu", (unsigned long long)st.proc_lost);
	if (st.malformed)
		fprintf(stderr, " malformed=%llu", (unsigned long long)st.malformed);
	if (output_lost(s))
		fprintf(stderr, " output_lost=%llu", (unsigned long long)output_lost(s));
	if (s->cap_lost)
		fprintf(stderr, " capture_lost=%llu", (unsigned long long)s->cap_lost);
	if (quiet)
		fprintf(stderr, "; %llu findings silenced by exceptions",
			(unsigned long long)quiet);
	fputc('\n', stderr);
	mpt_log_next(MPT_LOG_ERR);
}

/* Events an output could not take, not counting a reader that went away. */
uint64_t mpt_sink_lost_unbroken(const struct mpt_sink *s)
{
	uint64_t lost = 0;

	for (int i = 0; i < s->n_out; i++)
		if (!s->out[i].broken)
			lost += s->out[i].lost_events;
	return lost;
}

/* A wall clock step (NTP, an admin): later times follow it, and the capture says when. */
void mpt_sink_check_clock(struct mpt_sink *s)
{
	int64_t off = mpt_boot_to_wall_ns(), d = off - s->fmt.boot_to_wall_ns;

	if (d > -MPT_CLOCK_STEP_NS && d < MPT_CLOCK_STEP_NS)
		return;
	mpt_notice("the wall clock stepped by %+.3f s; times from now on follow it", d / 1e9);
	s->fmt.boot_to_wall_ns = off;
	if (s->pipe.cap)
		mpt_cap_write_clock(s->pipe.cap, boot_ns(), off);
}

/*
 * Evidence is never overwritten and never mixed: an output may not be the
 * capture (or a file of its set), and two outputs may not be one file.
 */
int mpt_sink_check_paths(const char *const *outputs, int n, const char *capture,
			 uint64_t capture_size)
{
	for (int i = 0; i < n; i++) {
		const char *o = outputs[i];

		if (!strcmp(o, "-"))
			continue;
		if (mpt_file_begins_with(o, MPT_CAP_MAGIC, MPT_CAP_MAGIC_LEN)) {
			fprintf(stderr, "mptrace: -o %s is a capture file: it would be destroyed\n",
				o);
			return -1;
		}
		if (capture && (mpt_same_file(o, capture) ||
				(capture_size && mpt_in_capture_set(o, capture)))) {
			fprintf(stderr, "mptrace: -o %s is the capture file: they must differ\n",
				o);
			return -1;
		}
		for (int j = 0; j < i; j++) {
			if (strcmp(outputs[j], "-") && mpt_same_file(o, outputs[j])) {
				fprintf(stderr, "mptrace: -o %s is given twice\n", o);
				return -1;
			}
		}
	}
	return 0;
}
