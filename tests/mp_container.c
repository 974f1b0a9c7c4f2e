// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A caller for container images built by the tests: static, so that an
 * image is this file alone. Makes @n move_pages(PID, 1, [page], NULL,
 * status, 0) calls on a page of its own (PID 0: itself) and prints
 * "PAGE RET ERRNO" for each; or, with "hold", waits @n seconds: a target.
 *   mp_container [N [PID]]
 *   mp_container hold N
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char page[4096] __attribute__((aligned(4096)));

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	int pid = argc > 2 ? atoi(argv[2]) : 0;
	void *pages[1] = {page};

	if (argc > 2 && !strcmp(argv[1], "hold")) {
		sleep(atoi(argv[2]));
		return 0;
	}
	page[0] = 1;
	for (int i = 0; i < n; i++) {
		int status = -1;
		long ret = syscall(SYS_move_pages, pid, 1, pages, NULL, &status, 0);

		printf("%p %ld %d\n", (void *)page, ret, ret ? errno : 0);
	}
	return 0;
}
