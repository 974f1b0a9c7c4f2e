/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Capabilities: what mptrace has, and giving up what it no longer needs once attached. */
#ifndef MPTRACE_PRIVS_H
#define MPTRACE_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Does the effective set hold both CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)? */
bool mpt_can_bpf(void);

/*
 * After attaching: keep only CAP_BPF (reading the loss counters and the
 * in-flight map) and CAP_SYS_PTRACE (reading other users' /proc/PID/exe),
 * shrink the bounding set to match, and set no_new_privs. @kept names what
 * was kept. 0, or -errno with @err saying why.
 */
int mpt_drop_privileges(char *kept, size_t kept_len, char *err, size_t len);

/*
 * The process whose calls are never traced: this one (a tracer that traced
 * its own writes would feed on itself). Its own unit, so that the tests,
 * which make their calls from the tracing process, can wrap it at link time.
 */
uint32_t mpt_self_tgid(void);

#endif
