/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event ABI: the one definition of what the BPF programs write into the
 * ring buffer and what every user-side reader (live decoder, capture writer,
 * replay) parses. Fixed-width types only, so the layout is the same for the
 * BPF target and for the host compiler; the _Static_asserts below pin it.
 *
 * Changing anything here changes the record format: bump MPT_EVENT_VERSION.
 */
#ifndef MPTRACE_EVENT_H
#define MPTRACE_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MPT_EVENT_VERSION 6
/*
 * Version 4 moved abi and ret_state into the common header; version 5 made
 * migrate_pages a generic record; version 6 made move_pages one too, the
 * generic record's table of captures four long. Older records still read:
 * the decoder lifts them into today's layout (user/decode/).
 */
#define MPT_EVENT_VERSION_MIN 2
/* The first version with the common header (and process and flood records). */
#define MPT_EVENT_VERSION_HDR 4

#define MPT_TASK_COMM_LEN 16

/* Entries captured from each user array (pages[], nodes[], status[]). */
#define MPT_ARRAY_CAP_DEFAULT 64
#define MPT_ARRAY_CAP_MAX 1024

/*
 * Bytes of array data one record can carry: pages (8) + nodes (4) as the
 * call entered, (8) addresses the kernel migrated that the recorded pages[]
 * does not hold, status (4) at the return, and pages (8) + nodes (4) again
 * as they were at the return when they had changed.
 */
#define MPT_DATA_BYTES_PER_ENTRY 36
#define MPT_DATA_MAX (MPT_ARRAY_CAP_MAX * MPT_DATA_BYTES_PER_ENTRY)

#define MPT_X32_SYSCALL_BIT 0x40000000
#define MPT_NR_MOVE_PAGES_X32_OLD 533 /* x32's own entry for move_pages before 5.11 */

#include "events.h"

enum mpt_record_type {
#define MPT_REC_ENUM(id, type, name, nr64, nr32) MPT_REC_##id = type,
	MPT_EVENTS(MPT_REC_ENUM)
#undef MPT_REC_ENUM
};

/*
 * Record types that are not syscall events: what the process tracker sees
 * (struct mpt_proc_event). Never reused, as the events' are not.
 */
#define MPT_REC_PROCESS 3
/* A process's calls over its fair share, summed (struct mpt_flood_event). */
#define MPT_REC_FLOOD 4

/* Each event's syscall numbers: MPT_NR_<ID>_64 (native and x32 gates), MPT_NR_<ID>_IA32. */
enum mpt_syscall_nr {
#define MPT_NR_ENUM(id, type, name, nr64, nr32) MPT_NR_##id##_64 = nr64, MPT_NR_##id##_IA32 = nr32,
	MPT_EVENTS(MPT_NR_ENUM)
#undef MPT_NR_ENUM
};

/* What happened to one user array; the array's data is valid only for MPT_ARRAY_OK. */
enum mpt_array_state {
	MPT_ARRAY_OK = 0,
	MPT_ARRAY_NULL = 1,	  /* the pointer argument was NULL */
	MPT_ARRAY_FAULT = 2,	  /* bpf_probe_read_user() failed: unmapped or unreadable */
	MPT_ARRAY_NOT_FILLED = 3, /* status[]: the call failed, the kernel did not write it */
	MPT_ARRAY_NO_RETURN = 4,  /* status[]: the return was not seen, so it was not read */
	/*
	 * status[] of a call that failed part way (ENODEV, EACCES, EFAULT,
	 * ENOMEM): the entries before the element that failed hold what the
	 * kernel wrote, the rest what the caller left there. Data as for OK.
	 */
	MPT_ARRAY_PARTIAL = 5,
	/*
	 * pages[], nodes[]: unreadable at the entry (a page not present, which
	 * the kernel faults in and a BPF read cannot), read at the return. Data
	 * as for OK; not compared for a change during the call.
	 */
	MPT_ARRAY_AT_RETURN = 6,
};

/*
 * Which syscall gate the call came through. Pointers in pages[] are 8 bytes
 * for the native ABI and 4 bytes (compat_uptr_t) for ia32 and x32; every
 * argument of an ia32 call is 32 bits wide.
 */
#define MPT_ABIS(X)                                                                                \
	X(X86_64, "x86_64", 8)                                                                     \
	X(IA32, "ia32", 4)                                                                         \
	X(X32, "x32", 4)

enum mpt_abi {
#define MPT_ABI_ENUM(id, name, ptr) MPT_ABI_##id,
	MPT_ABIS(MPT_ABI_ENUM)
#undef MPT_ABI_ENUM
	    MPT_ABI_NR,
};

/* Was the call's return seen? Everything but SEEN is a record made from the entry alone. */
#define MPT_RET_STATES(X)                                                                          \
	X(SEEN, "", "")                                                                            \
	X(MISSED, "missed", "the thread entered again or exited without its return being seen")    \
	X(UNFINISHED, "unfinished", "still inside the call when tracing stopped")                  \
	X(UNTRACKED, "untracked", "more calls in flight than --max-inflight: reported at entry")

enum mpt_ret_state {
#define MPT_RET_ENUM(id, name, desc) MPT_RET_##id,
	MPT_RET_STATES(MPT_RET_ENUM)
#undef MPT_RET_ENUM
	    MPT_RET_NR,
};

/*
 * Where a record was made. A call whose entry was not seen (the kernel
 * skipped the hook, or the call began before tracing did) is reported from
 * its return, its arguments taken from the caller's registers and its
 * arrays read then; a call refused before it ran (a seccomp filter) passes
 * only the return hook, and is reported from there the same way.
 */
#define MPT_ORIGINS(X)                                                                             \
	X(ENTRY, "", "")                                                                           \
	X(RETURN, "return", "its entry was not seen: arguments and arrays as at its return")       \
	X(REFUSED, "seccomp", "refused by the caller's seccomp filter before it ran")

enum mpt_origin {
#define MPT_ORIGIN_ENUM(id, name, desc) MPT_ORIGIN_##id,
	MPT_ORIGINS(MPT_ORIGIN_ENUM)
#undef MPT_ORIGIN_ENUM
	    MPT_ORIGIN_NR,
};

/*
 * Loss counters, one per-CPU slot each. Every move_pages call the filters
 * accept ends up either as a record (EVENTS) or in exactly one loss counter.
 */
#define MPT_STATS(X)                                                                               \
	X(EVENTS, "events", "records written to the ring buffer")                                  \
	X(RINGBUF_FULL, "ringbuf_full", "ring buffer full: record dropped")                        \
	X(NO_ENTRY, "no_entry",                                                                    \
	  "return seen without its entry (call began before attach, "                              \
	  "or its entry state was evicted)")                                                       \
	X(ENTRY_FAILED, "entry_failed", "per-thread entry state could not be stored")              \
	X(EXIT_MISSED, "exit_missed",                                                              \
	  "a thread entered again while its previous call's "                                      \
	  "return was never seen (a missed kretprobe, or fexit "                                   \
	  "skipped by a BPF trampoline update)")

enum mpt_stat {
#define MPT_STAT_ENUM(id, name, desc) MPT_STAT_##id,
	MPT_STATS(MPT_STAT_ENUM)
#undef MPT_STAT_ENUM
	    MPT_STAT_NR,
};

/* Who made the call, sampled at syscall entry. */
struct mpt_task {
	__u32 host_tgid;
	__u32 host_tid;
	__u32 host_ptgid;
	__u32 ns_tgid; /* as the caller's own pid namespace sees them */
	__u32 ns_tid;
	__u32 ns_ptgid; /* 0 when the parent is outside the caller's pid namespace */
	__u32 uid;
	__u32 gid;
	__u64 cgroup_id; /* cgroup v2 (default hierarchy) id: the cgroup dir's inode */
	__u64 start_ns;	 /* the process's start, CLOCK_BOOTTIME: tells a reused pid apart */
	__u32 mnt_ns;	 /* namespace inode numbers, as in /proc/PID/ns/{mnt,pid} */
	__u32 pid_ns;
	/*
	 * cpu was a __u32: a record made before cred and exe were kept has
	 * zero in both (MPT_CRED_KNOWN clear), and euid was padding.
	 */
	__u16 cpu;
	__u8 cred; /* MPT_CRED_*: the credentials the kernel's checks use */
	__u8 exe;  /* MPT_PROC_EXE_FILELESS, _DELETED: the executable at the call */
	__u32 euid;
	char comm[MPT_TASK_COMM_LEN];
};

/*
 * Bits of mpt_task.cred. move_pages and migrate_pages on another process
 * pass if the caller's real uid may ptrace it or it has CAP_SYS_PTRACE;
 * MPOL_MF_MOVE_ALL and nodes outside the target's cpuset need CAP_SYS_NICE.
 * A capability held in a user namespace other than the initial one does not
 * reach processes outside that namespace.
 */
#define MPT_CREDS(X)                                                                               \
	X(KNOWN, 0, NULL)                                                                          \
	X(CAP_SYS_NICE, 1, "CAP_SYS_NICE")                                                         \
	X(CAP_SYS_PTRACE, 2, "CAP_SYS_PTRACE")                                                     \
	X(CAP_SYS_ADMIN, 3, "CAP_SYS_ADMIN")                                                       \
	X(CHILD_USERNS, 4, NULL)                                                                   \
	X(FSUID_DIFFERS, 5, NULL)

enum mpt_cred_bits {
#define MPT_CRED_ENUM(id, bit, cap) MPT_CRED_##id = 1u << bit,
	MPT_CREDS(MPT_CRED_ENUM)
#undef MPT_CRED_ENUM
};

/*
 * What every syscall record starts with: which event it is, when and how
 * long, who called, through which gate, and what the call returned. The
 * fields are listed once here and spliced into each record (anonymously, so
 * ev->task reads as well as ev->hdr.task) and into struct mpt_rec_hdr, which
 * code common to every event uses.
 */
#define MPT_REC_HDR_FIELDS                                                                         \
	__u16 type;	  /* enum mpt_record_type */                                               \
	__u16 version;	  /* MPT_EVENT_VERSION */                                                  \
	__u32 size;	  /* header + payload + data bytes */                                      \
	__u64 ts_boot_ns; /* entry time, CLOCK_BOOTTIME */                                         \
	__u64 duration_ns;                                                                         \
	struct mpt_task task;                                                                      \
	__s64 ret;                                                                                 \
	__u8 abi;	/* enum mpt_abi */                                                         \
	__u8 ret_state; /* enum mpt_ret_state */                                                   \
	__u8 origin;	/* enum mpt_origin: where the record was made */                           \
	__u8 _hdr_pad;                                                                             \
	__u32 suid; /* saved uid: valid with MPT_CRED_KNOWN (padding before) */

struct mpt_rec_hdr {
	MPT_REC_HDR_FIELDS
};

#define MPT_REC_HDR                                                                                \
	union {                                                                                    \
		struct mpt_rec_hdr hdr;                                                            \
		struct {                                                                           \
			MPT_REC_HDR_FIELDS                                                         \
		};                                                                                 \
	}

/*
 * Whether the kernel's own view (every page move_pages migrates is remapped
 * in the caller's context and named by migrate:remove_migration_pte, or
 * thp:remove_migration_pmd for a transparent huge page) checked a call's recorded pages[], and
 * if not, why: X(id, name, what it means). UNKNOWN: a record made before
 * this was kept (its byte was padding, zero).
 */
#define MPT_KVIEWS(X)                                                                              \
	X(UNKNOWN, "unknown", "recorded before mptrace said")                                      \
	X(CHECKED, "checked",                                                                      \
	  "every page the kernel migrated was looked up in the recorded pages[] (nodes[] is "      \
	  "not checked: a node rewritten and restored is not seen)")                               \
	X(CHECKED_4K, "checked 4 KiB pages",                                                       \
	  "as checked, but a transparent huge page is not (no thp:remove_migration_pmd)")          \
	X(OFF, "off", "this kernel has no migrate:remove_migration_pte tracepoint (6.0+)")         \
	X(QUERY, "query", "nodes NULL: nothing is migrated, so nothing to check")                  \
	X(MOVE_ALL, "MOVE_ALL",                                                                    \
	  "MPOL_MF_MOVE_ALL remaps other processes' mappings too, at their own addresses: not "    \
	  "checked")                                                                               \
	X(NOT_WHOLE, "not whole", "count is past --array-cap: pages[] was not captured whole")     \
	X(NOT_READ, "not read",                                                                    \
	  "pages[] could not be read at the entry: nothing to check against")                      \
	X(NO_ENTRY, "no entry", "the call was seen only at its return")                            \
	X(NO_RETURN, "no return", "the return was not seen: the check may not have finished")

enum mpt_kview {
#define MPT_KVIEW_ENUM(id, name, desc) MPT_KVIEW_##id,
	MPT_KVIEWS(MPT_KVIEW_ENUM)
#undef MPT_KVIEW_ENUM
	    MPT_KVIEW_NR,
};

/*
 * Node masks are bitmaps of unsigned longs (32-bit ones for a compat
 * caller: the same bits in the same bytes on little-endian x86). The kernel
 * reads maxnode - 1 bits; a record keeps at most this many bytes of each,
 * enough for the 1024 nodes of Debian's MAX_NUMNODES (NODES_SHIFT 10).
 */
#define MPT_NODEMASK_BYTES_MAX 128

/*
 * A call of any event: one generic record for all of them, as their rows in
 * events/ describe them. The arguments as the kernel takes them (events.h:
 * enum mpt_arg_width), then a table of what was read behind the pointer
 * arguments, in the order the call fills them: the arrays read at the entry
 * in argument order, then for each array of pages (MPT_ARG_PTR_ARRAY) the
 * pages the kernel migrated that it does not hold (MPT_CAP_KERNEL), then
 * the arrays read at the return alone in argument order. data[] holds each
 * capture's bytes in table order, then the copies the return read of those
 * that changed (and could be read again), in the same order; a record is
 * only as long as what was captured.
 */
#define MPT_CAPTURES_MAX 4
/* A capture's arg for what the kernel did with argument i's array of pages: MPT_CAP_KERNEL | i. */
#define MPT_CAP_KERNEL 0x80
/* Data bytes of a record of node masks: each at the entry, and again at the return. */
#define MPT_CALL_DATA_MAX (2 * 2 * MPT_NODEMASK_BYTES_MAX)
struct mpt_capture {
	__u8 arg;   /* the argument it was read behind (or MPT_CAP_KERNEL | it) */
	__u8 state; /* enum mpt_array_state */
	/*
	 * Read again at the return and found different: the kernel reads an
	 * array element by element (a long mask's tail first), so a thread
	 * can rewrite it after the entry copied it and before the kernel
	 * reads it (the "Phantom" TOCTOU attack on syscall tracers).
	 */
	__u8 changed;
	__u8 exit_fault; /* ... or could not be read again at all */
	/*
	 * Bytes kept: of the entry's read (or the return's, for an array read
	 * then); a version 5 record had 16 bits and 16 of padding here.
	 */
	__u32 bytes;
};

struct mpt_call_event {
	MPT_REC_HDR;
	__u64 arg[6];
	__u8 ncaps;
	/* enum mpt_kview: was an array of pages checked against the kernel's own view? */
	__u8 kview;
	__u8 _pad[6];
	struct mpt_capture cap[MPT_CAPTURES_MAX];
	__u8 data[];
};

/*
 * Calls of one process over its fair share (--fair-rate, --fair-burst),
 * summed in the kernel instead of recorded one by one: a process that calls
 * faster than its budget cannot take the ring buffer from the others, and
 * what it did is still told. The header is the caller at the first call
 * summed, its entry time; duration_ns runs to the last call's entry. One
 * record per process, event and second or so (the loader collects them).
 */
struct mpt_flood_event {
	MPT_REC_HDR;
	__u16 event; /* enum mpt_record_type of the calls summed */
	__u16 _pad[3];
	__u64 calls;
	__u64 pages;   /* pages asked: move_pages' count, summed */
	__u64 targets; /* a bit per target pid, hashed: its bit count is a floor on distinct targets
			*/
	__u64 returns; /* calls whose return was seen */
	__u64 failures; /* ... and returned an error */
	__u64 last_ns;	/* the last call's entry (CLOCK_BOOTTIME) */
};

/* Processes whose budget is kept (LRU: one forgotten starts afresh). */
#define MPT_FAIR_PROCS 8192
/* Summaries one generation holds: past that, calls over budget are counted as lost. */
#define MPT_FLOOD_SUMS 4096
/* Processes whose ring-full losses are counted by name (LRU). */
#define MPT_LOST_PROCS 1024
/*
 * An in-flight slot's size while its thread is in a call that was summed
 * (its return adds to the summary), and once a call's return hook is done
 * (the raw sys_exit hook then knows the call ran). Any record is longer.
 */
#define MPT_SLOT_SUMMED 1
#define MPT_SLOT_RETURNED 2

/*
 * The process tracker (sched_process_fork/exec/exit): who every process is,
 * so that an event can name its executable, command line and ancestors even
 * after they are gone. Written for every process (not only the traced ones:
 * a traced caller's parent is rarely traced itself).
 */
enum mpt_proc_kind {
	MPT_PROC_FORK = 1, /* a new process (not a thread): it inherits its parent's image */
	MPT_PROC_EXEC = 2, /* a new image: executable path and command line */
	MPT_PROC_EXIT = 3, /* the last thread of the process exited */
};

/* Bits of mpt_proc_event.flags. */
#define MPT_PROC_PATH_TRUNCATED (1u << 0)
#define MPT_PROC_ARGV_TRUNCATED (1u << 1)
/* user space only: known from /proc, its start time to a clock tick (never in a kernel record) */
#define MPT_PROC_START_APPROX (1u << 2)
/* the executable is no file in any directory (a memfd): its path is the name it was given */
#define MPT_PROC_EXE_FILELESS (1u << 3)
/* the executable's file has no name left (unlinked or replaced after it was started) */
#define MPT_PROC_EXE_DELETED (1u << 4)
/* ptgid is the process that created this one, not its parent: clone(CLONE_PARENT) */
#define MPT_PROC_CREATOR (1u << 5)
/*
 * user space only: the path, looked up from the tracer's mount namespace,
 * names another file (or none): a bind mount, a chroot or another mount
 * namespace shows the process a different file there. Its inode and device
 * are the identity that holds.
 */
#define MPT_PROC_EXE_ELSEWHERE (1u << 6)
#define MPT_PROC_EXE_DOUBTED (MPT_PROC_EXE_FILELESS | MPT_PROC_EXE_DELETED | MPT_PROC_EXE_ELSEWHERE)

/* Bytes of the executable's path and of the command line a record keeps. */
#define MPT_PROC_PATH_MAX 512
#define MPT_PROC_ARGV_MAX 512

struct mpt_proc_event {
	__u16 type; /* MPT_REC_PROCESS */
	__u16 version;
	__u32 size; /* header + path + argv */
	__u64 ts_boot_ns;
	__u64 start_ns;	 /* the process's start (CLOCK_BOOTTIME): with tgid, who it is */
	__u64 pstart_ns; /* its parent's, likewise */
	__u64 exe_ino;	 /* the executable's inode and device (kernel dev_t); 0 unknown */
	__u32 exe_dev;
	__u32 tgid; /* host pids */
	__u32 ptgid;
	__u32 ns_tgid; /* as its own pid namespace sees it */
	__u8 kind;     /* enum mpt_proc_kind */
	__u8 flags;    /* MPT_PROC_*_TRUNCATED */
	__u16 path_len;
	__u16 argv_len; /* argv, each argument NUL-terminated, as the kernel keeps them */
	__u16 _pad;
	/* what names it as the target of another's call: its pid namespace, uid, cgroup */
	__u32 pid_ns; /* the namespace ns_tgid is in (inode number) */
	__u32 uid;    /* real uid */
	__u64 cgroup_id;
	char comm[MPT_TASK_COMM_LEN];
	__u8 data[]; /* path (no NUL), then argv */
};

/*
 * Everything a return adds, cleared, and why there is none: at entry
 * (MPT_RET_SEEN, until the return fills it in) and for a call reported from
 * its entry alone. The kernel side and the loader both use them: the header's
 * part for every event, and move_pages' arrays read at the return.
 */
static inline __attribute__((always_inline)) void mpt_hdr_clear_return(struct mpt_rec_hdr *h,
								       __u8 ret_state)
{
	h->ret_state = ret_state;
	h->duration_ns = 0;
}

_Static_assert(sizeof(struct mpt_task) == 80, "mpt_task layout changed");
_Static_assert(sizeof(struct mpt_rec_hdr) == 120, "mpt_rec_hdr layout changed");
_Static_assert(__builtin_offsetof(struct mpt_rec_hdr, suid) == 116, "mpt_rec_hdr.suid moved");
_Static_assert(__builtin_offsetof(struct mpt_task, euid) == 60, "mpt_task.euid moved");
_Static_assert(__builtin_offsetof(struct mpt_rec_hdr, task) == 24, "mpt_rec_hdr.task moved");
_Static_assert(__builtin_offsetof(struct mpt_rec_hdr, ret) == 104, "mpt_rec_hdr.ret moved");
_Static_assert(__builtin_offsetof(struct mpt_call_event, task) ==
		   __builtin_offsetof(struct mpt_rec_hdr, task),
	       "records start with the common header");
_Static_assert(sizeof(struct mpt_flood_event) == 176, "mpt_flood_event layout changed");
_Static_assert(sizeof(struct mpt_capture) == 8, "mpt_capture layout changed");
_Static_assert(sizeof(struct mpt_call_event) == 208, "mpt_call_event layout changed");
_Static_assert(__builtin_offsetof(struct mpt_call_event, data) % 8 == 0,
	       "mpt_call_event.data must keep pages[] 8-byte aligned");

_Static_assert(MPT_ARRAY_CAP_MAX <= 0xffff, "array counts are __u16");
_Static_assert(sizeof(struct mpt_proc_event) == 96, "mpt_proc_event layout changed");
_Static_assert(__builtin_offsetof(struct mpt_proc_event, ts_boot_ns) ==
		   __builtin_offsetof(struct mpt_rec_hdr, ts_boot_ns),
	       "every record starts with type, version, size and its time");

#endif /* MPTRACE_EVENT_H */
