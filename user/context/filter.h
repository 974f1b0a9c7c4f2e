/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the user asked to see, as plain values. The command line fills it,
 * mpt_filter_resolve() turns names (cgroup paths) into kernel ids, and the
 * tracer hands it to the BPF programs, which evaluate it before building a
 * record. Semantics live in include/mptrace_filter.h.
 */
#ifndef MPTRACE_FILTER_USER_H
#define MPTRACE_FILTER_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mptrace_event.h"
#include "decode/decode.h"
#include "mptrace_filter.h"

#define MPT_FILTER_VALUES_MAX 64

struct mpt_filter {
	/* values per kind; for MPT_FILTER_COMM see comm[] */
	uint64_t val[MPT_FILTER_NR][MPT_FILTER_VALUES_MAX];
	char comm[MPT_FILTER_VALUES_MAX][MPT_TASK_COMM_LEN];
	uint32_t n[MPT_FILTER_NR];
	/* --cgroup arguments as given (paths or ids), resolved into val[CGROUP] */
	const char *cgroup_arg[MPT_FILTER_VALUES_MAX];
	uint32_t n_cgroup_arg;
	/* --exe paths as given, resolved into val[EXE] (inodes) and exe_dev (kernel dev_t) */
	const char *exe_arg[MPT_FILTER_VALUES_MAX];
	uint32_t exe_dev[MPT_FILTER_VALUES_MAX];
	uint32_t n_exe_arg;
	char container[MPT_CONTAINER_FILTER_MAX][MPT_CONTAINER_ID_LEN + 1];
	uint32_t n_container;
	/*
	 * --container NAME and --pod NS/NAME: the runtime's names, checked in
	 * user space on verified containers (the kernel keeps containers only)
	 */
	const char *container_name[MPT_CONTAINER_FILTER_MAX];
	uint32_t n_container_name;
	const char *pod[MPT_CONTAINER_FILTER_MAX]; /* "namespace/name" */
	uint32_t n_pod;
	/* --target-container ID|NAME: the container of the process a call names */
	const char *target_container[MPT_CONTAINER_FILTER_MAX];
	uint32_t n_target_container;
	enum mpt_filter_scope scope;
	bool target_other;
	/* --event: a bit per record type (MPT_EVENT_BIT); 0 for every event */
	uint32_t events;
};

#define MPT_EVENT_BIT(type) (1u << (type))

/* Add the events named in @list ("move_pages,migrate_pages"); @err says why not. */
int mpt_filter_add_events(struct mpt_filter *f, const char *list, char *err, size_t len);
/* Is event @d traced by @f? */
bool mpt_filter_event_on(const struct mpt_filter *f, const struct mpt_event_desc *d);

/* Add one value of @kind given on the command line; @err says why not. */
int mpt_filter_add(struct mpt_filter *f, enum mpt_filter_kind kind, const char *arg, char *err,
		   size_t len);
/* An id prefix (hex), else a container's name. */
int mpt_filter_add_container(struct mpt_filter *f, const char *arg, char *err, size_t len);
int mpt_filter_add_pod(struct mpt_filter *f, const char *arg, char *err, size_t len);
int mpt_filter_add_target_container(struct mpt_filter *f, const char *arg, char *err, size_t len);
/* Filters only user space can apply (names), and whether @v passes them. */
bool mpt_filter_has_names(const struct mpt_filter *f);
/* --container NAME or --pod: the caller's container, by the runtime's names. */
bool mpt_filter_has_container_names(const struct mpt_filter *f);
bool mpt_filter_match_names(const struct mpt_filter *f, const struct mpt_view *v);

/* Any filter at all beyond "everything"? */
bool mpt_filter_active(const struct mpt_filter *f);

/*
 * Resolve --cgroup paths into cgroup ids, checking that each names a cgroup
 * v2 directory (or an existing cgroup id). A --container that matches no
 * running container is not an error (it may start later): @warn says so.
 */
int mpt_filter_resolve(struct mpt_filter *f, char *err, size_t len, void (*warn)(const char *msg));

/*
 * The same filters on a record read back from a capture (replay): never
 * consults the live system. --cgroup there is an id (that cgroup) or a path
 * as /proc/PID/cgroup shows it (that cgroup and those below it).
 */
bool mpt_filter_match(const struct mpt_filter *f, const struct mpt_view *v);

/* The option name of @kind ("pid", "comm", ...). */
const char *mpt_filter_kind_name(enum mpt_filter_kind kind);

#endif
