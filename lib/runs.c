/* SPDX-License-Identifier: MIT */
/* The physical pages an image holds, shared by the dump formats: runs
 * (most formats: a few, from a header) with one search for the run
 * holding a page, or a bitmap (Windows summary and bitmap dumps, kdump)
 * kept as it is with a rank index, so that opening a bitmap dump costs a
 * popcount per 64 pages and 1/8 of the bitmap whatever its fragmentation
 * (a bitmap of alternate pages would be millions of runs); its runs are
 * built only when exq_image_runs asks for them. */
#include "exq_int.h"

#include <stdlib.h>
#include <string.h>

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

void exq__image_pages_free(exq_image *img)
{
	free(img->runs);
	img->runs = NULL;
	free(img->bm.w);
	free(img->bm.rank);
	memset(&img->bm, 0, sizeof(img->bm));
	img->pfn_end = 0;
}

static int run_cmp(const void *a, const void *b)
{
	const exq_run *x = a, *y = b;
	if (x->base_page != y->base_page)
		return x->base_page < y->base_page ? -1 : 1;
	return 0;
}

exq_status exq__image_set_runs(exq_image *img, const exq_run *runs, size_t n)
{
	size_t i;
	uint64_t total = 0;
	exq_run *copy = NULL;
	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return exq__err_set(&img->err, EXQ_NOMEM,
					    "out of memory for %zu runs", n);
		memcpy(copy, runs, n * sizeof(*copy));
		for (i = 1; i < n && copy[i - 1].base_page <= copy[i].base_page;
		     i++)
			;
		if (i < n) /* bitmaps give sorted runs: no sort for them */
			qsort(copy, n, sizeof(*copy), run_cmp);
	}
	for (i = 0; i < n; i++) {
		uint64_t end;
		if (exq__add_ovf(copy[i].base_page, copy[i].page_count, &end) ||
		    end > (1ull << (52 - EXQ__PAGE_SHIFT))) { /* pages */
			exq_status st = exq__err_set(
				&img->err, EXQ_CORRUPT,
				"run at page 0x%llx with 0x%llx pages goes "
				"past the 52-bit physical address space",
				(unsigned long long)copy[i].base_page,
				(unsigned long long)copy[i].page_count);
			free(copy);
			return st;
		}
		if (i + 1 < n && end > copy[i + 1].base_page) {
			exq_status st = exq__err_set(
				&img->err, EXQ_CORRUPT,
				"runs overlap: pages 0x%llx+0x%llx and "
				"0x%llx+0x%llx",
				(unsigned long long)copy[i].base_page,
				(unsigned long long)copy[i].page_count,
				(unsigned long long)copy[i + 1].base_page,
				(unsigned long long)copy[i + 1].page_count);
			free(copy);
			return st;
		}
		total += copy[i].page_count;
	}
	exq__image_pages_free(img);
	img->runs = copy;
	img->pfn_end = n ? copy[n - 1].base_page + copy[n - 1].page_count : 0;
	img->info.nruns = n;
	img->info.pages_present = total;
	img->info.have |= EXQ_HAVE_RUNS;
	return EXQ_OK;
}

/* ----------------------------------------------------------- bitmaps */

/* How far exq__bmap_index looks for the end of a run of set bits (words
 * after the page's own): spans are a read-ahead hint, not the runs. */
#define SPAN_WORDS 64

static uint64_t nwords_of(uint64_t nbits)
{
	return nbits / 64 + ((nbits & 63) != 0);
}

uint64_t *exq__bmap_alloc(uint64_t nbits, exq__err *err)
{
	uint64_t nw = nwords_of(nbits);
	uint64_t *w = NULL;
	if (nw <= SIZE_MAX / sizeof(*w))
		w = calloc(nw ? (size_t)nw : 1, sizeof(*w));
	if (!w)
		exq__err_set(err, EXQ_NOMEM,
			     "out of memory for a bitmap of 0x%llx pages",
			     (unsigned long long)nbits);
	return w;
}

/* The lowest k set bits of v (k < popcount(v)). */
static uint64_t lowest_bits(uint64_t v, uint64_t k)
{
	uint64_t h = 0;
	while (k--) {
		h |= v & -v;
		v &= v - 1;
	}
	return h;
}

exq_status exq__image_set_bitmap(exq_image *img, uint64_t *w, uint64_t nbits,
				 uint64_t max_pages, uint64_t *nset)
{
	uint64_t nw = nwords_of(nbits), i, set = 0, runs = 0, end = 0, top = 0;
	uint64_t *rank;
	if (nbits > (1ull << (52 - EXQ__PAGE_SHIFT))) {
		free(w);
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "a bitmap of 0x%llx pages goes past the "
				    "52-bit physical address space",
				    (unsigned long long)nbits);
	}
	rank = malloc(((size_t)nw / 8 + 1) * sizeof(*rank));
	if (!rank) {
		free(w);
		return exq__err_set(&img->err, EXQ_NOMEM,
				    "out of memory for a bitmap's index");
	}
	for (i = 0; i < nw; i++) {
		uint64_t v = exq__le64((const uint8_t *)&w[i]), h, c;
		if (i == nw - 1 && (nbits & 63))
			v &= (1ull << (nbits & 63)) - 1;
		w[i] = v;
		if (!(i & 7))
			rank[i / 8] = set;
		c = (uint64_t)__builtin_popcountll(v);
		h = set >= max_pages ? 0
		    : c > max_pages - set ? lowest_bits(v, max_pages - set)
					  : v; /* the held bits */
		if (h) {
			/* a run starts at each held bit whose lower
			 * neighbour (the previous word's top) is not held */
			runs += (uint64_t)__builtin_popcountll(h & ~((h << 1) |
								     top));
			end = i * 64 + 64 - (uint64_t)__builtin_clzll(h);
		}
		top = h >> 63;
		set += c;
	}
	exq__image_pages_free(img);
	img->bm.w = w;
	img->bm.nbits = nbits;
	img->bm.nwords = nw;
	img->bm.rank = rank;
	img->bm.limit = set < max_pages ? set : max_pages;
	img->pfn_end = end;
	img->info.nruns = (size_t)runs;
	img->info.pages_present = img->bm.limit;
	img->info.have |= EXQ_HAVE_RUNS;
	*nset = set;
	return EXQ_OK;
}

uint64_t exq__bmap_index(const exq_image *img, uint64_t pfn, uint64_t *span)
{
	const struct exq__bmap *b = &img->bm;
	uint64_t k = pfn / 64, v, r, i, n;
	unsigned bit = (unsigned)(pfn & 63), len;
	if (pfn >= b->nbits || !((v = b->w[k]) >> bit & 1))
		return EXQ__NOPAGE;
	r = b->rank[k / 8];
	for (i = k & ~7ull; i < k; i++)
		r += (uint64_t)__builtin_popcountll(b->w[i]);
	r += (uint64_t)__builtin_popcountll(v & ((1ull << bit) - 1));
	if (r >= b->limit)
		return EXQ__NOPAGE; /* past the pages a truncated dump holds */
	if (!span)
		return r;
	v = ~(v >> bit); /* bit 0 clear: the page is held */
	len = v ? (unsigned)__builtin_ctzll(v) : 64 - bit;
	n = len;
	if (bit + len == 64)
		for (i = k + 1; i < b->nwords && i <= k + SPAN_WORDS; i++) {
			if (~b->w[i]) {
				n += (uint64_t)__builtin_ctzll(~b->w[i]);
				break;
			}
			n += 64;
		}
	*span = n < b->limit - r ? n : b->limit - r;
	return r;
}

int exq__pfn_in_image(const exq_image *img, uint64_t pfn)
{
	if (img->bm.w)
		return exq__bmap_index(img, pfn, NULL) != EXQ__NOPAGE;
	return exq__run_find(img->runs, img->info.nruns, pfn) !=
	       img->info.nruns;
}

int exq__next_run(const exq_image *img, uint64_t pfn, exq_run *out)
{
	if (img->bm.w) {
		const struct exq__bmap *b = &img->bm;
		uint64_t k = pfn / 64, v, span;
		if (pfn >= b->nbits)
			return 0;
		v = b->w[k] & (~0ull << (pfn & 63));
		while (!v) {
			if (++k >= b->nwords)
				return 0;
			v = b->w[k];
		}
		pfn = k * 64 + (uint64_t)__builtin_ctzll(v);
		if (exq__bmap_index(img, pfn, &span) == EXQ__NOPAGE)
			return 0; /* held bits end at the truncation */
		out->base_page = pfn;
		out->page_count = span;
		return 1;
	} else {
		const exq_run *r = img->runs;
		size_t lo = 0, hi = img->info.nruns;
		while (lo < hi) { /* the first run ending above pfn */
			size_t mid = lo + (hi - lo) / 2;
			if (r[mid].base_page + r[mid].page_count <= pfn)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == img->info.nruns)
			return 0;
		*out = r[lo];
		if (pfn > out->base_page) {
			out->page_count -= pfn - out->base_page;
			out->base_page = pfn;
		}
		return 1;
	}
}

exq_status exq_image_runs(exq_image *img, const exq_run **runs, size_t *nruns)
{
	if (!img || !runs || !nruns)
		return EXQ_INVALID;
	if (!img->open)
		return exq__err_set(&img->err, EXQ_INVALID, "image not open");
	if (img->bm.w && !img->runs && img->info.nruns) {
		size_t n = 0, cap = img->info.nruns;
		uint64_t at = 0;
		exq_run piece, *r = malloc(cap * sizeof(*r));
		if (!r)
			return exq__err_set(&img->err, EXQ_NOMEM,
					    "out of memory for %zu runs", cap);
		while (exq__next_run(img, at, &piece)) {
			if (n && r[n - 1].base_page + r[n - 1].page_count ==
				     piece.base_page)
				r[n - 1].page_count += piece.page_count;
			else if (n < cap)
				r[n++] = piece;
			else
				break;
			at = piece.base_page + piece.page_count;
		}
		if (n != cap || exq__next_run(img, at, &piece)) {
			free(r);
			return exq__err_set(&img->err, EXQ_INVALID,
					    "the bitmap's runs disagree with "
					    "their count %zu (a bug in exq)",
					    cap);
		}
		img->runs = r;
	}
	*runs = img->runs;
	*nruns = img->info.nruns;
	return EXQ_OK;
}

