/* SPDX-License-Identifier: MIT */
/* Virtual addresses: our own page-table walker with Windows PTE semantics
 * (DESIGN §5), a software TLB per address space, virtual reads. The
 * walker only walks: which DTB and paging mode an image's address space
 * uses is dtb.c's choice (exq__dtb_settle).
 *
 * Entry bits (Intel SDM vol. 3 §4.3-4.5; the Windows software PTE bits from
 * the public MMPTE_TRANSITION / MMPTE_PROTOTYPE definitions, WRK/ReactOS):
 *   0 P · 1 R/W · 2 U/S · 3 PWT · 4 PCD · 5 A · 6 D · 7 PS (PDE/PDPTE)
 *   8 G · 10 prototype (when P = 0) · 11 transition (when P = 0)
 *   12.. PFN (x86: to bit 31; PAE/x64: to bit 51) · 63 NX (PAE/x64)
 * x86 4 MiB pages carry PA bits 32..39 in entry bits 13..20 (PSE-36).
 * PAE PDPTEs: only P and the PFN count; hypervisors (QEMU) set Accessed
 * and other reserved bits there, and the dump must still translate.
 */
#include "exq_int.h"

#include <stdlib.h>

#define E_P 0x1ull
#define E_PS 0x80ull
#define E_G 0x100ull
#define E_PROTO 0x400ull
#define E_TRANS 0x800ull
#define E_NX (1ull << 63)
#define E_HWFLAGS 0x7Eull /* R/W U/S PWT PCD A D: same bits as EXQ_XF_* */
_Static_assert(EXQ_XF_WRITE == 0x2 && EXQ_XF_USER == 0x4 &&
		   EXQ_XF_WRITETHROUGH == 0x8 && EXQ_XF_CACHEDISABLE == 0x10 &&
		   EXQ_XF_ACCESSED == 0x20 && EXQ_XF_DIRTY == 0x40,
	       "E_HWFLAGS are the entries' own bits");
#define PFN32 0xFFFFF000ull
#define PFN64 0x000FFFFFFFFFF000ull

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define NOINLINE
#define ALWAYS_INLINE inline
#endif

struct mode {
	exq_paging paging;
	unsigned levels, esize;
	const char *name[EXQ_XLAT_MAX_LEVELS];
	const char *table[EXQ_XLAT_MAX_LEVELS]; /* what the level indexes */
	unsigned shift[EXQ_XLAT_MAX_LEVELS], bits[EXQ_XLAT_MAX_LEVELS];
	uint64_t large[EXQ_XLAT_MAX_LEVELS]; /* PS page size, 0: no PS */
};

/* walk_lean names the rows by index: keep the order x86, PAE, x64. */
static const struct mode modes[] = {
    {EXQ_PAGING_X86,
     2,
     4,
     {"PDE", "PTE"},
     {"page directory", "page table"},
     {22, 12},
     {10, 10},
     {0x400000, 0}},
    {EXQ_PAGING_PAE,
     3,
     8,
     {"PDPTE", "PDE", "PTE"},
     {"PDPT", "page directory", "page table"},
     {30, 21, 12},
     {2, 9, 9},
     {0, 0x200000, 0}},
    {EXQ_PAGING_X64,
     4,
     8,
     {"PML4E", "PDPTE", "PDE", "PTE"},
     {"PML4", "PDPT", "page directory", "page table"},
     {39, 30, 21, 12},
     {9, 9, 9, 9},
     {0, 0x40000000, 0x200000, 0}},
};

static const struct mode *mode_of(exq_paging p)
{
	size_t i;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (modes[i].paging == p)
			return &modes[i];
	return NULL;
}

static uint64_t pfn_mask(const struct mode *m)
{
	return m->esize == 4 ? PFN32 : PFN64;
}

/* Flags of one entry, as EXQ_XF_* bits. */
static ALWAYS_INLINE uint32_t entry_flags(const struct mode *m, unsigned lvl,
					  uint64_t e)
{
	uint32_t f = 0;
	int last = lvl + 1 == m->levels;
	if (m->paging == EXQ_PAGING_PAE && lvl == 0)
		return e & E_P ? EXQ_XF_PRESENT : 0;
	if (!(e & E_P)) {
		if (!last)
			return 0;
		if (e & E_PROTO)
			return EXQ_XF_PROTOTYPE;
		return e & E_TRANS ? EXQ_XF_TRANSITION : 0;
	}
	f = EXQ_XF_PRESENT | (uint32_t)(e & E_HWFLAGS);
	if (m->large[lvl] && (e & E_PS))
		f |= EXQ_XF_LARGE;
	if ((last || (f & EXQ_XF_LARGE)) && (e & E_G))
		f |= EXQ_XF_GLOBAL;
	if (m->esize == 8 && (e & E_NX))
		f |= EXQ_XF_NX;
	return f;
}

/* Base PA of a large page named by entry e. */
static uint64_t large_base(const struct mode *m, uint64_t e, uint64_t size)
{
	if (m->esize == 4) /* PSE-36: bits 13..20 are PA bits 32..39 */
		return (e & 0xFFC00000ull) | (((e >> 13) & 0xFFull) << 32);
	return e & PFN64 & ~(size - 1);
}

/* True when va lies in the mode's address space. */
static int va_ok(const struct mode *m, uint64_t va)
{
	if (m->paging != EXQ_PAGING_X64)
		return va <= 0xFFFFFFFFull;
	return (va >> 47) == 0 || (va >> 47) == 0x1FFFFull;
}

static exq_status check_va(exq_image *img, const struct mode *m, uint64_t va)
{
	if (va_ok(m, va))
		return EXQ_OK;
	if (m->paging != EXQ_PAGING_X64)
		return exq__err_set(&img->err, EXQ_INVALID,
				    "VA 0x%llx is above 4 GiB: not an "
				    "address in %s paging",
				    (unsigned long long)va,
				    exq_paging_name(m->paging));
	return exq__err_set(&img->err, EXQ_INVALID,
			    "VA 0x%llx is not canonical (bits 63..47 differ)",
			    (unsigned long long)va);
}

/* Read the entry at epa (esize bytes): in place in the page cache. */
static exq_status read_entry(exq_image *img, uint64_t epa, unsigned esize,
			     uint64_t *e)
{
	const uint8_t *page;
	size_t off = (size_t)(epa & (EXQ__PAGE_SIZE - 1));
	exq_status st = exq__page_ref_hot(img, epa >> EXQ__PAGE_SHIFT, &page);
	if (st != EXQ_OK)
		return st;
	*e = esize == 8 ? exq__le64(page + off) : exq__le32(page + off);
	return EXQ_OK;
}

/* The table of level lvl could not be read. */
static exq_status table_error(exq_image *img, const struct mode *m,
			      const exq_xlat *x, unsigned lvl, uint64_t epa,
			      exq_status st)
{
	const char *fmt = img->info.format ? img->info.format : "this";
	if (st != EXQ_NODATA)
		return exq__err_ctx(&img->err, st,
				    "VA 0x%llx: reading %s[0x%x] at PA 0x%llx",
				    (unsigned long long)x->va, m->name[lvl],
				    (unsigned)((x->va >> m->shift[lvl]) &
					       ((1u << m->bits[lvl]) - 1)),
				    (unsigned long long)epa);
	if (lvl == 0)
		return exq__err_set(&img->err, st,
				    "VA 0x%llx: the %s at PA 0x%llx (the DTB) "
				    "is not in this %s image",
				    (unsigned long long)x->va, m->table[0],
				    (unsigned long long)epa, fmt);
	return exq__err_set(
	    &img->err, st,
	    "VA 0x%llx: the %s at PA 0x%llx named by %s[0x%x] = 0x%llx "
	    "is not in this %s image",
	    (unsigned long long)x->va, m->table[lvl],
	    (unsigned long long)(epa & ~(uint64_t)(EXQ__PAGE_SIZE - 1)),
	    x->levels[lvl - 1].name, x->levels[lvl - 1].index,
	    (unsigned long long)x->levels[lvl - 1].entry, fmt);
}

static exq_status not_present(exq_image *img, const exq_xlat *x,
			      const exq_xlat_level *L)
{
	const char *why = "";
	if (L->flags & EXQ_XF_PROTOTYPE)
		why = " (prototype PTE)";
	else if (L->entry && !strcmp(L->name, "PTE"))
		why = " (paged out or demand-zero)";
	return exq__err_set(&img->err, EXQ_NOTPRESENT,
			    "VA 0x%llx: %s[0x%x] = 0x%llx not present%s",
			    (unsigned long long)x->va, L->name, L->index,
			    (unsigned long long)L->entry, why);
}

/* Flags of a whole translation from the flags of the entry that ended it
 * (leaf) and those accumulated above it (upper). */
static uint32_t mapping_flags(uint32_t leaf, uint32_t upper)
{
	uint32_t f;
	if (leaf & EXQ_XF_TRANSITION)
		return EXQ_XF_TRANSITION | (upper & EXQ_XF_NX);
	f = EXQ_XF_PRESENT |
	    (leaf & (EXQ_XF_LARGE | EXQ_XF_GLOBAL | EXQ_XF_ACCESSED |
		     EXQ_XF_DIRTY | EXQ_XF_WRITETHROUGH | EXQ_XF_CACHEDISABLE));
	f |= upper & leaf & (EXQ_XF_WRITE | EXQ_XF_USER);
	return f | ((upper | leaf) & EXQ_XF_NX);
}

/* W/U are ANDed over the levels, NX ORed (PAE PDPTEs carry neither). */
static uint32_t accumulate(const struct mode *m, unsigned lvl, uint32_t f,
			   uint32_t upper)
{
	if (m->paging == EXQ_PAGING_PAE && lvl == 0)
		return upper;
	upper &= f | ~(EXQ_XF_WRITE | EXQ_XF_USER);
	return upper | (f & EXQ_XF_NX);
}

/* Fill the result of a successful walk ending at level L. */
static void finish(exq_xlat *x, const exq_xlat_level *L, uint64_t base,
		   uint64_t size, uint32_t upper)
{
	x->page_size = size;
	x->pa = base | (x->va & (size - 1));
	x->flags = mapping_flags(L->flags, upper);
}

/* One level of a walk: read and decode the entry for out->va in the
 * table at *table. Returns EXQ_OK with *done set when the walk ended with
 * a translation, EXQ_OK with *table moved to the next level otherwise, or
 * the failure. upper accumulates W/U (AND) and NX (OR) over the levels. */
static exq_status walk_level(exq_image *img, const struct mode *m,
			     exq_xlat *out,
			     unsigned lvl, uint64_t *table, uint32_t *upper,
			     int *done)
{
	uint32_t idx =
	    (uint32_t)((out->va >> m->shift[lvl]) & ((1u << m->bits[lvl]) - 1));
	uint64_t epa = *table + (uint64_t)idx * m->esize, e;
	exq_xlat_level *L = &out->levels[lvl];
	exq_status st = read_entry(img, epa, m->esize, &e);
	if (st != EXQ_OK)
		return table_error(img, m, out, lvl, epa, st);
	L->name = m->name[lvl];
	L->index = idx;
	L->entry_pa = epa;
	L->entry = e;
	L->flags = entry_flags(m, lvl, e);
	out->nlevels = lvl + 1;
	*done = 1;
	if (!(e & E_P)) {
		if (!(L->flags & EXQ_XF_TRANSITION))
			return not_present(img, out, L);
		finish(out, L, e & pfn_mask(m), EXQ__PAGE_SIZE, *upper);
		return EXQ_OK;
	}
	*upper = accumulate(m, lvl, L->flags, *upper);
	if (L->flags & EXQ_XF_LARGE) {
		finish(out, L, large_base(m, e, m->large[lvl]), m->large[lvl],
		       *upper);
		return EXQ_OK;
	}
	if (lvl + 1 == m->levels) {
		finish(out, L, e & pfn_mask(m), EXQ__PAGE_SIZE, *upper);
		return EXQ_OK;
	}
	*done = 0;
	*table = e & pfn_mask(m);
	return EXQ_OK;
}

exq_status exq__walk(exq_image *img, exq_paging paging, uint64_t dtb,
		     uint64_t va, exq_xlat *out)
{
	const struct mode *m = mode_of(paging);
	uint64_t table;
	uint32_t upper = EXQ_XF_WRITE | EXQ_XF_USER;
	unsigned lvl;
	int done = 0;
	exq_status st;

	memset(out, 0, sizeof(*out));
	out->va = va;
	out->paging = paging;
	if (!m)
		return exq__err_set(&img->err, EXQ_INVALID,
				    "paging mode unknown: cannot translate VA "
				    "0x%llx",
				    (unsigned long long)va);
	st = check_va(img, m, va);
	if (st != EXQ_OK)
		return st;
	table = exq__dtb_mask(paging, dtb);
	for (lvl = 0; lvl < m->levels; lvl++) {
		st = walk_level(img, m, out, lvl, &table, &upper, &done);
		if (st != EXQ_OK || done)
			return st;
	}
	return exq__err_set(&img->err, EXQ_INVALID, "walk fell through");
}

/* ------------------------------------------------------------ vspace */

/* Software TLB, per vspace: 2-way set-associative on the 4 KiB VA page
 * (set = low bits of the page number; LRU within a set), TLB_SETS * 2
 * entries of 16 bytes = 1 MiB, allocated with the vspace (calloc: pages
 * are touched only as sets fill) and never per call. An entry of a large
 * page maps only its 4 KiB page. It holds successful translations only:
 * a failure is walked again each time (it says why, and caching it
 * would save nothing on the paths that matter). Nothing can change an
 * entry's answer while it is held: paging mode and DTB are fixed for the
 * vspace's life, the image is immutable while open (exq_image_open_mem's
 * contract), and re-opening the image bumps img->gen, which empties the
 * TLB on the next lookup. */
#define TLB_SETS 32768u
#define TLB_WAYS 2u
#define TLB_PA 0x000FFFFFFFFFF000ull /* val: PA of the 4 KiB page */
#define TLB_FLAGS 0xFFFull	     /* val: EXQ_XF_* of the mapping */
#define TLB_SHIFT_AT 52		     /* val: log2(page size) - 12 */
struct tlb_ent {
	uint64_t tag; /* VA of the 4 KiB page | 1; 0: empty */
	uint64_t val;
};

/* Beside the TLB, a page-table cache (the idea of the CPU's paging-
 * structure caches): for the VA range one last-level table maps (2 MiB;
 * x86 4 MiB), that table's PA and the W/U bits ANDed and NX ORed over the
 * entries above it, so that a TLB miss there reads one entry instead of
 * walking every level. Direct-mapped, PTC_SLOTS entries of 16 bytes (tag:
 * VA >> that range's shift, << 1 | 1; val: table PA | W/U | NX). Filled
 * by the walks that reach a last-level table, emptied and off
 * with the TLB; it stays right for the TLB's reasons. */
#define PTC_SLOTS 1024u
struct exq_vspace {
	exq_image *img;
	const struct mode *m;
	exq_paging paging;
	uint64_t dtb;
	const char *dtb_source;
	uint64_t gen; /* img->gen the TLB was filled under */
	uint64_t hits, misses;
	int no_fill; /* exq__vspace_tlb_off: every lookup misses */
	void *mem;   /* what calloc gave (the vspace lies 64-aligned in it) */
	/* a set (32 bytes) never straddles two cache lines */
	_Alignas(64) struct tlb_ent tlb[TLB_SETS * TLB_WAYS];
	struct tlb_ent ptc[PTC_SLOTS]; /* the page-table cache, below */
};

_Static_assert((EXQ_XF_PRESENT | EXQ_XF_WRITE | EXQ_XF_USER |
		EXQ_XF_WRITETHROUGH | EXQ_XF_CACHEDISABLE | EXQ_XF_ACCESSED |
		EXQ_XF_DIRTY | EXQ_XF_LARGE | EXQ_XF_GLOBAL |
		EXQ_XF_TRANSITION | EXQ_XF_PROTOTYPE | EXQ_XF_NX) <= TLB_FLAGS,
	       "every mapping flag fits in a TLB entry beside the PA");

void exq__vspace_tlb_flush(exq_vspace *vs)
{
	memset(vs->tlb, 0, sizeof(vs->tlb));
	memset(vs->ptc, 0, sizeof(vs->ptc));
	vs->gen = vs->img->gen;
}

void exq__vspace_tlb_off(exq_vspace *vs, int off)
{
	exq__vspace_tlb_flush(vs);
	vs->no_fill = off;
}

void exq__vspace_tlb_stats(const exq_vspace *vs, uint64_t *hits,
			   uint64_t *misses)
{
	*hits = vs->hits;
	*misses = vs->misses;
}

/* The TLB entry value of va, or 0 when it holds none (a value is never 0:
 * EXQ_XF_PRESENT or _TRANSITION is always set). */
static inline uint64_t tlb_find(exq_vspace *vs, uint64_t va)
{
	uint64_t tag = (va & ~(uint64_t)(EXQ__PAGE_SIZE - 1)) | 1;
	struct tlb_ent *s =
	    &vs->tlb[((va >> EXQ__PAGE_SHIFT) & (TLB_SETS - 1)) * TLB_WAYS];
	if (vs->gen != vs->img->gen)
		exq__vspace_tlb_flush(vs);
	if (s[0].tag == tag)
		return s[0].val;
	if (s[1].tag == tag) { /* most recently used first */
		struct tlb_ent t = s[1];
		s[1] = s[0];
		s[0] = t;
		return t.val;
	}
	return 0;
}

static void tlb_fill(exq_vspace *vs, uint64_t va, uint64_t val)
{
	struct tlb_ent *s =
	    &vs->tlb[((va >> EXQ__PAGE_SHIFT) & (TLB_SETS - 1)) * TLB_WAYS];
	uint64_t tag = (va & ~(uint64_t)(EXQ__PAGE_SIZE - 1)) | 1;
	if (vs->no_fill)
		return;
	if (s[0].tag != tag) /* (a batch may walk one VA twice) */
		s[1] = s[0];
	s[0].tag = tag;
	s[0].val = val;
}

/* A TLB entry value for a translation (size: a power of two, 4 KiB to
 * 1 GiB). */
static ALWAYS_INLINE uint64_t tlb_val(uint64_t pa, uint64_t size,
				      uint32_t flags)
{
	unsigned sh = 0;
	while (((uint64_t)EXQ__PAGE_SIZE << sh) < size)
		sh++;
	return (pa & TLB_PA) | flags | ((uint64_t)sh << TLB_SHIFT_AT);
}

/* The walk behind the TLB: walk_level's decoding, without recording the
 * levels. lean_step decodes the entry e read at level lvl for va: 1 when
 * the walk goes on to the table it sets in *table; 0 when it ends, with
 * *val the TLB value of va, or 0 when the walk does not end in a
 * translation (the caller then walks with exq__walk, which says why:
 * failures pay twice, translations once). W/U are ANDed and NX ORed over
 * the raw entries in *all, *any (the EXQ_XF_WRITE/_USER bits are the
 * entries' own), and only the last entry is decoded. Inlined once per
 * mode (walk_lean, walk_group), so that each copy has its geometry as
 * constants. */
static ALWAYS_INLINE int lean_step(const struct mode *m, unsigned lvl,
				   uint64_t va, uint64_t e, uint64_t *table,
				   uint64_t *all, uint64_t *any, uint64_t *val)
{
	uint64_t base, size;
	uint32_t upper;
	if (!(e & E_P)) { /* a transition PTE, or no translation */
		*val = 0;
		if (lvl + 1 < m->levels || (e & (E_PROTO | E_TRANS)) != E_TRANS)
			return 0;
		base = e & pfn_mask(m);
		size = EXQ__PAGE_SIZE;
	} else {
		if (!(m->paging == EXQ_PAGING_PAE && lvl == 0)) {
			*all &= e;
			*any |= e;
		}
		if (m->large[lvl] && (e & E_PS)) {
			size = m->large[lvl];
			base = large_base(m, e, size);
		} else if (lvl + 1 == m->levels) {
			base = e & pfn_mask(m);
			size = EXQ__PAGE_SIZE;
		} else {
			*table = e & pfn_mask(m);
			return 1;
		}
	}
	upper = (uint32_t)(*all & (EXQ_XF_WRITE | EXQ_XF_USER));
	if (m->esize == 8 && (*any & E_NX))
		upper |= EXQ_XF_NX;
	*val = tlb_val(base | (va & (size - 1)), size,
		       mapping_flags(entry_flags(m, lvl, e), upper));
	return 0;
}

/* The entry at epa (esize bytes) in place, or NULL when its table cannot
 * be read (the walk is then redone by exq__walk, which says why). */
static ALWAYS_INLINE const uint8_t *lean_entry(exq_image *img, uint64_t epa)
{
	const uint8_t *page;
	if (exq__page_ref_hot(img, epa >> EXQ__PAGE_SHIFT, &page) != EXQ_OK)
		return NULL;
	return page + (epa & (EXQ__PAGE_SIZE - 1));
}

static ALWAYS_INLINE uint64_t lean_load(const struct mode *m, const uint8_t *p)
{
	return m->esize == 8 ? exq__le64(p) : exq__le32(p);
}

static ALWAYS_INLINE uint64_t entry_pa(const struct mode *m, unsigned lvl,
				       uint64_t table, uint64_t va)
{
	return table +
	       ((va >> m->shift[lvl]) & ((1u << m->bits[lvl]) - 1)) * m->esize;
}

static ALWAYS_INLINE uint64_t ptc_tag(const struct mode *m, uint64_t va)
{
	return ((va >> m->shift[m->levels - 2]) << 1) | 1;
}

/* The last-level table of va's range from the page-table cache, with the
 * W/U bits ANDed and NX ORed above it (as lean_step keeps them), or 0. */
static ALWAYS_INLINE int ptc_find(const exq_vspace *vs, const struct mode *m,
				  uint64_t va, uint64_t *table, uint64_t *all,
				  uint64_t *any)
{
	uint64_t tag = ptc_tag(m, va);
	const struct tlb_ent *e = &vs->ptc[(tag >> 1) & (PTC_SLOTS - 1)];
	if (e->tag != tag)
		return 0;
	*table = e->val & pfn_mask(m);
	*all = e->val | ~(uint64_t)(EXQ_XF_WRITE | EXQ_XF_USER);
	*any = e->val & E_NX;
	return 1;
}

static ALWAYS_INLINE void ptc_fill(exq_vspace *vs, const struct mode *m,
				   uint64_t va, uint64_t table, uint64_t all,
				   uint64_t any)
{
	uint64_t tag = ptc_tag(m, va);
	struct tlb_ent *e = &vs->ptc[(tag >> 1) & (PTC_SLOTS - 1)];
	e->tag = tag;
	e->val = table | (all & (EXQ_XF_WRITE | EXQ_XF_USER)) | (any & E_NX);
}

static ALWAYS_INLINE uint64_t walk_lean_mode(exq_vspace *vs,
					     const struct mode *m, uint64_t va)
{
	const unsigned last = m->levels - 1;
	uint64_t table = vs->dtb, all = ~0ull, any = 0, val = 0;
	const uint8_t *p;
	unsigned lvl = 0;
	if (!va_ok(m, va))
		return 0;
	if (!vs->no_fill && ptc_find(vs, m, va, &table, &all, &any)) {
		/* the last level alone (its geometry constant) */
		p = lean_entry(vs->img, entry_pa(m, last, table, va));
		if (!p)
			return 0;
		lean_step(m, last, va, lean_load(m, p), &table, &all, &any, &val);
		return val;
	}
	for (;; lvl++) {
		p = lean_entry(vs->img, entry_pa(m, lvl, table, va));
		if (!p)
			return 0;
		if (!lean_step(m, lvl, va, lean_load(m, p), &table, &all, &any,
			       &val))
			return val;
		if (lvl + 1 == last && !vs->no_fill)
			ptc_fill(vs, m, va, table, all, any);
	}
}

static uint64_t walk_lean(exq_vspace *vs, uint64_t va)
{
	switch (vs->paging) { /* modes[]: x86, PAE, x64 */
	case EXQ_PAGING_PAE:
		return walk_lean_mode(vs, &modes[1], va);
	case EXQ_PAGING_X64:
		return walk_lean_mode(vs, &modes[2], va);
	default:
		return walk_lean_mode(vs, &modes[0], va);
	}
}

/* translate() on a TLB miss: walk, and fill the TLB. Kept out of line so
 * that the hit path stays small where it is inlined. */
static NOINLINE uint64_t translate_miss(exq_vspace *vs, uint64_t va,
				       exq_status *st)
{
	uint64_t v;
	exq_xlat x;
	vs->misses++;
	v = walk_lean(vs, va);
	if (v) {
		tlb_fill(vs, va, v);
		return v;
	}
	*st = exq__walk(vs->img, vs->paging, vs->dtb, va, &x);
	if (*st != EXQ_OK)
		return 0;
	/* (a page-table page that failed to read just now and read now) */
	v = tlb_val(x.pa, x.page_size, x.flags);
	tlb_fill(vs, va, v);
	return v;
}

/* The TLB value of va: from the TLB, or walked and filled in. On failure
 * returns 0 with the status in *st and the message on the image. */
static inline uint64_t translate(exq_vspace *vs, uint64_t va, exq_status *st)
{
	uint64_t v = tlb_find(vs, va);
	if (v) {
		vs->hits++;
		return v;
	}
	return translate_miss(vs, va, st);
}

static exq_status vspace_make(exq_vspace **out, exq_image *img,
			      exq_paging paging, uint64_t dtb,
			      const char *source)
{
	/* calloc, not aligned_alloc + memset: the TLB's pages are touched
	 * only as its sets fill */
	void *mem = calloc(1, sizeof(exq_vspace) + 63);
	exq_vspace *vs;
	if (!mem)
		return exq__err_set(&img->err, EXQ_NOMEM,
				    "out of memory for an address space");
	vs = (exq_vspace *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
	vs->mem = mem;
	vs->img = img;
	vs->m = mode_of(paging);
	vs->paging = paging;
	vs->dtb = exq__dtb_mask(paging, dtb);
	vs->dtb_source = source;
	vs->gen = img->gen;
	*out = vs;
	return EXQ_OK;
}

exq_status exq_vspace_new(exq_vspace **out, exq_image *img, exq_paging paging,
			  uint64_t dtb)
{
	if (!out || !img)
		return EXQ_INVALID;
	if (!img->open)
		return exq__err_set(&img->err, EXQ_INVALID, "image not open");
	if (!mode_of(paging))
		return exq__err_set(&img->err, EXQ_INVALID,
				    "paging mode %d is not x86, pae or x64",
				    (int)paging);
	return vspace_make(out, img, paging, dtb, "caller");
}

exq_status exq_vspace_open(exq_vspace **out, exq_image *img)
{
	exq_image_info *in;
	exq_status st;
	if (!out || !img)
		return EXQ_INVALID;
	if (!img->open)
		return exq__err_set(&img->err, EXQ_INVALID, "image not open");
	in = &img->info;
	if (in->machine == EXQ_MACHINE_ARM64)
		return exq__err_set(&img->err, EXQ_UNSUPPORTED,
				    "arm64 address translation is not "
				    "supported");
	st = exq__dtb_settle(img); /* the DTB and paging mode: dtb.c's policy */
	if (st != EXQ_OK)
		return st;
	return vspace_make(out, img, in->paging, in->dtb,
			   in->dtb_source ? in->dtb_source : "header");
}

void exq_vspace_free(exq_vspace *vs)
{
	if (vs)
		free(vs->mem);
}

exq_paging exq_vspace_paging(const exq_vspace *vs)
{
	return vs ? vs->paging : EXQ_PAGING_UNKNOWN;
}

uint64_t exq_vspace_dtb(const exq_vspace *vs)
{
	return vs ? vs->dtb : 0;
}

const char *exq_vspace_dtb_source(const exq_vspace *vs)
{
	return vs ? vs->dtb_source : NULL;
}

exq_image *exq_vspace_image(const exq_vspace *vs)
{
	return vs ? vs->img : NULL;
}

exq_status exq_vtop(exq_vspace *vs, uint64_t va, exq_xlat *out)
{
	exq_xlat x;
	if (!vs || !out)
		return EXQ_INVALID;
	if (va_ok(vs->m, va)) /* then *out is written whatever happens */
		return exq__walk(vs->img, vs->paging, vs->dtb, va, out);
	return exq__walk(vs->img, vs->paging, vs->dtb, va, &x); /* INVALID */
}

exq_status exq_vtop_pa(exq_vspace *vs, uint64_t va, uint64_t *pa,
		       uint64_t *page_size, uint32_t *flags)
{
	exq_status st = EXQ_OK;
	uint64_t v;
	if (!vs || !pa)
		return vs ? exq__err_set(&vs->img->err, EXQ_INVALID, "NULL pa")
			  : EXQ_INVALID;
	v = translate(vs, va, &st);
	if (!v)
		return st;
	*pa = (v & TLB_PA) | (va & (EXQ__PAGE_SIZE - 1));
	if (page_size)
		*page_size = (uint64_t)EXQ__PAGE_SIZE << (v >> TLB_SHIFT_AT);
	if (flags)
		*flags = (uint32_t)(v & TLB_FLAGS);
	return EXQ_OK;
}

/* ----------------------------------------------------------- batches */

/* exq_vtop_pa_many translates GROUP VAs at a time, level by level: the
 * entry addresses of the whole group at one level are computed and
 * prefetched before any of them is read, so that the cache misses of
 * independent walks overlap instead of following one another (a random
 * miss spends most of its time waiting for its PTE). The TLB sets of the
 * group are prefetched the same way before they are probed. Pointers into
 * the page cache are never held across a read that may refill a slot: the
 * prefetch pass only peeks (exq__page_peek), and the read pass asks
 * exq__page_ref_hot again unless the page lies in a source in memory. */
#define GROUP 16u

struct group {
	unsigned n;	     /* VAs in the group */
	unsigned na;	     /* walks still going: act[0..na) */
	unsigned act[GROUP]; /* their indexes */
	const uint64_t *va;  /* the caller's VAs (not copied) */
	uint64_t val[GROUP];   /* TLB value, 0: none (yet) */
	uint8_t walked[GROUP]; /* missed the TLB */
	uint64_t table[GROUP], all[GROUP], any[GROUP];
	uint64_t epa[GROUP];	   /* entry of the level being read */
	const uint8_t *ent[GROUP]; /* ... where it stably lies, or NULL */
};

/* Compute and prefetch the level-lvl entry of walk i. */
static ALWAYS_INLINE void group_issue(exq_image *img, const struct mode *m,
				      unsigned lvl, struct group *g, unsigned i)
{
	uint64_t epa = entry_pa(m, lvl, g->table[i], g->va[i]);
	int stable;
	const uint8_t *p = exq__page_peek(img, epa >> EXQ__PAGE_SHIFT, &stable);
	g->epa[i] = epa;
	g->ent[i] = NULL;
	if (p) {
		p += epa & (EXQ__PAGE_SIZE - 1);
		__builtin_prefetch(p);
		if (stable)
			g->ent[i] = p;
	}
}

/* Level lvl of the group's walks act[0..na): every entry prefetched, then
 * read and decoded. Returns how many walks go on (act[0..that)). */
static ALWAYS_INLINE unsigned group_level(exq_image *img, const struct mode *m,
					  unsigned lvl, struct group *g,
					  unsigned na)
{
	unsigned k, nn = 0;
	if (lvl >= m->levels)
		return 0;
	for (k = 0; k < na; k++)
		group_issue(img, m, lvl, g, g->act[k]);
	for (k = 0; k < na; k++) {
		unsigned i = g->act[k];
		const uint8_t *p = g->ent[i];
		if (!p && !(p = lean_entry(img, g->epa[i])))
			continue;
		if (lean_step(m, lvl, g->va[i], lean_load(m, p), &g->table[i],
			      &g->all[i], &g->any[i], &g->val[i]))
			g->act[nn++] = i;
	}
	return nn;
}

/* Walk the group's walks act[0..na) down to their ends; val[i] as
 * walk_lean's. Walks the page-table cache knows start at the last level;
 * the others walk the levels above it (spelt out, so that each has its
 * geometry as constants) and fill the cache, then all read the last. */
static ALWAYS_INLINE void group_walk_mode(exq_vspace *vs, const struct mode *m,
					  struct group *g)
{
	const unsigned last = m->levels - 1;
	unsigned k, na = 0, nh = 0, hit[GROUP];
	for (k = 0; k < g->na; k++) {
		unsigned i = g->act[k];
		g->val[i] = 0;
		if (!va_ok(m, g->va[i]))
			continue;
		if (!vs->no_fill && ptc_find(vs, m, g->va[i], &g->table[i],
					     &g->all[i], &g->any[i])) {
			hit[nh++] = i;
			continue;
		}
		g->table[i] = vs->dtb;
		g->all[i] = ~0ull;
		g->any[i] = 0;
		g->act[na++] = i;
	}
	if (na)
		na = group_level(vs->img, m, 0, g, na);
	if (na && last > 1)
		na = group_level(vs->img, m, 1, g, na);
	if (na && last > 2)
		na = group_level(vs->img, m, 2, g, na);
	for (k = 0; k < na && !vs->no_fill; k++)
		ptc_fill(vs, m, g->va[g->act[k]], g->table[g->act[k]],
			 g->all[g->act[k]], g->any[g->act[k]]);
	for (k = 0; k < nh; k++)
		g->act[na++] = hit[k];
	if (na)
		group_level(vs->img, m, last, g, na);
}

static void group_walk(exq_vspace *vs, struct group *g)
{
	switch (vs->paging) { /* modes[]: x86, PAE, x64 */
	case EXQ_PAGING_PAE:
		group_walk_mode(vs, &modes[1], g);
		break;
	case EXQ_PAGING_X64:
		group_walk_mode(vs, &modes[2], g);
		break;
	default:
		group_walk_mode(vs, &modes[0], g);
		break;
	}
}

/* Prefetch the TLB sets of va[0..n) (n <= GROUP). (Prefetching them a
 * group ahead, while the previous group walks, measured no faster.) */
static void group_prefetch_sets(const exq_vspace *vs, const uint64_t *va,
				size_t n)
{
	size_t i;
	if (vs->no_fill)
		return;
	for (i = 0; i < n && i < GROUP; i++)
		__builtin_prefetch(
		    &vs->tlb[((va[i] >> EXQ__PAGE_SHIFT) & (TLB_SETS - 1)) *
			     TLB_WAYS]);
}

/* Take va[0..n) into g and look them up in the TLB (its sets prefetched
 * first); the misses are left in g->act for group_walk. With the TLB off
 * nothing is ever in it, and nothing is probed. */
static void group_lookup(exq_vspace *vs, struct group *g, const uint64_t *va,
			 unsigned n)
{
	unsigned i;
	g->n = n;
	g->na = 0;
	g->va = va;
	if (vs->no_fill) {
		for (i = 0; i < n; i++) {
			g->walked[i] = 1;
			g->act[i] = i;
		}
		g->na = n;
		return;
	}
	group_prefetch_sets(vs, va, n);
	for (i = 0; i < n; i++) {
		g->val[i] = tlb_find(vs, g->va[i]);
		g->walked[i] = !g->val[i];
		if (!g->val[i])
			g->act[g->na++] = i;
	}
}

/* The status of VA i of a walked group whose lean walk did not translate:
 * exq__walk says why (or translates: a table page that failed to read just
 * now and read now). */
static exq_status group_failed(exq_vspace *vs, struct group *g, unsigned i)
{
	exq_xlat x;
	exq_status st = exq__walk(vs->img, vs->paging, vs->dtb, g->va[i], &x);
	if (st == EXQ_OK)
		g->val[i] = tlb_val(x.pa, x.page_size, x.flags);
	return st;
}

exq_status exq_vtop_pa_many(exq_vspace *vs, const uint64_t *va, size_t n,
			    uint64_t *pa, uint32_t *flags, exq_status *st)
{
	struct group g;
	exq__err first_msg;
	exq_status first = EXQ_OK;
	size_t at = 0, nfail = 0;
	unsigned i;
	if (!vs || (n && (!va || !pa)))
		return vs ? exq__err_set(&vs->img->err, EXQ_INVALID,
					 "NULL va or pa")
			  : EXQ_INVALID;
	for (; at < n; at += g.n) {
		group_lookup(vs, &g, va + at,
			     n - at < GROUP ? (unsigned)(n - at) : GROUP);
		if (g.na)
			group_walk(vs, &g);
		for (i = 0; i < g.n; i++) {
			exq_status s = EXQ_OK;
			uint64_t v = g.val[i];
			if (g.walked[i]) {
				vs->misses++;
				if (!v &&
				    (s = group_failed(vs, &g, i)) != EXQ_OK &&
				    nfail++ == 0) {
					first = s;
					first_msg = vs->img->err;
				}
				if ((v = g.val[i]) != 0)
					tlb_fill(vs, g.va[i], v);
			} else {
				vs->hits++;
			}
			if (st)
				st[at + i] = s;
			if (!v)
				continue;
			pa[at + i] =
			    (v & TLB_PA) | (g.va[i] & (EXQ__PAGE_SIZE - 1));
			if (flags)
				flags[at + i] = (uint32_t)(v & TLB_FLAGS);
		}
	}
	if (nfail) /* the message is the first failure's, whatever came after */
		vs->img->err = first_msg;
	return first;
}

exq_status exq_read_virt(exq_vspace *vs, uint64_t va, void *buf, size_t len,
			 size_t *done)
{
	const uint8_t *page;
	uint8_t *dst = buf;
	size_t got = 0;
	exq_status st = EXQ_OK;
	if (done)
		*done = 0;
	if (!vs || (!buf && len))
		return vs ? exq__err_set(&vs->img->err, EXQ_INVALID,
					 "NULL buffer")
			  : EXQ_INVALID;
	while (got < len) {
		uint64_t cur = va + got, v, ppn;
		size_t in = (size_t)(cur & (EXQ__PAGE_SIZE - 1));
		size_t n = EXQ__PAGE_SIZE - in;
		if (cur < va) {
			st = exq__err_set(&vs->img->err, EXQ_INVALID,
					  "virtual read wraps around 2^64");
			break;
		}
		if (n > len - got)
			n = len - got;
		v = translate(vs, cur, &st);
		if (!v)
			break;
		ppn = (v & TLB_PA) >> EXQ__PAGE_SHIFT;
		st = exq__page_ref_hot(vs->img, ppn, &page); /* no copy */
		if (st != EXQ_OK) {
			if (st == EXQ_NODATA)
				exq__err_set(
				    &vs->img->err, st,
				    "VA 0x%llx maps to PA 0x%llx, which "
				    "is not in this %s image",
				    (unsigned long long)cur,
				    (unsigned long long)((ppn << 12) | in),
				    vs->img->info.format);
			break;
		}
		memcpy(dst + got, page + in, n);
		got += n;
	}
	if (done)
		*done = got;
	return st;
}
