/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The process a call names by its pid argument: who it was, at the call. */
#ifndef MPTRACE_TARGET_H
#define MPTRACE_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/decode.h"
#include "context/lineage.h"

/* The pid namespace mptrace runs in (the host's): its pids are host pids. */
uint32_t mpt_host_pid_ns(void);

/*
 * Fill @out for the process @v's pid argument names, when it names another
 * process than the caller; false (and @out untouched) when it does not.
 * From the process tracker @l, which reads exits in order with the calls.
 */
bool mpt_target_resolve(const struct mpt_lineage *l, const struct mpt_view *v,
			struct mpt_target *out);

#endif
