/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Turning raw ring-buffer records into something the formatters can trust. */
#ifndef MPTRACE_DECODE_H
#define MPTRACE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "events.h"
#include "decode/process.h"
#include "mptrace_event.h"
#include "mptrace_filter.h"
#include "util/strbuf.h"

/* What a container runtime says of a record's container (context/runtime.h). */
/* Bytes kept of one name, image or namespace; of all labels together. */
#define MPT_CTR_STR_MAX 256
#define MPT_CTR_LABELS_MAX 1024
/* Labels kept at most, and the state files read at most (a hostile one is bigger). */
#define MPT_CTR_LABELS_N 16
#define MPT_CTR_FILE_MAX (4u << 20)

/* Is the container id of a record the runtime's? */
#define MPT_CTR_VERIFY(X)                                                                          \
	X(UNCHECKED, 0, "unchecked") /* not a container, or a record of a capture before 1.4 */    \
	X(VERIFIED, 1, "verified")   /* the runtime has this id at this cgroup */                  \
	X(UNKNOWN, 2, "unknown")     /* no runtime on this host has this id */                     \
	X(ELSEWHERE, 3, "elsewhere") /* the runtime has this id, at another cgroup */

enum mpt_ctr_verify {
#define MPT_CTR_VERIFY_ENUM(id, v, name) MPT_CTR_##id = v,
	MPT_CTR_VERIFY(MPT_CTR_VERIFY_ENUM)
#undef MPT_CTR_VERIFY_ENUM
	    MPT_CTR_VERIFY_NR
};

/*
 * Strings are "" when the runtime does not say; control characters are
 * replaced by '?' and each is cut (at a character) to fit.
 */
struct mpt_ctr_meta {
	uint8_t verify; /* enum mpt_ctr_verify */
	char name[MPT_CTR_STR_MAX];
	char image[MPT_CTR_STR_MAX];	    /* as the user named it: "localhost/app:1" */
	char image_id[MPT_CTR_STR_MAX];	    /* "sha256:<config digest>" */
	char image_digest[MPT_CTR_STR_MAX]; /* "sha256:<manifest digest>" */
	char pod_name[MPT_CTR_STR_MAX];
	char pod_namespace[MPT_CTR_STR_MAX];
	char pod_uid[MPT_CTR_STR_MAX];
	char labels[MPT_CTR_LABELS_MAX]; /* "key=value\n" each, sorted by key */
};

/*
 * The process another's call names by its pid argument, as the process
 * tracker knew it at the call: right even when it exits just after, and
 * never a later process that reused the pid (the tracker reads exits in
 * order with the calls).
 */
struct mpt_target {
	int32_t pid;	   /* the argument, in the caller's pid namespace */
	bool resolved;	   /* else only pid: a thread id, a namespace below the caller's */
	bool cgroup_known; /* its cgroup's path was found: container_id "" is the host */
	uint32_t host_tgid;
	uint64_t start_ns; /* boot clock */
	uint32_t uid;
	uint64_t cgroup_id;
	uint8_t container_verify; /* enum mpt_ctr_verify of the container below */
	char comm[MPT_TASK_COMM_LEN + 1];
	char exe[MPT_PROC_PATH_MAX + 1];
	char container_id[MPT_CONTAINER_ID_LEN + 1];
	char container_name[MPT_CTR_STR_MAX]; /* verified containers only */
};

/*
 * What the user side adds to a record: looked up on the live system while
 * tracing, read back from the capture when replaying. Empty strings when
 * unknown (a cgroup or process already gone) or not applicable (host).
 */
struct mpt_enrich {
	const char *cgroup_path; /* relative to the cgroup v2 root, "/a/b" */
	const char *exe_path;
	const char *container_id; /* 64 hex digits */
	const char *container_runtime;
	const char *pod_uid;
	/* the caller's executable, command line and ancestors; NULL: not known */
	const struct mpt_lineage_view *lineage;
	/* what the runtime says of the container; NULL: none (a host process, an older record) */
	const struct mpt_ctr_meta *ctr_meta;
	/* the other process the call names; NULL: none (itself, a summary, an older record) */
	const struct mpt_target *target;
};

/*
 * A move_pages record of version 4 or 5, from older captures and streams:
 * lifted into the generic record (struct mpt_call_event) to be read. Its
 * data[] holds, where P is __u64, or __u32 for a compat ABI:
 *   P pages[pages_n]; __s32 nodes[nodes_n];
 *   __u64 kernel_other[kernel_other_n]; __s32 status[status_n];
 *   P pages_at_exit[pages_n];   only if MPT_CHANGED_PAGES and pages_exit_state is OK
 *   __s32 nodes_at_exit[nodes_n]; only if MPT_CHANGED_NODES and nodes_exit_state is OK
 * the generic record's data in its table's order.
 */
#define MPT_CHANGED_PAGES (1u << 0)
#define MPT_CHANGED_NODES (1u << 1)
struct mpt_event {
	MPT_REC_HDR;
	__s32 pid;
	__s32 flags;
	__u64 count;
	__u64 pages;
	__u64 nodes;
	__u64 status;
	__u16 pages_n;
	__u16 nodes_n;
	__u16 status_n;
	__u8 pages_state; /* enum mpt_array_state */
	__u8 nodes_state;
	__u8 status_state;
	__u8 changed;	       /* MPT_CHANGED_*: re-read at the return, found different */
	__u8 pages_exit_state; /* enum mpt_array_state of that re-read (OK when not changed) */
	__u8 nodes_exit_state;
	__u16 kernel_other_n; /* pages the kernel migrated that pages[] does not hold */
	__u8 kview;	      /* enum mpt_kview */
	__u8 _pad;
	__u8 data[];
};
_Static_assert(sizeof(struct mpt_event) == 176, "the version 4 layout is fixed");

/*
 * A version 3 (or 2) move_pages record: the same fields as version 4, but
 * abi and ret_state sat among the payload's, and the header was 168 bytes.
 */
struct mpt_event_v3 {
	__u16 type, version;
	__u32 size;
	__u64 ts_boot_ns, duration_ns;
	struct mpt_task task;
	__s64 ret;
	__s32 pid, flags;
	__u64 count, pages, nodes, status;
	__u16 pages_n, nodes_n, status_n;
	__u8 pages_state, nodes_state, status_state, abi, changed, pages_exit_state,
	    nodes_exit_state, ret_state;
	__u16 kernel_other_n;
	__u8 data[];
};
_Static_assert(sizeof(struct mpt_event_v3) == 168, "the version 3 layout is fixed");

/*
 * A version 4 migrate_pages record, lifted into the generic record to be
 * read. data[] holds old_nodes' bytes, new_nodes', then the copies the
 * return made of those that changed (MPT_MG_V4_CHANGED_*) and could be read
 * again (not in exit_fault), in that order.
 */
#define MPT_MG_V4_CHANGED_OLD (1u << 0)
#define MPT_MG_V4_CHANGED_NEW (1u << 1)
struct mpt_migrate_event_v4 {
	MPT_REC_HDR;
	__s32 pid;
	__u32 _pad;
	__u64 maxnode, old_nodes, new_nodes;
	__u16 old_bytes, new_bytes;
	__u8 old_state, new_state, changed, exit_fault;
	__u8 data[];
};
_Static_assert(sizeof(struct mpt_migrate_event_v4) == 160, "the version 4 layout is fixed");

/* One argument of an event, as events/ describes it. */
struct mpt_arg_desc {
	const char *name;
	const char *ctype;
	const char *tags;
	enum mpt_arg_kind kind;
	int len_arg; /* the argument that gives an array's length; MPT_NO_LEN */
	enum mpt_arg_when when;
	enum mpt_arg_width width;
	enum mpt_arg_role role;
};

struct mpt_flag_name {
	const char *name;
	uint32_t value;
};

/* One event: its record type, name and arguments (events/events.h). */
struct mpt_event_desc {
	uint16_t type;
	const char *name;
	unsigned int nargs;
	const struct mpt_arg_desc *args;
	const struct mpt_flag_name *flags; /* for MPT_ARG_FLAGS */
	unsigned int nflags;
	const char *flags_prefix; /* strace's name for unknown bits: "MPOL_" -> MPOL_??? */
};

/* Every event, in events/events.h order; NULL past the end. */
const struct mpt_event_desc *mpt_event_desc_at(unsigned int i);
/*
 * The descriptor of record type @type, a syscall's or a summary's; the
 * syscall of record type @type or of name @name. NULL when there is none.
 */
const struct mpt_event_desc *mpt_event_desc_of(uint16_t type);
const struct mpt_event_desc *mpt_syscall_desc_of(uint16_t type);
const struct mpt_event_desc *mpt_event_desc_named(const char *name);
#define MPT_EVENT_NR 5

/* One argument of a record, decoded: its value and what was read behind it. */
struct mpt_arg_view {
	uint64_t value; /* as passed; an int sign-extended */
	/* pointer arguments: */
	uint8_t state;		   /* enum mpt_array_state; data only for MPT_ARRAY_OK */
	unsigned int n;		   /* entries captured (bytes, for a node mask) */
	const unsigned char *data; /* maybe unaligned */
	bool truncated;		   /* the call passed more than the cap let through */
	bool partial;	/* status[] of a call that failed part way: written up to the failure */
	bool at_return; /* unreadable at the entry (not present), read at the return */
	uint8_t kview;	/* pages[] only: enum mpt_kview; 0 (unknown) for older records */
	uint64_t bits;	/* node masks: bits the kernel reads (maxnode - 1) */
	/* MPT_READ_BOTH, the return seen and something captured: read again then */
	bool reread;
	bool changed;			/* ... and found different */
	uint8_t exit_state;		/* of that re-read */
	const unsigned char *exit_data; /* what it found, when it changed and was readable */
	/* pages[] only: pages the kernel migrated that the captured array does not hold */
	unsigned int kernel_other_n;
	const unsigned char *kernel_other;
};

/*
 * What an older record is lifted into: the generic record's header, and its
 * data too when that had to move (a migrate_pages record of version 4).
 */
#define MPT_LIFTED_MAX (sizeof(struct mpt_call_event) + MPT_CALL_DATA_MAX)

/* A validated record: every count agrees with the record's length. */
struct mpt_view {
	const struct mpt_rec_hdr *hdr;	     /* every event */
	const struct mpt_event_desc *desc;   /* which event, its arguments */
	const struct mpt_call_event *call;   /* a call (the generic record); NULL for a summary */
	const struct mpt_flood_event *flood; /* a flood summary only, else NULL */
	const void *raw;		     /* the record as it was read, to be written again */
	uint32_t raw_size;
	const struct mpt_enrich *enrich; /* NULL: nothing known beyond the record */
	unsigned int ptr_bytes;		 /* 8, or 4 for a compat call's pointers */
	/*
	 * JSON's lean form: what is the same for every call of the process or
	 * the event (the caller's executable, command line and start, argument
	 * types, empty and false fields) left to the records and descriptions.
	 */
	bool lean;
	struct mpt_arg_view arg[MPT_ARGS_MAX];
	/*
	 * An older record lifted into today's layout: the generic record's
	 * header (and a migrate_pages record of version 4's data); hdr and the
	 * record's pointer then point here. A copy of the view is good only
	 * while this one lives.
	 */
	_Alignas(8) unsigned char lifted[MPT_LIFTED_MAX];
};

/*
 * @src's view into @dst, without the lifted copy: @src's pointers still
 * point into @src's, so @dst is good while @src lives, and per event the
 * copy stays a few hundred bytes.
 */
static inline void mpt_view_copy(struct mpt_view *dst, const struct mpt_view *src)
{
	memcpy(dst, src, offsetof(struct mpt_view, lifted));
}

/* The syscall a record tells of: its own, or for a summary the one it sums. */
const char *mpt_view_syscall(const struct mpt_view *v);
/* ... as its index in events/events.h order (mpt_event_desc_at); -1 if unknown. */
int mpt_view_event_index(const struct mpt_view *v);

/* Bytes of one pointer in pages[] for @abi (8 or 4). */
unsigned int mpt_abi_ptr_bytes(uint8_t abi);
/* enum mpt_kview's name ("checked", "not whole", ...) and meaning; "?" past the end. */
const char *mpt_kview_name(uint8_t kview);
const char *mpt_kview_desc(uint8_t kview);
/* "x86_64", "ia32", "x32"; "?" for anything else. */
const char *mpt_abi_name(uint8_t abi);
/* Why a record has no return: "missed", ... and a sentence ("" when it has one). */
const char *mpt_ret_state_name(uint8_t ret_state);
const char *mpt_ret_state_desc(uint8_t ret_state);
/* Where a record was made (enum mpt_origin), as a sentence; "" for a call's entry. */
const char *mpt_origin_desc(uint8_t origin);
/* The size of one in-flight slot (a record of any event, every array full) for @cap entries. */
uint32_t mpt_slot_bytes(uint32_t cap);
/* Bytes of what a call's entry captured (a record with no return has just this). */
size_t mpt_entry_bytes(const struct mpt_rec_hdr *h);
/* Reset @h to a call with no return (@ret_state says why); its size, what the entry captured. */
void mpt_rec_clear_return(struct mpt_rec_hdr *h, uint8_t ret_state);

/*
 * Check a record read from the ring buffer (or, later, from a file) and set
 * up @v. Returns 0, or -EINVAL with a reason in @why when it is malformed.
 */
int mpt_event_parse(const void *buf, size_t len, struct mpt_view *v, const char **why);
/* Check a process record (MPT_REC_PROCESS): 0, or -EINVAL with a reason in @why. */
int mpt_proc_parse(const void *buf, size_t len, const char **why);

/* Entry @i of an array at @base: one of the caller's pointers (its ABI's width), an int, a u64. */
uint64_t mpt_ptr_item(const struct mpt_view *v, const unsigned char *base, unsigned int i);
int32_t mpt_s32_item(const unsigned char *base, unsigned int i);
uint64_t mpt_u64_item(const unsigned char *base, unsigned int i);

/*
 * Entry @i of the array of role @role (events/events.h: pages, their nodes,
 * their status): as the entry read it, or as the return read it again (only
 * when it changed and could be read; exit_data).
 */
uint64_t mpt_view_page(const struct mpt_view *v, unsigned int i);
int32_t mpt_view_node(const struct mpt_view *v, unsigned int i);
int32_t mpt_view_status(const struct mpt_view *v, unsigned int i);
uint64_t mpt_view_page_exit(const struct mpt_view *v, unsigned int i);
int32_t mpt_view_node_exit(const struct mpt_view *v, unsigned int i);
/* The i-th page the kernel migrated that the recorded pages[] does not hold. */
uint64_t mpt_view_kernel_other(const struct mpt_view *v, unsigned int i);

/*
 * "MPOL_MF_MOVE|MPOL_MF_MOVE_ALL" from @d's flag table, unknown bits as hex,
 * "0" for none. An int's flags are its 32 bits (mpt_arg_value).
 */
void mpt_flags_str(struct strbuf *sb, const struct mpt_event_desc *d, uint64_t flags);
/* Argument @i of @v as its width says the kernel takes it: an int's low 32 bits, unsigned. */
uint64_t mpt_arg_bits(const struct mpt_view *v, unsigned int i);
/* Is node @node in the captured part of node-mask argument @a (only bits the kernel reads)? */
bool mpt_mask_has(const struct mpt_arg_view *a, uint64_t node);
/* The nodes of @a that mpt_mask_has can answer for: bits read, within what was captured. */
uint64_t mpt_mask_span(const struct mpt_arg_view *a);

/* The index of @d's argument of role @role (events/events.h); -1 when it has none. */
int mpt_desc_role_arg(const struct mpt_event_desc *d, enum mpt_arg_role role);
/* @v's argument of role @role; NULL when its event has none (and for a summary). */
const struct mpt_arg_view *mpt_view_role(const struct mpt_view *v, enum mpt_arg_role role);
/* ... its value, or @none then. */
uint64_t mpt_view_role_value(const struct mpt_view *v, enum mpt_arg_role role, uint64_t none);
/*
 * The process @v acts on, as its target pid argument names it: 0 (the
 * caller) for an event that has none, and for a summary.
 */
int32_t mpt_view_target_pid(const struct mpt_view *v);
/* ... when it names another process than the caller (not 0, not its own pid or tid). */
bool mpt_view_other_pid(const struct mpt_view *v, int32_t *pid);
/* "MPOL_BIND|MPOL_F_STATIC_NODES": a memory policy mode and its flags (events/mempolicy.h). */
void mpt_mode_str(struct strbuf *sb, int32_t mode);
/* "verified", ...; "?" past the end. */
const char *mpt_ctr_verify_name(uint8_t verify);

/* "EINVAL" for 22; NULL when the number has no name. */
const char *mpt_errno_name(int err);
/* "Invalid argument" for 22; never NULL. */
const char *mpt_errno_desc(int err);

/* Why an array has no data: "NULL", "EFAULT", ...; NULL for MPT_ARRAY_OK. */
const char *mpt_array_state_reason(uint8_t state);

#endif
