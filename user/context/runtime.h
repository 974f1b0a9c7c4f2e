/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a container runtime itself keeps of a container: its name, image and
 * pod, and the cgroup it put the container in. A container id parsed from a
 * cgroup name is only a claim (anyone who may create a cgroup can name it
 * docker-<id>.scope); it is verified when the runtime's own state, in
 * root-only directories, has that id at that cgroup.
 *
 * Sources, all files the runtime writes (docs/guide.md has the table):
 *   runc's state.json (Podman, CRI-O, containerd, Docker): id, cgroup,
 *     the OCI annotations (CRI's Kubernetes names), the bundle;
 *   containers/storage's containers.json and images.json beside a Podman
 *     bundle: name, image, image id and digest;
 *   Docker's config.v2.json: name, image, image id, labels.
 */
#ifndef MPTRACE_RUNTIME_H
#define MPTRACE_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"

/*
 * Read what the runtimes on this host (below @root, "" for "/": tests point
 * it at a tree of their own) keep of container @id, and check that its
 * cgroup is @cgroup_path (relative to the cgroup v2 root, as records hold
 * it) or below it. Never blocks on a pipe or follows a symlink to a file.
 */
void mpt_runtime_read(const char *root, const char *id, const char *cgroup_path,
		      struct mpt_ctr_meta *m);

/*
 * The same, from a cache that a thread keeps by watching the runtimes'
 * state directories (inotify): a container that was gone before its first
 * record was read is still known. Safe from any thread.
 */
void mpt_runtime_lookup(const char *id, const char *cgroup_path, struct mpt_ctr_meta *m);
/* Start the watch (a missing directory is watched for when its parent changes). 0 or -errno. */
int mpt_runtime_watch_start(void);
void mpt_runtime_watch_stop(void);

#endif
