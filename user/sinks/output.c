// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "sinks/output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_BYTES (64u << 10)

static void say(struct mpt_output *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct mpt_output *o, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!o->say)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->say(msg);
}

static const char *name(const struct mpt_output *o)
{
	return o->path ? o->path : "stdout";
}

static void check_fd(struct mpt_output *o)
{
	struct stat st;

	o->regular = !fstat(o->fd, &st) && S_ISREG(st.st_mode);
	o->file_bytes = o->regular ? st.st_size : 0;
}

static int open_fd(struct mpt_output *o)
{
	/* O_NONBLOCK: a FIFO nobody reads fails now (ENXIO) instead of hanging the open */
	o->fd = open(o->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0640);
	if (o->fd < 0)
		return -errno;
	check_fd(o);
	o->files_begun++;
	return 0;
}

int mpt_output_open(struct mpt_output *o, const char *path, uint64_t log_size, uint32_t log_files,
		    void (*say_fn)(const char *msg))
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->log_size = log_size;
	o->log_files = log_files ? log_files : 5;
	o->max_queue = MPT_OUTPUT_QUEUE_MAX;
	o->say = say_fn;
	o->fd = 1;
	if (path)
		return open_fd(o);
	check_fd(o);
	return 0;
}

/* Everything queued is lost: count its events. */
static void discard(struct mpt_output *o)
{
	o->lost_events += o->n_ends;
	o->unreported += o->n_ends;
	o->len = o->n_ends = 0;
}

int mpt_output_line(struct mpt_output *o, const char *line, size_t len, bool event)
{
	if (o->broken) {
		o->lost_events += event;
		return -EPIPE;
	}
	if (o->len + len > o->max_queue) {
		if (o->failing != EAGAIN)
			say(o,
			    "%s is not reading: %zu bytes queued; counting the events lost until "
			    "it catches up",
			    name(o), o->len);
		o->failing = EAGAIN;
		o->lost_events += event;
		o->unreported += event;
		return 0;
	}
	if (o->len + len > o->cap) {
		size_t cap = o->cap ? o->cap : 2 * FLUSH_BYTES;
		char *p;

		while (cap < o->len + len)
			cap *= 2;
		p = realloc(o->buf, cap);
		if (!p) {
			o->lost_events += event;
			o->unreported += event;
			return -ENOMEM;
		}
		o->buf = p;
		o->cap = cap;
	}
	if (event && o->n_ends == o->cap_ends) {
		size_t cap = o->cap_ends ? 2 * o->cap_ends : 1024;
		size_t *p = realloc(o->ends, cap * sizeof(*p));

		if (!p) {
			o->lost_events++;
			o->unreported++;
			return -ENOMEM;
		}
		o->ends = p;
		o->cap_ends = cap;
	}
	memcpy(o->buf + o->len, line, len);
	o->len += len;
	if (event)
		o->ends[o->n_ends++] = o->len;
	return o->len >= FLUSH_BYTES ? mpt_output_flush(o) : 0;
}

/* Does our path still name the file we write (logrotate may have moved it)? */
static bool path_is_ours(const struct mpt_output *o)
{
	struct stat a, b;

	return !fstat(o->fd, &a) && !stat(o->path, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int reopen(struct mpt_output *o);

/*
 * FILE -> FILE.1 -> ... -> FILE.(N-1), the oldest gone. A file someone else
 * moved away is theirs to keep: then only a new FILE is opened.
 */
static int rotate(struct mpt_output *o)
{
	char from[4200], to[4200];

	if (!path_is_ours(o))
		return reopen(o);
	for (uint32_t i = o->log_files - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", o->path);
		else
			snprintf(from, sizeof(from), "%s.%u", o->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", o->path, i);
		if (rename(from, to) && errno != ENOENT)
			return -errno;
	}
	return reopen(o);
}

/* The first @done bytes are written: forget them and the events they end. */
static void consume(struct mpt_output *o, size_t done)
{
	size_t k = 0;

	while (k < o->n_ends && o->ends[k] <= done)
		k++;
	memmove(o->ends, o->ends + k, (o->n_ends - k) * sizeof(*o->ends));
	o->n_ends -= k;
	for (size_t i = 0; i < o->n_ends; i++)
		o->ends[i] -= done;
	memmove(o->buf, o->buf + done, o->len - done);
	o->len -= done;
	o->file_bytes += done;
}

/* Can @o take a write now? A pipe's reader may be asleep: never wait for it here. */
static bool writable(const struct mpt_output *o, int timeout_ms)
{
	struct pollfd p = {.fd = o->fd, .events = POLLOUT};

	if (o->regular)
		return true;
	return poll(&p, 1, timeout_ms) > 0;
}

static int64_t mono_ms(void);

/* A rotation that fails is tried again once a second, and said once per outage. */
static void rotate_if_due(struct mpt_output *o)
{
	int err;

	if (!o->path || !o->regular || !o->log_size || o->file_bytes < o->log_size)
		return;
	if (o->rotate_err && mono_ms() < o->rotate_retry)
		return;
	err = rotate(o);
	if (!err) {
		if (o->rotate_err)
			say(o, "rotating %s works again; %llu events were lost meanwhile", name(o),
			    (unsigned long long)o->unreported);
		o->rotate_err = 0;
		o->unreported = 0;
		return;
	}
	if (o->rotate_err != -err)
		say(o,
		    "rotating %s failed: %s; trying again every second, and past twice "
		    "--log-size the events are counted as lost",
		    name(o), strerror(-err));
	o->rotate_err = -err;
	o->rotate_retry = mono_ms() + 1000;
	if (o->fd < 0 && open_fd(o))
		o->fd = -1; /* lines queue, then count as lost, until a reopen */
}

/* While rotation fails, the file may grow to twice --log-size, not without bound. */
static bool over_bound(const struct mpt_output *o)
{
	return o->rotate_err && o->file_bytes >= 2 * o->log_size;
}

/* A file that could not be opened again (a failed reopen) is tried once a second. */
static void reopen_if_due(struct mpt_output *o)
{
	if (o->fd >= 0 || !o->path || mono_ms() < o->reopen_retry)
		return;
	if (open_fd(o)) {
		o->fd = -1;
		o->reopen_retry = mono_ms() + 1000;
		return;
	}
	say(o, "opening %s works again", name(o));
}

int mpt_output_flush(struct mpt_output *o)
{
	size_t done = 0;
	int err = 0;

	if (o->broken)
		return -EPIPE;
	reopen_if_due(o);
	if (!o->len || o->fd < 0)
		return 0;
	if (over_bound(o)) {
		rotate_if_due(o);
		if (over_bound(o)) {
			discard(o);
			return 0;
		}
	}
	while (done < o->len && writable(o, 0)) {
		/* a pipe that polls writable takes PIPE_BUF bytes without blocking */
		size_t chunk = o->regular ? o->len - done : PIPE_BUF;
		ssize_t n;

		if (chunk > o->len - done)
			chunk = o->len - done;
		n = write(o->fd, o->buf + done, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			err = n < 0 ? errno : ENOSPC;
			break;
		}
		done += n;
	}
	if (err == EPIPE) {
		if (!o->failing)
			say(o, "the reader of %s went away; counting every later event as lost",
			    name(o));
		o->broken = true;
		discard(o);
		return -EPIPE;
	}
	if (err) {
		/* cut the file back to its last whole line: a torn line would corrupt the log */
		if (done && o->regular && ftruncate(o->fd, o->file_bytes))
			say(o, "cannot cut %s back to its last whole line: %s", name(o),
			    strerror(errno));
		if (!o->failing || o->failing == EAGAIN)
			say(o,
			    "writing to %s failed: %s; counting the events lost until it works "
			    "again",
			    name(o), strerror(err));
		o->failing = err;
		discard(o);
		return 0;
	}
	if (!done)
		return 0;
	consume(o, done);
	if (o->failing && (o->failing != EAGAIN || o->len < o->max_queue / 2)) {
		say(o, "writing to %s works again; %llu events were lost meanwhile", name(o),
		    (unsigned long long)o->unreported);
		o->failing = 0;
	}
	rotate_if_due(o);
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mpt_output_drain(struct mpt_output *o, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;

	while (o->len && !o->broken && o->fd >= 0) {
		int64_t left = deadline - mono_ms();

		if (mpt_output_flush(o) || !o->len || left <= 0)
			break;
		writable(o, (int)left);
	}
	if (o->len) {
		/* without events left, only the closing stats record, which is no event */
		if (o->n_ends)
			say(o,
			    "%s took nothing for %d ms at the stop: %zu events not written, "
			    "counted as lost",
			    name(o), timeout_ms, o->n_ends);
		discard(o);
	}
}

static int reopen(struct mpt_output *o)
{
	int err;

	if (!o->path)
		return 0;
	if (o->fd >= 0)
		close(o->fd);
	err = open_fd(o);
	if (err) {
		/* lines queue (then count as lost) while flushes try again */
		o->fd = -1;
		o->reopen_retry = mono_ms() + 1000;
	}
	return err;
}

int mpt_output_reopen(struct mpt_output *o)
{
	uint32_t begun = o->files_begun;

	/*
	 * What was queued before the file was moved goes where the process
	 * records it needs went: the old file. The new one starts with its own.
	 */
	if (o->path && o->fd >= 0) {
		mpt_output_flush(o);
		if (o->files_begun != begun)
			return 0; /* the flush rotated: a new file is open */
	}
	return reopen(o);
}

int mpt_output_close(struct mpt_output *o)
{
	int err = mpt_output_flush(o);

	if (o->len)
		discard(o);
	if (o->path && o->fd >= 0 && close(o->fd) && !err)
		err = -errno;
	o->fd = -1;
	free(o->buf);
	free(o->ends);
	o->buf = NULL;
	o->ends = NULL;
	return err;
}
