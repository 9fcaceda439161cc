/* SPDX-License-Identifier: MIT */
/* exq queues: the system worker queues, as WinDbg's !exqueue shows them
 * (text) or as the exq/1 JSON document of DESIGN §9. */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static json_object *sym_or_null(exq_kernel *k, uint64_t addr)
{
	char b[300];
	return cli_symbolize(k, addr, b, sizeof(b)) == EXQ_OK
		       ? json_object_new_string(b)
		       : NULL;
}

static json_object *item_json(exq_kernel *k, const exq_wq_item *it)
{
	json_object *o = json_object_new_object();
	char b[300];
	json_object_object_add(o, "va", cli_jhex(it->va));
	json_object_object_add(o, "kind", json_object_new_string(
						  it->kind == EXQ_WQ_IO_WORKITEM ? "io_workitem"
										 : "work_queue_item"));
	json_object_object_add(o, "routine", cli_jhex(it->routine));
	json_object_object_add(o, "routine_symbol", sym_or_null(k, it->routine));
	if (cli_symbolize_export(k, it->routine, b, sizeof(b)) == EXQ_OK)
		json_object_object_add(o, "routine_export", json_object_new_string(b));
	json_object_object_add(o, "parameter", cli_jhex(it->parameter));
	if (it->kind == EXQ_WQ_IO_WORKITEM) {
		json_object_object_add(o, "io_routine", cli_jhex(it->io_routine));
		json_object_object_add(o, "io_routine_symbol", sym_or_null(k, it->io_routine));
		json_object_object_add(o, "io_object", cli_jhex(it->io_object));
		json_object_object_add(o, "io_object_type",
				       it->io_object_type == 3   ? json_object_new_string("device")
				       : it->io_object_type == 4 ? json_object_new_string("driver")
								 : NULL);
		json_object_object_add(o, "driver", it->driver ? json_object_new_string(it->driver)
							       : NULL);
		json_object_object_add(o, "context", cli_jhex(it->context));
	}
	if (it->priority >= 0)
		json_object_object_add(o, "priority", json_object_new_int(it->priority));
	if (it->recovered)
		json_object_object_add(o, "recovered", json_object_new_string(it->recovered));
	return o;
}

static json_object *queue_json(exq_kernel *k, const exq_wq_queue *q)
{
	json_object *o = json_object_new_object(), *t, *a;
	char cid[48];
	size_t i;
	json_object_object_add(o, "index", json_object_new_int64((int64_t)q->index));
	json_object_object_add(o, "name", json_object_new_string(q->name));
	json_object_object_add(o, "va", cli_jhex(q->va));
	json_object_object_add(o, "node", json_object_new_int64(q->node));
	json_object_object_add(o, "queue_index", json_object_new_int64(q->queue_index));
	t = json_object_new_object();
	json_object_object_add(t, "count", json_object_new_int64(q->threads_count));
	json_object_object_add(t, "max", q->has_threads_max
						 ? json_object_new_int64(q->threads_max)
						 : NULL);
	json_object_object_add(o, "threads", t);
	t = json_object_new_object();
	json_object_object_add(t, "current", json_object_new_int64(q->current));
	json_object_object_add(t, "maximum", json_object_new_int64(q->maximum));
	json_object_object_add(o, "concurrency", t);
	a = json_object_new_array();
	for (i = 0; i < q->nthreads; i++) {
		const exq_wq_thread *th = &q->threads[i];
		t = json_object_new_object();
		json_object_object_add(t, "ethread", cli_jhex(th->ethread));
		snprintf(cid, sizeof(cid), "%" PRIx64 ".%" PRIx64, th->pid, th->tid);
		json_object_object_add(t, "cid", json_object_new_string(cid));
		json_object_object_add(t, "teb", cli_jhex(th->teb));
		json_object_object_add(t, "win32thread", cli_jhex(th->win32thread));
		json_object_object_add(t, "state", json_object_new_string(th->state_name));
		json_object_array_add(a, t);
	}
	json_object_object_add(o, "worker_threads", a);
	a = json_object_new_array();
	for (i = 0; i < q->nitems; i++)
		json_object_array_add(a, item_json(k, &q->items[i]));
	json_object_object_add(o, "items", a);
	a = json_object_new_array();
	for (i = 0; i < q->nerrors; i++) {
		const exq_wq_error *e = &q->errors[i];
		t = json_object_new_object();
		json_object_object_add(t, "status", json_object_new_string(exq_strerror(e->status)));
		json_object_object_add(t, "node", cli_jhex(e->node));
		json_object_object_add(t, "link", cli_jhex(e->link));
		json_object_object_add(t, "message", json_object_new_string(e->message));
		json_object_array_add(a, t);
	}
	json_object_object_add(o, "errors", a);
	return o;
}

static json_object *rejected_json(const exq_workq *wq)
{
	json_object *a = json_object_new_array();
	size_t i;
	for (i = 0; i < wq->nrejected; i++)
		json_object_array_add(a, json_object_new_string(wq->rejected[i]));
	return a;
}

static void queues_json(const struct opts *o, exq_image *img, exq_kernel *k,
			const exq_workq *wq)
{
	json_object *doc = cli_doc("queues"), *x, *a;
	size_t i;
	x = cli_image_obj(img, o->pos[0], o);
	cli_fill_from_kernel(NULL, x, k);
	json_object_object_add(doc, "image", x);
	json_object_object_add(doc, "kernel", cli_kernel_obj(k));
	x = json_object_new_object();
	json_object_object_add(x, "model", json_object_new_string(wq->model_name));
	json_object_object_add(x, "va", cli_jhex(wq->root));
	json_object_object_add(x, "found_by", json_object_new_string(wq->found_by));
	json_object_object_add(x, "profile", json_object_new_string(wq->profile));
	json_object_object_add(x, "nodes", json_object_new_int64(wq->nodes));
	json_object_object_add(x, "rejected", rejected_json(wq));
	json_object_object_add(doc, "queue_root", x);
	if (wq->model == EXQ_WQ_MODEL_STATIC_ARRAY) { /* exq/1 since the start */
		x = json_object_new_object();
		json_object_object_add(x, "va", cli_jhex(wq->root));
		json_object_object_add(x, "found_by", json_object_new_string(wq->found_by));
		json_object_object_add(x, "profile", json_object_new_string(wq->profile));
		json_object_object_add(x, "rejected", rejected_json(wq));
		json_object_object_add(doc, "exworkerqueue", x);
	}
	a = json_object_new_array();
	for (i = 0; i < wq->nqueues; i++)
		json_object_array_add(a, queue_json(k, &wq->queues[i]));
	json_object_object_add(doc, "queues", a);
	json_object_object_add(doc, "warnings", cli_warnings(img));
	cli_print_json(doc);
	json_object_put(doc);
}

/* "<symbol> (<addr>)", or "<addr> [no module]" for a routine outside every
 * module (issue 14: a routine that lies outside every driver is what a
 * triager looks for first). Returns 1 for the latter. */
static int routine_text(exq_kernel *k, uint64_t addr, int W, int exports,
			char *buf, size_t len)
{
	char s[300];
	if ((exports && cli_symbolize_export(k, addr, s, sizeof(s)) == EXQ_OK) ||
	    cli_symbolize(k, addr, s, sizeof(s)) == EXQ_OK) {
		snprintf(buf, len, "%s (%0*" PRIx64 ")", s, W, addr);
		return 0;
	}
	snprintf(buf, len, "%0*" PRIx64 " [no module]", W, addr);
	return 1;
}

static void queues_text(const struct opts *o, exq_vspace *vs, exq_kernel *k,
			const exq_workq *wq)
{
	char r[340];
	size_t i, j, nomod;
	/* Bare hex as WinDbg prints it: 8 digits on x86, 16 on x64. */
	int W = exq_vspace_paging(vs) == EXQ_PAGING_X64 ? 16 : 8;
	int numa = wq->model != EXQ_WQ_MODEL_STATIC_ARRAY;
	if (o->verbose) {
		printf("Queue root 0x%" PRIx64 " (%s, %s, profile %s, %u node%s)\n",
		       wq->root, wq->model_name, wq->found_by, wq->profile,
		       wq->nodes, wq->nodes == 1 ? "" : "s");
		for (i = 0; i < wq->nrejected; i++)
			printf("  rejected candidate %s\n", wq->rejected[i]);
	}
	for (i = 0; i < wq->nqueues; i++) {
		const exq_wq_queue *q = &wq->queues[i];
		if (numa && (i == 0 || wq->queues[i - 1].node != q->node))
			printf("**** NUMA Node %u\n\n", q->node);
		if (q->has_threads_max)
			printf("**** %s WorkQueue ( Threads: %u/%u, Concurrency: %u/%u )\n",
			       q->name, q->threads_count, q->threads_max, q->current,
			       q->maximum);
		else
			printf("**** %s WorkQueue ( Threads: %u, Concurrency: %u/%u )\n",
			       q->name, q->threads_count, q->current, q->maximum);
		for (j = 0; j < q->nthreads; j++) {
			const exq_wq_thread *t = &q->threads[j];
			printf("THREAD %0*" PRIx64 "  Cid %" PRIx64 ".%" PRIx64
			       "  Teb: %0*" PRIx64 " Win32Thread: %0*" PRIx64 " %s\n",
			       W, t->ethread, t->pid, t->tid, W, t->teb, W,
			       t->win32thread, t->state_name);
		}
		nomod = 0;
		for (j = 0; j < q->nitems; j++) {
			const exq_wq_item *it = &q->items[j];
			char prio[24] = "";
			if (it->priority >= 0)
				snprintf(prio, sizeof(prio), " Priority %d", it->priority);
			if (it->kind == EXQ_WQ_IO_WORKITEM) {
				nomod += (size_t)routine_text(k, it->io_routine, W, 0, r, sizeof(r));
				printf("PENDING: IoWorkItem (%0*" PRIx64 ") Routine %s"
				       " IoObject (%0*" PRIx64 ") %s Context (%0*" PRIx64 ")%s%s\n",
				       W, it->va, r, W, it->io_object,
				       it->driver ? it->driver : "?", W, it->context, prio,
				       it->recovered ? " [recovered by walking the Blinks]" : "");
			} else {
				nomod += (size_t)routine_text(k, it->routine, W, 1, r, sizeof(r));
				printf("PENDING: ExWorkItem (%0*" PRIx64 ") Routine %s"
				       " Parameter (%0*" PRIx64 ")%s%s\n",
				       W, it->va, r, W, it->parameter, prio,
				       it->recovered ? " [recovered by walking the Blinks]" : "");
			}
		}
		if (nomod)
			printf("%zu of %zu pending routines are outside every module\n",
			       nomod, q->nitems);
		for (j = 0; j < q->nerrors; j++)
			printf("ERROR: %s: %s (node %0*" PRIx64 ", link %0*" PRIx64 ")\n",
			       exq_strerror(q->errors[j].status), q->errors[j].message, W,
			       q->errors[j].node, W, q->errors[j].link);
		putchar('\n');
	}
}

int cmd_queues(const struct opts *o)
{
	exq_image *img;
	exq_vspace *vs = NULL;
	exq_kernel *k = NULL;
	exq_workq *wq = NULL;
	exq_workq_opts wo;
	exq_wq_pattern pat;
	exq_status st;
	int code = 0;
	if (o->npos != 1)
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"usage: exq queues [--json] IMAGE");
	img = cli_open(o, o->pos[0], &code);
	if (!img)
		return code;
	/* a triage dump: exq_kernel_open refuses it with the reason (exit 4) */
	code = cli_open_kernel(o, img, &vs, &k);
	if (code == 0) {
		exq_workq_opts_init(&wo);
		wo.have_root = o->have_exworkerqueue;
		wo.root = o->exworkerqueue;
		wo.max_items = o->max_items;
		if (o->pattern) {
			pat.name = "user";
			pat.hex = o->pattern;
			pat.imm_offset = o->pattern_offset;
			pat.operand = EXQ_WQ_ABS32;
			pat.insn_len = 0;
			wo.patterns = &pat;
			wo.npatterns = 1;
		}
		st = exq_workq_walk(k, &wo, &wq);
		if (!wq) {
			code = cli_fail(o, st == EXQ_INVALID ? EXIT_USAGE
				       : st == EXQ_NOTFOUND || st == EXQ_UNSUPPORTED
					       ? EXIT_NOTFOUND
					       : cli_exit_analysis(st),
					st, "%s (%s)", exq_image_error(img), exq_strerror(st));
		} else {
			if (o->json)
				queues_json(o, img, k, wq);
			else
				queues_text(o, vs, k, wq);
			if (st != EXQ_OK) {
				cli_incomplete(o, st, "incomplete: %s (%s)",
					       exq_image_error(img), exq_strerror(st));
				code = EXIT_INCOMPLETE;
			}
		}
	}
	cli_text_warnings(o, img);
	exq_workq_free(wq);
	exq_kernel_free(k);
	exq_vspace_free(vs);
	exq_image_free(img);
	return code;
}
