/* SPDX-License-Identifier: MIT */
/* The page map shared by the formats (lib/runs.c): a bitmap image's
 * counts, membership, storage index, spans, run search and runs built on
 * demand, checked against a bit-by-bit reference on patterns that cross
 * 64-bit word boundaries and rank blocks, partial last words, long runs
 * and a page limit (a truncated dump); the run search over header runs. */
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

/* An image with no source, for the page-map functions alone. */
static exq_image *bare_image(void)
{
	exq_image *img = exq_image_new();
	assert_non_null(img);
	img->open = 1; /* (exq_image_runs asks) */
	return img;
}

/* The image's bitmap made from bm's first nbits bits (the bytes as a file
 * holds them), held up to max pages, answers as the bit-by-bit reference:
 * counts, membership, storage index and span of every page, the run
 * search from every page, and the runs built on demand. */
static void check(const uint8_t *bm, uint64_t nbits, uint64_t max)
{
	size_t cap = (size_t)nbits / 2 + 2, wn, gn, i, r;
	exq_run *want = malloc(cap * sizeof(*want)), piece;
	const exq_run *got;
	uint64_t wset, gset, pfn, held = 0;
	exq_image *img = bare_image();
	exq__err err;
	uint64_t *w = exq__bmap_alloc(nbits, &err);
	assert_non_null(want);
	assert_non_null(w);
	wn = ref_runs(bm, nbits, max, want, &wset);
	memcpy(w, bm, (size_t)(nbits / 8 + ((nbits & 7) != 0)));
	assert_int_equal(exq__image_set_bitmap(img, w, nbits, max, &gset),
			 EXQ_OK);
	assert_int_equal(gset, wset);
	assert_int_equal(img->info.nruns, wn);
	assert_int_equal(img->info.pages_present, wset < max ? wset : max);
	assert_int_equal(img->pfn_end,
			 wn ? want[wn - 1].base_page + want[wn - 1].page_count
			    : 0);
	for (pfn = 0, r = 0; pfn < nbits + 130; pfn++) {
		uint64_t span = 0, k;
		int in;
		while (r < wn && want[r].base_page + want[r].page_count <= pfn)
			r++;
		in = r < wn && pfn >= want[r].base_page;
		assert_int_equal(exq__pfn_in_image(img, pfn), in);
		k = exq__bmap_index(img, pfn, &span);
		if (!in) {
			assert_true(k == EXQ__NOPAGE);
		} else {
			uint64_t left = want[r].base_page + want[r].page_count - pfn;
			assert_int_equal(k, held);
			/* a span may stop short of a long run's end, never
			 * go past it */
			assert_true(span >= 1 && span <= left);
			if (left <= 64 * 64)
				assert_int_equal(span, left);
			held++;
		}
		/* the run search from pfn: the reference's next run,
		 * clipped (pieces of it that touch, for long runs) */
		if (exq__next_run(img, pfn, &piece)) {
			assert_true(r < wn);
			assert_int_equal(piece.base_page,
					 pfn > want[r].base_page ? pfn
								 : want[r].base_page);
			assert_true(piece.base_page + piece.page_count <=
				    want[r].base_page + want[r].page_count);
		} else {
			assert_true(r == wn);
		}
	}
	assert_int_equal(exq_image_runs(img, &got, &gn), EXQ_OK);
	assert_int_equal(gn, wn);
	for (i = 0; i < wn; i++) {
		assert_int_equal(got[i].base_page, want[i].base_page);
		assert_int_equal(got[i].page_count, want[i].page_count);
	}
	exq_image_free(img);
	free(want);
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

/* Long runs (spans stop after 64 words: the runs built on demand join
 * the pieces) and many 512-page rank blocks. */
static void bitmap_long(void **state)
{
	enum { NB = 1 << 20 };
	uint8_t *bm = calloc(NB / 8, 1);
	uint64_t seed = 0x51;
	size_t i;
	(void)state;
	assert_non_null(bm);
	memset(bm + 100, 0xFF, 40000);		  /* 320 000 pages */
	for (i = 50000; i < NB / 8; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		bm[i] = (seed >> 60) < 3 ? 0xFF : (uint8_t)(seed >> 56);
	}
	check(bm, NB, UINT64_MAX);
	check(bm, NB - 5, 400000); /* truncated inside the random part */
	check(bm, NB, 320000 - 7); /* ... inside the long run */
	free(bm);
}

/* The run search over runs from a header. */
static void next_run_runs(void **state)
{
	static const exq_run r[] = {{0x200, 3}, {1, 0x9e}, {0x100, 0x40}};
	exq_image *img = bare_image();
	const exq_run *got;
	exq_run x;
	size_t n;
	(void)state;
	assert_int_equal(exq__image_set_runs(img, r, 3), EXQ_OK);
	assert_int_equal(img->pfn_end, 0x203);
	assert_int_equal(exq__next_run(img, 0, &x), 1);
	assert_int_equal(x.base_page, 1);
	assert_int_equal(x.page_count, 0x9e);
	assert_int_equal(exq__next_run(img, 0x50, &x), 1);
	assert_int_equal(x.base_page, 0x50);
	assert_int_equal(x.page_count, 0x9f - 0x50);
	assert_int_equal(exq__next_run(img, 0x9f, &x), 1);
	assert_int_equal(x.base_page, 0x100);
	assert_int_equal(exq__next_run(img, 0x202, &x), 1);
	assert_int_equal(x.page_count, 1);
	assert_int_equal(exq__next_run(img, 0x203, &x), 0);
	assert_int_equal(exq_image_runs(img, &got, &n), EXQ_OK);
	assert_int_equal(n, 3);
	assert_int_equal(got[0].base_page, 1); /* sorted */
	assert_int_equal(exq_image_runs(NULL, &got, &n), EXQ_INVALID);
	exq_image_free(img);
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
		cmocka_unit_test(bitmap_long),
		cmocka_unit_test(next_run_runs),
		cmocka_unit_test(run_search),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
