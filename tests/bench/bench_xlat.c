/* SPDX-License-Identifier: MIT */
/* bench_xlat — translation and virtual-read rates (issue 15 item 2).
 *
 *   bench_xlat [N [CASE]]
 *
 * For PAE and x64: page tables in a 256 MiB raw image (tests/unit/tlib_pt.c)
 * mapping N (default 100000) random 4 KiB kernel pages (1 GiB of VA) to
 * random frames; then
 *   vtop       exq_vtop (the walk with its chain of entries, no TLB) over
 *              the N VAs in random order
 *   vtop-hot   exq_vtop over 64 VAs of one page table, repeated
 *   pa-miss    exq_vtop_pa over the N VAs with the TLB off (every lookup
 *              misses and walks; nothing is filled): the miss path, in
 *              the same conditions as vtop
 *   pa-miss-hot  the same over the 64 VAs of vtop-hot (the walk's own
 *              cost, its tables in the CPU caches)
 *   pa-first   exq_vtop_pa, one pass over the N VAs with the TLB emptied
 *              before it (not timed): first lookups, walked and filled
 *              (the N VAs hold some duplicates, so a few hit)
 *   pa-repeat  exq_vtop_pa, passes over the N VAs with the TLB warm: hits
 *              as far as 64 Ki entries hold N random pages
 *   pa-hit     exq_vtop_pa over 8192 of the VAs (random pages, all held by
 *              the TLB), warm
 *   pa-many-miss, pa-many-miss-hot, pa-many-first, pa-many-hit
 *              the same four with exq_vtop_pa_many, given all the VAs of
 *              the case in one call (per-VA statuses asked for)
 *   read8-miss 8-byte exq_read_virt over the N VAs, TLB off
 *   read8      8-byte exq_read_virt, passes over the N VAs, TLB warm
 *   read8-hot  8-byte exq_read_virt within 64 pages (TLB hits)
 * (CASE: run only that case, e.g. under perf.) Each rate is the median
 * of 5 runs; every result is checked against the
 * generator's mapping. Prints one line per case: "MODE CASE RATE M/s" and
 * the share of lookups the TLB served.
 */
/* tlib_pt.c needs the dump builders, and they the world builder */
#include "../unit/tlib_dump.c"
#include "../unit/tlib_win.c"
#include "../unit/tlib_win_queues.c"
#include "../unit/tlib_pt.c"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "exq_int.h"

#define MiB (1024u * 1024u)
#define RUNS 5

/* CPU time, not wall time: the machine is shared (2 cores, fuzzers in
 * the background), and time spent descheduled is not the library's. */
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct map {
	uint64_t va, pa;
};

static void die(const char *m)
{
	fprintf(stderr, "bench_xlat: %s\n", m);
	exit(1);
}

/* rate in M/s of `ops` operations done by f, median of RUNS */
typedef uint64_t (*bench_fn)(exq_vspace *vs, const struct map *m, size_t n,
			     size_t ops);

static void disagree(exq_vspace *vs, const struct map *e, uint64_t pa)
{
	fprintf(stderr, "VA 0x%llx: PA 0x%llx, want 0x%llx: %s\n",
		(unsigned long long)e->va, (unsigned long long)pa,
		(unsigned long long)e->pa,
		exq_image_error(exq_vspace_image(vs)));
	die("translation disagrees with the tables");
}

static uint64_t do_vtop(exq_vspace *vs, const struct map *m, size_t n,
			size_t ops)
{
	uint64_t sum = 0;
	size_t i, k;
	exq_xlat x;
	for (i = 0, k = 0; i < ops; i++, k = k + 1 == n ? 0 : k + 1) {
		const struct map *e = &m[k];
		if (exq_vtop(vs, e->va, &x) != EXQ_OK || x.pa != e->pa)
			disagree(vs, e, x.pa);
		sum += x.pa;
	}
	return sum;
}

static uint64_t do_pa(exq_vspace *vs, const struct map *m, size_t n,
		      size_t ops)
{
	uint64_t sum = 0, pa = 0;
	size_t i, k;
	for (i = 0, k = 0; i < ops; i++, k = k + 1 == n ? 0 : k + 1) {
		const struct map *e = &m[k];
		if (exq_vtop_pa(vs, e->va, &pa, NULL, NULL) != EXQ_OK ||
		    pa != e->pa)
			disagree(vs, e, pa);
		sum += pa;
	}
	return sum;
}

/* the VAs of m[0..n) in an array, and room for the answers, for
 * exq_vtop_pa_many (set by bench_many) */
static const uint64_t *many_va;
static uint64_t *many_pa;
static exq_status *many_st;

static uint64_t do_many(exq_vspace *vs, const struct map *m, size_t n,
			size_t ops)
{
	uint64_t sum = 0;
	size_t done, i;
	for (done = 0; done < ops; done += n) {
		size_t c = ops - done < n ? ops - done : n;
		exq_status st =
		    exq_vtop_pa_many(vs, many_va, c, many_pa, NULL, many_st);
		for (i = 0; i < c; i++) {
			if (st != EXQ_OK || many_st[i] != EXQ_OK ||
			    many_pa[i] != m[i].pa)
				disagree(vs, &m[i], many_pa[i]);
			sum += many_pa[i];
		}
	}
	return sum;
}

static uint64_t do_read8(exq_vspace *vs, const struct map *m, size_t n,
			 size_t ops)
{
	uint64_t sum = 0, v;
	size_t i, k;
	for (i = 0, k = 0; i < ops; i++, k = k + 1 == n ? 0 : k + 1) {
		const struct map *e = &m[k];
		if (exq_read_virt(vs, e->va + 8 * (i & 7), &v, 8, NULL) != EXQ_OK)
			die("read_virt failed");
		sum += v;
	}
	return sum;
}

/* One case: RUNS timed runs of f (WARM, COLD or NOTLB); prints the median rate and the
 * share of the timed lookups that hit the TLB. */
static const char *only; /* the CASE argument */

#define WARM 0  /* after one untimed run */
#define COLD 1  /* the TLB emptied before each run */
#define NOTLB 2 /* the TLB off */

static void bench(const char *mode, const char *name, bench_fn f,
		  exq_vspace *vs, const struct map *m, size_t n, size_t ops,
		  int cold)
{
	double t[RUNS];
	uint64_t h0, m0, h1, m1;
	int r;
	if (only && strcmp(only, name))
		return;
	exq__vspace_tlb_off(vs, cold == NOTLB);
	if (cold != COLD)
		f(vs, m, n, ops);
	exq__vspace_tlb_stats(vs, &h0, &m0);
	for (r = 0; r < RUNS; r++) {
		double t0;
		volatile uint64_t s;
		if (cold == COLD)
			exq__vspace_tlb_flush(vs);
		t0 = now();
		s = f(vs, m, n, ops);
		(void)s;
		t[r] = now() - t0;
	}
	exq__vspace_tlb_stats(vs, &h1, &m1);
	exq__vspace_tlb_off(vs, 0);
	qsort(t, RUNS, sizeof(t[0]), dcmp);
	printf("%s %s %.1f M/s", mode, name, (double)ops / t[RUNS / 2] / 1e6);
	if (h1 + m1 > h0 + m0)
		printf(" (TLB hits %.1f %%)",
		       100.0 * (double)(h1 - h0) / (double)(h1 + m1 - h0 - m0));
	printf("\n");
}

static void bench_many(const char *mode, const char *name, exq_vspace *vs,
		       const struct map *m, size_t n, size_t ops, int cold)
{
	uint64_t *va = malloc(n * sizeof(*va));
	size_t i;
	many_pa = malloc(n * sizeof(*many_pa));
	many_st = malloc(n * sizeof(*many_st));
	if (!va || !many_pa || !many_st)
		die("out of memory");
	for (i = 0; i < n; i++)
		va[i] = m[i].va;
	many_va = va;
	bench(mode, name, do_many, vs, m, n, ops, cold);
	free(va);
	free(many_pa);
	free(many_st);
}

static void one_mode(exq_paging paging, size_t n)
{
	size_t mem = 256 * MiB, i;
	uint64_t dtb = 0x185000, pool = 0x200000, pool_end = 0x2000000;
	uint64_t base = paging == EXQ_PAGING_X64 ? 0xfffff80000000000ull
						  : 0x80000000ull;
	uint64_t seed = 0x15, span = 1ull << 30; /* 1 GiB of kernel VA */
	struct t_pt *pt = t_pt_new(paging, mem, dtb, pool, pool_end);
	struct map *m = malloc(n * sizeof(*m)), *hot = malloc(64 * sizeof(*m));
	exq_image *img = exq_image_new();
	exq_vspace *vs;
	const char *name = paging == EXQ_PAGING_X64 ? "x64" : "pae";
	if (!pt || !m || !hot || !img)
		die("out of memory");
	for (i = 0; i < n; i++) {
		uint64_t r = t_rand(&seed);
		m[i].va = base + ((r % (span >> 12)) << 12);
		m[i].pa = (pool_end >> 12) + (t_rand(&seed) % ((mem - pool_end) >> 12));
		m[i].pa <<= 12;
		t_pt_map(pt, m[i].va, m[i].pa, T_RW);
	}
	for (i = 0; i < 64; i++) {
		hot[i].va = base + 0x3000000 + (i << 12);
		hot[i].pa = 0x1000000 + (i << 12);
		t_pt_map(pt, hot[i].va, hot[i].pa, T_RW);
	}
	/* a VA drawn twice keeps its last frame: the truth is the PTE */
	for (i = 0; i < n; i++) {
		uint64_t pte = t_pt_find_entry(pt, m[i].va, t_pt_levels(pt) - 1);
		m[i].pa = t_pt_get(pt, pte) & 0x000FFFFFFFFFF000ull;
	}
	if (exq_image_open_mem(img, pt->mem, pt->mem_size) != EXQ_OK ||
	    exq_vspace_new(&vs, img, paging, pt->dtb) != EXQ_OK)
		die(exq_image_error(img));
	bench(name, "vtop", do_vtop, vs, m, n, 4 * n, WARM);
	bench(name, "vtop-hot", do_vtop, vs, hot, 64, 4 * n, WARM);
	bench(name, "pa-miss", do_pa, vs, m, n, 4 * n, NOTLB);
	bench(name, "pa-miss-hot", do_pa, vs, hot, 64, 4 * n, NOTLB);
	bench(name, "pa-first", do_pa, vs, m, n, n, COLD);
	bench(name, "pa-repeat", do_pa, vs, m, n, 4 * n, WARM);
	bench(name, "pa-hit", do_pa, vs, m, n < 8192 ? n : 8192, 4 * n, WARM);
	bench_many(name, "pa-many-miss", vs, m, n, 4 * n, NOTLB);
	bench_many(name, "pa-many-miss-hot", vs, hot, 64, 4 * n, NOTLB);
	bench_many(name, "pa-many-first", vs, m, n, n, COLD);
	bench_many(name, "pa-many-hit", vs, m, n < 8192 ? n : 8192, 4 * n,
		   WARM);
	bench(name, "read8-miss", do_read8, vs, m, n, 4 * n, NOTLB);
	bench(name, "read8", do_read8, vs, m, n, 4 * n, WARM);
	bench(name, "read8-hot", do_read8, vs, hot, 64, 4 * n, WARM);
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
	free(m);
	free(hot);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 0) : 100000;
	if (n < 1)
		die("N must be at least 1");
	only = argc > 2 ? argv[2] : NULL;
	one_mode(EXQ_PAGING_PAE, n);
	one_mode(EXQ_PAGING_X64, n);
	return 0;
}
