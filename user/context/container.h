/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which container a cgroup belongs to, and where cgroups live on this host. */
#ifndef MPTRACE_CONTAINER_H
#define MPTRACE_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"
#include "mptrace_filter.h"

#define MPT_POD_UID_LEN 36

struct mpt_container {
	char id[MPT_CONTAINER_ID_LEN + 1]; /* "" for a host process */
	const char *runtime;		   /* "docker", "containerd", "crio", "podman", ... */
	char pod_uid[MPT_POD_UID_LEN + 1]; /* Kubernetes pod UID, "" when none */
};

/*
 * Parse a cgroup path ("/system.slice/docker-<id>.scope") the way the BPF
 * matcher does (bpf/mptrace.bpf.c cgroup_filters_pass): the outermost of the
 * first MPT_CGROUP_PATH_DEPTH components that names a container wins, so a
 * process nested deep below a container is in it, and a cgroup named like a
 * container inside one claims nothing. Returns true when one was found.
 * Never reads the live system.
 */
bool mpt_container_parse(const char *cgroup_path, struct mpt_container *c);

/* The cgroup v2 mount point ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"), or NULL. */
const char *mpt_cgroup2_root(void);

/* The id of the cgroup v2 directory at @path (absolute). 0 with errno set on failure. */
uint64_t mpt_cgroup_id_of(const char *path);
/* The cgroup v2 path /proc/@pid/cgroup names ("/a/b") into @path, and its id; 0 when none. */
uint64_t mpt_proc_cgroup(uint32_t pid, char *path, size_t len);

/*
 * The path of cgroup @id relative to the v2 root ("/a/b"; "/" for the root),
 * from the path source, else /proc/@tid/cgroup, else a walk of the
 * hierarchy. Results are cached. Returns NULL when the cgroup is gone.
 */
const char *mpt_cgroup_path(uint64_t id, uint32_t tid);
/*
 * Where cgroup paths come from first: @fn fills @buf with the path of cgroup
 * @id as the tracer recorded it at the call (0), or fails. The event path
 * (mpt_enrich_live) then never walks the hierarchy.
 */
void mpt_cgroup_path_source(int (*fn)(void *ctx, uint64_t id, char *buf, size_t len), void *ctx);

/*
 * The container of cgroup @id (of a process @tid, maybe gone), without a walk
 * of the hierarchy; *@meta what its runtime says (NULL: not a container).
 * False when the cgroup's path cannot be found.
 */
bool mpt_cgroup_container(uint64_t id, uint32_t tid, struct mpt_container *c,
			  const struct mpt_ctr_meta **meta);

/* Does a cgroup for a container whose id starts with @prefix exist now? */
bool mpt_container_running(const char *prefix);

/* The executable of process @tgid started at @start_ns (boot time), cached; "" when gone. */
const char *mpt_exe_path(uint32_t tgid, uint64_t start_ns);

/*
 * Everything the live system can add to a record: cgroup path, container,
 * executable (from /proc only when @en->exe_path holds none yet: the process
 * tracker's comes first). @ctr holds the strings @en then points to.
 */
void mpt_enrich_live(const struct mpt_task *t, struct mpt_container *ctr, struct mpt_enrich *en);

#endif
