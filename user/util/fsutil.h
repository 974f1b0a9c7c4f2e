/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Files given on the command line: which are the same, and which can be read safely. */
#ifndef MPTRACE_FSUTIL_H
#define MPTRACE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Do @a and @b name the same file? Either may not exist yet. */
bool mpt_same_file(const char *a, const char *b);
/* Is @name one of the files of the rotated capture set @set (set.N)? */
bool mpt_in_capture_set(const char *name, const char *set);
/*
 * Does @path exist and begin with the @len bytes of @magic? Read without
 * blocking (a FIFO or device is not a file that begins with anything).
 */
bool mpt_file_begins_with(const char *path, const void *magic, size_t len);
/*
 * Open @path to read it whole: a regular file of at most @max bytes (0: no
 * limit). Directories, devices, FIFOs and sockets are refused without
 * blocking. Returns the fd, or -errno with @err saying why in one line.
 */
int mpt_open_regular(const char *path, uint64_t max, char *err, size_t len);
/* The same, with more open(2) flags: O_NOFOLLOW for a file a symlink must not stand in for. */
int mpt_open_regular_flags(const char *path, uint64_t max, int oflags, char *err, size_t len);

#endif
