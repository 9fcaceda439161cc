/* SPDX-License-Identifier: MIT */
/*
 * tlib_win.c — builds the physical memory of a Windows machine (x86 or
 * x64) from a struct tw_spec, and keeps the truth (see tlib_win.h).
 *
 * Order of construction: physical runs and the page-table root (PAE boot
 * layout: PDPT, then PD0..PD3 at +0x1000..+0x4000, PD3 self-map; x86: PD
 * entry 0x300 names the PD; x64: a PML4 with a self-map entry at a
 * seed-chosen index) → ntoskrnl (headers and .text/.rdata on one large
 * page, .data/others on 4 KiB pages at scattered PAs) → KDBG and the list
 * heads in .data → modules (LDR entries and names in pool, a small PE
 * header at each DllBase) → driver/device objects → the queue root of the
 * build's model, worker threads and pending items in pool → damage → the
 * System process. Pool VA pages are mapped to non-adjacent physical
 * pages, and chosen objects are placed so that they cross a page.
 *
 * Every value is a little-endian store into the buffer; the generator
 * reads its own page tables back (tw_vtop) to place virtual data, so the
 * tables it writes are the ones it uses. The layout rows per build and
 * machine are data in tlib_win_rows.h.
 */
#include "tlib_win.h"
#include "tlib_win_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>


/* ------------------------------------------------------ build layouts */


#include "tlib_win_rows.h"

static const struct layout *layout_for(uint32_t build, uint32_t sp,
				       enum tw_machine m, int decoy, int rtm81)
{
	for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
		const struct layout *L = &layouts[i];
		uint32_t hi = L->build_hi ? L->build_hi : L->build;
		if (L->machine != m || build < L->build || build > hi)
			continue;
		if ((L->profile == NULL) != (decoy != 0) || L->rtm81 != (rtm81 != 0))
			continue;
		if (sp >= L->sp_min && sp <= L->sp_max)
			return L;
	}
	return NULL;
}



static const struct mlay mlays[2] = {
	{ 4, 8, 0x78, 0x18, 0x1c, 0x20, 0x24, 0x2c, 0x34, 0x38, 0xa8, 4, 8,
	  0xc, 0x10, 0x14, 0x1c, 0xb8, 8, 0xc, 0x10, 0x14, 0x18, 0x28, 0x30, 4 },
	{ 8, 16, 0xa0, 0x30, 0x38, 0x40, 0x48, 0x58, 0x68, 0x6c, 0x150, 8,
	  0x10, 0x18, 0x20, 0x28, 0x38, 0x150, 0x10, 0x18, 0x20, 0x28, 0x30,
	  0x58, 0x50, 8 },
};

/* --------------------------------------------------------- generator */


void fail(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	if (g->failed)
		return;
	g->failed = 1;
	if (g->err && g->errlen) {
		va_start(ap, fmt);
		vsnprintf(g->err, g->errlen, fmt, ap);
		va_end(ap);
	}
}

uint32_t rnd(struct gen *g)
{
	/* xorshift64* */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return (uint32_t)((g->rng * 0x2545f4914f6cdd1dull) >> 32);
}

static void st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void st32(uint8_t *p, uint32_t v)
{
	st16(p, (uint16_t)v);
	st16(p + 2, (uint16_t)(v >> 16));
}

static void st64(uint8_t *p, uint64_t v)
{
	st32(p, (uint32_t)v);
	st32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* ------------------------------------------------- physical memory */

int tw_present(const struct tw_world *w, uint64_t pfn)
{
	for (size_t i = 0; i < w->nruns; i++)
		if (pfn >= w->runs[i].first &&
		    pfn - w->runs[i].first < w->runs[i].count)
			return 1;
	return 0;
}

uint64_t runs_end(const struct tw_world *w)
{
	return w->runs[w->nruns - 1].first + w->runs[w->nruns - 1].count;
}

/* Firmware-like runs: low memory below 640 KiB, then two runs split by a
 * 64 KiB hole in the middle; the last 1 MiB is outside every run (the
 * raw file ends before it), where TW_DAMAGE_MISSING_PAGE puts its page. */
static void make_runs(struct gen *g)
{
	struct tw_world *w = g->w;
	uint64_t n = w->npages, mid = n / 2;
	w->runs[0] = (struct tw_run){ 0x1, 0x9e };
	w->runs[1] = (struct tw_run){ 0x100, mid - 0x100 };
	w->runs[2] = (struct tw_run){ mid + 0x10, n - 0x100 - (mid + 0x10) };
	w->nruns = 3;
	for (uint64_t p = 0; p < n; p++)
		g->state[p] = (p < 0x100 || !tw_present(w, p)) ? 2 : 0;
}

static void take(struct gen *g, uint64_t pfn)
{
	g->state[pfn] = 1;
	g->w->used[pfn] = 1;
}

/* A free page at a random PA, never next to avoid (so that consecutive
 * virtual pages land on non-adjacent physical pages). Zeroed, taken. */
static int next_to(uint64_t p, uint64_t pa)
{
	return pa && (p == pa / PG + 1 || p + 1 == pa / PG);
}

static uint64_t palloc(struct gen *g, uint64_t avoid, uint64_t avoid2)
{
	uint64_t lo = 0x100, hi = runs_end(g->w);
	for (unsigned tries = 0; tries < 100000; tries++) {
		uint64_t p = lo + rnd(g) % (hi - lo);
		if (g->state[p] != 0 || next_to(p, avoid) || next_to(p, avoid2))
			continue;
		take(g, p);
		memset(g->w->mem + p * PG, 0, PG);
		return p * PG;
	}
	fail(g, "out of physical pages");
	return 0x100 * PG;
}

/* ------------------------------------------------------ page tables */


static uint64_t get_e(const struct tw_world *w, uint64_t pa)
{
	return wide(w) ? ld64(w->mem + pa) : ld32(w->mem + pa);
}

void put_e(struct tw_world *w, uint64_t pa, uint64_t v)
{
	if (wide(w))
		st64(w->mem + pa, v);
	else
		st32(w->mem + pa, (uint32_t)v);
}

static uint64_t frame(const struct tw_world *w, uint64_t e)
{
	return wide(w) ? e & FRAME64 : e & 0xfffff000u;
}

static int canonical(uint64_t va)
{
	uint64_t top = va >> 47;
	return top == 0 || top == 0x1ffff;
}

/* x86: PA of the PDE for va (fixed tables). */
static uint64_t pde_pa(const struct tw_world *w, uint64_t va)
{
	if (w->pae)
		return w->dtb + PG * (1 + ((va >> 30) & 3)) + ((va >> 21) & 0x1ff) * 8;
	return w->dtb + ((va >> 22) & 0x3ff) * 4;
}

static uint64_t pte_pa_in(const struct tw_world *w, uint64_t pt, uint64_t va)
{
	return wide(w) ? pt + ((va >> 12) & 0x1ff) * 8 : pt + ((va >> 12) & 0x3ff) * 4;
}

/* x64: PA of the PDE for va, or 0 when an upper table is absent. */
static uint64_t pde_pa64(const struct tw_world *w, uint64_t va, int *large1g)
{
	uint64_t e = ld64(w->mem + w->dtb + ((va >> 39) & 0x1ff) * 8);
	*large1g = 0;
	if (!(e & 1) || (e & FRAME64) + PG > w->mem_size)
		return 0;
	uint64_t pdpte_pa = (e & FRAME64) + ((va >> 30) & 0x1ff) * 8;
	e = ld64(w->mem + pdpte_pa);
	if (!(e & 1))
		return 0;
	if (e & 0x80) {
		*large1g = 1;
		return pdpte_pa;
	}
	if ((e & FRAME64) + PG > w->mem_size)
		return 0;
	return (e & FRAME64) + ((va >> 21) & 0x1ff) * 8;
}

int tw_vtop(const struct tw_world *w, uint64_t va, uint64_t *pa)
{
	uint64_t pde;
	if (w->machine == TW_X64) {
		int g1;
		if (!canonical(va))
			return -1;
		uint64_t at = pde_pa64(w, va, &g1);
		if (!at)
			return -1;
		pde = ld64(w->mem + at);
		if (g1) {
			*pa = (pde & FRAME64 & ~0x3fffffffull) | (va & 0x3fffffff);
			return *pa + 1 <= w->mem_size ? 0 : -1;
		}
	} else {
		if (va > 0xffffffffu)
			return -1;
		pde = get_e(w, pde_pa(w, va));
	}
	if (!(pde & 1))
		return -1;
	if (pde & 0x80) {
		uint64_t mask = wide(w) ? 0x1fffff : 0x3fffff;
		*pa = (frame(w, pde) & ~mask) | (va & mask);
		return *pa + 1 <= w->mem_size ? 0 : -1;
	}
	uint64_t pt = frame(w, pde);
	if (pt + PG > w->mem_size)
		return -1;
	uint64_t pte = get_e(w, pte_pa_in(w, pt, va));
	if (!(pte & 1) && ((pte & 0xc00) != PTE_TRANSITION))
		return -1;
	*pa = frame(w, pte) | (va & 0xfff);
	return *pa + 1 <= w->mem_size ? 0 : -1;
}

/* PA of the PDE for va, creating the upper tables on x64. */
static uint64_t pde_slot(struct gen *g, uint64_t va)
{
	struct tw_world *w = g->w;
	if (w->machine != TW_X64)
		return pde_pa(w, va);
	uint64_t at = w->dtb + ((va >> 39) & 0x1ff) * 8;
	for (int level = 0; level < 2; level++) {
		uint64_t e = ld64(w->mem + at);
		if (!(e & 1)) {
			e = palloc(g, 0, 0) | KPDE;
			st64(w->mem + at, e);
		}
		unsigned shift = level == 0 ? 30 : 21;
		at = (e & FRAME64) + ((va >> shift) & 0x1ff) * 8;
	}
	return at;
}

/* PA of the PTE for va, creating its page table. */
uint64_t pte_pa(struct gen *g, uint64_t va)
{
	struct tw_world *w = g->w;
	uint64_t e = pde_slot(g, va);
	uint64_t pde = get_e(w, e);
	if (pde & 0x80) {
		fail(g, "VA 0x%" PRIx64 " is under a large page", va);
		return w->dtb;
	}
	if (!(pde & 1)) {
		pde = palloc(g, 0, 0) | KPDE;
		put_e(w, e, pde);
	}
	return pte_pa_in(w, frame(w, pde), va);
}

void map4k(struct gen *g, uint64_t va, uint64_t pa, uint64_t flags)
{
	put_e(g->w, pte_pa(g, va), pa | flags);
}

/* Map the page at va to a new scattered page; returns its PA. */
static uint64_t map_new(struct gen *g, uint64_t va, int nx)
{
	uint64_t prev = 0, next = 0;
	if (tw_vtop(g->w, va - PG, &prev) != 0)
		prev = 0;
	if (tw_vtop(g->w, va + PG, &next) != 0)
		next = 0;
	uint64_t pa = palloc(g, prev, next);
	map4k(g, va, pa, KPTE | (nx && wide(g->w) ? NX : 0));
	return pa;
}

static void ensure_mapped(struct gen *g, uint64_t va, int nx)
{
	uint64_t pa;
	if (tw_vtop(g->w, va, &pa) != 0)
		map_new(g, va, nx);
}

static void root_tables(struct gen *g)
{
	struct tw_world *w = g->w;
	if (w->machine == TW_X64) {
		take(g, w->dtb / PG);
		st64(w->mem + w->dtb + 8 * w->selfmap, w->dtb | KPDE | NX);
	} else if (w->pae) {
		for (unsigned i = 0; i < 5; i++)
			take(g, w->dtb / PG + i);
		for (unsigned i = 0; i < 4; i++) {
			uint64_t pd = w->dtb + PG * (1 + i);
			st64(w->mem + w->dtb + 8 * i, pd | 1); /* PDPTE: P only */
			/* self-map: PD3 entries 0..3 name PD0..PD3, so that
			 * 0xC0000000 maps the tables, 0xC0600000 the PDs */
			st64(w->mem + w->dtb + 4 * PG + 8 * i, pd | KPDE);
		}
	} else {
		take(g, w->dtb / PG);
		st32(w->mem + w->dtb + 0x300 * 4, (uint32_t)w->dtb | KPDE);
	}
}

/* ----------------------------------------------------- virtual data */

void vwrite(struct gen *g, uint64_t va, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		uint64_t pa;
		size_t n = PG - (va & 0xfff);
		if (n > len)
			n = len;
		if (tw_vtop(g->w, va, &pa) != 0) {
			fail(g, "write to unmapped VA 0x%" PRIx64, va);
			return;
		}
		memcpy(g->w->mem + pa, p, n);
		g->w->used[pa / PG] = 1;
		va += n;
		p += n;
		len -= n;
	}
}

void v32(struct gen *g, uint64_t va, uint32_t v)
{
	uint8_t b[4];
	st32(b, v);
	vwrite(g, va, b, 4);
}

void v16(struct gen *g, uint64_t va, uint16_t v)
{
	uint8_t b[2];
	st16(b, v);
	vwrite(g, va, b, 2);
}

void v8(struct gen *g, uint64_t va, uint8_t v)
{
	vwrite(g, va, &v, 1);
}

static void v64(struct gen *g, uint64_t va, uint64_t v)
{
	uint8_t b[8];
	st64(b, v);
	vwrite(g, va, b, 8);
}

/* A pointer at the machine's width. */
void vp(struct gen *g, uint64_t va, uint64_t v)
{
	if (g->w->ptr == 8)
		v64(g, va, v);
	else
		v32(g, va, (uint32_t)v);
}

/* LIST_ENTRY at va: Flink, Blink. */
void vlist(struct gen *g, uint64_t va, uint64_t flink, uint64_t blink)
{
	vp(g, va, flink);
	vp(g, va + g->w->ptr, blink);
}

int tw_read(const struct tw_world *w, uint64_t va, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		uint64_t pa;
		size_t n = PG - (va & 0xfff);
		if (n > len)
			n = len;
		if (tw_vtop(w, va, &pa) != 0)
			return -1;
		memcpy(p, w->mem + pa, n);
		va += n;
		p += n;
		len -= n;
	}
	return 0;
}

uint32_t tw_read32(const struct tw_world *w, uint64_t va)
{
	uint8_t b[4];
	return tw_read(w, va, b, 4) == 0 ? ld32(b) : 0;
}

uint64_t tw_read64(const struct tw_world *w, uint64_t va)
{
	uint8_t b[8];
	return tw_read(w, va, b, 8) == 0 ? ld64(b) : 0;
}

uint64_t tw_readptr(const struct tw_world *w, uint64_t va)
{
	return w->ptr == 8 ? tw_read64(w, va) : tw_read32(w, va);
}

/* ------------------------------------------------------------- pool */

/* Bump allocator in the pool region, 8-byte (x64: 16-byte) aligned, each
 * block after a POOL_HEADER of that size (BlockSize in those units, tag).
 * Pages are mapped on first use to scattered physical pages. */
uint64_t pool_alloc(struct gen *g, uint32_t size, const char tag[4])
{
	unsigned a = g->M->pool_align;
	uint64_t hdr = (g->pool + a - 1) & ~(uint64_t)(a - 1);
	uint64_t obj = hdr + a, end = obj + size;
	for (uint64_t va = hdr & ~(uint64_t)(PG - 1); va < end; va += PG)
		ensure_mapped(g, va, 1);
	uint8_t h[16];
	memset(h, 0, sizeof h);
	if (a == 8) {
		st16(h + 2, (uint16_t)(((size + 8 + 7) / 8) | 0x200)); /* NonPaged */
	} else {
		h[2] = (uint8_t)((size + 16 + 15) / 16);
		h[3] = 0x02; /* NonPagedPoolNx */
	}
	memcpy(h + 4, tag, 4);
	vwrite(g, hdr, h, a);
	g->pool = end;
	return obj;
}

/* Move the cursor so that the next object's byte off (aligned, as pool
 * blocks are) is the first byte of a page: the object crosses that page
 * boundary. */
void pool_cross(struct gen *g, uint32_t off)
{
	unsigned a = g->M->pool_align;
	off &= ~(a - 1);
	uint64_t obj = ((g->pool + a - 1) & ~(uint64_t)(a - 1)) + a;
	uint64_t boundary = (obj + off + PG - 1) & ~(uint64_t)(PG - 1);
	if (boundary - off < obj)
		boundary += PG;
	g->pool = boundary - off - a;
}

/* A small random gap, so that objects do not pack. */
void pool_gap(struct gen *g)
{
	g->pool += 8 * (rnd(g) % 24);
}

/* UTF-16LE copy of an ASCII string in pool; fills a UNICODE_STRING at us. */
static void unicode_string(struct gen *g, uint64_t us, const char *s)
{
	size_t n = strlen(s);
	uint64_t buf = pool_alloc(g, (uint32_t)(2 * n + 2), "Uni ");
	for (size_t i = 0; i <= n; i++)
		v16(g, buf + 2 * i, (uint8_t)s[i]);
	v16(g, us, (uint16_t)(2 * n));
	v16(g, us + 2, (uint16_t)(2 * n + 2));
	vp(g, us + g->M->us_buf, buf);
}

/* ------------------------------------------------------ PE images */

struct section {
	const char *name;
	uint32_t rva, vsize, chars;
};

/* DOS + NT headers (PE32, or PE32+ on x64) and the section table at va. */
static void pe_headers(struct gen *g, uint64_t va, uint32_t size,
		       const struct section *s, unsigned ns, uint32_t exp_rva,
		       uint32_t exp_size, uint32_t dbg_rva)
{
	uint8_t h[0x400];
	const uint32_t nt = 0xe8;
	int x64 = g->w->machine == TW_X64;
	memset(h, 0, sizeof h);
	h[0] = 'M';
	h[1] = 'Z';
	st16(h + 2, 0x90);
	st16(h + 4, 3);
	st16(h + 8, 4);
	st16(h + 0x18, 0x40);
	st32(h + 0x3c, nt);
	memcpy(h + 0x4e, "This program cannot be run in DOS mode.", 39);
	memcpy(h + nt, "PE\0\0", 4);
	uint8_t *fh = h + nt + 4, *oh = fh + 20;
	st16(fh, x64 ? 0x8664 : 0x14c);
	st16(fh + 2, (uint16_t)ns);
	st32(fh + 4, 0x4ce7979d ^ (rnd(g) & 0xffff));
	st16(fh + 16, x64 ? 0xf0 : 0xe0);
	st16(fh + 18, x64 ? 0x22 : 0x122);
	st16(oh, x64 ? 0x20b : 0x10b);
	oh[2] = 9;
	st32(oh + 4, s[0].vsize);                 /* SizeOfCode */
	st32(oh + 16, s[0].rva + 0x100);          /* AddressOfEntryPoint */
	st32(oh + 20, s[0].rva);                  /* BaseOfCode */
	if (x64)
		st64(oh + 24, va);                /* ImageBase (relocated) */
	else
		st32(oh + 28, (uint32_t)va);
	st32(oh + 32, PG);                        /* SectionAlignment */
	st32(oh + 36, 0x200);                     /* FileAlignment */
	st16(oh + 40, x64 ? 10 : 6);
	st16(oh + 48, x64 ? 10 : 6);
	st32(oh + 56, size);                      /* SizeOfImage */
	st32(oh + 60, 0x400);                     /* SizeOfHeaders */
	st16(oh + 68, 1);                         /* native */
	uint8_t *dd;
	if (x64) {
		st64(oh + 72, 0x80000);
		st64(oh + 80, 0x2000);
		st32(oh + 108, 16);               /* NumberOfRvaAndSizes */
		dd = oh + 112;
	} else {
		st32(oh + 72, 0x40000);
		st32(oh + 76, 0x1000);
		st32(oh + 92, 16);
		dd = oh + 96;
	}
	st32(dd, exp_rva);
	st32(dd + 4, exp_size);
	if (dbg_rva) {
		st32(dd + 6 * 8, dbg_rva);
		st32(dd + 4 + 6 * 8, 28);
	}
	uint8_t *sh = oh + (x64 ? 0xf0 : 0xe0);
	for (unsigned i = 0; i < ns; i++, sh += 40) {
		memcpy(sh, s[i].name, strlen(s[i].name));
		st32(sh + 8, s[i].vsize);
		st32(sh + 12, s[i].rva);
		st32(sh + 16, (s[i].vsize + 0x1ff) & ~0x1ffu);
		st32(sh + 20, s[i].rva);
		st32(sh + 36, s[i].chars);
	}
	vwrite(g, va, h, sizeof h);
}

/* Exports of the kernel (kinds: tlib_win_int.h). */
static const struct {
	const char *name;
	int kind;
} kexports[] = {
	/* listed in "address" order; the name table is sorted */
	{ "KeBugCheckEx", EX_CODE },         { "ExQueueWorkItem", EX_QUEUE },
	{ "IoQueueWorkItem", EX_CODE },      { "IoAllocateWorkItem", EX_CODE },
	{ "IoFreeWorkItem", EX_CODE },       { "ExAllocatePoolWithTag", EX_CODE },
	{ "ExFreePoolWithTag", EX_CODE },    { "KeInsertQueue", EX_CODE },
	{ "KeRemoveQueue", EX_CODE },        { "ObfDereferenceObject", EX_CODE },
	{ "RtlInitUnicodeString", EX_CODE }, { "NtBuildNumber", EX_BUILD },
	{ "PsLoadedModuleList", EX_MODLIST },
	{ "KeQueryNodeMaximumProcessorCount", EX_NODEMAX },
	{ "KeQueryHighestNodeNumber", EX_NODEHIGH },
};
#define NKEXPORTS (sizeof kexports / sizeof kexports[0])


static int has_export(const struct tw_world *w, unsigned i)
{
	return kexports[i].kind < EX_NODEMAX || modern(w);
}

void put_bytes(uint8_t *code, size_t *n, const char *hex)
{
	for (const char *p = hex; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		unsigned v;
		if (sscanf(p, "%2x", &v) != 1)
			return;
		code[(*n)++] = (uint8_t)v;
		p += 2;
	}
}

void put32at(uint8_t *c, size_t *n, uint32_t v)
{
	st32(c + *n, v);
	*n += 4;
}

/* disp32 of a RIP-relative operand whose instruction ends at c[n + 4]
 * (n: where the disp32 goes; extra: immediate bytes after it). */
void put_rip(uint8_t *c, size_t *n, uint64_t fn, uint64_t target,
		    unsigned extra)
{
	uint64_t next = fn + *n + 4 + extra;
	put32at(c, n, (uint32_t)(target - next));
}



/* A short function body (stdcall on x86). */
static void code_stub(struct gen *g, uint64_t va, unsigned args)
{
	uint8_t c[32];
	size_t n = 0;
	memset(c, 0xcc, sizeof c);
	if (g->w->machine == TW_X64) {
		put_bytes(c, &n, "48895C2408 4885C9 7405 E8");
		put32at(c, &n, rnd(g) & 0xffff);
		put_bytes(c, &n, "488B5C2408 C3");
	} else {
		put_bytes(c, &n, "8BFF 55 8BEC 8B4508 85C0 7405 E8");
		put32at(c, &n, rnd(g) & 0xffff);
		put_bytes(c, &n, "5D C2");
		st16(c + n, (uint16_t)(4 * args));
	}
	vwrite(g, va, c, sizeof c);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(kexports[*(const unsigned *)a].name,
		      kexports[*(const unsigned *)b].name);
}

/* Export directory at va (inside .rdata), for functions at rvas[]. */
static uint32_t export_dir(struct gen *g, uint64_t va, const uint32_t *rvas)
{
	struct tw_world *w = g->w;
	uint64_t base = w->kernel_base;
	unsigned order[NKEXPORTS], slot[NKEXPORTS], ne = 0;
	for (unsigned i = 0; i < NKEXPORTS; i++)
		if (has_export(w, i))
			slot[i] = ne, order[ne++] = i;
	uint64_t funcs = va + 0x28, names = funcs + 4 * ne;
	uint64_t ords = names + 4 * ne, str = ords + 2 * ne;
	qsort(order, ne, sizeof order[0], cmp_name);
	v32(g, va + 4, 0x4ce7979d);
	v32(g, va + 12, (uint32_t)(str - base));
	vwrite(g, str, w->kernel_name, strlen(w->kernel_name) + 1);
	str += strlen(w->kernel_name) + 1;
	v32(g, va + 16, 1); /* Base */
	v32(g, va + 20, ne);
	v32(g, va + 24, ne);
	v32(g, va + 28, (uint32_t)(funcs - base));
	v32(g, va + 32, (uint32_t)(names - base));
	v32(g, va + 36, (uint32_t)(ords - base));
	for (unsigned i = 0; i < ne; i++) {
		unsigned e = order[i];
		v32(g, funcs + 4 * slot[e], rvas[e]);
		v32(g, names + 4 * i, (uint32_t)(str - base));
		v16(g, ords + 2 * i, (uint16_t)slot[e]);
		vwrite(g, str, kexports[e].name, strlen(kexports[e].name) + 1);
		str += strlen(kexports[e].name) + 1;
	}
	return (uint32_t)(str - va);
}

/* CodeView RSDS record and the debug directory entry naming it. */
static void debug_dir(struct gen *g, uint64_t dir, uint64_t rec)
{
	struct tw_world *w = g->w;
	uint8_t guid[16];
	for (int i = 0; i < 16; i++)
		guid[i] = (uint8_t)rnd(g);
	snprintf(w->pdb_guid, sizeof w->pdb_guid,
		 "%08" PRIX32 "-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		 ld32(guid), guid[4] | guid[5] << 8, guid[6] | guid[7] << 8,
		 guid[8], guid[9], guid[10], guid[11], guid[12], guid[13],
		 guid[14], guid[15]);
	w->pdb_age = 1 + rnd(g) % 3;
	uint32_t len = 24 + (uint32_t)strlen(w->pdb_name) + 1;
	vwrite(g, rec, "RSDS", 4);
	vwrite(g, rec + 4, guid, 16);
	v32(g, rec + 20, w->pdb_age);
	vwrite(g, rec + 24, w->pdb_name, strlen(w->pdb_name) + 1);
	v32(g, dir + 4, 0x4ce7979d);
	v32(g, dir + 12, 2); /* IMAGE_DEBUG_TYPE_CODEVIEW */
	v32(g, dir + 16, len);
	v32(g, dir + 20, (uint32_t)(rec - w->kernel_base));
	v32(g, dir + 24, (uint32_t)(rec - w->kernel_base));
}

/* ----------------------------------------------------------- kernel */


/* List heads after PsLoadedModuleList (LIST_ENTRY is 16 bytes on x64). */
static uint32_t d_prochead(const struct tw_world *w)
{
	return w->ptr == 8 ? 0x310u : 0x308u;
}

static uint32_t d_pfndb(const struct tw_world *w)
{
	return w->ptr == 8 ? 0x320u : 0x310u;
}

static uint32_t d_cidtable(const struct tw_world *w)
{
	return w->ptr == 8 ? 0x328u : 0x314u;
}

static uint32_t large_size(const struct tw_world *w)
{
	return wide(w) ? 0x200000u : 0x400000u;
}

static void kernel_layout(struct gen *g, struct section *s)
{
	struct tw_world *w = g->w;
	uint64_t large = large_size(w);
	uint64_t region = w->kernel_base & ~(large - 1);
	uint32_t t = (uint32_t)(region + large - w->kernel_base); /* .data */
	g->text_end_rva = t;
	s[0] = (struct section){ ".text", 0x1000, t - 0x11000, 0x68000020 };
	s[1] = (struct section){ ".rdata", t - 0x10000, 0x10000, 0x48000040 };
	s[2] = (struct section){ ".data", t, DATA_SIZE, 0xc8000040 };
	s[3] = (struct section){ "PAGE", t + DATA_SIZE, 0xc0000, 0x60000020 };
	s[4] = (struct section){ "INIT", t + 0x100000, 0x20000, 0xe2000020 };
	s[5] = (struct section){ ".rsrc", t + 0x120000, 0x10000, 0x42000040 };
	s[6] = (struct section){ ".reloc", t + 0x130000, 0x10000, 0x42000040 };
	w->kernel_size = t + 0x140000;
	g->rdata = w->kernel_base + s[1].rva;
	g->data = w->kernel_base + t;
}

/* A large-page-aligned physical region inside a run, free: the preferred
 * PA (VA bits 21/22-24) when it fits, else the first that does. */
static uint64_t large_region(struct gen *g, uint64_t va, uint64_t large)
{
	struct tw_world *w = g->w;
	uint64_t want = (va & 0x01ffffffu) & ~(large - 1);
	for (uint64_t i = 0; i <= w->mem_size / large; i++) {
		uint64_t pa = i == 0 ? want : (i - 1) * large;
		int ok = pa + large <= w->mem_size;
		for (uint64_t p = pa / PG; ok && p < (pa + large) / PG; p++)
			ok = g->state[p] == 0;
		if (ok)
			return pa;
	}
	fail(g, "no free large page in physical memory");
	return 0;
}

static void map_kernel(struct gen *g)
{
	struct tw_world *w = g->w;
	uint64_t large = large_size(w);
	uint64_t region = w->kernel_base & ~(large - 1);
	uint64_t pa = large_region(g, w->kernel_base, large);
	for (uint64_t p = pa / PG; p < (pa + large) / PG; p++)
		g->state[p] = 2; /* the kernel's; used[] set when written */
	put_e(w, pde_slot(g, region), pa | KLARGE);
	w->large_va = region;
	w->large_pa = pa;
	/* .data pages the world uses; the rest of .data and the pageable
	 * sections stay unmapped (PTE 0, or a paged-out software PTE) */
	for (uint32_t off = 0; off < 0x4000; off += PG)
		map_new(g, g->data + off, 1);
	put_e(w, pte_pa(g, g->data + 0x4000),
	      (uint64_t)(0x2a1 + rnd(g) % 0x100) << 12 | PTE_SOFT_PROT);
	/* a transition PTE: not valid, but the page is still in RAM */
	uint64_t tp = palloc(g, 0, 0);
	for (uint32_t o = 0; o < PG; o += 4)
		st32(w->mem + tp + o, 0x54524e53u ^ o); /* "SNRT" pattern */
	put_e(w, pte_pa(g, g->data + D_TRANSITION), tp | PTE_TRANSITION | PTE_SOFT_PROT);
	w->transition_va = g->data + D_TRANSITION;
	w->transition_pa = tp;
}


static void write_kernel_image(struct gen *g)
{
	struct tw_world *w = g->w;
	struct section s[7];
	uint32_t rvas[NKEXPORTS] = { 0 };
	kernel_layout(g, s);
	map_kernel(g);
	/* code: exported functions on one page, the worker routines on
	 * another, both at seed-dependent places in .text */
	uint32_t pages = (s[0].vsize - 0x4000) / PG;
	uint64_t code = w->kernel_base + 0x1000 + (1 + rnd(g) % (pages - 2)) * PG;
	uint64_t code2 = w->kernel_base + 0x1000 + (1 + rnd(g) % (pages - 2)) * PG;
	if (code2 / PG == code / PG)
		code2 = code + PG;
	code += 0x10 * (rnd(g) % 32);
	g->code2 = code2;
	w->exworkerqueue = g->data + D_QUEUE;
	w->decoy = g->data + D_DECOY;
	w->nt_build_number_va = g->data + D_BUILD;
	w->module_list = g->data + D_MODLIST;
	w->process_head = g->data + d_prochead(w);
	if (modern(w)) {
		w->ke_number_nodes = g->data + D_NUMNODES;
		w->ke_node_block = g->data + D_NODEBLOCK;
		w->psp_system_partition = g->data + D_PARTITION;
		w->exworkerqueue = 0;
		w->decoy = 0;
	}
	for (unsigned i = 0; i < NKEXPORTS; i++) {
		uint64_t va = code;
		if (!has_export(w, i))
			continue;
		switch (kexports[i].kind) {
		case EX_QUEUE:
		case EX_NODEMAX:
		case EX_NODEHIGH:
			code_root(g, va, kexports[i].kind);
			code += kexports[i].kind == EX_QUEUE ? 0x150 : 0x50;
			break;
		case EX_BUILD:
			va = w->nt_build_number_va;
			break;
		case EX_MODLIST:
			va = w->module_list;
			break;
		default:
			code_stub(g, va, 1 + i % 4);
			code += 0x30;
		}
		rvas[i] = (uint32_t)(va - w->kernel_base);
	}
	w->exp_worker_thread = code2 + 0x2a;
	w->iop_process_work_item = code2 + 0x3b0 + 2 * (rnd(g) % 0x40);
	code_stub(g, w->exp_worker_thread, 1);
	code_stub(g, w->iop_process_work_item, 1);
	if (modern(w) || w->machine == TW_X64)
		code_stub(g, g->code2 + 0x700, 0); /* the no_pattern helper */
	/* .rdata: debug directory, CodeView, and an export directory that
	 * crosses a page boundary */
	debug_dir(g, g->rdata + 0x100, g->rdata + 0x120);
	uint64_t exp = g->rdata + 0xfd8;
	uint32_t exp_size = export_dir(g, exp, rvas);
	pe_headers(g, w->kernel_base, w->kernel_size, s, 7,
		   (uint32_t)(exp - w->kernel_base), exp_size,
		   (uint32_t)(g->rdata + 0x100 - w->kernel_base));
	v32(g, w->nt_build_number_va, w->nt_build_number);
	/* the decoy's target stays zero but is part of the dump */
	uint64_t pa;
	if (w->decoy && tw_vtop(w, w->decoy, &pa) == 0)
		w->used[pa / PG] = 1;
}

static uint64_t kptr(const struct gen *g, uint64_t va)
{
	/* x86: 32-bit pointers in the 64-bit slots of KDDEBUGGER_DATA64 */
	if (g->w->machine == TW_X86 && g->w->spec.kdbg_sign_extend &&
	    (va & 0x80000000u))
		return 0xffffffff00000000ull | va;
	return va;
}

static void write_kdbg(struct gen *g)
{
	struct tw_world *w = g->w;
	uint64_t k = g->data + D_KDBG;
	w->kdbg = k;
	w->kdbg_size = g->L->kdbg_size;
	if (w->machine == TW_X64)
		w->pfn_database = 0xfffffa8000000000ull;
	else
		w->pfn_database = 0x84000000u - (w->pae ? 0 : 0x3000000u);
	/* +0 List (Flink, Blink): the 8 bytes before OwnerTag are zero */
	v64(g, k, 0);
	v64(g, k + 8, 0);
	vwrite(g, k + 0x10, "KDBG", 4);
	v32(g, k + 0x14, w->kdbg_size);
	v64(g, k + 0x18, kptr(g, w->kernel_base));
	v64(g, k + 0x20, kptr(g, w->exqueueworkitem + 0x600));
	v16(g, k + 0x36, w->pae ? 1 : 0);
	v64(g, k + 0x48, kptr(g, w->module_list));
	v64(g, k + 0x50, kptr(g, w->process_head));
	v64(g, k + 0x58, kptr(g, g->data + d_cidtable(w)));
	v64(g, k + 0xc0, kptr(g, g->data + d_pfndb(w)));
	vp(g, g->data + d_pfndb(w), w->pfn_database);
	v64(g, k + 0x218, kptr(g, g->data + D_KDBG + 0x800));
	/* PsActiveProcessHead: empty until the System process is added */
	vlist(g, w->process_head, w->process_head, w->process_head);
}

/* ---------------------------------------------------------- modules */

struct modspec {
	const char *name, *dir;
	uint32_t size;
	const char *driver; /* DriverName, or NULL */
	int device;         /* has a DEVICE_OBJECT */
};

static const struct modspec drivers[] = {
	{ "kdcom.dll", "\\SystemRoot\\system32\\", 0x8000, NULL, 0 },
	{ "Ntfs.sys", "\\SystemRoot\\System32\\Drivers\\", 0x133000,
	  "\\FileSystem\\Ntfs", 1 },
	{ "tcpip.sys", "\\SystemRoot\\System32\\drivers\\", 0x14a000,
	  "\\Driver\\Tcpip", 1 },
	{ "foo.sys", "\\SystemRoot\\system32\\DRIVERS\\", 0x9000,
	  "\\Driver\\foo", 0 },
	{ "bar.sys", "\\SystemRoot\\system32\\DRIVERS\\", 0x7000,
	  "\\Driver\\bar", 1 },
};
_Static_assert(sizeof drivers / sizeof drivers[0] == NDRIVERS, "drivers[]");


static uint64_t ldr_entry(struct gen *g, struct tw_module *m)
{
	const struct mlay *M = g->M;
	uint64_t e = pool_alloc(g, M->ldr_size, "MmLd");
	vp(g, e + M->ldr_base, m->base);
	vp(g, e + M->ldr_entry, m->base + 0x1000);
	v32(g, e + M->ldr_image, m->size);
	unicode_string(g, e + M->ldr_full, m->path);
	unicode_string(g, e + M->ldr_name, m->name);
	v32(g, e + M->ldr_flags, 0x09104000);
	v16(g, e + M->ldr_count, 1);
	m->ldr = e;
	return e;
}

/* A minimal PE header at a module's base (4 KiB, scattered page). */
static void module_header(struct gen *g, const struct tw_module *m)
{
	struct section s[2] = {
		{ ".text", 0x1000, m->size - 0x2000, 0x68000020 },
		{ "INIT", m->size - 0x1000, 0x1000, 0xe2000020 },
	};
	map_new(g, m->base, 0);
	pe_headers(g, m->base, m->size, s, 2, 0, 0, 0);
}

static void add_module(struct gen *g, const char *name, const char *path,
		       uint64_t base, uint32_t size)
{
	struct tw_world *w = g->w;
	struct tw_module *m = &w->modules[w->nmodules++];
	snprintf(m->name, sizeof m->name, "%s", name);
	snprintf(m->path, sizeof m->path, "%s", path);
	m->base = base;
	m->size = size;
}

static void write_modules(struct gen *g, struct objects *o)
{
	struct tw_world *w = g->w;
	const struct mlay *M = g->M;
	char path[96];
	const char *sys = g->L->old_paths ? "\\WINDOWS\\system32\\"
					  : "\\SystemRoot\\system32\\";
	snprintf(path, sizeof path, "%s%s", sys, w->kernel_name);
	add_module(g, w->kernel_name, path, w->kernel_base, w->kernel_size);
	uint64_t hal = (w->kernel_base + w->kernel_size + 0xffff) & ~0xffffull;
	snprintf(path, sizeof path, "%shal.dll", sys);
	add_module(g, "hal.dll", path, hal, 0x37000);
	module_header(g, &w->modules[1]);
	uint64_t va = g->L->drivers + 0x6000;
	for (unsigned i = 0; i < NDRIVERS; i++) {
		snprintf(path, sizeof path, "%s%s", drivers[i].dir, drivers[i].name);
		add_module(g, drivers[i].name, path, va, drivers[i].size);
		module_header(g, &w->modules[w->nmodules - 1]);
		va += (drivers[i].size + 0xfff) & ~0xfffu;
		va += PG * (1 + rnd(g) % 4);
	}
	/* tcpip.sys: its second page is mapped by a software (paged-out)
	 * PTE: not present */
	put_e(w, pte_pa(g, w->modules[4].base + PG), 0x00012000u | PTE_SOFT_PROT);
	/* LDR entries, linked in load order from PsLoadedModuleList */
	uint64_t prev = w->module_list;
	for (size_t i = 0; i < w->nmodules; i++) {
		pool_gap(g);
		uint64_t e = ldr_entry(g, &w->modules[i]);
		vp(g, prev, e);
		vp(g, e + w->ptr, prev);
		prev = e;
	}
	vp(g, prev, w->module_list);
	vp(g, w->module_list + w->ptr, prev);
	/* driver and device objects */
	for (unsigned i = 0; i < NDRIVERS; i++) {
		o->name[i] = drivers[i].driver;
		if (!drivers[i].driver)
			continue;
		uint64_t d = pool_alloc(g, M->drv_size, "Driv");
		v16(g, d, 4);
		v16(g, d + 2, (uint16_t)M->drv_size);
		v32(g, d + M->drv_flags, 0x12);
		vp(g, d + M->drv_start, w->modules[2 + i].base);
		v32(g, d + M->drv_sz, w->modules[2 + i].size);
		vp(g, d + M->drv_section, w->modules[2 + i].ldr);
		unicode_string(g, d + M->drv_name, drivers[i].driver);
		o->driver[i] = d;
		if (drivers[i].device) {
			pool_gap(g);
			uint64_t dev = pool_alloc(g, M->dev_size, "Devi");
			v16(g, dev, 3);
			v16(g, dev + 2, (uint16_t)M->dev_size);
			v32(g, dev + 4, 1);
			vp(g, dev + 8, d);
			vp(g, d + M->drv_dev, dev);
			o->device[i] = dev;
		}
	}
}

/* "<module>+0x<off>" for an address inside a module. */
void symbolize(const struct tw_world *w, uint64_t a, char *buf, size_t n)
{
	for (size_t i = 0; i < w->nmodules; i++) {
		const struct tw_module *m = &w->modules[i];
		if (a >= m->base && a - m->base < m->size) {
			snprintf(buf, n, "%s+0x%" PRIx64, m->name, a - m->base);
			return;
		}
	}
	snprintf(buf, n, "0x%" PRIx64, a);
}


/* --------------------------------------------------- System process */

/* PsActiveProcessHead → System (PID 4) → smss.exe; System's
 * ThreadListHead links ETHREAD.ThreadListEntry of a thread with no queue
 * (KTHREAD.Queue NULL) and then every worker thread, queue by queue. */
static void write_system_process(struct gen *g)
{
	struct tw_world *w = g->w;
	const struct layout *L = g->L;
	unsigned P = w->ptr;
	uint64_t head = w->process_head;
	pool_gap(g);
	uint64_t sys = pool_alloc(g, L->eprocess_size, "Proc");
	pool_gap(g);
	uint64_t smss = pool_alloc(g, L->eprocess_size, "Proc");
	uint64_t p[2] = { sys, smss };
	for (unsigned i = 0; i < 2; i++) {
		v8(g, p[i], 3); /* Header.Type ProcessObject */
		v8(g, p[i] + 2, 0x26);
		vlist(g, p[i] + 8, p[i] + 8, p[i] + 8);
		vp(g, p[i] + L->ep_pid, i ? 0x100 + 4 * (rnd(g) % 64) : 4);
		vwrite(g, p[i] + L->ep_name, i ? "smss.exe" : "System", i ? 9 : 7);
		vlist(g, p[i] + L->ep_tlh, p[i] + L->ep_tlh, p[i] + L->ep_tlh);
	}
	vlist(g, head, sys + L->ep_apl, smss + L->ep_apl);
	vlist(g, sys + L->ep_apl, smss + L->ep_apl, head);
	vlist(g, smss + L->ep_apl, head, sys + L->ep_apl);
	/* a System thread that serves no queue */
	pool_gap(g);
	uint64_t t = pool_alloc(g, L->ethread_size, "Thr\xe5");
	v8(g, t, 6);
	v8(g, t + 2, (uint8_t)L->kthread_hdr);
	vlist(g, t + 8, t + 8, t + 8);
	v8(g, t + L->kt_state, 5);
	vp(g, t + L->et_cid, 4);
	vp(g, t + L->et_cid + P, (g->tid += 4));
	vp(g, t + L->et_start, g->code2 + 0x5a0);
	w->other_thread = t;
	w->system_eprocess = sys;
	uint64_t lh = sys + L->ep_tlh, prev = lh;
	vp(g, prev, t + L->et_tle);
	vp(g, t + L->et_tle + P, prev);
	prev = t + L->et_tle;
	for (size_t q = 0; q < w->nqueues; q++)
		for (size_t i = 0; i < w->queues[q].nthreads; i++) {
			uint64_t le = w->queues[q].threads[i].ethread + L->et_tle;
			vp(g, prev, le);
			vp(g, le + P, prev);
			prev = le;
		}
	vp(g, prev, lh);
	vp(g, lh + P, prev);
}

/* ------------------------------------------------------------- misc */

/* KUSER_SHARED_DATA (0xFFDF0000; x64 0xFFFFF780'00000000): NtProductType,
 * NtMajor/MinorVersion. */
static void shared_user_data(struct gen *g)
{
	struct tw_world *w = g->w;
	uint64_t va = w->machine == TW_X64 ? 0xfffff78000000000ull : 0xffdf0000u;
	static const struct { uint32_t build, major, minor; } v[] = {
		{ 2600, 5, 1 }, { 3790, 5, 2 }, { 6001, 6, 0 },
		{ 7601, 6, 1 }, { 9200, 6, 2 }, { 9600, 6, 3 },
	};
	map_new(g, va, 1);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		if (v[i].build != w->build)
			continue;
		v32(g, va + 0x264, 1);
		v32(g, va + 0x26c, v[i].major);
		v32(g, va + 0x270, v[i].minor);
	}
	if (w->build >= 10240) {
		v32(g, va + 0x264, 1);
		v32(g, va + 0x26c, 10);
		v32(g, va + 0x270, 0);
	}
	static const char root[] = "C:\\WINDOWS";
	for (size_t i = 0; i < sizeof root; i++)
		v16(g, va + 0x30 + 2 * i, (uint8_t)root[i]);
	/* a not-present PDE with software bits, in user space */
	put_e(w, pde_slot(g, 0x10000000u), PTE_SOFT_PROT);
}

/* Pages of "user" memory: random bytes, present, but not kernel's. */
static void filler_pages(struct gen *g)
{
	for (unsigned i = 0; i < 32; i++) {
		uint64_t pa = palloc(g, 0, 0);
		g->w->used[pa / PG] = 0;
		for (uint32_t o = 0; o < PG; o += 4)
			st32(g->w->mem + pa + o, rnd(g));
	}
}

static void bugcheck(struct gen *g)
{
	struct tw_world *w = g->w;
	w->bugcheck = w->spec.bugcheck;
	if (w->bugcheck == 0x96) {
		/* INVALID_WORK_QUEUE_ITEM: P3 = the ExWorkerQueue array
		 * (static-array; 0 for the other models) */
		const struct tw_queue *Q = &w->queues[0];
		w->bugcheck_params[0] = Q->nitems ? Q->items[0].va
						  : Q->va + g->Q->entry;
		w->bugcheck_params[1] = Q->va;
		w->bugcheck_params[2] = w->exworkerqueue;
		w->bugcheck_params[3] = 0;
	}
}

/* ------------------------------------------------------------ setup */

static enum tw_model model_of_build(uint32_t build)
{
	if (build >= 16299)
		return TW_MODEL_PARTITION;
	if (build >= 9600)
		return TW_MODEL_ENODE_KPRIQUEUE;
	if (build >= 9200)
		return TW_MODEL_ENODE_KQUEUE;
	return TW_MODEL_STATIC;
}

void tw_spec_init_machine(struct tw_spec *s, enum tw_machine m, uint32_t build,
			  uint64_t seed)
{
	static const unsigned kq_threads[7] = { 5, 3, 1, 2, 1, 1, 1 };
	static const unsigned kq_items[7] = { 3, 4, 0, 2, 1, 0, 0 };
	static const unsigned kq_io[7] = { 1, 2, 0, 1, 0, 0, 0 };
	memset(s, 0, sizeof *s);
	s->build = build;
	s->sp = build == 2600 ? 3 : build == 3790 ? 2 : build == 6001 ? 1
		: build == 7601 ? 1 : 0;
	s->machine = m;
	s->pae = 1;
	s->nodes = 1;
	s->phys_size = 32u << 20;
	s->seed = seed;
	s->cpus = 2;
	switch (model_of_build(build)) {
	case TW_MODEL_STATIC:
		s->threads[0] = 5;
		s->threads[1] = 3;
		s->threads[2] = 1;
		s->items[0] = 3;
		s->items[1] = 4;
		s->items[2] = 0;
		s->io_items[0] = 1;
		s->io_items[1] = 2;
		s->io_items[2] = 0;
		break;
	case TW_MODEL_ENODE_KQUEUE:
		for (unsigned i = 0; i < 7; i++) {
			s->threads[i] = kq_threads[i];
			s->items[i] = kq_items[i];
			s->io_items[i] = kq_io[i];
		}
		break;
	default:
		s->threads[0] = 4;
		s->threads[1] = 2;
		s->items[0] = 6;
		s->items[1] = 3;
		s->io_items[0] = 2;
		s->io_items[1] = 2;
		break;
	}
	s->damage_queue = 1;
	s->damage_at = 1;
	s->max_items = 4096;
	s->bugcheck = 0xe2;
	s->system_time = 0x1d5a1fa69e64122ull; /* 2019-11-23T12:34:56Z */
}

void tw_spec_init(struct tw_spec *s, uint32_t build, int pae, uint64_t seed)
{
	tw_spec_init_machine(s, TW_X86, build, seed);
	s->pae = pae;
}

static const char *const damage_names[TW_DAMAGE_COUNT] = {
	"none", "cycle", "dangling", "missing_page", "no_pattern", "win8",
	"limit",
};

const char *tw_damage_name(enum tw_damage d)
{
	return (unsigned)d < TW_DAMAGE_COUNT ? damage_names[d] : "?";
}

int tw_damage_by_name(const char *name)
{
	for (int i = 0; i < TW_DAMAGE_COUNT; i++)
		if (strcmp(name, damage_names[i]) == 0)
			return i;
	return -1;
}

const char *tw_model_name(enum tw_model m)
{
	static const char *const n[TW_MODEL_COUNT] = {
		"static-array", "enode-kqueue", "enode-kpriqueue", "partition"
	};
	return (unsigned)m < TW_MODEL_COUNT ? n[m] : "?";
}

static int check_spec(const struct tw_spec *s, char *err, size_t n)
{
	const char *why = NULL;
	unsigned dq = s->damage_queue;
	int decoy = s->damage == TW_DAMAGE_WIN8;
	enum tw_model m = decoy ? TW_MODEL_STATIC : model_of_build(s->build);
	if (s->phys_size % (4u << 20) || s->phys_size < (16u << 20) ||
	    s->phys_size > (64u << 20))
		why = "phys_size must be a multiple of 4 MiB in 16..64 MiB";
	else if (s->cpus < 1 || s->cpus > 32)
		why = "cpus must be 1..32";
	else if (s->machine != TW_X86 && s->machine != TW_X64)
		why = "machine is x86 or x64";
	else if ((unsigned)s->damage >= TW_DAMAGE_COUNT || dq >= TW_NQUEUES)
		why = "bad damage or damage_queue";
	else if (decoy && s->machine != TW_X86)
		why = "the win8 decoy is an x86 world";
	else if (m != TW_MODEL_STATIC && s->damage != TW_DAMAGE_NONE &&
		 s->damage != TW_DAMAGE_NO_PATTERN)
		why = "this model takes damage none or no_pattern only";
	else if (s->nodes > (m == TW_MODEL_STATIC ? 1u : (unsigned)TW_MAXNODES))
		why = "nodes: 1 (static-array) or 1..2";
	else if (m != TW_MODEL_STATIC && s->machine == TW_X86 && !s->pae)
		why = "Windows 8 and later x86 worlds are PAE";
	else if (s->max_items < 2 || s->max_items > 100000)
		why = "max_items must be 2..100000";
	else if (s->damage == TW_DAMAGE_CYCLE &&
		 (s->items[dq] < 2 || s->damage_at >= s->items[dq] - 1))
		why = "cycle needs damage_at < items - 1 on the damaged queue";
	else if ((s->damage == TW_DAMAGE_DANGLING ||
		  s->damage == TW_DAMAGE_MISSING_PAGE) &&
		 s->damage_at >= s->items[dq])
		why = "damage_at must name an item of the damaged queue";
	for (unsigned q = 0; !why && q < TW_QPN; q++)
		if (s->threads[q] > 64 || s->items[q] > 100000)
			why = "at most 64 threads and 100000 items per queue";
	if (why && err && n)
		snprintf(err, n, "%s", why);
	return why ? -1 : 0;
}

/* The PML4 index of a VA. */
static unsigned pml4_index(uint64_t va)
{
	return (unsigned)((va >> 39) & 0x1ff);
}

static int world_init(struct gen *g, const struct tw_spec *s)
{
	struct tw_world *w = g->w;
	int decoy = s->damage == TW_DAMAGE_WIN8;
	uint32_t build = decoy ? 9200 : s->build;
	enum tw_machine m = decoy ? TW_X86 : s->machine;
	g->L = layout_for(build, decoy ? 0 : s->sp, m, decoy, s->rtm81);
	if (!g->L) {
		fail(g, "no layout for build %" PRIu32 " sp %" PRIu32 " on %s",
		     s->build, s->sp, m == TW_X64 ? "x64" : "x86");
		return -1;
	}
	w->spec = *s;
	w->build = build;
	w->nt_build_number = 0xf0000000u | build;
	w->supported = !decoy;
	w->os = g->L->os;
	w->profile = g->L->profile;
	w->machine = m;
	w->model = g->L->model;
	w->nodes = w->model == TW_MODEL_STATIC || s->nodes < 1 ? 1 : s->nodes;
	w->spec.nodes = w->nodes;
	w->pae = m == TW_X64 ? 0 : s->pae;
	w->ptr = m == TW_X64 ? 8 : 4;
	g->Q = g->L->rtm81 ? qlay_rtm81(m == TW_X64) : qlay_of(w->model, m == TW_X64);
	g->M = &mlays[m == TW_X64];
	w->mem_size = s->phys_size;
	w->npages = s->phys_size / PG;
	w->mem = calloc(w->mem_size, 1);
	w->used = calloc(w->npages, 1);
	g->state = calloc(w->npages, 1);
	if (!w->mem || !w->used || !g->state) {
		fail(g, "out of memory");
		return -1;
	}
	g->rng = (s->seed ^ 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull | 1;
	w->dtb = s->pae || m == TW_X64 ? g->L->dtb_pae : g->L->dtb_x86;
	w->kernel_base = s->pae || m == TW_X64 ? g->L->base_pae : g->L->base_x86;
	snprintf(w->kernel_name, sizeof w->kernel_name, "%s",
		 m == TW_X86 && s->pae && build < 9200 ? "ntkrnlpa.exe"
						       : "ntoskrnl.exe");
	snprintf(w->pdb_name, sizeof w->pdb_name, "%s",
		 m == TW_X86 && s->pae ? "ntkrpamp.pdb" : "ntkrnlmp.pdb");
	g->pool = g->L->pool + 0x1000 + 0x10 * (rnd(g) % 0x100);
	if (m == TW_X64) {
		/* the self-map index: random in 0x100..0x1FF, away from the
		 * kernel's, the drivers', the pool's and KUSER_SHARED_DATA */
		const uint64_t busy[] = { w->kernel_base, g->L->drivers,
					  g->L->pool, 0xfffff78000000000ull };
		for (int again = 1; again;) {
			w->selfmap = 0x100 + rnd(g) % 0x100;
			again = 0;
			for (size_t i = 0; i < sizeof busy / sizeof busy[0]; i++)
				again |= pml4_index(busy[i]) == w->selfmap;
		}
	}
	make_runs(g);
	return 0;
}

struct tw_world *tw_build(const struct tw_spec *s, char *err, size_t errlen)
{
	struct objects o;
	struct gen g;
	if (check_spec(s, err, errlen) != 0)
		return NULL;
	struct tw_world *w = calloc(1, sizeof *w);
	if (!w) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memset(&g, 0, sizeof g);
	memset(&o, 0, sizeof o);
	g.w = w;
	g.err = err;
	g.errlen = errlen;
	if (world_init(&g, s) == 0) {
		root_tables(&g);
		write_kernel_image(&g);
		write_kdbg(&g);
		write_modules(&g, &o);
		write_queues(&g, &o);
		if (!g.failed)
			damage(&g);
#ifndef TW_NO_SYSPROC
		if (!g.failed)
			write_system_process(&g);
#endif
		bugcheck(&g);
		shared_user_data(&g);
		filler_pages(&g);
	}
	free(g.state);
	if (g.failed) {
		tw_free(w);
		return NULL;
	}
	return w;
}

void tw_free(struct tw_world *w)
{
	if (!w)
		return;
	for (size_t q = 0; q < w->nqueues; q++) {
		free(w->queues[q].threads);
		free(w->queues[q].items);
	}
	free(w->mem);
	free(w->used);
	free(w);
}

void tw_offsets_of(const struct tw_world *w, struct tw_offsets *o)
{
	const struct layout *L =
		layout_for(w->build, w->supported ? w->spec.sp : 0, w->machine,
			   !w->supported, w->spec.rtm81);
	const struct qlay *ql = w->spec.rtm81 ? qlay_rtm81(w->machine == TW_X64)
					      : qlay_of(w->model, w->machine == TW_X64);
	const struct mlay *M = &mlays[w->machine == TW_X64];
	memset(o, 0, sizeof *o);
	if (!L)
		return;
	o->kt_queue = L->kt_queue;
	o->kt_qle = L->kt_qle;
	o->kt_state = L->kt_state;
	o->et_cid = L->et_cid;
	o->et_start = L->et_start;
	o->et_tle = L->et_tle;
	o->ep_pid = L->ep_pid;
	o->ep_apl = L->ep_apl;
	o->ep_tlh = L->ep_tlh;
	o->q_size = ql->size;
	o->q_entry = ql->entry;
	o->q_cur = ql->cur;
	o->q_max = ql->max;
	o->q_thr = ql->thr;
	o->q_node = ql->node;
	o->q_partition = ql->partition;
	o->q_qindex = ql->qindex;
	o->q_maxthreads = ql->maxthreads;
	o->wi_routine = M->wi_routine;
	o->wi_param = M->wi_param;
	o->io_routine = M->io_routine;
	o->io_object = M->io_object;
	o->io_context = M->io_context;
	o->enode_queues = w->model == TW_MODEL_ENODE_KQUEUE ? L->enode_q
			  : w->model == TW_MODEL_ENODE_KPRIQUEUE ? L->enode_q : 0;
}

/* ------------------------------------------------------------ truth */

const char *tw_queue_name(unsigned i)
{
	static const char *const n[TW_NQUEUES] = { "Critical", "Delayed",
						   "HyperCritical" };
	return i < TW_NQUEUES ? n[i] : "?";
}

const char *tw_state_name(uint32_t state)
{
	static const char *const n[] = { "INITIALIZED", "READY", "RUNNING",
					 "STANDBY", "TERMINATED", "WAIT",
					 "TRANSITION", "DEFERREDREADY",
					 "GATEWAIT" };
	return state < sizeof n / sizeof n[0] ? n[state] : "UNKNOWN";
}

/* JSON string body: backslashes and quotes escaped (names are ASCII). */
static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void jimage(FILE *f, const struct tw_world *w)
{
	int x64 = w->machine == TW_X64;
	fprintf(f,
		"  \"image\": { \"machine\": \"%s\", \"paging\": \"%s\", "
		"\"dtb\": \"0x%" PRIx64 "\", \"build\": %" PRIu32 " },\n",
		x64 ? "x64" : "x86", x64 ? "x64" : w->pae ? "pae" : "x86", w->dtb,
		w->build);
}

/* The kernel object. DESIGN §9 names name/base/size; the rest (info
 * only) follows the key names exq's `info --json` uses. */
static void jkernel(FILE *f, const struct tw_world *w, int info)
{
	fprintf(f, "  \"kernel\": { \"name\": ");
	jstr(f, w->kernel_name);
	fprintf(f, ", \"base\": \"0x%" PRIx64 "\", \"size\": \"0x%" PRIx32 "\"",
		w->kernel_base, w->kernel_size);
	if (info) {
		fprintf(f, ",\n    \"build\": %" PRIu32 ", \"os\": \"%s\"", w->build,
			w->os);
		/* 3790 has two layouts (SP0, SP1/SP2) that only validation
		 * of the queues tells apart: the queues document names it */
		if (w->profile && w->build != 3790)
			fprintf(f, ", \"profile\": \"%s\"", w->profile);
		fprintf(f, ",\n    \"pdb\": ");
		jstr(f, w->pdb_name);
		fprintf(f,
			", \"pdb_guid\": \"%s\", \"pdb_age\": %" PRIu32
			", \"module_list\": \"0x%" PRIx64 "\"",
			w->pdb_guid, w->pdb_age, w->module_list);
	}
	fprintf(f, " },\n");
}

static void jitem(FILE *f, const struct tw_item *it, int first)
{
	fprintf(f,
		"%s\n        { \"va\": \"0x%" PRIx64 "\", \"kind\": \"%s\", "
		"\"routine\": \"0x%" PRIx64 "\", \"routine_symbol\": \"%s\", "
		"\"parameter\": \"0x%" PRIx64 "\"",
		first ? "" : ",", it->va, it->io ? "io_workitem" : "work_queue_item",
		it->routine, it->routine_sym, it->parameter);
	if (it->priority >= 0)
		fprintf(f, ", \"priority\": %d", it->priority);
	if (it->io) {
		fprintf(f,
			",\n          \"io_routine\": \"0x%" PRIx64 "\", "
			"\"io_routine_symbol\": \"%s\", \"io_object\": \"0x%" PRIx64
			"\", \"io_object_type\": \"%s\", \"driver\": ",
			it->io_routine, it->io_routine_sym, it->io_object,
			it->io_object_driver ? "driver" : "device");
		jstr(f, it->driver);
		fprintf(f, ", \"context\": \"0x%" PRIx64 "\"", it->context);
	}
	if (it->recovered)
		fprintf(f, ", \"recovered\": \"blink\"");
	fprintf(f, " }");
}

static void jqueue(FILE *f, const struct tw_world *w, unsigned q)
{
	const struct tw_queue *Q = &w->queues[q];
	char max[16] = "null";
	if (Q->has_max)
		snprintf(max, sizeof max, "%" PRIu32, Q->worker_count);
	fprintf(f,
		"    { \"index\": %u, \"name\": \"%s\", \"va\": \"0x%" PRIx64 "\",\n"
		"      \"node\": %u, \"queue_index\": %u,\n"
		"      \"threads\": { \"count\": %zu, \"max\": %s }, "
		"\"concurrency\": { \"current\": %" PRIu32 ", \"maximum\": %" PRIu32
		" },\n      \"worker_threads\": [",
		q, Q->name, Q->va, Q->node, Q->queue_index, Q->nthreads, max,
		Q->current, Q->maximum);
	for (size_t i = 0; i < Q->nthreads; i++) {
		const struct tw_thread *t = &Q->threads[i];
		fprintf(f,
			"%s\n        { \"ethread\": \"0x%" PRIx64 "\", \"cid\": \"%" PRIx32
			".%" PRIx32 "\", \"teb\": \"0x%" PRIx64 "\", \"win32thread\": "
			"\"0x%" PRIx64 "\", \"state\": \"%s\" }",
			i ? "," : "", t->ethread, t->pid, t->tid, t->teb,
			t->win32thread, tw_state_name(t->state));
	}
	fprintf(f, "%s],\n      \"items\": [", Q->nthreads ? "\n      " : "");
	int first = 1;
	for (size_t j = 0; j < Q->nitems; j++) { /* listed, then recovered */
		if (!Q->items[j].listed)
			continue;
		jitem(f, &Q->items[j], first);
		first = 0;
	}
	for (size_t j = 0; j < Q->nitems; j++) {
		if (!Q->items[j].recovered)
			continue;
		jitem(f, &Q->items[j], first);
		first = 0;
	}
	fprintf(f, "%s],\n      \"errors\": [", first ? "" : "\n      ");
	for (size_t i = 0; i < Q->nerrors; i++)
		fprintf(f,
			"%s{ \"status\": \"%s\", \"node\": \"0x%" PRIx64
			"\", \"link\": \"0x%" PRIx64 "\" }",
			i ? ", " : " ", Q->errors[i].status, Q->errors[i].node,
			Q->errors[i].link);
	fprintf(f, "%s] }", Q->nerrors ? " " : "");
}

/* found_by of the truth: the pattern, "threads" when it is erased, or
 * nothing when a bugcheck 0x96 also names the array (either route is
 * right). 0 when left out. */
static int found_by(const struct tw_world *w, char *buf, size_t n)
{
	if (!no_pattern(w) && w->root_export) {
		snprintf(buf, n, "pattern:%s@%s+0x%" PRIx32, w->root_pattern,
			 w->root_export, w->pattern_off);
		return 1;
	}
	if (w->model == TW_MODEL_STATIC && w->bugcheck == 0x96)
		return 0;
	snprintf(buf, n, "threads");
	return 1;
}

int tw_write_queues_json(const struct tw_world *w, FILE *f)
{
	char fb[96];
	int have_fb = found_by(w, fb, sizeof fb);
	fprintf(f, "{\n  \"schema\": \"exq/1\",\n  \"command\": \"queues\",\n");
	if (!w->supported) {
		/* the message names the build; not comparable as a subset */
		fprintf(f, "  \"error\": { \"status\": \"NOTFOUND\" }\n}\n");
		return ferror(f) ? -1 : 0;
	}
	jimage(f, w);
	jkernel(f, w, 0);
	if (w->model == TW_MODEL_STATIC) {
		fprintf(f, "  \"exworkerqueue\": { \"va\": \"0x%" PRIx64 "\"",
			w->exworkerqueue);
		if (have_fb)
			fprintf(f, ", \"found_by\": \"%s\"", fb);
		fprintf(f, ",\n    \"profile\": \"%s\" },\n", w->profile);
	}
	fprintf(f, "  \"queue_root\": { \"model\": \"%s\", \"va\": \"0x%" PRIx64 "\"",
		tw_model_name(w->model), w->queue_root);
	if (have_fb)
		fprintf(f, ", \"found_by\": \"%s\"", fb);
	fprintf(f, ",\n    \"profile\": \"%s\", \"nodes\": %u },\n  \"queues\": [\n",
		w->profile, w->nodes);
	for (unsigned q = 0; q < w->nqueues; q++) {
		jqueue(f, w, q);
		fprintf(f, "%s\n", q + 1 < w->nqueues ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	return ferror(f) ? -1 : 0;
}

int tw_write_modules_json(const struct tw_world *w, FILE *f)
{
	fprintf(f,
		"{\n  \"schema\": \"exq/1\",\n  \"command\": \"modules\",\n"
		"  \"source\": \"PsLoadedModuleList\",\n  \"modules\": [");
	for (size_t i = 0; i < w->nmodules; i++) {
		const struct tw_module *m = &w->modules[i];
		fprintf(f, "%s\n    { \"name\": ", i ? "," : "");
		jstr(f, m->name);
		fprintf(f, ", \"base\": \"0x%" PRIx64 "\", \"size\": \"0x%" PRIx32
			   "\", \"path\": ",
			m->base, m->size);
		jstr(f, m->path);
		fprintf(f, " }");
	}
	fprintf(f, "\n  ]\n}\n");
	return ferror(f) ? -1 : 0;
}

int tw_write_kernel_json(const struct tw_world *w, FILE *f)
{
	fprintf(f, "{\n  \"schema\": \"exq/1\",\n  \"command\": \"info\",\n");
	jimage(f, w);
	jkernel(f, w, 1);
	fprintf(f, "  \"kdbg\": \"0x%" PRIx64 "\"\n}\n", w->kdbg);
	return ferror(f) ? -1 : 0;
}
