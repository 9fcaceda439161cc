/* SPDX-License-Identifier: MIT */
/*
 * tlib_win.c — builds the physical memory of a 32-bit Windows machine from
 * a struct tw_spec, and keeps the truth (see tlib_win.h).
 *
 * Order of construction: physical runs and the page-table root (PAE boot
 * layout: PDPT, then PD0..PD3 at +0x1000..+0x4000, PD3 self-map; x86: PD
 * entry 0x300 names the PD) → ntoskrnl (headers and .text/.rdata on one
 * large page, .data/others on 4 KiB pages at scattered PAs) → KDBG and the
 * list heads in .data → modules (LDR entries and names in pool, a small PE
 * header at each DllBase) → driver/device objects → worker threads and
 * pending items in pool → damage. Pool VA pages are mapped to non-adjacent
 * physical pages, and chosen objects are placed so that they cross a page.
 *
 * Every value is a little-endian store into the buffer; the generator
 * reads its own page tables back (tw_vtop) to place virtual data, so the
 * tables it writes are the ones it uses.
 */
#include "tlib_win.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PG 4096u
#define KPTE 0x163u        /* P RW A D G */
#define KPDE 0x63u         /* P RW A D */
#define KLARGE 0x1e3u      /* P RW A D PS G */
#define PTE_TRANSITION 0x800u
#define PTE_SOFT_PROT 0x80u /* protection bits of a software PTE */
#define NX (1ull << 63)

/* ------------------------------------------------------ build layouts */

/* One row per build family: DESIGN §7 offsets, plus where things live.
 * kthread_hdr (Header.Size in ULONGs) and ethread sizes are approximate
 * (unverified); nothing in DESIGN depends on them. */
struct layout {
	uint32_t build, sp_min, sp_max;
	const char *os, *profile;
	uint32_t kt_queue, kt_qle, kt_state, kt_teb, kt_w32, et_cid, et_start;
	uint32_t kthread_hdr, ethread_size;
	uint32_t io_type; /* IO_WORKITEM.Type offset (0: none) */
	uint32_t kdbg_size;
	uint32_t base_pae, base_x86; /* kernel base */
	uint32_t dtb_pae, dtb_x86;
	uint32_t pool, drivers;      /* VA regions */
	int old_paths;               /* \WINDOWS\system32\ for the kernel */
};

static const struct layout layouts[] = {
	{ 2600, 0, 3, "Windows XP", "winxp-x86", 0xe4, 0x118, 0x2d, 0x20,
	  0x130, 0x1ec, 0x224, 0x70, 0x258, 0, 0x290, 0x804d7000, 0x804d7000,
	  0x319000, 0x39000, 0x89b00000, 0xf8400000, 1 },
	{ 3790, 0, 0, "Windows Server 2003", "win2003sp0-x86", 0x68, 0x100,
	  0x2c, 0x30, 0x14c, 0x1f4, 0x22c, 0x6c, 0x250, 0, 0x318, 0x80800000,
	  0x80800000, 0x319000, 0x39000, 0x8a100000, 0xf7800000, 1 },
	{ 3790, 1, 2, "Windows Server 2003", "win2003sp1-x86", 0x68, 0x108,
	  0x4c, 0x74, 0x154, 0x1e4, 0x21c, 0x6e, 0x250, 0, 0x318, 0x80800000,
	  0x80800000, 0x319000, 0x39000, 0x8a100000, 0xf7800000, 1 },
	{ 6001, 0, 2, "Windows Vista", "vista-x86", 0x78, 0x118, 0x5c, 0x84,
	  0x170, 0x20c, 0x1f8, 0x78, 0x288, 0x1c, 0x330, 0x8181c000,
	  0x8181c000, 0x122000, 0x122000, 0x85400000, 0x8b200000, 0 },
	{ 7601, 0, 1, "Windows 7", "win7-x86", 0x7c, 0x120, 0x68, 0x88, 0x18c,
	  0x22c, 0x218, 0x80, 0x2b8, 0x1c, 0x340, 0x82a0b000, 0x82849000,
	  0x185000, 0x185000, 0x85a00000, 0x8b400000, 0 },
	/* Windows 8: no EX_WORK_QUEUE array any more; the world still holds
	 * a Windows 7-shaped one to tempt a reader that ignores the build. */
	{ 9200, 0, 0, "Windows 8", NULL, 0x7c, 0x120, 0x68, 0x88, 0x18c,
	  0x22c, 0x218, 0x80, 0x2b8, 0x1c, 0x360, 0x81605000, 0x81605000,
	  0x185000, 0x185000, 0x86400000, 0x8c000000, 0 },
};

static const struct layout *layout_for(uint32_t build, uint32_t sp)
{
	for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
		if (layouts[i].build == build && sp >= layouts[i].sp_min &&
		    sp <= layouts[i].sp_max)
			return &layouts[i];
	return NULL;
}

/* --------------------------------------------------------- generator */

struct gen {
	struct tw_world *w;
	const struct layout *L;
	uint64_t rng;
	uint8_t *state;   /* per PFN: 0 free, 1 taken, 2 not allocatable */
	uint32_t pool;    /* pool bump cursor (VA) */
	uint32_t text;    /* code cursor in .text */
	uint32_t data;    /* .data start VA */
	uint32_t rdata;   /* .rdata start VA */
	uint32_t text_end_rva;
	int failed;
	char *err;
	size_t errlen;
};

static void fail(struct gen *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct gen *g, const char *fmt, ...)
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

static uint32_t rnd(struct gen *g)
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

static uint64_t runs_end(const struct tw_world *w)
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

/* PA of the PDE for va. */
static uint64_t pde_pa(const struct tw_world *w, uint32_t va)
{
	if (w->pae)
		return w->dtb + PG * (1 + (va >> 30)) + ((va >> 21) & 0x1ff) * 8;
	return w->dtb + (va >> 22) * 4;
}

static uint64_t get_e(const struct tw_world *w, uint64_t pa)
{
	return w->pae ? ld64(w->mem + pa) : ld32(w->mem + pa);
}

static void put_e(struct tw_world *w, uint64_t pa, uint64_t v)
{
	if (w->pae)
		st64(w->mem + pa, v);
	else
		st32(w->mem + pa, (uint32_t)v);
}

static uint64_t frame(const struct tw_world *w, uint64_t e)
{
	return w->pae ? e & 0x000ffffffffff000ull : e & 0xfffff000u;
}

static uint64_t pte_pa_in(const struct tw_world *w, uint64_t pt, uint32_t va)
{
	return w->pae ? pt + ((va >> 12) & 0x1ff) * 8 : pt + ((va >> 12) & 0x3ff) * 4;
}

int tw_vtop(const struct tw_world *w, uint32_t va, uint64_t *pa)
{
	uint64_t pde = get_e(w, pde_pa(w, va));
	if (!(pde & 1))
		return -1;
	if (pde & 0x80) {
		uint64_t mask = w->pae ? 0x1fffff : 0x3fffff;
		*pa = (frame(w, pde) & ~mask) | (va & mask);
		return 0;
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

/* PA of the PTE for va, creating its page table. */
static uint64_t pte_pa(struct gen *g, uint32_t va)
{
	struct tw_world *w = g->w;
	uint64_t e = pde_pa(w, va);
	uint64_t pde = get_e(w, e);
	if (pde & 0x80) {
		fail(g, "VA 0x%" PRIx32 " is under a large page", va);
		return w->dtb;
	}
	if (!(pde & 1)) {
		pde = palloc(g, 0, 0) | KPDE;
		put_e(w, e, pde);
	}
	return pte_pa_in(w, frame(w, pde), va);
}

static void map4k(struct gen *g, uint32_t va, uint64_t pa, uint64_t flags)
{
	put_e(g->w, pte_pa(g, va), pa | flags);
}

/* Map the page at va to a new scattered page; returns its PA. */
static uint64_t map_new(struct gen *g, uint32_t va, int nx)
{
	uint64_t prev = 0, next = 0;
	if (tw_vtop(g->w, va - PG, &prev) != 0)
		prev = 0;
	if (tw_vtop(g->w, va + PG, &next) != 0)
		next = 0;
	uint64_t pa = palloc(g, prev, next);
	map4k(g, va, pa, KPTE | (nx && g->w->pae ? NX : 0));
	return pa;
}

static void ensure_mapped(struct gen *g, uint32_t va, int nx)
{
	uint64_t pa;
	if (tw_vtop(g->w, va, &pa) != 0)
		map_new(g, va, nx);
}

static void root_tables(struct gen *g)
{
	struct tw_world *w = g->w;
	if (w->pae) {
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

static void vwrite(struct gen *g, uint32_t va, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		uint64_t pa;
		size_t n = PG - (va & 0xfff);
		if (n > len)
			n = len;
		if (tw_vtop(g->w, va, &pa) != 0) {
			fail(g, "write to unmapped VA 0x%" PRIx32, va);
			return;
		}
		memcpy(g->w->mem + pa, p, n);
		g->w->used[pa / PG] = 1;
		va += (uint32_t)n;
		p += n;
		len -= n;
	}
}

static void v32(struct gen *g, uint32_t va, uint32_t v)
{
	uint8_t b[4];
	st32(b, v);
	vwrite(g, va, b, 4);
}

static void v16(struct gen *g, uint32_t va, uint16_t v)
{
	uint8_t b[2];
	st16(b, v);
	vwrite(g, va, b, 2);
}

static void v8(struct gen *g, uint32_t va, uint8_t v)
{
	vwrite(g, va, &v, 1);
}

static void v64(struct gen *g, uint32_t va, uint64_t v)
{
	uint8_t b[8];
	st64(b, v);
	vwrite(g, va, b, 8);
}

/* LIST_ENTRY at va: Flink, Blink. */
static void vlist(struct gen *g, uint32_t va, uint32_t flink, uint32_t blink)
{
	v32(g, va, flink);
	v32(g, va + 4, blink);
}

int tw_read(const struct tw_world *w, uint32_t va, void *buf, size_t len)
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
		va += (uint32_t)n;
		p += n;
		len -= n;
	}
	return 0;
}

uint32_t tw_read32(const struct tw_world *w, uint32_t va)
{
	uint8_t b[4];
	return tw_read(w, va, b, 4) == 0 ? ld32(b) : 0;
}

/* ------------------------------------------------------------- pool */

/* Bump allocator in the pool region, 8-byte aligned, each block after an
 * 8-byte POOL_HEADER (BlockSize in 8-byte units, tag). Pages are mapped on
 * first use to scattered physical pages. */
static uint32_t pool_alloc(struct gen *g, uint32_t size, const char tag[4])
{
	uint32_t hdr = (g->pool + 7) & ~7u;
	uint32_t obj = hdr + 8, end = obj + size;
	for (uint32_t va = hdr & ~(PG - 1); va < end; va += PG)
		ensure_mapped(g, va, 1);
	uint8_t h[8];
	st16(h, 0);
	st16(h + 2, (uint16_t)(((size + 8 + 7) / 8) | 0x200)); /* NonPaged */
	memcpy(h + 4, tag, 4);
	vwrite(g, hdr, h, 8);
	g->pool = end;
	return obj;
}

/* Move the cursor so that the next object's byte off (8-aligned, as pool
 * blocks are) is the first byte of a page: the object crosses that page
 * boundary. */
static void pool_cross(struct gen *g, uint32_t off)
{
	off &= ~7u;
	uint32_t obj = ((g->pool + 7) & ~7u) + 8;
	uint32_t boundary = (obj + off + PG - 1) & ~(PG - 1);
	if (boundary - off < obj)
		boundary += PG;
	g->pool = boundary - off - 8;
}

/* A small random gap, so that objects do not pack. */
static void pool_gap(struct gen *g)
{
	g->pool += 8 * (rnd(g) % 24);
}

/* UTF-16LE copy of an ASCII string in pool; fills a UNICODE_STRING at us. */
static void unicode_string(struct gen *g, uint32_t us, const char *s)
{
	size_t n = strlen(s);
	uint32_t buf = pool_alloc(g, (uint32_t)(2 * n + 2), "Uni ");
	for (size_t i = 0; i <= n; i++)
		v16(g, buf + 2 * (uint32_t)i, (uint8_t)s[i]);
	v16(g, us, (uint16_t)(2 * n));
	v16(g, us + 2, (uint16_t)(2 * n + 2));
	v32(g, us + 4, buf);
}

/* ------------------------------------------------------ PE images */

struct section {
	const char *name;
	uint32_t rva, vsize, chars;
};

/* DOS + NT headers (PE32) and the section table at va. */
static void pe_headers(struct gen *g, uint32_t va, uint32_t size,
		       const struct section *s, unsigned ns, uint32_t exp_rva,
		       uint32_t exp_size, uint32_t dbg_rva)
{
	uint8_t h[0x400];
	const uint32_t nt = 0xe8;
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
	st16(fh, 0x14c);
	st16(fh + 2, (uint16_t)ns);
	st32(fh + 4, 0x4ce7979d ^ (rnd(g) & 0xffff));
	st16(fh + 16, 0xe0);
	st16(fh + 18, 0x122);
	st16(oh, 0x10b);
	oh[2] = 9;
	st32(oh + 4, s[0].vsize);                 /* SizeOfCode */
	st32(oh + 16, s[0].rva + 0x100);          /* AddressOfEntryPoint */
	st32(oh + 20, s[0].rva);                  /* BaseOfCode */
	st32(oh + 28, va);                        /* ImageBase (relocated) */
	st32(oh + 32, PG);                        /* SectionAlignment */
	st32(oh + 36, 0x200);                     /* FileAlignment */
	st16(oh + 40, 6);
	st16(oh + 48, 6);
	st32(oh + 56, size);                      /* SizeOfImage */
	st32(oh + 60, 0x400);                     /* SizeOfHeaders */
	st16(oh + 68, 1);                         /* native */
	st32(oh + 72, 0x40000);
	st32(oh + 76, 0x1000);
	st32(oh + 92, 16);                        /* NumberOfRvaAndSizes */
	st32(oh + 96, exp_rva);
	st32(oh + 100, exp_size);
	if (dbg_rva) {
		st32(oh + 96 + 6 * 8, dbg_rva);
		st32(oh + 100 + 6 * 8, 28);
	}
	uint8_t *sh = oh + 0xe0;
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

/* Exports of the kernel. Kinds: code stub, data (a .data variable). */
enum { EX_CODE, EX_QUEUE, EX_BUILD, EX_MODLIST };
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
};
#define NKEXPORTS (sizeof kexports / sizeof kexports[0])

static void put_bytes(uint8_t *code, size_t *n, const char *hex)
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

/* ExQueueWorkItem (stdcall, 2 args): a plausible prologue, a DECOY
 * `push edi; add esi, imm32` naming zeros in .data on a bounds-check
 * path, then the real one naming ExWorkerQueue, both inside the first
 * 0x100 bytes. Without the pattern, the queue address is taken through a
 * pointer in .data (add esi, [mem]), which no pattern of DESIGN §7 takes. */
static void code_exqueueworkitem(struct gen *g, uint32_t va, uint32_t queue,
				 uint32_t decoy, uint32_t ptrvar)
{
	uint8_t c[0x140];
	size_t n = 0;
	struct tw_world *w = g->w;
	memset(c, 0xcc, sizeof c);
	put_bytes(c, &n, "8BFF 55 8BEC 51 53 8B5D08 56 8B750C 85DB 0F84"
			 "1A010000 837B0800 7414");
	if (w->spec.damage != TW_DAMAGE_NO_PATTERN) {
		put_bytes(c, &n, "83FE03 730F 57");
		w->decoy_off = (uint32_t)n - 1;
		put_bytes(c, &n, "81C6");
		st32(c + n, decoy);
		n += 4;
		put_bytes(c, &n, "5F EB05");
	}
	put_bytes(c, &n, "64A124010000 8945FC 6A00 6A00 FF75FC E8");
	st32(c + n, 0xfffe1a2c);
	n += 4;
	put_bytes(c, &n, "6BF63C");
	if (w->spec.damage != TW_DAMAGE_NO_PATTERN) {
		put_bytes(c, &n, "57");
		w->pattern_off = (uint32_t)n - 1;
		put_bytes(c, &n, "81C6");
		st32(c + n, queue);
		n += 4;
	} else {
		put_bytes(c, &n, "57 0335");
		st32(c + n, ptrvar);
		n += 4;
	}
	put_bytes(c, &n, "8BFE 8D4E10 8BD3 FF15");
	st32(c + n, va + 0x1f0);
	n += 4;
	put_bytes(c, &n, "8B4618 3B461C 7309 837E2800 7503 FF4628 5F 5E 5B"
			 "C9 C20800");
	vwrite(g, va, c, sizeof c);
}

/* A short stdcall function body. */
static void code_stub(struct gen *g, uint32_t va, unsigned args)
{
	uint8_t c[32];
	size_t n = 0;
	memset(c, 0xcc, sizeof c);
	put_bytes(c, &n, "8BFF 55 8BEC 8B4508 85C0 7405 E8");
	st32(c + n, rnd(g) & 0xffff);
	n += 4;
	put_bytes(c, &n, "5D C2");
	st16(c + n, (uint16_t)(4 * args));
	vwrite(g, va, c, sizeof c);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(kexports[*(const unsigned *)a].name,
		      kexports[*(const unsigned *)b].name);
}

/* Export directory at va (inside .rdata), for functions at rvas[]. */
static uint32_t export_dir(struct gen *g, uint32_t va, const uint32_t *rvas)
{
	struct tw_world *w = g->w;
	uint32_t base = w->kernel_base;
	uint32_t funcs = va + 0x28, names = funcs + 4 * NKEXPORTS;
	uint32_t ords = names + 4 * NKEXPORTS, str = ords + 2 * NKEXPORTS;
	unsigned order[NKEXPORTS];
	for (unsigned i = 0; i < NKEXPORTS; i++)
		order[i] = i;
	qsort(order, NKEXPORTS, sizeof order[0], cmp_name);
	v32(g, va + 4, 0x4ce7979d);
	v32(g, va + 12, str - base);
	vwrite(g, str, w->kernel_name, strlen(w->kernel_name) + 1);
	str += (uint32_t)strlen(w->kernel_name) + 1;
	v32(g, va + 16, 1); /* Base */
	v32(g, va + 20, NKEXPORTS);
	v32(g, va + 24, NKEXPORTS);
	v32(g, va + 28, funcs - base);
	v32(g, va + 32, names - base);
	v32(g, va + 36, ords - base);
	for (unsigned i = 0; i < NKEXPORTS; i++) {
		unsigned e = order[i];
		v32(g, funcs + 4 * e, rvas[e]);
		v32(g, names + 4 * i, str - base);
		v16(g, ords + 2 * i, (uint16_t)e);
		vwrite(g, str, kexports[e].name, strlen(kexports[e].name) + 1);
		str += (uint32_t)strlen(kexports[e].name) + 1;
	}
	return str - va;
}

/* CodeView RSDS record and the debug directory entry naming it. */
static void debug_dir(struct gen *g, uint32_t dir, uint32_t rec)
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
	v32(g, dir + 20, rec - w->kernel_base);
	v32(g, dir + 24, rec - w->kernel_base);
}

/* ----------------------------------------------------------- kernel */

#define DATA_SIZE 0x40000u
/* .data page 0: decoy zeros, NtBuildNumber, list heads; page 1: KDBG;
 * pages 2-3: ExWorkerQueue across the boundary; page 5: transition PTE */
#define D_DECOY 0x040u
#define D_BUILD 0x200u
#define D_MODLIST 0x300u
#define D_PROCHEAD 0x308u
#define D_PFNDB 0x310u
#define D_CIDTABLE 0x314u
#define D_KDBG 0x1100u
#define D_QUEUE 0x2fa0u
#define D_QUEUEPTR 0x3400u
#define D_TRANSITION 0x5000u

static void kernel_layout(struct gen *g, struct section *s)
{
	struct tw_world *w = g->w;
	uint32_t large = w->pae ? 0x200000u : 0x400000u;
	uint32_t region = w->kernel_base & ~(large - 1);
	uint32_t t = region + large - w->kernel_base; /* .data starts here */
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
static uint64_t large_region(struct gen *g, uint32_t va, uint32_t large)
{
	struct tw_world *w = g->w;
	uint64_t want = (va & 0x01ffffffu) & ~(uint64_t)(large - 1);
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
	uint32_t large = w->pae ? 0x200000u : 0x400000u;
	uint32_t region = w->kernel_base & ~(large - 1);
	uint64_t pa = large_region(g, w->kernel_base, large);
	for (uint64_t p = pa / PG; p < (pa + large) / PG; p++)
		g->state[p] = 2; /* the kernel's; used[] set when written */
	put_e(w, pde_pa(w, region), pa | KLARGE);
	w->large_va = region;
	w->large_pa = pa;
	/* .data pages the world uses; the rest of .data and the pageable
	 * sections stay unmapped (PTE 0, or a paged-out software PTE) */
	for (uint32_t off = 0; off < 0x4000; off += PG)
		map_new(g, g->data + off, 1);
	put_e(w, pte_pa(g, g->data + 0x4000), (uint64_t)(0x2a1 + rnd(g) % 0x100) << 12 |
						 PTE_SOFT_PROT);
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
	uint32_t rvas[NKEXPORTS];
	kernel_layout(g, s);
	map_kernel(g);
	/* code: exported functions on one page, the worker routines on
	 * another, both at seed-dependent places in .text */
	uint32_t pages = (s[0].vsize - 0x4000) / PG;
	uint32_t code = w->kernel_base + 0x1000 + (1 + rnd(g) % (pages - 2)) * PG;
	uint32_t code2 = w->kernel_base + 0x1000 + (1 + rnd(g) % (pages - 2)) * PG;
	if (code2 / PG == code / PG)
		code2 = code + PG;
	code += 0x10 * (rnd(g) % 32);
	w->exworkerqueue = g->data + D_QUEUE;
	w->decoy = g->data + D_DECOY;
	w->nt_build_number_va = g->data + D_BUILD;
	w->module_list = g->data + D_MODLIST;
	w->process_head = g->data + D_PROCHEAD;
	for (unsigned i = 0; i < NKEXPORTS; i++) {
		uint32_t va = code;
		switch (kexports[i].kind) {
		case EX_QUEUE:
			w->exqueueworkitem = va;
			code_exqueueworkitem(g, va, w->exworkerqueue, w->decoy,
					     g->data + D_QUEUEPTR);
			code += 0x150;
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
		rvas[i] = va - w->kernel_base;
	}
	w->exp_worker_thread = code2 + 0x2a;
	w->iop_process_work_item = code2 + 0x3b0 + 2 * (rnd(g) % 0x40);
	code_stub(g, w->exp_worker_thread, 1);
	code_stub(g, w->iop_process_work_item, 1);
	/* .rdata: debug directory, CodeView, and an export directory that
	 * crosses a page boundary */
	debug_dir(g, g->rdata + 0x100, g->rdata + 0x120);
	uint32_t exp = g->rdata + 0xfd8;
	uint32_t exp_size = export_dir(g, exp, rvas);
	pe_headers(g, w->kernel_base, w->kernel_size, s, 7, exp - w->kernel_base,
		   exp_size, g->rdata + 0x100 - w->kernel_base);
	v32(g, w->nt_build_number_va, w->nt_build_number);
	/* the decoy's target stays zero but is part of the dump */
	uint64_t pa;
	if (tw_vtop(w, w->decoy, &pa) == 0)
		w->used[pa / PG] = 1;
}

static uint64_t kptr(const struct gen *g, uint32_t va)
{
	/* 32-bit pointers in the 64-bit slots of KDDEBUGGER_DATA64 */
	if (g->w->spec.kdbg_sign_extend && (va & 0x80000000u))
		return 0xffffffff00000000ull | va;
	return va;
}

static void write_kdbg(struct gen *g)
{
	struct tw_world *w = g->w;
	uint32_t k = g->data + D_KDBG;
	w->kdbg = k;
	w->kdbg_size = g->L->kdbg_size;
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
	v64(g, k + 0x58, kptr(g, g->data + D_CIDTABLE));
	v64(g, k + 0xc0, kptr(g, g->data + D_PFNDB));
	v32(g, g->data + D_PFNDB, w->pfn_database);
	v64(g, k + 0x218, kptr(g, g->data + D_KDBG + 0x800));
	/* PsActiveProcessHead: an empty list in this world */
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
#define NDRIVERS (sizeof drivers / sizeof drivers[0])

struct objects {
	uint32_t driver[NDRIVERS], device[NDRIVERS];
};

static uint32_t ldr_entry(struct gen *g, struct tw_module *m)
{
	uint32_t e = pool_alloc(g, 0x78, "MmLd");
	v32(g, e + 0x18, m->base);
	v32(g, e + 0x1c, m->base + 0x1000);
	v32(g, e + 0x20, m->size);
	unicode_string(g, e + 0x24, m->path);
	unicode_string(g, e + 0x2c, m->name);
	v32(g, e + 0x34, 0x09104000);
	v16(g, e + 0x38, 1);
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
		       uint32_t base, uint32_t size)
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
	char path[96];
	const char *sys = g->L->old_paths ? "\\WINDOWS\\system32\\"
					  : "\\SystemRoot\\system32\\";
	snprintf(path, sizeof path, "%s%s", sys, w->kernel_name);
	add_module(g, w->kernel_name, path, w->kernel_base, w->kernel_size);
	uint32_t hal = (w->kernel_base + w->kernel_size + 0xffff) & ~0xffffu;
	snprintf(path, sizeof path, "%shal.dll", sys);
	add_module(g, "hal.dll", path, hal, 0x37000);
	module_header(g, &w->modules[1]);
	uint32_t va = g->L->drivers + 0x6000;
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
	uint32_t prev = w->module_list;
	for (size_t i = 0; i < w->nmodules; i++) {
		pool_gap(g);
		uint32_t e = ldr_entry(g, &w->modules[i]);
		v32(g, prev, e);
		v32(g, e + 4, prev);
		prev = e;
	}
	v32(g, prev, w->module_list);
	v32(g, w->module_list + 4, prev);
	/* driver and device objects */
	for (unsigned i = 0; i < NDRIVERS; i++) {
		if (!drivers[i].driver)
			continue;
		uint32_t d = pool_alloc(g, 0xa8, "Driv");
		v16(g, d, 4);
		v16(g, d + 2, 0xa8);
		v32(g, d + 8, 0x12);
		v32(g, d + 0xc, w->modules[2 + i].base);
		v32(g, d + 0x10, w->modules[2 + i].size);
		v32(g, d + 0x14, w->modules[2 + i].ldr);
		unicode_string(g, d + 0x1c, drivers[i].driver);
		o->driver[i] = d;
		if (drivers[i].device) {
			pool_gap(g);
			uint32_t dev = pool_alloc(g, 0xb8, "Devi");
			v16(g, dev, 3);
			v16(g, dev + 2, 0xb8);
			v32(g, dev + 4, 1);
			v32(g, dev + 8, d);
			v32(g, d + 4, dev);
			o->device[i] = dev;
		}
	}
}

/* "<module>+0x<off>" for an address inside a module. */
static void symbolize(const struct tw_world *w, uint32_t a, char *buf, size_t n)
{
	for (size_t i = 0; i < w->nmodules; i++) {
		const struct tw_module *m = &w->modules[i];
		if (a >= m->base && a - m->base < m->size) {
			snprintf(buf, n, "%s+0x%" PRIx32, m->name, a - m->base);
			return;
		}
	}
	snprintf(buf, n, "0x%" PRIx32, a);
}

/* ----------------------------------------------------- work queues */

static void write_threads(struct gen *g, unsigned q, uint32_t *tid)
{
	struct tw_world *w = g->w;
	const struct layout *L = g->L;
	struct tw_queue *Q = &w->queues[q];
	uint32_t head = Q->va + 0x20, prev = head;
	Q->nthreads = w->spec.threads[q];
	Q->threads = calloc(Q->nthreads ? Q->nthreads : 1, sizeof *Q->threads);
	if (!Q->threads) {
		fail(g, "out of memory");
		return;
	}
	for (size_t i = 0; i < Q->nthreads; i++) {
		struct tw_thread *t = &Q->threads[i];
		int cross = (i + q) % 3 == 1;
		if (cross) /* header and Queue on one page, QueueListEntry on
			      the next */
			pool_cross(g, L->kt_qle);
		else
			pool_gap(g);
		uint32_t e = pool_alloc(g, L->ethread_size, "Thr\xe5");
		t->ethread = e;
		t->pid = 4;
		t->tid = (*tid += 4);
		t->state = (q == 0 && i == 0) ? 2 : 5;
		t->straddles = cross;
		v8(g, e, 6);                  /* Header.Type ThreadObject */
		v8(g, e + 2, (uint8_t)L->kthread_hdr);
		vlist(g, e + 8, e + 8, e + 8); /* Header.WaitListHead */
		v32(g, e + L->kt_queue, Q->va);
		v8(g, e + L->kt_state, (uint8_t)t->state);
		v32(g, e + L->kt_teb, 0);
		v32(g, e + L->kt_w32, 0);
		v32(g, e + L->et_cid, 4);
		v32(g, e + L->et_cid + 4, t->tid);
		v32(g, e + L->et_start, w->exp_worker_thread);
		uint32_t le = e + L->kt_qle;
		v32(g, prev, le);
		v32(g, le + 4, prev);
		prev = le;
	}
	v32(g, prev, head);
	v32(g, head + 4, prev);
}

/* Routine of a plain work item: in a driver (foo/bar/Ntfs/tcpip) or in
 * the kernel's PAGE section. */
static uint32_t item_routine(struct gen *g, unsigned k)
{
	struct tw_world *w = g->w;
	static const unsigned mods[] = { 5, 0, 6, 3, 4 }; /* foo nt bar Ntfs tcpip */
	const struct tw_module *m = &w->modules[mods[k % 5]];
	if (m == &w->modules[0])
		return m->base + g->text_end_rva + DATA_SIZE + 0x1000 +
		       2 * (rnd(g) % 0x8000);
	return m->base + 0x1000 + 2 * (rnd(g) % ((m->size - 0x2000) / 2));
}

/* Is item j of queue q an IO_WORKITEM? Spread over the queue: odd
 * indices first, then from the end. */
static int item_is_io(const struct tw_spec *s, unsigned q, unsigned j)
{
	unsigned n = s->items[q], io = s->io_items[q] < n ? s->io_items[q] : n;
	unsigned odd = n / 2;
	if (io <= odd)
		return j % 2 == 1 && j / 2 < io;
	return j % 2 == 1 || (n - 1 - j) / 2 < io - odd;
}

static void one_item(struct gen *g, unsigned q, unsigned j,
		     const struct objects *o, struct tw_item *it, int nocross)
{
	struct tw_world *w = g->w;
	int cross = j % 3 == 2 && !nocross;
	it->io = w->spec.damage != TW_DAMAGE_LIMIT || q != w->spec.damage_queue
			 ? item_is_io(&w->spec, q, j)
			 : 0;
	if (it->io) {
		/* IO_WORKITEM: WorkItem +0, Routine +0x10, IoObject +0x14,
		 * Context +0x18, Type +0x1c (Vista on) */
		static const unsigned drv[] = { 4, 3, 1, 2 }; /* bar foo Ntfs tcpip */
		unsigned d = drv[(j / 2 + q) % 4];
		if (cross)
			pool_cross(g, 0x10);
		it->va = pool_alloc(g, 0x28, "IoWk");
		it->routine = w->iop_process_work_item;
		it->parameter = it->va;
		const struct tw_module *m = &w->modules[2 + d];
		it->io_routine = m->base + 0x1000 + 2 * (rnd(g) % 0x800);
		it->io_object_driver = o->device[d] == 0;
		it->io_object = it->io_object_driver ? o->driver[d] : o->device[d];
		snprintf(it->driver, sizeof it->driver, "%s", drivers[d].driver);
		it->context = (j % 4 == 1) ? 0 : it->va + 0x200 + 8 * (rnd(g) % 64);
		v32(g, it->va + 0x10, it->io_routine);
		v32(g, it->va + 0x14, it->io_object);
		v32(g, it->va + 0x18, it->context);
		if (g->L->io_type)
			v32(g, it->va + g->L->io_type, 1);
		symbolize(w, it->io_routine, it->io_routine_sym,
			  sizeof it->io_routine_sym);
	} else {
		/* a WORK_QUEUE_ITEM embedded at +0x10 of a driver context */
		if (cross)
			pool_cross(g, 0x10 + 8); /* routine on the next page */
		uint32_t ctx = pool_alloc(g, 0x30, "Work");
		it->va = ctx + 0x10;
		it->routine = item_routine(g, j + q);
		it->parameter = (j % 2 == 0) ? ctx : 0;
		v32(g, ctx, 0x12345678u ^ rnd(g));
	}
	it->straddles = cross;
	it->listed = 1;
	v32(g, it->va + 8, it->routine);
	v32(g, it->va + 12, it->parameter);
	symbolize(w, it->routine, it->routine_sym, sizeof it->routine_sym);
}

/* A pool page mapped outside every run, for the missing item. */
static void pool_missing_page(struct gen *g)
{
	struct tw_world *w = g->w;
	uint32_t va = (g->pool + PG - 1) & ~(PG - 1);
	uint64_t pfn = runs_end(w) + 0x20 + rnd(g) % 0x40;
	w->missing_pa = pfn * PG;
	map4k(g, va, w->missing_pa, KPTE | (w->pae ? NX : 0));
	g->pool = va + 0x100;
}

static void write_items(struct gen *g, unsigned q, const struct objects *o)
{
	struct tw_world *w = g->w;
	struct tw_queue *Q = &w->queues[q];
	const struct tw_spec *s = &w->spec;
	uint32_t head = Q->va + 0x10, prev = head;
	int missing = s->damage == TW_DAMAGE_MISSING_PAGE && q == s->damage_queue;
	Q->items = calloc(Q->nitems ? Q->nitems : 1, sizeof *Q->items);
	if (!Q->items) {
		fail(g, "out of memory");
		return;
	}
	for (unsigned j = 0; j < Q->nitems; j++) {
		struct tw_item *it = &Q->items[j];
		if (missing && j == s->damage_at)
			pool_missing_page(g);
		else
			pool_gap(g);
		if (missing && j == s->damage_at) {
			/* write it into mem anyway: the page exists in the
			 * machine, only no image holds it */
			one_item(g, q, j, o, it, 1);
			w->used[w->missing_pa / PG] = 0;
			g->pool = ((g->pool + PG - 1) & ~(PG - 1)) + 0x40;
		} else {
			one_item(g, q, j, o, it, 0);
		}
		v32(g, prev, it->va);
		v32(g, it->va + 4, prev);
		prev = it->va;
	}
	v32(g, prev, head);
	v32(g, head + 4, prev);
}

/* EX_WORK_QUEUE q: KQUEUE (Header Type 4, Size 0x0A, SignalState,
 * WaitListHead, EntryListHead, CurrentCount, MaximumCount,
 * ThreadListHead), then the counters and Info. */
static void write_queue_header(struct gen *g, unsigned q)
{
	struct tw_world *w = g->w;
	struct tw_queue *Q = &w->queues[q];
	uint32_t v = Q->va;
	Q->worker_count = (uint32_t)Q->nthreads;
	Q->maximum = w->spec.cpus;
	Q->current = q == 0 ? 1 : 0;
	Q->signal_state = (uint32_t)Q->nitems;
	v8(g, v, 4);
	v8(g, v + 2, 0x0a);
	v32(g, v + 4, Q->signal_state);
	vlist(g, v + 8, v + 8, v + 8);
	v32(g, v + 0x18, Q->current);
	v32(g, v + 0x1c, Q->maximum);
	v32(g, v + 0x28, 0);
	v32(g, v + 0x2c, 0x1000 + rnd(g) % 0x10000);
	v32(g, v + 0x30, rnd(g) % 0x100);
	v32(g, v + 0x34, q == 2 ? 0 : rnd(g) % 4);
	v32(g, v + 0x38, Q->worker_count << 3 | (q < 2 ? 2u : 0u));
}

static void write_queues(struct gen *g, const struct objects *o)
{
	struct tw_world *w = g->w;
	const struct tw_spec *s = &w->spec;
	uint32_t tid = 0xc;
	for (unsigned q = 0; q < TW_NQUEUES; q++) {
		w->queues[q].va = w->exworkerqueue + 0x3c * q;
		w->queues[q].nitems = s->items[q];
		if (s->damage == TW_DAMAGE_LIMIT && q == s->damage_queue)
			w->queues[q].nitems = s->max_items + 3;
	}
	for (unsigned q = 0; q < TW_NQUEUES && !g->failed; q++)
		write_threads(g, q, &tid);
	for (unsigned q = 0; q < TW_NQUEUES && !g->failed; q++) {
		write_items(g, q, o);
		write_queue_header(g, q);
	}
	v32(g, g->data + D_QUEUEPTR, w->exworkerqueue);
}

/* ----------------------------------------------------------- damage */

static void add_error(struct tw_queue *Q, const char *st, uint32_t node,
		      uint32_t link)
{
	struct tw_error *e = &Q->errors[Q->nerrors++];
	e->status = st;
	e->node = node;
	e->link = link;
}

/* A VA in the pool region whose PTE is a paged-out software PTE. */
static uint32_t unmapped_pool_va(struct gen *g)
{
	uint32_t va = ((g->pool + PG - 1) & ~(PG - 1)) + 8 * PG;
	put_e(g->w, pte_pa(g, va), 0x3c000u | PTE_SOFT_PROT);
	return va + 0x5a8;
}

static void damage(struct gen *g)
{
	struct tw_world *w = g->w;
	const struct tw_spec *s = &w->spec;
	struct tw_queue *Q = &w->queues[s->damage_queue];
	unsigned k = s->damage_at;
	switch (s->damage) {
	case TW_DAMAGE_CYCLE: {
		struct tw_item *last = &Q->items[Q->nitems - 1];
		v32(g, last->va, Q->items[k].va);
		add_error(Q, "CYCLE", last->va, Q->items[k].va);
		break;
	}
	case TW_DAMAGE_DANGLING:
		/* Blinks intact: walking them back from the head reaches
		 * items N+1.. (item N+1's Blink names item N, already seen) */
		w->dangling_va = unmapped_pool_va(g);
		v32(g, Q->items[k].va, w->dangling_va);
		for (size_t j = k + 1; j < Q->nitems; j++) {
			Q->items[j].listed = 0;
			Q->items[j].recovered = 1;
		}
		add_error(Q, "NOTPRESENT", Q->items[k].va, w->dangling_va);
		break;
	case TW_DAMAGE_MISSING_PAGE:
		w->used[w->missing_pa / PG] = 0; /* no image holds it */
		for (size_t j = k; j < Q->nitems; j++) {
			Q->items[j].listed = 0;
			Q->items[j].recovered = j > k; /* back to item N */
		}
		add_error(Q, "NODATA", k ? Q->items[k - 1].va : Q->va + 0x10,
			  Q->items[k].va);
		break;
	case TW_DAMAGE_LIMIT:
		for (size_t j = s->max_items; j < Q->nitems; j++)
			Q->items[j].listed = 0;
		add_error(Q, "LIMIT", Q->items[s->max_items - 1].va,
			  Q->items[s->max_items].va);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------- misc */

/* KUSER_SHARED_DATA at 0xFFDF0000: NtProductType, NtMajor/MinorVersion. */
static void shared_user_data(struct gen *g)
{
	struct tw_world *w = g->w;
	uint32_t va = 0xffdf0000u;
	static const struct { uint32_t build, major, minor; } v[] = {
		{ 2600, 5, 1 }, { 3790, 5, 2 }, { 6001, 6, 0 },
		{ 7601, 6, 1 }, { 9200, 6, 2 },
	};
	map_new(g, va, 1);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		if (v[i].build != w->build)
			continue;
		v32(g, va + 0x264, 1);
		v32(g, va + 0x26c, v[i].major);
		v32(g, va + 0x270, v[i].minor);
	}
	static const char root[] = "C:\\WINDOWS";
	for (size_t i = 0; i < sizeof root; i++)
		v16(g, va + 0x30 + 2 * (uint32_t)i, (uint8_t)root[i]);
	/* a not-present PDE with software bits, in user space */
	put_e(w, pde_pa(w, 0x10000000u), PTE_SOFT_PROT);
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
		/* INVALID_WORK_QUEUE_ITEM: P3 = the ExWorkerQueue array */
		const struct tw_queue *Q = &w->queues[0];
		w->bugcheck_params[0] = Q->nitems ? Q->items[0].va : Q->va + 0x10;
		w->bugcheck_params[1] = Q->va;
		w->bugcheck_params[2] = w->exworkerqueue;
		w->bugcheck_params[3] = 0;
	}
}

/* ------------------------------------------------------------ setup */

void tw_spec_init(struct tw_spec *s, uint32_t build, int pae, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->build = build;
	s->sp = build == 2600 ? 3 : build == 3790 ? 2 : build == 6001 ? 1
		: build == 7601 ? 1 : 0;
	s->pae = pae;
	s->phys_size = 32u << 20;
	s->seed = seed;
	s->cpus = 2;
	s->threads[0] = 5;
	s->threads[1] = 3;
	s->threads[2] = 1;
	s->items[0] = 3;
	s->items[1] = 4;
	s->items[2] = 0;
	s->io_items[0] = 1;
	s->io_items[1] = 2;
	s->io_items[2] = 0;
	s->damage_queue = 1;
	s->damage_at = 1;
	s->max_items = 4096;
	s->bugcheck = 0xe2;
	s->system_time = 0x1d5a1fa69e64122ull; /* 2019-11-23T12:34:56Z */
	if (build == 9200)
		s->damage = TW_DAMAGE_WIN8;
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

static int check_spec(const struct tw_spec *s, char *err, size_t n)
{
	const char *why = NULL;
	unsigned dq = s->damage_queue;
	if (s->phys_size % (4u << 20) || s->phys_size < (16u << 20) ||
	    s->phys_size > (64u << 20))
		why = "phys_size must be a multiple of 4 MiB in 16..64 MiB";
	else if (s->cpus < 1 || s->cpus > 32)
		why = "cpus must be 1..32";
	else if ((unsigned)s->damage >= TW_DAMAGE_COUNT || dq >= TW_NQUEUES)
		why = "bad damage or damage_queue";
	else if (s->max_items < 2 || s->max_items > 100000)
		why = "max_items must be 2..100000";
	else if (s->damage == TW_DAMAGE_CYCLE &&
		 (s->items[dq] < 2 || s->damage_at >= s->items[dq] - 1))
		why = "cycle needs damage_at < items - 1 on the damaged queue";
	else if ((s->damage == TW_DAMAGE_DANGLING ||
		  s->damage == TW_DAMAGE_MISSING_PAGE) &&
		 s->damage_at >= s->items[dq])
		why = "damage_at must name an item of the damaged queue";
	for (unsigned q = 0; !why && q < TW_NQUEUES; q++)
		if (s->threads[q] > 64 || s->items[q] > 100000)
			why = "at most 64 threads and 100000 items per queue";
	if (why && err && n)
		snprintf(err, n, "%s", why);
	return why ? -1 : 0;
}

static int world_init(struct gen *g, const struct tw_spec *s)
{
	struct tw_world *w = g->w;
	int win8 = s->damage == TW_DAMAGE_WIN8 || s->build == 9200;
	uint32_t build = win8 ? 9200 : s->build;
	g->L = layout_for(build, win8 ? 0 : s->sp);
	if (!g->L) {
		fail(g, "no layout for build %" PRIu32 " sp %" PRIu32, s->build, s->sp);
		return -1;
	}
	w->spec = *s;
	if (win8)
		w->spec.damage = TW_DAMAGE_WIN8;
	w->build = build;
	w->nt_build_number = 0xf0000000u | build;
	w->supported = !win8;
	w->os = g->L->os;
	w->profile = g->L->profile;
	w->pae = s->pae;
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
	w->dtb = s->pae ? g->L->dtb_pae : g->L->dtb_x86;
	w->kernel_base = s->pae ? g->L->base_pae : g->L->base_x86;
	snprintf(w->kernel_name, sizeof w->kernel_name, "%s",
		 s->pae && !win8 ? "ntkrnlpa.exe" : "ntoskrnl.exe");
	snprintf(w->pdb_name, sizeof w->pdb_name, "%s",
		 s->pae ? "ntkrpamp.pdb" : "ntkrnlmp.pdb");
	g->pool = g->L->pool + 0x1000 + 0x10 * (rnd(g) % 0x100);
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
	for (unsigned q = 0; q < TW_NQUEUES; q++) {
		free(w->queues[q].threads);
		free(w->queues[q].items);
	}
	free(w->mem);
	free(w->used);
	free(w);
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
	fprintf(f,
		"  \"image\": { \"machine\": \"x86\", \"paging\": \"%s\", "
		"\"dtb\": \"0x%" PRIx64 "\", \"build\": %" PRIu32 " },\n",
		w->pae ? "pae" : "x86", w->dtb, w->build);
}

/* The kernel object. DESIGN §9 names name/base/size; the rest (info
 * only) follows the key names exq's `info --json` uses. */
static void jkernel(FILE *f, const struct tw_world *w, int info)
{
	fprintf(f, "  \"kernel\": { \"name\": ");
	jstr(f, w->kernel_name);
	fprintf(f, ", \"base\": \"0x%" PRIx32 "\", \"size\": \"0x%" PRIx32 "\"",
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
			", \"module_list\": \"0x%" PRIx32 "\"",
			w->pdb_guid, w->pdb_age, w->module_list);
	}
	fprintf(f, " },\n");
}

static void jitem(FILE *f, const struct tw_item *it, int first)
{
	fprintf(f,
		"%s\n        { \"va\": \"0x%" PRIx32 "\", \"kind\": \"%s\", "
		"\"routine\": \"0x%" PRIx32 "\", \"routine_symbol\": \"%s\", "
		"\"parameter\": \"0x%" PRIx32 "\"",
		first ? "" : ",", it->va, it->io ? "io_workitem" : "work_queue_item",
		it->routine, it->routine_sym, it->parameter);
	if (it->io) {
		fprintf(f,
			",\n          \"io_routine\": \"0x%" PRIx32 "\", "
			"\"io_routine_symbol\": \"%s\", \"io_object\": \"0x%" PRIx32
			"\", \"io_object_type\": \"%s\", \"driver\": ",
			it->io_routine, it->io_routine_sym, it->io_object,
			it->io_object_driver ? "driver" : "device");
		jstr(f, it->driver);
		fprintf(f, ", \"context\": \"0x%" PRIx32 "\"", it->context);
	}
	if (it->recovered)
		fprintf(f, ", \"recovered\": \"blink\"");
	fprintf(f, " }");
}

static void jqueue(FILE *f, const struct tw_world *w, unsigned q)
{
	const struct tw_queue *Q = &w->queues[q];
	fprintf(f,
		"    { \"index\": %u, \"name\": \"%s\", \"va\": \"0x%" PRIx32 "\",\n"
		"      \"threads\": { \"count\": %zu, \"max\": %" PRIu32 " }, "
		"\"concurrency\": { \"current\": %" PRIu32 ", \"maximum\": %" PRIu32
		" },\n      \"worker_threads\": [",
		q, tw_queue_name(q), Q->va, Q->nthreads, Q->worker_count,
		Q->current, Q->maximum);
	for (size_t i = 0; i < Q->nthreads; i++) {
		const struct tw_thread *t = &Q->threads[i];
		fprintf(f,
			"%s\n        { \"ethread\": \"0x%" PRIx32 "\", \"cid\": \"%" PRIx32
			".%" PRIx32 "\", \"teb\": \"0x%" PRIx32 "\", \"win32thread\": "
			"\"0x%" PRIx32 "\", \"state\": \"%s\" }",
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
			"%s{ \"status\": \"%s\", \"node\": \"0x%" PRIx32
			"\", \"link\": \"0x%" PRIx32 "\" }",
			i ? ", " : " ", Q->errors[i].status, Q->errors[i].node,
			Q->errors[i].link);
	fprintf(f, "%s] }", Q->nerrors ? " " : "");
}

int tw_write_queues_json(const struct tw_world *w, FILE *f)
{
	fprintf(f, "{\n  \"schema\": \"exq/1\",\n  \"command\": \"queues\",\n");
	if (!w->supported) {
		/* the message names the build; not comparable as a subset */
		fprintf(f, "  \"error\": { \"status\": \"UNSUPPORTED\" }\n}\n");
		return ferror(f) ? -1 : 0;
	}
	jimage(f, w);
	jkernel(f, w, 0);
	fprintf(f, "  \"exworkerqueue\": { \"va\": \"0x%" PRIx32 "\"", w->exworkerqueue);
	if (w->pattern_off)
		fprintf(f,
			", \"found_by\": "
			"\"pattern:push-edi-add-esi@ExQueueWorkItem+0x%" PRIx32 "\"",
			w->pattern_off);
	fprintf(f, ",\n    \"profile\": \"%s\" },\n  \"queues\": [\n", w->profile);
	for (unsigned q = 0; q < TW_NQUEUES; q++) {
		jqueue(f, w, q);
		fprintf(f, "%s\n", q + 1 < TW_NQUEUES ? "," : "");
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
		fprintf(f, ", \"base\": \"0x%" PRIx32 "\", \"size\": \"0x%" PRIx32
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
	fprintf(f, "  \"kdbg\": \"0x%" PRIx32 "\"\n}\n", w->kdbg);
	return ferror(f) ? -1 : 0;
}
