/* SPDX-License-Identifier: MIT */
/* Page tables in a physical memory buffer (see tlib_pt.h). */
#include "tlib_pt.h"

#include <stdlib.h>
#include <string.h>

#include "tlib.h"

#define PFN64 0x000FFFFFFFFFF000ull
#define PFN32 0xFFFFF000ull

static const unsigned shifts[3][4] = {
    {22, 12, 0, 0},   /* x86 */
    {30, 21, 12, 0},  /* PAE */
    {39, 30, 21, 12}, /* x64 */
};
static const unsigned bits[3][4] = {
    {10, 10, 0, 0},
    {2, 9, 9, 0},
    {9, 9, 9, 9},
};

static unsigned mi(const struct t_pt *pt)
{
	return pt->paging == EXQ_PAGING_X86   ? 0
	       : pt->paging == EXQ_PAGING_PAE ? 1
					      : 2;
}

uint64_t t_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

struct t_pt *t_pt_new(exq_paging paging, size_t mem_size, uint64_t dtb,
		      uint64_t pool, uint64_t pool_end)
{
	struct t_pt *pt = calloc(1, sizeof(*pt));
	if (!pt)
		abort();
	pt->paging = paging;
	pt->mem = calloc(1, mem_size);
	if (!pt->mem || pool_end > mem_size || dtb + 4096 > mem_size)
		abort();
	pt->mem_size = mem_size;
	pt->dtb = dtb;
	pt->next = pool;
	pt->pool_end = pool_end;
	pt->levels = paging == EXQ_PAGING_X86	? 2
		     : paging == EXQ_PAGING_PAE ? 3
						: 4;
	pt->esize = paging == EXQ_PAGING_X86 ? 4 : 8;
	return pt;
}

void t_pt_free(struct t_pt *pt)
{
	if (!pt)
		return;
	free(pt->mem);
	free(pt);
}

unsigned t_pt_levels(const struct t_pt *pt)
{
	return pt->levels;
}

uint64_t t_pt_large_size(const struct t_pt *pt, unsigned lvl)
{
	if (pt->paging == EXQ_PAGING_X86)
		return lvl == 0 ? 0x400000 : 0;
	if (pt->paging == EXQ_PAGING_PAE)
		return lvl == 1 ? 0x200000 : 0;
	return lvl == 1 ? 0x40000000 : lvl == 2 ? 0x200000 : 0;
}

unsigned t_pt_index(const struct t_pt *pt, uint64_t va, unsigned lvl)
{
	return (unsigned)((va >> shifts[mi(pt)][lvl]) &
			  ((1u << bits[mi(pt)][lvl]) - 1));
}

uint64_t t_pt_get(const struct t_pt *pt, uint64_t pa)
{
	const uint8_t *p = pt->mem + pa;
	uint64_t v = 0;
	unsigned i;
	if (pa + pt->esize > pt->mem_size)
		abort();
	for (i = 0; i < pt->esize; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void t_pt_put(struct t_pt *pt, uint64_t pa, uint64_t v)
{
	if (pa + pt->esize > pt->mem_size)
		abort();
	if (pt->esize == 8)
		t_put64(pt->mem + pa, v);
	else
		t_put32(pt->mem + pa, (uint32_t)v);
}

static uint64_t alloc_page(struct t_pt *pt)
{
	uint64_t p = pt->next;
	if (p + 4096 > pt->pool_end)
		abort(); /* pool exhausted: make it bigger in the test */
	pt->next += 4096;
	memset(pt->mem + p, 0, 4096);
	return p;
}

static uint64_t pfn_mask(const struct t_pt *pt)
{
	return pt->esize == 4 ? PFN32 : PFN64;
}

static uint64_t walk_to(struct t_pt *pt, uint64_t va, unsigned lvl, int create)
{
	uint64_t table = pt->paging == EXQ_PAGING_PAE ? pt->dtb & ~0x1Full
						      : pt->dtb & ~0xFFFull;
	unsigned l;
	for (l = 0; l < lvl; l++) {
		uint64_t epa =
		    table + (uint64_t)t_pt_index(pt, va, l) * pt->esize;
		uint64_t e = t_pt_get(pt, epa);
		if (!(e & T_P) || (t_pt_large_size(pt, l) && (e & T_PS))) {
			uint64_t page;
			if (!create)
				return 0;
			page = alloc_page(pt);
			e = page | T_P;
			if (!(pt->paging == EXQ_PAGING_PAE && l == 0))
				e |= T_RW | T_US | T_A;
			t_pt_put(pt, epa, e);
		}
		table = e & pfn_mask(pt);
	}
	return table + (uint64_t)t_pt_index(pt, va, lvl) * pt->esize;
}

uint64_t t_pt_entry_pa(struct t_pt *pt, uint64_t va, unsigned lvl)
{
	return walk_to(pt, va, lvl, 1);
}

uint64_t t_pt_find_entry(const struct t_pt *pt, uint64_t va, unsigned lvl)
{
	return walk_to((struct t_pt *)pt, va, lvl, 0);
}

void t_pt_set(struct t_pt *pt, uint64_t va, unsigned lvl, uint64_t raw)
{
	t_pt_put(pt, t_pt_entry_pa(pt, va, lvl), raw);
}

void t_pt_map(struct t_pt *pt, uint64_t va, uint64_t pa, uint64_t flags)
{
	t_pt_set(pt, va, pt->levels - 1, (pa & pfn_mask(pt)) | flags | T_P);
}

void t_pt_map_large(struct t_pt *pt, uint64_t va, unsigned lvl, uint64_t pa,
		    uint64_t flags)
{
	uint64_t size = t_pt_large_size(pt, lvl), e;
	if (!size)
		abort();
	if (pt->esize == 4) /* PSE-36: PA bits 32..39 in bits 13..20 */
		e = (pa & 0xFFC00000ull) | (((pa >> 32) & 0xFF) << 13);
	else
		e = pa & PFN64 & ~(size - 1);
	t_pt_set(pt, va, lvl, e | flags | T_P | T_PS);
}

void t_pt_selfmap(struct t_pt *pt, unsigned x64_index)
{
	if (pt->paging == EXQ_PAGING_X86) {
		t_pt_put(pt, pt->dtb + 4 * 0x300,
			 pt->dtb | T_P | T_RW | T_A | T_D);
	} else if (pt->paging == EXQ_PAGING_X64) {
		t_pt_put(pt, pt->dtb + 8ull * x64_index,
			 pt->dtb | T_P | T_RW | T_A | T_D | T_NX);
	} else {
		uint64_t pd[4], pd3;
		unsigned k;
		for (k = 0; k < 4; k++) {
			uint64_t e = t_pt_get(pt, (pt->dtb & ~0x1Full) + 8 * k);
			if (!(e & T_P)) {
				e = alloc_page(pt) | T_P;
				t_pt_put(pt, (pt->dtb & ~0x1Full) + 8 * k, e);
			}
			pd[k] = e & PFN64;
		}
		pd3 = pd[3];
		for (k = 0; k < 4; k++)
			t_pt_put(pt, pd3 + 8 * k,
				 pd[k] | T_P | T_RW | T_A | T_D);
	}
}

void t_pt_kernel(struct t_pt *pt, uint64_t base, unsigned n_pdes)
{
	uint64_t step = pt->paging == EXQ_PAGING_X86 ? 0x400000 : 0x200000;
	unsigned i, j;
	if (pt->paging == EXQ_PAGING_X64)
		step = 1ull << 39; /* one PML4 entry each */
	for (i = 0; i < n_pdes; i++) {
		uint64_t va = base + i * step;
		for (j = 0; j < 4; j++)
			t_pt_map(pt, va + j * 4096ull, alloc_page(pt),
				 T_RW | T_A | T_D | T_G);
	}
}

uint8_t *t_pt_dump(const struct t_pt *pt, const exq_run *runs, size_t n,
		   size_t *len)
{
	struct t_hdr h;
	size_t i, off;
	uint8_t *b;
	memset(&h, 0, sizeof(h));
	h.wide = pt->paging == EXQ_PAGING_X64;
	h.pae = pt->paging == EXQ_PAGING_PAE;
	h.build = h.wide ? 19041 : 7601;
	h.dtb = pt->dtb;
	h.cpus = 1;
	b = t_make_full(&h, runs, n, len);
	off = h.wide ? 0x2000 : 0x1000;
	for (i = 0; i < n; i++) {
		size_t bytes = (size_t)runs[i].page_count * 4096;
		uint64_t pa = runs[i].base_page * 4096;
		if (pa + bytes > pt->mem_size)
			abort();
		memcpy(b + off, pt->mem + pa, bytes);
		off += bytes;
	}
	return b;
}
