// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "detect/exceptions.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "detect/detect.h"
#include "context/lineage.h"

/* Bounds: a file an operator writes, not a database; a hostile one cannot hold the reader. */
#define MAX_BYTES (1u << 20)
#define MAX_ENTRIES 10000
#define MAX_LINE 4096

struct exception {
	uint32_t rules; /* bits of enum mpt_detection_id */
	char *exe;	/* NULL: any */
	char *container;
	bool has_uid;
	uint32_t uid;
};

struct mpt_exceptions {
	struct exception *e;
	unsigned int n;
};

void mpt_exceptions_free(struct mpt_exceptions *x)
{
	if (!x)
		return;
	for (unsigned int i = 0; i < x->n; i++) {
		free(x->e[i].exe);
		free(x->e[i].container);
	}
	free(x->e);
	free(x);
}

unsigned int mpt_exceptions_count(const struct mpt_exceptions *x)
{
	return x ? x->n : 0;
}

static int parse_rule(const char *tok, uint32_t *rules)
{
	if (!strcmp(tok, "*")) {
		*rules = (1u << MPT_DET_NR) - 1;
		return 0;
	}
	for (int r = 0; r < MPT_DET_NR; r++)
		if (!strcmp(tok, mpt_detection_code(r))) {
			*rules = 1u << r;
			return 0;
		}
	return -1;
}

static int parse_user(const char *v, uint32_t *uid)
{
	struct passwd *pw;
	char *end;
	unsigned long u;

	errno = 0;
	u = strtoul(v, &end, 10);
	if (*v && !*end && !errno && u < UINT32_MAX) {
		*uid = (uint32_t)u;
		return 0;
	}
	pw = getpwnam(v);
	if (!pw)
		return -1;
	*uid = pw->pw_uid;
	return 0;
}

/* One condition, KEY=VALUE; NULL, or why not. */
static const char *parse_cond(char *tok, struct exception *e)
{
	char *v = strchr(tok, '=');

	if (!v || !v[1])
		return "expected KEY=VALUE (exe, container, user)";
	*v++ = '\0';
	/* a condition that failed to be kept would widen the exception: out of memory is an error
	 */
	if (!strcmp(tok, "exe")) {
		if (v[0] != '/' || e->exe)
			return "exe= takes one absolute path";
		return (e->exe = strdup(v)) ? NULL : "out of memory";
	}
	if (!strcmp(tok, "container")) {
		if (e->container || strspn(v, "0123456789abcdef") != strlen(v) || strlen(v) > 64)
			return "container= takes one container id (lowercase hex), or its start";
		return (e->container = strdup(v)) ? NULL : "out of memory";
	}
	if (!strcmp(tok, "user")) {
		if (e->has_uid || parse_user(v, &e->uid))
			return "user= takes one uid or known user name";
		e->has_uid = true;
		return NULL;
	}
	return "unknown condition (exe, container, user)";
}

/* One line into @e; NULL, or why not. A blank or comment line leaves e->rules 0. */
static const char *parse_line(char *line, struct exception *e)
{
	char *save = NULL, *tok;
	const char *why;

	memset(e, 0, sizeof(*e));
	line[strcspn(line, "#")] = '\0';
	tok = strtok_r(line, " \t\r\n", &save);
	if (!tok)
		return NULL;
	for (char *c = tok; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	if (parse_rule(tok, &e->rules))
		return "expected a rule (MPT-1 ... MPT-11, or *) first";
	while ((tok = strtok_r(NULL, " \t\r\n", &save)))
		if ((why = parse_cond(tok, e)))
			return why;
	if (e->rules == (1u << MPT_DET_NR) - 1 && !e->exe && !e->container && !e->has_uid)
		return "'*' with no condition would silence every finding";
	return NULL;
}

static const char *read_all(FILE *f, struct mpt_exceptions *x, unsigned int *lineno)
{
	char line[MAX_LINE + 2];
	struct exception e;
	const char *why;

	while (fgets(line, sizeof(line), f)) {
		++*lineno;
		if (!strchr(line, '\n') && !feof(f))
			return "line too long";
		why = parse_line(line, &e);
		if (why || !e.rules) {
			free(e.exe);
			free(e.container);
			if (why)
				return why;
			continue;
		}
		if (x->n >= MAX_ENTRIES)
			return "too many exceptions";
		if (!(x->n % 64)) {
			struct exception *m = realloc(x->e, (x->n + 64) * sizeof(*m));

			if (!m)
				return "out of memory";
			x->e = m;
		}
		x->e[x->n++] = e;
	}
	return ferror(f) ? strerror(errno ? errno : EIO) : NULL;
}

struct mpt_exceptions *mpt_exceptions_load(const char *path, char *err, size_t len)
{
	struct mpt_exceptions *x = calloc(1, sizeof(*x));
	FILE *f = fopen(path, "re");
	unsigned int lineno = 0;
	struct stat st;
	const char *why;

	if (!x || !f || fstat(fileno(f), &st)) {
		snprintf(err, len, "exceptions %s: %s", path, strerror(x ? errno : ENOMEM));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_BYTES) {
		snprintf(err, len, "exceptions %s: not a regular file of at most 1 MiB", path);
		goto fail;
	}
	why = read_all(f, x, &lineno);
	if (why) {
		snprintf(err, len, "exceptions %s:%u: %s", path, lineno, why);
		goto fail;
	}
	fclose(f);
	return x;
fail:
	if (f)
		fclose(f);
	mpt_exceptions_free(x);
	return NULL;
}

/* The caller's executable is @path, and that path names the file it runs. */
static bool exe_is(const struct mpt_view *v, const char *path)
{
	const struct mpt_enrich *en = v->enrich;
	const struct mpt_proc_info *self = en && en->lineage ? en->lineage->self : NULL;

	if (!en || !en->exe_path || strcmp(en->exe_path, path))
		return false;
	if (v->hdr->task.exe & (MPT_PROC_EXE_FILELESS | MPT_PROC_EXE_DELETED))
		return false;
	return !self || !(self->flags & MPT_PROC_EXE_DOUBTED);
}

static bool holds(const struct exception *e, const struct mpt_view *v)
{
	const struct mpt_enrich *en = v->enrich;

	if (e->exe && !exe_is(v, e->exe))
		return false;
	if (e->container && (!en || !en->container_id ||
			     strncmp(en->container_id, e->container, strlen(e->container))))
		return false;
	return !e->has_uid || v->hdr->task.uid == e->uid;
}

uint32_t mpt_exceptions_match(const struct mpt_exceptions *x, uint32_t hits,
			      const struct mpt_view *v)
{
	uint32_t covered = 0;

	for (unsigned int i = 0; x && i < x->n && covered != hits; i++)
		if ((x->e[i].rules & hits & ~covered) && holds(&x->e[i], v))
			covered |= x->e[i].rules & hits;
	return covered;
}
