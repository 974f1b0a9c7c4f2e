// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A caller for container images built by the tests: static, so that an
 * image is this file alone. Makes @n move_pages(0, 1, [page], NULL, status,
 * 0) calls on a page of its own and prints "PAGE RET ERRNO" for each.
 *   mp_container [N]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static char page[4096] __attribute__((aligned(4096)));

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	void *pages[1] = {page};

	page[0] = 1;
	for (int i = 0; i < n; i++) {
		int status = -1;
		long ret = syscall(SYS_move_pages, 0, 1, pages, NULL, &status, 0);

		printf("%p %ld %d\n", (void *)page, ret, ret ? errno : 0);
	}
	return 0;
}
