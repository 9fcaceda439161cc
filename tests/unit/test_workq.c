/* SPDX-License-Identifier: MIT */
/* The work-queue walker against generated worlds (tlib_win): every field
 * of every queue equals the generator's truth, decoys are rejected, damage
 * is reported where it is, and builds without a profile are refused. */
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
#include "exq_int.h"
#include "tlib_open.h"

static exq_status walk_world(const struct tw_spec *s, const exq_workq_opts *o,
			     int check)
{
	struct t_env e;
	exq_workq *wq = NULL;
	exq_status st;
	size_t i;
	t_env_open(&e, s);
	st = exq_workq_walk(e.k, o, &wq);
	if (wq && check) {
		char want[96];
		assert_int_equal(wq->root, e.w->exworkerqueue);
		assert_string_equal(wq->profile, e.w->profile);
		assert_int_equal(wq->nqueues, 3);
		for (i = 0; i < 3; i++)
			t_check_queue(e.k, &e.w->queues[i], &wq->queues[i]);
		if (!o || (!o->have_root && !o->npatterns)) {
			if (e.w->pattern_off) {
				snprintf(want, sizeof(want),
					 "pattern:push-edi-add-esi@ExQueueWorkItem+0x%x",
					 e.w->pattern_off);
				assert_string_equal(wq->found_by, want);
			}
			if (e.w->decoy_off) { /* the decoy came first and was rejected */
				snprintf(want, sizeof(want), "0x%x (pattern:push-edi-add-esi@ExQueueWorkItem+0x%x)",
					 (unsigned)e.w->decoy, e.w->decoy_off);
				assert_true(wq->nrejected >= 1);
				assert_non_null(strstr(wq->rejected[0], want));
			}
		}
	}
	exq_workq_free(wq);
	t_env_close(&e);
	return st;
}

static void clean_worlds(void **state)
{
	static const struct { uint32_t build, sp; int pae; } b[] = {
		{7601, 1, 1}, {7601, 1, 0}, {2600, 3, 1}, {2600, 3, 0},
		{3790, 2, 1}, {3790, 0, 0}, {6001, 1, 1}};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		struct tw_spec s;
		tw_spec_init(&s, b[i].build, b[i].pae, 0x100 + i);
		s.sp = b[i].sp;
		s.phys_size = 16u << 20;
		assert_int_equal(walk_world(&s, NULL, 1), EXQ_OK);
	}
}

static void damaged_worlds(void **state)
{
	static const struct { enum tw_damage d; exq_status want; } c[] = {
		{TW_DAMAGE_CYCLE, EXQ_CYCLE},
		{TW_DAMAGE_DANGLING, EXQ_NOTPRESENT},
		{TW_DAMAGE_MISSING_PAGE, EXQ_NODATA},
		{TW_DAMAGE_LIMIT, EXQ_LIMIT},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct tw_spec s;
		exq_workq_opts o;
		tw_spec_init(&s, 7601, 1, 0x200 + i);
		s.phys_size = 16u << 20;
		s.damage = c[i].d;
		memset(&o, 0, sizeof(o));
		o.max_items = s.max_items;
		assert_int_equal(walk_world(&s, &o, 1), c[i].want);
	}
}

static void missing_first_item(void **state)
{
	struct tw_spec s;
	(void)state;
	tw_spec_init(&s, 7601, 0, 0x301);
	s.phys_size = 16u << 20;
	s.damage = TW_DAMAGE_MISSING_PAGE;
	s.damage_queue = 0;
	s.damage_at = 0;
	assert_int_equal(walk_world(&s, NULL, 1), EXQ_NODATA);
}

static void tput32(struct tw_world *w, uint32_t va, uint32_t v)
{
	uint64_t pa;
	assert_int_equal(tw_vtop(w, va, &pa), 0);
	memcpy(w->mem + pa, &v, 4);
}

/* Walking the Blinks back after a break: a Blink that leads to an
 * unreadable node adds its own error (node = the last recovered item,
 * link = that address) and keeps what was recovered; the walk back shares
 * --max-items with the forward walk. */
static void blink_walk_limits(void **state)
{
	struct t_env e;
	struct tw_spec s;
	exq_workq *wq = NULL;
	exq_workq_opts o;
	const struct tw_queue *D;
	const exq_wq_queue *q;
	(void)state;
	tw_spec_init(&s, 7601, 1, 0x401);
	s.phys_size = 16u << 20;
	s.items[1] = 6;
	s.damage = TW_DAMAGE_DANGLING; /* item 1's Flink: a paged-out VA */
	t_env_open(&e, &s);
	D = &e.w->queues[1];
	/* item 4's Blink names a user-space VA nothing maps instead of
	 * item 3 */
	tput32(e.w, D->items[4].va + 4, 0x10000);
	t_env_reopen(&e, NULL);
	assert_int_equal(exq_workq_walk(e.k, NULL, &wq), EXQ_NOTPRESENT);
	q = &wq->queues[1];
	assert_int_equal(q->nitems, 4); /* items 0, 1; recovered 4, 5 */
	assert_int_equal(q->items[1].va, D->items[1].va);
	assert_null(q->items[1].recovered);
	assert_int_equal(q->items[2].va, D->items[4].va);
	assert_string_equal(q->items[2].recovered, "blink");
	assert_int_equal(q->items[3].va, D->items[5].va);
	assert_int_equal(q->nerrors, 2);
	assert_int_equal(q->errors[1].status, EXQ_NOTPRESENT);
	assert_int_equal(q->errors[1].node, D->items[4].va);
	assert_int_equal(q->errors[1].link, 0x10000);
	assert_non_null(strstr(q->errors[1].message, "walking back from the head"));
	exq_workq_free(wq);
	wq = NULL;
	/* --max-items 3: two forward, one back, then LIMIT */
	memset(&o, 0, sizeof(o));
	o.max_items = 3;
	assert_int_equal(exq_workq_walk(e.k, &o, &wq), EXQ_NOTPRESENT);
	q = &wq->queues[1];
	assert_int_equal(q->nitems, 3);
	assert_int_equal(q->items[2].va, D->items[5].va);
	assert_int_equal(q->nerrors, 2);
	assert_int_equal(q->errors[1].status, EXQ_LIMIT);
	assert_int_equal(q->errors[1].node, D->items[5].va);
	assert_int_equal(q->errors[1].link, D->items[4].va);
	exq_workq_free(wq);
	t_env_close(&e);
}

/* Dumps taken while the kernel queued or removed an item (issue 16):
 * a half-updated list head, or a first worker thread whose Blink does not
 * point back, must not lose the queues: the array still validates, the
 * items that are there are listed, and the queue says what is wrong. */
static void mid_update_heads(void **state)
{
	struct t_env e;
	struct tw_spec s;
	exq_workq *wq = NULL;
	const struct tw_queue *D, *C;
	const exq_wq_queue *q;
	uint32_t head;
	size_t i;
	(void)state;
	tw_spec_init(&s, 7601, 1, 0x801);
	s.phys_size = 16u << 20;
	t_env_open(&e, &s);
	D = &e.w->queues[1];
	C = &e.w->queues[0];
	head = (uint32_t)D->va + 0x10; /* KQUEUE.EntryListHead */
	/* 1: head.Flink = first item, head.Blink = head */
	tput32(e.w, head + 4, head);
	/* first worker thread of Critical: Blink names nothing */
	tput32(e.w, (uint32_t)C->threads[0].ethread + 0x120 + 4, 0x12345678);
	t_env_reopen(&e, NULL);
	assert_int_equal(exq_workq_walk(e.k, NULL, &wq), EXQ_CORRUPT);
	assert_int_equal(wq->root, e.w->exworkerqueue);
	assert_int_equal(wq->queues[0].nthreads, C->nthreads);
	assert_int_equal(wq->queues[0].nerrors, 0);
	q = &wq->queues[1];
	assert_int_equal(q->nitems, D->nitems);
	for (i = 0; i < D->nitems; i++) {
		assert_int_equal(q->items[i].va, D->items[i].va);
		assert_null(q->items[i].recovered);
	}
	assert_int_equal(q->nerrors, 1);
	assert_int_equal(q->errors[0].status, EXQ_CORRUPT);
	assert_non_null(strstr(q->errors[0].message, "half-updated"));
	exq_workq_free(wq);
	wq = NULL;
	/* 2: head.Flink = head, head.Blink = last item: the Blinks find them */
	tput32(e.w, head, head);
	tput32(e.w, head + 4, (uint32_t)D->items[D->nitems - 1].va);
	t_env_reopen(&e, NULL);
	assert_int_equal(exq_workq_walk(e.k, NULL, &wq), EXQ_CORRUPT);
	q = &wq->queues[1];
	assert_int_equal(q->nitems, D->nitems);
	for (i = 0; i < D->nitems; i++) {
		assert_int_equal(q->items[i].va, D->items[i].va);
		assert_string_equal(q->items[i].recovered, "blink");
	}
	assert_int_equal(q->errors[0].status, EXQ_CORRUPT);
	/* the same with the override */
	exq_workq_free(wq);
	wq = NULL;
	{
		exq_workq_opts o;
		exq_workq_opts_init(&o);
		o.have_root = 1;
		o.root = e.w->exworkerqueue;
		assert_int_equal(exq_workq_walk(e.k, &o, &wq), EXQ_CORRUPT);
		assert_int_equal(wq->queues[1].nitems, D->nitems);
	}
	exq_workq_free(wq);
	t_env_close(&e);
}

/* A Flink into the queue object itself (another of its list heads, its
 * header) is not a work item (issue 16): an error, no phantom item, and
 * the Blinks recover what lies past it. */
static void flink_into_queue(void **state)
{
	struct t_env e;
	struct tw_spec s;
	exq_workq *wq = NULL;
	const struct tw_queue *D;
	const exq_wq_queue *q;
	(void)state;
	tw_spec_init(&s, 7601, 1, 0x802);
	s.phys_size = 16u << 20;
	t_env_open(&e, &s);
	D = &e.w->queues[1];
	assert_true(D->nitems >= 3);
	/* item 1's Flink: the KQUEUE's ThreadListHead */
	tput32(e.w, (uint32_t)D->items[1].va, (uint32_t)D->va + 0x20);
	t_env_reopen(&e, NULL);
	assert_int_equal(exq_workq_walk(e.k, NULL, &wq), EXQ_CORRUPT);
	q = &wq->queues[1];
	assert_int_equal(q->nitems, D->nitems);
	assert_int_equal(q->items[1].va, D->items[1].va);
	assert_int_equal(q->items[2].va, D->items[2].va);
	assert_string_equal(q->items[2].recovered, "blink");
	assert_int_equal(q->errors[0].status, EXQ_CORRUPT);
	assert_int_equal(q->errors[0].node, D->items[1].va);
	assert_int_equal(q->errors[0].link, D->va + 0x20);
	exq_workq_free(wq);
	wq = NULL;
	t_env_close(&e);
	/* x64: a non-canonical Flink leaves the address space: CORRUPT, never
	 * INVALID (which the CLI reports as a usage error; issue 16) */
	{
		uint64_t pa, bad = 0x0000800000001000ull;
		tw_spec_init_machine(&s, TW_X64, 19045, 0x803);
		s.phys_size = 16u << 20;
		t_env_open(&e, &s);
		D = &e.w->queues[0];
		assert_true(D->nitems >= 2);
		assert_int_equal(tw_vtop(e.w, D->items[0].va, &pa), 0);
		memcpy(e.w->mem + pa, &bad, 8);
		t_env_reopen(&e, NULL);
		assert_int_equal(exq_workq_walk(e.k, NULL, &wq), EXQ_CORRUPT);
		q = &wq->queues[0];
		assert_int_equal(q->errors[0].status, EXQ_CORRUPT);
		assert_int_equal(q->errors[0].link, bad);
		assert_int_equal(q->items[0].va, D->items[0].va);
		assert_int_equal(q->items[1].va, D->items[1].va); /* by the Blinks */
		exq_workq_free(wq);
	}
	t_env_close(&e);
}

/* The visited set keeps node 0 apart from its empty marker (issue 16):
 * a list that runs through VA 0 twice is a cycle. */
static void visited_zero(void **state)
{
	uint64_t set[16 + 1] = {0};
	(void)state;
	assert_int_equal(exq__visited(set, 16, 0), 0);
	assert_int_equal(exq__visited(set, 16, 0x1000), 0);
	assert_int_equal(exq__visited(set, 16, 0), 1);
	assert_int_equal(exq__visited(set, 16, 0x1000), 1);
	assert_int_equal(exq__visited(set, 16, 0xffffffffffffffffull), 0);
	assert_int_equal(exq__visited(set, 16, 0xffffffffffffffffull), 1);
}

/* Without the pattern the System process's worker threads lead to the
 * array (found_by "threads"); without them too, the data scan does. */
static void no_pattern_threads_then_scan(void **state)
{
	struct tw_spec s;
	struct t_env e;
	exq_workq *wq = NULL;
	uint32_t tlh;
	(void)state;
	tw_spec_init(&s, 7601, 1, 0x401);
	s.phys_size = 16u << 20;
	s.damage = TW_DAMAGE_NO_PATTERN;
	s.bugcheck = 0xe2;
	t_env_open(&e, &s);
	assert_int_equal(exq_workq_walk(e.k, NULL, &wq), EXQ_OK);
	assert_int_equal(wq->root, e.w->exworkerqueue);
	assert_string_equal(wq->found_by, "threads");
	exq_workq_free(wq);
	wq = NULL;
	/* the System process's thread list emptied (EPROCESS.ThreadListHead
	 * at +0x188 on 7 x86) */
	tlh = (uint32_t)e.w->system_eprocess + 0x188;
	tput32(e.w, tlh, tlh);
	tput32(e.w, tlh + 4, tlh);
	t_env_reopen(&e, NULL);
	assert_int_equal(exq_workq_walk(e.k, NULL, &wq), EXQ_OK);
	assert_int_equal(wq->root, e.w->exworkerqueue);
	assert_non_null(strstr(wq->found_by, "scan:"));
	exq_workq_free(wq);
	t_env_close(&e);
}

static void overrides_and_patterns(void **state)
{
	struct tw_spec s;
	struct t_env e;
	exq_workq *wq = NULL;
	exq_workq_opts o;
	exq_wq_pattern p = {"mine", "57 81 C6 ?? ?? ?? ??", 3, EXQ_WQ_ABS32, 0};
	exq_wq_pattern bad = {"bad", "57 8G", 1, EXQ_WQ_ABS32, 0};
	(void)state;
	tw_spec_init(&s, 6001, 1, 0x501);
	s.phys_size = 16u << 20;
	t_env_open(&e, &s);
	memset(&o, 0, sizeof(o));
	o.have_root = 1;
	o.root = e.w->exworkerqueue;
	assert_int_equal(exq_workq_walk(e.k, &o, &wq), EXQ_OK);
	assert_string_equal(wq->found_by, "override");
	exq_workq_free(wq);
	wq = NULL;
	o.root = e.w->decoy; /* a wrong override is refused, with the reason */
	assert_int_equal(exq_workq_walk(e.k, &o, &wq), EXQ_NOTFOUND);
	assert_null(wq);
	assert_non_null(strstr(exq_image_error(e.img), "does not validate"));
	memset(&o, 0, sizeof(o));
	o.patterns = &p;
	o.npatterns = 1;
	assert_int_equal(exq_workq_walk(e.k, &o, &wq), EXQ_OK);
	assert_non_null(strstr(wq->found_by, "pattern:mine@ExQueueWorkItem+0x"));
	exq_workq_free(wq);
	wq = NULL;
	o.patterns = &bad;
	assert_int_equal(exq_workq_walk(e.k, &o, &wq), EXQ_INVALID);
	/* no list for a count, a pattern without text (issue 16) */
	o.patterns = NULL;
	assert_int_equal(exq_workq_walk(e.k, &o, &wq), EXQ_INVALID);
	bad.hex = NULL;
	o.patterns = &bad;
	assert_int_equal(exq_workq_walk(e.k, &o, &wq), EXQ_INVALID);
	assert_null(wq);
	/* a window too small to hold the real pattern: found by the data scan */
	memset(&o, 0, sizeof(o));
	o.window = e.w->pattern_off;
	assert_int_equal(exq_workq_walk(e.k, &o, &wq), EXQ_OK);
	assert_int_equal(wq->root, e.w->exworkerqueue);
	exq_workq_free(wq);
	t_env_close(&e);
}

/* A Windows 8 build walks the ENODE model: the Windows 7-shaped array
 * the world also holds must not be taken for it (the world has neither
 * KeQueryNodeMaximumProcessorCount nor a System process: nothing leads to
 * ENODE queues). */
static void windows8_not_the_array(void **state)
{
	struct tw_spec s;
	struct t_env e;
	exq_workq *wq = NULL;
	(void)state;
	tw_spec_init(&s, 9200, 1, 0x601);
	s.phys_size = 16u << 20;
	s.damage = TW_DAMAGE_WIN8;
	t_env_open(&e, &s);
	assert_int_equal(exq_workq_walk(e.k, NULL, &wq), EXQ_NOTFOUND);
	assert_null(wq);
	assert_non_null(strstr(exq_image_error(e.img), "enode-kqueue queue root not found"));
	t_env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clean_worlds),
		cmocka_unit_test(damaged_worlds),
		cmocka_unit_test(missing_first_item),
		cmocka_unit_test(blink_walk_limits),
		cmocka_unit_test(mid_update_heads),
		cmocka_unit_test(flink_into_queue),
		cmocka_unit_test(visited_zero),
		cmocka_unit_test(no_pattern_threads_then_scan),
		cmocka_unit_test(overrides_and_patterns),
		cmocka_unit_test(windows8_not_the_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
