// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "util/log.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mpt_verbosity;

/* per thread: the shipper's acknowledgment thread logs beside the main one */
static _Thread_local int next_prio = MPT_LOG_ERR;
static bool line_start = true;

void mpt_log_next(int prio)
{
	next_prio = prio;
}

static void say_at(int prio, const char *prefix, const char *fmt, va_list ap)
{
	mpt_log_next(prio);
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	mpt_log_next(MPT_LOG_ERR);
}

void mpt_info(const char *fmt, ...)
{
	va_list ap;

	if (mpt_verbosity < 1)
		return;
	va_start(ap, fmt);
	say_at(MPT_LOG_INFO, "mptrace: ", fmt, ap);
	va_end(ap);
}

void mpt_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say_at(MPT_LOG_NOTICE, "mptrace: ", fmt, ap);
	va_end(ap);
}

void mpt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say_at(MPT_LOG_WARNING, "mptrace: warning: ", fmt, ap);
	va_end(ap);
}

static int write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* stderr's writes, each line led by "<N>" (sd-daemon(3)'s SD_ERR and the rest) */
static ssize_t journal_write(void *cookie, const char *buf, size_t len)
{
	size_t done = 0;

	(void)cookie;
	while (done < len) {
		const char *nl = memchr(buf + done, '\n', len - done);
		size_t n = nl ? (size_t)(nl - (buf + done)) + 1 : len - done;

		if (line_start) {
			char tag[4] = {'<', (char)('0' + next_prio), '>', 0};

			if (write_all(tag, 3))
				return -1;
		}
		if (write_all(buf + done, n))
			return -1;
		line_start = nl != NULL;
		done += n;
	}
	return (ssize_t)len;
}

void mpt_log_setup_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	FILE *f;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) ||
	    st.st_dev != dev || st.st_ino != ino)
		return;
	f = fopencookie(NULL, "w", (cookie_io_functions_t){.write = journal_write});
	if (!f)
		return;
	setvbuf(f, NULL, _IOLBF, 0);
	stderr = f;
}

/*
 * Without -v libbpf stays quiet: probing modes that fail is expected, and
 * mptrace reports each failure itself in one line.
 */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n;

	if (mpt_verbosity < 1 || (level == LIBBPF_DEBUG && mpt_verbosity < 2))
		return 0;
	mpt_log_next(level == LIBBPF_WARN   ? MPT_LOG_WARNING
		     : level == LIBBPF_INFO ? MPT_LOG_INFO
					    : MPT_LOG_DEBUG);
	n = vfprintf(stderr, fmt, ap);
	mpt_log_next(MPT_LOG_ERR);
	return n;
}

void mpt_log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
