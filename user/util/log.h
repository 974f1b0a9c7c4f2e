/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef MPTRACE_LOG_H
#define MPTRACE_LOG_H

#include <stdarg.h>

/* 0: errors only; 1 (-v): decisions and libbpf warnings; 2 (-vv): libbpf debug, verifier logs. */
extern int mpt_verbosity;

/* syslog priorities, for journald (mpt_log_setup_journal) */
enum {
	MPT_LOG_ERR = 3,
	MPT_LOG_WARNING = 4,
	MPT_LOG_NOTICE = 5,
	MPT_LOG_INFO = 6,
	MPT_LOG_DEBUG = 7
};

void mpt_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Always shown: how things go, not a problem (the ready line, the summary). */
void mpt_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Always shown: something works less well than it should. */
void mpt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The priority of the lines written to stderr from now on, until set back to
 * MPT_LOG_ERR (the helpers here do so after their line): a line nobody
 * classified is taken for an error, not lost among the routine ones.
 */
void mpt_log_next(int prio);
/*
 * When stderr is the journal (JOURNAL_STREAM names it, as systemd sets it for
 * a service), every line gets its "<N>" priority prefix from now on.
 */
void mpt_log_setup_journal(void);
/* Route libbpf's own messages through mpt_verbosity. */
void mpt_log_setup_libbpf(void);

#endif
