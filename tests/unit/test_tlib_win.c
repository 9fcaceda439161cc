/* SPDX-License-Identifier: MIT */
/* Self-checks of the world builder (tlib_win.c), independent of libexq:
 * a walker of its own (x86 and PAE, large pages, transition PTEs), PE and
 * export parsing by direct byte reads, list integrity, page straddling,
 * damage as the truth describes it, determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tlib_win.h"

static const struct {
	uint32_t build;
	int pae;
} worlds[] = {
	{ 2600, 1 }, { 2600, 0 }, { 3790, 1 }, { 3790, 0 }, { 6001, 1 },
	{ 6001, 0 }, { 7601, 1 }, { 7601, 0 }, { 9200, 1 },
};
#define NWORLDS (sizeof worlds / sizeof worlds[0])

static struct tw_world *make(uint32_t build, int pae, enum tw_damage d,
			     uint64_t seed)
{
	struct tw_spec s;
	char err[200] = "";
	tw_spec_init(&s, build, pae, seed);
	s.damage = d;
	struct tw_world *w = tw_build(&s, err, sizeof err);
	if (!w)
		fail_msg("tw_build(%u, %d, %s): %s", build, pae, tw_damage_name(d),
			 err);
	return w;
}

/* ------------------------------------------------ a walker of our own */

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* VA -> PA from the DTB alone. Returns 0, or -1 when not mapped. */
static int walk(const struct tw_world *w, uint32_t va, uint64_t *pa)
{
	uint64_t e, table;
	if (w->pae) {
		uint64_t pdpte = le(w->mem + w->dtb + 8 * (va >> 30), 8);
		if (!(pdpte & 1))
			return -1;
		table = pdpte & 0xffffff000ull;
		e = le(w->mem + table + 8 * ((va >> 21) & 0x1ff), 8);
		if (!(e & 1))
			return -1;
		if (e & 0x80) {
			*pa = (e & 0xfffe00000ull) + (va & 0x1fffff);
			return 0;
		}
		table = e & 0xffffff000ull;
		e = le(w->mem + table + 8 * ((va >> 12) & 0x1ff), 8);
		if (!(e & 1) && (e & 0xc00) != 0x800)
			return -1;
		*pa = (e & 0xffffff000ull) + (va & 0xfff);
		return 0;
	}
	e = le(w->mem + w->dtb + 4 * (va >> 22), 4);
	if (!(e & 1))
		return -1;
	if (e & 0x80) {
		*pa = (e & 0xffc00000u) + (va & 0x3fffff);
		return 0;
	}
	e = le(w->mem + (e & 0xfffff000u) + 4 * ((va >> 12) & 0x3ff), 4);
	if (!(e & 1) && (e & 0xc00) != 0x800)
		return -1;
	*pa = (e & 0xfffff000u) + (va & 0xfff);
	return 0;
}

static int rd(const struct tw_world *w, uint32_t va, void *buf, size_t n)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < n; i++) {
		uint64_t pa;
		if (walk(w, va + (uint32_t)i, &pa) != 0 || pa >= w->mem_size)
			return -1;
		p[i] = w->mem[pa];
	}
	return 0;
}

static uint32_t r32(const struct tw_world *w, uint32_t va)
{
	uint8_t b[4];
	if (rd(w, va, b, 4) != 0)
		fail_msg("VA 0x%x does not map", va);
	return (uint32_t)le(b, 4);
}

static uint16_t r16(const struct tw_world *w, uint32_t va)
{
	uint8_t b[2];
	if (rd(w, va, b, 2) != 0)
		fail_msg("VA 0x%x does not map", va);
	return (uint16_t)le(b, 2);
}

/* ---------------------------------------------------------------- tests */

static void test_tables(void **state)
{
	(void)state;
	for (size_t i = 0; i < NWORLDS; i++) {
		struct tw_world *w = make(worlds[i].build, worlds[i].pae, 0, 1);
		uint64_t pa, pa2;
		if (w->pae) {
			/* boot layout: PDPT names PD0..PD3 at +0x1000..; PD3
			 * entry 3 names PD3 (self-map) */
			for (unsigned j = 0; j < 4; j++)
				assert_int_equal(le(w->mem + w->dtb + 8 * j, 8) & ~0xfffull,
						 w->dtb + 0x1000 * (j + 1));
			assert_int_equal(le(w->mem + w->dtb + 0x4000 + 24, 8) & 0xffffff000ull,
					 w->dtb + 0x4000);
		} else {
			assert_int_equal(le(w->mem + w->dtb + 0x300 * 4, 4) & 0xfffff000u,
					 w->dtb);
		}
		/* the self-map VA of the PD names the PD */
		uint32_t pd_va = w->pae ? 0xc0600000u + 0x3000 : 0xc0300000u;
		assert_int_equal(walk(w, pd_va, &pa), 0);
		assert_int_equal(pa, w->pae ? w->dtb + 0x4000 : w->dtb);
		/* kernel base: on a large page */
		assert_int_equal(walk(w, w->kernel_base, &pa), 0);
		assert_int_equal(pa, w->large_pa + (w->kernel_base - w->large_va));
		assert_int_equal(tw_vtop(w, w->kernel_base, &pa2), 0);
		assert_int_equal(pa, pa2);
		/* ExWorkerQueue: present, on a page the dump keeps */
		assert_int_equal(walk(w, w->exworkerqueue, &pa), 0);
		assert_true(tw_present(w, pa / 4096) && w->used[pa / 4096]);
		/* transition PTE: not valid, still a page in RAM */
		assert_int_equal(walk(w, w->transition_va, &pa), 0);
		assert_int_equal(pa, w->transition_pa);
		assert_int_equal(w->mem[pa], 'S');
		tw_free(w);
	}
}

/* Export VA by name, by direct reads of the PE headers. */
static uint32_t export_va(const struct tw_world *w, const char *name)
{
	uint32_t b = w->kernel_base;
	uint32_t nt = b + r32(w, b + 0x3c);
	uint32_t dir = b + r32(w, nt + 24 + 96);
	uint32_t n = r32(w, dir + 24), names = b + r32(w, dir + 32);
	uint32_t ords = b + r32(w, dir + 36), funcs = b + r32(w, dir + 28);
	for (uint32_t i = 0; i < n; i++) {
		char s[64] = "";
		rd(w, b + r32(w, names + 4 * i), s, sizeof s - 1);
		if (strcmp(s, name) == 0)
			return b + r32(w, funcs + 4 * r16(w, ords + 2 * i));
	}
	return 0;
}

static void test_pe(void **state)
{
	(void)state;
	for (size_t i = 0; i < NWORLDS; i++) {
		struct tw_world *w = make(worlds[i].build, worlds[i].pae, 0, 7);
		uint32_t b = w->kernel_base;
		assert_int_equal(r16(w, b), 0x5a4d);
		uint32_t nt = b + r32(w, b + 0x3c);
		assert_int_equal(r32(w, nt), 0x4550);
		assert_int_equal(r16(w, nt + 4), 0x14c);
		assert_int_equal(r16(w, nt + 24), 0x10b);
		assert_int_equal(r32(w, nt + 24 + 56), w->kernel_size);
		/* export directory: name, sorted names */
		uint32_t dir = b + r32(w, nt + 24 + 96);
		char s[64] = "", prev[64] = "";
		rd(w, b + r32(w, dir + 12), s, sizeof s - 1);
		assert_string_equal(s, w->kernel_name);
		uint32_t n = r32(w, dir + 24), names = b + r32(w, dir + 32);
		assert_true(n >= 10);
		for (uint32_t j = 0; j < n; j++) {
			memset(s, 0, sizeof s);
			rd(w, b + r32(w, names + 4 * j), s, sizeof s - 1);
			assert_true(strcmp(prev, s) < 0);
			memcpy(prev, s, sizeof s);
		}
		assert_int_equal(export_va(w, "ExQueueWorkItem"), w->exqueueworkitem);
		assert_int_equal(r32(w, export_va(w, "NtBuildNumber")),
				 0xf0000000u | w->build);
		assert_int_equal(export_va(w, "PsLoadedModuleList"), w->module_list);
		assert_int_not_equal(export_va(w, "IoQueueWorkItem"), 0);
		assert_int_not_equal(export_va(w, "KeBugCheckEx"), 0);
		/* CodeView record through the debug directory */
		uint32_t dbg = b + r32(w, nt + 24 + 96 + 48);
		assert_int_equal(r32(w, dbg + 12), 2);
		uint32_t cv = b + r32(w, dbg + 20);
		assert_int_equal(r32(w, cv), 0x53445352); /* "RSDS" */
		assert_int_equal(r32(w, cv + 20), w->pdb_age);
		memset(s, 0, sizeof s);
		rd(w, cv + 24, s, sizeof s - 1);
		assert_string_equal(s, w->pdb_name);
		tw_free(w);
	}
}

/* 57 81 C6 imm32 hits in the first 0x100 bytes of ExQueueWorkItem. */
static size_t pattern_hits(const struct tw_world *w, uint32_t *imm, size_t max)
{
	uint8_t c[0x100 + 6];
	size_t n = 0;
	assert_int_equal(rd(w, w->exqueueworkitem, c, sizeof c), 0);
	assert_memory_equal(c, "\x8b\xff\x55\x8b\xec", 5);
	for (size_t i = 0; i < 0x100; i++)
		if (c[i] == 0x57 && c[i + 1] == 0x81 && c[i + 2] == 0xc6 && n < max)
			imm[n++] = (uint32_t)le(c + i + 3, 4);
	return n;
}

static void test_pattern(void **state)
{
	(void)state;
	uint32_t imm[4];
	struct tw_world *w = make(7601, 1, 0, 3);
	assert_int_equal(pattern_hits(w, imm, 4), 2);
	assert_int_equal(imm[0], w->decoy);
	assert_int_equal(imm[1], w->exworkerqueue);
	uint8_t z[0xb4], zero[0xb4] = { 0 };
	assert_int_equal(rd(w, w->decoy, z, sizeof z), 0); /* decoy: zeros */
	assert_memory_equal(z, zero, sizeof z);
	tw_free(w);
	w = make(2600, 0, TW_DAMAGE_NO_PATTERN, 3);
	assert_int_equal(pattern_hits(w, imm, 4), 0);
	assert_int_equal(w->pattern_off, 0);
	tw_free(w);
}

static void test_kdbg_modules(void **state)
{
	(void)state;
	for (size_t i = 0; i < NWORLDS; i++) {
		struct tw_world *w = make(worlds[i].build, worlds[i].pae, 0, 5);
		uint8_t k[0x58];
		assert_int_equal(rd(w, w->kdbg, k, sizeof k), 0);
		assert_int_equal(le(k + 8, 8), 0);
		assert_memory_equal(k + 0x10, "KDBG", 4);
		assert_int_equal(le(k + 0x14, 4), w->kdbg_size);
		assert_int_equal((uint32_t)le(k + 0x18, 8), w->kernel_base);
		assert_int_equal((uint32_t)le(k + 0x48, 8), w->module_list);
		assert_int_equal((uint32_t)le(k + 0x50, 8), w->process_head);
		/* PsLoadedModuleList: well-formed, kernel first, hal second */
		uint32_t head = w->module_list, e = r32(w, head);
		size_t n = 0;
		while (e != head && n < 64) {
			assert_int_equal(r32(w, r32(w, e) + 4), e);
			assert_int_equal(r32(w, e + 0x18), w->modules[n].base);
			assert_int_equal(r32(w, e + 0x20), w->modules[n].size);
			uint16_t len = r16(w, e + 0x2c);
			uint32_t buf = r32(w, e + 0x30);
			char name[32] = "";
			for (uint16_t j = 0; j < len / 2 && j < 31; j++)
				name[j] = (char)r16(w, buf + 2u * j);
			assert_string_equal(name, w->modules[n].name);
			/* a PE header at every DllBase */
			assert_int_equal(r16(w, w->modules[n].base), 0x5a4d);
			e = r32(w, e);
			n++;
		}
		assert_int_equal(n, w->nmodules);
		assert_string_equal(w->modules[0].name, w->kernel_name);
		assert_string_equal(w->modules[1].name, "hal.dll");
		tw_free(w);
	}
}

/* Walk one queue list: Flink->Blink == node for every node; count. */
static size_t list_len(const struct tw_world *w, uint32_t head)
{
	uint32_t node = head;
	size_t n = 0;
	do {
		uint32_t next = r32(w, node);
		assert_int_equal(r32(w, next + 4), node);
		node = next;
		n++;
	} while (node != head && n < 10000);
	return n - 1;
}

static void test_queues(void **state)
{
	(void)state;
	for (size_t i = 0; i < NWORLDS; i++) {
		struct tw_world *w = make(worlds[i].build, worlds[i].pae, 0, 9);
		for (unsigned q = 0; q < TW_NQUEUES; q++) {
			const struct tw_queue *Q = &w->queues[q];
			assert_int_equal(Q->va, w->exworkerqueue + 0x3c * q);
			assert_int_equal(r32(w, Q->va) & 0xff00ff, 0x0a0004);
			assert_int_equal(r32(w, Q->va + 4), Q->nitems);
			assert_int_equal(list_len(w, Q->va + 8), 0);
			assert_int_equal(list_len(w, Q->va + 0x10), Q->nitems);
			assert_int_equal(list_len(w, Q->va + 0x20), Q->nthreads);
			assert_int_equal(r32(w, Q->va + 0x38) >> 3, Q->worker_count);
			uint32_t node = r32(w, Q->va + 0x10);
			for (size_t j = 0; j < Q->nitems; j++, node = r32(w, node)) {
				const struct tw_item *it = &Q->items[j];
				assert_int_equal(node, it->va);
				assert_int_equal(r32(w, node + 8), it->routine);
				assert_int_equal(r32(w, node + 12), it->parameter);
				assert_int_equal(it->io, it->parameter == it->va);
				if (it->io)
					assert_int_equal(r32(w, node + 0x14), it->io_object);
				if (it->io)
					assert_int_equal(r16(w, it->io_object),
							 it->io_object_driver ? 4 : 3);
			}
		}
		assert_int_equal(w->queues[2].nitems, 0); /* an empty queue */
		tw_free(w);
	}
}

/* Thread offsets per build (DESIGN §7): Queue, QueueListEntry, Cid. */
static void test_threads(void **state)
{
	(void)state;
	static const struct {
		uint32_t build, sp, queue, qle, cid;
	} t[] = {
		{ 2600, 3, 0xe4, 0x118, 0x1ec }, { 3790, 0, 0x68, 0x100, 0x1f4 },
		{ 3790, 2, 0x68, 0x108, 0x1e4 }, { 6001, 1, 0x78, 0x118, 0x20c },
		{ 7601, 1, 0x7c, 0x120, 0x22c },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct tw_spec s;
		tw_spec_init(&s, t[i].build, 1, 11);
		s.sp = t[i].sp;
		struct tw_world *w = tw_build(&s, NULL, 0);
		assert_non_null(w);
		for (unsigned q = 0; q < TW_NQUEUES; q++) {
			const struct tw_queue *Q = &w->queues[q];
			uint32_t le_va = r32(w, Q->va + 0x20);
			for (size_t j = 0; j < Q->nthreads; j++) {
				uint32_t th = le_va - t[i].qle;
				assert_int_equal(th, Q->threads[j].ethread);
				assert_int_equal(r32(w, th) & 0xff, 6);
				assert_int_equal(r32(w, th + t[i].queue), Q->va);
				assert_int_equal(r32(w, th + t[i].cid), 4);
				assert_int_equal(r32(w, th + t[i].cid + 4), Q->threads[j].tid);
				le_va = r32(w, le_va);
			}
			assert_int_equal(le_va, Q->va + 0x20);
		}
		tw_free(w);
	}
}

static int apart(const struct tw_world *w, uint32_t a, uint32_t b)
{
	uint64_t pa, pb;
	assert_int_equal(walk(w, a, &pa), 0);
	assert_int_equal(walk(w, b, &pb), 0);
	return pa / 4096 != pb / 4096 && pa / 4096 + 1 != pb / 4096 &&
	       pb / 4096 + 1 != pa / 4096;
}

static void test_straddle(void **state)
{
	(void)state;
	struct tw_world *w = make(7601, 1, 0, 13);
	size_t items = 0, threads = 0;
	for (unsigned q = 0; q < TW_NQUEUES; q++) {
		const struct tw_queue *Q = &w->queues[q];
		for (size_t j = 0; j < Q->nitems; j++) {
			const struct tw_item *it = &Q->items[j];
			if (!it->straddles)
				continue;
			uint32_t end = it->va + (it->io ? 0x1c : 0x10) - 1;
			assert_int_not_equal(it->va / 4096, end / 4096);
			assert_true(apart(w, it->va, end));
			items++;
		}
		for (size_t j = 0; j < Q->nthreads; j++)
			if (Q->threads[j].straddles) {
				uint32_t th = Q->threads[j].ethread;
				uint32_t qle = th + 0x120; /* Windows 7 */
				assert_int_not_equal(th / 4096, qle / 4096);
				assert_true(apart(w, th, qle));
				threads++;
			}
	}
	assert_true(items >= 2);
	assert_true(threads >= 2);
	/* the array itself crosses into a non-adjacent page */
	assert_true(apart(w, w->exworkerqueue, w->exworkerqueue + 0xb3));
	tw_free(w);
}

static void test_damage(void **state)
{
	(void)state;
	uint64_t pa;
	/* cycle: following Flinks from the head repeats at the truth's link */
	struct tw_world *w = make(7601, 1, TW_DAMAGE_CYCLE, 1);
	const struct tw_queue *Q = &w->queues[1];
	assert_int_equal(Q->nerrors, 1);
	assert_string_equal(Q->errors[0].status, "CYCLE");
	uint32_t node = r32(w, Q->va + 0x10), last = 0;
	for (size_t j = 0; j < Q->nitems; j++) {
		assert_int_equal(node, Q->items[j].va);
		last = node;
		node = r32(w, node);
	}
	assert_int_equal(last, Q->errors[0].node);
	assert_int_equal(node, Q->errors[0].link);
	tw_free(w);
	/* dangling: the failing Flink does not translate */
	w = make(3790, 0, TW_DAMAGE_DANGLING, 1);
	Q = &w->queues[1];
	assert_string_equal(Q->errors[0].status, "NOTPRESENT");
	assert_int_equal(r32(w, Q->errors[0].node), Q->errors[0].link);
	assert_int_not_equal(walk(w, Q->errors[0].link, &pa), 0);
	assert_true(Q->items[1].listed && !Q->items[2].listed);
	tw_free(w);
	/* missing page: maps, but to a PA outside every run */
	w = make(6001, 1, TW_DAMAGE_MISSING_PAGE, 1);
	Q = &w->queues[1];
	assert_string_equal(Q->errors[0].status, "NODATA");
	assert_int_equal(r32(w, Q->errors[0].node), Q->errors[0].link);
	assert_int_equal(walk(w, Q->errors[0].link, &pa), 0);
	assert_false(tw_present(w, pa / 4096));
	assert_int_equal(pa / 4096, w->missing_pa / 4096);
	assert_false(w->used[pa / 4096]);
	tw_free(w);
	/* limit: max_items + 3 items, max_items listed */
	w = make(7601, 1, TW_DAMAGE_LIMIT, 1);
	Q = &w->queues[1];
	assert_int_equal(Q->nitems, 4099);
	assert_int_equal(list_len(w, Q->va + 0x10), 4099);
	assert_true(Q->items[4095].listed && !Q->items[4096].listed);
	assert_string_equal(Q->errors[0].status, "LIMIT");
	tw_free(w);
}

static void test_pages(void **state)
{
	(void)state;
	for (size_t i = 0; i < NWORLDS; i++) {
		struct tw_world *w = make(worlds[i].build, worlds[i].pae, 0, 17);
		size_t used = 0;
		for (uint64_t p = 0; p < w->npages; p++) {
			if (!w->used[p])
				continue;
			assert_true(tw_present(w, p));
			used++;
		}
		assert_true(used > 20 && used < 400);
		/* outside the runs, memory is zero */
		for (uint64_t p = 0; p < w->npages; p++)
			if (!tw_present(w, p))
				for (size_t o = 0; o < 4096; o += 512)
					assert_int_equal(w->mem[p * 4096 + o], 0);
		tw_free(w);
	}
}

static void test_determinism(void **state)
{
	(void)state;
	struct tw_world *a = make(7601, 1, 0, 42), *b = make(7601, 1, 0, 42);
	struct tw_world *c = make(7601, 1, 0, 43);
	assert_int_equal(a->mem_size, b->mem_size);
	assert_memory_equal(a->mem, b->mem, a->mem_size);
	assert_memory_equal(a->used, b->used, a->npages);
	assert_true(memcmp(a->mem, c->mem, a->mem_size) != 0);
	tw_free(a);
	tw_free(b);
	tw_free(c);
}

static char *json_of(const struct tw_world *w,
		     int (*fn)(const struct tw_world *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(fn(w, f), 0);
	fclose(f);
	return buf;
}

static void test_json(void **state)
{
	(void)state;
	struct tw_world *w = make(7601, 1, TW_DAMAGE_DANGLING, 1);
	char *q = json_of(w, tw_write_queues_json);
	assert_non_null(strstr(q, "\"schema\": \"exq/1\""));
	assert_non_null(strstr(q, "\"command\": \"queues\""));
	assert_non_null(strstr(q, "\"status\": \"NOTPRESENT\""));
	assert_non_null(strstr(q, "\"cid\": \"4.10\""));
	assert_non_null(strstr(q, "\"driver\": \"\\\\Driver\\\\bar\""));
	assert_non_null(strstr(q, "pattern:push-edi-add-esi@ExQueueWorkItem+0x"));
	free(q);
	q = json_of(w, tw_write_modules_json);
	assert_non_null(strstr(q, "\"name\": \"hal.dll\""));
	free(q);
	q = json_of(w, tw_write_kernel_json);
	assert_non_null(strstr(q, "\"pdb\": \"ntkrpamp.pdb\""));
	free(q);
	tw_free(w);
	w = make(9200, 1, TW_DAMAGE_WIN8, 1);
	q = json_of(w, tw_write_queues_json);
	assert_non_null(strstr(q, "UNSUPPORTED"));
	assert_null(strstr(q, "\"queues\": ["));
	free(q);
	tw_free(w);
}

static void test_bad_spec(void **state)
{
	(void)state;
	struct tw_spec s;
	char err[128] = "";
	tw_spec_init(&s, 7601, 1, 1);
	s.phys_size = 3u << 20;
	assert_null(tw_build(&s, err, sizeof err));
	assert_non_null(strstr(err, "phys_size"));
	tw_spec_init(&s, 4000, 1, 1);
	assert_null(tw_build(&s, err, sizeof err));
	tw_spec_init(&s, 7601, 1, 1);
	s.damage = TW_DAMAGE_CYCLE;
	s.damage_queue = 2; /* HyperCritical is empty */
	assert_null(tw_build(&s, err, sizeof err));
	assert_int_equal(tw_damage_by_name("missing_page"), TW_DAMAGE_MISSING_PAGE);
	assert_int_equal(tw_damage_by_name("nope"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),     cmocka_unit_test(test_pe),
		cmocka_unit_test(test_pattern),    cmocka_unit_test(test_kdbg_modules),
		cmocka_unit_test(test_queues),     cmocka_unit_test(test_threads),
		cmocka_unit_test(test_straddle),   cmocka_unit_test(test_damage),
		cmocka_unit_test(test_pages),      cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_json),       cmocka_unit_test(test_bad_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
