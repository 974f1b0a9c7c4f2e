// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The capture format against damage: round trip, truncation at every byte,
 * every one-byte edit, random corruption, edits that keep the checksums
 * right, rotation, and files from a newer mptrace (an unknown record type,
 * an extended header) or that are no capture at all. Also writes the seed
 * corpus for the fuzzer (argv[1]).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <glob.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "capture/capture.h"
#include "decode/format.h"
#include "fake_event.h"
#include "fleet/fleet_int.h"
#include "util/crc32.h"
#include "util/siphash.h"

#include <zstd.h>

#define NEVENTS 6

static char dir[] = "/tmp/mptrace-capture-XXXXXX";
static const char *seed_dir;

static const struct mpt_cap_meta meta = {
    .mptrace_version = "test",
    .hostname = "host-a",
    .kernel = "6.18.0-test",
    .boot_id = "0bad0bad-0000-4000-8000-000000000000",
    .boot_to_wall_ns = 1700000000000000000ll,
    .attach_mode = "tracepoint",
    .array_cap = 64,
    .command_line = "mptrace --capture x",
    .created_ns = 1700000001000000000ull,
};

static void sample_event(struct fake_event *f, int i)
{
	uint64_t pages[3] = {0x7f0000001000ull + i, 0, 0x7f0000003000ull};
	int32_t nodes[3] = {1, 1, i};
	int32_t status[3] = {1, -14, i};

	fake_init(f);
	f->ev.ts_boot_ns += i * 1000;
	f->ev.task.host_tgid += i;
	f->ev.count = 3 + i;
	fake_arrays(f, 3, pages, i % 2 ? nodes : NULL, i % 3 ? status : NULL);
	if (!(i % 2))
		f->ev.nodes_state = MPT_ARRAY_NULL;
	if (!(i % 3))
		f->ev.status_state = MPT_ARRAY_FAULT;
}

/* numad[812], started by systemd[1]: process records before the first event, once per file */
static const struct mpt_proc_info sample_init = {.tgid = 1,
						 .start_ns = 5,
						 .comm = "systemd",
						 .exe = "/usr/lib/systemd/systemd",
						 .argv = (const unsigned char *)"/sbin/init",
						 .argv_len = 11};
static const struct mpt_proc_info sample_self = {.tgid = 812,
						 .ptgid = 1,
						 .pstart_ns = 5,
						 .comm = "numad",
						 .exe = "/usr/bin/numad",
						 .argv = (const unsigned char *)"numad\0-i\00015",
						 .argv_len = 12};
static const struct mpt_lineage_view sample_lineage = {
    .self = &sample_self, .anc = {&sample_init}, .n_anc = 1};

static const struct mpt_enrich sample_enrich = {
    "/system.slice/docker-3f4e.scope", "/usr/bin/numad", "", "", "", &sample_lineage, NULL, NULL,
};

/* NEVENTS events, one drop, a flush every two events; returns the file's bytes. */
static unsigned char *write_sample(const char *name, size_t *len,
				   void (*extra)(struct mpt_cap_writer *w))
{
	const struct mpt_cap_writer_opts o = {.path = name};
	struct mpt_cap_writer *w;
	struct fake_event f;
	struct mpt_view v;
	const char *why;
	char err[256];
	unsigned char *buf;
	FILE *fp;
	long n;

	assert_int_equal(mpt_cap_writer_open(&o, &meta, &w, err, sizeof(err)), 0);
	for (int i = 0; i < NEVENTS; i++) {
		sample_event(&f, i);
		assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
		v.enrich = &sample_enrich;
		assert_int_equal(mpt_cap_write_event(w, &v), 0);
		if (i == 2)
			assert_int_equal(
			    mpt_cap_write_drop(w, MPT_STAT_RINGBUF_FULL, 4242, 7, 10, 20), 0);
		if (i % 2)
			assert_int_equal(mpt_cap_flush(w), 0);
	}
	if (extra)
		extra(w);
	assert_int_equal(mpt_cap_writer_close(w, NULL, NULL), 0);
	fp = fopen(name, "r");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc(n);
	assert_int_equal(fread(buf, 1, n, fp), (size_t)n);
	fclose(fp);
	*len = n;
	return buf;
}

struct result {
	int status; /* 0 or an mpt_cap_status */
	int events, drops;
	uint64_t unknown, records, chain_blocks;
	uint64_t ends[64]; /* end offset of each event record */
	char error[512], head[2 * MPT_CAP_HASH_LEN + 1];
};

/* The threads of this process: a reader of a regular file adds one while it reads ahead. */
static int threads(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/self/task", &st), 0);
	return (int)st.st_nlink - 2;
}

static void read_file(FILE *f, struct result *res)
{
	struct mpt_cap_reader *r;
	struct mpt_cap_item it;
	char err[512];
	int rc;

	memset(res, 0, sizeof(*res));
	rc = mpt_cap_reader_open(f, &r, err, sizeof(err));
	if (rc) {
		res->status = rc;
		snprintf(res->error, sizeof(res->error), "%s", err);
		return;
	}
	while ((rc = mpt_cap_next(r, &it)) > 0) {
		if (it.type == MPT_CAP_REC_EVENT) {
			if (res->events < 64)
				res->ends[res->events] = it.offset + it.size;
			res->events++;
		} else {
			res->drops++;
		}
	}
	res->status = -rc;
	res->unknown = mpt_cap_reader_counts(r)->unknown;
	res->records = mpt_cap_reader_counts(r)->records;
	res->chain_blocks = mpt_cap_reader_counts(r)->chain_blocks;
	snprintf(res->error, sizeof(res->error), "%s", rc ? mpt_cap_reader_error(r) : "");
	mpt_cap_reader_chain_head(r, res->head);
	mpt_cap_reader_free(r);
}

/*
 * @buf read from memory, and from a file, where a thread reads ahead: the
 * same items, counts, damage and chain head either way.
 */
static void read_buf(const unsigned char *buf, size_t len, struct result *res)
{
	FILE *f = len ? fmemopen((void *)buf, len, "r") : fopen("/dev/null", "r");
	struct result file;

	assert_non_null(f);
	read_file(f, res);
	fclose(f);
	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	rewind(f);
	read_file(f, &file);
	fclose(f);
	assert_memory_equal(res, &file, sizeof(file));
}

static void test_round_trip(void **state)
{
	char name[128], err[512];
	struct mpt_cap_reader *r;
	struct mpt_cap_item it;
	struct fake_event f;
	size_t len;
	unsigned char *buf;
	FILE *fp;
	int i = 0, rc;

	(void)state;
	snprintf(name, sizeof(name), "%s/round.mpcap", dir);
	buf = write_sample(name, &len, NULL);
	fp = fopen(name, "r");
	assert_int_equal(mpt_cap_reader_open(fp, &r, err, sizeof(err)), 0);
	assert_string_equal(mpt_cap_reader_meta(r)->hostname, "host-a");
	assert_string_equal(mpt_cap_reader_meta(r)->kernel, "6.18.0-test");
	assert_string_equal(mpt_cap_reader_meta(r)->boot_id, meta.boot_id);
	assert_int_equal(mpt_cap_reader_meta(r)->boot_to_wall_ns, meta.boot_to_wall_ns);
	assert_string_equal(mpt_cap_reader_meta(r)->attach_mode, "tracepoint");
	assert_int_equal(mpt_cap_reader_meta(r)->array_cap, 64);
	assert_string_equal(mpt_cap_reader_meta(r)->command_line, meta.command_line);
	while ((rc = mpt_cap_next(r, &it)) > 0) {
		if (it.type == MPT_CAP_REC_DROP) {
			assert_int_equal(i, 3);
			assert_int_equal(it.drop_cause, MPT_STAT_RINGBUF_FULL);
			assert_int_equal(it.drop_count, 7);
			assert_int_equal(it.drop_tgid, 4242); /* whose calls they were (1.3) */
			assert_int_equal(it.drop_first_ns, 10);
			assert_int_equal(it.drop_last_ns, 20);
			continue;
		}
		sample_event(&f, i++);
		/* the kernel record comes back byte for byte, with what the user side added */
		assert_int_equal(it.view.raw_size, f.ev.size);
		assert_memory_equal(it.view.raw, &f, f.ev.size);
		assert_string_equal(it.enrich.cgroup_path, sample_enrich.cgroup_path);
		assert_string_equal(it.enrich.exe_path, sample_enrich.exe_path);
		/* the lineage, from the process records before the first event: of numad[812] */
		if (it.view.hdr->task.host_tgid != sample_self.tgid) {
			assert_null(it.enrich.lineage);
			continue;
		}
		assert_non_null(it.enrich.lineage);
		assert_string_equal(it.enrich.lineage->self->exe, "/usr/bin/numad");
		assert_int_equal(it.enrich.lineage->self->argv_len, 12);
		assert_memory_equal(it.enrich.lineage->self->argv, "numad\0-i\00015", 12);
		assert_int_equal(it.enrich.lineage->n_anc, 1);
		assert_string_equal(it.enrich.lineage->anc[0]->comm, "systemd");
		assert_string_equal(it.enrich.lineage->anc[0]->exe, "/usr/lib/systemd/systemd");
	}
	/* each process once in the file, not once per event */
	assert_int_equal(mpt_cap_reader_counts(r)->processes, 2);
	assert_int_equal(rc, 0);
	assert_int_equal(i, NEVENTS);
	assert_int_equal(mpt_cap_reader_counts(r)->events, NEVENTS);
	assert_int_equal(mpt_cap_reader_counts(r)->dropped, 7);
	assert_true(mpt_cap_reader_counts(r)->ended);
	/* header, then a block per flush, then the END's */
	assert_int_equal(mpt_cap_reader_counts(r)->chain_blocks, 1 + NEVENTS / 2 + 1);
	mpt_cap_reader_free(r);
	fclose(fp);
	if (seed_dir) {
		char seed[512];

		snprintf(seed, sizeof(seed), "%s/sample.mpcap", seed_dir);
		fp = fopen(seed, "w");
		assert_non_null(fp);
		fwrite(buf, 1, len, fp);
		fclose(fp);
	}
	free(buf);
}

static struct fake_migrate old_mg;
static struct fake_call new_mg;
static struct fake_event old_mp;
static struct fake_call new_mp;

/* Each older record (migrate_pages of version 4, move_pages of 5), then its twin in today's. */
static void write_old_pairs(struct mpt_cap_writer *w)
{
	const void *recs[4] = {&old_mg, &new_mg, &old_mp, &new_mp};
	struct mpt_view v;
	const char *why;

	fake_migrate_init(&old_mg);
	old_mg.data[16] = 0x04; /* old_nodes rewritten during the call */
	old_mg.ev.size += 8;
	old_mg.ev.changed = MPT_MG_V4_CHANGED_OLD;
	fake_migrate_as_call(&old_mg, &new_mg);
	sample_event(&old_mp, 1);
	memcpy(old_mp.data + old_mp.ev.size - sizeof(old_mp.ev), old_mp.data, 24);
	old_mp.data[old_mp.ev.size - sizeof(old_mp.ev)] = 0x04; /* pages[] rewritten too */
	old_mp.ev.size += 24;
	old_mp.ev.changed = MPT_CHANGED_PAGES;
	fake_move_as_call(&old_mp, &new_mp);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(
		    mpt_event_parse(recs[i], ((const struct mpt_rec_hdr *)recs[i])->size, &v, &why),
		    0);
		assert_int_equal(mpt_cap_write_event(w, &v), 0);
	}
}

/* The event's JSON line, into @sb. */
static void item_json(const struct mpt_cap_item *it, struct strbuf *sb)
{
	const struct mpt_fmt_ctx ctx = {.hostname = "h"};

	sb_reset(sb);
	mpt_format_json(sb, &it->view, &ctx);
	sb_putc(sb, '\0');
}

/*
 * A capture holding a version 4 migrate_pages record (an older file
 * replayed into a new one keeps it as it was) reads it back byte for byte,
 * decoded as the generic record, and prints it as the same call in
 * version 5. The file is a seed for the fuzzer, for the lift.
 */
/*
 * Older records (migrate_pages of version 4, move_pages of 5) and their
 * twins in today's generic record, through a capture: each comes back byte
 * for byte, and each older one prints as its twin.
 */
static void test_old_records_kept(void **state)
{
	const struct mpt_rec_hdr *want[4] = {&old_mg.ev.hdr, &new_mg.ev.hdr, &old_mp.ev.hdr,
					     &new_mp.ev.hdr};
	const uint16_t version[4] = {4, MPT_EVENT_VERSION, 5, MPT_EVENT_VERSION};
	char name[128], err[512];
	struct mpt_cap_reader *r;
	struct mpt_cap_item it;
	struct strbuf json[4];
	unsigned char *buf;
	size_t len;
	FILE *fp;
	int i = 0;

	(void)state;
	snprintf(name, sizeof(name), "%s/old-records.mpcap", dir);
	buf = write_sample(name, &len, write_old_pairs);
	fp = fopen(name, "r");
	assert_int_equal(mpt_cap_reader_open(fp, &r, err, sizeof(err)), 0);
	while (mpt_cap_next(r, &it) > 0) {
		int k = i - NEVENTS;

		if (it.type != MPT_CAP_REC_EVENT || i++ < NEVENTS)
			continue;
		assert_true(k < 4);
		assert_int_equal(it.view.raw_size, want[k]->size);
		assert_memory_equal(it.view.raw, want[k], want[k]->size);
		assert_int_equal(it.view.hdr->version, version[k]);
		assert_non_null(it.view.call);
		/* each rewrote its argument 2 during the call: a node mask, pages[] */
		assert_true(it.view.arg[2].changed);
		assert_int_equal(it.view.arg[2].exit_data[0], 0x04);
		sb_init(&json[k]);
		item_json(&it, &json[k]);
	}
	assert_int_equal(i, NEVENTS + 4);
	assert_int_equal(mpt_cap_reader_counts(r)->ended, true);
	assert_string_equal(json[0].buf, json[1].buf);
	assert_string_equal(json[2].buf, json[3].buf);
	assert_non_null(strstr(json[0].buf, "\"eventName\":\"migrate_pages\""));
	assert_non_null(strstr(json[2].buf, "\"eventName\":\"move_pages\""));
	for (int k = 0; k < 4; k++)
		sb_free(&json[k]);
	mpt_cap_reader_free(r);
	fclose(fp);
	if (seed_dir) {
		snprintf(name, sizeof(name), "%s/old-records.mpcap", seed_dir);
		fp = fopen(name, "w");
		assert_non_null(fp);
		assert_int_equal(fwrite(buf, 1, len, fp), len);
		fclose(fp);
	}
	free(buf);
}

/* Where each chain record of an intact file ends: what a cut after it keeps. */
static size_t chain_ends(const unsigned char *buf, size_t len, size_t *ends, size_t max)
{
	size_t off = MPT_CAP_PREAMBLE_SIZE, n = 0;

	while (off + MPT_CAP_REC_HDR_SIZE <= len) {
		uint16_t type;
		uint32_t plen;

		memcpy(&type, buf + off, 2);
		memcpy(&plen, buf + off + 4, 4);
		off += MPT_CAP_REC_HDR_SIZE + plen;
		if (type == MPT_CAP_REC_CHAIN && n < max)
			ends[n++] = off;
	}
	return n;
}

/*
 * Cut after every byte: every event of a block whose chain record is wholly
 * before the cut is still read, and nothing a chain record does not vouch for.
 */
static void test_truncated_everywhere(void **state)
{
	struct result full, part;
	size_t chains[64], n_chains;
	char name[128];
	unsigned char *buf;
	size_t len;

	(void)state;
	snprintf(name, sizeof(name), "%s/trunc.mpcap", dir);
	buf = write_sample(name, &len, NULL);
	read_buf(buf, len, &full);
	assert_int_equal(full.status, 0);
	assert_int_equal(full.events, NEVENTS);
	n_chains = chain_ends(buf, len, chains, 64);
	for (size_t cut = 0; cut < len; cut++) {
		size_t vouched = 0;
		int want = 0;

		read_buf(buf, cut, &part);
		for (size_t k = 0; k < n_chains; k++)
			if (chains[k] <= cut)
				vouched = chains[k];
		for (int i = 0; i < NEVENTS; i++)
			want += full.ends[i] <= vouched;
		if (cut < MPT_CAP_PREAMBLE_SIZE)
			assert_int_equal(part.status, MPT_CAP_ENOTCAP);
		else
			assert_int_equal(part.status, MPT_CAP_EDAMAGED);
		if (part.events != want)
			fail_msg("cut at %zu of %zu: %d events read, %d wholly before it", cut, len,
				 part.events, want);
	}
	free(buf);
}

/* Any one byte changed anywhere is detected, and nothing after it is trusted. */
static void test_every_byte_edit(void **state)
{
	struct result res;
	char name[128];
	unsigned char *buf;
	size_t len;

	(void)state;
	snprintf(name, sizeof(name), "%s/edit.mpcap", dir);
	buf = write_sample(name, &len, NULL);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			buf[i] ^= 1 << bit;
			read_buf(buf, len, &res);
			if (res.status == 0)
				fail_msg("flipping bit %d of byte %zu of %zu went unnoticed", bit,
					 i, len);
			assert_true(res.events <= NEVENTS);
			buf[i] ^= 1 << bit;
		}
	}
	free(buf);
}

static void test_random_corruption(void **state)
{
	struct result res;
	char name[128];
	unsigned char *buf, *bad;
	size_t len;

	(void)state;
	srand(42);
	snprintf(name, sizeof(name), "%s/rand.mpcap", dir);
	buf = write_sample(name, &len, NULL);
	bad = malloc(len);
	for (int round = 0; round < 3000; round++) {
		int edits = 1 + rand() % 8;

		memcpy(bad, buf, len);
		for (int e = 0; e < edits; e++) {
			size_t at = rand() % len, n = 1 + rand() % 16;

			for (size_t k = 0; k < n && at + k < len; k++)
				bad[at + k] = rand();
		}
		read_buf(bad, len, &res);
		assert_true(res.events <= NEVENTS);
		if (!memcmp(bad, buf, len))
			assert_int_equal(res.status, 0);
		else
			assert_int_not_equal(res.status, 0);
	}
	free(bad);
	free(buf);
}

/* ---- files written by hand: a future mptrace, or damage of a given shape ---- */

struct raw {
	unsigned char buf[1 << 16];
	size_t len, block_start;
	unsigned char prev[MPT_CAP_HASH_LEN];
	uint64_t blocks;
	uint64_t events; /* for the END record */
};

static void raw_put(struct raw *r, const void *p, size_t n)
{
	memcpy(r->buf + r->len, p, n);
	r->len += n;
}

static void raw_preamble(struct raw *r, uint16_t major, uint16_t minor)
{
	unsigned char p[16];
	uint32_t crc;

	memset(r, 0, sizeof(*r));
	memcpy(p, MPT_CAP_MAGIC, 8);
	memcpy(p + 8, &major, 2);
	memcpy(p + 10, &minor, 2);
	crc = crc32(crc32(0, Z_NULL, 0), p, 12);
	memcpy(p + 12, &crc, 4);
	raw_put(r, p, 16);
}

static void raw_record_len(struct raw *r, uint16_t type, const void *payload, uint32_t len,
			   uint32_t claimed)
{
	unsigned char h[12];
	uint16_t zero = 0;
	uint32_t crc;

	memcpy(h, &type, 2);
	memcpy(h + 2, &zero, 2);
	memcpy(h + 4, &claimed, 4);
	crc = crc32(crc32(0, Z_NULL, 0), h, 8);
	if (len)
		crc = crc32(crc, payload, len);
	memcpy(h + 8, &crc, 4);
	raw_put(r, h, 12);
	raw_put(r, payload, len);
}

static void raw_record(struct raw *r, uint16_t type, const void *payload, uint32_t len)
{
	raw_record_len(r, type, payload, len, len);
}

static void raw_chain(struct raw *r)
{
	unsigned char p[16 + MPT_CAP_HASH_LEN];
	uint64_t covered = r->len;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, r->prev, MPT_CAP_HASH_LEN);
	EVP_DigestUpdate(ctx, r->buf + r->block_start, r->len - r->block_start);
	EVP_DigestFinal_ex(ctx, p + 16, &n);
	EVP_MD_CTX_free(ctx);
	memcpy(p, &r->blocks, 8);
	memcpy(p + 8, &covered, 8);
	raw_record(r, MPT_CAP_REC_CHAIN, p, sizeof(p));
	memcpy(r->prev, p + 16, MPT_CAP_HASH_LEN);
	r->blocks++;
	r->block_start = r->len;
}

static void raw_header(struct raw *r, const char *extra)
{
	char json[4096];

	snprintf(json, sizeof(json),
		 "{\"format\":\"mptrace-capture\",\"major\":1,\"minor\":7,\"hostName\":\"h\","
		 "\"bootToWallNs\":5,\"event\":{\"name\":\"move_pages\",\"recordVersion\":%d}%s}",
		 MPT_EVENT_VERSION, extra);
	raw_record(r, MPT_CAP_REC_HEADER, json, strlen(json));
}

static void raw_event(struct raw *r, int i)
{
	unsigned char p[4 + sizeof(struct fake_event) + 10];
	struct fake_event f;
	uint32_t k;

	sample_event(&f, i);
	k = f.ev.size;
	memcpy(p, &k, 4);
	memcpy(p + 4, &f, k);
	memset(p + 4 + k, 0, 10); /* five empty strings */
	raw_record(r, MPT_CAP_REC_EVENT, p, 4 + k + 10);
	r->events++;
}

static void raw_end(struct raw *r)
{
	unsigned char end[32] = {0};

	/* format 1.1: the END record counts what its file holds */
	memcpy(end, &r->events, 8);
	raw_record(r, MPT_CAP_REC_END, end, sizeof(end));
	raw_chain(r);
}

static void save_seed(const struct raw *r, const char *name)
{
	char path[512];
	FILE *f;

	if (!seed_dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(r->buf, 1, r->len, f);
	fclose(f);
}

static void test_newer_minor_version(void **state)
{
	static struct raw r;
	struct result res;

	(void)state;
	/* a newer minor: extra header fields, an unknown record type between events */
	raw_preamble(&r, MPT_CAP_MAJOR, 7);
	raw_header(&r, ",\"futureField\":{\"x\":[1,2,3]},\"moreTags\":\"TOCTOU\"");
	raw_chain(&r);
	raw_event(&r, 0);
	raw_record(&r, 99, "from the future", 15);
	raw_record(&r, 100, "", 0);
	raw_event(&r, 1);
	raw_chain(&r);
	raw_end(&r);
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.events, 2);
	assert_int_equal(res.unknown, 2);
	save_seed(&r, "future.mpcap");
}

static void test_bad_files(void **state)
{
	static struct raw r;
	struct result res;
	unsigned char ev[4] = {0};

	(void)state;
	/* a newer major version */
	raw_preamble(&r, MPT_CAP_MAJOR + 1, 0);
	raw_header(&r, "");
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, MPT_CAP_EVERSION);

	/* wrong magic, text, nothing */
	read_buf((const unsigned char *)"MPTCAP\n\n0123456789abcdef", 24, &res);
	assert_int_equal(res.status, MPT_CAP_ENOTCAP);
	read_buf((const unsigned char *)"root:x:0:0:root:/root:/bin/bash\n", 32, &res);
	assert_int_equal(res.status, MPT_CAP_ENOTCAP);
	read_buf(NULL, 0, &res);
	assert_int_equal(res.status, MPT_CAP_ENOTCAP);

	/* a header that is not JSON, or not ours; events first */
	raw_preamble(&r, MPT_CAP_MAJOR, 0);
	raw_record(&r, MPT_CAP_REC_HEADER, "{not json", 9);
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, MPT_CAP_EDAMAGED);
	raw_preamble(&r, MPT_CAP_MAJOR, 0);
	raw_record(&r, MPT_CAP_REC_HEADER, "{\"format\":\"pcapng\"}", 19);
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, MPT_CAP_ENOTCAP);
	raw_preamble(&r, MPT_CAP_MAJOR, 0);
	raw_event(&r, 0);
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, MPT_CAP_EDAMAGED);

	/* a zero-length event, an event shorter than a record, an enormous length */
	raw_preamble(&r, MPT_CAP_MAJOR, 0);
	raw_header(&r, "");
	raw_chain(&r);
	raw_event(&r, 0);
	raw_chain(&r);
	raw_record(&r, MPT_CAP_REC_EVENT, "", 0);
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, MPT_CAP_EDAMAGED);
	assert_int_equal(res.events, 1);
	save_seed(&r, "zero-length.mpcap");

	raw_preamble(&r, MPT_CAP_MAJOR, 0);
	raw_header(&r, "");
	raw_record(&r, MPT_CAP_REC_EVENT, ev, 4);
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, MPT_CAP_EDAMAGED);

	raw_preamble(&r, MPT_CAP_MAJOR, 0);
	raw_header(&r, "");
	raw_chain(&r);
	raw_event(&r, 0);
	raw_chain(&r);
	raw_record_len(&r, MPT_CAP_REC_EVENT, "", 0, 0xffffffffu);
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, MPT_CAP_EDAMAGED);
	assert_int_equal(res.events, 1);
	save_seed(&r, "enormous.mpcap");

	/* a second header */
	raw_preamble(&r, MPT_CAP_MAJOR, 0);
	raw_header(&r, "");
	raw_header(&r, "");
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, MPT_CAP_EDAMAGED);
}

/*
 * Unknown records of a newer minor, 9 MiB of them with no chain record: the
 * reader holds at most one block (8 MiB), then says the file is not one
 * mptrace writes; its memory does not grow with the file.
 */
static void test_block_bounded(void **state)
{
	static struct raw r;
	static unsigned char payload[MPT_CAP_MAX_PAYLOAD];
	struct mpt_cap_reader *rd;
	struct mpt_cap_item it;
	char name[128], err[512];
	unsigned char h[12];
	uint16_t type = 77, zero = 0;
	uint32_t len = sizeof(payload), crc;
	FILE *f;
	int rc;

	(void)state;
	raw_preamble(&r, MPT_CAP_MAJOR, 9);
	raw_header(&r, "");
	raw_chain(&r);
	snprintf(name, sizeof(name), "%s/bounded.mpcap", dir);
	f = fopen(name, "w+");
	assert_non_null(f);
	fwrite(r.buf, 1, r.len, f);
	memcpy(h, &type, 2);
	memcpy(h + 2, &zero, 2);
	memcpy(h + 4, &len, 4);
	crc = crc32(crc32(crc32(0, Z_NULL, 0), h, 8), payload, len);
	memcpy(h + 8, &crc, 4);
	for (int i = 0; i < 9; i++) {
		fwrite(h, 1, sizeof(h), f);
		fwrite(payload, 1, len, f);
	}
	rewind(f);
	assert_int_equal(mpt_cap_reader_open(f, &rd, err, sizeof(err)), 0);
	rc = mpt_cap_next(rd, &it);
	assert_int_equal(rc, -MPT_CAP_EDAMAGED);
	assert_non_null(strstr(mpt_cap_reader_error(rd), "no chain record within"));
	mpt_cap_reader_free(rd);
	fclose(f);
	unlink(name);
}

/* An edit that fixes up the record's CRC still breaks the hash chain. */
static void test_tamper_with_fixed_crc(void **state)
{
	static struct raw r;
	struct result res;
	size_t ev_at;
	uint32_t crc, len;

	(void)state;
	raw_preamble(&r, MPT_CAP_MAJOR, 0);
	raw_header(&r, "");
	raw_chain(&r);
	ev_at = r.len;
	raw_event(&r, 0);
	raw_event(&r, 1);
	raw_chain(&r);
	raw_end(&r);
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, 0);

	/* change the caller's pid in the first event, and recompute its checksum */
	memcpy(&len, r.buf + ev_at + 4, 4);
	r.buf[ev_at + 12 + 4 + offsetof(struct mpt_event, task)] ^= 0x01;
	crc = crc32(crc32(0, Z_NULL, 0), r.buf + ev_at, 8);
	crc = crc32(crc, r.buf + ev_at + 12, len);
	memcpy(r.buf + ev_at + 8, &crc, 4);
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, MPT_CAP_ETAMPERED);
	/* nothing of the altered block is handed out: its chain record does not vouch for it */
	assert_int_equal(res.events, 0);
}

static void say_nothing(const char *msg)
{
	(void)msg;
}

/*
 * The ring's three files (fileSeq 3, 4, 5) form one chain; without the
 * middle one, or with one file twice, they do not.
 */
static void check_ring_set(const char *base)
{
	struct mpt_cap_reader *r[3];
	const struct mpt_cap_meta *meta[3];
	char heads[3][2 * MPT_CAP_HASH_LEN + 1], path[3][256], err[256];
	const char *names[3], *head[3];
	struct mpt_cap_item it;
	FILE *f[3];

	for (int i = 0; i < 3; i++) {
		/* slot 0 holds fileSeq 3, the oldest kept */
		snprintf(path[i], sizeof(path[i]), "%s/%s.%d", dir, base, i);
		f[i] = fopen(path[i], "r");
		assert_int_equal(mpt_cap_reader_open(f[i], &r[i], err, sizeof(err)), 0);
		while (mpt_cap_next(r[i], &it) > 0)
			;
		mpt_cap_reader_chain_head(r[i], heads[i]);
		meta[i] = mpt_cap_reader_meta(r[i]);
		assert_int_equal(meta[i]->file_seq, 3 + i);
		names[i] = path[i];
		head[i] = heads[i];
	}
	assert_int_equal(mpt_cap_check_set(names, meta, head, 3, say_nothing), MPT_CAP_OK);
	/* 4 and 5 of a ring of 3 that wrote 6: the oldest kept, 3, was taken away */
	assert_int_equal(mpt_cap_check_set(names + 1, meta + 1, head + 1, 2, say_nothing),
			 MPT_CAP_ESET);
	/* file 3 swapped for a file of another set, under its name */
	{
		struct mpt_cap_meta other = *meta[0];
		const struct mpt_cap_meta *swapped[3] = {&other, meta[1], meta[2]};

		other.set_id = "00000000000000000000000000000001";
		other.file_seq = 0;
		other.prev_file_seq = -1;
		assert_int_equal(mpt_cap_check_set(names, swapped, head, 3, say_nothing),
				 MPT_CAP_ESET);
	}
	/* a file edited, checked with its set that a file is missing from: the edit is told */
	assert_int_equal(mpt_cap_graver(MPT_CAP_ESET, MPT_CAP_ETAMPERED), MPT_CAP_ETAMPERED);
	assert_int_equal(mpt_cap_graver(MPT_CAP_ETAMPERED, MPT_CAP_ESET), MPT_CAP_ETAMPERED);
	assert_int_equal(mpt_cap_graver(MPT_CAP_EDAMAGED, MPT_CAP_ESET), MPT_CAP_ESET);
	assert_int_equal(mpt_cap_graver(MPT_CAP_OK, MPT_CAP_EIO), MPT_CAP_EIO);
	/* 3 and 5: 4 is missing */
	meta[1] = meta[2], names[1] = names[2], head[1] = head[2];
	assert_int_equal(mpt_cap_check_set(names, meta, head, 2, say_nothing), MPT_CAP_ESET);
	/* 3 twice */
	meta[1] = meta[0], names[1] = names[0], head[1] = head[0];
	assert_int_equal(mpt_cap_check_set(names, meta, head, 2, say_nothing), MPT_CAP_ESET);
	for (int i = 0; i < 3; i++) {
		mpt_cap_reader_free(r[i]);
		fclose(f[i]);
	}
}

#define AHEAD_TEST_BLOCKS 40

/*
 * Until this process has @n threads, 5 s at most: a joined thread leaves
 * /proc a moment after its joiner returns, longer on a busy machine.
 */
static void wait_threads(int n)
{
	for (int i = 0; i < 500 && threads() != n; i++)
		usleep(10 * 1000);
	assert_int_equal(threads(), n);
}

/* The threads of this process once those of readers freed before have left /proc. */
static int settled_threads(void)
{
	int n = threads();

	for (int same = 0, i = 0; same < 20 && i < 500; i++) {
		usleep(10 * 1000);
		same = threads() == n ? same + 1 : 0;
		n = threads();
	}
	return n;
}

/* A record's CRC made right again after an edit: only the hash chain can tell. */
static void raw_fix_crc(struct raw *r, size_t at)
{
	uint32_t len, crc;

	memcpy(&len, r->buf + at + 4, 4);
	crc = crc32(crc32(0, Z_NULL, 0), r->buf + at, 8);
	crc = crc32(crc, r->buf + at + 12, len);
	memcpy(r->buf + at + 8, &crc, 4);
}

/* AHEAD_TEST_BLOCKS blocks of one event each, more than a reader holds ahead; @at: where. */
static void ahead_capture(struct raw *r, size_t *at)
{
	raw_preamble(r, MPT_CAP_MAJOR, 0);
	raw_header(r, "");
	raw_chain(r);
	for (int i = 0; i < AHEAD_TEST_BLOCKS; i++) {
		at[i] = r->len;
		raw_event(r, i % NEVENTS);
		raw_chain(r);
	}
	raw_end(r);
}

/*
 * More blocks than a reader holds ahead: its thread starts when the caller
 * wants a second block, runs beside it, waits for it, and hands out the
 * blocks in order, up to damage or an edit in block 30 as a reader without
 * it does (read_buf compares the two), and stops when the reader is freed
 * early.
 */
static void test_read_ahead(void **state)
{
	static struct raw r;
	struct mpt_cap_reader *rd;
	struct mpt_cap_item it;
	struct result res;
	size_t at[AHEAD_TEST_BLOCKS];
	char err[512];
	int before;
	FILE *f;

	(void)state;
	ahead_capture(&r, at);
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.events, AHEAD_TEST_BLOCKS);
	assert_int_equal(res.chain_blocks, AHEAD_TEST_BLOCKS + 2);

	before = settled_threads();
	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(r.buf, 1, r.len, f), r.len);
	rewind(f);
	assert_int_equal(mpt_cap_reader_open(f, &rd, err, sizeof(err)), 0);
	/* the first block is read by the caller: replay opens every file of a set at once */
	assert_int_equal(mpt_cap_next(rd, &it), 1);
	assert_int_equal(it.offset, at[0]);
	wait_threads(before);
	assert_int_equal(mpt_cap_next(rd, &it), 1);
	assert_int_equal(it.offset, at[1]);
	/* the ring is full before the file ends: the thread waits for this reader */
	wait_threads(before + 1);
	/* freed early, it stops the thread */
	mpt_cap_reader_free(rd);
	wait_threads(before);
	fclose(f);

	r.buf[at[30] + 12 + 4 + offsetof(struct mpt_event, task)] ^= 0x01;
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, MPT_CAP_EDAMAGED);
	assert_int_equal(res.events, 30);
	assert_non_null(strstr(res.error, "bad checksum"));
	raw_fix_crc(&r, at[30]);
	read_buf(r.buf, r.len, &res);
	assert_int_equal(res.status, MPT_CAP_ETAMPERED);
	assert_int_equal(res.events, 30);
	assert_non_null(strstr(res.error, "hash chain breaks at block 31"));
}

/* 20 files read at once: 16 threads, the rest read by their callers, every item in order. */
static void test_read_ahead_bounded(void **state)
{
	static struct raw r;
	struct mpt_cap_reader *rd[20];
	struct mpt_cap_item it;
	size_t at[AHEAD_TEST_BLOCKS];
	char name[128], err[512];
	int before = settled_threads();
	FILE *f[20];

	(void)state;
	ahead_capture(&r, at);
	snprintf(name, sizeof(name), "%s/ahead.mpcap", dir);
	f[0] = fopen(name, "w");
	assert_non_null(f[0]);
	assert_int_equal(fwrite(r.buf, 1, r.len, f[0]), r.len);
	fclose(f[0]);
	for (int i = 0; i < 20; i++) {
		f[i] = fopen(name, "r");
		assert_non_null(f[i]);
		assert_int_equal(mpt_cap_reader_open(f[i], &rd[i], err, sizeof(err)), 0);
		assert_int_equal(mpt_cap_next(rd[i], &it), 1);
		assert_int_equal(mpt_cap_next(rd[i], &it), 1);
		assert_int_equal(it.offset, at[1]);
	}
	wait_threads(before + 16);
	for (int i = 0; i < 20; i++) {
		for (int n = 2; n < AHEAD_TEST_BLOCKS; n++) {
			assert_int_equal(mpt_cap_next(rd[i], &it), 1);
			assert_int_equal(it.offset, at[n]);
		}
		assert_int_equal(mpt_cap_next(rd[i], &it), 0);
		mpt_cap_reader_free(rd[i]);
		fclose(f[i]);
	}
	wait_threads(before);
	unlink(name);
}

static void test_rotation(void **state)
{
	const char *base = "ring.mpcap";
	struct mpt_cap_writer_opts o = {.max_bytes = 1, .max_files = 3};
	struct mpt_cap_writer *w;
	struct fake_event f;
	struct mpt_view v;
	struct result res;
	const char *why;
	char path[256], err[256];
	unsigned char buf[1 << 16];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", dir, base);
	o.path = path;
	assert_int_equal(mpt_cap_writer_open(&o, &meta, &w, err, sizeof(err)), 0);
	/* every flush passes 1 byte: a new file each time, a ring of three */
	for (int i = 0; i < 5; i++) {
		sample_event(&f, i);
		assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
		assert_int_equal(mpt_cap_write_event(w, &v), 0);
		assert_int_equal(mpt_cap_flush(w), 0);
	}
	assert_int_equal(mpt_cap_writer_close(w, NULL, NULL), 0);
	/* files 0..5 were written; 3, 4 and 5 overwrote 0, 1 and 2 */
	for (int i = 0; i < 3; i++) {
		FILE *fp;
		size_t n;

		snprintf(path, sizeof(path), "%s/%s.%d", dir, base, i);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		fp = fopen(path, "r");
		n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		read_buf(buf, n, &res);
		assert_int_equal(res.status, 0);
		/* file 5 (slot 2) only has its header: the close came right after rotating */
		assert_int_equal(res.events, i == 2 ? 0 : 1);
	}
	snprintf(path, sizeof(path), "%s/%s.3", dir, base);
	assert_int_not_equal(stat(path, &st), 0);
	check_ring_set(base);
}

/* Writes fail with ENOSPC while set: a full disk (write is wrapped at link time). */
static bool disk_full;
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	if (disk_full) {
		errno = ENOSPC;
		return -1;
	}
	return __real_write(fd, buf, n);
}

/* A writer of capture @name (one file, no rotation) in the test directory. */
static struct mpt_cap_writer *writer_at(const char *name, char *path, size_t len)
{
	struct mpt_cap_writer_opts o = {.path = path};
	struct mpt_cap_writer *w;
	char err[256];

	snprintf(path, len, "%s/%s", dir, name);
	assert_int_equal(mpt_cap_writer_open(&o, &meta, &w, err, sizeof(err)), 0);
	return w;
}

/* Sample event @i into @w: what the writer said (a write while failing says so). */
static int write_event_n(struct mpt_cap_writer *w, int i)
{
	struct fake_event f;
	struct mpt_view v;
	const char *why;

	sample_event(&f, i);
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	return mpt_cap_write_event(w, &v);
}

/* @path opened for reading (@fp to close after the reader). */
static struct mpt_cap_reader *reader_at(const char *path, FILE **fp)
{
	struct mpt_cap_reader *r;
	char err[256];

	*fp = fopen(path, "r");
	assert_non_null(*fp);
	assert_int_equal(mpt_cap_reader_open(*fp, &r, err, sizeof(err)), 0);
	return r;
}

/*
 * A stop while the disk is full: the blocks that failed are counted by the
 * drop records the last block carries, and the END record comes after them,
 * with them in its counts; nothing follows the END.
 */
static void test_stop_in_outage(void **state)
{
	const struct mpt_cap_counts *c;
	struct mpt_cap_writer *w;
	struct mpt_cap_reader *r;
	struct mpt_cap_item it;
	char path[256];
	uint64_t lost;
	FILE *fp;
	int rc, after_end = 0;
	bool ended = false;

	(void)state;
	w = writer_at("outage.mpcap", path, sizeof(path));
	for (int i = 0; i < 6; i++) {
		/* while failing, a write says so; the event is held or counted all the same */
		rc = write_event_n(w, i);
		assert_true(rc == 0 || (i > 2 && rc == -ENOSPC));
		disk_full = i >= 2; /* events 2..5: their blocks fail */
		mpt_cap_flush(w);
		disk_full = false;
	}
	assert_int_equal(mpt_cap_writer_close(w, NULL, &lost), -EIO);
	assert_int_equal(lost, 4);

	r = reader_at(path, &fp);
	while ((rc = mpt_cap_next(r, &it)) > 0) {
		after_end += ended;
		ended |= it.type == MPT_CAP_REC_END;
	}
	assert_int_equal(rc, 0);
	c = mpt_cap_reader_counts(r);
	assert_true(c->ended);
	assert_int_equal(after_end, 0);
	assert_int_equal(c->events, 2);
	assert_int_equal(c->dropped, 4);
	mpt_cap_reader_free(r);
	fclose(fp);
}

/*
 * The wall clock steps while the disk is full: the CLOCK record went with a
 * lost block, and the next block written must begin with it, before the
 * events made after the step (a reader applies it to what follows).
 */
static void test_clock_step_in_outage(void **state)
{
	struct mpt_cap_writer *w;
	struct mpt_cap_reader *r;
	struct mpt_cap_item it;
	struct fake_event f;
	char path[256];
	int rc, clocks = 0, events = 0;
	FILE *fp;

	(void)state;
	w = writer_at("clock.mpcap", path, sizeof(path));
	for (int i = 0; i < 3; i++) {
		sample_event(&f, i);
		if (i == 1)
			mpt_cap_write_clock(w, f.ev.ts_boot_ns - 1, 1000000000000ll);
		write_event_n(w, i);
		disk_full = i == 1; /* the block with the step and event 1 is lost */
		mpt_cap_flush(w);
		disk_full = false;
	}
	mpt_cap_writer_close(w, NULL, NULL);

	r = reader_at(path, &fp);
	while ((rc = mpt_cap_next(r, &it)) > 0) {
		if (it.type == MPT_CAP_REC_CLOCK) {
			/* after event 0, before event 2 */
			assert_int_equal(events, 1);
			assert_int_equal(it.clock_boot_to_wall_ns, 1000000000000ll);
			clocks++;
		}
		events += it.type == MPT_CAP_REC_EVENT;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(events, 2);
	assert_int_equal(clocks, 1);
	mpt_cap_reader_free(r);
	fclose(fp);
}

static char said[512];
static void remember(const char *msg)
{
	snprintf(said, sizeof(said), "%s", msg);
}

/*
 * A restart onto a ring whose newest file cannot be read (one flipped bit in
 * its header) keeps that file: moved aside, byte for byte, said, and the
 * writer goes on in a new set instead of taking it for the oldest file.
 */
static void test_restart_keeps_unreadable(void **state)
{
	struct mpt_cap_writer_opts o = {.max_bytes = 1, .max_files = 3, .say = remember};
	struct mpt_cap_writer *w;
	struct fake_event f;
	struct mpt_view v;
	const char *why;
	char path[256], newest[300], err[256], cmd[700];
	unsigned char before[4096], after[4096];
	size_t n_before, n_after;
	glob_t g;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/keep.mpcap", dir);
	o.path = path;
	assert_int_equal(mpt_cap_writer_open(&o, &meta, &w, err, sizeof(err)), 0);
	sample_event(&f, 0);
	assert_int_equal(mpt_event_parse(&f, f.ev.size, &v, &why), 0);
	assert_int_equal(mpt_cap_write_event(w, &v), 0);
	assert_int_equal(mpt_cap_flush(w), 0); /* past 1 byte: file 1 begins */
	assert_int_equal(mpt_cap_writer_close(w, NULL, NULL), 0);
	/* file 1, the newest, with a bit of its header flipped */
	snprintf(newest, sizeof(newest), "%s.1", path);
	fp = fopen(newest, "r+");
	assert_non_null(fp);
	n_before = fread(before, 1, sizeof(before), fp);
	assert_true(n_before > 40);
	before[40] ^= 1;
	rewind(fp);
	assert_int_equal(fwrite(before, 1, n_before, fp), n_before);
	fclose(fp);

	said[0] = '\0';
	assert_int_equal(mpt_cap_writer_open(&o, &meta, &w, err, sizeof(err)), 0);
	assert_int_equal(mpt_cap_writer_close(w, NULL, NULL), 0);
	assert_non_null(strstr(said, "cannot be read as a capture: kept as"));
	snprintf(cmd, sizeof(cmd), "%s.unreadable.*", newest);
	assert_int_equal(glob(cmd, 0, NULL, &g), 0);
	assert_int_equal(g.gl_pathc, 1);
	fp = fopen(g.gl_pathv[0], "r");
	n_after = fread(after, 1, sizeof(after), fp);
	fclose(fp);
	globfree(&g);
	assert_int_equal(n_after, n_before);
	assert_memory_equal(after, before, n_before);
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/*
 * ship --batch's wire format: what goes in comes out, entry by entry; a torn
 * batch is refused wherever it is cut, never read past; a frame that is not
 * zstd, or one that would unpack to over 64 MiB (a bomb), is refused.
 */
/* SipHash-2-4 against its paper's vectors: key 00..0f, message 00, 01, ... of each length. */
static void test_siphash_vectors(void **state)
{
	static const struct {
		size_t len;
		uint64_t want;
	} vec[] = {
	    {0, 0x726fdb47dd0e0e31ull}, {1, 0x74f839c593dc67fdull}, {15, 0xa129ca6149be45e5ull}};
	uint8_t key[16], msg[16], other[16];

	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = msg[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++)
		assert_int_equal(mpt_siphash(key, msg, vec[i].len), vec[i].want);
	/* the key is drawn at random: another key, another hash */
	mpt_siphash_key(other);
	assert_memory_not_equal(other, key, 16);
	assert_int_not_equal(mpt_siphash(other, msg, 15), vec[2].want);
}

/*
 * The checksum every record carries is zlib's CRC-32, whichever way it is
 * computed: the check value, and zlib's own result for every length from 0
 * to 300 and longer ones, at every alignment, going on from a CRC or not.
 */
static void test_crc32_is_zlibs(void **state)
{
	unsigned char *buf = malloc(70000 + 64);
	uint32_t seed = 1;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(mpt_crc32(0, "123456789", 9), 0xcbf43926);
	for (size_t i = 0; i < 70000 + 64; i++)
		buf[i] = (unsigned char)((seed = seed * 1103515245 + 12345) >> 16);
	for (size_t len = 0; len < 70000; len = len < 300 ? len + 1 : len * 3 / 2)
		for (size_t off = 0; off < 16; off++) {
			uint32_t from = off & 1 ? seed * (uint32_t)len : 0;

			assert_int_equal(mpt_crc32(from, buf + off, len),
					 (uint32_t)crc32(from, buf + off, (uInt)len));
		}
	free(buf);
}

static void test_batch_wire(void **state)
{
	static const char *const recs[] = {"first record", "", "2 10 100 200"};
	struct strbuf raw;
	size_t n = 0, pos = 0, cap;
	unsigned char *packed, *back;
	const unsigned char *p;
	const char *why = NULL;
	uint64_t off;
	uint32_t len;
	uint8_t kind;
	char *big;

	(void)state;
	sb_init(&raw);
	for (int i = 0; i < 3; i++)
		fleet_batch_put(&raw, i == 2 ? FLEET_REC_DROP : FLEET_REC_EVENT, 100 * i + 7,
				recs[i], (uint32_t)strlen(recs[i]));
	cap = ZSTD_compressBound(raw.len);
	packed = malloc(cap);
	n = ZSTD_compress(packed, cap, raw.buf, raw.len, 1);
	assert_false(ZSTD_isError(n));
	back = fleet_batch_unpack(packed, n, &n, &why);
	assert_non_null(back);
	assert_int_equal(n, raw.len);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fleet_batch_next(back, n, &pos, &kind, &off, &p, &len), 1);
		assert_int_equal(kind, i == 2 ? FLEET_REC_DROP : FLEET_REC_EVENT);
		assert_int_equal(off, 100 * i + 7);
		assert_int_equal(len, strlen(recs[i]));
		assert_memory_equal(p, recs[i], len);
	}
	assert_int_equal(fleet_batch_next(back, n, &pos, &kind, &off, &p, &len), 0);
	for (size_t cut = 1; cut < n; cut++) {
		int r;

		for (pos = 0; (r = fleet_batch_next(back, cut, &pos, &kind, &off, &p, &len)) > 0;)
			assert_true(p + len <= back + cut);
		/* cut between whole entries, the batch just ends there */
		assert_true(r == -1 || pos == cut);
	}
	free(back);
	assert_null(fleet_batch_unpack("not zstd at all", 15, &n, &why));
	assert_non_null(strstr(why, "zstd"));
	big = calloc(1, FLEET_BATCH_RAW_MAX + 1);
	free(packed);
	cap = ZSTD_compressBound(FLEET_BATCH_RAW_MAX + 1);
	packed = malloc(cap);
	n = ZSTD_compress(packed, cap, big, FLEET_BATCH_RAW_MAX + 1, 1);
	assert_false(ZSTD_isError(n));
	assert_null(fleet_batch_unpack(packed, n, &n, &why));
	assert_non_null(strstr(why, "64 MiB"));
	free(big);
	free(packed);
	sb_free(&raw);
}

int main(int argc, char **argv)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (argc > 1) {
		seed_dir = argv[1];
		mkdir(seed_dir, 0755);
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_old_records_kept),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_every_byte_edit),
	    cmocka_unit_test(test_random_corruption),
	    cmocka_unit_test(test_newer_minor_version),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_tamper_with_fixed_crc),
	    cmocka_unit_test(test_block_bounded),
	    cmocka_unit_test(test_read_ahead),
	    cmocka_unit_test(test_read_ahead_bounded),
	    cmocka_unit_test(test_rotation),
	    cmocka_unit_test(test_stop_in_outage),
	    cmocka_unit_test(test_restart_keeps_unreadable),
	    cmocka_unit_test(test_clock_step_in_outage),
	    cmocka_unit_test(test_batch_wire),
	    cmocka_unit_test(test_siphash_vectors),
	    cmocka_unit_test(test_crc32_is_zlibs),
	};
	return cmocka_run_group_tests_name("capture", tests, NULL, teardown);
}
