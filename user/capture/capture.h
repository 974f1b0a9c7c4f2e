/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The capture file: a durable, self-describing, tamper-evident record of a
 * trace, and its reader. The format is documented in docs/capture-format.md;
 * the constants below are the ones that document names.
 */
#ifndef MPTRACE_CAPTURE_H
#define MPTRACE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "decode/decode.h"
#include "mptrace_event.h"

#define MPT_CAP_MAGIC "MPTCAP\r\n"
#define MPT_CAP_MAGIC_LEN 8
#define MPT_CAP_MAJOR 1
#define MPT_CAP_MINOR 4
#define MPT_CAP_PREAMBLE_SIZE 16
#define MPT_CAP_REC_HDR_SIZE 12
/* No record is larger: a length beyond it is damage, never an allocation. */
#define MPT_CAP_MAX_PAYLOAD (1u << 20)
#define MPT_CAP_HASH_LEN 32
/*
 * Records between two chain records, at most: a reader holds a block until
 * its chain record vouches for it, so this bounds a reader's memory.
 */
#define MPT_CAP_MAX_BLOCK (8u << 20)

enum mpt_cap_rec_type {
	MPT_CAP_REC_HEADER = 1,	 /* JSON: host, kernel, settings, the event's argument table */
	MPT_CAP_REC_EVENT = 2,	 /* one kernel record plus what the user side added */
	MPT_CAP_REC_DROP = 3,	 /* calls lost, by cause, over a time range */
	MPT_CAP_REC_CHAIN = 4,	 /* SHA-256 over the previous chain and the bytes since */
	MPT_CAP_REC_END = 5,	 /* clean close: this file's counts */
	MPT_CAP_REC_CLOCK = 6,	 /* the wall clock stepped: records after it use a new offset */
	MPT_CAP_REC_PROCESS = 7, /* 1.2: a process an event names, before the first that does */
};

/* Drop causes: the kernel's loss counters (enum mpt_stat), then the user side's. */
#define MPT_CAP_DROP_UNFINISHED MPT_STAT_NR
#define MPT_CAP_DROP_MALFORMED (MPT_STAT_NR + 1)
#define MPT_CAP_DROP_OUTPUT (MPT_STAT_NR + 2)	/* the log's disk refused them */
#define MPT_CAP_DROP_CAPTURE (MPT_STAT_NR + 3)	/* the capture's disk refused them */
#define MPT_CAP_DROP_UNREAD (MPT_STAT_NR + 4)	/* in the ring when the stop's time ran out */
#define MPT_CAP_DROP_UNSUMMED (MPT_STAT_NR + 5) /* over a fair share, no room to sum them */
#define MPT_CAP_DROP_SKIPPED (MPT_STAT_NR + 6)	/* both hooks skipped by the kernel (recursion) */
#define MPT_CAP_DROP_KPROBE (MPT_STAT_NR + 7)	/* entries the kernel's kprobes missed */
#define MPT_CAP_DROP_NR (MPT_STAT_NR + 8)

/*
 * The graver of two outcomes (enum mpt_cap_status, or 1 for any failure):
 * by number, but an edit is graver than a broken set, which a tampered file
 * checked with the rest of its set also shows.
 */
int mpt_cap_graver(int a, int b);

/* "ringbuf_full", "unfinished", ...: a drop cause's name, "unknown cause" past the list. */
const char *mpt_cap_drop_cause(uint32_t cause);

/* Exit codes of replay, verify and capture-info: each kind of bad input has its own. */
enum mpt_cap_status {
	MPT_CAP_OK = 0,
	MPT_CAP_EIO = 1,       /* could not read the file */
	MPT_CAP_ENOTCAP = 3,   /* not a capture: wrong magic */
	MPT_CAP_EVERSION = 4,  /* a newer major version than this mptrace reads */
	MPT_CAP_EDAMAGED = 5,  /* bad checksum, impossible length, torn or unclosed tail */
	MPT_CAP_ETAMPERED = 6, /* checksums fine but the hash chain breaks: edited */
	MPT_CAP_ESET = 7,      /* a rotated set with a file missing, repeated, renamed or swapped */
};

/* What the header says; strings owned by the reader or writer. */
struct mpt_cap_meta {
	const char *mptrace_version;
	const char *hostname;
	const char *kernel;
	const char *boot_id;
	int64_t boot_to_wall_ns;
	const char *attach_mode;
	uint32_t array_cap;
	const char *command_line; /* how the capture was made: the settings and filters */
	uint32_t file_seq;	  /* index in a rotated set, from 0, never reused */
	uint64_t created_ns;	  /* wall clock */
	/* set by the writer: how the file links to the rest of its set */
	const char *set_id;	    /* the same in every file of a set, across restarts */
	int64_t prev_file_seq;	    /* -1: the first file of its set */
	const char *prev_file_hash; /* that file's last chain hash, hex; "" for the first */
	uint32_t ring_files;	    /* --capture-files: older files are meant to be gone */
};

struct mpt_cap_writer_opts {
	const char *path;
	uint64_t max_bytes; /* rotate after this many bytes; 0: never */
	uint32_t max_files; /* ring of this many files (path.0, path.1, ...); 0: keep all */
	bool sync;	    /* fdatasync every flush */
	bool group_read;    /* 0640: an unprivileged shipper in the group reads it */
	void (*say)(const char *msg); /* one line per outage and recovery */
};

struct mpt_cap_writer;

/*
 * Never overwrites: a single file must not exist yet (O_EXCL, O_NOFOLLOW);
 * a rotated set (max_bytes) is locked against a second writer and continued
 * after its newest file, chained to it. Returns 0 or -errno, @err saying why.
 */
int mpt_cap_writer_open(const struct mpt_cap_writer_opts *o, const struct mpt_cap_meta *meta,
			struct mpt_cap_writer **w, char *err, size_t len);
/*
 * Buffered; call mpt_cap_flush on a timer. Nothing here stops the trace: what
 * the disk refuses is counted (mpt_cap_writer_lost) and becomes a drop record
 * once writing works again; the file is cut back to its last whole block.
 * Returns 0 or the errno of the current outage, negated.
 */
int mpt_cap_write_event(struct mpt_cap_writer *w, const struct mpt_view *v);
/* @tgid: the process (host pid) whose calls these were, 0 when not known */
int mpt_cap_write_drop(struct mpt_cap_writer *w, uint32_t cause, uint32_t tgid, uint64_t count,
		       uint64_t ts_first, uint64_t ts_last);
/* From @boot_ns on, wall time is boot time + @boot_to_wall_ns. */
int mpt_cap_write_clock(struct mpt_cap_writer *w, uint64_t boot_ns, int64_t boot_to_wall_ns);
/* One hash-chain block and one write (plus fdatasync with sync); rotates when due. */
int mpt_cap_flush(struct mpt_cap_writer *w);
/* Bytes written and files created since open (0 for NULL). */
void mpt_cap_writer_counts(const struct mpt_cap_writer *w, uint64_t *bytes, uint64_t *files);
/* Events the disk refused, in all. */
uint64_t mpt_cap_writer_lost(const struct mpt_cap_writer *w);
/* Remove what open created (nothing was traced into it): for a start that failed later. */
void mpt_cap_writer_discard(struct mpt_cap_writer *w);
/*
 * END record, last chain block, close. Returns 0, or -errno when the end could
 * not be written or events were lost; frees @w either way. @head (65 bytes,
 * may be NULL) gets the final chain hash, hex; @lost (may be NULL) the events
 * the disk refused over the whole run.
 */
int mpt_cap_writer_close(struct mpt_cap_writer *w, char *head, uint64_t *lost);
/* The newest chain hash, hex: an anchor to keep elsewhere. */
const char *mpt_cap_chain_head(const struct mpt_cap_writer *w);
/* Why the last call failed. */
const char *mpt_cap_writer_error(const struct mpt_cap_writer *w);

/* One item read back. */
struct mpt_cap_item {
	uint16_t type;
	uint64_t offset; /* of the record in the file */
	uint32_t size;	 /* of the whole record, header included */
	/* MPT_CAP_REC_EVENT */
	struct mpt_view view;
	struct mpt_enrich enrich;
	/* the EVENT payload as the file holds it (no lineage): what a batch ships */
	const unsigned char *payload;
	uint32_t payload_len;
	/* MPT_CAP_REC_DROP */
	uint32_t drop_cause;
	uint32_t drop_tgid; /* 1.3: whose calls (host pid); 0 not known */
	uint64_t drop_count, drop_first_ns, drop_last_ns;
	/* MPT_CAP_REC_CLOCK */
	uint64_t clock_boot_ns;
	int64_t clock_boot_to_wall_ns;
};

struct mpt_cap_counts {
	uint64_t records, events, drop_records, dropped, unknown, chain_blocks;
	uint64_t processes;	    /* PROCESS records (1.2) */
	uint64_t first_ns, last_ns; /* event entry times, boot clock */
	bool ended;		    /* END record and its chain block seen */
	uint64_t clock_steps;
};

struct mpt_cap_reader;

/* A reader's stdio buffer: records are small, and a page a read is a syscall each few. */
#define MPT_CAP_READ_BUFFER (64u << 10)
/*
 * @f, not yet read, read through a buffer of that size (glibc's setvbuf
 * takes a size only with a buffer). Returns it, for the caller to free
 * after fclose(@f); NULL: stdio's own buffer is used.
 */
char *mpt_cap_read_buffer(FILE *f);
/*
 * Read the preamble and header. Returns an mpt_cap_status; @err says why.
 * From the first mpt_cap_next() until mpt_cap_reader_free(), @f is the
 * reader's: a regular file not followed is read ahead by a thread of its own.
 */
int mpt_cap_reader_open(FILE *f, struct mpt_cap_reader **r, char *err, size_t len);
/*
 * The next event, drop or clock step: 1 with @it filled (valid until the next
 * call), 0 at a clean end, or a negative mpt_cap_status with
 * mpt_cap_reader_error() saying what and where. Nothing is returned before
 * the chain record that covers it has been checked. With @follow, waits at
 * the end of a file not yet closed.
 */
int mpt_cap_next(struct mpt_cap_reader *r, struct mpt_cap_item *it);
const struct mpt_cap_meta *mpt_cap_reader_meta(const struct mpt_cap_reader *r);
const struct mpt_cap_counts *mpt_cap_reader_counts(const struct mpt_cap_reader *r);
const char *mpt_cap_reader_error(const struct mpt_cap_reader *r);
/* Wait and retry at the end of the data instead of reporting a torn tail; before reading. */
void mpt_cap_reader_follow(struct mpt_cap_reader *r, volatile int *stop);
/* The same, and at each wait @keep_waiting says whether to go on (a newer file appeared). */
void mpt_cap_reader_follow_while(struct mpt_cap_reader *r, volatile int *stop,
				 bool (*keep_waiting)(void *ctx), void *ctx);
void mpt_cap_reader_free(struct mpt_cap_reader *r);
/* The last verified chain hash, hex, into @out (65 bytes). */
void mpt_cap_reader_chain_head(const struct mpt_cap_reader *r, char *out);

/*
 * An EVENT record's payload: the kernel record and the strings the user side
 * added; since 1.4, for a container's record, what its runtime says of it:
 * a u16 0xffff mark, then the verdict and eight strings (MPT_CAP_CTR_MAX).
 */
#define MPT_CAP_CTR_MARK 0xffff
#define MPT_CAP_CTR_MAX (2 + 1 + 7 * (2 + MPT_CTR_STR_MAX) + 2 + MPT_CTR_LABELS_MAX)
/*
 * ... and for a call naming another process, that process (struct
 * mpt_target): u16 0xfffe, then its fixed fields and four strings.
 */
#define MPT_CAP_TARGET_MARK 0xfffe
#define MPT_CAP_TARGET_MAX                                                                         \
	(2 + 30 + 4 * 2 + sizeof(((struct mpt_target *)0)->comm) + MPT_PROC_PATH_MAX +             \
	 MPT_CONTAINER_ID_LEN + MPT_CTR_STR_MAX)
#define MPT_CAP_EVENT_STRINGS_MAX (5 * (2 + 4096) + MPT_CAP_CTR_MAX + MPT_CAP_TARGET_MAX)
/*
 * Encode @v as an EVENT payload into @out; its length, 0 when @cap is too
 * small. With @lineage, @v's lineage follows the strings (what ship sends).
 */
size_t mpt_cap_event_encode(const struct mpt_view *v, unsigned char *out, size_t cap, bool lineage);
/* A process as a capture keeps it (MPT_CAP_REC_PROCESS), decoded: its strings live here. */
struct mpt_cap_proc {
	struct mpt_proc_info info;
	char exe[MPT_PROC_PATH_MAX + 1];
	unsigned char argv[MPT_PROC_ARGV_MAX];
};
/* Encode @p as a PROCESS payload into @out (MPT_CAP_PROC_MAX bytes); its length. */
#define MPT_CAP_PROC_MAX (64 + MPT_PROC_PATH_MAX + MPT_PROC_ARGV_MAX)
size_t mpt_cap_proc_encode(const struct mpt_proc_info *p, unsigned char *out);
/* What mpt_cap_proc_encode(@p) would write: its length. */
size_t mpt_cap_proc_size(const struct mpt_proc_info *p);
/*
 * @fn for each process @l names, the oldest first, so that a reader links
 * each to its parent as it goes: the caller's processes, as a capture
 * records them (and a batch, ship --batch), before the caller's event.
 */
void mpt_cap_lineage_each(const struct mpt_lineage_view *l,
			  void (*fn)(void *ctx, const struct mpt_proc_info *p), void *ctx);
/* Decode a PROCESS payload. 0, or -1 when it does not hold together. */
int mpt_cap_proc_decode(const unsigned char *p, size_t len, struct mpt_cap_proc *out);

/*
 * Where a decoded payload lives: an aligned copy of the record, the strings,
 * and the lineage a payload may carry after them (a shipped message does:
 * each stands alone, with no process records before it).
 */
struct mpt_cap_event_buf {
	unsigned char *event;
	size_t cap;
	char str[5][4097];
	struct mpt_ctr_meta ctr_meta;
	struct mpt_target target;
	struct mpt_cap_proc procs[1 + MPT_ANCESTORS_MAX];
	struct mpt_lineage_view lineage;
};
/* The lineage of @v's enrichment after its strings (ship): at most this many bytes. */
#define MPT_CAP_LINEAGE_MAX (4 + (1 + MPT_ANCESTORS_MAX) * (2 + MPT_CAP_PROC_MAX))
/* Decode an EVENT payload into @it (pointing into @b). 0, or -1 with @why. */
int mpt_cap_event_decode(struct mpt_cap_event_buf *b, const void *payload, size_t len,
			 struct mpt_cap_item *it, const char **why);
void mpt_cap_event_buf_free(struct mpt_cap_event_buf *b);

struct mpt_lineage;
/*
 * A PROCESS payload, decoded into @buf, into the table *@procs (made on the
 * first): those of a file, or of a batch. 0, -EINVAL when it does not hold
 * together, or -ENOMEM.
 */
int mpt_cap_proc_add(struct mpt_lineage **procs, struct mpt_cap_proc *buf, const void *payload,
		     size_t len);
/*
 * An event that carries no lineage of its own, linked to its caller and the
 * caller's ancestors as the process records before it (@procs; NULL: none)
 * name them, through @b.
 */
void mpt_cap_event_link(struct mpt_cap_event_buf *b, struct mpt_cap_item *it,
			const struct mpt_lineage *procs);

/*
 * Check that files read whole belong together: @meta[i] and @head[i] (the
 * last chain hash, hex) of each. Files of one set must follow each other
 * (fileSeq + 1, previous file's hash); @say gets one line per problem.
 * Returns MPT_CAP_OK or MPT_CAP_ESET.
 */
int mpt_cap_check_set(const char *const *names, const struct mpt_cap_meta *const *meta,
		      const char *const *head, int n, void (*say)(const char *msg));

#endif
