/* SPDX-License-Identifier: MIT */
/* Opening a generated world (tlib_win) as a raw image in memory, with its
 * address space and kernel: shared by the kernel, module and work-queue
 * unit tests. */
#ifndef EXQ_TLIB_OPEN_H
#define EXQ_TLIB_OPEN_H

#include "exq.h"
#include "tlib_win.h"

struct t_env {
	struct tw_world *w;
	exq_image *img;
	exq_vspace *vs;
	exq_kernel *k;
};

/* Builds the world of spec s and opens it; fails the test on error. */
void t_env_open(struct t_env *e, const struct tw_spec *s);
/* Opens (again) over e->w->mem, e.g. after a test damaged it. */
void t_env_reopen(struct t_env *e, const exq_kernel_opts *ko);
void t_env_close(struct t_env *e);
/* A walked queue equals the generator's truth: address, node, index, name,
 * counts, every worker thread, the items a walk from the head lists then
 * those recovered through the Blinks (in list order; KPRIQUEUE: priority
 * 31 first), symbols, IO details and the errors. */
void t_check_queue(exq_kernel *k, const struct tw_queue *t,
		   const exq_wq_queue *q);

#endif
