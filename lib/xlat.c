/* SPDX-License-Identifier: MIT */
/* Virtual addresses: our own page-table walker with Windows PTE semantics
 * (DESIGN §5), a small software TLB per address space, virtual reads. The
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
#define PFN32 0xFFFFF000ull
#define PFN64 0x000FFFFFFFFFF000ull

struct mode {
	exq_paging paging;
	unsigned levels, esize;
	const char *name[EXQ_XLAT_MAX_LEVELS];
	const char *table[EXQ_XLAT_MAX_LEVELS]; /* what the level indexes */
	unsigned shift[EXQ_XLAT_MAX_LEVELS], bits[EXQ_XLAT_MAX_LEVELS];
	uint64_t large[EXQ_XLAT_MAX_LEVELS]; /* PS page size, 0: no PS */
};

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
static uint32_t entry_flags(const struct mode *m, unsigned lvl, uint64_t e)
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

static exq_status check_va(exq_image *img, const struct mode *m, uint64_t va)
{
	if (m->paging != EXQ_PAGING_X64) {
		if (va > 0xFFFFFFFFull)
			return exq__err_set(&img->err, EXQ_INVALID,
					    "VA 0x%llx is above 4 GiB: not an "
					    "address in %s paging",
					    (unsigned long long)va,
					    exq_paging_name(m->paging));
		return EXQ_OK;
	}
	if ((va >> 47) != 0 && (va >> 47) != 0x1FFFFull)
		return exq__err_set(&img->err, EXQ_INVALID,
				    "VA 0x%llx is not canonical (bits 63..47 "
				    "differ)",
				    (unsigned long long)va);
	return EXQ_OK;
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

/* Fill the result of a successful walk ending at level L. */
static void finish(exq_xlat *x, const exq_xlat_level *L, uint64_t base,
		   uint64_t size, uint32_t upper)
{
	uint32_t leaf = L->flags;
	x->page_size = size;
	x->pa = base | (x->va & (size - 1));
	if (leaf & EXQ_XF_TRANSITION) {
		x->flags = EXQ_XF_TRANSITION | (upper & EXQ_XF_NX);
		return;
	}
	x->flags =
	    EXQ_XF_PRESENT |
	    (leaf & (EXQ_XF_LARGE | EXQ_XF_GLOBAL | EXQ_XF_ACCESSED |
		     EXQ_XF_DIRTY | EXQ_XF_WRITETHROUGH | EXQ_XF_CACHEDISABLE));
	x->flags |= (upper & leaf & (EXQ_XF_WRITE | EXQ_XF_USER));
	x->flags |= ((upper | leaf) & EXQ_XF_NX);
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
	if (!(m->paging == EXQ_PAGING_PAE && lvl == 0)) {
		*upper &= L->flags | ~(EXQ_XF_WRITE | EXQ_XF_USER);
		*upper |= L->flags & EXQ_XF_NX;
	}
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

/* Software TLB: direct-mapped on the VA page number; holds successful
 * translations only (a page that was not present may be asked again). */
#define TLB_SLOTS 256
struct tlb_slot {
	uint64_t tag; /* VA page number + 1; 0 = empty */
	uint64_t ppn;
	uint32_t flags;
};

struct exq_vspace {
	exq_image *img;
	exq_paging paging;
	uint64_t dtb;
	const char *dtb_source;
	struct tlb_slot tlb[TLB_SLOTS];
};

static exq_status vspace_make(exq_vspace **out, exq_image *img,
			      exq_paging paging, uint64_t dtb,
			      const char *source)
{
	exq_vspace *vs = calloc(1, sizeof(*vs));
	if (!vs)
		return exq__err_set(&img->err, EXQ_NOMEM,
				    "out of memory for an address space");
	vs->img = img;
	vs->paging = paging;
	vs->dtb = exq__dtb_mask(paging, dtb);
	vs->dtb_source = source;
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
	free(vs);
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
	exq_status st;
	if (!vs || !out)
		return EXQ_INVALID;
	st = exq__walk(vs->img, vs->paging, vs->dtb, va, &x);
	if (st == EXQ_OK || st == EXQ_NOTPRESENT || st == EXQ_NODATA)
		*out = x;
	return st;
}

/* VA page → PA page through the TLB. */
static exq_status xlat_page(exq_vspace *vs, uint64_t va, uint64_t *ppn)
{
	uint64_t vpn = va >> EXQ__PAGE_SHIFT;
	struct tlb_slot *s = &vs->tlb[vpn % TLB_SLOTS];
	exq_xlat x;
	exq_status st;
	if (s->tag == vpn + 1) {
		*ppn = s->ppn;
		return EXQ_OK;
	}
	st = exq__walk(vs->img, vs->paging, vs->dtb, va, &x);
	if (st != EXQ_OK)
		return st;
	s->tag = vpn + 1;
	s->ppn = x.pa >> EXQ__PAGE_SHIFT;
	s->flags = x.flags;
	*ppn = s->ppn;
	return EXQ_OK;
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
		uint64_t cur = va + got, ppn;
		size_t in = (size_t)(cur & (EXQ__PAGE_SIZE - 1));
		size_t n = EXQ__PAGE_SIZE - in;
		if (cur < va) {
			st = exq__err_set(&vs->img->err, EXQ_INVALID,
					  "virtual read wraps around 2^64");
			break;
		}
		if (n > len - got)
			n = len - got;
		st = xlat_page(vs, cur, &ppn);
		if (st != EXQ_OK)
			break;
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
