/* SPDX-License-Identifier: MIT */
/* Physical-memory runs shared by the dump formats: one search for the run
 * holding a page, one bitmap-to-runs builder (Windows summary and bitmap
 * dumps, kdump), so that each format only says where its pages lie. */
#include "exq_int.h"

#include <stdlib.h>

size_t exq__run_find(const exq_run *runs, size_t n, uint64_t pfn)
{
	size_t lo = 0, hi = n;
	while (lo < hi) { /* first run starting after pfn */
		size_t mid = lo + (hi - lo) / 2;
		if (runs[mid].base_page <= pfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || pfn - runs[lo - 1].base_page >= runs[lo - 1].page_count)
		return n;
	return lo - 1;
}

int exq__pfn_in_image(const exq_image *img, uint64_t pfn)
{
	return exq__run_find(img->info.runs, img->info.nruns, pfn) !=
	       img->info.nruns;
}

/* 64 bits of the bitmap starting at bit w*64, zero past nbits; the bytes
 * past the last whole word are read one at a time (no over-read). */
static uint64_t bm_word(const uint8_t *bm, uint64_t nbits, uint64_t w)
{
	uint64_t bit = w * 64, v = 0;
	uint64_t left = nbits - bit;
	unsigned i, nbytes;
	if (left >= 64)
		return exq__le64(bm + w * 8);
	nbytes = (unsigned)((left + 7) / 8);
	for (i = 0; i < nbytes; i++)
		v |= (uint64_t)bm[w * 8 + i] << (8 * i);
	return v & ((1ull << left) - 1);
}

struct runbuf {
	exq_run *r;
	size_t n, cap;
};

static int runbuf_add(struct runbuf *b, uint64_t base, uint64_t count)
{
	if (b->n && b->r[b->n - 1].base_page + b->r[b->n - 1].page_count == base) {
		b->r[b->n - 1].page_count += count;
		return 0;
	}
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		exq_run *t = realloc(b->r, ncap * sizeof(*t));
		if (!t)
			return -1;
		b->r = t;
		b->cap = ncap;
	}
	b->r[b->n].base_page = base;
	b->r[b->n++].page_count = count;
	return 0;
}

exq_status exq__bitmap_runs(const uint8_t *bm, uint64_t nbits,
			    uint64_t max_pages, exq_run **out, size_t *nout,
			    uint64_t *nset, exq__err *err)
{
	struct runbuf b = {NULL, 0, 0};
	uint64_t nwords = nbits / 64 + ((nbits & 63) != 0), w, set = 0;
	for (w = 0; w < nwords; w++) {
		uint64_t v = bm_word(bm, nbits, w);
		if (!v)
			continue;
		if (set >= max_pages) { /* past the limit: only count */
			set += (uint64_t)__builtin_popcountll(v);
			continue;
		}
		while (v) {
			unsigned tz = (unsigned)__builtin_ctzll(v), len;
			uint64_t s = v >> tz, take;
			len = ~s ? (unsigned)__builtin_ctzll(~s) : 64 - tz;
			take = len;
			if (set < max_pages && take > max_pages - set)
				take = max_pages - set;
			if (set < max_pages &&
			    runbuf_add(&b, w * 64 + tz, take) != 0) {
				free(b.r);
				return exq__err_set(err, EXQ_NOMEM,
						    "out of memory for the runs "
						    "of a bitmap");
			}
			set += len;
			v = tz + len >= 64 ? 0 : v & ~((1ull << (tz + len)) - 1);
		}
	}
	*out = b.r;
	*nout = b.n;
	*nset = set;
	return EXQ_OK;
}
