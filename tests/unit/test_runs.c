/* SPDX-License-Identifier: MIT */
/* The shared run helpers (lib/runs.c): run search and bitmap → runs,
 * checked against a bit-by-bit reference on patterns that cross 64-bit
 * word boundaries, partial last words and a page limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exq_int.h"

/* Reference: the runs bit by bit, only the first max set bits. */
static size_t ref_runs(const uint8_t *bm, uint64_t nbits, uint64_t max,
		       exq_run *out, uint64_t *nset)
{
	size_t n = 0;
	uint64_t b, set = 0;
	for (b = 0; b < nbits; b++) {
		if (!(bm[b / 8] & (1u << (b % 8))))
			continue;
		if (set++ >= max)
			continue;
		if (n && out[n - 1].base_page + out[n - 1].page_count == b)
			out[n - 1].page_count++;
		else {
			out[n].base_page = b;
			out[n++].page_count = 1;
		}
	}
	*nset = set;
	return n;
}

static void check(const uint8_t *bm, uint64_t nbits, uint64_t max)
{
	exq_run want[1024], *got = NULL;
	uint64_t wset, gset;
	size_t wn = ref_runs(bm, nbits, max, want, &wset), gn, i;
	exq__err err;
	assert_int_equal(exq__bitmap_runs(bm, nbits, max, &got, &gn, &gset, &err),
			 EXQ_OK);
	assert_int_equal(gset, wset);
	assert_int_equal(gn, wn);
	for (i = 0; i < wn; i++) {
		assert_int_equal(got[i].base_page, want[i].base_page);
		assert_int_equal(got[i].page_count, want[i].page_count);
	}
	free(got);
}

static void bitmap_patterns(void **state)
{
	uint8_t bm[64];
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	int k;
	(void)state;
	/* all ones: one run; with odd sizes and limits */
	memset(bm, 0xFF, sizeof(bm));
	check(bm, 512, UINT64_MAX);
	check(bm, 511, UINT64_MAX);
	check(bm, 65, UINT64_MAX);
	check(bm, 3, UINT64_MAX);
	check(bm, 512, 100);
	check(bm, 512, 0);
	/* a run crossing words 0|1 and one ending exactly at bit 127 */
	memset(bm, 0, sizeof(bm));
	bm[7] = 0xC0; bm[8] = 0x03;
	bm[15] = 0x80;
	bm[63] = 0x80;
	check(bm, 512, UINT64_MAX);
	check(bm, 511, UINT64_MAX); /* the last bit is past BitmapSize */
	check(bm, 512, 3);
	/* random densities, random sizes and limits */
	for (k = 0; k < 2000; k++) {
		size_t i;
		uint64_t nbits, max;
		for (i = 0; i < sizeof(bm); i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			bm[i] = (uint8_t)(seed >> 56);
			if (k % 3 == 0)
				bm[i] = bm[i] > 0x80 ? 0xFF : 0; /* long runs */
		}
		nbits = 1 + (seed >> 20) % 512;
		max = k % 4 ? UINT64_MAX : (seed >> 40) % 300;
		check(bm, nbits, max);
	}
}

static void run_search(void **state)
{
	static const exq_run r[] = {{1, 0x9e}, {0x100, 0x40}, {0x200, 3},
				    {0x1000000, 1}};
	(void)state;
	assert_int_equal(exq__run_find(r, 4, 0), 4);
	assert_int_equal(exq__run_find(r, 4, 1), 0);
	assert_int_equal(exq__run_find(r, 4, 0x9e), 0);
	assert_int_equal(exq__run_find(r, 4, 0x9f), 4);
	assert_int_equal(exq__run_find(r, 4, 0x13f), 1);
	assert_int_equal(exq__run_find(r, 4, 0x140), 4);
	assert_int_equal(exq__run_find(r, 4, 0x202), 2);
	assert_int_equal(exq__run_find(r, 4, 0x1000000), 3);
	assert_int_equal(exq__run_find(r, 4, ~0ull), 4);
	assert_int_equal(exq__run_find(r, 0, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bitmap_patterns),
		cmocka_unit_test(run_search),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
