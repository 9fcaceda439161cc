/* SPDX-License-Identifier: MIT */
/* Generated worlds for the queue and pattern fuzzers (see fuzz.h): each is
 * built once per process with tlib_win and wrapped in a PAGEDUMP kernel
 * summary dump of the pages it uses (so that the DTB, KDBG and module list
 * come from the header, as with a real crash dump). fuzz_queues lays its
 * input over the kernel structures of the dump (fworld_overlay) and
 * restores them afterwards. */
#include "fworld.h"

#include <stdlib.h>
#include <string.h>

#include "tlib.h"

/* KTHREAD/ETHREAD field offsets by build (DESIGN §7): Queue,
 * QueueListEntry, State, Teb, Win32Thread, Cid, StartAddress. */
static const struct {
	uint32_t build;
	uint32_t off[7];
} thread_fields[] = {
    {2600, {0xE4, 0x118, 0x2D, 0x20, 0x130, 0x1EC, 0x224}},
    {3790, {0x68, 0x108, 0x4C, 0x74, 0x154, 0x1E4, 0x21C}},
    {7601, {0x7C, 0x120, 0x68, 0x88, 0x18C, 0x22C, 0x218}},
};
static const uint32_t thread_field_len[7] = {4, 8, 1, 4, 4, 8, 4};

static struct fworld *worlds[FWORLD_COUNT];

static void add_region(struct fworld *f, uint32_t va, uint32_t len)
{
	if (va && len && f->nregions < FWORLD_MAX_REGIONS) {
		f->regions[f->nregions].va = va;
		f->regions[f->nregions].len = len;
		f->nregions++;
	}
}

/* The regions: the structures a queue walk, the module walk and
 * symbolization read, in a fixed order. */
static void list_regions(struct fworld *f)
{
	const struct tw_world *w = f->w;
	const uint32_t *off = thread_fields[0].off;
	size_t i, j, q;
	for (i = 0; i < sizeof(thread_fields) / sizeof(thread_fields[0]); i++)
		if (thread_fields[i].build == w->build)
			off = thread_fields[i].off;
	add_region(f, w->exworkerqueue, 3 * 0x3C);
	add_region(f, w->exqueueworkitem, 0x40);
	add_region(f, w->kdbg, 0x58);
	add_region(f, w->nt_build_number_va, 4);
	add_region(f, w->module_list, 8);
	for (i = 0; i < w->nmodules; i++) {
		uint32_t ldr = w->modules[i].ldr;
		add_region(f, ldr, 0x34);
		add_region(f, tw_read32(w, ldr + 0x28), 0x40); /* FullDllName */
		add_region(f, tw_read32(w, ldr + 0x30), 0x20); /* BaseDllName */
	}
	for (q = 0; q < TW_NQUEUES; q++) {
		const struct tw_queue *Q = &w->queues[q];
		for (i = 0; i < Q->nthreads; i++) {
			uint32_t t = Q->threads[i].ethread;
			add_region(f, t, 0x10); /* DISPATCHER_HEADER */
			for (j = 0; j < 7; j++)
				add_region(f, t + off[j], thread_field_len[j]);
		}
		for (i = 0; i < Q->nitems; i++) {
			const struct tw_item *it = &Q->items[i];
			add_region(f, it->va, 0x20);
			if (it->io) {
				uint32_t drv = it->io_object;
				add_region(f, it->io_object, 0x24);
				if (!it->io_object_driver)
					drv = tw_read32(w, it->io_object + 8);
				if (drv != it->io_object)
					add_region(f, drv, 0x24);
				add_region(f, tw_read32(w, drv + 0x20), 0x30);
			}
		}
	}
}

static int pa_to_off(const struct fworld *f, uint64_t pa, size_t *off)
{
	uint64_t pfn = pa >> 12;
	size_t lo = 0, hi = f->npfns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->pfns[mid] < pfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == f->npfns || f->pfns[lo] != pfn)
		return -1;
	*off = f->first + lo * 4096 + (size_t)(pa & 0xFFF);
	return 0;
}

static void add_frame(struct fworld *f, size_t off)
{
	size_t i;
	off &= ~(size_t)0xFFF;
	for (i = 0; i < f->nframes; i++)
		if (f->frames[i] == off)
			return;
	if (f->nframes < FWORLD_MAX_FRAMES)
		f->frames[f->nframes++] = off;
}

/* Calls fn(f, dump offset, region byte index, length) for each piece of
 * region r that lies on one page. */
static void each_piece(struct fworld *f, const struct fworld_region *r,
		       void (*fn)(struct fworld *, size_t, size_t, size_t,
				  void *),
		       void *arg)
{
	size_t done = 0;
	while (done < r->len) {
		uint32_t va = r->va + (uint32_t)done;
		size_t n = 0x1000 - (va & 0xFFF), off;
		uint64_t pa;
		if (n > r->len - done)
			n = r->len - done;
		if (tw_vtop(f->w, va, &pa) == 0 && pa_to_off(f, pa, &off) == 0)
			fn(f, off, done, n, arg);
		done += n;
	}
}

static void frame_piece(struct fworld *f, size_t off, size_t at, size_t n,
			void *arg)
{
	(void)at;
	(void)n;
	(void)arg;
	add_frame(f, off);
}

static struct fworld *build(unsigned i)
{
	static const struct {
		uint32_t build;
		int pae;
		enum tw_damage damage;
	} specs[FWORLD_COUNT] = {
	    {7601, 1, TW_DAMAGE_NONE},
	    {2600, 0, TW_DAMAGE_NONE},
	    {3790, 1, TW_DAMAGE_NONE},
	    {7601, 1, TW_DAMAGE_NO_PATTERN},
	};
	struct tw_spec s;
	char err[256];
	struct fworld *f = calloc(1, sizeof(*f));
	size_t r, k;
	if (!f)
		return NULL;
	tw_spec_init(&s, specs[i].build, specs[i].pae, 0x5eed + i);
	s.phys_size = 16u << 20;
	s.damage = specs[i].damage;
	f->w = tw_build(&s, err, sizeof(err));
	if (!f->w) {
		tw_free(f->w);
		free(f);
		return NULL;
	}
	/* A kernel summary dump (DumpType 2) of the pages the world uses:
	 * small, so that scans of physical memory stay quick. */
	f->dump = t_world_dump(f->w, 2, 1, &f->pfns, &f->npfns, &f->first,
			       &f->len);
	list_regions(f);
	for (r = 0; r < f->nregions; r++) {
		each_piece(f, &f->regions[r], frame_piece, NULL);
		f->region_bytes += f->regions[r].len;
	}
	f->saved = malloc(f->nframes * 4096);
	if (!f->saved)
		abort();
	for (k = 0; k < f->nframes; k++)
		memcpy(f->saved + k * 4096, f->dump + f->frames[k], 4096);
	return f;
}

struct fworld *fworld_get(unsigned i)
{
	if (i >= FWORLD_COUNT)
		return NULL;
	if (!worlds[i])
		worlds[i] = build(i);
	return worlds[i];
}

struct tw_world *exq_fuzz_world(unsigned i)
{
	struct fworld *f = fworld_get(i);
	return f ? f->w : NULL;
}

struct put_arg {
	const uint8_t *src;
	uint8_t *dst; /* for reads */
};

static void put_piece(struct fworld *f, size_t off, size_t at, size_t n,
		      void *arg)
{
	struct put_arg *a = arg;
	if (a->src)
		memcpy(f->dump + off, a->src + at, n);
	else
		memcpy(a->dst + at, f->dump + off, n);
}

size_t fworld_overlay(struct fworld *f, const uint8_t *d, size_t n)
{
	size_t r, used = 0;
	for (r = 0; r < f->nregions && used < n; r++) {
		struct fworld_region part = f->regions[r];
		struct put_arg a = {d + used, NULL};
		if (part.len > n - used)
			part.len = (uint32_t)(n - used);
		each_piece(f, &part, put_piece, &a);
		used += part.len;
	}
	return used;
}

void fworld_patch(struct fworld *f, const uint8_t *d, size_t n)
{
	/* {u8 frame, u16 offset, u8 len, len bytes}, clipped to the page. */
	while (n >= 4 && f->nframes) {
		size_t fr = d[0] % f->nframes,
		       off = (d[1] | (d[2] << 8)) & 0xFFF;
		size_t len = d[3];
		d += 4;
		n -= 4;
		if (len > n)
			len = n;
		if (len > 0x1000 - off)
			len = 0x1000 - off;
		memcpy(f->dump + f->frames[fr] + off, d, len);
		d += len;
		n -= len;
	}
}

void fworld_restore(struct fworld *f)
{
	size_t k;
	for (k = 0; k < f->nframes; k++)
		memcpy(f->dump + f->frames[k], f->saved + k * 4096, 4096);
}

uint8_t *fworld_region_bytes(struct fworld *f, size_t *len)
{
	uint8_t *b = malloc(f->region_bytes ? f->region_bytes : 1);
	size_t r, at = 0;
	if (!b)
		return NULL;
	for (r = 0; r < f->nregions; r++) {
		struct put_arg a = {NULL, b + at};
		memset(b + at, 0, f->regions[r].len);
		each_piece(f, &f->regions[r], put_piece, &a);
		at += f->regions[r].len;
	}
	*len = at;
	return b;
}
