/* SPDX-License-Identifier: MIT */
/* The four queue models of DESIGN §7b (static-array, enode-kqueue,
 * enode-kpriqueue, partition) on x86 and x64, through the API in one
 * process: each generated world (tlib_win) is wrapped in every container
 * exq reads — raw memory, a full dump (PAGEDUMP / PAGEDU64), a bitmap dump
 * and a kernel summary dump (SUMMARY_DUMP32 / SUMMARY_DUMP64) — and exq_workq_walk must equal the
 * generator's truth field by field: the root, how it was found, every
 * queue of every NUMA node, every worker thread, every item in the order
 * the kernel takes them. The same worlds with the root's pattern erased
 * must be found through the System process's worker threads. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exq.h"
#include "tlib.h"
#include "tlib_open.h"
#include "tlib_win.h"

enum container { C_RAW, C_FULL, C_BITMAP, C_KERNEL, C_COUNT };
static const char *const cname[] = {"raw", "full", "bitmap", "kernel"};

/* Header lies for dtb_lies: a DTB that is some other page, a PaeEnabled
 * flag that contradicts the tables. */
static uint64_t lie_dtb;
static int lie_pae = -1;

/* The world's memory as a container, in memory. */
static uint8_t *wrap(const struct tw_world *w, enum container c, size_t *len)
{
	struct tw_world lie;
	size_t first, i;
	uint64_t end = 0;
	uint8_t *b;
	if (c == C_RAW) {
		for (i = 0; i < w->nruns; i++)
			if ((w->runs[i].first + w->runs[i].count) * 4096 > end)
				end = (w->runs[i].first + w->runs[i].count) * 4096;
		*len = (size_t)(end < w->mem_size ? end : w->mem_size);
		b = malloc(*len);
		assert_non_null(b);
		memcpy(b, w->mem, *len);
		return b;
	}
	lie = *w; /* the header facts only: the lies of dtb_lies */
	if (lie_dtb)
		lie.dtb = lie_dtb;
	if (lie_pae >= 0)
		lie.pae = lie_pae;
	return t_world_dump(&lie, c == C_FULL ? 1 : c == C_KERNEL ? 2 : 5,
			    c == C_KERNEL, NULL, NULL, &first, len);
}

/* One world in one container: every field equals the truth. */
static void check_one(const struct tw_world *w, enum container c)
{
	size_t len, i;
	uint8_t *buf = wrap(w, c, &len);
	exq_image *img = exq_image_new();
	exq_vspace *vs = NULL;
	exq_kernel *k = NULL;
	exq_workq *wq = NULL;
	exq_status st;
	char want[200];
	print_message("  %s %s build %u (%s, %u node%s%s)\n", cname[c],
		      w->machine == TW_X64 ? "x64" : "x86", w->build,
		      tw_model_name(w->model), w->nodes, w->nodes == 1 ? "" : "s",
		      w->spec.damage == TW_DAMAGE_NO_PATTERN ? ", no pattern" : "");
	assert_non_null(img);
	assert_int_equal(exq_image_open_mem(img, buf, len), EXQ_OK);
	st = exq_vspace_open(&vs, img);
	if (st != EXQ_OK)
		print_error("vspace: %s\n", exq_image_error(img));
	assert_int_equal(st, EXQ_OK);
	assert_int_equal(exq_vspace_paging(vs), w->machine == TW_X64 ? EXQ_PAGING_X64
				     : w->pae ? EXQ_PAGING_PAE : EXQ_PAGING_X86);
	st = exq_kernel_open(&k, vs, NULL);
	if (st != EXQ_OK)
		print_error("kernel: %s\n", exq_image_error(img));
	assert_int_equal(st, EXQ_OK);
	assert_int_equal(exq_kernel_get_info(k)->base, w->kernel_base);
	assert_true(exq_kernel_get_info(k)->has_layout);
	st = exq_workq_walk(k, NULL, &wq);
	if (st != EXQ_OK)
		print_error("queues: %s\n", exq_image_error(img));
	assert_int_equal(st, EXQ_OK);
	assert_int_equal(wq->root, w->queue_root);
	assert_string_equal(wq->model_name, tw_model_name(w->model));
	assert_string_equal(wq->profile, w->profile);
	assert_int_equal(wq->nodes, w->nodes);
	if (w->spec.damage == TW_DAMAGE_NO_PATTERN)
		snprintf(want, sizeof(want), "threads");
	else
		snprintf(want, sizeof(want), "pattern:%s@%s+0x%x", w->root_pattern,
			 w->root_export, w->pattern_off);
	assert_string_equal(wq->found_by, want);
	assert_int_equal(wq->nqueues, w->nqueues);
	for (i = 0; i < w->nqueues; i++) {
		assert_int_equal(wq->queues[i].index, i);
		t_check_queue(k, &w->queues[i], &wq->queues[i]);
	}
	exq_workq_free(wq);
	exq_kernel_free(k);
	exq_vspace_free(vs);
	exq_image_free(img);
	free(buf);
}

static const struct {
	enum tw_machine m;
	uint32_t build;
	unsigned nodes;
} worlds[] = {
	{TW_X64, 7601, 1},  /* static-array, lea-rip */
	{TW_X86, 9200, 1},  /* enode-kqueue */
	{TW_X64, 9200, 2},
	{TW_X86, 9600, 1},  /* enode-kpriqueue */
	{TW_X64, 9600, 1},
	{TW_X64, 14393, 2}, /* 10 1607 */
	{TW_X86, 15063, 1}, /* 10 1703 */
	{TW_X86, 17763, 1}, /* 10 1809, partition */
	{TW_X64, 17763, 1},
	{TW_X64, 19045, 2}, /* 10 22H2 */
	{TW_X64, 22000, 2}, /* 11 */
	{TW_X64, 26100, 1},
};

static void run_worlds(int no_pattern)
{
	size_t i;
	int c;
	for (i = 0; i < sizeof(worlds) / sizeof(worlds[0]); i++) {
		struct tw_spec s;
		struct tw_world *w;
		char err[200] = "";
		tw_spec_init_machine(&s, worlds[i].m, worlds[i].build, 0xA00 + i);
		s.nodes = worlds[i].nodes;
		s.phys_size = 32u << 20;
		if (no_pattern)
			s.damage = TW_DAMAGE_NO_PATTERN;
		w = tw_build(&s, err, sizeof(err));
		if (!w)
			print_error("tw_build: %s\n", err);
		assert_non_null(w);
		for (c = 0; c < C_COUNT; c++) {
			check_one(w, (enum container)c);
		}
		tw_free(w);
	}
}

static void models_by_pattern(void **state)
{
	(void)state;
	run_worlds(0);
}

static void models_by_threads(void **state)
{
	(void)state;
	run_worlds(1);
}

/* x86 XP … 7 (static-array) through the thread fallback too. */
static void old_builds_by_threads(void **state)
{
	static const struct { uint32_t build, sp; int pae; } b[] = {
		{2600, 3, 1}, {3790, 2, 0}, {6001, 1, 1}, {7601, 1, 1}};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		struct tw_spec s;
		struct tw_world *w;
		char err[200] = "";
		tw_spec_init(&s, b[i].build, b[i].pae, 0xB00 + i);
		s.sp = b[i].sp;
		s.phys_size = 16u << 20;
		s.damage = TW_DAMAGE_NO_PATTERN;
		s.bugcheck = 0xe2;
		w = tw_build(&s, err, sizeof(err));
		assert_non_null(w);
		check_one(w, C_RAW);
		check_one(w, C_KERNEL);
		tw_free(w);
	}
}

/* Windows 8.1 has two layouts under build 9600 (RTM: the queues inline in
 * the ENODE; Update 1: pointers): structure tells them apart. */
static void win81_layouts(void **state)
{
	size_t i;
	(void)state;
	for (i = 0; i < 4; i++) {
		struct tw_spec s;
		struct tw_world *w;
		char err[200] = "";
		tw_spec_init_machine(&s, i & 1 ? TW_X64 : TW_X86, 9600, 0xC00 + i);
		s.rtm81 = 1;
		s.phys_size = 16u << 20;
		if (i >= 2)
			s.damage = TW_DAMAGE_NO_PATTERN;
		w = tw_build(&s, err, sizeof(err));
		if (!w)
			print_error("tw_build: %s\n", err);
		assert_non_null(w);
		assert_string_equal(w->profile, i & 1 ? "win81rtm-x64" : "win81rtm-x86");
		check_one(w, C_RAW);
		check_one(w, C_FULL);
		tw_free(w);
	}
}

/* A DTB the header names is tested like a scan candidate (issue 16): a
 * wrong one is replaced by the scan's, a wrong PaeEnabled by the mode the
 * tables work in; each with a warning, and the queues still walk. */
static void dtb_lies(void **state)
{
	struct tw_spec s;
	struct tw_world *w;
	char err[200] = "";
	size_t len, i, k;
	(void)state;
	for (k = 0; k < 3; k++) {
		uint8_t *buf;
		exq_image *img = exq_image_new();
		exq_vspace *vs = NULL;
		exq_kernel *kn = NULL;
		exq_workq *wq = NULL;
		int warned = 0;
		if (k == 2)
			tw_spec_init_machine(&s, TW_X64, 17763, 0xD02);
		else
			tw_spec_init(&s, 7601, 1, 0xD00 + k);
		s.phys_size = 16u << 20;
		w = tw_build(&s, err, sizeof(err));
		assert_non_null(w);
		lie_dtb = k == 1 ? 0 : 0x9000; /* a page of low memory */
		lie_pae = k == 1 ? 0 : -1;     /* PAE tables, header says x86 */
		buf = wrap(w, C_FULL, &len);
		lie_dtb = 0;
		lie_pae = -1;
		assert_int_equal(exq_image_open_mem(img, buf, len), EXQ_OK);
		assert_int_equal(exq_vspace_open(&vs, img), EXQ_OK);
		assert_int_equal(exq_vspace_dtb(vs), w->dtb);
		assert_string_equal(exq_vspace_dtb_source(vs), k == 1 ? "header" : "scan");
		assert_int_equal(exq_vspace_paging(vs), w->machine == TW_X64 ? EXQ_PAGING_X64
									 : EXQ_PAGING_PAE);
		for (i = 0; i < exq_image_warning_count(img); i++)
			if (strstr(exq_image_warning(img, i), "maps no kernel space"))
				warned++;
		assert_int_equal(warned, 1);
		assert_int_equal(exq_kernel_open(&kn, vs, NULL), EXQ_OK);
		assert_int_equal(exq_workq_walk(kn, NULL, &wq), EXQ_OK);
		assert_int_equal(wq->root, w->queue_root);
		exq_workq_free(wq);
		exq_kernel_free(kn);
		exq_vspace_free(vs);
		exq_image_free(img);
		free(buf);
		tw_free(w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(models_by_pattern),
		cmocka_unit_test(models_by_threads),
		cmocka_unit_test(old_builds_by_threads),
		cmocka_unit_test(win81_layouts),
		cmocka_unit_test(dtb_lies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
