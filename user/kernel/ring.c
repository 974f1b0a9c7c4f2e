// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "kernel/ring.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

struct mpt_ring {
	mpt_ring_fn fn;
	void *ctx;
	unsigned long *cons;	   /* the consumer page, which we write */
	const unsigned long *prod; /* the producer page, then the data */
	const unsigned char *data;
	size_t size, page;
	unsigned char *whole; /* a record that wraps, copied into one piece */
	int epoll_fd;
};

struct mpt_ring *mpt_ring_new(int map_fd, mpt_ring_fn fn, void *ctx)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct epoll_event ev = {.events = EPOLLIN};
	struct mpt_ring *r;
	void *p;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return NULL;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1))) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fn = fn, r->ctx = ctx, r->size = info.max_entries;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->epoll_fd = -1;
	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	r->cons = p;
	/* the producer page and the data once: the kernel maps what the mapping asks */
	p = mmap(NULL, r->page + r->size, PROT_READ, MAP_SHARED, map_fd, (off_t)r->page);
	if (p == MAP_FAILED)
		goto fail;
	r->prod = p;
	r->data = (const unsigned char *)p + r->page;
	/* room for the largest record that wraps; pages are taken as records touch them */
	r->whole = malloc(r->size);
	if (!r->whole)
		goto fail;
	r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epoll_fd < 0 || epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, map_fd, &ev))
		goto fail;
	return r;
fail:
	mpt_ring_free(r);
	return NULL;
}

void mpt_ring_free(struct mpt_ring *r)
{
	int e = errno;

	if (!r)
		return;
	if (r->cons)
		munmap(r->cons, r->page);
	if (r->prod)
		munmap((void *)r->prod, r->page + r->size);
	if (r->epoll_fd >= 0)
		close(r->epoll_fd);
	free(r->whole);
	free(r);
	errno = e;
}

/* Record @len bytes at data offset @off: in place, or copied whole when it wraps. */
static void *record_at(struct mpt_ring *r, size_t off, size_t len)
{
	size_t first = r->size - off;

	if (len <= first)
		return (void *)(r->data + off);
	memcpy(r->whole, r->data + off, first);
	memcpy(r->whole + first, r->data, len - first);
	return r->whole;
}

/* A record's place in the ring: its header and length, 8-byte aligned. */
static unsigned long rounded(uint32_t len)
{
	len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
	return (len + BPF_RINGBUF_HDR_SZ + 7) & ~7ul;
}

int mpt_ring_consume(struct mpt_ring *r)
{
	unsigned long cons = __atomic_load_n(r->cons, __ATOMIC_ACQUIRE), prod;
	bool more;
	int n = 0;

	do {
		more = false;
		prod = __atomic_load_n(r->prod, __ATOMIC_ACQUIRE);
		while (cons < prod) {
			const uint32_t *hdr = (const void *)(r->data + (cons & (r->size - 1)));
			uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			size_t off = ((cons & (r->size - 1)) + BPF_RINGBUF_HDR_SZ) & (r->size - 1);
			int err = 0;

			if (len & BPF_RINGBUF_BUSY_BIT)
				return n; /* not committed yet: the rest after it waits too */
			more = true;
			cons += rounded(len);
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				err = r->fn(r->ctx, record_at(r, off, len), len);
				n++;
			}
			__atomic_store_n(r->cons, cons, __ATOMIC_RELEASE);
			if (err < 0)
				return err;
			if (n == INT_MAX)
				return n;
		}
	} while (more);
	return n;
}

int mpt_ring_poll(struct mpt_ring *r, int timeout_ms)
{
	struct epoll_event ev;

	if (epoll_wait(r->epoll_fd, &ev, 1, timeout_ms) < 0)
		return -errno;
	return mpt_ring_consume(r);
}

void mpt_ring_positions(const struct mpt_ring *r, uint64_t *prod, uint64_t *cons)
{
	*prod = __atomic_load_n(r->prod, __ATOMIC_ACQUIRE);
	*cons = __atomic_load_n(r->cons, __ATOMIC_ACQUIRE);
}
