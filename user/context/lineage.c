// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "context/lineage.h"

#include <limits.h>

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "context/container.h"

#define BUCKETS 8192

struct entry {
	struct mpt_proc_info info;
	char *exe;
	unsigned char *argv;
	bool exited;
	uint32_t children; /* entries whose parent this is */
	uint64_t seq;	   /* insertion order: the oldest exited entry goes first at the cap */
	struct entry *parent;
	struct entry *next;    /* in its bucket */
	struct entry *next_ns; /* in its bucket by ns_tgid */
};

struct mpt_lineage {
	struct entry *bucket[BUCKETS];
	struct entry *ns_bucket[BUCKETS]; /* by the pid a process has in its own namespace */
	size_t n;
	uint64_t seq;
	uint64_t tick_ns; /* /proc's start times are in clock ticks */
	uint64_t stamp;	  /* see mpt_lineage_view: new with every change to any entry */
};

/*
 * Every call that may change, add or free an entry takes a new stamp, unique
 * among all trackers, before it does: a view's pointers and stamp then name
 * contents that cannot have changed while the stamp stays.
 */
static void changing(struct mpt_lineage *l)
{
	static uint64_t last;

	l->stamp = __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
}

struct mpt_lineage *mpt_lineage_new(void)
{
	struct mpt_lineage *l = calloc(1, sizeof(*l));
	long hz = sysconf(_SC_CLK_TCK);

	if (l) {
		l->tick_ns = 1000000000ull / (hz > 0 ? hz : 100);
		changing(l);
	}
	return l;
}

static void free_entry_mem(struct entry *e)
{
	free(e->exe);
	free(e->argv);
	free(e);
}

void mpt_lineage_free(struct mpt_lineage *l)
{
	if (!l)
		return;
	for (int b = 0; b < BUCKETS; b++) {
		for (struct entry *e = l->bucket[b], *next; e; e = next) {
			next = e->next;
			free_entry_mem(e);
		}
	}
	free(l);
}

size_t mpt_lineage_size(const struct mpt_lineage *l)
{
	return l->n;
}

static bool same_start(const struct mpt_lineage *l, const struct entry *e, uint64_t start_ns)
{
	if (e->info.start_ns == start_ns)
		return true;
	/* learnt from /proc: its start time is known to a clock tick only */
	return (e->info.flags & MPT_PROC_START_APPROX) &&
	       e->info.start_ns / l->tick_ns == start_ns / l->tick_ns;
}

/* (@tgid, @start_ns); @start_ns 0: the newest entry of @tgid still running, else the newest. */
static struct entry *lookup(const struct mpt_lineage *l, uint32_t tgid, uint64_t start_ns)
{
	struct entry *best = NULL;

	for (struct entry *e = l->bucket[tgid % BUCKETS]; e; e = e->next) {
		if (e->info.tgid != tgid)
			continue;
		if (start_ns) {
			if (same_start(l, e, start_ns))
				return e;
			continue;
		}
		if (!best || (best->exited && !e->exited) ||
		    (best->exited == e->exited && e->seq > best->seq))
			best = e;
	}
	return best;
}

const struct mpt_proc_info *mpt_lineage_find_ns(const struct mpt_lineage *l, uint32_t pid_ns,
						uint32_t nr, uint32_t host_ns)
{
	struct entry *best = NULL;

	if (pid_ns == host_ns) {
		best = lookup(l, nr, 0);
		return best ? &best->info : NULL;
	}
	for (struct entry *e = l->ns_bucket[nr % BUCKETS]; e; e = e->next_ns) {
		if (e->info.ns_tgid != nr || e->info.pid_ns != pid_ns)
			continue;
		if (!best || (best->exited && !e->exited) ||
		    (best->exited == e->exited && e->seq > best->seq))
			best = e;
	}
	return best ? &best->info : NULL;
}

const struct mpt_proc_info *mpt_lineage_find(const struct mpt_lineage *l, uint32_t tgid,
					     uint64_t start_ns)
{
	struct entry *e = lookup(l, tgid, start_ns);

	return e ? &e->info : NULL;
}

static void unlink_entry(struct mpt_lineage *l, struct entry *e)
{
	struct entry **pp = &l->bucket[e->info.tgid % BUCKETS];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp)
		*pp = e->next;
	pp = &l->ns_bucket[e->info.ns_tgid % BUCKETS];
	while (*pp && *pp != e)
		pp = &(*pp)->next_ns;
	if (*pp)
		*pp = e->next_ns;
	l->n--;
}

/* An exited process nobody names as a parent any more goes, and maybe its parent with it. */
static void release(struct mpt_lineage *l, struct entry *e)
{
	while (e && e->exited && !e->children) {
		struct entry *parent = e->parent;

		unlink_entry(l, e);
		free_entry_mem(e);
		if (parent)
			parent->children--;
		e = parent;
	}
}

/*
 * At the cap, an eighth of the table goes at once (a pass walks the whole
 * table, so not one entry per insert): of the oldest eighth, first the
 * exited, then the leaves (no entry names them as parent), then any, until
 * something went. Whoever named one as parent loses that ancestor.
 */
static bool evictable(const struct entry *e, uint64_t below, int pass)
{
	return e->seq < below && (pass == 2 || (pass == 0 ? e->exited : !e->children));
}

static void evict(struct mpt_lineage *l)
{
	uint64_t below = l->seq - MPT_LINEAGE_MAX + MPT_LINEAGE_MAX / 8;
	size_t before = l->n;

	for (int pass = 0; pass < 3 && l->n == before; pass++) {
		for (int b = 0; b < BUCKETS; b++)
			for (struct entry *e = l->bucket[b]; e; e = e->next)
				if (e->parent && evictable(e->parent, below, pass))
					e->parent = NULL;
		for (int b = 0; b < BUCKETS; b++) {
			for (struct entry **pp = &l->bucket[b]; *pp;) {
				struct entry *e = *pp;

				if (!evictable(e, below, pass)) {
					pp = &e->next;
					continue;
				}
				*pp = e->next;
				l->n--;
				free_entry_mem(e);
			}
		}
		/* the namespace index, from the entries that stay */
		memset(l->ns_bucket, 0, sizeof(l->ns_bucket));
		for (int b = 0; b < BUCKETS; b++) {
			for (struct entry *e = l->bucket[b]; e; e = e->next) {
				e->next_ns = l->ns_bucket[e->info.ns_tgid % BUCKETS];
				l->ns_bucket[e->info.ns_tgid % BUCKETS] = e;
			}
		}
		/* the children counts, from the links that stay */
		for (int b = 0; b < BUCKETS; b++)
			for (struct entry *e = l->bucket[b]; e; e = e->next)
				e->children = 0;
		for (int b = 0; b < BUCKETS; b++)
			for (struct entry *e = l->bucket[b]; e; e = e->next)
				if (e->parent)
					e->parent->children++;
	}
}

static int set_image(struct entry *e, const char *exe, size_t exe_len, const unsigned char *argv,
		     size_t argv_len)
{
	char *x = malloc(exe_len + 1);
	unsigned char *a = malloc(argv_len ? argv_len : 1);

	if (!x || !a) {
		free(x);
		free(a);
		return -1;
	}
	memcpy(x, exe, exe_len);
	x[exe_len] = '\0';
	memcpy(a, argv, argv_len);
	free(e->exe);
	free(e->argv);
	e->exe = x;
	e->argv = a;
	e->info.exe = x;
	e->info.argv = a;
	e->info.argv_len = argv_len;
	e->info.gen++;
	return 0;
}

/* A new entry for @info (its strings copied), linked to its parent. */
/*
 * @e's parent is known: counted, and its start kept with @e, where /proc
 * does not give it, so that the parent's entity id can be named.
 */
static void adopt(struct entry *e)
{
	e->parent->children++;
	if (!e->info.pstart_ns)
		e->info.pstart_ns = e->parent->info.start_ns;
}

static struct entry *insert(struct mpt_lineage *l, const struct mpt_proc_info *info)
{
	struct entry *e;

	if (l->n >= MPT_LINEAGE_MAX)
		evict(l);
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->info = *info;
	e->info.exe = NULL;
	e->info.argv = NULL;
	if (set_image(e, info->exe ? info->exe : "", info->exe ? strlen(info->exe) : 0, info->argv,
		      info->argv ? info->argv_len : 0)) {
		free(e);
		return NULL;
	}
	e->seq = ++l->seq;
	e->parent = info->ptgid ? lookup(l, info->ptgid, info->pstart_ns) : NULL;
	if (e->parent == e)
		e->parent = NULL;
	if (e->parent)
		adopt(e);
	e->next = l->bucket[info->tgid % BUCKETS];
	l->bucket[info->tgid % BUCKETS] = e;
	e->next_ns = l->ns_bucket[info->ns_tgid % BUCKETS];
	l->ns_bucket[info->ns_tgid % BUCKETS] = e;
	l->n++;
	return e;
}

/*
 * What a process is now, from @info: its image, name, flags, executable and
 * start (exact now if /proc had it to a tick only).
 */
static void reimage(struct entry *e, const struct mpt_proc_info *info, const char *exe,
		    size_t exe_len, const unsigned char *argv, size_t argv_len)
{
	set_image(e, exe, exe_len, argv, argv_len);
	memcpy(e->info.comm, info->comm, sizeof(e->info.comm));
	/* how it was created stays; the rest describes the new image */
	e->info.flags = (e->info.flags & MPT_PROC_CREATOR) | info->flags;
	e->info.exe_ino = info->exe_ino;
	e->info.exe_dev = info->exe_dev;
	e->info.start_ns = info->start_ns;
	/* a setuid image, a move to another cgroup: what the exec saw (0: not known, kept) */
	if (info->uid || info->cgroup_id) {
		e->info.uid = info->uid;
		e->info.cgroup_id = info->cgroup_id;
	}
	if (info->pid_ns)
		e->info.pid_ns = info->pid_ns;
}

static void info_of_record(const struct mpt_proc_event *p, struct mpt_proc_info *info)
{
	memset(info, 0, sizeof(*info));
	info->tgid = p->tgid;
	info->ptgid = p->ptgid;
	info->ns_tgid = p->ns_tgid;
	info->start_ns = p->start_ns;
	info->pstart_ns = p->pstart_ns;
	info->exe_ino = p->exe_ino;
	info->exe_dev = p->exe_dev;
	info->flags = p->flags;
	info->pid_ns = p->pid_ns;
	info->uid = p->uid;
	info->cgroup_id = p->cgroup_id;
	memcpy(info->comm, p->comm, MPT_TASK_COMM_LEN);
	info->comm[MPT_TASK_COMM_LEN] = '\0';
}

/*
 * Does @path, looked up from here, fail to name the file (@ino, @dev)? A
 * bind mount in another mount namespace can put any file at any path.
 */
static bool exe_elsewhere(const char *path, uint64_t ino, uint32_t dev)
{
	struct stat st;

	if (!ino || !path[0])
		return false;
	if (stat(path, &st))
		return true;
	return st.st_ino != ino || (major(st.st_dev) << 20 | minor(st.st_dev)) != dev;
}

/* Flags that describe an image: a forked child has its parent's. */
#define IMAGE_FLAGS                                                                                \
	(MPT_PROC_PATH_TRUNCATED | MPT_PROC_ARGV_TRUNCATED | MPT_PROC_EXE_FILELESS |               \
	 MPT_PROC_EXE_DELETED | MPT_PROC_EXE_ELSEWHERE)

void mpt_lineage_feed(struct mpt_lineage *l, const struct mpt_proc_event *p)
{
	struct entry *e = lookup(l, p->tgid, p->start_ns), *parent;
	struct mpt_proc_info info;

	changing(l);
	switch (p->kind) {
	case MPT_PROC_FORK:
		if (e)
			return;
		info_of_record(p, &info);
		/* the child runs its parent's image until it execs */
		parent = lookup(l, p->ptgid, p->pstart_ns);
		if (parent) {
			info.exe = parent->exe;
			info.argv = parent->info.argv;
			info.argv_len = parent->info.argv_len;
			/* its own: how it was created, and whether the file is gone now */
			info.flags = (parent->info.flags & IMAGE_FLAGS) |
				     (p->flags & (MPT_PROC_CREATOR | MPT_PROC_EXE_DELETED));
		}
		insert(l, &info);
		return;
	case MPT_PROC_EXEC:
		info_of_record(p, &info);
		if (!e) {
			info.exe = "";
			e = insert(l, &info);
			if (!e)
				return;
		}
		/* a new image of the same process: what it runs now, under its new name */
		reimage(e, &info, (const char *)p->data, p->path_len, p->data + p->path_len,
			p->argv_len);
		if (!(info.flags & (MPT_PROC_EXE_FILELESS | MPT_PROC_PATH_TRUNCATED)) &&
		    exe_elsewhere(e->exe, info.exe_ino, info.exe_dev))
			e->info.flags |= MPT_PROC_EXE_ELSEWHERE;
		return;
	case MPT_PROC_EXIT:
		if (!e)
			return;
		e->exited = true;
		release(l, e);
		return;
	}
}

void mpt_lineage_add(struct mpt_lineage *l, const struct mpt_proc_info *info)
{
	struct entry *e = lookup(l, info->tgid, info->start_ns);

	changing(l);
	if (!e) {
		insert(l, info);
		return;
	}
	reimage(e, info, info->exe ? info->exe : "", info->exe ? strlen(info->exe) : 0, info->argv,
		info->argv_len);
}

void mpt_lineage_of(const struct mpt_lineage *l, uint32_t tgid, uint64_t start_ns,
		    struct mpt_lineage_view *v)
{
	struct entry *e = lookup(l, tgid, start_ns);

	memset(v, 0, sizeof(*v));
	if (!e)
		return;
	v->stamp = l->stamp;
	v->self = &e->info;
	for (struct entry *a = e->parent; a; a = a->parent) {
		if (v->n_anc == MPT_ANCESTORS_MAX) {
			v->anc[MPT_ANCESTORS_MAX] = &a->info;
			v->anc_truncated = true;
			break;
		}
		v->anc[v->n_anc++] = &a->info;
		if (a->info.tgid == 1)
			break;
	}
}

/* ---- /proc, for what ran before tracing began ---- */

static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap);
	close(fd);
	return n;
}

/* One /proc/PID: its ids and start from stat, its image from exe and cmdline. */
/*
 * What /proc/PID/exe's link says of the file, as the process tracker would:
 * " (deleted)" taken off the path, a memfd's "/memfd:NAME" named fileless.
 */
static uint8_t exe_flags(char *exe, const struct mpt_proc_info *info)
{
	static const char deleted[] = " (deleted)";
	size_t n = strlen(exe), d = sizeof(deleted) - 1;
	uint8_t flags = 0;

	if (n > d && !strcmp(exe + n - d, deleted)) {
		exe[n - d] = '\0';
		flags |= MPT_PROC_EXE_DELETED;
	}
	/* a memfd is always "(deleted)": it never had a name to lose */
	if (!strncmp(exe, "/memfd:", 7))
		return MPT_PROC_EXE_FILELESS;
	if (!(info->flags & MPT_PROC_PATH_TRUNCATED) &&
	    exe_elsewhere(exe, info->exe_ino, info->exe_dev))
		flags |= MPT_PROC_EXE_ELSEWHERE;
	return flags;
}

/* What names /proc/@pid as a target: its pid in its own namespace, the namespace, uid, cgroup. */
static void scan_ids(uint32_t pid, struct mpt_proc_info *info)
{
	char path[64], buf[4096], *p;
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/ns/pid", pid);
	if (!stat(path, &st))
		info->pid_ns = st.st_ino;
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	n = read_small(path, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	if ((p = strstr(buf, "\nUid:")))
		info->uid = strtoul(p + 5, NULL, 10);
	/* "NSpid:\t<host>\t...\t<innermost>" */
	if ((p = strstr(buf, "\nNSpid:"))) {
		char *end = p + 7 + strcspn(p + 7, "\n");

		while (end > p + 7 && end[-1] != '\t' && end[-1] != ' ')
			end--;
		info->ns_tgid = strtoul(end, NULL, 10);
	}
	info->cgroup_id = mpt_proc_cgroup(pid, buf, sizeof(buf));
}

static void scan_one(struct mpt_lineage *l, uint32_t pid)
{
	char path[64], line[1024], exe[MPT_PROC_PATH_MAX + 1], *close_paren;
	unsigned char argv[MPT_PROC_ARGV_MAX + 1];
	unsigned long long ticks = 0;
	struct mpt_proc_info info;
	unsigned int ppid = 0;
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	n = read_small(path, line, sizeof(line) - 1);
	if (n <= 0)
		return;
	line[n] = '\0';
	/* "pid (comm) state ppid ..." where comm may hold spaces and parentheses */
	close_paren = strrchr(line, ')');
	if (!close_paren || sscanf(close_paren + 2,
				   "%*c %u %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
				   "%*s %*s %*s %*s %llu",
				   &ppid, &ticks) != 2)
		return;
	memset(&info, 0, sizeof(info));
	info.tgid = pid;
	info.ptgid = ppid;
	info.start_ns = ticks * l->tick_ns;
	info.flags = MPT_PROC_START_APPROX;
	{
		char *open_paren = strchr(line, '(');
		size_t len = open_paren ? (size_t)(close_paren - open_paren - 1) : 0;

		if (len > MPT_TASK_COMM_LEN - 1)
			len = MPT_TASK_COMM_LEN - 1;
		if (open_paren)
			memcpy(info.comm, open_paren + 1, len);
	}
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (n >= (ssize_t)sizeof(exe) - 1)
		info.flags |= MPT_PROC_PATH_TRUNCATED;
	if (!stat(path, &st)) {
		info.exe_ino = st.st_ino;
		/* the kernel's own dev_t encoding, as the BPF side reads s_dev */
		info.exe_dev = major(st.st_dev) << 20 | minor(st.st_dev);
		info.flags |= exe_flags(exe, &info);
	}
	info.exe = exe;
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	n = read_small(path, (char *)argv, sizeof(argv));
	if (n > MPT_PROC_ARGV_MAX) {
		n = MPT_PROC_ARGV_MAX;
		info.flags |= MPT_PROC_ARGV_TRUNCATED;
	}
	info.argv = argv;
	info.argv_len = n > 0 ? n : 0;
	scan_ids(pid, &info);
	if (!lookup(l, pid, info.start_ns))
		insert(l, &info);
}

static int by_number(const struct dirent **a, const struct dirent **b)
{
	return (int)(strtoul((*a)->d_name, NULL, 10) - strtoul((*b)->d_name, NULL, 10));
}

static int is_pid(const struct dirent *d)
{
	return isdigit((unsigned char)d->d_name[0]);
}

void mpt_lineage_scan_proc(struct mpt_lineage *l)
{
	struct dirent **list;
	int n = scandir("/proc", &list, is_pid, by_number);

	changing(l);
	/* in pid order, so that a parent (usually older, so lower) is there before its child */
	for (int i = 0; i < n; i++) {
		scan_one(l, strtoul(list[i]->d_name, NULL, 10));
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	/* a child scanned before its parent (pids wrap): link it now */
	for (int b = 0; b < BUCKETS; b++) {
		for (struct entry *e = l->bucket[b]; e; e = e->next) {
			if (e->parent || !(e->info.flags & MPT_PROC_START_APPROX) || !e->info.ptgid)
				continue;
			e->parent = lookup(l, e->info.ptgid, 0);
			if (e->parent == e)
				e->parent = NULL;
			if (e->parent)
				adopt(e);
		}
	}
}
