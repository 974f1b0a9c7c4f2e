/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The fleet: ship captures to NATS JetStream, replay from it (docs/fleet.md). */
#ifndef MPTRACE_FLEET_H
#define MPTRACE_FLEET_H

#include "cli/cli.h"

/* mptrace ship CAPTURE...: exit status. */
int mpt_cmd_ship(const struct mpt_cli *cli, volatile int *stop);
/* mptrace replay --nats URL: the same lines a replay of the captures prints. */
int mpt_cmd_replay_nats(const struct mpt_cli *cli, volatile int *stop);

#endif
