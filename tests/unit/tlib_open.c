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
