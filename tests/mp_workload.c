// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A known set of move_pages calls for checks that drive the mptrace binary
 * (tests/vm): a query of two pages, then a call with invalid flags (EINVAL),
 * then migrate_pages from node 0 to node 0 (nothing to move).
 * Prints the page addresses so a check can compare them with the trace.
 * An optional argument keeps the process alive that many seconds after.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	char *mem =
	    mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *pages[2];
	int status[2];
	unsigned long node0 = 1;

	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	mem[0] = mem[page] = 1;
	pages[0] = mem;
	pages[1] = mem + page;
	printf("pages %p %p\n", pages[0], pages[1]);
	fflush(stdout);
	if (syscall(SYS_move_pages, 0, 2, pages, NULL, status, 0) != 0)
		return 1;
	if (syscall(SYS_move_pages, 0, 2, pages, NULL, status, 0x10) != -1)
		return 1;
	if (syscall(SYS_migrate_pages, 0, 65, &node0, &node0) != 0)
		return 1;
	if (argc > 1)
		sleep(atoi(argv[1]));
	return 0;
}
