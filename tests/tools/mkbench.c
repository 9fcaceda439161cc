/* SPDX-License-Identifier: MIT */
/*
 * mkbench — large inputs for `make bench` (tests/bench/run.sh), made from
 * a generated world (mkwin / mkfixture), and page-cache eviction.
 *
 *   mkbench raw WORLD.raw OUT MIB
 *       OUT = WORLD.raw, then non-zero filler (xorshift bytes) up to MIB
 *       MiB: a raw image whose DTB a scan must find.
 *   mkbench bitmap WORLD.dmp32-bitmap OUT GIB RUNPAGES
 *       OUT = the world's PAGEDUMP bitmap dump grown to a GIB GiB machine:
 *       the world's pages as they are, then above them RUNPAGES pages
 *       stored out of every 2 * RUNPAGES (a fragmented bitmap, about
 *       GIB * 2^18 / (2 * RUNPAGES) runs); their data are holes (sparse).
 *   mkbench evict FILE...
 *       drop FILE's pages from the page cache (posix_fadvise DONTNEED) so
 *       that the next read is cold.
 *
 * libc only; the world supplies every header fact.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096u

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "mkbench: %s%s\n", what, arg);
	exit(2);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;
	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		die("cannot read ", path);
	b = malloc((size_t)n + 1);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
		die("cannot read ", path);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void put(FILE *f, const void *b, size_t n, const char *path)
{
	if (n && fwrite(b, 1, n, f) != n)
		die("cannot write ", path);
}

static int mk_raw(const char *world, const char *out, uint64_t mib)
{
	size_t wlen, i;
	uint8_t *w = slurp(world, &wlen), *blk = malloc(1u << 20);
	uint64_t total = mib << 20, done, x = 0x9E3779B97F4A7C15ull;
	FILE *f = fopen(out, "wb");
	if (!f || !blk || wlen > total)
		die("cannot write ", out);
	put(f, w, wlen, out);
	for (i = 0; i < (1u << 20); i += 8) { /* xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(blk + i, &x, 8);
	}
	for (done = wlen; done < total;) {
		size_t n = total - done < (1u << 20) ? (size_t)(total - done)
						     : 1u << 20;
		put(f, blk, n, out);
		done += n;
	}
	if (fclose(f) != 0)
		die("cannot write ", out);
	free(w);
	free(blk);
	return 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;
	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	int i;
	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* PAGEDUMP bitmap dump (DumpType 5/6): BMP header at 0x1000, FirstPage
 * +0x20, Pages +0x28, BitmapSize +0x30, bits +0x38 (DESIGN §4.1). */
static int mk_bitmap(const char *world, const char *out, uint64_t gib,
		     uint64_t runpages)
{
	size_t wlen;
	uint8_t *w = slurp(world, &wlen), *h, *bm;
	uint64_t wbits, wfirst, bits = gib << 18, p, set = 0, first, bytes,
			       wpages = 0;
	FILE *f;
	if (wlen < 0x1038 || memcmp(w, "PAGEDUMP", 8) ||
	    (memcmp(w + 0x1000, "SDMP", 4) && memcmp(w + 0x1000, "FDMP", 4)))
		die("not a 32-bit bitmap dump: ", world);
	wfirst = le64(w + 0x1020);
	wbits = le64(w + 0x1030);
	if (runpages == 0 || wbits > bits || wfirst > wlen ||
	    0x1038 + (wbits + 7) / 8 > wlen)
		die("bad arguments or world dump ", world);
	bytes = (bits + 7) / 8;
	first = (0x1038 + bytes + PAGE - 1) / PAGE * PAGE;
	h = calloc(1, (size_t)first);
	if (!h)
		die("out of memory", "");
	memcpy(h, w, 0x1038);
	bm = h + 0x1038;
	memcpy(bm, w + 0x1038, (size_t)((wbits + 7) / 8));
	for (p = 0; p < wbits; p++)
		wpages += (bm[p / 8] >> (p % 8)) & 1;
	set = wpages;
	p = (wbits + 2 * runpages - 1) / (2 * runpages) * (2 * runpages);
	for (; p < bits; p++)
		if (p % (2 * runpages) < runpages) {
			bm[p / 8] |= (uint8_t)(1u << (p % 8));
			set++;
		}
	put64(h + 0x1020, first);
	put64(h + 0x1028, set);
	put64(h + 0x1030, bits);
	f = fopen(out, "wb");
	if (!f)
		die("cannot write ", out);
	put(f, h, (size_t)first, out);
	if (wfirst + wpages * PAGE > wlen)
		die("world dump shorter than its bitmap says: ", world);
	put(f, w + wfirst, (size_t)(wpages * PAGE), out);
	if (fflush(f) != 0 ||
	    ftruncate(fileno(f), (off_t)(first + set * PAGE)) != 0 ||
	    fclose(f) != 0)
		die("cannot write ", out);
	printf("%s: %llu pages of %llu stored\n", out,
	       (unsigned long long)set, (unsigned long long)bits);
	free(h);
	free(w);
	return 0;
}

static int evict(int n, char **paths)
{
	int i;
	for (i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDONLY);
		if (fd < 0)
			die("cannot open ", paths[i]);
		(void)fdatasync(fd);
		if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
			die("posix_fadvise failed on ", paths[i]);
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "raw") == 0)
		return mk_raw(argv[2], argv[3], strtoull(argv[4], NULL, 0));
	if (argc == 6 && strcmp(argv[1], "bitmap") == 0)
		return mk_bitmap(argv[2], argv[3], strtoull(argv[4], NULL, 0),
				 strtoull(argv[5], NULL, 0));
	if (argc >= 3 && strcmp(argv[1], "evict") == 0)
		return evict(argc - 2, argv + 2);
	fprintf(stderr, "usage: mkbench raw WORLD.raw OUT MIB\n"
			"       mkbench bitmap WORLD.dmp32-bitmap OUT GIB RUNPAGES\n"
			"       mkbench evict FILE...\n");
	return 2;
}
