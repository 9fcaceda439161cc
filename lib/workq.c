/* SPDX-License-Identifier: MIT */
/* The system worker queues (DESIGN §1, §7, §7b): the public entry point.
 * Finding the queue root of the build's model is wq_find.c, walking the
 * queues wq_walk.c; the layouts are rows in profile.c. A broken list is
 * recorded on its queue and the other queues still walk. */
#include "exq_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

void exq_workq_opts_init(exq_workq_opts *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
}

const char *exq_wq_model_name(exq_wq_model m)
{
	switch (m) {
	case EXQ_WQ_MODEL_STATIC_ARRAY: return "static-array";
	case EXQ_WQ_MODEL_ENODE_KQUEUE: return "enode-kqueue";
	case EXQ_WQ_MODEL_ENODE_KPRIQUEUE: return "enode-kpriqueue";
	case EXQ_WQ_MODEL_PARTITION: return "partition";
	case EXQ_WQ_MODEL_NONE: break;
	}
	return NULL;
}

void exq_workq_free(exq_workq *wq)
{
	size_t i, j;
	if (!wq)
		return;
	for (i = 0; i < wq->nqueues; i++) {
		exq_wq_queue *q = &wq->queues[i];
		for (j = 0; j < q->nitems; j++)
			free((char *)q->items[j].driver);
		for (j = 0; j < q->nerrors; j++)
			free((char *)q->errors[j].message);
		free(q->items);
		free(q->threads);
		free(q->errors);
	}
	for (i = 0; i < wq->nrejected; i++)
		free((char *)wq->rejected[i]);
	free((void *)wq->rejected);
	free((char *)wq->found_by);
	free(wq->queues);
	free(wq);
}

static exq_status check_supported(exq_kernel *k)
{
	const exq_kernel_info *ki = exq_kernel_get_info(k);
	const exq_image_info *in = exq_image_get_info(k->img);
	if (in && in->triage)
		return exq__err_set(&k->img->err, EXQ_UNSUPPORTED, "%s",
				    EXQ__TRIAGE_MSG);
	if (!ki->has_build)
		return exq__err_set(&k->img->err, EXQ_UNSUPPORTED,
				    "the kernel's build is unknown: no layout "
				    "profile can be chosen");
	return EXQ_OK;
}

/* The caller's options, whatever version of the struct it was built
 * with: fields past its size read as zero. */
static void copy_opts(exq_workq_opts *o, const exq_workq_opts *in)
{
	size_t n = in && in->size ? in->size : sizeof(*o);
	memset(o, 0, sizeof(*o));
	if (!in)
		return;
	memcpy(o, in, n < sizeof(*o) ? n : sizeof(*o));
	o->size = sizeof(*o);
}

static exq_status build_result(struct exq__wq *w)
{
	exq_workq *wq = w->wq;
	size_t i;
	wq->model = w->P->model;
	wq->model_name = exq_wq_model_name(w->P->model);
	wq->root = w->root;
	wq->profile = w->P->name;
	wq->found_by = strdup(w->found_by);
	wq->queues = calloc(w->nq ? w->nq : 1, sizeof(*wq->queues));
	if (!wq->found_by || !wq->queues)
		return exq__err_set(&w->img->err, EXQ_NOMEM,
				    "out of memory for %zu queues", w->nq);
	wq->nqueues = w->nq;
	for (i = 0; i < w->nq; i++) {
		exq_wq_queue *q = &wq->queues[i];
		q->index = i;
		q->va = w->q[i].va;
		q->node = w->q[i].node;
		q->queue_index = w->q[i].index;
		q->name = exq__wq_queue_name(w->P, w->q[i].index);
	}
	return EXQ_OK;
}

exq_status exq_workq_walk(exq_kernel *k, const exq_workq_opts *opts,
			  exq_workq **out)
{
	exq_workq_opts o;
	struct exq__wq *w;
	exq_status st;
	size_t i, r;
	if (!k || !out)
		return EXQ_INVALID;
	copy_opts(&o, opts);
	st = check_supported(k);
	if (st != EXQ_OK)
		return st;
	w = calloc(1, sizeof(*w));
	if (!w)
		return exq__err_set(&k->img->err, EXQ_NOMEM, "out of memory");
	w->k = k;
	w->vs = k->vs;
	w->img = k->img;
	w->opts = &o;
	w->max_items = o.max_items ? o.max_items : EXQ_WQ_DEFAULT_MAX_ITEMS;
	if (w->max_items > EXQ_WQ_MAX_ITEMS_CAP) /* sizes the visited set */
		w->max_items = EXQ_WQ_MAX_ITEMS_CAP;
	w->wq = calloc(1, sizeof(*w->wq));
	if (!w->wq) {
		free(w);
		return exq__err_set(&k->img->err, EXQ_NOMEM, "out of memory");
	}
	st = exq__wq_locate(w);
	if (w->nomem) /* what was not found may be what memory lost */
		st = exq__err_set(&k->img->err, EXQ_NOMEM,
				  "out of memory while looking for the queue "
				  "root");
	/* The rejected candidates go with the result (for -v). */
	w->wq->rejected = calloc(EXQ__WQ_MAX_REJECTED, sizeof(char *));
	if (w->wq->rejected)
		for (r = 0; r < w->wq->nrejected; r++)
			((const char **)w->wq->rejected)[r] = w->rejected[r];
	else
		for (r = 0; r < w->wq->nrejected; r++)
			free(w->rejected[r]);
	if (!w->wq->rejected)
		w->wq->nrejected = 0;
	if (st == EXQ_OK)
		st = build_result(w);
	if (st != EXQ_OK) {
		exq_workq_free(w->wq);
		free(w);
		return st;
	}
	for (i = 0; i < w->wq->nqueues; i++)
		exq__wq_walk_queue(w, &w->wq->queues[i]);
	for (i = 0; i < w->wq->nqueues && st == EXQ_OK; i++)
		if (w->wq->queues[i].nerrors)
			st = w->wq->queues[i].errors[0].status;
	if (w->nomem) /* above any other: the result lacks what memory lost */
		exq__err_set(&w->img->err, st = EXQ_NOMEM,
			     "out of memory walking the queues: the result is "
			     "incomplete");
	else if (st != EXQ_OK)
		exq__err_set(&w->img->err, st, "%s queue (node %u): %s",
			     w->wq->queues[i - 1].name, w->wq->queues[i - 1].node,
			     w->wq->queues[i - 1].errors[0].message);
	*out = w->wq;
	free(w);
	return st;
}
