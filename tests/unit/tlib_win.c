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
#define FRAME64 0x000ffffffffff000ull

/* ------------------------------------------------------ build layouts */

/* One row per build family and machine. Old x86 rows: DESIGN §7; the
 * rest from /work/research/offsets.md (Volatility 2 PDB vtypes), except
 * where marked (unverified). kthread_hdr (Header.Size in ULONGs) and the
 * object sizes are approximate (unverified); nothing depends on them
 * beyond holding every field. */
struct layout {
	uint32_t build, sp_min, sp_max;
	const char *os, *profile;
	uint32_t kt_queue, kt_qle, kt_state, kt_teb, kt_w32, et_cid, et_start;
	uint32_t kthread_hdr, ethread_size;
	uint32_t io_type; /* IO_WORKITEM.Type offset (0: none) */
	uint32_t kdbg_size;
	uint64_t base_pae, base_x86; /* kernel base (x64 rows: base_pae) */
	uint64_t dtb_pae, dtb_x86;
	uint64_t pool, drivers;      /* VA regions */
	int old_paths;               /* \WINDOWS\system32\ for the kernel */
	/* ETHREAD.ThreadListEntry, EPROCESS fields (offsets.md) */
	uint32_t et_tle, ep_pid, ep_apl, ep_tlh, ep_name, eprocess_size;
	enum tw_machine machine;
	enum tw_model model;
	uint32_t build_hi;           /* rows cover build..build_hi (0: one) */
	/* ENODE: kqueue: ExWorkerQueues[7] inline; kpriqueue: ExWorkQueues[8]
	 * pointers, ExWorkQueue inline (index 0), IoWorkQueue inline
	 * (index 1; 0: in pool); sizeof ENODE */
	uint32_t enode_q, enode_wq, enode_io, enode_size;
};

#include "tlib_win_rows.h"

static const struct layout *layout_for(uint32_t build, uint32_t sp,
				       enum tw_machine m, int decoy)
{
	for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
		const struct layout *L = &layouts[i];
		uint32_t hi = L->build_hi ? L->build_hi : L->build;
		if (L->machine != m || build < L->build || build > hi)
			continue;
		if ((L->profile == NULL) != (decoy != 0))
			continue;
		if (sp >= L->sp_min && sp <= L->sp_max)
			return L;
	}
	return NULL;
}

/* Queue object layouts per model and machine (DESIGN §7, §7b;
 * offsets.md "EX_WORK_QUEUE", "KQUEUE", "KPRIQUEUE"). 0: no such field. */
struct qlay {
	uint32_t size;              /* EX_WORK_QUEUE */
	uint8_t type, hdr;          /* DISPATCHER_HEADER Type, Size */
	uint32_t entry, cur, max, thr; /* KQUEUE / KPRIQUEUE */
	int pri;                    /* 32 lists and counts (KPRIQUEUE) */
	uint32_t info, dyn, processed, lastpass, depth; /* static-array */
	uint32_t threadcount, tryfailed; /* enode-kqueue */
	uint32_t node, partition, minthreads, maxthreads, qindex, exited;
};

static const struct qlay qlays[TW_MODEL_COUNT][2] = {
	[TW_MODEL_STATIC] = {
		{ .size = 0x3c, .type = 4, .hdr = 0x0a, .entry = 0x10,
		  .cur = 0x18, .max = 0x1c, .thr = 0x20, .dyn = 0x28,
		  .processed = 0x2c, .lastpass = 0x30, .depth = 0x34,
		  .info = 0x38 },
		{ .size = 0x58, .type = 4, .hdr = 0x10, .entry = 0x18,
		  .cur = 0x28, .max = 0x2c, .thr = 0x30, .dyn = 0x40,
		  .processed = 0x44, .lastpass = 0x48, .depth = 0x4c,
		  .info = 0x50 },
	},
	[TW_MODEL_ENODE_KQUEUE] = {
		{ .size = 0x38, .type = 4, .hdr = 0x0a, .entry = 0x10,
		  .cur = 0x18, .max = 0x1c, .thr = 0x20, .processed = 0x28,
		  .lastpass = 0x2c, .threadcount = 0x30, .tryfailed = 0x34 },
		{ .size = 0x50, .type = 4, .hdr = 0x10, .entry = 0x18,
		  .cur = 0x28, .max = 0x2c, .thr = 0x30, .processed = 0x40,
		  .lastpass = 0x44, .threadcount = 0x48, .tryfailed = 0x4c },
	},
	/* KPRIQUEUE Header.Size = sizeof KPRIQUEUE / 4 (unverified) */
	[TW_MODEL_ENODE_KPRIQUEUE] = {
		{ .size = 0x1b8, .type = 0x15, .hdr = 0x67, .entry = 0x10,
		  .cur = 0x110, .max = 0x190, .thr = 0x194, .pri = 1,
		  .node = 0x19c, .processed = 0x1a0, .lastpass = 0x1a4,
		  .threadcount = 0x1a8, .minthreads = 0x1ac, .maxthreads = 0x1b0,
		  .qindex = 0x1b4 },
		{ .size = 0x2d0, .type = 0x15, .hdr = 0xac, .entry = 0x18,
		  .cur = 0x218, .max = 0x298, .thr = 0x2a0, .pri = 1,
		  .node = 0x2b0, .processed = 0x2b8, .lastpass = 0x2bc,
		  .threadcount = 0x2c0, .minthreads = 0x2c4, .maxthreads = 0x2c8,
		  .qindex = 0x2cc },
	},
	[TW_MODEL_PARTITION] = {
		{ .size = 0x1c0, .type = 0x15, .hdr = 0x67, .entry = 0x10,
		  .cur = 0x110, .max = 0x190, .thr = 0x194, .pri = 1,
		  .partition = 0x19c, .node = 0x1a0, .processed = 0x1a4,
		  .lastpass = 0x1a8, .threadcount = 0x1ac, .minthreads = 0x1b0,
		  .maxthreads = 0x1b4, .qindex = 0x1b8, .exited = 0x1bc },
		{ .size = 0x2e0, .type = 0x15, .hdr = 0xac, .entry = 0x18,
		  .cur = 0x218, .max = 0x298, .thr = 0x2a0, .pri = 1,
		  .partition = 0x2b0, .node = 0x2b8, .processed = 0x2c0,
		  .lastpass = 0x2c4, .threadcount = 0x2c8, .minthreads = 0x2cc,
		  .maxthreads = 0x2d0, .qindex = 0x2d4, .exited = 0x2d8 },
	},
};

/* Per machine: pointers, pool, LDR_DATA_TABLE_ENTRY, driver and device
 * objects, work items (DESIGN §6/§7/§7b, offsets.md). */
struct mlay {
	unsigned P, pool_align;
	uint32_t ldr_size, ldr_base, ldr_entry, ldr_image, ldr_full, ldr_name,
		ldr_flags, ldr_count;
	uint32_t drv_size, drv_dev, drv_flags, drv_start, drv_sz, drv_section,
		drv_name, dev_size;
	uint32_t wi_routine, wi_param, io_routine, io_object, io_context;
	uint32_t io_size, ctx_size, us_buf;
};

static const struct mlay mlays[2] = {
	{ 4, 8, 0x78, 0x18, 0x1c, 0x20, 0x24, 0x2c, 0x34, 0x38, 0xa8, 4, 8,
	  0xc, 0x10, 0x14, 0x1c, 0xb8, 8, 0xc, 0x10, 0x14, 0x18, 0x28, 0x30, 4 },
	{ 8, 16, 0xa0, 0x30, 0x38, 0x40, 0x48, 0x58, 0x68, 0x6c, 0x150, 8,
	  0x10, 0x18, 0x20, 0x28, 0x38, 0x150, 0x10, 0x18, 0x20, 0x28, 0x30,
	  0x58, 0x50, 8 },
};

/* --------------------------------------------------------- generator */

struct gen {
	struct tw_world *w;
	const struct layout *L;
	const struct qlay *Q;
	const struct mlay *M;
	uint64_t rng;
	uint8_t *state;   /* per PFN: 0 free, 1 taken, 2 not allocatable */
	uint64_t pool;    /* pool bump cursor (VA) */
	uint64_t data;    /* .data start VA */
	uint64_t rdata;   /* .rdata start VA */
	uint64_t code2;   /* the page of the internal routines */
	uint32_t text_end_rva;
	uint32_t tid;     /* the last thread id handed out */
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

static int wide(const struct tw_world *w)
{
	return w->pae || w->machine == TW_X64;
}

static uint64_t get_e(const struct tw_world *w, uint64_t pa)
{
	return wide(w) ? ld64(w->mem + pa) : ld32(w->mem + pa);
}

static void put_e(struct tw_world *w, uint64_t pa, uint64_t v)
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
static uint64_t pte_pa(struct gen *g, uint64_t va)
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

static void map4k(struct gen *g, uint64_t va, uint64_t pa, uint64_t flags)
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

static void vwrite(struct gen *g, uint64_t va, const void *buf, size_t len)
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

static void v32(struct gen *g, uint64_t va, uint32_t v)
{
	uint8_t b[4];
	st32(b, v);
	vwrite(g, va, b, 4);
}

static void v16(struct gen *g, uint64_t va, uint16_t v)
{
	uint8_t b[2];
	st16(b, v);
	vwrite(g, va, b, 2);
}

static void v8(struct gen *g, uint64_t va, uint8_t v)
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
static void vp(struct gen *g, uint64_t va, uint64_t v)
{
	if (g->w->ptr == 8)
		v64(g, va, v);
	else
		v32(g, va, (uint32_t)v);
}

/* LIST_ENTRY at va: Flink, Blink. */
static void vlist(struct gen *g, uint64_t va, uint64_t flink, uint64_t blink)
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
static uint64_t pool_alloc(struct gen *g, uint32_t size, const char tag[4])
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
static void pool_cross(struct gen *g, uint32_t off)
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
static void pool_gap(struct gen *g)
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

/* Exports of the kernel. Kinds: code stub, data (a .data variable), and
 * the functions that hold a root's pattern. EX_NODE*: Windows 8 on. */
enum { EX_CODE, EX_QUEUE, EX_BUILD, EX_MODLIST, EX_NODEMAX, EX_NODEHIGH };
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

static int modern(const struct tw_world *w)
{
	return w->build >= 9200 && w->supported;
}

static int has_export(const struct tw_world *w, unsigned i)
{
	return kexports[i].kind < EX_NODEMAX || modern(w);
}

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

static void put32at(uint8_t *c, size_t *n, uint32_t v)
{
	st32(c + *n, v);
	*n += 4;
}

/* disp32 of a RIP-relative operand whose instruction ends at c[n + 4]
 * (n: where the disp32 goes; extra: immediate bytes after it). */
static void put_rip(uint8_t *c, size_t *n, uint64_t fn, uint64_t target,
		    unsigned extra)
{
	uint64_t next = fn + *n + 4 + extra;
	put32at(c, n, (uint32_t)(target - next));
}

static int no_pattern(const struct tw_world *w)
{
	return w->spec.damage == TW_DAMAGE_NO_PATTERN;
}

/* ExQueueWorkItem (stdcall, 2 args): a plausible prologue, a DECOY
 * `push edi; add esi, imm32` naming zeros in .data on a bounds-check
 * path, then the real one naming ExWorkerQueue, both inside the first
 * 0x100 bytes. Without the pattern, the queue address is taken through a
 * pointer in .data (add esi, [mem]), which no pattern of DESIGN §7 takes. */
static void code_exqueueworkitem(struct gen *g, uint64_t va, uint64_t queue,
				 uint64_t decoy, uint64_t ptrvar)
{
	uint8_t c[0x140];
	size_t n = 0;
	struct tw_world *w = g->w;
	memset(c, 0xcc, sizeof c);
	put_bytes(c, &n, "8BFF 55 8BEC 51 53 8B5D08 56 8B750C 85DB 0F84"
			 "1A010000 837B0800 7414");
	if (!no_pattern(w)) {
		put_bytes(c, &n, "83FE03 730F 57");
		w->decoy_off = (uint32_t)n - 1;
		put_bytes(c, &n, "81C6");
		put32at(c, &n, (uint32_t)decoy);
		put_bytes(c, &n, "5F EB05");
	}
	put_bytes(c, &n, "64A124010000 8945FC 6A00 6A00 FF75FC E8");
	put32at(c, &n, 0xfffe1a2c);
	put_bytes(c, &n, "6BF63C");
	if (!no_pattern(w)) {
		put_bytes(c, &n, "57");
		w->pattern_off = (uint32_t)n - 1;
		put_bytes(c, &n, "81C6");
		put32at(c, &n, (uint32_t)queue);
	} else {
		put_bytes(c, &n, "57 0335");
		put32at(c, &n, (uint32_t)ptrvar);
	}
	put_bytes(c, &n, "8BFE 8D4E10 8BD3 FF15");
	put32at(c, &n, (uint32_t)(va + 0x1f0));
	put_bytes(c, &n, "8B4618 3B461C 7309 837E2800 7503 FF4628 5F 5E 5B"
			 "C9 C20800");
	vwrite(g, va, c, sizeof c);
}

/* Windows 7 x64 ExQueueWorkItem: a decoy `lea rdx,[rip+d32]` naming
 * zeros, then the real `lea rcx,[rip+ExWorkerQueue]` (contract.md);
 * without the pattern the array comes from an internal call. */
static void code_exqueueworkitem64(struct gen *g, uint64_t va, uint64_t queue,
				   uint64_t decoy, uint64_t helper)
{
	uint8_t c[0x100];
	size_t n = 0;
	struct tw_world *w = g->w;
	memset(c, 0xcc, sizeof c);
	put_bytes(c, &n, "48895C2408 4889742410 57 4883EC20 8BF2 488BD9");
	if (!no_pattern(w)) {
		put_bytes(c, &n, "83FA03 7309");
		w->decoy_off = (uint32_t)n;
		put_bytes(c, &n, "488D15");
		put_rip(c, &n, va, decoy, 0);
		put_bytes(c, &n, "EB00");
	}
	put_bytes(c, &n, "65488B042588010000 FF8098010000");
	if (!no_pattern(w)) {
		w->pattern_off = (uint32_t)n;
		put_bytes(c, &n, "488D0D");
		put_rip(c, &n, va, queue, 0);
	} else {
		put_bytes(c, &n, "E8");
		put_rip(c, &n, va, helper, 0);
		put_bytes(c, &n, "488BC8");
	}
	put_bytes(c, &n, "486BF658 4803CE 488BD3 E8");
	put_rip(c, &n, va, va + 0x400, 0);
	put_bytes(c, &n, "488B5C2430 488B742438 4883C420 5F C3");
	vwrite(g, va, c, sizeof c);
}

/* ExQueueWorkItem of the ENODE models: the node comes from the KPRCB
 * (fs:/gs:), no memory operand names a root. */
static void code_exqueueworkitem_enode(struct gen *g, uint64_t va)
{
	uint8_t c[0x60];
	size_t n = 0;
	memset(c, 0xcc, sizeof c);
	if (g->w->machine == TW_X64) {
		put_bytes(c, &n, "4053 4883EC20 488BD9 65488B042520000000"
				 "488B8038530000 448BC2 488BD3 488BC8 E8");
		put_rip(c, &n, va, va + 0x300, 0);
		put_bytes(c, &n, "4883C420 5B C3");
	} else {
		put_bytes(c, &n, "8BFF 55 8BEC 64A120000000 8B80CC040000 50"
				 "FF750C FF7508 E8");
		put_rip(c, &n, va, va + 0x300, 0);
		put_bytes(c, &n, "5D C20800");
	}
	vwrite(g, va, c, sizeof c);
}

/* Windows 10 1709 … 11 ExQueueWorkItem: a decoy load of a .data pointer
 * not followed by the ExPartition load, a few instructions, then the
 * real `mov r8,[rip+PspSystemPartition]; mov rcx,[r8+10h]` (x64) or
 * `mov ecx,[PspSystemPartition]; mov ecx,[ecx+8]` (x86), contract.md. */
static void code_exqueueworkitem_part(struct gen *g, uint64_t va, uint64_t psp,
				      uint64_t decoyvar, uint64_t helper)
{
	uint8_t c[0x100];
	size_t n = 0;
	struct tw_world *w = g->w;
	memset(c, 0xcc, sizeof c);
	if (w->machine == TW_X64) {
		put_bytes(c, &n, "48895C2408 4883EC40 488BD9 8BFA");
		if (!no_pattern(w)) {
			w->decoy_off = (uint32_t)n;
			put_bytes(c, &n, "4C8B05");
			put_rip(c, &n, va, decoyvar, 0);
			put_bytes(c, &n, "4D85C0 7404 41FF4004");
		}
		put_bytes(c, &n, "33D2 FFC2 8BC7 83E001 85C0 7402 33FF");
		if (!no_pattern(w)) {
			w->pattern_off = (uint32_t)n;
			put_bytes(c, &n, "4C8B05");
			put_rip(c, &n, va, psp, 0);
			put_bytes(c, &n, "498B4810");
		} else {
			put_bytes(c, &n, "E8");
			put_rip(c, &n, va, helper, 0);
			put_bytes(c, &n, "488BC8");
		}
		put_bytes(c, &n, "448BC7 488BD3 41B9FFFFFFFF C744242000000000 E8");
		put_rip(c, &n, va, va + 0x500, 0);
		put_bytes(c, &n, "488B5C2450 4883C440 C3");
	} else {
		put_bytes(c, &n, "8BFF 55 8BEC 56 8B750C");
		if (!no_pattern(w)) {
			w->decoy_off = (uint32_t)n;
			put_bytes(c, &n, "A1");
			put32at(c, &n, (uint32_t)decoyvar);
			put_bytes(c, &n, "85C0 7403 FF4004");
		}
		put_bytes(c, &n, "33D2 42 8BC6 83E001");
		if (!no_pattern(w)) {
			w->pattern_off = (uint32_t)n;
			put_bytes(c, &n, "8B0D");
			put32at(c, &n, (uint32_t)psp);
			put_bytes(c, &n, "8B4908");
		} else {
			put_bytes(c, &n, "E8");
			put_rip(c, &n, va, helper, 0);
			put_bytes(c, &n, "8BC8");
		}
		put_bytes(c, &n, "6AFF 56 FF7508 E8");
		put_rip(c, &n, va, va + 0x500, 0);
		put_bytes(c, &n, "5E 5D C20800");
	}
	vwrite(g, va, c, sizeof c);
}

/* KeQueryNodeMaximumProcessorCount (contract.md): reads KeNumberNodes
 * and KeNodeBlock[node]; the root's pattern on the ENODE models. In a
 * no_pattern world it calls an internal routine instead. Returns the
 * offset of the KeNodeBlock instruction (0: none). */
static uint32_t code_nodemax(struct gen *g, uint64_t va, uint64_t numnodes,
			     uint64_t nodeblock, uint64_t helper, int plain)
{
	uint8_t c[0x40];
	size_t n = 0;
	uint32_t off = 0;
	memset(c, 0xcc, sizeof c);
	if (g->w->machine == TW_X64) {
		if (plain) {
			put_bytes(c, &n, "E9");
			put_rip(c, &n, va, helper, 0);
		} else {
			put_bytes(c, &n, "663B0D");
			put_rip(c, &n, va, numnodes, 0);
			put_bytes(c, &n, "7316 0FB7C9");
			off = (uint32_t)n;
			put_bytes(c, &n, "488D15");
			put_rip(c, &n, va, nodeblock, 0);
			put_bytes(c, &n, "488B04CA 0FB78000010000 C3 33C0 C3");
		}
	} else {
		put_bytes(c, &n, "8BFF 55 8BEC");
		if (plain) {
			put_bytes(c, &n, "FF7508 E8");
			put_rip(c, &n, va, helper, 0);
		} else {
			put_bytes(c, &n, "0FB74508 663B05");
			put32at(c, &n, (uint32_t)numnodes);
			put_bytes(c, &n, "7310");
			off = (uint32_t)n;
			put_bytes(c, &n, "8B0485");
			put32at(c, &n, (uint32_t)nodeblock);
			put_bytes(c, &n, "0FB78000010000 5D C20400 33C0");
		}
		put_bytes(c, &n, "5D C20400");
	}
	vwrite(g, va, c, sizeof c);
	return off;
}

/* KeQueryHighestNodeNumber: KeNumberNodes - 1. */
static void code_nodehigh(struct gen *g, uint64_t va, uint64_t numnodes)
{
	uint8_t c[0x10];
	size_t n = 0;
	memset(c, 0xcc, sizeof c);
	put_bytes(c, &n, "0FB705");
	if (g->w->machine == TW_X64) {
		put_rip(c, &n, va, numnodes, 0);
		put_bytes(c, &n, "FFC8 C3");
	} else {
		put32at(c, &n, (uint32_t)numnodes);
		put_bytes(c, &n, "48 C3");
	}
	vwrite(g, va, c, sizeof c);
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

#define DATA_SIZE 0x40000u
/* .data page 0: decoy zeros, NtBuildNumber, list heads, node and
 * partition variables; page 1: KDBG; pages 2-3: ExWorkerQueue across the
 * boundary; page 5: transition PTE */
#define D_DECOY 0x040u
#define D_BUILD 0x200u
#define D_MODLIST 0x300u
#define D_NUMNODES 0x340u  /* KeNumberNodes (USHORT) */
#define D_PARTITION 0x348u /* PspSystemPartition */
#define D_DECOYPTR 0x350u  /* a pointer the partition decoy loads */
#define D_NODEBLOCK 0x400u /* KeNodeBlock[64] */
#define D_KDBG 0x1100u
#define D_QUEUE 0x2fa0u
#define D_QUEUEPTR 0x3400u
#define D_TRANSITION 0x5000u

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

/* Where the root's code goes: the model's ExQueueWorkItem and, from
 * Windows 8 on, the node functions. */
static void code_root(struct gen *g, uint64_t va, int kind)
{
	struct tw_world *w = g->w;
	uint64_t helper = g->code2 + 0x700;
	if (kind == EX_QUEUE) {
		w->exqueueworkitem = va;
		if (!modern(w)) {
			if (w->machine == TW_X64)
				code_exqueueworkitem64(g, va, w->exworkerqueue,
						       w->decoy, helper);
			else
				code_exqueueworkitem(g, va, w->exworkerqueue,
						     w->decoy, g->data + D_QUEUEPTR);
		} else if (w->model == TW_MODEL_PARTITION) {
			code_exqueueworkitem_part(g, va, w->psp_system_partition,
						  g->data + D_DECOYPTR, helper);
		} else {
			code_exqueueworkitem_enode(g, va);
		}
		if (!modern(w) || w->model == TW_MODEL_PARTITION) {
			w->root_export = "ExQueueWorkItem";
			w->root_export_va = va;
		}
	} else if (kind == EX_NODEMAX) {
		int enode = w->model == TW_MODEL_ENODE_KQUEUE ||
			    w->model == TW_MODEL_ENODE_KPRIQUEUE;
		w->keq_node_max = va;
		uint32_t off = code_nodemax(g, va, w->ke_number_nodes,
					    w->ke_node_block, helper,
					    enode && no_pattern(w));
		if (enode) {
			w->pattern_off = off;
			w->decoy_off = 0;
			w->root_export = "KeQueryNodeMaximumProcessorCount";
			w->root_export_va = va;
		}
	} else {
		code_nodehigh(g, va, w->ke_number_nodes);
	}
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
#define NDRIVERS (sizeof drivers / sizeof drivers[0])

struct objects {
	uint64_t driver[NDRIVERS], device[NDRIVERS];
};

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
static void symbolize(const struct tw_world *w, uint64_t a, char *buf, size_t n)
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

/* ----------------------------------------------------- work queues */

static const char *queue_name_of(enum tw_model m, unsigned qi)
{
	static const char *const type[7] = { "Critical", "Delayed",
					     "HyperCritical", "Normal",
					     "Background", "RealTime",
					     "SuperCritical" };
	static const char *const pool[TW_QPN] = { "Pool0", "Pool1", "Pool2",
						  "Pool3", "Pool4", "Pool5",
						  "Pool6", "Pool7" };
	if (m == TW_MODEL_STATIC || m == TW_MODEL_ENODE_KQUEUE)
		return qi < 7 ? type[qi] : pool[qi % TW_QPN];
	if (qi == 0)
		return "ExPoolUntrusted";
	if (qi == 1)
		return m == TW_MODEL_ENODE_KPRIQUEUE ? "ExPoolTrusted"
						     : "IoPoolUntrusted";
	return pool[qi % TW_QPN];
}

/* Pending IO items per queue (truth: how many of nitems are IO). */
static unsigned nio_of(const struct tw_world *w, const struct tw_queue *Q)
{
	unsigned io = w->spec.io_items[Q->queue_index % TW_QPN];
	return io < Q->nitems ? io : (unsigned)Q->nitems;
}

static struct tw_queue *add_queue(struct gen *g, uint64_t va, unsigned node,
				  unsigned qi)
{
	struct tw_world *w = g->w;
	const struct tw_spec *s = &w->spec;
	if (w->nqueues >= TW_MAXQUEUES) {
		fail(g, "too many queues");
		return &w->queues[0];
	}
	struct tw_queue *Q = &w->queues[w->nqueues++];
	Q->va = va;
	Q->node = node;
	Q->queue_index = qi;
	Q->name = queue_name_of(w->model, qi);
	Q->nitems = s->items[qi];
	Q->nthreads = s->threads[qi];
	if (node > 0 && Q->nitems)
		Q->nitems--;
	return Q;
}

static void write_threads(struct gen *g, unsigned q)
{
	struct tw_world *w = g->w;
	const struct layout *L = g->L;
	struct tw_queue *Q = &w->queues[q];
	uint64_t head = Q->va + g->Q->thr, prev = head;
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
		uint64_t e = pool_alloc(g, L->ethread_size, "Thr\xe5");
		t->ethread = e;
		t->pid = 4;
		t->tid = (g->tid += 4);
		t->state = (q == 0 && i == 0) ? 2 : 5;
		t->straddles = cross;
		v8(g, e, 6);                  /* Header.Type ThreadObject */
		v8(g, e + 2, (uint8_t)L->kthread_hdr);
		vlist(g, e + 8, e + 8, e + 8); /* Header.WaitListHead */
		vp(g, e + L->kt_queue, Q->va);
		v8(g, e + L->kt_state, (uint8_t)t->state);
		vp(g, e + L->kt_teb, 0);
		vp(g, e + L->kt_w32, 0);
		vp(g, e + L->et_cid, 4);
		vp(g, e + L->et_cid + w->ptr, t->tid);
		vp(g, e + L->et_start, w->exp_worker_thread);
		uint64_t le = e + L->kt_qle;
		vp(g, prev, le);
		vp(g, le + w->ptr, prev);
		prev = le;
	}
	vp(g, prev, head);
	vp(g, head + w->ptr, prev);
}

/* Routine of a plain work item: in a driver (foo/bar/Ntfs/tcpip) or in
 * the kernel's PAGE section. */
static uint64_t item_routine(struct gen *g, unsigned k)
{
	struct tw_world *w = g->w;
	static const unsigned mods[] = { 5, 0, 6, 3, 4 }; /* foo nt bar Ntfs tcpip */
	const struct tw_module *m = &w->modules[mods[k % 5]];
	if (m == &w->modules[0])
		return m->base + g->text_end_rva + DATA_SIZE + 0x1000 +
		       2 * (rnd(g) % 0x8000);
	return m->base + 0x1000 + 2 * (rnd(g) % ((m->size - 0x2000) / 2));
}

/* Is item j of a queue of n items (io of them IO_WORKITEMs) an
 * IO_WORKITEM? Spread over the queue: odd indices first, then from the
 * end. */
static int item_is_io(unsigned n, unsigned io, unsigned j)
{
	unsigned odd = n / 2;
	if (io > n)
		io = n;
	if (io <= odd)
		return j % 2 == 1 && j / 2 < io;
	return j % 2 == 1 || (n - 1 - j) / 2 < io - odd;
}

/* KPRIQUEUE priority of item j of queue q: several lists, one with more
 * than one item (WORK_QUEUE_TYPE → priority mapping is not modelled). */
static int item_priority(unsigned q, unsigned j)
{
	static const int p[] = { 12, 15, 8, 12, 31, 0, 13 };
	return p[(j + q) % 7];
}

static void one_item(struct gen *g, unsigned q, unsigned j,
		     const struct objects *o, struct tw_item *it, int nocross)
{
	struct tw_world *w = g->w;
	const struct mlay *M = g->M;
	const struct tw_queue *Q = &w->queues[q];
	int cross = j % 3 == 2 && !nocross;
	it->io = w->spec.damage != TW_DAMAGE_LIMIT || q != w->spec.damage_queue
			 ? item_is_io((unsigned)Q->nitems, nio_of(w, Q), j)
			 : 0;
	it->priority = g->Q->pri ? item_priority(q, j) : -1;
	if (it->io) {
		/* IO_WORKITEM: WorkItem +0, Routine, IoObject, Context,
		 * Type (Vista on) */
		static const unsigned drv[] = { 4, 3, 1, 2 }; /* bar foo Ntfs tcpip */
		unsigned d = drv[(j / 2 + q) % 4];
		if (cross)
			pool_cross(g, M->io_routine);
		it->va = pool_alloc(g, M->io_size, "IoWk");
		it->routine = w->iop_process_work_item;
		it->parameter = it->va;
		const struct tw_module *m = &w->modules[2 + d];
		it->io_routine = m->base + 0x1000 + 2 * (rnd(g) % 0x800);
		it->io_object_driver = o->device[d] == 0;
		it->io_object = it->io_object_driver ? o->driver[d] : o->device[d];
		snprintf(it->driver, sizeof it->driver, "%s", drivers[d].driver);
		it->context = (j % 4 == 1) ? 0 : it->va + 0x200 + 8 * (rnd(g) % 64);
		vp(g, it->va + M->io_routine, it->io_routine);
		vp(g, it->va + M->io_object, it->io_object);
		vp(g, it->va + M->io_context, it->context);
		if (g->L->io_type)
			v32(g, it->va + g->L->io_type, 1);
		symbolize(w, it->io_routine, it->io_routine_sym,
			  sizeof it->io_routine_sym);
	} else {
		/* a WORK_QUEUE_ITEM embedded at +0x10 of a driver context */
		if (cross)
			pool_cross(g, 0x10 + M->wi_routine); /* routine on the
								 next page */
		uint64_t ctx = pool_alloc(g, M->ctx_size, "Work");
		it->va = ctx + 0x10;
		it->routine = item_routine(g, j + q);
		it->parameter = (j % 2 == 0) ? ctx : 0;
		v32(g, ctx, 0x12345678u ^ rnd(g));
	}
	it->straddles = cross;
	it->listed = 1;
	vp(g, it->va + M->wi_routine, it->routine);
	vp(g, it->va + M->wi_param, it->parameter);
	symbolize(w, it->routine, it->routine_sym, sizeof it->routine_sym);
}

/* A pool page mapped outside every run, for the missing item. */
static void pool_missing_page(struct gen *g)
{
	struct tw_world *w = g->w;
	uint64_t va = (g->pool + PG - 1) & ~(uint64_t)(PG - 1);
	uint64_t pfn = runs_end(w) + 0x20 + rnd(g) % 0x40;
	w->missing_pa = pfn * PG;
	map4k(g, va, w->missing_pa, KPTE | (wide(w) ? NX : 0));
	g->pool = va + 0x100;
}

static int cmp_priority(const void *a, const void *b)
{
	const struct tw_item *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	/* equal priorities: creation order (carried in listed) */
	return x->listed < y->listed ? -1 : x->listed > y->listed;
}

static void write_items(struct gen *g, unsigned q, const struct objects *o)
{
	struct tw_world *w = g->w;
	struct tw_queue *Q = &w->queues[q];
	const struct tw_spec *s = &w->spec;
	const struct qlay *ql = g->Q;
	unsigned nl = ql->pri ? 32 : 1, P = w->ptr;
	uint64_t prev[32];
	int missing = s->damage == TW_DAMAGE_MISSING_PAGE && q == s->damage_queue;
	Q->items = calloc(Q->nitems ? Q->nitems : 1, sizeof *Q->items);
	if (!Q->items) {
		fail(g, "out of memory");
		return;
	}
	for (unsigned l = 0; l < nl; l++)
		prev[l] = Q->va + ql->entry + 2 * P * l;
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
			g->pool = ((g->pool + PG - 1) & ~(uint64_t)(PG - 1)) + 0x40;
		} else {
			one_item(g, q, j, o, it, 0);
		}
		unsigned l = it->priority >= 0 ? (unsigned)it->priority : 0;
		vp(g, prev[l], it->va);
		vp(g, it->va + P, prev[l]);
		prev[l] = it->va;
	}
	for (unsigned l = 0; l < nl; l++) {
		uint64_t head = Q->va + ql->entry + 2 * P * l;
		vp(g, prev[l], head);
		vp(g, head + P, prev[l]);
	}
	if (ql->pri && Q->nitems > 1) {
		/* truth in the kernel's order: priority 31 down to 0, each
		 * list from its head (listed carries the creation order
		 * through the sort) */
		for (size_t j = 0; j < Q->nitems; j++)
			Q->items[j].listed = (int)j + 1;
		qsort(Q->items, Q->nitems, sizeof *Q->items, cmp_priority);
		for (size_t j = 0; j < Q->nitems; j++)
			Q->items[j].listed = 1;
	}
}

/* EX_WORK_QUEUE q: KQUEUE / KPRIQUEUE (Header Type, Size, SignalState,
 * WaitListHead, EntryListHead(s), CurrentCount(s), MaximumCount,
 * ThreadListHead), then the model's counters. */
static void write_queue_header(struct gen *g, unsigned q)
{
	struct tw_world *w = g->w;
	struct tw_queue *Q = &w->queues[q];
	const struct qlay *ql = g->Q;
	uint64_t v = Q->va;
	uint32_t cpus = w->spec.cpus / w->nodes;
	Q->worker_count = (uint32_t)Q->nthreads;
	Q->has_max = 1;
	Q->maximum = cpus ? cpus : 1;
	Q->current = q == 0 ? 1 : 0;
	Q->signal_state = (uint32_t)Q->nitems;
	v8(g, v, ql->type);
	v8(g, v + 2, ql->hdr);
	v32(g, v + 4, Q->signal_state);
	vlist(g, v + 8, v + 8, v + 8);
	v32(g, v + ql->cur + (ql->pri ? 4 * 12 : 0), Q->current);
	v32(g, v + ql->max, Q->maximum);
	if (ql->info) { /* static-array */
		v32(g, v + ql->dyn, 0);
		v32(g, v + ql->processed, 0x1000 + rnd(g) % 0x10000);
		v32(g, v + ql->lastpass, rnd(g) % 0x100);
		v32(g, v + ql->depth, q == 2 ? 0 : rnd(g) % 4);
		v32(g, v + ql->info, Q->worker_count << 3 | (q < 2 ? 2u : 0u));
		return;
	}
	v32(g, v + ql->processed, 0x1000 + rnd(g) % 0x10000);
	v32(g, v + ql->lastpass, rnd(g) % 0x100);
	v32(g, v + ql->threadcount, (uint32_t)Q->nthreads);
	if (ql->tryfailed) { /* enode-kqueue: no maximum */
		Q->has_max = 0;
		Q->worker_count = 0;
		return;
	}
	Q->worker_count = Q->queue_index == 0 ? 512 : 256;
	v32(g, v + ql->minthreads, 1);
	v32(g, v + ql->maxthreads, Q->worker_count);
	v32(g, v + ql->qindex, Q->queue_index);
	vp(g, v + ql->node, w->enode[Q->node]);
	if (ql->partition)
		vp(g, v + ql->partition, w->ex_partition);
}

/* The queue objects of each model and their root (DESIGN §7b). */
static void static_root(struct gen *g)
{
	struct tw_world *w = g->w;
	const struct tw_spec *s = &w->spec;
	for (unsigned q = 0; q < TW_NQUEUES; q++) {
		struct tw_queue *Q = add_queue(g, w->exworkerqueue + g->Q->size * q,
					       0, q);
		if (s->damage == TW_DAMAGE_LIMIT && q == s->damage_queue)
			Q->nitems = s->max_items + 3;
	}
	w->queue_root = w->exworkerqueue;
	w->root_pattern = w->machine == TW_X64 ? "lea-rip" : "push-edi-add-esi";
}

static void enode_root(struct gen *g)
{
	struct tw_world *w = g->w;
	const struct layout *L = g->L;
	unsigned P = w->ptr;
	v16(g, w->ke_number_nodes, (uint16_t)w->nodes);
	for (unsigned n = 0; n < w->nodes; n++) {
		pool_gap(g);
		w->enode[n] = pool_alloc(g, L->enode_size, "ENod");
		vp(g, w->ke_node_block + P * n, w->enode[n]);
	}
	for (unsigned n = 0; n < w->nodes; n++) {
		uint64_t e = w->enode[n];
		if (w->model == TW_MODEL_ENODE_KQUEUE) {
			for (unsigned qi = 0; qi < 7; qi++)
				add_queue(g, e + L->enode_q + g->Q->size * qi, n, qi);
			continue;
		}
		uint64_t q1 = L->enode_io ? e + L->enode_io
					  : pool_alloc(g, g->Q->size, "ExWq");
		add_queue(g, e + L->enode_wq, n, 0);
		add_queue(g, q1, n, 1);
		vp(g, e + L->enode_q, e + L->enode_wq);
		vp(g, e + L->enode_q + P, q1);
	}
	w->queue_root = w->enode[0];
	w->root_pattern = w->machine == TW_X64 ? "lea-rip" : "mov-sib-abs";
}

static void partition_root(struct gen *g)
{
	struct tw_world *w = g->w;
	unsigned P = w->ptr;
	v16(g, w->ke_number_nodes, (uint16_t)w->nodes);
	for (unsigned n = 0; n < w->nodes; n++) {
		pool_gap(g);
		w->enode[n] = pool_alloc(g, g->L->enode_size, "ENod");
		vp(g, w->ke_node_block + P * n, w->enode[n]);
	}
	/* EPARTITION {MmPartition, CcPartition, ExPartition, …} and
	 * EX_PARTITION {PartitionObject, WorkQueues, WorkQueueManagers,
	 * QueueAllocationMask} */
	w->epartition = pool_alloc(g, P == 8 ? 0x80 : 0x44, "Part");
	w->ex_partition = pool_alloc(g, 4 * P, "ExPa");
	uint64_t mm = pool_alloc(g, 0x40, "MmPa"), cc = pool_alloc(g, 0x40, "CcPa");
	uint64_t wq = pool_alloc(g, P * w->nodes, "ExWq");
	uint64_t mgr = pool_alloc(g, P * w->nodes, "ExWm");
	vp(g, w->epartition, mm);
	vp(g, w->epartition + P, cc);
	vp(g, w->epartition + 2 * P, w->ex_partition);
	vp(g, w->ex_partition, w->epartition);
	vp(g, w->ex_partition + P, wq);
	vp(g, w->ex_partition + 2 * P, mgr);
	v32(g, w->ex_partition + 3 * P, 0x3);
	vp(g, w->psp_system_partition, w->epartition);
	vp(g, g->data + D_DECOYPTR, g->data + D_DECOY);
	for (unsigned n = 0; n < w->nodes; n++) {
		uint64_t arr = pool_alloc(g, TW_QPN * P, "ExWq");
		vp(g, wq + P * n, arr);
		vp(g, mgr + P * n, pool_alloc(g, 0x80, "ExWm"));
		for (unsigned qi = 0; qi < 2; qi++) {
			pool_gap(g);
			uint64_t q = pool_alloc(g, g->Q->size, "ExWq");
			add_queue(g, q, n, qi);
			vp(g, arr + P * qi, q);
		}
		if (n == 0) /* an entry with bit 0 set: skipped */
			vp(g, arr + P * (TW_QPN - 1), mm | 1);
	}
	w->queue_root = w->ex_partition;
	w->root_pattern = w->machine == TW_X64 ? "mov-rip-partition"
					       : "mov-abs-partition";
}

static void write_queues(struct gen *g, const struct objects *o)
{
	struct tw_world *w = g->w;
	g->tid = 0xc;
	if (w->model == TW_MODEL_STATIC)
		static_root(g);
	else if (w->model == TW_MODEL_PARTITION)
		partition_root(g);
	else
		enode_root(g);
	for (unsigned q = 0; q < w->nqueues && !g->failed; q++)
		write_threads(g, q);
	for (unsigned q = 0; q < w->nqueues && !g->failed; q++) {
		write_items(g, q, o);
		write_queue_header(g, q);
	}
	if (w->model == TW_MODEL_STATIC)
		vp(g, g->data + D_QUEUEPTR, w->exworkerqueue);
}

/* ----------------------------------------------------------- damage */

static void add_error(struct tw_queue *Q, const char *st, uint64_t node,
		      uint64_t link)
{
	struct tw_error *e = &Q->errors[Q->nerrors++];
	e->status = st;
	e->node = node;
	e->link = link;
}

/* A VA in the pool region whose PTE is a paged-out software PTE. */
static uint64_t unmapped_pool_va(struct gen *g)
{
	uint64_t va = ((g->pool + PG - 1) & ~(uint64_t)(PG - 1)) + 8 * PG;
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
		vp(g, last->va, Q->items[k].va);
		add_error(Q, "CYCLE", last->va, Q->items[k].va);
		break;
	}
	case TW_DAMAGE_DANGLING:
		/* Blinks intact: walking them back from the head reaches
		 * items N+1.. (item N+1's Blink names item N, already seen) */
		w->dangling_va = unmapped_pool_va(g);
		vp(g, Q->items[k].va, w->dangling_va);
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
		add_error(Q, "NODATA", k ? Q->items[k - 1].va : Q->va + g->Q->entry,
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
	g->L = layout_for(build, decoy ? 0 : s->sp, m, decoy);
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
	g->Q = &qlays[w->model][m == TW_X64];
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
			   !w->supported);
	const struct qlay *ql = &qlays[w->model][w->machine == TW_X64];
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
		fprintf(f, "  \"error\": { \"status\": \"UNSUPPORTED\" }\n}\n");
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
