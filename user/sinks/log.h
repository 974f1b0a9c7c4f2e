/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef MPTRACE_LOG_H
#define MPTRACE_LOG_H

#include <stdarg.h>

/* 0: errors only; 1 (-v): decisions and libbpf warnings; 2 (-vv): libbpf debug, verifier logs. */
extern int mpt_verbosity;

void mpt_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Always shown: something works less well than it should. */
void mpt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Route libbpf's own messages through mpt_verbosity. */
void mpt_log_setup_libbpf(void);

#endif
