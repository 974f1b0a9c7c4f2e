// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Short-lived callers for the lineage tests: each mode makes one
 * migrate_pages(0, 65, [0], [0]) call (nothing moves) the way a tool that
 * does its work and exits at once would, then exits.
 *   call ...        the call, then exit (the arguments only show in the trace)
 *   fork-rename     a child renames itself (PR_SET_NAME "renamed") and calls
 *   exec-again      execs itself as "mp_lineage call second"
 *   pidns           a child in a new pid namespace (its pid 1 there) calls
 *   wait-call       waits for a byte on stdin, then calls: started before the tracer
 *   deep N          N generations of forked children, the last of which calls
 *   memfd           execs a copy of itself from a memfd, as "mp_lineage call fileless"
 *   unlink-call F   unlinks F (its own executable), then calls
 *   clone-parent    a child made with clone(CLONE_PARENT), a sibling, calls
 *   bind T          in a new user and mount namespace, binds itself over T and execs T
 *                   as "mp_lineage call bound"
 *   as-user U P A   takes uid and gid U (real, effective, saved), then execs P as
 *                   "mp_lineage call A": P may be setuid
 *   held-exec N     N threads held in move_pages, then this thread's own call, then an
 *                   exec as "mp_lineage call after-held" (see held_exec)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int call(void)
{
	unsigned long node0 = 1;

	return syscall(SYS_migrate_pages, 0, 65, &node0, &node0) == 0 ? 0 : 1;
}

static int child_then(int (*fn)(void))
{
	pid_t child = fork();
	int st;

	if (child < 0)
		return 1;
	if (child == 0)
		_exit(fn());
	if (waitpid(child, &st, 0) != child)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* @n more generations below this one; the last calls. */
static int deep(int n)
{
	pid_t child;
	int st;

	if (n <= 0)
		return call();
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0)
		_exit(deep(n - 1));
	if (waitpid(child, &st, 0) != child)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int renamed_call(void)
{
	prctl(PR_SET_NAME, "renamed");
	return call();
}

/* Its own executable into a memfd, run from there: nothing on disk names it. */
static int from_memfd(void)
{
	int in = open("/proc/self/exe", O_RDONLY), fd = memfd_create("mpt-fileless", MFD_CLOEXEC);
	char *args[] = {"mp_lineage", "call", "fileless", NULL}, *env[] = {NULL};
	struct stat st;

	if (in < 0 || fd < 0 || fstat(in, &st) || sendfile(fd, in, NULL, st.st_size) != st.st_size)
		return 1;
	fexecve(fd, args, env);
	return 1;
}

/* A sibling: clone(CLONE_PARENT) gives it this process's parent. Waits for its call. */
static int clone_parent(void)
{
	int done[2];
	char c;
	long child;

	if (pipe(done))
		return 1;
	child = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
	if (child < 0)
		return 1;
	if (child == 0) {
		close(done[0]);
		c = (char)call();
		_exit(write(done[1], &c, 1) == 1 ? c : 1);
	}
	close(done[1]);
	return read(done[0], &c, 1) == 1 ? c : 1;
}

/* Unprivileged: a user namespace's mount namespace puts this executable at @target. */
static int bind_over(const char *target)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0 || unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return 2;
	self[n] = '\0';
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount(self, target, NULL, MS_BIND, NULL))
		return 3;
	execl(target, "mp_lineage", "call", "bound", (char *)NULL);
	return 1;
}

static void *held_call(void *pages)
{
	int status;

	syscall(SYS_move_pages, 0, 1, pages, NULL, &status, 0);
	return NULL;
}

/* One fault message from @uffd: a thread is held. */
static int held_one(int uffd)
{
	struct uffd_msg msg;

	return read(uffd, &msg, sizeof(msg)) == sizeof(msg) ? 0 : -1;
}

struct supplier {
	int uffd;
	struct uffdio_copy copy;
};

/* The page, once one more thread is held: every held call goes on. */
static void *supply_after_fault(void *arg)
{
	struct supplier *s = arg;

	if (held_one(s->uffd) || ioctl(s->uffd, UFFDIO_COPY, &s->copy))
		abort();
	return NULL;
}

/*
 * @n threads held inside move_pages at once (pages[] on a missing
 * userfaultfd page), then this thread's own call enters last: a kretprobe
 * with room for @n returns misses its return. Once all return, this thread
 * execs. The call must still be named by the image that made it ("mp_lineage
 * held-exec"), not the one that replaced it. Prints its pid first.
 */
static int held_exec(int n)
{
	long psz = sysconf(_SC_PAGESIZE);
	char *base = mmap(NULL, psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *target = mmap(NULL, psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct supplier sup = {.uffd = syscall(SYS_userfaultfd, O_CLOEXEC)};
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg = {.range = {(unsigned long)base, psz},
				      .mode = UFFDIO_REGISTER_MODE_MISSING};
	pthread_t *th = calloc(n + 1, sizeof(*th));
	void **src = calloc(1, psz);
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pthread_attr_t attr;
	int status;

	printf("%d\n", (int)getpid());
	fflush(stdout);
	if (base == MAP_FAILED || target == MAP_FAILED || sup.uffd < 0 || !th || !src || len <= 0 ||
	    ioctl(sup.uffd, UFFDIO_API, &api) || ioctl(sup.uffd, UFFDIO_REGISTER, &reg))
		return 2;
	self[len] = '\0';
	target[0] = 1;
	src[0] = target;
	sup.copy =
	    (struct uffdio_copy){.dst = (unsigned long)base, .src = (unsigned long)src, .len = psz};
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], &attr, held_call, base) || held_one(sup.uffd))
			return 3;
	if (pthread_create(&th[n], &attr, supply_after_fault, &sup))
		return 3;
	if (syscall(SYS_move_pages, 0, 1, base, NULL, &status, 0))
		return 4;
	for (int i = 0; i <= n; i++)
		pthread_join(th[i], NULL);
	execl(self, "mp_lineage", "call", "after-held", (char *)NULL);
	return 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	char c;

	/* one name, whatever path ran it (a memfd's is its fd number), for --comm */
	prctl(PR_SET_NAME, "mp_lineage");

	if (!strcmp(mode, "call"))
		return call();
	if (!strcmp(mode, "fork-rename"))
		return child_then(renamed_call);
	if (!strcmp(mode, "exec-again")) {
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		/* by its own path: exec'd as /proc/self/exe its name would be "exe" */
		if (n <= 0)
			return 1;
		self[n] = '\0';
		execl(self, "mp_lineage", "call", "second", (char *)NULL);
		return 1;
	}
	if (!strcmp(mode, "pidns")) {
		if (unshare(CLONE_NEWPID))
			return 2;
		return child_then(call);
	}
	if (!strcmp(mode, "wait-call")) {
		if (read(0, &c, 1) != 1)
			return 1;
		return call();
	}
	if (!strcmp(mode, "deep") && argc > 2)
		return deep(atoi(argv[2]));
	if (!strcmp(mode, "memfd"))
		return from_memfd();
	if (!strcmp(mode, "unlink-call") && argc > 2)
		return unlink(argv[2]) ? 1 : call();
	if (!strcmp(mode, "clone-parent"))
		return clone_parent();
	if (!strcmp(mode, "bind") && argc > 2)
		return bind_over(argv[2]);
	if (!strcmp(mode, "held-exec") && argc > 2)
		return held_exec(atoi(argv[2]));
	if (!strcmp(mode, "as-user") && argc > 4) {
		unsigned int u = atoi(argv[2]);

		if (setgroups(0, NULL) || setresgid(u, u, u) || setresuid(u, u, u))
			return 2;
		execl(argv[3], "mp_lineage", "call", argv[4], (char *)NULL);
		return 1;
	}
	fprintf(stderr,
		"usage: mp_lineage call|fork-rename|exec-again|pidns|wait-call|deep N|memfd|"
		"unlink-call F|clone-parent|bind T\n");
	return 2;
}
