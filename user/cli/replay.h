/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The commands that read captures: replay, report, verify, capture-info. */
#ifndef MPTRACE_REPLAY_H
#define MPTRACE_REPLAY_H

#include "cli/cli.h"

/* Each returns the process exit code: 0, or the worst mpt_cap_status met. */
int mpt_cmd_replay(const struct mpt_cli *cli, volatile int *stop);
/* The forensic page (or its JSON summary) of the captures, with replay's filters. */
int mpt_cmd_report(const struct mpt_cli *cli, volatile int *stop);
/* replay --nats, report --nats: the same, from the stream. */
int mpt_cmd_replay_nats(const struct mpt_cli *cli, volatile int *stop);
int mpt_cmd_verify(const struct mpt_cli *cli);
int mpt_cmd_capture_info(const struct mpt_cli *cli);

#endif
