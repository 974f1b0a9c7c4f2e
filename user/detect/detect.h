/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Detections: user-side rules over the event stream (docs/detections.md).
 * They use only what the records say, with the records' own clock, so a
 * replay of a capture raises exactly the detections the live run raised.
 */
#ifndef MPTRACE_DETECT_H
#define MPTRACE_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"
#include "decode/format.h"
#include "util/strbuf.h"

/*
 * X(id, code, name, severity, MITRE ATT&CK tactic id, tactic name, technique id,
 * technique name): a sub-technique's name is "Technique: Sub-technique". The
 * mapping follows ATT&CK MPT_ATTACK_VERSION; "" where no technique fits.
 */
#define MPT_ATTACK_VERSION "v17"
#define MPT_DETECTIONS(X)                                                                          \
	X(OTHER_PROCESS, "MPT-1", "move_pages on another process", "medium", "", "", "", "")       \
	X(MOVE_ALL, "MPT-2", "MPOL_MF_MOVE_ALL requested", "high", "", "", "", "")                 \
	X(PROBE_BURST, "MPT-3", "burst of permission or lookup failures", "medium", "TA0007",      \
	  "Discovery", "T1057", "Process Discovery")                                               \
	X(LAYOUT_SCAN, "MPT-4", "page-location scan of another process", "high", "TA0007",         \
	  "Discovery", "T1057", "Process Discovery")                                               \
	X(MIGRATION_FLOOD, "MPT-5", "very high page-migration rate", "medium", "TA0040", "Impact", \
	  "T1499", "Endpoint Denial of Service")                                                   \
	X(CHANGED_DURING_CALL, "MPT-6", "arguments rewritten during the call", "high", "TA0005",   \
	  "Defense Evasion", "T1562.006", "Impair Defenses: Indicator Blocking")                   \
	X(MIGRATE_OTHER, "MPT-7", "migrate_pages on another process", "medium", "", "", "", "")    \
	X(FAIR_SHARE_FLOOD, "MPT-8", "calls over the fair share", "medium", "TA0005",              \
	  "Defense Evasion", "T1562.006", "Impair Defenses: Indicator Blocking")                   \
	X(REFUSED_REPEAT, "MPT-9", "repeated calls refused by seccomp", "medium", "", "", "", "")  \
	X(CONTAINER_SPOOFED, "MPT-10", "container id its runtime placed elsewhere", "high",        \
	  "TA0005", "Defense Evasion", "T1036", "Masquerading")                                    \
	X(CROSS_CONTAINER, "MPT-11", "a container's call on a process outside it", "high", "", "", \
	  "", "")

enum mpt_detection_id {
#define MPT_DET_ENUM(id, code, name, sev, tac, tacname, tid, tname) MPT_DET_##id,
	MPT_DETECTIONS(MPT_DET_ENUM)
#undef MPT_DET_ENUM
	    MPT_DET_NR,
};

struct mpt_detect_cfg {
	bool enabled;
	uint32_t burst_errors;	/* MPT-3: this many EPERM/EACCES/ESRCH from one process */
	uint64_t window_ns;	/* ... within this window (MPT-3, MPT-5) */
	uint32_t scan_pages;	/* MPT-4: at least this many pages of others queried per window */
	uint64_t flood_pages;	/* MPT-5: pages asked to move per window by one process */
	uint64_t cooldown_ns;	/* a rule fires at most once per process per cooldown */
	uint32_t refused;	/* MPT-9: calls refused by seccomp from one process per window */
	const char *exceptions; /* a file of findings to keep quiet (exceptions.h); NULL: none */
};

void mpt_detect_cfg_default(struct mpt_detect_cfg *c);

struct mpt_detector;

struct mpt_detector *mpt_detector_new(const struct mpt_detect_cfg *c);
/* mpt_detector_new with c->exceptions loaded; NULL with @err saying why. */
struct mpt_detector *mpt_detector_open(const struct mpt_detect_cfg *c, char *err, size_t len);
/*
 * Read the exceptions file again (SIGHUP): 0, or -1 with @err, the ones
 * loaded before still in force.
 */
int mpt_detector_reload(struct mpt_detector *d, char *err, size_t len);
/* Exceptions in force, and the findings they silenced by rule (an array of MPT_DET_NR). */
unsigned int mpt_detector_exceptions(const struct mpt_detector *d);
const uint64_t *mpt_detector_suppressed(const struct mpt_detector *d);
void mpt_detector_free(struct mpt_detector *d);

/* Rules that @v triggers, as a bit per enum mpt_detection_id. */
uint32_t mpt_detect(struct mpt_detector *d, const struct mpt_view *v);

/* mpt_detect, less what an exception silences (counted in mpt_detector_suppressed). */
uint32_t mpt_detect_unexcepted(struct mpt_detector *d, const struct mpt_view *v);

const char *mpt_detection_code(enum mpt_detection_id id);

/* One detection line (table, JSON or an OCSF Detection Finding), carrying the triggering event. */
void mpt_format_detection(enum mpt_format fmt, struct strbuf *sb, enum mpt_detection_id id,
			  const struct mpt_view *trigger, const struct mpt_fmt_ctx *ctx);

/*
 * Run the rules on @v and append a line to @sb for each detection it raises
 * and no exception silences; those raised.
 */
uint32_t mpt_detect_lines(struct mpt_detector *d, enum mpt_format fmt, struct strbuf *sb,
			  const struct mpt_view *v, const struct mpt_fmt_ctx *ctx);

#endif
