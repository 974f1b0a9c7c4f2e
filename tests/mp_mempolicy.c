// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A known set of memory-policy calls for checks that drive the mptrace
 * binary (tests/vm, tests/mempolicy.py), each with an expected result:
 *   mbind(mem, 2 pages, MPOL_BIND, [0], 65, MPOL_MF_MOVE) = 0
 *   mbind(mem, 2 pages, MPOL_BIND, [0], 65, 0x10) = -1 EINVAL
 *   mbind(mem, 2 pages, MPOL_BIND, [0], 65, MPOL_MF_MOVE|MPOL_MF_MOVE_ALL) = 0 (root: EPERM
 *     without CAP_SYS_NICE, which the check allows for)
 *   set_mempolicy_home_node(mem, 2 pages, 0, 0) = 0   (the range is MPOL_BIND now)
 *   set_mempolicy_home_node(mem, 2 pages, 0, 1) = -1 EINVAL
 *   set_mempolicy(MPOL_PREFERRED|MPOL_F_STATIC_NODES, [0], 65) = 0
 *   set_mempolicy(MPOL_DEFAULT, NULL, 0) = 0
 * Prints the range's address so a check can compare it with the trace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node 450
#endif

static int expect(const char *what, long ret, long want, int err)
{
	if (ret == want && (want != -1 || errno == err))
		return 0;
	fprintf(stderr, "mp_mempolicy: %s returned %ld (%m), not %ld\n", what, ret, want);
	return 1;
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *mem =
	    mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long node0 = 1;
	int bad = 0;

	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	mem[0] = mem[page] = 1;
	printf("range %p %ld\n", (void *)mem, 2 * page);
	fflush(stdout);
	bad |= expect("mbind", syscall(SYS_mbind, mem, 2 * page, 2, &node0, 65, 2), 0, 0);
	bad |= expect("mbind 0x10", syscall(SYS_mbind, mem, 2 * page, 2, &node0, 65, 0x10), -1,
		      EINVAL);
	if (syscall(SYS_mbind, mem, 2 * page, 2, &node0, 65, 6) && errno != EPERM)
		bad |= expect("mbind MOVE_ALL", -1, 0, 0);
	bad |= expect("set_mempolicy_home_node",
		      syscall(SYS_set_mempolicy_home_node, mem, 2 * page, 0, 0), 0, 0);
	bad |= expect("set_mempolicy_home_node 1",
		      syscall(SYS_set_mempolicy_home_node, mem, 2 * page, 0, 1), -1, EINVAL);
	bad |= expect("set_mempolicy", syscall(SYS_set_mempolicy, 1 | 1 << 15, &node0, 65), 0, 0);
	bad |= expect("set_mempolicy default", syscall(SYS_set_mempolicy, 0, NULL, 0), 0, 0);
	return bad;
}
