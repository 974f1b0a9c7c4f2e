// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "util/fsutil.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory made absolute and the last component kept: works before the file exists. */
static bool canonical(const char *path, char *out, size_t len)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (!realpath(dir, real))
		return false;
	return snprintf(out, len, "%s/%s", real, base) < (int)len;
}

bool mpt_same_file(const char *a, const char *b)
{
	char ca[PATH_MAX + 256], cb[PATH_MAX + 256];
	struct stat sa, sb;

	if (!strcmp(a, b))
		return true;
	if (!stat(a, &sa) && !stat(b, &sb))
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return canonical(a, ca, sizeof(ca)) && canonical(b, cb, sizeof(cb)) && !strcmp(ca, cb);
}

bool mpt_file_begins_with(const char *path, const void *magic, size_t len)
{
	char head[64];
	struct stat st;
	bool same;
	int fd;

	if (len > sizeof(head) || stat(path, &st) || !S_ISREG(st.st_mode))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	same = read(fd, head, len) == (ssize_t)len && !memcmp(head, magic, len);
	close(fd);
	return same;
}

bool mpt_in_capture_set(const char *name, const char *set)
{
	char cn[PATH_MAX + 256], cs[PATH_MAX + 256];
	const char *p;
	size_t n;

	if (!canonical(name, cn, sizeof(cn)) || !canonical(set, cs, sizeof(cs)))
		return false;
	n = strlen(cs);
	if (strncmp(cn, cs, n) || cn[n] != '.')
		return false;
	p = cn + n + 1;
	for (; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return cn[n + 1] != '\0';
}

int mpt_open_regular(const char *path, uint64_t max, char *err, size_t len)
{
	return mpt_open_regular_flags(path, max, 0, err, len);
}

int mpt_open_regular_flags(const char *path, uint64_t max, int oflags, char *err, size_t len)
{
	struct stat st;
	int fd, flags;

	/* O_NONBLOCK: opening a FIFO with no writer must not hang */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | oflags);
	if (fd < 0) {
		int e = errno;

		snprintf(err, len, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st)) {
		int e = errno;

		snprintf(err, len, "%s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, len, "%s: not a regular file (%s)", path,
			 S_ISDIR(st.st_mode)	? "a directory"
			 : S_ISFIFO(st.st_mode) ? "a FIFO"
			 : S_ISSOCK(st.st_mode) ? "a socket"
						: "a device");
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if (max && (uint64_t)st.st_size > max) {
		snprintf(err, len, "%s: %lld bytes; at most %llu are read", path,
			 (long long)st.st_size, (unsigned long long)max);
		close(fd);
		return -EFBIG;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}
