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
#include "tlib_open.h"

static void check_queue(exq_kernel *k, const struct tw_queue *t,
			const exq_wq_queue *q)
{
	char sym[300];
	size_t i, listed = 0;
	assert_int_equal(q->va, t->va);
	assert_int_equal(q->current, t->current);
	assert_int_equal(q->maximum, t->maximum);
	assert_int_equal(q->threads_max, t->worker_count);
	assert_int_equal(q->nthreads, t->nthreads);
	assert_int_equal(q->threads_count, t->nthreads);
	for (i = 0; i < t->nthreads; i++) {
		assert_int_equal(q->threads[i].ethread, t->threads[i].ethread);
		assert_int_equal(q->threads[i].pid, t->threads[i].pid);
		assert_int_equal(q->threads[i].tid, t->threads[i].tid);
		assert_int_equal(q->threads[i].teb, t->threads[i].teb);
		assert_int_equal(q->threads[i].state, t->threads[i].state);
	}
	/* the items a walk from the head lists, then those recovered by
	 * walking the Blinks back, in list order */
	for (size_t pass = 0; pass < 2 * t->nitems; pass++) {
		const struct tw_item *ti = &t->items[pass % t->nitems];
		const exq_wq_item *it;
		if (pass < t->nitems ? !ti->listed : !ti->recovered)
			continue;
		assert_true(listed < q->nitems);
		it = &q->items[listed++];
		assert_int_equal(it->va, ti->va);
		if (ti->recovered)
			assert_string_equal(it->recovered, "blink");
		else
			assert_null(it->recovered);
		assert_int_equal(it->kind, ti->io ? EXQ_WQ_IO_WORKITEM : EXQ_WQ_WORK_QUEUE_ITEM);
		assert_int_equal(it->routine, ti->routine);
		assert_int_equal(it->parameter, ti->parameter);
		assert_int_equal(exq_symbolize(k, it->routine, sym, sizeof(sym)), EXQ_OK);
		assert_string_equal(sym, ti->routine_sym);
		if (!ti->io)
			continue;
		assert_int_equal(it->io_routine, ti->io_routine);
		assert_int_equal(it->io_object, ti->io_object);
		assert_int_equal(it->context, ti->context);
		assert_int_equal(it->io_object_type, ti->io_object_driver ? 4 : 3);
		assert_non_null(it->driver);
		assert_string_equal(it->driver, ti->driver);
		assert_int_equal(exq_symbolize(k, it->io_routine, sym, sizeof(sym)), EXQ_OK);
		assert_string_equal(sym, ti->io_routine_sym);
	}
	assert_int_equal(q->nitems, listed);
	assert_int_equal(q->nerrors, t->nerrors);
	for (i = 0; i < t->nerrors; i++) {
		const char *want = t->errors[i].status;
		const char *got = q->errors[i].status < 0
					  ? "CYCLE"
					  : exq_strerror((exq_status)q->errors[i].status);
		assert_string_equal(got, want);
		assert_int_equal(q->errors[i].node, t->errors[i].node);
		assert_int_equal(q->errors[i].link, t->errors[i].link);
	}
}

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
		assert_int_equal(wq->va, e.w->exworkerqueue);
		assert_string_equal(wq->profile, e.w->profile);
		assert_int_equal(wq->nqueues, 3);
		for (i = 0; i < 3; i++)
			check_queue(e.k, &e.w->queues[i], &wq->queues[i]);
		if (!o || (!o->have_va && !o->npatterns)) {
			if (e.w->pattern_off) {
				snprintf(want, sizeof(want),
					 "pattern:push-edi-add-esi@ExQueueWorkItem+0x%x",
					 e.w->pattern_off);
				assert_string_equal(wq->found_by, want);
			}
			if (e.w->decoy_off) { /* the decoy came first and was rejected */
				snprintf(want, sizeof(want), "0x%x (pattern:push-edi-add-esi@ExQueueWorkItem+0x%x)",
					 e.w->decoy, e.w->decoy_off);
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
		{TW_DAMAGE_CYCLE, EXQ_CORRUPT},
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

static void no_pattern_scans_data(void **state)
{
	struct tw_spec s;
	struct t_env e;
	exq_workq *wq = NULL;
	(void)state;
	tw_spec_init(&s, 7601, 1, 0x401);
	s.phys_size = 16u << 20;
	s.damage = TW_DAMAGE_NO_PATTERN;
	t_env_open(&e, &s);
	assert_int_equal(exq_workq_walk(e.k, NULL, &wq), EXQ_OK);
	assert_int_equal(wq->va, e.w->exworkerqueue);
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
	exq_wq_pattern p = {"mine", "57 81 C6 ?? ?? ?? ??", 3};
	exq_wq_pattern bad = {"bad", "57 8G", 1};
	(void)state;
	tw_spec_init(&s, 6001, 1, 0x501);
	s.phys_size = 16u << 20;
	t_env_open(&e, &s);
	memset(&o, 0, sizeof(o));
	o.have_va = 1;
	o.va = e.w->exworkerqueue;
	assert_int_equal(exq_workq_walk(e.k, &o, &wq), EXQ_OK);
	assert_string_equal(wq->found_by, "override");
	exq_workq_free(wq);
	wq = NULL;
	o.va = e.w->decoy; /* a wrong override is refused, with the reason */
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
	/* a window too small to hold the real pattern: found by the data scan */
	memset(&o, 0, sizeof(o));
	o.window = e.w->pattern_off;
	assert_int_equal(exq_workq_walk(e.k, &o, &wq), EXQ_OK);
	assert_int_equal(wq->va, e.w->exworkerqueue);
	exq_workq_free(wq);
	t_env_close(&e);
}

static void windows8_unsupported(void **state)
{
	struct tw_spec s;
	struct t_env e;
	exq_workq *wq = NULL;
	(void)state;
	tw_spec_init(&s, 9200, 1, 0x601);
	s.phys_size = 16u << 20;
	s.damage = TW_DAMAGE_WIN8;
	t_env_open(&e, &s);
	assert_int_equal(exq_workq_walk(e.k, NULL, &wq), EXQ_UNSUPPORTED);
	assert_null(wq);
	assert_non_null(strstr(exq_image_error(e.img), "9200"));
	t_env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clean_worlds),
		cmocka_unit_test(damaged_worlds),
		cmocka_unit_test(missing_first_item),
		cmocka_unit_test(blink_walk_limits),
		cmocka_unit_test(no_pattern_scans_data),
		cmocka_unit_test(overrides_and_patterns),
		cmocka_unit_test(windows8_unsupported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
