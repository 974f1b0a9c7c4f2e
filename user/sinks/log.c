// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "log.h"

#include <bpf/libbpf.h>
#include <stdio.h>

int mpt_verbosity;

void mpt_info(const char *fmt, ...)
{
	va_list ap;

	if (mpt_verbosity < 1)
		return;
	va_start(ap, fmt);
	fputs("mptrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void mpt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mptrace: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * Without -v libbpf stays quiet: probing modes that fail is expected, and
 * mptrace reports each failure itself in one line.
 */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (mpt_verbosity < 1 || (level == LIBBPF_DEBUG && mpt_verbosity < 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void mpt_log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
