/* SPDX-License-Identifier: MIT */
/* fuzz_queues: a fixed, valid generated world (page tables, ntoskrnl,
 * KDBG, modules, worker queues) in a PAGEDUMP kernel dump, whose kernel
 * structures take the fuzz input: list walking, validation of
 * ExWorkerQueue, module walking and symbolization see lying data while
 * the page-table skeleton stays valid.
 *
 * Input: byte 0: bits 0-1 world (3 = 0), bit 2 --kernel-base override,
 * bit 3 module-list override, bits 4-7 max_items (0 default, else
 * 1 << (k - 1)); then bytes laid over the world's structures in order
 * (fworld.c: ExWorkerQueue, ExQueueWorkItem's code, KDBG, NtBuildNumber,
 * PsLoadedModuleList, LDR entries and their names, worker threads, work
 * items, device/driver objects); then page patches {u8 frame, u16 offset,
 * u8 len, bytes} anywhere in the pages that hold those structures. */
#include <stdlib.h>
#include <string.h>

#include "exq.h"
#include "fuzz.h"
#include "fworld.h"

static size_t sink;

static size_t slen(const char *s)
{
	return s ? strlen(s) : 0;
}

static void symbolize(exq_kernel *k, uint64_t a)
{
	char buf[96];
	if (exq_symbolize(k, a, buf, sizeof(buf)) == EXQ_OK)
		sink += slen(buf);
	if (exq_symbolize_export(k, a, buf, sizeof(buf)) == EXQ_OK)
		sink += slen(buf);
}

static void touch_kernel(exq_kernel *k)
{
	const exq_kernel_info *ki = exq_kernel_get_info(k);
	const exq_module *mods = NULL;
	size_t n = 0, i;
	uint64_t va;
	sink += slen(ki->name) + slen(ki->base_source);
	if (ki->has_pdb)
		sink += slen(ki->pdb_name) + slen(ki->pdb_guid);
	if (ki->os)
		sink += slen(ki->os);
	exq_kernel_modules(k, &mods, &n);
	for (i = 0; i < n; i++)
		sink += slen(mods[i].name) + slen(mods[i].path);
	if (exq_kernel_export(k, "ExQueueWorkItem", &va) == EXQ_OK)
		symbolize(k, va + 3);
}

static void walk(exq_kernel *k, size_t max_items)
{
	exq_workq_opts o;
	exq_workq *wq = NULL;
	size_t q, i;
	memset(&o, 0, sizeof(o));
	o.max_items = max_items;
	exq_workq_walk(k, &o, &wq);
	if (!wq)
		return;
	sink += slen(wq->found_by) + slen(wq->profile);
	for (i = 0; i < wq->nrejected; i++)
		sink += slen(wq->rejected[i]);
	for (q = 0; q < wq->nqueues; q++) {
		const exq_wq_queue *Q = &wq->queues[q];
		for (i = 0; i < Q->nthreads; i++) {
			sink += slen(Q->threads[i].state_name);
			symbolize(k, Q->threads[i].start_address);
		}
		for (i = 0; i < Q->nitems; i++) {
			const exq_wq_item *it = &Q->items[i];
			symbolize(k, it->routine);
			if (it->kind == EXQ_WQ_IO_WORKITEM)
				symbolize(k, it->io_routine);
			if (it->driver)
				sink += slen(it->driver);
		}
		for (i = 0; i < Q->nerrors; i++)
			sink += slen(Q->errors[i].message);
	}
	exq_workq_free(wq);
}

static void run(struct fworld *f, unsigned flags)
{
	exq_image *img = exq_image_new();
	exq_vspace *vs = NULL;
	exq_kernel *k = NULL;
	exq_kernel_opts ko;
	unsigned mi = flags >> 4;
	if (!img)
		return;
	memset(&ko, 0, sizeof(ko));
	if (flags & 4) {
		ko.have_kernel_base = 1;
		ko.kernel_base = f->w->kernel_base;
	}
	if (flags & 8) {
		ko.have_module_list = 1;
		ko.module_list = f->w->module_list;
	}
	if (exq_image_open_mem(img, f->dump, f->len) == EXQ_OK &&
	    exq_vspace_open(&vs, img) == EXQ_OK &&
	    exq_kernel_open(&k, vs, &ko) == EXQ_OK) {
		touch_kernel(k);
		walk(k, mi ? (size_t)1 << (mi - 1) : 0);
	}
	sink += slen(exq_image_error(img));
	exq_kernel_free(k);
	exq_vspace_free(vs);
	exq_image_free(img);
}

int exq_fuzz_queues(const uint8_t *d, size_t n)
{
	struct fworld *f;
	size_t used;
	if (n < 1)
		return 0;
	f = fworld_get((d[0] & 3) == 3 ? 0 : d[0] & 3);
	if (!f)
		abort(); /* the generator failed: a harness bug */
	used = fworld_overlay(f, d + 1, n - 1);
	fworld_patch(f, d + 1 + used, n - 1 - used);
	run(f, d[0]);
	fworld_restore(f);
	return 0;
}

uint8_t *exq_fuzz_queues_seed(unsigned world, size_t *len)
{
	struct fworld *f = fworld_get(world);
	uint8_t *r, *b;
	size_t n;
	if (!f || !(r = fworld_region_bytes(f, &n)))
		return NULL;
	b = malloc(n + 1);
	if (b) {
		b[0] = (uint8_t)world;
		memcpy(b + 1, r, n);
		*len = n + 1;
	}
	free(r);
	return b;
}

/* The seed of world 0 with 32-bit values written at VAs inside its
 * regions (a VA outside them is a harness bug: NULL). */
static uint8_t *seed_patched(const uint32_t *vas, const uint32_t *vals,
			     size_t n, size_t *len)
{
	struct fworld *f = fworld_get(0);
	uint8_t *b = exq_fuzz_queues_seed(0, len);
	size_t i, r, at;
	if (!f || !b)
		return NULL;
	for (i = 0; i < n; i++) {
		for (r = 0, at = 1; r < f->nregions; at += f->regions[r++].len)
			if (vas[i] >= f->regions[r].va &&
			    vas[i] + 4 <= (uint64_t)f->regions[r].va + f->regions[r].len)
				break;
		if (r == f->nregions) {
			free(b);
			return NULL;
		}
		at += vas[i] - f->regions[r].va;
		memcpy(b + at, &vals[i], 4); /* little-endian host */
	}
	return b;
}

/* Seeds for the faults of issue 16 in world 0 (Win7 PAE): a Delayed queue
 * head half-updated either way (a dump taken mid-insert or mid-remove),
 * and lists that run through VA 0 (a work item's Flink, a Blink, the head
 * itself). KQUEUE.EntryListHead at +0x10 on x86. */
uint8_t *exq_fuzz_queues_fault_seed(unsigned which, size_t *len)
{
	struct fworld *f = fworld_get(0);
	const struct tw_queue *D;
	uint32_t head, first, last, vas[2], vals[2];
	size_t n = 0;
	if (!f || f->w->nqueues < 2 || !f->w->queues[1].nitems)
		return NULL;
	D = &f->w->queues[1];
	head = (uint32_t)D->va + 0x10;
	first = (uint32_t)D->items[0].va;
	last = (uint32_t)D->items[D->nitems - 1].va;
	switch (which) {
	case 0: /* Flink = first item, Blink = head */
		vas[n] = head + 4, vals[n++] = head;
		break;
	case 1: /* Flink = head, Blink = last item */
		vas[n] = head, vals[n++] = head;
		vas[n] = head + 4, vals[n++] = last;
		break;
	case 2: /* the first item's Flink is 0 */
		vas[n] = first, vals[n++] = 0;
		break;
	case 3: /* the head's Flink and the first item's Blink are 0 */
		vas[n] = head, vals[n++] = 0;
		vas[n] = first + 4, vals[n++] = 0;
		break;
	default:
		return NULL;
	}
	return seed_patched(vas, vals, n, len);
}

EXQ_FUZZ_MAIN(exq_fuzz_queues)
