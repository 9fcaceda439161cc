/* SPDX-License-Identifier: MIT */
/* fuzz_models: the queue models of Windows 7 x64 and 8 … 11 (DESIGN §7b;
 * wq_find.c, wq_walk.c) on generated worlds (tlib_win) wrapped in bitmap
 * dumps of the pages they use. Input: a control byte (bits 0-1: world;
 * bits 2-4: --max-items 2^n, 0 the default), then patches {u16 page (an
 * index into the pages the dump holds, modulo their count), u16 offset
 * (modulo 4096), u8 len, len bytes} written over the dump's pages; the
 * pages are restored afterwards. The seeds (mkseeds) patch the queue
 * roots, queue objects, list heads, threads and items with their own
 * bytes, so that mutations start where the walk reads. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tlib.h"
#include "tlib_win.h"

#define MAX_PATCHES 64

struct mworld {
	struct tw_world *w;
	uint8_t *dump;
	size_t len, first;
	uint64_t *pfns;
	size_t npfns;
};

static struct mworld *worlds[FUZZ_MODELS_WORLDS];
static volatile size_t sink;

static struct mworld *build(unsigned i)
{
	static const struct {
		enum tw_machine m;
		uint32_t build;
		unsigned nodes;
		enum tw_damage damage;
	} specs[FUZZ_MODELS_WORLDS] = {
		{TW_X64, 7601, 1, TW_DAMAGE_NONE},         /* static-array x64 */
		{TW_X86, 9600, 1, TW_DAMAGE_NONE},         /* enode-kpriqueue */
		{TW_X64, 19045, 2, TW_DAMAGE_NONE},        /* partition, 2 nodes */
		{TW_X64, 9200, 2, TW_DAMAGE_NO_PATTERN},   /* enode-kqueue, threads */
	};
	struct tw_spec s;
	char err[256];
	struct mworld *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	tw_spec_init_machine(&s, specs[i].m, specs[i].build, 0x30de1 + i);
	s.nodes = specs[i].nodes;
	s.damage = specs[i].damage;
	s.phys_size = 16u << 20;
	f->w = tw_build(&s, err, sizeof(err));
	if (!f->w) {
		free(f);
		return NULL;
	}
	/* 64-bit: a bitmap kernel dump (DumpType 6); 32-bit: a summary */
	f->dump = t_world_dump(f->w, f->w->machine == TW_X64 ? 6 : 2, 1,
			       &f->pfns, &f->npfns, &f->first, &f->len);
	return f;
}

static struct mworld *get(unsigned i)
{
	if (i >= FUZZ_MODELS_WORLDS)
		return NULL;
	if (!worlds[i])
		worlds[i] = build(i);
	return worlds[i];
}

struct tw_world *exq_fuzz_models_world(unsigned i)
{
	struct mworld *f = get(i);
	return f ? f->w : NULL;
}

static void walk(exq_kernel *k, size_t max_items)
{
	exq_workq_opts o;
	exq_workq *wq = NULL;
	char b[300];
	size_t q, i;
	exq_workq_opts_init(&o);
	o.max_items = max_items;
	exq_workq_walk(k, &o, &wq);
	if (!wq)
		return;
	sink += strlen(wq->found_by) + strlen(wq->profile) + wq->nodes;
	for (i = 0; i < wq->nrejected; i++)
		sink += strlen(wq->rejected[i]);
	for (q = 0; q < wq->nqueues; q++) {
		const exq_wq_queue *Q = &wq->queues[q];
		sink += strlen(Q->name) + Q->current + Q->maximum;
		for (i = 0; i < Q->nthreads; i++)
			sink += strlen(Q->threads[i].state_name);
		for (i = 0; i < Q->nitems; i++) {
			const exq_wq_item *it = &Q->items[i];
			exq_symbolize(k, it->routine, b, sizeof(b));
			exq_symbolize_export(k, it->routine, b, sizeof(b));
			if (it->driver)
				sink += strlen(it->driver);
		}
		for (i = 0; i < Q->nerrors; i++)
			sink += strlen(Q->errors[i].message);
	}
	exq_workq_free(wq);
}

int exq_fuzz_models(const uint8_t *d, size_t n)
{
	struct mworld *f;
	static uint8_t saved[MAX_PATCHES][4096]; /* one fuzzer, one thread */
	size_t at[MAX_PATCHES], np = 0, pos = 1, i;
	unsigned mi;
	exq_image *img;
	exq_vspace *vs = NULL;
	exq_kernel *k = NULL;
	if (n < 1)
		return 0;
	f = get(d[0] & 3);
	if (!f)
		abort(); /* the generator failed: a harness bug */
	mi = (d[0] >> 2) & 7;
	while (pos + 5 <= n && np < MAX_PATCHES) {
		size_t page = (d[pos] | (size_t)d[pos + 1] << 8) % f->npfns;
		size_t off = (d[pos + 2] | (size_t)d[pos + 3] << 8) % 4096;
		size_t len = d[pos + 4], base = f->first + page * 4096;
		pos += 5;
		if (len > n - pos)
			len = n - pos;
		if (len > 4096 - off)
			len = 4096 - off;
		at[np] = base;
		memcpy(saved[np++], f->dump + base, 4096);
		memcpy(f->dump + base + off, d + pos, len);
		pos += len;
	}
	img = exq_image_new();
	if (img && exq_image_open_mem(img, f->dump, f->len) == EXQ_OK &&
	    exq_vspace_open(&vs, img) == EXQ_OK &&
	    exq_kernel_open(&k, vs, NULL) == EXQ_OK)
		walk(k, mi ? (size_t)1 << (mi - 1) : 0);
	if (img)
		sink += strlen(exq_image_error(img));
	exq_kernel_free(k);
	exq_vspace_free(vs);
	exq_image_free(img);
	for (i = np; i-- > 0;) /* last first: a page patched twice */
		memcpy(f->dump + at[i], saved[i], 4096);
	return 0;
}

/* A seed: patches that write back the world's own bytes at every address
 * the walk starts from (root, queue objects, threads, items). */
uint8_t *exq_fuzz_models_seed(unsigned world, size_t *len)
{
	struct mworld *f = get(world);
	const struct tw_world *w;
	uint64_t vas[MAX_PATCHES];
	size_t nv = 0, q, i, cap = 1 + MAX_PATCHES * (5 + 64), n = 1;
	uint8_t *b;
	if (!f || !(b = malloc(cap)))
		return NULL;
	w = f->w;
	b[0] = (uint8_t)world;
	vas[nv++] = w->queue_root;
	for (q = 0; q < w->nqueues && nv + 3 <= MAX_PATCHES; q++) {
		vas[nv++] = w->queues[q].va;
		if (w->queues[q].nthreads)
			vas[nv++] = w->queues[q].threads[0].ethread;
		if (w->queues[q].nitems)
			vas[nv++] = w->queues[q].items[0].va;
	}
	for (i = 0; i < nv; i++) {
		uint64_t pa;
		size_t lo = 0, hi = f->npfns, off;
		if (tw_vtop(w, vas[i], &pa) != 0)
			continue;
		while (lo < hi) { /* the page's index in the dump */
			size_t mid = lo + (hi - lo) / 2;
			if (f->pfns[mid] < pa >> 12)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == f->npfns || f->pfns[lo] != pa >> 12)
			continue;
		off = pa & 0xFFF;
		b[n++] = (uint8_t)lo;
		b[n++] = (uint8_t)(lo >> 8);
		b[n++] = (uint8_t)off;
		b[n++] = (uint8_t)(off >> 8);
		b[n] = (uint8_t)(4096 - off < 64 ? 4096 - off : 64);
		memcpy(b + n + 1, f->dump + f->first + lo * 4096 + off, b[n]);
		n += 1 + b[n];
	}
	*len = n;
	return b;
}

/* Append to b (at *n) a patch writing len bytes v at VA va of world f;
 * 0 when the VA is not in the dump. */
static int patch_va(struct mworld *f, uint64_t va, const void *v, uint8_t len,
		    uint8_t *b, size_t *n)
{
	uint64_t pa;
	size_t lo = 0, hi = f->npfns, off;
	if (tw_vtop(f->w, va, &pa) != 0)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->pfns[mid] < pa >> 12)
			lo = mid + 1;
		else
			hi = mid;
	}
	off = pa & 0xFFF;
	if (lo == f->npfns || f->pfns[lo] != pa >> 12 || off + len > 4096)
		return 0;
	b[(*n)++] = (uint8_t)lo;
	b[(*n)++] = (uint8_t)(lo >> 8);
	b[(*n)++] = (uint8_t)off;
	b[(*n)++] = (uint8_t)(off >> 8);
	b[(*n)++] = len;
	memcpy(b + *n, v, len);
	*n += len;
	return 1;
}

/* Seeds for the faults of issue 16 (world's seed, then these patches):
 * which 0: the list head of the first queue with items half-updated
 * (Blink = head while Flink names the item); 1: its first item's Flink is
 * 0, a list through VA 0. NULL when the world has no such queue. */
uint8_t *exq_fuzz_models_fault_seed(unsigned world, unsigned which,
				    size_t *len)
{
	struct mworld *f = get(world);
	const struct tw_queue *Q = NULL;
	uint8_t *b, v[8];
	size_t n, q;
	unsigned ps;
	uint64_t head, val;
	if (!f || which > 1 || !(b = exq_fuzz_models_seed(world, &n)))
		return NULL;
	ps = f->w->spec.machine == TW_X64 ? 8 : 4;
	for (q = 0; q < f->w->nqueues && !Q; q++)
		if (f->w->queues[q].nitems)
			Q = &f->w->queues[q];
	if (!Q) {
		free(b);
		return NULL;
	}
	/* KQUEUE / KPRIQUEUE EntryListHead right after the DISPATCHER_HEADER
	 * (0x10 x86, 0x18 x64); a KPRIQUEUE's list p at + 2 * ps * p */
	head = Q->va + (ps == 8 ? 0x18 : 0x10) +
	       (Q->items[0].priority > 0 ? 2u * ps * (unsigned)Q->items[0].priority
					 : 0);
	if (which == 0) {
		val = head;
		memcpy(v, &val, ps);
		if (!patch_va(f, head + ps, v, (uint8_t)ps, b, &n))
			goto fail;
	} else {
		memset(v, 0, sizeof(v));
		if (!patch_va(f, Q->items[0].va, v, (uint8_t)ps, b, &n))
			goto fail;
	}
	*len = n;
	return b;
fail:
	free(b);
	return NULL;
}

EXQ_FUZZ_MAIN(exq_fuzz_models)
