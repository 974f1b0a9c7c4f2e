// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLUSH_BYTES (64u << 10)

static int open_fd(struct mpt_output *o)
{
	struct stat st;

	o->fd = open(o->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (o->fd < 0)
		return -errno;
	o->file_bytes = fstat(o->fd, &st) ? 0 : st.st_size;
	return 0;
}

int mpt_output_open(struct mpt_output *o, const char *path, uint64_t log_size, uint32_t log_files,
		    void (*say)(const char *msg))
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->log_size = log_size;
	o->log_files = log_files ? log_files : 5;
	o->say = say;
	o->fd = 1;
	return path ? open_fd(o) : 0;
}

int mpt_output_line(struct mpt_output *o, const char *line, size_t len, bool event)
{
	if (o->len + len > o->cap) {
		size_t cap = o->cap ? o->cap : 2 * FLUSH_BYTES;
		char *p;

		while (cap < o->len + len)
			cap *= 2;
		p = realloc(o->buf, cap);
		if (!p) {
			o->lost_events += event;
			return -ENOMEM;
		}
		o->buf = p;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, line, len);
	o->len += len;
	o->pending_events += event;
	return o->len >= FLUSH_BYTES ? mpt_output_flush(o) : 0;
}

/* FILE -> FILE.1 -> ... -> FILE.(N-1), the oldest gone. */
static int rotate(struct mpt_output *o)
{
	char from[4200], to[4200];

	for (uint32_t i = o->log_files - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", o->path);
		else
			snprintf(from, sizeof(from), "%s.%u", o->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", o->path, i);
		if (rename(from, to) && errno != ENOENT)
			return -errno;
	}
	return mpt_output_reopen(o);
}

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

int mpt_output_flush(struct mpt_output *o)
{
	size_t done = 0;
	int err = 0;

	while (done < o->len) {
		ssize_t n = write(o->fd, o->buf + done, o->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : ENOSPC;
			break;
		}
		done += n;
	}
	if (err == EPIPE)
		return -EPIPE;
	if (err) {
		/* cut the file back to its last whole line: a torn line would corrupt the log */
		if (done && o->path && ftruncate(o->fd, o->file_bytes))
			say(o, "cannot cut %s back to its last whole line: %s", o->path,
			    strerror(errno));
		if (!o->failing)
			say(o,
			    "writing to %s failed: %s; counting the events lost until it works "
			    "again",
			    o->path ? o->path : "stdout", strerror(err));
		o->failing = err;
		o->lost_events += o->pending_events;
		o->unreported += o->pending_events;
		o->len = o->pending_events = 0;
		return 0;
	}
	if (o->failing)
		say(o, "writing to %s works again; %llu events were lost meanwhile",
		    o->path ? o->path : "stdout", (unsigned long long)o->unreported);
	o->failing = 0;
	o->file_bytes += o->len;
	o->len = o->pending_events = 0;
	if (o->path && o->log_size && o->file_bytes >= o->log_size && (err = rotate(o))) {
		say(o, "rotating %s failed: %s", o->path, strerror(-err));
		if (o->fd < 0 && open_fd(o))
			return 0; /* counted as lost from the next flush on */
	}
	return 0;
}

int mpt_output_reopen(struct mpt_output *o)
{
	if (!o->path)
		return 0;
	if (o->fd >= 0)
		close(o->fd);
	return open_fd(o);
}

int mpt_output_close(struct mpt_output *o)
{
	int err = mpt_output_flush(o);

	if (o->path && o->fd >= 0 && close(o->fd) && !err)
		err = -errno;
	o->fd = -1;
	free(o->buf);
	o->buf = NULL;
	return err;
}
