// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "context/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context/container.h"
#include "util/fsutil.h"

/*
 * The OCI runtimes' state directories, root's alone: flat (<dir>/<id>/FILE)
 * or one level of namespaces. runc's state.json holds the annotations; crun's
 * status has the cgroup and bundle, and a copy of config.json beside it.
 */
#define MPT_RUNC_ROOTS(X)                                                                          \
	X("/run/runc", false, "state.json")		  /* Podman, CRI-O */                      \
	X("/run/containerd/runc", true, "state.json")	  /* containerd (CRI: k8s.io) */           \
	X("/run/docker/runtime-runc", true, "state.json") /* Docker (moby) */                      \
	X("/run/crun", false, "status")			  /* Podman, CRI-O on cgroup v2 */

static const struct {
	const char *dir;
	bool namespaced;
	const char *file;
} runc_roots[] = {
#define MPT_RUNC_ROOT(dir, ns, file) {dir, ns, file},
    MPT_RUNC_ROOTS(MPT_RUNC_ROOT)
#undef MPT_RUNC_ROOT
};
#define N_ROOTS (sizeof(runc_roots) / sizeof(runc_roots[0]))

/* What one runtime's files say of a container, before its cgroup is compared. */
struct rt_info {
	bool found;
	char cgroup[PATH_MAX]; /* relative to the cgroup v2 root; "" unknown */
	struct mpt_ctr_meta meta;
};

/* ---- reading a runtime's files ------------------------------------------- */

/* A regular file of at most MPT_CTR_FILE_MAX bytes, parsed; NULL otherwise. */
static json_t *read_json(const char *path)
{
	int fd = mpt_open_regular_flags(path, MPT_CTR_FILE_MAX, O_NOFOLLOW, NULL, 0);
	json_t *j = NULL;
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !(buf = malloc(st.st_size + 1))) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	/* half-written: the parse fails and the container stays unverified */
	j = json_loadb(buf, got, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	return j;
}

/* Copy @src into @dst (@cap bytes): control characters as '?', cut at a character. */
static void put_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap) {
		n = cap - 1;
		while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = src[i];

		dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	dst[n] = '\0';
}

static void fill(char *dst, const char *src)
{
	if (!dst[0] && src && src[0])
		put_str(dst, MPT_CTR_STR_MAX, src);
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Which annotation fills which field: the first that is set wins. */
static const struct {
	const char *key;
	size_t field;
} annotations[] = {
    {"io.kubernetes.cri.container-name", offsetof(struct mpt_ctr_meta, name)},
    {"io.kubernetes.container.name", offsetof(struct mpt_ctr_meta, name)},
    {"nerdctl/name", offsetof(struct mpt_ctr_meta, name)},
    {"io.kubernetes.cri.sandbox-name", offsetof(struct mpt_ctr_meta, pod_name)},
    {"io.kubernetes.pod.name", offsetof(struct mpt_ctr_meta, pod_name)},
    {"io.kubernetes.cri.sandbox-namespace", offsetof(struct mpt_ctr_meta, pod_namespace)},
    {"io.kubernetes.pod.namespace", offsetof(struct mpt_ctr_meta, pod_namespace)},
    {"io.kubernetes.cri.sandbox-uid", offsetof(struct mpt_ctr_meta, pod_uid)},
    {"io.kubernetes.pod.uid", offsetof(struct mpt_ctr_meta, pod_uid)},
    {"io.kubernetes.cri.image-name", offsetof(struct mpt_ctr_meta, image)},
    {"io.kubernetes.cri-o.ImageName", offsetof(struct mpt_ctr_meta, image)},
    {"io.kubernetes.cri-o.ImageRef", offsetof(struct mpt_ctr_meta, image_id)},
};

static int label_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A label object's entries, sorted, as "key=value\n"; Kubernetes' own keys are fields already. */
static void put_labels(struct mpt_ctr_meta *m, const json_t *labels)
{
	const char *keys[MPT_CTR_LABELS_N], *k;
	size_t n = 0, off = 0;
	json_t *v;

	if (m->labels[0] || !json_is_object(labels))
		return;
	json_object_foreach((json_t *)labels, k, v)
	{
		if (n < MPT_CTR_LABELS_N && json_is_string(v) && strncmp(k, "io.kubernetes.", 14))
			keys[n++] = k;
	}
	qsort(keys, n, sizeof(keys[0]), label_cmp);
	for (size_t i = 0; i < n; i++) {
		char kv[MPT_CTR_LABELS_MAX];
		size_t len =
		    (size_t)snprintf(kv, sizeof(kv), "%s=%s", keys[i], jstr(labels, keys[i]));

		/* a label cut short would say something else: it is left out */
		if (off + len + 2 > sizeof(m->labels))
			break;
		put_str(m->labels + off, len + 1, kv);
		off += len;
		m->labels[off++] = '\n';
		m->labels[off] = '\0';
	}
}

/* One OCI annotation, @key (@klen bytes) = @value: a field when the table names it. */
static void annotation(struct mpt_ctr_meta *m, const char *key, size_t klen, const char *value)
{
	for (size_t a = 0; a < sizeof(annotations) / sizeof(annotations[0]); a++)
		if (klen == strlen(annotations[a].key) && !strncmp(key, annotations[a].key, klen))
			fill((char *)m + annotations[a].field, value);
	if (klen == 26 && !strncmp(key, "io.kubernetes.cri-o.Labels", 26)) {
		json_t *o = json_loads(value, 0, NULL);

		put_labels(m, o);
		json_decref(o);
	}
}

/* runc keeps the OCI annotations as "key=value" labels, with "bundle=<dir>". */
static void from_annotations(struct mpt_ctr_meta *m, const json_t *labels, const char **bundle)
{
	size_t i;
	json_t *l;

	json_array_foreach(labels, i, l)
	{
		const char *s = json_string_value(l), *eq = s ? strchr(s, '=') : NULL;

		if (!eq)
			continue;
		if (!strncmp(s, "bundle=", 7))
			*bundle = eq + 1;
		annotation(m, s, eq - s, eq + 1);
	}
}

/* A cgroup path as runc wrote it ("/sys/fs/cgroup/unified/a/b"), relative to the v2 root. */
static void cgroup_rel(char *out, const char *abs)
{
	const char *mounts[] = {NULL, "/sys/fs/cgroup/unified", "/sys/fs/cgroup"};

	mounts[0] = mpt_cgroup2_root();
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		size_t n = mounts[i] ? strlen(mounts[i]) : 0;

		if (n > 1 && !strncmp(abs, mounts[i], n) && (abs[n] == '/' || !abs[n])) {
			snprintf(out, PATH_MAX, "%s", abs[n] ? abs + n : "/");
			return;
		}
	}
	out[0] = '\0';
}

/* containers/storage beside a Podman bundle (<graph>/<driver>-containers/<id>/userdata). */
static void from_storage(const char *root, const char *id, const char *bundle,
			 struct mpt_ctr_meta *m)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], suffix[MPT_CONTAINER_ID_LEN + 16];
	size_t blen = strlen(bundle), slen, i;
	json_t *list, *c, *e;
	const char *img;

	slen = (size_t)snprintf(suffix, sizeof(suffix), "/%s/userdata", id);
	if (blen <= slen || strcmp(bundle + blen - slen, suffix) ||
	    snprintf(dir, sizeof(dir), "%s%.*s", root, (int)(blen - slen), bundle) >= PATH_MAX)
		return;
	snprintf(path, sizeof(path), "%s/containers.json", dir);
	list = read_json(path);
	json_array_foreach(list, i, c)
	{
		json_t *meta;

		if (!jstr(c, "id") || strcmp(jstr(c, "id"), id))
			continue;
		fill(m->name, json_string_value(json_array_get(json_object_get(c, "names"), 0)));
		meta = json_loads(jstr(c, "metadata") ? jstr(c, "metadata") : "", 0, NULL);
		fill(m->image, jstr(meta, "image-name"));
		json_decref(meta);
		img = jstr(c, "image");
		if (img && !m->image_id[0]) {
			snprintf(path, sizeof(path), "sha256:%s", img);
			fill(m->image_id, path);
		}
		break;
	}
	/* "<driver>-containers" -> "<driver>-images": the image's manifest digest */
	img = m->image_id[0] ? m->image_id + 7 : NULL;
	if (img && strlen(dir) > 11 && !strcmp(dir + strlen(dir) - 11, "-containers")) {
		snprintf(path, sizeof(path), "%.*s-images/images.json", (int)(strlen(dir) - 11),
			 dir);
		json_decref(list);
		list = read_json(path);
		json_array_foreach(list, i, e)
		{
			if (jstr(e, "id") && !strcmp(jstr(e, "id"), img))
				fill(m->image_digest, jstr(e, "digest"));
		}
	}
	json_decref(list);
}

/* Docker's own record of a container, in its default data root. */
static void from_docker(const char *root, const char *id, struct mpt_ctr_meta *m)
{
	char path[PATH_MAX];
	const char *name;
	json_t *j, *cfg;

	snprintf(path, sizeof(path), "%s/var/lib/docker/containers/%s/config.v2.json", root, id);
	j = read_json(path);
	if (!j)
		return;
	name = jstr(j, "Name");
	fill(m->name, name && name[0] == '/' ? name + 1 : name);
	cfg = json_object_get(j, "Config");
	fill(m->image, jstr(cfg, "Image"));
	fill(m->image_id, jstr(j, "Image"));
	put_labels(m, json_object_get(cfg, "Labels"));
	json_decref(j);
}

/* runc's state.json of @id: whichever root holds it. */
/* The state of @id: whichever root holds it, the directory holding it in @dir. */
static json_t *find_state(const char *root, const char *id, char *dir, size_t *which)
{
	/* @root is "" or a test's tree: half the room is plenty, and the rest holds <id>/FILE */
	char path[PATH_MAX / 2];

	for (size_t r = 0; r < N_ROOTS; r++) {
		struct dirent *de;
		json_t *j = NULL;
		DIR *d;

		*which = r;
		snprintf(path, sizeof(path), "%s%s", root, runc_roots[r].dir);
		if (!runc_roots[r].namespaced) {
			snprintf(dir, PATH_MAX, "%s/%s", path, id);
			snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s/%s", id,
				 runc_roots[r].file);
			if ((j = read_json(path)))
				return j;
			continue;
		}
		d = opendir(path);
		while (d && !j && (de = readdir(d))) {
			char file[PATH_MAX + 2 * NAME_MAX];

			if (de->d_name[0] == '.')
				continue;
			snprintf(file, sizeof(file), "%s/%s/%s/%s", path, de->d_name, id,
				 runc_roots[r].file);
			j = read_json(file);
		}
		if (d)
			closedir(d);
		if (j)
			return j;
	}
	return NULL;
}

/* crun's status: the cgroup relative to the root, the bundle; annotations in its config copy. */
static void from_crun(const char *dir, const json_t *st, struct rt_info *info, const char **bundle)
{
	const char *cg = jstr(st, "cgroup-path"), *k;
	char path[PATH_MAX + 16];
	json_t *cfg, *v;

	if (cg && cg[0])
		snprintf(info->cgroup, sizeof(info->cgroup), "%s%s", cg[0] == '/' ? "" : "/", cg);
	*bundle = jstr(st, "bundle");
	snprintf(path, sizeof(path), "%s/config.json", dir);
	cfg = read_json(path);
	json_object_foreach(json_object_get(cfg, "annotations"), k, v)
	{
		if (json_is_string(v))
			annotation(&info->meta, k, strlen(k), json_string_value(v));
	}
	json_decref(cfg);
}

static void read_info(const char *root, const char *id, struct rt_info *info)
{
	char dir[PATH_MAX];
	size_t which = 0;
	json_t *st, *cfg;
	const char *bundle = NULL, *abs;

	memset(info, 0, sizeof(*info));
	st = find_state(root, id, dir, &which);
	if (!st)
		return;
	/* crun's status names no id: its directory does */
	if (!strcmp(runc_roots[which].file, "status")) {
		info->found = true;
		from_crun(dir, st, info, &bundle);
	} else if (jstr(st, "id") && !strcmp(jstr(st, "id"), id)) {
		info->found = true;
		cfg = json_object_get(st, "config");
		abs = json_string_value(json_object_get(json_object_get(st, "cgroup_paths"), ""));
		if (abs)
			cgroup_rel(info->cgroup, abs);
		else if ((abs = jstr(json_object_get(cfg, "cgroups"), "path")) && abs[0] == '/')
			snprintf(info->cgroup, sizeof(info->cgroup), "%s", abs);
		from_annotations(&info->meta, json_object_get(cfg, "labels"), &bundle);
	}
	if (info->found && bundle)
		from_storage(root, id, bundle, &info->meta);
	if (info->found)
		from_docker(root, id, &info->meta);
	json_decref(st);
}

/* Names come with a verified id alone: a claimed one would lend them to a fake. */
static void verify(const struct rt_info *info, const char *cgroup_path, struct mpt_ctr_meta *m)
{
	size_t n = strlen(info->cgroup);

	memset(m, 0, sizeof(*m));
	if (!info->found) {
		m->verify = MPT_CTR_UNKNOWN;
		return;
	}
	/* at that cgroup or below it (a container may make cgroups of its own) */
	if (!n || !cgroup_path || strncmp(cgroup_path, info->cgroup, n) ||
	    !(cgroup_path[n] == '\0' || (cgroup_path[n] == '/' && n > 1))) {
		m->verify = MPT_CTR_ELSEWHERE;
		return;
	}
	*m = info->meta;
	m->verify = MPT_CTR_VERIFIED;
}

void mpt_runtime_read(const char *root, const char *id, const char *cgroup_path,
		      struct mpt_ctr_meta *m)
{
	struct rt_info *info = malloc(sizeof(*info));

	if (!info) {
		memset(m, 0, sizeof(*m));
		return;
	}
	read_info(root, id, info);
	verify(info, cgroup_path, m);
	free(info);
}

/* ---- the cache, and the thread that keeps it ----------------------------- */

/* Containers remembered, the oldest first to go: a short-lived one outlives its files here. */
#define CACHE_N 512

struct cache_entry {
	char id[NAME_MAX + 1];
	uint64_t seq; /* 0: empty */
	struct rt_info info;
};

static struct cache_entry cache[CACHE_N];
static uint64_t cache_seq;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* Under cache_lock. */
static struct cache_entry *cache_find(const char *id)
{
	for (size_t i = 0; i < CACHE_N; i++)
		if (cache[i].seq && !strcmp(cache[i].id, id))
			return &cache[i];
	return NULL;
}

/* Remember what was read of @id (only what was found: an unknown id may appear later). */
static void cache_put(const char *id, const struct rt_info *info)
{
	struct cache_entry *e;

	if (!info->found || strlen(id) > NAME_MAX)
		return;
	pthread_mutex_lock(&cache_lock);
	e = cache_find(id);
	if (!e) {
		e = &cache[0];
		for (size_t i = 1; i < CACHE_N; i++)
			if (cache[i].seq < e->seq)
				e = &cache[i];
	}
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->info = *info;
	e->seq = ++cache_seq;
	pthread_mutex_unlock(&cache_lock);
}

void mpt_runtime_lookup(const char *id, const char *cgroup_path, struct mpt_ctr_meta *m)
{
	struct rt_info *info = malloc(sizeof(*info));
	struct cache_entry *e;

	if (!info) {
		memset(m, 0, sizeof(*m));
		return;
	}
	pthread_mutex_lock(&cache_lock);
	e = cache_find(id);
	if (e)
		*info = e->info;
	pthread_mutex_unlock(&cache_lock);
	if (!e) {
		read_info("", id, info);
		cache_put(id, info);
	}
	verify(info, cgroup_path, m);
	free(info);
}

/*
 * The watch: each runc root (and, for the namespaced ones, each namespace)
 * for a new container directory; each container directory for its
 * state.json, which runc renames into place before the container runs.
 */
#define WATCH_N 256

static struct {
	int fd;
	pthread_t thread;
	bool running;
	int stop_pipe[2];
	struct {
		int wd;
		char path[PATH_MAX];
		bool is_container; /* else a directory of containers, or of namespaces */
		bool namespaced;
	} w[WATCH_N];
	size_t n;
} watch = {.fd = -1, .stop_pipe = {-1, -1}};

static void watch_add(const char *path, bool is_container, bool namespaced)
{
	uint32_t mask = is_container ? IN_MOVED_TO | IN_CLOSE_WRITE : IN_CREATE | IN_MOVED_TO;
	int wd = inotify_add_watch(watch.fd, path, mask | IN_ONLYDIR);

	if (wd < 0)
		return;
	for (size_t i = 0; i < watch.n; i++)
		if (watch.w[i].wd == wd)
			return;
	if (watch.n == WATCH_N) {
		inotify_rm_watch(watch.fd, wd);
		return;
	}
	watch.w[watch.n].wd = wd;
	snprintf(watch.w[watch.n].path, PATH_MAX, "%s", path);
	watch.w[watch.n].is_container = is_container;
	watch.w[watch.n].namespaced = namespaced;
	watch.n++;
}

static void container_seen(const char *id);

/* The containers in directory @dir (a flat root, or one namespace's), remembered. */
static void scan_dir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			container_seen(de->d_name);
	if (d)
		closedir(d);
}

/*
 * Roots and namespaces that exist now, watched: at start and every few
 * seconds. With @scan, the containers already in them are read too (at start:
 * the ones running before their first record is read).
 */
static void watch_roots(bool scan)
{
	for (size_t r = 0; r < N_ROOTS; r++) {
		struct dirent *de;
		DIR *d;

		watch_add(runc_roots[r].dir, false, runc_roots[r].namespaced);
		if (!runc_roots[r].namespaced) {
			if (scan)
				scan_dir(runc_roots[r].dir);
			continue;
		}
		d = opendir(runc_roots[r].dir);
		while (d && (de = readdir(d))) {
			char path[PATH_MAX];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", runc_roots[r].dir, de->d_name);
			watch_add(path, false, false);
			if (scan)
				scan_dir(path);
		}
		if (d)
			closedir(d);
	}
}

static void container_seen(const char *id)
{
	struct rt_info *info = malloc(sizeof(*info));

	if (!info)
		return;
	read_info("", id, info);
	cache_put(id, info);
	free(info);
}

static void watch_event(const struct inotify_event *ev)
{
	char path[PATH_MAX + NAME_MAX + 2];

	for (size_t i = 0; i < watch.n; i++) {
		if (watch.w[i].wd != ev->wd)
			continue;
		/* the directory went (a container removed): its slot is free again */
		if (ev->mask & IN_IGNORED) {
			watch.w[i] = watch.w[--watch.n];
			return;
		}
		if (!ev->len)
			return;
		if (watch.w[i].is_container) {
			if (!strcmp(ev->name, "state.json") || !strcmp(ev->name, "status"))
				container_seen(strrchr(watch.w[i].path, '/') + 1);
			return;
		}
		snprintf(path, sizeof(path), "%s/%s", watch.w[i].path, ev->name);
		if (strlen(path) >= PATH_MAX)
			return;
		watch_add(path, !watch.w[i].namespaced, false);
		/* runc may have written it before the watch began */
		if (!watch.w[i].namespaced)
			container_seen(ev->name);
		return;
	}
}

static void *watch_main(void *arg)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p[2] = {{.fd = watch.fd, .events = POLLIN},
			      {.fd = watch.stop_pipe[0], .events = POLLIN}};

	(void)arg;
	watch_roots(true);
	for (;;) {
		int r = poll(p, 2, 2000);
		ssize_t n;

		if (r < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (r <= 0) {
			watch_roots(false);
			continue;
		}
		n = read(watch.fd, buf, sizeof(buf));
		for (char *q = buf; n > 0 && q < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;

			watch_event(ev);
			q += sizeof(*ev) + ev->len;
		}
	}
	return NULL;
}

int mpt_runtime_watch_start(void)
{
	sigset_t all, old;
	int err;

	if (watch.running)
		return 0;
	watch.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (watch.fd < 0 || pipe2(watch.stop_pipe, O_CLOEXEC)) {
		err = -errno;
		mpt_runtime_watch_stop();
		return err;
	}
	watch_roots(false);
	/* looked up once here: the thread then only reads it */
	mpt_cgroup2_root();
	/* the thread takes no signals: they are the main loop's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&watch.thread, NULL, watch_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		mpt_runtime_watch_stop();
		return -err;
	}
	watch.running = true;
	return 0;
}

void mpt_runtime_watch_stop(void)
{
	if (watch.running) {
		if (write(watch.stop_pipe[1], "x", 1) != 1)
			pthread_cancel(watch.thread);
		pthread_join(watch.thread, NULL);
		watch.running = false;
	}
	for (int i = 0; i < 2; i++) {
		if (watch.stop_pipe[i] >= 0)
			close(watch.stop_pipe[i]);
		watch.stop_pipe[i] = -1;
	}
	if (watch.fd >= 0)
		close(watch.fd);
	watch.fd = -1;
	watch.n = 0;
}
