/* SPDX-License-Identifier: MIT */
/* See tlib_open.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tlib_open.h"

static size_t raw_len(const struct tw_world *w)
{
	uint64_t end = 0;
	size_t i;
	for (i = 0; i < w->nruns; i++)
		if ((w->runs[i].first + w->runs[i].count) * 4096 > end)
			end = (w->runs[i].first + w->runs[i].count) * 4096;
	return (size_t)(end < w->mem_size ? end : w->mem_size);
}

static void close_views(struct t_env *e)
{
	exq_kernel_free(e->k);
	exq_vspace_free(e->vs);
	exq_image_free(e->img);
	e->k = NULL;
	e->vs = NULL;
	e->img = NULL;
}

void t_env_reopen(struct t_env *e, const exq_kernel_opts *ko)
{
	exq_status st;
	close_views(e);
	e->img = exq_image_new();
	assert_non_null(e->img);
	/* As mkwin writes NAME.raw: up to the end of the last present run
	 * (a missing_page world keeps its page above that). */
	assert_int_equal(exq_image_open_mem(e->img, e->w->mem, raw_len(e->w)), EXQ_OK);
	st = exq_vspace_open(&e->vs, e->img);
	if (st != EXQ_OK)
		fail_msg("vspace: %s", exq_image_error(e->img));
	st = exq_kernel_open(&e->k, e->vs, ko);
	if (st != EXQ_OK)
		fail_msg("kernel: %s", exq_image_error(e->img));
}

void t_env_open(struct t_env *e, const struct tw_spec *s)
{
	char err[256];
	memset(e, 0, sizeof(*e));
	e->w = tw_build(s, err, sizeof(err));
	if (!e->w)
		fail_msg("tw_build: %s", err);
	t_env_reopen(e, NULL);
}

void t_env_close(struct t_env *e)
{
	close_views(e);
	tw_free(e->w);
	e->w = NULL;
}

void t_check_queue(exq_kernel *k, const struct tw_queue *t,
		   const exq_wq_queue *q)
{
	char sym[300];
	size_t i, listed = 0;
	assert_int_equal(q->va, t->va);
	assert_int_equal(q->node, t->node);
	assert_int_equal(q->queue_index, t->queue_index);
	assert_string_equal(q->name, t->name);
	assert_int_equal(q->current, t->current);
	assert_int_equal(q->maximum, t->maximum);
	assert_int_equal(q->has_threads_max, t->has_max);
	if (t->has_max)
		assert_int_equal(q->threads_max, t->worker_count);
	assert_int_equal(q->nthreads, t->nthreads);
	assert_int_equal(q->threads_count, t->nthreads);
	for (i = 0; i < t->nthreads; i++) {
		assert_int_equal(q->threads[i].ethread, t->threads[i].ethread);
		assert_int_equal(q->threads[i].pid, t->threads[i].pid);
		assert_int_equal(q->threads[i].tid, t->threads[i].tid);
		assert_int_equal(q->threads[i].teb, t->threads[i].teb);
		assert_int_equal(q->threads[i].win32thread, t->threads[i].win32thread);
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
		assert_int_equal(it->priority, ti->priority);
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
		assert_int_equal(it->io_object_type, ti->io_object_driver ? EXQ_WQ_OBJECT_DRIVER
								 : EXQ_WQ_OBJECT_DEVICE);
		assert_non_null(it->driver);
		assert_string_equal(it->driver, ti->driver);
		assert_int_equal(exq_symbolize(k, it->io_routine, sym, sizeof(sym)), EXQ_OK);
		assert_string_equal(sym, ti->io_routine_sym);
	}
	assert_int_equal(q->nitems, listed);
	assert_int_equal(q->nerrors, t->nerrors);
	for (i = 0; i < t->nerrors; i++) {
		const char *want = t->errors[i].status;
		const char *got = exq_strerror(q->errors[i].status);
		assert_string_equal(got, want);
		assert_int_equal(q->errors[i].node, t->errors[i].node);
		assert_int_equal(q->errors[i].link, t->errors[i].link);
	}
}
