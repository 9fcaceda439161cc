/* SPDX-License-Identifier: MIT */
/* Walking the system worker queues (DESIGN §7, §7b): a queue's worker
 * threads (KTHREAD.QueueListEntry on the queue object's ThreadListHead)
 * and its pending items (one list on a KQUEUE, 32 priority lists on a
 * KPRIQUEUE, taken by the kernel from priority 31 down). Links are read
 * at the kernel's pointer width. Every walk is bounded by --max-items and
 * cycle-safe; a break is recorded on the queue, the Blinks are walked back
 * from the head to recover what lies past it, and the other lists still
 * walk. Finding the queues is wq_find.c. */
#include "exq_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static void add_error(struct exq__wq *w, exq_wq_queue *q, exq_status status,
		      uint64_t node, uint64_t link, const char *fmt, ...)
	EXQ__PRINTF(6, 7);
static void add_error(struct exq__wq *w, exq_wq_queue *q, exq_status status,
		      uint64_t node, uint64_t link, const char *fmt, ...)
{
	exq_wq_error *e;
	char buf[320];
	va_list ap;
	if (q->nerrors >= EXQ__WQ_MAX_ERRORS) {
		exq__wq_warn(w, "%s queue (node %u): more list errors than "
			  "the %d kept",
			  q->name, q->node, EXQ__WQ_MAX_ERRORS);
		return;
	}
	if (status == EXQ_NOMEM)
		w->nomem = 1;
	if (!q->errors) {
		q->errors = calloc(EXQ__WQ_MAX_ERRORS, sizeof(*q->errors));
		if (!q->errors) {
			w->nomem = 1; /* an error lost: the walk says NOMEM */
			return;
		}
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* A link that leaves the address space (above 4 GiB on x86, not
	 * canonical on x64) is a lie of the dump, not a bad argument. */
	if (status == EXQ_INVALID)
		status = EXQ_CORRUPT;
	e = &q->errors[q->nerrors];
	e->message = strdup(buf);
	if (!e->message) {
		w->nomem = 1;
		return;
	}
	e->status = status;
	e->node = node;
	e->link = link;
	q->nerrors++;
}

/* One list walk: visit(node) for each node until the head. */
struct list {
	exq_wq_queue *q;
	uint64_t head;
	const char *what; /* "work item", "worker thread" */
	int priority;     /* of the items on this list; -1 on a KQUEUE */
	size_t max;
	int (*visit)(struct exq__wq *w, struct list *l, uint64_t prev,
		     uint64_t node);
	uint64_t *set; /* visited nodes (exq__visited), grown by seen() */
	size_t cap, count;
	size_t bad_blinks;
};

#define SET_FIRST 64 /* slots of a list's first visited set */

/* Was node visited on this list? 1 yes, 0 no (now it is), -1 out of
 * memory (w->nomem set; the walk stops). The set starts small and doubles
 * at half full, so its memory follows the nodes read (16 bytes each at
 * most), not --max-items: a list of a million nodes is 32 MiB, a short
 * one a KiB (issue 16 item 10). */
static int seen(struct exq__wq *w, struct list *l, uint64_t node)
{
	if (2 * (l->count + 1) > l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : SET_FIRST, i;
		uint64_t *n = calloc(ncap + 1, sizeof(*n));
		if (!n) {
			w->nomem = 1;
			return -1;
		}
		if (l->set) {
			for (i = 0; i < l->cap; i++)
				if (l->set[i])
					(void)exq__visited(n, ncap, l->set[i]);
			n[ncap] = l->set[l->cap]; /* node 0's slot */
			free(l->set);
		}
		l->set = n;
		l->cap = ncap;
	}
	if (exq__visited(l->set, l->cap, node))
		return 1;
	l->count++;
	return 0;
}

#define MAX_BLINK_WARNINGS 4

static void check_blink(struct exq__wq *w, struct list *l, uint64_t node,
			uint64_t blink, uint64_t want, int head)
{
	if (blink == want)
		return;
	if (++l->bad_blinks <= MAX_BLINK_WARNINGS)
		exq__wq_warn(w,
			  "%s queue: %s 0x%" PRIx64 ": Blink 0x%" PRIx64
			  " does not point back to 0x%" PRIx64 ", %s",
			  l->q->name, head ? "list head" : l->what, node, blink,
			  want,
			  head ? "the last node of its Flinks"
			       : "the node whose Flink leads here");
}

/* A link into the queue object itself (another of its list heads, its
 * header) is not a node of this list: a Flink damaged or half-written. */
static int inside_queue(struct exq__wq *w, const struct list *l, uint64_t a)
{
	return a != l->head && a >= l->q->va &&
	       a - l->q->va < w->P->kqueue.size;
}

/* Walk the Blinks back from the head after a break in the Flinks (or a
 * head whose Flink is empty but whose Blink is not), to the first node
 * already visited, and visit what was found in list order, marked
 * "recovered": "blink" (DESIGN §7). bad_link: where the forward walk
 * failed (not reported twice). */
static void walk_back(struct exq__wq *w, struct list *l, size_t budget,
		      uint64_t bad_link)
{
	uint64_t *back, after = l->head, node;
	uint8_t b[16];
	size_t nb = 0, i, ps = w->P->ptr;
	exq_status st;
	if (!budget || exq__wq_rdptr(w, l->head + ps, &node) != EXQ_OK)
		return;
	back = malloc(budget * sizeof(*back));
	if (!back) {
		w->nomem = 1;
		return;
	}
	while (node != l->head && seen(w, l, node) == 0) {
		if (nb == budget) {
			add_error(w, l->q, EXQ_LIMIT, after, node,
				  "walking back from the head: more than %zu "
				  "%ss (--max-items)",
				  budget, l->what);
			break;
		}
		if (inside_queue(w, l, node)) {
			add_error(w, l->q, EXQ_CORRUPT, after, node,
				  "walking back from the head: Blink of 0x%" PRIx64
				  " points into the queue object at 0x%" PRIx64,
				  after, node);
			break;
		}
		st = exq__wq_read(w, node, b, 2 * ps, NULL);
		if (st != EXQ_OK) {
			if (node != bad_link)
				add_error(w, l->q, st, after, node,
					  "walking back from the head: %s 0x%" PRIx64
					  " (Blink of 0x%" PRIx64 ") unreadable: %s",
					  l->what, node, after,
					  exq_image_error(w->img));
			break;
		}
		back[nb++] = node;
		after = node;
		node = ps == 8 ? exq__le64(b + 8) : exq__le32(b + 4);
	}
	for (i = nb; i-- > 0;) {
		size_t before = l->q->nitems;
		if (l->visit(w, l, i + 1 < nb ? back[i + 1] : l->head, back[i]))
			break;
		if (l->q->nitems > before)
			l->q->items[l->q->nitems - 1].recovered = "blink";
	}
	free(back);
}

static void walk_list(struct exq__wq *w, struct list *l)
{
	size_t n = 0, ps = w->P->ptr;
	uint64_t prev = l->head, next, hblink, bad_link = 0;
	uint8_t links[16]; /* Flink, Blink */
	int broke = 0, have_blink, v;
	exq_status st;
	l->bad_blinks = 0;
	/* The head's two links in one read; an empty list (most of a
	 * KPRIQUEUE's 32) needs no visited set. */
	have_blink = exq__wq_read(w, l->head, links, 2 * ps, NULL) == EXQ_OK;
	if (have_blink) {
		st = EXQ_OK;
		next = ps == 8 ? exq__le64(links) : exq__le32(links);
		hblink = ps == 8 ? exq__le64(links + 8) : exq__le32(links + 4);
		if (next == l->head && hblink == l->head)
			return;
	} else {
		st = exq__wq_rdptr(w, l->head, &next);
	}
	l->set = NULL;
	l->cap = l->count = 0;
	if (have_blink && (next == l->head) != (hblink == l->head)) {
		/* A dump taken while a node was being inserted or removed:
		 * say so, and walk what is there both ways. */
		add_error(w, l->q, EXQ_CORRUPT, l->head,
			  next == l->head ? hblink : next,
			  "%s list head 0x%" PRIx64 " half-updated (Flink 0x%" PRIx64
			  ", Blink 0x%" PRIx64 "): a node was being queued or "
			  "removed when the dump was taken",
			  l->what, l->head, next, hblink);
		broke = next == l->head;
	}
	while (st == EXQ_OK && next != l->head) {
		if (n == l->max) {
			add_error(w, l->q, EXQ_LIMIT, prev, next,
				  "more than %zu %ss (--max-items)", l->max,
				  l->what);
			break;
		}
		if ((v = seen(w, l, next)) < 0) {
			add_error(w, l->q, EXQ_NOMEM, prev, next,
				  "out of memory walking the %s list", l->what);
			broke = 1;
			break;
		}
		if (v) {
			add_error(w, l->q, EXQ_CYCLE, prev, next,
				  "%s list cycle: Flink of 0x%" PRIx64
				  " points back to 0x%" PRIx64,
				  l->what, prev, next);
			broke = 1;
			break;
		}
		if (inside_queue(w, l, next)) {
			add_error(w, l->q, EXQ_CORRUPT, prev, next,
				  "Flink of 0x%" PRIx64 " points into the queue "
				  "object at 0x%" PRIx64 ", not to a %s",
				  prev, next, l->what);
			broke = 1;
			bad_link = next;
			break;
		}
		if (l->visit(w, l, prev, next)) {
			broke = 1;
			bad_link = next;
			break;
		}
		n++;
		if (exq__wq_read(w, next, links, 2 * ps, NULL) == EXQ_OK) {
			uint64_t fl = ps == 8 ? exq__le64(links) : exq__le32(links);
			uint64_t bl = ps == 8 ? exq__le64(links + 8)
					      : exq__le32(links + 4);
			check_blink(w, l, next, bl, prev, 0);
			prev = next;
			next = fl;
		} else { /* the Blink may lie on a page that cannot be read */
			prev = next;
			st = exq__wq_rdptr(w, prev, &next);
		}
	}
	if (st != EXQ_OK) {
		add_error(w, l->q, st, prev, prev,
			  "Flink of %s 0x%" PRIx64 " unreadable: %s",
			  prev == l->head ? "the list head" : "node", prev,
			  exq_image_error(w->img));
		broke = prev != l->head;
	} else if (next == l->head && n &&
		   exq__wq_rdptr(w, l->head + ps, &next) == EXQ_OK) {
		check_blink(w, l, l->head, next, prev, 1);
	}
	if (l->bad_blinks > MAX_BLINK_WARNINGS)
		exq__wq_warn(w, "%s queue: %zu more %s list nodes whose "
			  "Blink does not point back",
			  l->q->name, l->bad_blinks - MAX_BLINK_WARNINGS,
			  l->what);
	if (broke)
		walk_back(w, l, l->max - n, bad_link);
	free(l->set);
	l->set = NULL;
}

static const char *state_name(uint32_t s)
{
	static const char *const n[] = {"INITIALIZED", "READY", "RUNNING",
					"STANDBY", "TERMINATED", "WAIT",
					"TRANSITION", "DEFERREDREADY", "GATEWAIT"};
	return s < sizeof(n) / sizeof(n[0]) ? n[s] : "UNKNOWN";
}

static int visit_thread(struct exq__wq *w, struct list *l, uint64_t prev,
			uint64_t node)
{
	const exq__profile *P = w->P;
	exq_wq_queue *q = l->q;
	uint64_t kt = node - P->kthread.queue_list_entry;
	uint64_t qp = 0, pid = 0, tid = 0, teb = 0, w32 = 0, start = 0;
	uint8_t type = 0, state = 0;
	exq_wq_thread *t;
	exq_status st;
	if (q->nthreads == EXQ__WQ_MAX_THREADS) {
		add_error(w, q, EXQ_LIMIT, prev, node,
			  "more than %d worker threads", EXQ__WQ_MAX_THREADS);
		return 1;
	}
	st = exq__wq_read(w, kt, &type, 1, NULL);
	if (!st)
		st = exq__wq_read(w, kt + P->kthread.state, &state, 1, NULL);
	if (!st)
		st = exq__wq_rdptr(w, kt + P->kthread.queue, &qp);
	if (!st)
		st = exq__wq_rdptr(w, kt + P->kthread.teb, &teb);
	if (!st)
		st = exq__wq_rdptr(w, kt + P->kthread.win32thread, &w32);
	if (!st)
		st = exq__wq_rdptr(w, kt + P->ethread.cid, &pid);
	if (!st)
		st = exq__wq_rdptr(w, kt + P->ethread.cid + P->ptr, &tid);
	if (!st)
		st = exq__wq_rdptr(w, kt + P->ethread.start_address, &start);
	if (st) {
		add_error(w, q, st, prev, node,
			  "worker thread 0x%" PRIx64 " unreadable: %s", kt,
			  exq_image_error(w->img));
		return 1;
	}
	if (type != P->kthread.type_value || qp != q->va) {
		add_error(w, q, EXQ_CORRUPT, prev, node,
			  "0x%" PRIx64 " on the thread list is not a KTHREAD of "
			  "this queue (Type %u, Queue 0x%" PRIx64 ")",
			  kt, type, qp);
		return 1;
	}
	t = &q->threads[q->nthreads++];
	t->ethread = kt;
	t->pid = pid;
	t->tid = tid;
	t->teb = teb;
	t->win32thread = w32;
	t->start_address = start;
	t->state = state;
	t->state_name = state_name(state);
	return 0;
}

/* UNICODE_STRING {u16 Length, u16 MaximumLength, ptr Buffer} → UTF-8;
 * NULL (with a warning naming what) when it cannot be decoded. */
static char *read_ustr(struct exq__wq *w, uint64_t va, const char *what)
{
	uint8_t h[16], buf[512];
	uint16_t len;
	uint64_t b;
	char *out;
	if (exq__wq_read(w, va, h, 2u * w->P->ptr, NULL)) {
		exq__wq_warn(w, "%s: UNICODE_STRING at 0x%" PRIx64
			  " unreadable: %s", what, va, exq_image_error(w->img));
		return NULL;
	}
	len = exq__le16(h);
	b = w->P->ptr == 8 ? exq__le64(h + 8) : exq__le32(h + 4);
	if ((len & 1) || len > sizeof(buf) || len > exq__le16(h + 2)) {
		exq__wq_warn(w, "%s: name at 0x%" PRIx64 " has Length %u "
			  "(MaximumLength %u): not decoded (odd, or over %zu "
			  "bytes)",
			  what, va, len, exq__le16(h + 2), sizeof(buf));
		return NULL;
	}
	if (exq__wq_read(w, b, buf, len, NULL)) {
		exq__wq_warn(w, "%s: name buffer 0x%" PRIx64 " unreadable: %s",
			  what, b, exq_image_error(w->img));
		return NULL;
	}
	out = malloc(len * 3u / 2 + 2);
	if (out)
		exq__utf16le_to_utf8(buf, len / 2, out, len * 3u / 2 + 2);
	else
		w->nomem = 1;
	return out;
}

static void io_details(struct exq__wq *w, exq_wq_queue *q, exq_wq_item *it)
{
	const exq__profile *P = w->P;
	uint64_t r = 0, obj = 0, ctx = 0, drv = 0;
	uint8_t t[2];
	char what[96];
	exq_status st = exq__wq_rdptr(w, it->va + P->io_workitem.routine, &r);
	if (!st)
		st = exq__wq_rdptr(w, it->va + P->io_workitem.io_object, &obj);
	if (!st)
		st = exq__wq_rdptr(w, it->va + P->io_workitem.context, &ctx);
	if (st) {
		add_error(w, q, st, it->va, it->va + P->io_workitem.routine,
			  "IO_WORKITEM 0x%" PRIx64 " fields unreadable: %s",
			  it->va, exq_image_error(w->img));
		return;
	}
	it->io_routine = r;
	it->io_object = obj;
	it->context = ctx;
	if (exq__wq_read(w, obj, t, 2, NULL))
		return;
	if (t[0] == P->device_object.type_value) {
		it->io_object_type = EXQ_WQ_OBJECT_DEVICE;
		if (exq__wq_rdptr(w, obj + P->device_object.driver_object, &drv))
			return;
	} else if (t[0] == P->driver_object.type_value) {
		it->io_object_type = EXQ_WQ_OBJECT_DRIVER;
		drv = obj;
	} else {
		return;
	}
	snprintf(what, sizeof(what), "IO_WORKITEM 0x%" PRIx64 " driver 0x%" PRIx64,
		 it->va, drv);
	if (exq__wq_read(w, drv, t, 2, NULL) == EXQ_OK &&
	    t[0] == P->driver_object.type_value)
		it->driver = read_ustr(w, drv + P->driver_object.driver_name, what);
}

static int visit_item(struct exq__wq *w, struct list *l, uint64_t prev,
		      uint64_t node)
{
	const exq__profile *P = w->P;
	exq_wq_queue *q = l->q;
	uint8_t b[0x40];
	size_t len = P->work_queue_item.size;
	exq_wq_item *it;
	exq_status st;
	if (len > sizeof(b))
		len = sizeof(b);
	st = exq__wq_read(w, node, b, len, NULL);
	if (st) {
		add_error(w, q, st, prev, node,
			  "work item 0x%" PRIx64 " (Flink of 0x%" PRIx64
			  ") unreadable: %s",
			  node, prev, exq_image_error(w->img));
		return 1;
	}
	if ((q->nitems & (q->nitems - 1)) == 0 && q->nitems >= 16) {
		exq_wq_item *n = realloc(q->items, 2 * q->nitems * sizeof(*n));
		if (!n) {
			add_error(w, q, EXQ_NOMEM, prev, node, "out of memory");
			return 1;
		}
		q->items = n;
	} else if (!q->items) {
		q->items = malloc(16 * sizeof(*q->items));
		if (!q->items) {
			add_error(w, q, EXQ_NOMEM, prev, node, "out of memory");
			return 1;
		}
	}
	it = &q->items[q->nitems++];
	memset(it, 0, sizeof(*it));
	it->va = node;
	it->priority = l->priority;
	it->routine = P->ptr == 8 ? exq__le64(b + P->work_queue_item.worker_routine)
				  : exq__le32(b + P->work_queue_item.worker_routine);
	it->parameter = P->ptr == 8 ? exq__le64(b + P->work_queue_item.parameter)
				    : exq__le32(b + P->work_queue_item.parameter);
	it->kind = it->parameter == node ? EXQ_WQ_IO_WORKITEM
					 : EXQ_WQ_WORK_QUEUE_ITEM;
	if (it->kind == EXQ_WQ_IO_WORKITEM)
		io_details(w, q, it);
	return 0;
}

void exq__wq_walk_queue(struct exq__wq *w, exq_wq_queue *q)
{
	const exq__profile *P = w->P;
	uint8_t b[0x400];
	struct list l;
	uint32_t i, nl = P->kqueue.nlists ? P->kqueue.nlists : 1;
	size_t len = P->ex_work_queue.size;
	if (len > sizeof(b))
		len = sizeof(b);
	q->priorities = nl;
	if (exq__wq_read(w, q->va, b, len, NULL)) {
		add_error(w, q, EXQ_NODATA, q->va, q->va,
			  "EX_WORK_QUEUE unreadable: %s", exq_image_error(w->img));
		return;
	}
	q->signal_state = exq__le32(b + P->dispatcher.signal_state);
	for (i = 0; i < nl; i++)
		q->current += exq__le32(b + P->kqueue.current_count + 4 * i);
	q->maximum = exq__le32(b + P->kqueue.maximum_count);
	if (P->model == EXQ_WQ_MODEL_STATIC_ARRAY) {
		/* Info bits 3..31: WorkerCount, the second number of !exqueue's
		 * "Threads: n/m". */
		q->has_threads_max = 1;
		q->threads_max = exq__le32(b + P->ex_work_queue.info) >> 3;
	} else if (P->ex_work_queue.max_threads) {
		q->has_threads_max = 1;
		q->threads_max = exq__le32(b + P->ex_work_queue.max_threads);
	}
	q->threads = calloc(EXQ__WQ_MAX_THREADS, sizeof(*q->threads));
	if (!q->threads) {
		add_error(w, q, EXQ_NOMEM, q->va, q->va, "out of memory");
		return;
	}
	memset(&l, 0, sizeof(l));
	l.q = q;
	l.head = q->va + P->kqueue.thread_list_head;
	l.what = "worker thread";
	l.priority = -1;
	l.max = EXQ__WQ_MAX_THREADS;
	l.visit = visit_thread;
	walk_list(w, &l);
	q->threads_count = (uint32_t)q->nthreads;
	/* Items: the kernel takes the highest priority first. */
	for (i = nl; i-- > 0;) {
		l.head = q->va + P->kqueue.entry_list_head + 2u * P->ptr * i;
		l.what = "work item";
		l.priority = nl > 1 ? (int)i : -1;
		l.max = w->max_items;
		l.visit = visit_item;
		walk_list(w, &l);
	}
	/* A supporting signal only (DESIGN §7): a dump taken mid-update can
	 * disagree. KPRIQUEUE keeps no such count. */
	if (nl == 1 && !q->nerrors && !w->nomem && q->signal_state != q->nitems)
		exq__wq_warn(w, "%s queue: SignalState %u but %zu items pending",
			  q->name, q->signal_state, q->nitems);
}
