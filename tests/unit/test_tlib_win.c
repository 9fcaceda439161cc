/* SPDX-License-Identifier: MIT */
/* Self-checks of the world builder (tlib_win.c), independent of libexq:
 * a walker of its own (x86, PAE and x64 4-level, large pages, transition
 * PTEs), PE32/PE32+ and export parsing by direct byte reads, list
 * integrity, page straddling, damage as the truth describes it,
 * determinism; for every queue model × machine × 1/2 nodes × pattern
 * present/erased: the root decoded from the code, the queues reached from
 * it, queue invariants (KTHREAD.Queue, list heads, Partition, Node,
 * QueueIndex) and the System process's threads. */
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
	if (build == 9200 && d == TW_DAMAGE_NONE)
		s.damage = TW_DAMAGE_WIN8; /* the x86 decoy world of this list */
	struct tw_world *w = tw_build(&s, err, sizeof err);
	if (!w)
		fail_msg("tw_build(%u, %d, %s): %s", build, pae, tw_damage_name(d),
			 err);
	return w;
}

static struct tw_world *make_m(enum tw_machine m, uint32_t build, unsigned nodes,
			       enum tw_damage d, uint64_t seed);

/* ------------------------------------------------ a walker of our own */

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* VA -> PA from the DTB alone. Returns 0, or -1 when not mapped. */
static int walk(const struct tw_world *w, uint64_t va, uint64_t *pa)
{
	uint64_t e, table;
	if (w->machine == TW_X64) {
		static const unsigned sh[4] = { 39, 30, 21, 12 };
		const uint64_t fr = 0xffffffffff000ull;
		if ((va >> 47) != 0 && (va >> 47) != 0x1ffff)
			return -1;
		table = w->dtb;
		for (int l = 0; l < 4; l++) {
			if (table + 0x1000 > w->mem_size)
				return -1;
			e = le(w->mem + table + 8 * ((va >> sh[l]) & 0x1ff), 8);
			if (l == 3) {
				if (!(e & 1) && (e & 0xc00) != 0x800)
					return -1;
				*pa = (e & fr) + (va & 0xfff);
				return 0;
			}
			if (!(e & 1))
				return -1;
			if (l > 0 && (e & 0x80)) {
				uint64_t m = (1ull << sh[l]) - 1;
				*pa = (e & fr & ~m) + (va & m);
				return 0;
			}
			table = e & fr;
		}
		return -1;
	}
	if (va > 0xffffffffu)
		return -1;
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

static int rd(const struct tw_world *w, uint64_t va, void *buf, size_t n)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < n; i++) {
		uint64_t pa;
		if (walk(w, va + i, &pa) != 0 || pa >= w->mem_size)
			return -1;
		p[i] = w->mem[pa];
	}
	return 0;
}

static uint32_t r32(const struct tw_world *w, uint64_t va)
{
	uint8_t b[4];
	if (rd(w, va, b, 4) != 0)
		fail_msg("VA 0x%llx does not map", (unsigned long long)va);
	return (uint32_t)le(b, 4);
}

static uint16_t r16(const struct tw_world *w, uint64_t va)
{
	uint8_t b[2];
	if (rd(w, va, b, 2) != 0)
		fail_msg("VA 0x%llx does not map", (unsigned long long)va);
	return (uint16_t)le(b, 2);
}

static uint64_t r64(const struct tw_world *w, uint64_t va)
{
	uint8_t b[8];
	if (rd(w, va, b, 8) != 0)
		fail_msg("VA 0x%llx does not map", (unsigned long long)va);
	return le(b, 8);
}

/* A pointer at the world's width. */
static uint64_t rp(const struct tw_world *w, uint64_t va)
{
	return w->machine == TW_X64 ? r64(w, va) : r32(w, va);
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
	/* x64, two nodes */
	a = make_m(TW_X64, 19041, 2, TW_DAMAGE_NONE, 42);
	b = make_m(TW_X64, 19041, 2, TW_DAMAGE_NONE, 42);
	assert_memory_equal(a->mem, b->mem, a->mem_size);
	assert_memory_equal(a->used, b->used, a->npages);
	tw_free(a);
	tw_free(b);
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
	assert_non_null(strstr(q, "NOTFOUND"));
	assert_null(strstr(q, "\"queues\": ["));
	free(q);
	tw_free(w);
}

/* ------------------------------------------ modern models (DESIGN §7b) */

/* Expected layouts, written down here from DESIGN §7/§7b (not taken from
 * the generator's tables). */
struct mexp {
	uint32_t size, entry, cur, max, thr, node, part, qidx, maxthr;
	uint8_t type;
	int pri;
};

static const struct mexp mexps[TW_MODEL_COUNT][2] = {
	[TW_MODEL_STATIC] = { { 0x3c, 0x10, 0x18, 0x1c, 0x20, 0, 0, 0, 0, 4, 0 },
			      { 0x58, 0x18, 0x28, 0x2c, 0x30, 0, 0, 0, 0, 4, 0 } },
	[TW_MODEL_ENODE_KQUEUE] = { { 0x38, 0x10, 0x18, 0x1c, 0x20, 0, 0, 0, 0, 4, 0 },
				    { 0x50, 0x18, 0x28, 0x2c, 0x30, 0, 0, 0, 0, 4, 0 } },
	[TW_MODEL_ENODE_KPRIQUEUE] = {
		{ 0x1b8, 0x10, 0x110, 0x190, 0x194, 0x19c, 0, 0x1b4, 0x1b0, 0x15, 1 },
		{ 0x2d0, 0x18, 0x218, 0x298, 0x2a0, 0x2b0, 0, 0x2cc, 0x2c8, 0x15, 1 } },
	[TW_MODEL_PARTITION] = {
		{ 0x1c0, 0x10, 0x110, 0x190, 0x194, 0x1a0, 0x19c, 0x1b8, 0x1b4, 0x15, 1 },
		{ 0x2e0, 0x18, 0x218, 0x298, 0x2a0, 0x2b8, 0x2b0, 0x2d4, 0x2d0, 0x15, 1 } },
};

static const struct {
	enum tw_machine m;
	uint32_t build;
	enum tw_model model;
	uint32_t enode_q; /* ENODE queues (inline or pointers) */
} modern[] = {
	{ TW_X64, 7601, TW_MODEL_STATIC, 0 },
	{ TW_X86, 9200, TW_MODEL_ENODE_KQUEUE, 0xc0 },
	{ TW_X64, 9200, TW_MODEL_ENODE_KQUEUE, 0xc0 },
	{ TW_X86, 9600, TW_MODEL_ENODE_KPRIQUEUE, 0xc0 },
	{ TW_X64, 9600, TW_MODEL_ENODE_KPRIQUEUE, 0xc0 },
	{ TW_X86, 10240, TW_MODEL_ENODE_KPRIQUEUE, 0x100 },
	{ TW_X64, 10586, TW_MODEL_ENODE_KPRIQUEUE, 0x100 },
	{ TW_X86, 14393, TW_MODEL_ENODE_KPRIQUEUE, 0x100 },
	{ TW_X64, 14393, TW_MODEL_ENODE_KPRIQUEUE, 0x140 },
	{ TW_X64, 15063, TW_MODEL_ENODE_KPRIQUEUE, 0x140 },
	{ TW_X86, 16299, TW_MODEL_PARTITION, 0 },
	{ TW_X86, 17763, TW_MODEL_PARTITION, 0 },
	{ TW_X64, 17763, TW_MODEL_PARTITION, 0 },
	{ TW_X86, 19041, TW_MODEL_PARTITION, 0 },
	{ TW_X64, 19045, TW_MODEL_PARTITION, 0 },
	{ TW_X64, 22000, TW_MODEL_PARTITION, 0 },
	{ TW_X64, 22621, TW_MODEL_PARTITION, 0 },
	{ TW_X64, 26100, TW_MODEL_PARTITION, 0 },
};
#define NMODERN (sizeof modern / sizeof modern[0])

static struct tw_world *make_m(enum tw_machine m, uint32_t build, unsigned nodes,
			       enum tw_damage d, uint64_t seed)
{
	struct tw_spec s;
	char err[200] = "";
	tw_spec_init_machine(&s, m, build, seed);
	s.nodes = nodes;
	s.damage = d;
	s.phys_size = 16u << 20;
	struct tw_world *w = tw_build(&s, err, sizeof err);
	if (!w)
		fail_msg("tw_build(%s, %u, %u nodes, %s): %s", m ? "x64" : "x86",
			 build, nodes, tw_damage_name(d), err);
	return w;
}

/* KTHREAD.Queue / QueueListEntry (DESIGN §7b). */
static void kthread_queue(const struct tw_world *w, uint32_t *queue, uint32_t *qle)
{
	if (w->machine == TW_X64 && w->build < 9200)
		*queue = 0xb0, *qle = 0x1c8;
	else if (w->machine == TW_X64)
		*queue = 0xe8, *qle = 0x208;
	else
		*queue = 0xa4, *qle = 0x140;
}

/* Export VA by name on either machine (PE32 or PE32+ data directory). */
static uint64_t export_va64(const struct tw_world *w, const char *name)
{
	uint64_t b = w->kernel_base;
	uint64_t nt = b + r32(w, b + 0x3c);
	uint32_t ddir = r16(w, nt + 24) == 0x20b ? 112 : 96;
	uint64_t dir = b + r32(w, nt + 24 + ddir);
	uint32_t n = r32(w, dir + 24);
	uint64_t names = b + r32(w, dir + 32);
	uint64_t ords = b + r32(w, dir + 36), funcs = b + r32(w, dir + 28);
	for (uint32_t i = 0; i < n; i++) {
		char str[64] = "";
		rd(w, b + r32(w, names + 4 * i), str, sizeof str - 1);
		if (strcmp(str, name) == 0)
			return b + r32(w, funcs + 4 * r16(w, ords + 2 * i));
	}
	return 0;
}

/* The root as the code names it (contract.md encodings), decoded here;
 * 0 when no pattern is there. For the ENODE models: KeNodeBlock. */
static uint64_t root_from_code(const struct tw_world *w)
{
	int x64 = w->machine == TW_X64;
	const char *fn = w->model == TW_MODEL_ENODE_KQUEUE ||
					 w->model == TW_MODEL_ENODE_KPRIQUEUE
				 ? "KeQueryNodeMaximumProcessorCount"
				 : "ExQueueWorkItem";
	uint64_t va = export_va64(w, fn);
	uint8_t c[0x100 + 16];
	assert_int_not_equal(va, 0);
	assert_int_equal(rd(w, va, c, sizeof c), 0);
	for (size_t i = 0; i < 0x100; i++) {
		int32_t d = (int32_t)(uint32_t)le(c + i + 3, 4);
		uint64_t rip = va + i + 7 + (uint64_t)(int64_t)d;
		switch (w->model) {
		case TW_MODEL_STATIC:
			if (x64 && !memcmp(c + i, "\x48\x8d\x0d", 3))
				return rip;
			if (!x64 && !memcmp(c + i, "\x57\x81\xc6", 3) &&
			    le(c + i + 3, 4) != w->decoy)
				return le(c + i + 3, 4);
			break;
		case TW_MODEL_PARTITION:
			if (x64 && !memcmp(c + i, "\x4c\x8b\x05", 3) &&
			    !memcmp(c + i + 7, "\x49\x8b\x48\x10", 4))
				return rip;
			if (!x64 && !memcmp(c + i, "\x8b\x0d", 2) &&
			    !memcmp(c + i + 6, "\x8b\x49\x08", 3))
				return le(c + i + 2, 4);
			break;
		default:
			if (x64 && !memcmp(c + i, "\x48\x8d\x15", 3))
				return rip;
			if (!x64 && !memcmp(c + i, "\x8b\x04\x85", 3))
				return le(c + i + 3, 4);
		}
	}
	return 0;
}

/* A list at head: every Flink's Blink names its node; the nodes. */
static size_t walk_list(const struct tw_world *w, uint64_t head, uint64_t *out,
			size_t max)
{
	unsigned P = w->ptr;
	uint64_t node = head;
	size_t n = 0;
	for (;;) {
		uint64_t next = rp(w, node);
		assert_int_equal(rp(w, next + P), node);
		if (next == head)
			return n;
		assert_true(n < max);
		out[n++] = next;
		node = next;
	}
}

/* Queue VAs in truth order, from the root alone. */
static size_t queues_from_root(const struct tw_world *w, uint64_t root,
			       uint32_t enode_q, uint64_t *q)
{
	unsigned P = w->ptr;
	const struct mexp *X = &mexps[w->model][w->machine];
	size_t n = 0;
	switch (w->model) {
	case TW_MODEL_STATIC:
		for (unsigned i = 0; i < 3; i++)
			q[n++] = root + X->size * i;
		break;
	case TW_MODEL_ENODE_KQUEUE:
	case TW_MODEL_ENODE_KPRIQUEUE: {
		unsigned nodes = r16(w, w->ke_number_nodes);
		for (unsigned nd = 0; nd < nodes; nd++) {
			uint64_t e = rp(w, root + P * nd);
			assert_int_equal(e, w->enode[nd]);
			for (unsigned i = 0; i < 8; i++) {
				if (w->model == TW_MODEL_ENODE_KQUEUE) {
					if (i < 7)
						q[n++] = e + enode_q + X->size * i;
					continue;
				}
				uint64_t v = rp(w, e + enode_q + P * i);
				if (v && !(v & 1))
					q[n++] = v;
			}
		}
		break;
	}
	default: {
		uint64_t exp = rp(w, rp(w, root) + 2 * P); /* EPARTITION.ExPartition */
		assert_int_equal(exp, w->queue_root);
		assert_int_equal(rp(w, exp), rp(w, root)); /* PartitionObject */
		uint64_t wq = rp(w, exp + P);
		for (unsigned nd = 0; nd < w->nodes; nd++) {
			uint64_t arr = rp(w, wq + P * nd);
			for (unsigned i = 0; i < 8; i++) {
				uint64_t v = rp(w, arr + P * i);
				if (v && !(v & 1))
					q[n++] = v;
			}
		}
	}
	}
	return n;
}

static void check_queue_objects(const struct tw_world *w)
{
	const struct mexp *X = &mexps[w->model][w->machine];
	unsigned P = w->ptr;
	uint32_t kq, kqle;
	uint64_t nodes[4200];
	kthread_queue(w, &kq, &kqle);
	if (w->build < 9200 && w->machine == TW_X86)
		return; /* the old x86 worlds: test_queues, test_threads */
	for (size_t q = 0; q < w->nqueues; q++) {
		const struct tw_queue *Q = &w->queues[q];
		uint64_t v = Q->va;
		assert_int_equal(r16(w, v) & 0xff, X->type);
		assert_int_equal(r32(w, v + 4), Q->nitems); /* SignalState */
		/* items: priority 31 down to 0, each list from its head */
		size_t k = 0;
		uint32_t cur = 0;
		for (int l = X->pri ? 31 : 0; l >= 0; l--) {
			size_t n = walk_list(w, v + X->entry + 2 * P * (unsigned)l,
					     nodes, 4200);
			for (size_t j = 0; j < n; j++, k++) {
				const struct tw_item *it = &Q->items[k];
				uint32_t ro = P == 8 ? 0x10 : 8, po = P == 8 ? 0x18 : 0xc;
				assert_true(k < Q->nitems);
				assert_int_equal(nodes[j], it->va);
				assert_int_equal(it->priority, X->pri ? l : -1);
				assert_int_equal(rp(w, it->va + ro), it->routine);
				assert_int_equal(rp(w, it->va + po), it->parameter);
				if (it->io) {
					uint64_t obj = rp(w, it->va + (P == 8 ? 0x28 : 0x14));
					assert_int_equal(obj, it->io_object);
					assert_int_equal(r16(w, obj), it->io_object_driver ? 4 : 3);
				}
			}
			if (X->pri)
				cur += r32(w, v + X->cur + 4 * (unsigned)l);
		}
		assert_int_equal(k, Q->nitems);
		if (!X->pri)
			cur = r32(w, v + X->cur);
		assert_int_equal(cur, Q->current);
		uint32_t max = r32(w, v + X->max);
		assert_int_equal(max, Q->maximum);
		assert_true(max >= 1 && max <= 1024);
		/* threads: KTHREAD.Queue == the queue, in truth order */
		size_t n = walk_list(w, v + X->thr, nodes, 4200);
		assert_int_equal(n, Q->nthreads);
		for (size_t j = 0; j < n; j++) {
			uint64_t th = nodes[j] - kqle;
			assert_int_equal(th, Q->threads[j].ethread);
			assert_int_equal(r16(w, th) & 0xff, 6);
			assert_int_equal(rp(w, th + kq), v);
		}
		if (X->node) {
			assert_int_equal(rp(w, v + X->node), w->enode[Q->node]);
			assert_int_equal(rp(w, w->ke_node_block + P * Q->node),
					 w->enode[Q->node]);
			assert_int_equal(r32(w, v + X->qidx), Q->queue_index);
			assert_int_equal(r32(w, v + X->maxthr), Q->worker_count);
			assert_true(Q->has_max);
		}
		if (X->part)
			assert_int_equal(rp(w, v + X->part), w->queue_root);
		if (w->model == TW_MODEL_ENODE_KQUEUE)
			assert_false(Q->has_max);
		if (w->model == TW_MODEL_STATIC)
			assert_int_equal(r32(w, v + 0x50) >> 3, Q->worker_count);
	}
}

/* PsActiveProcessHead (KDBG +0x50) → System (PID 4) → its threads: every
 * worker thread of the truth, and one with no queue. */
static void check_system_process(const struct tw_world *w)
{
	struct tw_offsets o;
	unsigned P = w->ptr;
	uint64_t nodes[512];
	uint32_t kq, kqle;
	tw_offsets_of(w, &o);
	kthread_queue(w, &kq, &kqle);
	if (w->build < 9200 && w->machine == TW_X86)
		kq = o.kt_queue;
	uint64_t head = r64(w, w->kdbg + 0x50);
	if (P == 4)
		head &= 0xffffffffu;
	assert_int_equal(head, w->process_head);
	size_t n = walk_list(w, head, nodes, 512), found = 0;
	uint64_t sys = 0;
	for (size_t i = 0; i < n; i++)
		if (rp(w, nodes[i] - o.ep_apl + o.ep_pid) == 4)
			sys = nodes[i] - o.ep_apl, found++;
	assert_int_equal(found, 1);
	assert_int_equal(sys, w->system_eprocess);
	assert_int_equal(r16(w, sys) & 0xff, 3);
	size_t nt = walk_list(w, sys + o.ep_tlh, nodes, 512), workers = 0, idle = 0;
	size_t want = 0;
	for (size_t q = 0; q < w->nqueues; q++)
		want += w->queues[q].nthreads;
	for (size_t i = 0; i < nt; i++) {
		uint64_t th = nodes[i] - o.et_tle;
		uint64_t queue = rp(w, th + kq);
		assert_int_equal(r16(w, th) & 0xff, 6);
		assert_int_equal(rp(w, th + o.et_cid), 4);
		if (!queue) {
			idle++;
			continue;
		}
		int hit = 0;
		for (size_t q = 0; q < w->nqueues; q++)
			for (size_t j = 0; j < w->queues[q].nthreads; j++)
				hit |= w->queues[q].va == queue &&
				       w->queues[q].threads[j].ethread == th;
		assert_true(hit);
		workers++;
	}
	assert_int_equal(workers, want);
	assert_int_equal(idle, 1);
}

static void check_straddle(const struct tw_world *w)
{
	size_t items = 0;
	unsigned P = w->ptr;
	for (size_t q = 0; q < w->nqueues; q++)
		for (size_t j = 0; j < w->queues[q].nitems; j++) {
			const struct tw_item *it = &w->queues[q].items[j];
			if (!it->straddles)
				continue;
			uint64_t end = it->va + (it->io ? 7 * P : 4 * P) - 1;
			uint64_t pa, pb;
			assert_int_not_equal(it->va / 4096, end / 4096);
			assert_int_equal(walk(w, it->va, &pa), 0);
			assert_int_equal(walk(w, end, &pb), 0);
			assert_true(pa / 4096 != pb / 4096 && pa / 4096 + 1 != pb / 4096 &&
				    pb / 4096 + 1 != pa / 4096);
			items++;
		}
	assert_true(items >= 1);
}

static char *json_of(const struct tw_world *w,
		     int (*fn)(const struct tw_world *, FILE *));

/* Every model × machine × 1/2 nodes × pattern present/erased: the root
 * found by decoding the code, every queue from the root, queue
 * invariants, the System process, a straddling item, the truth JSON. */
static void test_models(void **state)
{
	(void)state;
	for (size_t i = 0; i < NMODERN; i++)
		for (unsigned nodes = 1; nodes <= 2; nodes++)
			for (int np = 0; np < 2; np++) {
				if (modern[i].model == TW_MODEL_STATIC && nodes == 2)
					continue;
				struct tw_world *w = make_m(
					modern[i].m, modern[i].build, nodes,
					np ? TW_DAMAGE_NO_PATTERN : TW_DAMAGE_NONE,
					0x700 + i);
				assert_int_equal(w->model, modern[i].model);
				assert_int_equal(w->nodes, nodes);
				uint64_t root = root_from_code(w), q[TW_MAXQUEUES];
				if (np) {
					assert_int_equal(root, 0);
					/* the reader's fallback must find them; here: the
					 * truth's addresses of the root variables */
					root = w->model == TW_MODEL_STATIC ? w->exworkerqueue
					       : w->model == TW_MODEL_PARTITION
						       ? w->psp_system_partition
						       : w->ke_node_block;
				} else if (w->model == TW_MODEL_STATIC) {
					assert_int_equal(root, w->queue_root);
				} else if (w->model == TW_MODEL_PARTITION) {
					assert_int_equal(root, w->psp_system_partition);
				} else {
					assert_int_equal(root, w->ke_node_block);
				}
				size_t n = queues_from_root(w, root, modern[i].enode_q, q);
				assert_int_equal(n, w->nqueues);
				for (size_t k = 0; k < n; k++) {
					assert_int_equal(q[k], w->queues[k].va);
					assert_true(w->queues[k].node < nodes);
					if (k)
						assert_true(w->queues[k].node > w->queues[k - 1].node ||
							    w->queues[k].queue_index >
								    w->queues[k - 1].queue_index);
				}
				check_queue_objects(w);
				check_system_process(w);
				check_straddle(w);
				char *js = json_of(w, tw_write_queues_json);
				char want[96];
				snprintf(want, sizeof want, "\"model\": \"%s\"",
					 tw_model_name(w->model));
				assert_non_null(strstr(js, want));
				assert_non_null(strstr(js, np ? "\"found_by\": \"threads\""
							      : "\"found_by\": \"pattern:"));
				if (w->model == TW_MODEL_ENODE_KQUEUE)
					assert_non_null(strstr(js, "\"max\": null"));
				if (w->model >= TW_MODEL_ENODE_KPRIQUEUE)
					assert_non_null(strstr(js, "\"priority\": 31"));
				free(js);
				tw_free(w);
			}
}

/* x64: 4-level tables, the self-map, PE32+, KDBG and the x64 module list. */
static void test_x64(void **state)
{
	(void)state;
	unsigned seen[2] = { 0, 0 };
	for (unsigned i = 0; i < 2; i++) {
		struct tw_world *w = make_m(TW_X64, i ? 19041 : 7601, 1,
					    TW_DAMAGE_NONE, 0x900 + i);
		uint64_t pa;
		seen[i] = w->selfmap;
		assert_true(w->selfmap >= 0x100 && w->selfmap <= 0x1ff);
		assert_int_equal(le(w->mem + w->dtb + 8 * w->selfmap, 8) & 0xffffffffff000ull,
				 w->dtb);
		/* the self-map VA of the PML4 itself */
		uint64_t sm = 0xffff000000000000ull | (uint64_t)w->selfmap << 39 |
			      (uint64_t)w->selfmap << 30 | (uint64_t)w->selfmap << 21 |
			      (uint64_t)w->selfmap << 12;
		assert_int_equal(walk(w, sm, &pa), 0);
		assert_int_equal(pa, w->dtb);
		assert_true(w->kernel_base >> 47 == 0x1ffff);
		assert_int_equal(walk(w, w->kernel_base, &pa), 0);
		assert_int_equal(pa, w->large_pa + (w->kernel_base - w->large_va));
		uint64_t nt = w->kernel_base + r32(w, w->kernel_base + 0x3c);
		assert_int_equal(r16(w, nt + 4), 0x8664);
		assert_int_equal(r16(w, nt + 24), 0x20b);
		assert_int_equal(r64(w, nt + 24 + 24), w->kernel_base);
		assert_int_equal(export_va64(w, "ExQueueWorkItem"), w->exqueueworkitem);
		assert_int_equal(r32(w, export_va64(w, "NtBuildNumber")),
				 0xf0000000u | w->build);
		/* KDBG: 64-bit pointers */
		assert_int_equal(r32(w, w->kdbg + 0x10), 0x4742444b);
		assert_int_equal(r64(w, w->kdbg + 0x18), w->kernel_base);
		assert_int_equal(r64(w, w->kdbg + 0x48), w->module_list);
		/* PsLoadedModuleList: DllBase +0x30, SizeOfImage +0x40,
		 * BaseDllName +0x58 */
		uint64_t e[16];
		size_t n = walk_list(w, w->module_list, e, 16);
		assert_int_equal(n, w->nmodules);
		for (size_t j = 0; j < n; j++) {
			assert_int_equal(r64(w, e[j] + 0x30), w->modules[j].base);
			assert_int_equal(r32(w, e[j] + 0x40), w->modules[j].size);
			char name[32] = "";
			uint16_t len = r16(w, e[j] + 0x58);
			uint64_t buf = r64(w, e[j] + 0x60);
			for (uint16_t c = 0; c < len / 2 && c < 31; c++)
				name[c] = (char)r16(w, buf + 2u * c);
			assert_string_equal(name, w->modules[j].name);
			assert_int_equal(r16(w, w->modules[j].base), 0x5a4d);
		}
		char *js = json_of(w, tw_write_kernel_json);
		assert_non_null(strstr(js, "\"paging\": \"x64\""));
		assert_non_null(strstr(js, "\"base\": \"0xfffff80"));
		free(js);
		tw_free(w);
	}
	/* the self-map index moves with the seed */
	int moved = 0;
	for (unsigned s = 0; s < 4 && !moved; s++) {
		struct tw_world *w = make_m(TW_X64, 17763, 1, TW_DAMAGE_NONE, 0x950 + s);
		moved = w->selfmap != seen[1];
		tw_free(w);
	}
	assert_true(moved);
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
		cmocka_unit_test(test_models),     cmocka_unit_test(test_x64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
