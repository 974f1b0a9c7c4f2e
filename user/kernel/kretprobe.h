/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A kretprobe with room for many calls at once. move_pages sleeps, and a
 * kretprobe tracks at most `maxactive` calls in flight: the perf kprobe PMU
 * that libbpf uses gives max(10, 2 x CPUs), so a few threads held inside the
 * call (on a userfaultfd page) made every other return invisible. The
 * tracefs kprobe_events interface takes maxactive (`rN:`), up to the kernel's
 * limit of 4096, and its kprobe_profile says how many returns were missed.
 */
#ifndef MPTRACE_KRETPROBE_H
#define MPTRACE_KRETPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_program;
struct bpf_link;

#define MPT_KRETPROBE_MAXACTIVE 4096

struct mpt_kretprobe {
	char event[64]; /* in the "mptrace" group; empty when none was created */
	struct bpf_link *link;
};

/*
 * Create the probe on @func (a kretprobe, or with @entry a kprobe: made the
 * same way so that its misses are counted too) and attach @prog; 0, or
 * negative errno and a reason.
 */
int mpt_kretprobe_attach(struct mpt_kretprobe *kr, struct bpf_program *prog, const char *func,
			 const char *tag, bool entry, char *why, size_t len);
/* Detach and remove the probe; safe on one never attached. */
void mpt_kretprobe_detach(struct mpt_kretprobe *kr);
/*
 * What the kernel missed, from kprobe_profile (0 when unknown): returns with
 * no instance free, or entries hit while another probe ran on that CPU.
 */
uint64_t mpt_kretprobe_missed(const struct mpt_kretprobe *kr);
/* Remove probes left by mptrace processes that died without cleaning up. */
void mpt_kretprobe_remove_stale(void);

#endif
