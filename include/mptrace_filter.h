/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * In-kernel filters, shared by the BPF programs (which evaluate them at
 * syscall entry, before any record is built) and the loader (which fills the
 * maps). Filters of different kinds combine with AND; the values of one kind
 * combine with OR.
 */
#ifndef MPTRACE_FILTER_H
#define MPTRACE_FILTER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Kinds whose values live in the filter_values hash map: X(id, option name). */
#define MPT_FILTER_KINDS(X)                                                                        \
	X(PID, "pid")                                                                              \
	X(TID, "tid")                                                                              \
	X(UID, "uid")                                                                              \
	X(COMM, "comm")                                                                            \
	X(CGROUP, "cgroup")                                                                        \
	X(MNTNS, "mntns")                                                                          \
	X(PIDNS, "pidns")                                                                          \
	X(EXE, "exe")                                                                              \
	X(ANCESTOR, "descendant-of")

enum mpt_filter_kind {
#define MPT_FILTER_ENUM(id, name) MPT_FILTER_##id,
	MPT_FILTER_KINDS(MPT_FILTER_ENUM)
#undef MPT_FILTER_ENUM
	    MPT_FILTER_NR,
};

/* Numbers are stored little-endian in val[0..8); comm is the NUL-padded name. */
/*
 * val: the value, little-endian in its first 8 bytes; a comm's 16 bytes; for
 * EXE the executable's inode (8 bytes), then its device (4, the kernel's
 * dev_t: major << 20 | minor), then zeros.
 */
struct mpt_filter_key {
	__u32 kind; /* enum mpt_filter_kind */
	__u32 _pad;
	__u8 val[16];
};

/* --descendant-of looks this many parents up (real_parent, as the process tree is now). */
#define MPT_ANCESTOR_WALK_MAX 16

enum mpt_filter_scope {
	MPT_SCOPE_ALL = 0,
	MPT_SCOPE_HOST_ONLY = 1,       /* callers in no recognised container */
	MPT_SCOPE_CONTAINERS_ONLY = 2, /* callers in a recognised container */
};

/* A container id is 64 lowercase hex digits; filters may give a prefix of it. */
#define MPT_CONTAINER_ID_LEN 64
#define MPT_CONTAINER_FILTER_MAX 16

struct mpt_container_prefix {
	__u32 len;
	char id[MPT_CONTAINER_ID_LEN];
};

/*
 * Cgroup levels walked up from the caller's cgroup to the root (--cgroup
 * covers descendants at any depth up to this); containers are looked for
 * in the top MPT_CGROUP_PATH_DEPTH levels, from the root down.
 */
#define MPT_CGROUP_WALK_MAX 4096
/* Longest cgroup directory name the container matcher reads. */
#define MPT_CGROUP_NAME_MAX 256

/*
 * A caller's cgroup (v2) path, recorded by the BPF side at the call (map
 * cgroup_paths, by cgroup id): the reader names a cgroup removed right
 * after the call, and never walks the cgroup tree for it. Levels below the
 * root, and bytes with the NUL; a longer path is cut short.
 */
#define MPT_CGROUP_PATH_DEPTH 64
#define MPT_CGROUP_PATH_MAX 512
#define MPT_CGROUP_PATHS 4096 /* cgroups remembered (LRU) */

struct mpt_cgroup_path {
	char path[MPT_CGROUP_PATH_MAX];
};

_Static_assert(sizeof(struct mpt_filter_key) == 24, "mpt_filter_key layout changed");
_Static_assert(sizeof(struct mpt_container_prefix) == 68, "mpt_container_prefix changed");
_Static_assert(MPT_FILTER_NR <= 32, "filter kinds are a 32-bit mask");

#endif /* MPTRACE_FILTER_H */
