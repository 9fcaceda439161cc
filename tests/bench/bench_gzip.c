/* SPDX-License-Identifier: MIT */
/*
 * bench_gzip: random access into raw images stored as .gz.
 *
 * Writes a gzip'd 4 GiB image to a temporary file (each 4 KiB page holds
 * its page number, 8 bytes little-endian, repeated 8 times, then zeros:
 * compressible, so the file is small and quick to make), then a 1 GiB
 * zero-heavy one (only one page in 64 holds its number: deflate blocks of
 * several MiB), and for each times,
 * through exq__src_file_open + exq__src_gzip_open:
 *   - the open (one pass over the stream that builds the index),
 *   - one page near the end read twice (index, then cache),
 *   - 1000 random page reads (mean, median, p99, worst),
 *   - for comparison, a plain inflate of the whole file from the start
 *     (what every read near the end would cost without an index).
 * Every page read is checked; a wrong byte exits 1. Peak RSS is printed.
 * The temporary file (under $TMPDIR or /tmp) is removed at the end.
 */
#include "exq_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define PAGE 4096u
/* Two images: 4 GiB where every page holds its number (deflate blocks
 * of a few hundred KiB), and 1 GiB of zero-heavy memory where one page in
 * 64 does (blocks of several MiB: points inside blocks matter there). */
static uint64_t NPAGES = 1024u * 1024u;
static int zero_heavy;
#define BATCH 256u	       /* pages deflated per call */
#define NRANDOM 1000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss; /* KiB on Linux */
}

static void make_page(uint8_t *p, uint64_t pfn)
{
	int i, b;
	memset(p, 0, PAGE);
	if (zero_heavy && pfn % 64)
		return;
	for (i = 0; i < 8; i++)
		for (b = 0; b < 8; b++)
			p[i * 8 + b] = (uint8_t)(pfn >> (8 * b));
}

static int write_out(FILE *f, z_stream *s, uint8_t *out, size_t outsz,
		     int flush)
{
	int ret;
	do {
		s->next_out = out;
		s->avail_out = (uInt)outsz;
		ret = deflate(s, flush);
		if (ret == Z_STREAM_ERROR)
			return -1;
		if (fwrite(out, 1, outsz - s->avail_out, f) !=
		    outsz - s->avail_out)
			return -1;
	} while (s->avail_out == 0);
	return flush == Z_FINISH && ret != Z_STREAM_END ? -1 : 0;
}

/* Deflate (level 1, gzip wrapper) the whole image into f. */
static int generate(FILE *f)
{
	static uint8_t in[BATCH * PAGE], out[1 << 20];
	z_stream s;
	uint64_t pfn;
	unsigned i;
	memset(&s, 0, sizeof(s));
	if (deflateInit2(&s, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	for (pfn = 0; pfn < NPAGES; pfn += BATCH) {
		for (i = 0; i < BATCH; i++)
			make_page(in + (size_t)i * PAGE, pfn + i);
		s.next_in = in;
		s.avail_in = sizeof(in);
		if (write_out(f, &s, out, sizeof(out), Z_NO_FLUSH) != 0)
			goto fail;
	}
	if (write_out(f, &s, out, sizeof(out), Z_FINISH) != 0)
		goto fail;
	deflateEnd(&s);
	return 0;
fail:
	deflateEnd(&s);
	return -1;
}

/* Read page pfn through the source and check it. */
static int read_check(exq__source *src, uint64_t pfn, double *secs)
{
	static uint8_t got[PAGE], want[PAGE];
	exq__err err;
	double t0 = now();
	exq_status st = exq__src_read(src, pfn * PAGE, got, PAGE, &err);
	*secs = now() - t0;
	if (st != EXQ_OK) {
		fprintf(stderr, "read of page 0x%llx: %s: %s\n",
			(unsigned long long)pfn, exq_strerror(st), err.msg);
		return -1;
	}
	make_page(want, pfn);
	if (memcmp(got, want, PAGE) != 0) {
		fprintf(stderr, "page 0x%llx: wrong bytes\n",
			(unsigned long long)pfn);
		return -1;
	}
	return 0;
}

/* Inflate the whole file from the start: the cost without an index. */
static int naive_inflate(const char *path, double *secs, uint64_t *total)
{
	static uint8_t buf[1 << 20];
	double t0 = now();
	gzFile gz = gzopen(path, "rb");
	int n;
	*total = 0;
	if (!gz)
		return -1;
	gzbuffer(gz, 1 << 17);
	while ((n = gzread(gz, buf, sizeof(buf))) > 0)
		*total += (uint64_t)n;
	gzclose(gz);
	*secs = now() - t0;
	return n < 0 ? -1 : 0;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double times[NRANDOM];

static int random_reads(exq__source *src, double *total, double *worst)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int i;
	*total = *worst = 0;
	for (i = 0; i < NRANDOM; i++) {
		double t;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (read_check(src, x % NPAGES, &t) != 0)
			return -1;
		*total += t;
		times[i] = t;
		if (t > *worst)
			*worst = t;
	}
	qsort(times, NRANDOM, sizeof(times[0]), dcmp);
	return 0;
}

static int bench(const char *path)
{
	exq__source *file, *src;
	exq__err err;
	double t0, t_open, t1, t2, t_rand, t_worst, t_naive;
	uint64_t span, members, total;
	size_t np;
	exq_status st = exq__src_file_open(&file, path, &err);
	printf("peak RSS before open: %ld KiB\n", peak_rss_kib());
	if (st == EXQ_OK) {
		t0 = now();
		st = exq__src_gzip_open(&src, file, NULL, NULL, &err);
		t_open = now() - t0;
	}
	if (st != EXQ_OK) {
		fprintf(stderr, "open: %s: %s\n", exq_strerror(st), err.msg);
		return -1;
	}
	exq__src_gzip_stats(src, &np, &span, &members);
	printf("open (index build): %.3f s; size %llu bytes; %zu points, "
	       "span %llu KiB, %llu member(s); peak RSS %ld KiB\n",
	       t_open, (unsigned long long)src->size, np,
	       (unsigned long long)(span / 1024), (unsigned long long)members,
	       peak_rss_kib());
	if (src->size != (uint64_t)NPAGES * PAGE ||
	    read_check(src, NPAGES - 2, &t1) != 0 ||
	    read_check(src, NPAGES - 2, &t2) != 0 ||
	    random_reads(src, &t_rand, &t_worst) != 0) {
		exq__src_close(src);
		return -1;
	}
	printf("last page but one: first read %.3f ms, second %.4f ms\n",
	       t1 * 1e3, t2 * 1e3);
	printf("%d random page reads: %.3f s total, %.3f ms mean, median "
	       "%.3f ms, p99 %.3f ms, %.3f ms worst\n",
	       NRANDOM, t_rand, t_rand * 1e3 / NRANDOM,
	       times[NRANDOM / 2] * 1e3, times[NRANDOM * 99 / 100] * 1e3,
	       t_worst * 1e3);
	printf("peak RSS after reads: %ld KiB\n", peak_rss_kib());
	exq__src_close(src);
	if (naive_inflate(path, &t_naive, &total) != 0 ||
	    total != (uint64_t)NPAGES * PAGE) {
		fprintf(stderr, "naive inflate failed\n");
		return -1;
	}
	printf("naive: inflating from the start to reach the last page: "
	       "%.3f s (%.0f MiB/s) per read\n",
	       t_naive, (double)total / t_naive / (1 << 20));
	return 0;
}

static int one_image(void);

int main(void)
{
	int rc;
	printf("== 4 GiB, every page holds its number\n");
	rc = one_image();
	if (rc == 0) {
		NPAGES = 256u * 1024u;
		zero_heavy = 1;
		printf("== 1 GiB, zero-heavy (one page in 64 holds its "
		       "number)\n");
		rc = one_image();
	}
	return rc;
}

static int one_image(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	FILE *f;
	double t0;
	int fd, rc;
	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/exq_bench_gzip_XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "wb"))) {
		perror("temporary file");
		return 1;
	}
	t0 = now();
	rc = generate(f);
	if (fclose(f) != 0 || rc != 0) {
		fprintf(stderr, "writing %s failed\n", path);
		unlink(path);
		return 1;
	}
	{
		FILE *g = fopen(path, "rb");
		long sz = -1;
		if (g && fseek(g, 0, SEEK_END) == 0)
			sz = ftell(g);
		if (g)
			fclose(g);
		printf("generated %llu MiB raw image as %ld bytes of gzip in "
		       "%.1f s\n",
		       (unsigned long long)(NPAGES * PAGE >> 20), sz,
		       now() - t0);
	}
	rc = bench(path);
	unlink(path);
	printf("%s\n", rc == 0 ? "all pages correct" : "FAILED");
	return rc == 0 ? 0 : 1;
}
