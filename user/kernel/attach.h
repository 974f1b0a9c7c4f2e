/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which hook pair to use, decided in one place, before load: a table of
 * modes in preference order, each with a cheap precheck that says why it
 * cannot work, followed by the real test (load and attach).
 */
#ifndef MPTRACE_ATTACH_H
#define MPTRACE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

/* X(id, name, hooks): in the order `auto` tries them. */
#define MPT_ATTACH_MODES(X)                                                                        \
	X(KPROBE, "kprobe", "kprobe + kretprobe on the syscall function")                          \
	X(FENTRY, "fentry", "fentry + fexit on the syscall function (BPF trampoline)")             \
	X(TRACEPOINT, "tracepoint", "syscalls:sys_enter/sys_exit_<syscall> tracepoints")

enum mpt_attach_mode {
#define MPT_ATTACH_ENUM(id, name, hooks) MPT_ATTACH_##id,
	MPT_ATTACH_MODES(MPT_ATTACH_ENUM)
#undef MPT_ATTACH_ENUM
	    MPT_ATTACH_NR,
	MPT_ATTACH_AUTO = MPT_ATTACH_NR,
};

#define MPT_REASON_LEN 256

struct mpt_attach_report {
	/* per mode: tried at all, worked, and why not */
	bool tried[MPT_ATTACH_NR];
	bool ok[MPT_ATTACH_NR];
	char why[MPT_ATTACH_NR][MPT_REASON_LEN];
	/* a failure that is no mode's fault (bad options, reader setup) */
	char error[MPT_REASON_LEN];
};

struct mpt_attach_ops {
	/* Cheap checks of what the kernel offers; false with a reason when the mode cannot work. */
	bool (*precheck)(enum mpt_attach_mode mode, char *why, size_t len);
	/* The real test: load and attach. 0 on success, else negative errno and a reason. */
	int (*try_mode)(enum mpt_attach_mode mode, void *ctx, char *why, size_t len);
};

const char *mpt_attach_name(enum mpt_attach_mode mode);
const char *mpt_attach_hooks(enum mpt_attach_mode mode);
/* "auto" or a mode name; -EINVAL otherwise. */
int mpt_attach_parse(const char *name, enum mpt_attach_mode *mode);

/*
 * Walk the plan: for `auto` every mode in order until one works, otherwise
 * only the requested one. Returns the mode that is attached, or -1 with every
 * reason in @rep.
 */
int mpt_attach_walk(enum mpt_attach_mode request, const struct mpt_attach_ops *ops, void *ctx,
		    struct mpt_attach_report *rep);

/* The prechecks used for real (ops.precheck). */
bool mpt_attach_precheck(enum mpt_attach_mode mode, char *why, size_t len);

/* Mount tracefs at /sys/kernel/tracing when no tracefs is reachable. */
int mpt_ensure_tracefs(char *why, size_t len);

/* The kernel function of syscall @event the kprobe and fentry programs attach to: native, ia32. */
const char *mpt_syscall_fn(const char *event, bool ia32, char *buf, size_t len);

/* Where tracefs is reachable, or NULL. */
const char *mpt_tracefs_root(void);

/*
 * Should @mode watch the 32-bit gates? Only where one is open (a gate closed
 * at boot cannot open later), and where @mode can hook them: kprobe and
 * fentry need the ia32 entry function; tracepoint mode uses the raw
 * syscall tracepoints.
 */
bool mpt_compat_precheck(enum mpt_attach_mode mode, char *why, size_t len);
/* Can a process here make an int 0x80 call (ia32 emulation on)? Probed once. */
bool mpt_ia32_gate_open(void);
/* Syscall @nr through the ia32 gate (int 0x80), every argument zero; its return. */
long mpt_ia32_call(long nr);
/*
 * Can the kernel tell which pages it migrated (migrate:remove_migration_pte)?
 * Mounts tracefs when it must.
 */
bool mpt_kernel_view_available(char *why, size_t len);
/* ... and the one for transparent huge pages (thp:remove_migration_pmd), after that. */
bool mpt_kernel_view_pmd_available(void);

/* The second half alone: can @mode's 32-bit programs load and attach here? */
bool mpt_compat_hookable(enum mpt_attach_mode mode, char *why, size_t len);

#endif
