/* SPDX-License-Identifier: MIT */
/* Tests of the gzip byte source (lib/src_gzip.c): gzip streams are built
 * in memory with zlib's deflate and read back through the mem source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "exq_int.h"

#define MIB (1024u * 1024u)

/* ------------------------------------------------------------ helpers */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64: deterministic, so a failure reproduces. */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Compressible but not trivial bytes: runs copied from earlier data,
 * short runs of text from a small alphabet, and some zero runs, so that
 * deflate emits many blocks with varied bit alignment. */
static uint8_t *gen_data(size_t n, uint64_t seed)
{
	uint8_t *d = malloc(n ? n : 1);
	uint64_t s = seed | 1;
	size_t i = 0;
	assert_non_null(d);
	while (i < n) {
		uint64_t r = rng_next(&s);
		size_t run = 16 + (size_t)(r % 240), k;
		if (run > n - i)
			run = n - i;
		switch ((r >> 32) % 8) {
		case 0:
		case 1:
		case 2: /* copy from up to 64 KiB back */
			if (i > run) {
				size_t lim = i < 65536 ? i : 65536;
				size_t back = 1 + (size_t)((r >> 40) % lim);
				for (k = 0; k < run; k++)
					d[i + k] = d[i + k - back];
				break;
			}
			/* fall through */
		case 3:
		case 4:
			for (k = 0; k < run; k++)
				d[i + k] = (uint8_t)('a' + rng_next(&s) % 12);
			break;
		case 5:
		case 6:
			memset(d + i, 0, run);
			break;
		default:
			for (k = 0; k < run; k++)
				d[i + k] = (uint8_t)rng_next(&s);
			break;
		}
		i += run;
	}
	return d;
}

/* Append to a growing buffer. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Run deflate until it has taken all input (and, for Z_FINISH, ended). */
static void deflate_all(z_stream *s, struct buf *b, int flush)
{
	uint8_t out[65536];
	int ret;
	do {
		s->next_out = out;
		s->avail_out = sizeof(out);
		ret = deflate(s, flush);
		assert_true(ret == Z_OK || ret == Z_STREAM_END ||
			    ret == Z_BUF_ERROR);
		buf_put(b, out, sizeof(out) - s->avail_out);
	} while (flush == Z_FINISH ? ret != Z_STREAM_END
				   : s->avail_in != 0 || s->avail_out == 0);
}

/* One gzip member of data (windowBits 31 = gzip wrapper), with an
 * optional header carrying extra, name, comment and header CRC. */
static void gz_member_flush(struct buf *b, const uint8_t *data, size_t n,
			    int level, int fancy_header, size_t flush_every)
{
	z_stream s;
	gz_header h;
	static uint8_t extra[] = {'E', 'X', 4, 0, 1, 2, 3, 4};
	memset(&s, 0, sizeof(s));
	assert_int_equal(
		deflateInit2(&s, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY),
		Z_OK);
	if (fancy_header) {
		memset(&h, 0, sizeof(h));
		h.extra = extra;
		h.extra_len = sizeof(extra);
		h.name = (Bytef *)"memory.raw";
		h.comment = (Bytef *)"a comment";
		h.hcrc = 1;
		assert_int_equal(deflateSetHeader(&s, &h), Z_OK);
	}
	/* flush_every: end a deflate block every so many input bytes
	 * (Z_BLOCK, not byte-aligned), to have many small blocks. */
	while (n) {
		size_t k = flush_every && flush_every < n ? flush_every : n;
		s.next_in = (Bytef *)(uintptr_t)data;
		s.avail_in = (uInt)k;
		data += k;
		n -= k;
		if (n)
			deflate_all(&s, b, Z_BLOCK);
	}
	deflate_all(&s, b, Z_FINISH);
	deflateEnd(&s);
}

static void gz_member(struct buf *b, const uint8_t *data, size_t n, int level,
		      int fancy_header)
{
	gz_member_flush(b, data, n, level, fancy_header, 0);
}

static exq_status open_gz(const struct buf *b, uint64_t span, size_t maxpts,
			  exq__source **src, exq__err *err)
{
	exq__source *mem;
	exq_status st = exq__src_mem_open(&mem, b->p, b->len, err);
	assert_int_equal(st, EXQ_OK);
	return exq__src_gzip_open_span(src, mem, span, maxpts, err);
}

static void check_read(exq__source *src, const uint8_t *want, uint64_t off,
		       size_t len)
{
	uint8_t *got = malloc(len ? len : 1);
	exq__err err;
	assert_non_null(got);
	exq__err_clear(&err);
	if (exq__src_read(src, off, got, len, &err) != EXQ_OK)
		fail_msg("read of %zu at 0x%llx: %s", len,
			 (unsigned long long)off, err.msg);
	assert_memory_equal(got, want + off, len);
	free(got);
}

static void random_reads(exq__source *src, const uint8_t *want, size_t n,
			 int count, size_t maxlen, uint64_t seed)
{
	uint64_t s = seed | 1;
	int i;
	for (i = 0; i < count; i++) {
		uint64_t off = rng_next(&s) % n;
		size_t len = 1 + (size_t)(rng_next(&s) % maxlen);
		if (len > n - off)
			len = (size_t)(n - off);
		check_read(src, want, off, len);
	}
}

/* Open must fail with CORRUPT and a message holding all the needles. */
static void expect_corrupt(const struct buf *b, const char *n1, const char *n2)
{
	exq__source *src = NULL;
	exq__err err;
	exq__err_clear(&err);
	assert_int_equal(open_gz(b, 65536, 64, &src, &err), EXQ_CORRUPT);
	assert_null(src);
	if (n1 && !strstr(err.msg, n1))
		fail_msg("message '%s' lacks '%s'", err.msg, n1);
	if (n2 && !strstr(err.msg, n2))
		fail_msg("message '%s' lacks '%s'", err.msg, n2);
}

/* ------------------------------------------------------------- tests */

/* Several MiB with a tiny span and cap: the index must thin (span
 * doubles, points stay under the cap) and every read must still match. */
static void test_random_reads_thinning(void **state)
{
	size_t n = 6 * MIB, np;
	uint64_t span, members;
	uint8_t *d = gen_data(n, 1);
	struct buf b = {0};
	exq__source *src;
	exq__err err;
	(void)state;
	gz_member(&b, d, n, 6, 0);
	assert_true(b.len < n / 2); /* the pattern compresses */
	assert_int_equal(open_gz(&b, 16384, 8, &src, &err), EXQ_OK);
	assert_int_equal(src->size, n);
	assert_int_equal(exq__src_gzip_stats(src, &np, &span, &members),
			 EXQ_OK);
	assert_int_equal(members, 1);
	assert_true(np >= 4 && np <= 8);
	/* 6 MiB over at most 8 points: the span grew from 16 KiB by powers
	 * of two to at least 512 KiB. */
	assert_true(span >= 512 * 1024 && span % 16384 == 0);
	assert_int_equal((span / 16384) & (span / 16384 - 1), 0);
	random_reads(src, d, n, 300, 20000, 7);
	check_read(src, d, 0, n); /* one read over every point */
	check_read(src, d, n - 1, 1);
	exq__src_close(src);
	free(b.p);
	free(d);
}


/* Zero-heavy memory at level 1: deflate blocks of several MiB of output.
 * Points must still sit about a span apart (decoder copies inside the
 * blocks), reads from them must match, and thinning must keep working
 * with such points. */
static void test_points_inside_long_blocks(void **state)
{
	size_t n = 12 * MIB, np, i;
	uint64_t span;
	uint8_t *d = calloc(1, n);
	struct buf b = {0};
	exq__source *src;
	exq__err err;
	(void)state;
	assert_non_null(d);
	for (i = 0; i < n; i += 4096) /* a page number here and there */
		if (i % (512 * 1024) == 0)
			memcpy(d + i, &i, sizeof(i));
	gz_member(&b, d, n, 1, 0);
	assert_true(b.len < n / 100);
	assert_int_equal(open_gz(&b, 256 * 1024, 1024, &src, &err), EXQ_OK);
	assert_int_equal(exq__src_gzip_stats(src, &np, &span, NULL), EXQ_OK);
	assert_int_equal(span, 256 * 1024);
	/* block boundaries alone would give a handful (blocks of MiBs);
	 * decoder copies come at most 1.5 spans apart */
	assert_true(np >= n / (384 * 1024) - 1);
	random_reads(src, d, n, 300, 9000, 11);
	for (i = 1; i < 12; i++)
		check_read(src, d, i * MIB - 100, 4096);
	check_read(src, d, n - 4096, 4096);
	check_read(src, d, 0, n);
	exq__src_close(src);
	/* thinning with decoder copies among the points */
	assert_int_equal(open_gz(&b, 64 * 1024, 8, &src, &err), EXQ_OK);
	assert_int_equal(exq__src_gzip_stats(src, &np, &span, NULL), EXQ_OK);
	assert_true(np <= 8 && np >= 4);
	assert_true(span >= MIB); /* 12 MiB, <= 8 points, <= 1.5 spans apart */
	random_reads(src, d, n, 100, 5000, 12);
	check_read(src, d, n - 1, 1);
	exq__src_close(src);
	free(b.p);
	free(d);
	/* the byte cap: 30 MiB of zeros with 8 KiB spans wants a decoder
	 * copy at every inflate return (32 KiB of output apart): ~960 of
	 * them, under the 1024-point cap but ~38 MiB; the index thins at
	 * 32 MiB (<= 819 copies) */
	n = 30 * MIB;
	d = calloc(1, n);
	assert_non_null(d);
	memset(&b, 0, sizeof(b));
	gz_member(&b, d, n, 1, 0);
	assert_int_equal(open_gz(&b, 8192, 1024, &src, &err), EXQ_OK);
	assert_int_equal(exq__src_gzip_stats(src, &np, &span, NULL), EXQ_OK);
	assert_true(np <= (32u << 20) / (40u << 10) && np >= 256);
	assert_true(span >= 16384);
	random_reads(src, d, n, 100, 5000, 13);
	exq__src_close(src);
	free(b.p);
	free(d);
}

/* The public open: 1 MiB span, no thinning for 6 MiB. */
static void test_default_open(void **state)
{
	size_t n = 6 * MIB, np, i;
	uint64_t span;
	uint8_t *d = gen_data(n, 2);
	struct buf b = {0};
	exq__source *mem, *src;
	exq__err err;
	(void)state;
	gz_member(&b, d, n, 9, 0);
	assert_int_equal(exq__src_mem_open(&mem, b.p, b.len, &err), EXQ_OK);
	assert_int_equal(exq__src_gzip_open(&src, mem, NULL, NULL, &err), EXQ_OK);
	assert_int_equal(src->size, n);
	assert_true(exq__src_is_gzip(mem) == 1);
	assert_int_equal(exq__src_gzip_stats(src, &np, &span, NULL), EXQ_OK);
	assert_int_equal(span, MIB);
	assert_true(np >= 3 && np <= 6);
	/* Reads straddling each MiB mark, where points sit nearby. */
	for (i = 1; i < 6; i++)
		check_read(src, d, i * MIB - 3000, 6000);
	random_reads(src, d, n, 100, 9000, 3);
	exq__src_close(src);
	free(b.p);
	free(d);
}

/* Reads that cross access points, run backwards, or walk sequentially
 * page by page (the decoder continues instead of restarting). */
static void test_spanning_reads(void **state)
{
	size_t n = 3 * MIB + 12345, np, off;
	uint8_t *d = gen_data(n, 3);
	struct buf b = {0};
	exq__source *src;
	exq__err err;
	(void)state;
	gz_member(&b, d, n, 1, 0);
	assert_int_equal(open_gz(&b, 65536, 1024, &src, &err), EXQ_OK);
	assert_int_equal(exq__src_gzip_stats(src, &np, NULL, NULL), EXQ_OK);
	assert_true(np >= 8); /* 3 MiB at >= 64 KiB apart, block bound */
	for (off = 0; off + 300000 <= n; off += 250001)
		check_read(src, d, off, 300000);
	for (off = n - 4096; off >= 200003; off -= 200003)
		check_read(src, d, off, 4096);
	check_read(src, d, off, 4096);
	for (off = 0; off < n; off += 4096)
		check_read(src, d, off, n - off < 4096 ? n - off : 4096);
	/* The same page again and again: served from the cache. */
	for (off = 0; off < 50; off++)
		check_read(src, d, 2 * MIB + 100, 4096);
	exq__src_close(src);
	free(b.p);
	free(d);
}

/* Members of different levels and headers, with empty ones between and
 * at the end: one continuous stream of bytes. */
static void test_multi_member(void **state)
{
	size_t n = 3 * MIB, np, i;
	uint64_t members;
	size_t cut[] = {0, MIB, MIB, MIB + 1, n, n};
	int level[] = {1, 6, 0, 9, 6};
	uint8_t *d = gen_data(n, 4);
	struct buf b = {0};
	exq__source *src;
	exq__err err;
	(void)state;
	for (i = 0; i < 5; i++)
		gz_member(&b, d + cut[i], cut[i + 1] - cut[i], level[i],
			  i == 3);
	assert_int_equal(open_gz(&b, 65536, 16, &src, &err), EXQ_OK);
	assert_int_equal(src->size, n);
	assert_int_equal(exq__src_gzip_stats(src, &np, NULL, &members), EXQ_OK);
	assert_int_equal(members, 5);
	assert_true(np >= 8 && np <= 16);
	check_read(src, d, MIB - 10, 20); /* across the empty member */
	check_read(src, d, MIB, 1);	  /* the one-byte member */
	check_read(src, d, MIB + 1, 4096);
	check_read(src, d, n - 4096, 4096); /* before the empty last one */
	check_read(src, d, 0, n);
	random_reads(src, d, n, 200, 70000, 5);
	exq__src_close(src);
	free(b.p);
	free(d);
}

/* Many small members (like bgzip): member starts are access points too,
 * and thinning works across them. */
static void test_many_small_members(void **state)
{
	size_t n = 200 * 20000, np, i;
	uint64_t members, span;
	uint8_t *d = gen_data(n, 5);
	struct buf b = {0};
	exq__source *src;
	exq__err err;
	(void)state;
	for (i = 0; i < 200; i++) /* blocks inside members, too */
		gz_member_flush(&b, d + i * 20000, 20000, 6, 0, 3000);
	assert_int_equal(open_gz(&b, 8192, 16, &src, &err), EXQ_OK);
	assert_int_equal(src->size, n);
	assert_int_equal(exq__src_gzip_stats(src, &np, &span, &members),
			 EXQ_OK);
	assert_int_equal(members, 200);
	assert_true(np >= 8 && np <= 16);
	assert_true(span >= 8192 * 16);
	random_reads(src, d, n, 300, 50000, 6);
	check_read(src, d, 0, n);
	exq__src_close(src);
	free(b.p);
	free(d);
}

/* A stream of one empty member: size 0, every non-empty read refused. */
static void test_empty_member(void **state)
{
	struct buf b = {0};
	exq__source *src;
	exq__err err;
	uint8_t x = 0;
	uint64_t members;
	size_t np;
	(void)state;
	gz_member(&b, &x, 0, 6, 0);
	assert_int_equal(open_gz(&b, 65536, 64, &src, &err), EXQ_OK);
	assert_int_equal(src->size, 0);
	assert_int_equal(exq__src_gzip_stats(src, &np, NULL, &members), EXQ_OK);
	assert_int_equal(members, 1);
	assert_int_equal(np, 1);
	assert_int_equal(exq__src_read(src, 0, &x, 0, &err), EXQ_OK);
	assert_int_equal(exq__src_read(src, 0, &x, 1, &err), EXQ_CORRUPT);
	exq__src_close(src);
	/* Two empty members are still an empty stream. */
	gz_member(&b, &x, 0, 1, 1);
	assert_int_equal(open_gz(&b, 65536, 64, &src, &err), EXQ_OK);
	assert_int_equal(src->size, 0);
	assert_int_equal(exq__src_gzip_stats(src, NULL, NULL, &members),
			 EXQ_OK);
	assert_int_equal(members, 2);
	exq__src_close(src);
	free(b.p);
}

/* Cut the stream in the header, the deflate data and the trailer. */
static void test_truncated(void **state)
{
	size_t n = 300000, full, first;
	uint8_t *d = gen_data(n, 8);
	struct buf b = {0};
	(void)state;
	gz_member(&b, d, n, 6, 0);
	full = b.len;
	b.len = 0;
	expect_corrupt(&b, "empty input", NULL);
	b.len = 5;
	expect_corrupt(&b, "member 0", "header truncated");
	b.len = full / 2;
	expect_corrupt(&b, "member 0 (at compressed offset 0x0)", "ends early");
	b.len = full - 3;
	expect_corrupt(&b, "member 0", "trailer truncated");
	b.len = full - 8; /* deflate data complete, no trailer at all */
	expect_corrupt(&b, "member 0", "trailer truncated");
	/* A second member cut short names member 1 and where it starts. */
	b.len = full;
	first = full;
	gz_member(&b, d, n, 6, 0);
	b.len -= 20000;
	{
		char where[64];
		snprintf(where, sizeof(where),
			 "member 1 (at compressed offset 0x%zx)", first);
		expect_corrupt(&b, where, "ends early");
	}
	free(b.p);
	free(d);
}

/* CRC32 and ISIZE of each member are checked. */
static void test_bad_crc(void **state)
{
	size_t n = 200000, first;
	uint8_t *d = gen_data(n, 9);
	struct buf b = {0};
	(void)state;
	gz_member(&b, d, n, 6, 0);
	first = b.len;
	gz_member(&b, d, n, 6, 0);
	b.p[first - 8] ^= 0x01; /* member 0 CRC32 */
	expect_corrupt(&b, "member 0", "CRC32 mismatch");
	b.p[first - 8] ^= 0x01;
	b.p[b.len - 7] ^= 0x80; /* member 1 CRC32 */
	expect_corrupt(&b, "member 1", "CRC32 mismatch");
	b.p[b.len - 7] ^= 0x80;
	b.p[b.len - 4] ^= 0x01; /* member 1 ISIZE */
	expect_corrupt(&b, "member 1", "ISIZE mismatch");
	b.p[b.len - 4] ^= 0x01;
	/* Damage inside the deflate data: invalid codes or a CRC mismatch,
	 * CORRUPT either way. */
	b.p[first / 2] ^= 0x55;
	b.p[first / 2 + 1] ^= 0xaa;
	expect_corrupt(&b, "member 0", NULL);
	free(b.p);
	free(d);
}

/* Deflate data that zlib rejects: CORRUPT, with zlib's reason and where. */
static void test_bad_deflate(void **state)
{
	/* A header, then a final block of the reserved type 3 (BFINAL=1,
	 * BTYPE=11: byte 0x07), then filler and a trailer. */
	static const uint8_t bad[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3,
				      0x07, 0,	  0, 0, 0, 0, 0, 0, 0, 0};
	struct buf b = {0};
	(void)state;
	buf_put(&b, bad, sizeof(bad));
	expect_corrupt(&b, "member 0", "invalid deflate data");
	expect_corrupt(&b, "invalid block type", "compressed offset 0xb");
	free(b.p);
}

/* The bytes under an open source change (a file rewritten in place):
 * reads fail with a message naming the member and the offset, and work
 * again once the bytes are back. */
static void test_changed_after_open(void **state)
{
	size_t n = 400000, first;
	uint8_t *d = gen_data(n, 11), got[100];
	struct buf b = {0};
	exq__source *src;
	exq__err err;
	(void)state;
	gz_member(&b, d, n, 6, 0);
	first = b.len;
	gz_member(&b, d, n, 6, 0);
	assert_int_equal(open_gz(&b, 1 << 30, 64, &src, &err), EXQ_OK);
	assert_int_equal(src->size, 2 * n);
	b.p[first] = 0x00; /* member 1 magic */
	assert_int_equal(exq__src_read(src, n + 10, got, 100, &err),
			 EXQ_CORRUPT);
	assert_non_null(strstr(err.msg, "gzip member 1: bad gzip magic"));
	assert_non_null(strstr(err.msg, "uncompressed offset 0x61a8a"));
	b.p[first] = 0x1f;
	check_read(src, d, 0, 100);
	assert_int_equal(exq__src_read(src, n + 10, got, 100, &err), EXQ_OK);
	assert_memory_equal(got, d + 10, 100);
	exq__src_close(src);
	free(b.p);
	free(d);
}

/* Anything after the last member that is not a member is refused. */
static void test_garbage_trailer(void **state)
{
	uint8_t d[1000];
	struct buf b = {0};
	size_t full;
	static const uint8_t bad_cm[] = {0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 3};
	(void)state;
	memset(d, 'x', sizeof(d));
	gz_member(&b, d, sizeof(d), 6, 0);
	full = b.len;
	buf_put(&b, "junk!", 5);
	expect_corrupt(&b, "garbage after the last gzip member (member 0)",
		       "5 bytes at compressed offset");
	b.len = full;
	buf_put(&b, "\x1f", 1);
	expect_corrupt(&b, "garbage", "1 bytes at");
	b.len = full;
	{ /* zero padding, as tapes and block devices leave it: accepted
	   * like gzip -t and zcat do (issue 16); zeros then junk are not */
		exq__source *src = NULL;
		exq__err err;
		uint8_t got[1000];
		static const uint8_t zeros[5000];
		buf_put(&b, zeros, sizeof(zeros));
		exq__err_clear(&err);
		assert_int_equal(open_gz(&b, 65536, 64, &src, &err), EXQ_OK);
		assert_int_equal(src->size, sizeof(d));
		assert_int_equal(exq__src_read(src, 0, got, sizeof(got), &err), EXQ_OK);
		assert_memory_equal(got, d, sizeof(d));
		exq__src_close(src);
		buf_put(&b, "x", 1);
		expect_corrupt(&b, "garbage", NULL);
	}
	b.len = full;
	buf_put(&b, bad_cm, sizeof(bad_cm));
	expect_corrupt(&b, "member 1", "not deflate");
	free(b.p);
}

/* Damaged headers: magic, reserved flags, header CRC. */
static void test_bad_header(void **state)
{
	uint8_t d[5000];
	struct buf b = {0};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(i % 7);
	gz_member(&b, d, sizeof(d), 6, 1);
	b.p[1] ^= 0xff;
	expect_corrupt(&b, "member 0", "bad gzip magic");
	b.p[1] ^= 0xff;
	b.p[3] |= 0x20;
	expect_corrupt(&b, "member 0", "reserved header flags");
	b.p[3] &= (uint8_t)~0x20;
	b.p[12] ^= 1; /* inside the extra field, covered by the CRC16 */
	expect_corrupt(&b, "member 0", "header CRC16");
	b.p[12] ^= 1;
	b.len = 16; /* inside the extra field */
	expect_corrupt(&b, "member 0", "truncated");
	b.len = 24; /* inside the name */
	expect_corrupt(&b, "member 0", "truncated");
	free(b.p);
}

/* exq__src_read checks offsets before the gzip source sees them. */
static void test_read_past_end(void **state)
{
	size_t n = 100000;
	uint8_t *d = gen_data(n, 10), got[16];
	struct buf b = {0};
	exq__source *src;
	exq__err err;
	(void)state;
	gz_member(&b, d, n, 6, 0);
	assert_int_equal(open_gz(&b, 65536, 64, &src, &err), EXQ_OK);
	assert_int_equal(exq__src_read(src, n - 10, got, 11, &err),
			 EXQ_CORRUPT);
	assert_non_null(strstr(err.msg, "past the end of the gzip source"));
	assert_int_equal(exq__src_read(src, n, got, 1, &err), EXQ_CORRUPT);
	assert_int_equal(exq__src_read(src, UINT64_MAX, got, 2, &err),
			 EXQ_CORRUPT);
	assert_int_equal(exq__src_read(src, n, got, 0, &err), EXQ_OK);
	check_read(src, d, n - 10, 10);
	exq__src_close(src);
	free(b.p);
	free(d);
}

/* Bad arguments are INVALID, and the inner source is released (ASan's
 * leak check would catch it otherwise). */
static void test_invalid_args(void **state)
{
	uint8_t x[32] = {0};
	exq__source *mem, *src = NULL;
	exq__err err;
	(void)state;
	assert_int_equal(exq__src_gzip_open(&src, NULL, NULL, NULL, &err), EXQ_INVALID);
	assert_int_equal(exq__src_mem_open(&mem, x, sizeof(x), &err), EXQ_OK);
	assert_int_equal(exq__src_gzip_open_span(&src, mem, 65536, 1, &err),
			 EXQ_INVALID);
	assert_int_equal(exq__src_mem_open(&mem, x, sizeof(x), &err), EXQ_OK);
	assert_int_equal(exq__src_gzip_open_span(&src, mem, 0, 16, &err),
			 EXQ_INVALID);
	assert_int_equal(exq__src_mem_open(&mem, x, sizeof(x), &err), EXQ_OK);
	assert_int_equal(exq__src_gzip_open_span(&src, mem, 65536, 2048, &err),
			 EXQ_INVALID);
	assert_null(src);
	assert_int_equal(exq__src_mem_open(&mem, x, sizeof(x), &err), EXQ_OK);
	assert_int_equal(exq__src_gzip_stats(mem, NULL, NULL, NULL),
			 EXQ_INVALID);
	assert_int_equal(exq__src_gzip_open(&src, mem, NULL, NULL, &err), EXQ_CORRUPT);
	assert_non_null(strstr(err.msg, "bad gzip magic"));
	assert_null(src);
}

/* Progress while the index is built (issue 14): a call per MiB of
 * compressed input, ascending, the last one done == total. */
struct prog {
	unsigned calls;
	uint64_t last, total;
	int backwards;
};

static void prog_cb(void *arg, const char *what, uint64_t done,
		    uint64_t total)
{
	struct prog *p = arg;
	assert_string_equal(what, "gzip index");
	if (done < p->last)
		p->backwards = 1;
	p->last = done;
	p->total = total;
	p->calls++;
}

static void test_index_progress(void **state)
{
	size_t n = 3u << 20, zlen = 0, i;
	uint8_t *raw = malloc(n), *z;
	uLongf cap;
	z_stream zs;
	struct prog p = {0, 0, 0, 0};
	exq_image *img = exq_image_new();
	(void)state;
	assert_non_null(raw);
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (i = 0; i < n; i++) { /* xorshift: incompressible, ~3 MiB of gzip */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		raw[i] = (uint8_t)(x >> 24);
	}
	cap = compressBound((uLong)n) + 64;
	z = malloc(cap);
	assert_non_null(z);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = raw;
	zs.avail_in = (uInt)n;
	zs.next_out = z;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	zlen = zs.total_out;
	deflateEnd(&zs);
	assert_true(zlen > (2u << 20));
	assert_int_equal(exq_image_set_progress(img, prog_cb, &p), EXQ_OK);
	assert_int_equal(exq_image_open_mem(img, z, zlen), EXQ_OK);
	assert_true(p.calls >= 3);
	assert_false(p.backwards);
	assert_int_equal(p.total, zlen);
	assert_int_equal(p.last, zlen);
	exq_image_free(img);
	free(z);
	free(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_reads_thinning),
		cmocka_unit_test(test_default_open),
		cmocka_unit_test(test_points_inside_long_blocks),
		cmocka_unit_test(test_spanning_reads),
		cmocka_unit_test(test_multi_member),
		cmocka_unit_test(test_many_small_members),
		cmocka_unit_test(test_empty_member),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_crc),
		cmocka_unit_test(test_bad_deflate),
		cmocka_unit_test(test_changed_after_open),
		cmocka_unit_test(test_garbage_trailer),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_read_past_end),
		cmocka_unit_test(test_invalid_args),
		cmocka_unit_test(test_index_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
