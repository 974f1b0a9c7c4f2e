// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "context/container.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "mptrace_container_id.h"
#include "context/runtime.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* ---- parsing: pure functions of a path ---------------------------------- */

static const char *const runtimes[] = {
#define MPT_RUNTIME_NAME(word, name) name,
    MPT_CONTAINER_RUNTIMES(MPT_RUNTIME_NAME)
#undef MPT_RUNTIME_NAME
};

/* "8-4-4-4-12" hex, with '_' for '-' as systemd slice names write it. */
static bool parse_pod_uid(const char *s, size_t len, char *out)
{
	char uid[MPT_POD_UID_LEN + 1];

	if (len < MPT_POD_UID_LEN)
		return false;
	for (size_t i = 0; i < MPT_POD_UID_LEN; i++) {
		char c = s[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? (c != '-' && c != '_') : !mpt_cid_is_id_char(c))
			return false;
		uid[i] = dash ? '-' : c;
	}
	/* only whole: a half-parsed uid would stop the search for the real one */
	memcpy(out, uid, MPT_POD_UID_LEN);
	out[MPT_POD_UID_LEN] = '\0';
	return true;
}

/*
 * Kubernetes puts a pod's containers under "kubepods[-qos]-pod<uid>.slice"
 * (systemd driver) or "kubepods/<qos>/pod<uid>" (cgroupfs driver).
 */
static bool component_pod_uid(const char *s, size_t len, bool in_kubepods, char *out)
{
	const char *p;

	if (in_kubepods && len == 3 + MPT_POD_UID_LEN && !strncmp(s, "pod", 3))
		return parse_pod_uid(s + 3, len - 3, out);
	if (strncmp(s, "kubepods", 8))
		return false;
	p = memmem(s, len, "-pod", 4);
	if (!p)
		return false;
	p += 4;
	/* "...-pod<uid>.slice", alone or followed by ":<runtime>:<id>" */
	if ((size_t)(s + len - p) < MPT_POD_UID_LEN + 6 ||
	    memcmp(p + MPT_POD_UID_LEN, ".slice", 6) ||
	    ((size_t)(s + len - p) > MPT_POD_UID_LEN + 6 && p[MPT_POD_UID_LEN + 6] != ':'))
		return false;
	return parse_pod_uid(p, MPT_POD_UID_LEN, out);
}

/* The runtime of a container cgroup: its own word, a Kubernetes pod's, or Docker's parent. */
static const char *runtime_of(int rt, bool in_kubepods, const char *parent, size_t parent_len)
{
	if (rt >= 0)
		return runtimes[rt];
	if (in_kubepods)
		return "cri";
	if (parent_len == 6 && !strncmp(parent, "docker", 6))
		return "docker";
	return "unknown";
}

bool mpt_container_parse(const char *path, struct mpt_container *c)
{
	const char *p = path, *parent = NULL;
	size_t parent_len = 0;
	bool in_kubepods = false;

	memset(c, 0, sizeof(*c));
	c->runtime = "";
	if (!path)
		return false;
	/* from the top, as the BPF side looks: the outermost container in the levels it keeps */
	for (unsigned int level = 0; *p && level < MPT_CGROUP_PATH_DEPTH; level++) {
		size_t len, name_len;
		long at;
		int rt;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (!strncmp(p, "kubepods", 8))
			in_kubepods = true;
		if (!c->pod_uid[0])
			component_pod_uid(p, len, in_kubepods, c->pod_uid);
		/* the BPF side reads at most MPT_CGROUP_NAME_MAX - 1 bytes of a name */
		name_len = len < MPT_CGROUP_NAME_MAX ? len : MPT_CGROUP_NAME_MAX - 1;
		at = mpt_container_id_at(p, name_len, &rt);
		if (at >= 0) {
			memcpy(c->id, p + at, MPT_CONTAINER_ID_LEN);
			c->id[MPT_CONTAINER_ID_LEN] = '\0';
			c->runtime = runtime_of(rt, in_kubepods, parent, parent_len);
			return true;
		}
		parent = p;
		parent_len = len;
		p += len;
	}
	return false;
}

/* ---- the live system ------------------------------------------------------ */

const char *mpt_cgroup2_root(void)
{
	static char root[PATH_MAX];
	static bool looked;
	char line[4096], mnt[PATH_MAX], type[64];
	FILE *f;

	if (looked)
		return root[0] ? root : NULL;
	looked = true;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		/* id parent maj:min root mountpoint ... - fstype source options */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", type) != 1)
			continue;
		if (!strcmp(type, "cgroup2")) {
			snprintf(root, sizeof(root), "%s", mnt);
			break;
		}
	}
	fclose(f);
	return root[0] ? root : NULL;
}

uint64_t mpt_cgroup_id_of(const char *path)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(path, &sfs))
		return 0;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		errno = ENOTDIR;
		return 0;
	}
	if (stat(path, &st))
		return 0;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return 0;
	}
	/* A cgroup's id is its kernfs node id, which cgroupfs shows as the inode. */
	return st.st_ino;
}

#define CACHE_SLOTS 1024

struct path_slot {
	uint64_t id;
	char *path;		   /* NULL with id set: looked up, gone */
	struct mpt_container ctr;  /* parsed from path once, not per event */
	struct mpt_ctr_meta *meta; /* what the runtime says of ctr, looked up once */
};

static struct path_slot path_cache[CACHE_SLOTS];

static uint64_t walk_target;
static char *walk_found;
static size_t walk_root_len;

static int walk_cb(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_D || sb->st_ino != walk_target)
		return 0;
	walk_found = strdup(fpath[walk_root_len] ? fpath + walk_root_len : "/");
	return 1;
}

uint64_t mpt_proc_cgroup(uint32_t pid, char *path, size_t len)
{
	const char *root = mpt_cgroup2_root();
	char file[64], line[4096], full[PATH_MAX + sizeof(line)];
	uint64_t id = 0;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%u/cgroup", pid);
	f = root ? fopen(file, "re") : NULL;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(full, sizeof(full), "%s%s", root, line + 3);
		id = mpt_cgroup_id_of(full);
		snprintf(path, len, "%s", line + 3);
		break;
	}
	fclose(f);
	return id;
}

static char *path_from_proc(uint64_t id, uint32_t tid)
{
	char path[4096];

	return mpt_proc_cgroup(tid, path, sizeof(path)) == id ? strdup(path) : NULL;
}

static int (*path_source)(void *ctx, uint64_t id, char *buf, size_t len);
static void *path_source_ctx;

void mpt_cgroup_path_source(int (*fn)(void *ctx, uint64_t id, char *buf, size_t len), void *ctx)
{
	path_source = fn;
	path_source_ctx = ctx;
}

static char *path_from_source(uint64_t id)
{
	char buf[MPT_CGROUP_PATH_MAX];

	if (!path_source || path_source(path_source_ctx, id, buf, sizeof(buf)))
		return NULL;
	return strdup(buf);
}

/*
 * The cache entry of cgroup @id, looked up now if need be; NULL when it
 * cannot be. What the tracer recorded at the call first, then the process's
 * /proc entry; a walk of the whole hierarchy only when @may_walk (never on
 * the event path: with thousands of cgroups it takes tens of ms).
 */
static const struct path_slot *cgroup_slot(uint64_t id, uint32_t tid, bool may_walk)
{
	struct path_slot *slot = &path_cache[id % CACHE_SLOTS];
	const char *root = mpt_cgroup2_root();

	if (slot->id == id && id)
		return slot;
	if (!root || !id)
		return NULL;
	free(slot->path);
	free(slot->meta);
	slot->meta = NULL;
	slot->id = id;
	slot->path = path_from_source(id);
	if (!slot->path && tid)
		slot->path = path_from_proc(id, tid);
	if (!slot->path && may_walk) {
		walk_target = id;
		walk_found = NULL;
		walk_root_len = strlen(root);
		if (walk_root_len == 1)
			walk_root_len = 0;
		nftw(root, walk_cb, 32, FTW_PHYS | FTW_MOUNT);
		slot->path = walk_found;
	}
	if (mpt_container_parse(slot->path, &slot->ctr) &&
	    (slot->meta = malloc(sizeof(*slot->meta))))
		mpt_runtime_lookup(slot->ctr.id, slot->path, slot->meta);
	return slot;
}

bool mpt_cgroup_container(uint64_t id, uint32_t tid, struct mpt_container *c,
			  const struct mpt_ctr_meta **meta)
{
	const struct path_slot *slot = cgroup_slot(id, tid, false);

	*meta = NULL;
	if (!slot || !slot->path) {
		mpt_container_parse(NULL, c);
		return false;
	}
	*c = slot->ctr;
	*meta = slot->meta;
	return true;
}

const char *mpt_cgroup_path(uint64_t id, uint32_t tid)
{
	const struct path_slot *slot = cgroup_slot(id, tid, true);

	return slot ? slot->path : NULL;
}

static const char *running_prefix;
static bool running_found;

static int running_cb(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	struct mpt_container c;

	(void)sb;
	if (type != FTW_D)
		return 0;
	/* only the directory's own name: its ancestors were visited already */
	if (ftw->level > 0 && mpt_container_parse(fpath + ftw->base, &c) &&
	    !strncmp(c.id, running_prefix, strlen(running_prefix))) {
		running_found = true;
		return 1;
	}
	return 0;
}

bool mpt_container_running(const char *prefix)
{
	const char *root = mpt_cgroup2_root();

	if (!root)
		return false;
	running_prefix = prefix;
	running_found = false;
	nftw(root, running_cb, 32, FTW_PHYS | FTW_MOUNT);
	return running_found;
}

struct exe_slot {
	uint32_t tgid;
	uint64_t start_ns;
	char *path;
};

static struct exe_slot exe_cache[CACHE_SLOTS];

/* Is /proc/@tgid still the process that started at @start_ns (a pid can be reused)? */
static bool same_process(uint32_t tgid, uint64_t start_ns)
{
	char file[64], buf[1024], *p;
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd;

	snprintf(file, sizeof(file), "/proc/%u/stat", tgid);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || hz <= 0)
		return false;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields resume after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 &ticks) != 1)
		return false;
	/* the kernel shows start_boottime / (NSEC_PER_SEC / USER_HZ) there */
	return ticks == start_ns / (1000000000ull / (unsigned long long)hz);
}

const char *mpt_exe_path(uint32_t tgid, uint64_t start_ns)
{
	struct exe_slot *slot = &exe_cache[tgid % CACHE_SLOTS];
	char link[64], buf[PATH_MAX];
	ssize_t n;

	if (slot->path && slot->tgid == tgid && slot->start_ns == start_ns)
		return slot->path;
	/* The process may be gone or its pid reused: say nothing rather than guess. */
	if (!same_process(tgid, start_ns))
		return "";
	snprintf(link, sizeof(link), "/proc/%u/exe", tgid);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0)
		return "";
	buf[n] = '\0';
	free(slot->path);
	slot->tgid = tgid;
	slot->start_ns = start_ns;
	slot->path = strdup(buf);
	return slot->path ? slot->path : "";
}

void mpt_enrich_live(const struct mpt_task *t, struct mpt_container *ctr, struct mpt_enrich *en)
{
	const struct path_slot *slot = cgroup_slot(t->cgroup_id, t->host_tid, false);

	en->cgroup_path = slot && slot->path ? slot->path : "";
	if (slot)
		*ctr = slot->ctr;
	else
		mpt_container_parse(NULL, ctr);
	en->container_id = ctr->id;
	en->container_runtime = ctr->runtime;
	en->pod_uid = ctr->pod_uid;
	en->ctr_meta = slot ? slot->meta : NULL;
	/* a pod's uid is the runtime's to say, when the cgroup's name has none */
	if (en->ctr_meta && !ctr->pod_uid[0] && strlen(en->ctr_meta->pod_uid) == MPT_POD_UID_LEN)
		parse_pod_uid(en->ctr_meta->pod_uid, strlen(en->ctr_meta->pod_uid), ctr->pod_uid);
	/* what the process tracker knew already needs no /proc lookup */
	if (!en->exe_path || !en->exe_path[0])
		en->exe_path = mpt_exe_path(t->host_tgid, t->start_ns);
}
