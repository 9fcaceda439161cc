/* SPDX-License-Identifier: MIT */
/* The system worker queues (DESIGN §1, §7): find the non-exported
 * ExWorkerQueue array through an instruction pattern in ExQueueWorkItem,
 * validate it structurally, walk each queue's worker threads and pending
 * work items. Every list walk is bounded and cycle-safe; a broken list is
 * recorded on its queue, and the other queues still walk. */
#include "exq_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const queue_names[] = {"Critical", "Delayed",
					  "HyperCritical"};

/* Built-in patterns, most specific first. '?' is a wildcard nibble. The
 * first is the seed article's `push edi; add esi, offset ExWorkerQueue`;
 * the others are the generic forms that carry an imm32 VA. Every hit is
 * only a candidate: validation decides. */
static const exq_wq_pattern builtin[] = {
	{"push-edi-add-esi", "57 81 C6 ?? ?? ?? ??", 3},
	{"add-r32-imm32", "81 C? ?? ?? ?? ??", 2},
	{"add-eax-imm32", "05 ?? ?? ?? ??", 1},
	{"lea-disp32", "8D ?5 ?? ?? ?? ??", 2},
	{"lea-disp32", "8D ?D ?? ?? ?? ??", 2},
	{"lea-reg-disp32", "8D 8? ?? ?? ?? ??", 2},
	{"lea-reg-disp32", "8D 9? ?? ?? ?? ??", 2},
	{"lea-reg-disp32", "8D A? ?? ?? ?? ??", 2},
	{"lea-reg-disp32", "8D B? ?? ?? ?? ??", 2},
	{"mov-r32-imm32", "B? ?? ?? ?? ??", 1},
};

#define MAX_PAT 16
#define MAX_CANDIDATES 64
#define MAX_THREADS 1024
#define MAX_WINDOW 0x1000
#define P_COUNT(P) ((P)->ex_work_queue.count < 3 ? (size_t)(P)->ex_work_queue.count : 3)

struct pat {
	uint8_t val[MAX_PAT], mask[MAX_PAT];
	size_t len;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "57 81 C6 ?? ?? ?? ??" → bytes and masks; -1 when malformed. */
static int parse_pattern(const char *hex, struct pat *p)
{
	p->len = 0;
	while (*hex) {
		int hi, lo;
		if (*hex == ' ') {
			hex++;
			continue;
		}
		if (!hex[1] || p->len == MAX_PAT)
			return -1;
		hi = hex[0] == '?' ? -2 : hexval(hex[0]);
		lo = hex[1] == '?' ? -2 : hexval(hex[1]);
		if (hi == -1 || lo == -1)
			return -1;
		p->mask[p->len] = (uint8_t)((hi >= 0 ? 0xF0 : 0) | (lo >= 0 ? 0x0F : 0));
		p->val[p->len] = (uint8_t)(((hi >= 0 ? hi : 0) << 4) | (lo >= 0 ? lo : 0));
		p->len++;
		hex += 2;
	}
	return p->len ? 0 : -1;
}

struct walker {
	exq_kernel *k;
	exq_vspace *vs;
	exq_image *img;
	const exq__profile *P;
	size_t max_items;
	exq_workq *wq;
	char *found_by;
	char *rejected[16];
};

static exq_status rd32(struct walker *w, uint64_t va, uint32_t *v)
{
	uint8_t b[4];
	exq_status st = exq_read_virt(w->vs, va, b, 4, NULL);
	if (st == EXQ_OK)
		*v = exq__le32(b);
	return st;
}

static void reject(struct walker *w, const char *fmt, ...)
	EXQ__PRINTF(2, 3);
static void reject(struct walker *w, const char *fmt, ...)
{
	char buf[300];
	va_list ap;
	if (w->wq->nrejected >= 16)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	w->rejected[w->wq->nrejected] = strdup(buf);
	if (w->rejected[w->wq->nrejected]) {
		w->wq->rejected[w->wq->nrejected] = w->rejected[w->wq->nrejected];
		w->wq->nrejected++;
	}
}

/* A LIST_ENTRY head is well formed when empty (both links to itself) or
 * when its first node points back to it and its last node forward to it. */
static const char *check_list(struct walker *w, uint64_t head)
{
	uint32_t fl, bl, v;
	if (rd32(w, head, &fl) || rd32(w, head + 4, &bl))
		return "list head unreadable";
	if (fl == head || bl == head)
		return fl == head && bl == head ? NULL : "half-empty list head";
	if (rd32(w, fl + 4, &v) || v != head)
		return "first node's Blink does not point back to the head";
	if (rd32(w, bl, &v) || v != head)
		return "last node's Flink does not point to the head";
	return NULL;
}

static const char *check_head(struct walker *w, uint64_t head)
{
	uint32_t fl, bl;
	if (rd32(w, head, &fl) || rd32(w, head + 4, &bl))
		return "list head unreadable";
	if ((fl == head) != (bl == head))
		return "half-empty list head";
	return NULL;
}

/* Validate V as 3 × EX_WORK_QUEUE under profile P (DESIGN §7 step 2). */
static int validate(struct walker *w, const exq__profile *P, uint64_t V,
		    char *why, size_t whylen)
{
	int i;
	for (i = 0; i < 3; i++) {
		uint64_t q = V + (uint64_t)i * P->ex_work_queue.size;
		uint8_t b[0x28];
		uint32_t maxc, tfl, type;
		const char *bad;
		if (exq_read_virt(w->vs, q, b, sizeof(b), NULL) != EXQ_OK) {
			snprintf(why, whylen, "queue %d at 0x%" PRIx64 " unreadable", i, q);
			return 0;
		}
		if (b[P->dispatcher.type] != P->kqueue.type ||
		    b[P->dispatcher.size] != P->kqueue.dispatcher_size) {
			snprintf(why, whylen, "queue %d: KQUEUE Type/Size 0x%x/0x%x, want 4/0xa",
				 i, b[P->dispatcher.type], b[P->dispatcher.size]);
			return 0;
		}
		maxc = exq__le32(b + P->kqueue.maximum_count);
		if (maxc < 1 || maxc > 64) {
			snprintf(why, whylen, "queue %d: MaximumCount %u not in 1..64", i, maxc);
			return 0;
		}
		/* The pending-item list may be damaged or mid-update in a real
		 * dump: only its head must be sane (both links to itself or
		 * neither); the walk reports where it breaks. The thread list
		 * must be well formed. */
		if ((bad = check_head(w, q + P->kqueue.entry_list_head)) ||
		    (bad = check_list(w, q + P->kqueue.thread_list_head))) {
			snprintf(why, whylen, "queue %d: %s", i, bad);
			return 0;
		}
		tfl = exq__le32(b + P->kqueue.thread_list_head);
		if (tfl != q + P->kqueue.thread_list_head) {
			uint64_t kt = tfl - P->kthread.queue_list_entry;
			uint32_t qp = 0;
			uint8_t t8 = 0;
			if (exq_read_virt(w->vs, kt, &t8, 1, NULL) || rd32(w, kt + P->kthread.queue, &qp) ||
			    t8 != P->kthread.type_value || qp != q) {
				type = t8;
				snprintf(why, whylen, "queue %d: first worker thread 0x%" PRIx64
					 " is not a KTHREAD of this queue (Type %u, Queue 0x%x)",
					 i, kt, type, qp);
				return 0;
			}
		}
	}
	return 1;
}

/* Try V with every profile that fits the build; keep the first valid. */
static int try_candidate(struct walker *w, uint64_t V, const char *how)
{
	const exq__profile *cands[4];
	const exq_kernel_info *ki = exq_kernel_get_info(w->k);
	size_t n = exq__profile_candidates(ki->build, cands, 4), i;
	char why[200] = "no profile";
	if (V < ki->base || V - ki->base >= ki->size) {
		reject(w, "0x%" PRIx64 " (%s): outside %s", V, how, ki->name);
		return 0;
	}
	for (i = 0; i < n && i < 4; i++) {
		if (validate(w, cands[i], V, why, sizeof(why))) {
			w->P = cands[i];
			w->wq->va = V;
			w->wq->profile = cands[i]->name;
			return 1;
		}
	}
	reject(w, "0x%" PRIx64 " (%s): %s", V, how, why);
	return 0;
}

static exq_status scan_patterns(struct walker *w, const exq_workq_opts *o)
{
	uint64_t fn;
	uint8_t code[MAX_WINDOW];
	size_t got = 0, window = o->window ? o->window : EXQ_WQ_DEFAULT_WINDOW;
	size_t p, np = o->npatterns + sizeof(builtin) / sizeof(builtin[0]);
	exq_status st = exq_kernel_export(w->k, "ExQueueWorkItem", &fn);
	if (st != EXQ_OK)
		return st;
	if (window > MAX_WINDOW)
		window = MAX_WINDOW;
	st = exq_read_virt(w->vs, fn, code, window, &got);
	if (got < 8)
		return exq__err_ctx(&w->img->err, st == EXQ_OK ? EXQ_NOTFOUND : st,
				    "ExQueueWorkItem at 0x%" PRIx64, fn);
	for (p = 0; p < np; p++) {
		const exq_wq_pattern *pt = p < o->npatterns ? &o->patterns[p]
							    : &builtin[p - o->npatterns];
		struct pat pp;
		size_t off, j;
		if (parse_pattern(pt->hex, &pp) || pp.len < 4 ||
		    pt->imm_offset > pp.len - 4) /* no uint32 wrap */
			return exq__err_set(&w->img->err, EXQ_INVALID,
					    "pattern '%s' is not hex bytes with ?? "
					    "wildcards holding the imm32 at %u",
					    pt->hex, pt->imm_offset);
		for (off = 0; off + pp.len <= got; off++) {
			char how[128];
			for (j = 0; j < pp.len; j++)
				if ((code[off + j] & pp.mask[j]) != pp.val[j])
					break;
			if (j < pp.len)
				continue;
			snprintf(how, sizeof(how), "pattern:%s@ExQueueWorkItem+0x%zx",
				 pt->name ? pt->name : "user", off);
			if (try_candidate(w, exq__le32(code + off + pt->imm_offset), how)) {
				w->found_by = strdup(how);
				return EXQ_OK;
			}
		}
	}
	return EXQ_NOTFOUND;
}

/* Last resort without any pattern: look through ntoskrnl's writable
 * sections for three consecutive KQUEUE headers (Type 4, Size 0x0A) one
 * EX_WORK_QUEUE apart, and validate each such place like a pattern hit. */
static exq_status scan_data(struct walker *w)
{
	const exq__pe *pe = w->k->pe;
	const exq_kernel_info *ki = exq_kernel_get_info(w->k);
	const exq__profile *cands[4];
	size_t n = exq__profile_candidates(ki->build, cands, 4), s, tries = 0;
	uint8_t page[EXQ__PAGE_SIZE];
	if (!n)
		return EXQ_NOTFOUND;
	for (s = 0; s < pe->nsections; s++) {
		const exq__pe_section *sec = &pe->sections[s];
		uint64_t va, end = ki->base + sec->rva + sec->vsize;
		if (!(sec->characteristics & EXQ__SCN_MEM_WRITE))
			continue;
		for (va = (ki->base + sec->rva) & ~0xFFFull; va < end; va += EXQ__PAGE_SIZE) {
			uint32_t off;
			if (exq_read_virt(w->vs, va, page, sizeof(page), NULL) != EXQ_OK)
				continue;
			for (off = 0; off + 4 <= sizeof(page); off += 4) {
				uint64_t v = va + off;
				uint8_t h[4];
				char how[64];
				if (page[off] != cands[0]->kqueue.type ||
				    page[off + 2] != cands[0]->kqueue.dispatcher_size)
					continue;
				if (exq_read_virt(w->vs, v + 2u * cands[0]->ex_work_queue.size,
						  h, 4, NULL) != EXQ_OK ||
				    h[0] != cands[0]->kqueue.type ||
				    h[2] != cands[0]->kqueue.dispatcher_size)
					continue;
				if (++tries > 64)
					return EXQ_NOTFOUND;
				snprintf(how, sizeof(how), "scan:%s+0x%" PRIx64, ki->name,
					 v - ki->base);
				if (try_candidate(w, v, how)) {
					w->found_by = strdup(how);
					return EXQ_OK;
				}
			}
		}
	}
	return EXQ_NOTFOUND;
}

static exq_status locate(struct walker *w, const exq_workq_opts *o)
{
	const exq_image_info *in = exq_image_get_info(w->img);
	exq_status st;
	if (o->have_va) {
		if (try_candidate(w, o->va, "override")) {
			w->found_by = strdup("override");
			return EXQ_OK;
		}
		return exq__err_set(&w->img->err, EXQ_NOTFOUND,
				    "--exworkerqueue 0x%" PRIx64 " does not validate: %s",
				    o->va, w->wq->nrejected ? w->wq->rejected[0] : "");
	}
	st = scan_patterns(w, o);
	if (st == EXQ_OK || st == EXQ_INVALID)
		return st;
	/* Fallback: INVALID_WORK_QUEUE_ITEM names the queue in parameter 3. */
	if ((in->have & EXQ_HAVE_BUGCHECK) && in->bugcheck_code == 0x96 &&
	    try_candidate(w, in->bugcheck_params[2], "bugcheck-0x96")) {
		w->found_by = strdup("bugcheck-0x96");
		return EXQ_OK;
	}
	st = scan_data(w);
	if (st == EXQ_OK)
		return st;
	return exq__err_set(&w->img->err, EXQ_NOTFOUND,
			    "ExWorkerQueue not found: no pattern hit in "
			    "ExQueueWorkItem validated (%zu candidates rejected%s%s)",
			    w->wq->nrejected, w->wq->nrejected ? "; first: " : "",
			    w->wq->nrejected ? w->wq->rejected[0] : "");
}

/* ------------------------------------------------------------ walking */

static void add_error(exq_wq_queue *q, int status, uint64_t node,
		      uint64_t link, const char *fmt, ...) EXQ__PRINTF(5, 6);
static void add_error(exq_wq_queue *q, int status, uint64_t node,
		      uint64_t link, const char *fmt, ...)
{
	exq_wq_error *e;
	va_list ap;
	if (q->nerrors >= EXQ_WQ_MAX_ERRORS)
		return;
	e = &q->errors[q->nerrors++];
	e->status = status;
	e->node = node;
	e->link = link;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

static size_t pow2_at_least(size_t n)
{
	size_t c = 16;
	while (c < n)
		c <<= 1;
	return c;
}

/* Walk one list: call visit(node) for each node until the head; bounded
 * by max, cycle-safe, errors on q. visit returns 0 to go on. */
typedef int (*visit_fn)(struct walker *w, exq_wq_queue *q, uint64_t prev,
			uint64_t node);

/* A Blink that does not name the node the Flinks came from: the list is
 * inconsistent (damage, or a dump taken mid-update). The walk follows the
 * Flinks; each disagreement is a warning (the first few named, then a
 * count). */
#define MAX_BLINK_WARNINGS 4

static void check_blink(struct walker *w, exq_wq_queue *q, const char *what,
			uint64_t node, uint32_t blink, uint64_t want, size_t *bad)
{
	int head = strcmp(what, "list head") == 0;
	if (blink == want)
		return;
	if (++*bad <= MAX_BLINK_WARNINGS)
		exq__warn(w->img,
			  "%s queue: %s 0x%" PRIx64 ": Blink 0x%x does not "
			  "point back to 0x%" PRIx64 ", %s",
			  q->name, what, node, blink, want,
			  head ? "the last node of its Flinks"
			       : "the node whose Flink leads here");
}

/* After a break in the Flinks (not at the head, not at --max-items):
 * follow the Blinks back from the head to the first node the Flinks
 * reached (or a node that cannot be read), and visit the nodes found in
 * list order, marked "recovered": "blink" (DESIGN §7). bad_link: the
 * address the forward walk failed at (not reported twice). */
static void walk_back(struct walker *w, exq_wq_queue *q, uint64_t head,
		      uint64_t *set, size_t cap, size_t budget,
		      uint64_t bad_link, const char *what, visit_fn visit)
{
	uint64_t *back, after = head;
	uint32_t node;
	uint8_t b[0x10];
	size_t nb = 0, i;
	exq_status st;
	if (!budget || rd32(w, head + 4, &node) != EXQ_OK)
		return;
	back = malloc(budget * sizeof(*back));
	if (!back)
		return;
	while (node != head && !exq__visited(set, cap, node)) {
		if (nb == budget) {
			add_error(q, EXQ_LIMIT, after, node,
				  "walking back from the head: more than %zu %s "
				  "(--max-items)",
				  budget, what);
			break;
		}
		st = exq_read_virt(w->vs, node, b, sizeof(b), NULL);
		if (st != EXQ_OK) {
			if (node != bad_link)
				add_error(q, st, after, node,
					  "walking back from the head: %s 0x%x "
					  "(Blink of 0x%" PRIx64 ") unreadable: %s",
					  what, node, after,
					  exq_image_error(w->img));
			break;
		}
		back[nb++] = node;
		after = node;
		node = exq__le32(b + 4);
	}
	for (i = nb; i-- > 0;) {
		size_t before = q->nitems;
		if (visit(w, q, i + 1 < nb ? back[i + 1] : 0, back[i]))
			break;
		if (q->nitems > before)
			q->items[q->nitems - 1].recovered = "blink";
	}
	free(back);
}

static void walk_list(struct walker *w, exq_wq_queue *q, uint64_t head,
		      size_t max, const char *what, visit_fn visit,
		      int recover)
{
	size_t cap = pow2_at_least(2 * max + 2), n = 0, bad = 0;
	uint64_t *set = calloc(cap, sizeof(*set));
	uint64_t prev = head, bad_link = 0;
	uint32_t next;
	uint8_t links[8]; /* Flink, Blink */
	int broke = 0;
	exq_status st;
	if (!set) {
		add_error(q, EXQ_NOMEM, head, head, "out of memory walking %s", what);
		return;
	}
	st = rd32(w, head, &next);
	while (st == EXQ_OK && next != head) {
		if (n == max) {
			add_error(q, EXQ_LIMIT, prev, next, "more than %zu %s (--max-items)", max, what);
			break;
		}
		if (exq__visited(set, cap, next)) {
			add_error(q, -1, prev, next, "%s list cycle: Flink of 0x%" PRIx64
				  " points back to 0x%x", what, prev, next);
			broke = 1;
			break;
		}
		if (visit(w, q, prev, next)) {
			broke = 1;
			bad_link = next;
			break;
		}
		n++;
		if (exq_read_virt(w->vs, next, links, sizeof(links), NULL) ==
		    EXQ_OK) { /* one read: the Flink, and the Blink to check */
			check_blink(w, q, what, next, exq__le32(links + 4), prev,
				    &bad);
			prev = next;
			next = exq__le32(links);
		} else { /* the Blink may lie on a page that cannot be read */
			prev = next;
			st = rd32(w, prev, &next);
		}
	}
	if (st != EXQ_OK) {
		add_error(q, st, prev, prev, "Flink of %s 0x%" PRIx64 " unreadable: %s",
			  prev == head ? "the list head" : "node", prev,
			  exq_image_error(w->img));
		broke = prev != head;
	} else if (next == head && rd32(w, head + 4, &next) == EXQ_OK) {
		/* the head's Blink names the last node */
		check_blink(w, q, "list head", head, next, prev, &bad);
	}
	if (bad > MAX_BLINK_WARNINGS)
		exq__warn(w->img, "%s queue: %zu more %s list nodes whose Blink "
			  "does not point back",
			  q->name, bad - MAX_BLINK_WARNINGS, what);
	if (broke && recover)
		walk_back(w, q, head, set, cap, max - n, bad_link, what, visit);
	free(set);
}

static const char *state_name(uint32_t s)
{
	static const char *const n[] = {"INITIALIZED", "READY", "RUNNING",
					"STANDBY", "TERMINATED", "WAIT",
					"TRANSITION", "DEFERREDREADY", "GATEWAIT"};
	return s < sizeof(n) / sizeof(n[0]) ? n[s] : "UNKNOWN";
}

static int visit_thread(struct walker *w, exq_wq_queue *q, uint64_t prev,
			uint64_t node)
{
	const exq__profile *P = w->P;
	uint64_t kt = node - P->kthread.queue_list_entry;
	exq_wq_thread *t;
	uint32_t qp = 0, pid = 0, tid = 0, teb = 0, w32 = 0, start = 0;
	uint8_t type = 0, state = 0;
	exq_status st;
	if (q->nthreads == MAX_THREADS)
		return 1;
	st = exq_read_virt(w->vs, kt, &type, 1, NULL);
	if (!st)
		st = exq_read_virt(w->vs, kt + P->kthread.state, &state, 1, NULL);
	if (!st)
		st = rd32(w, kt + P->kthread.queue, &qp);
	if (!st)
		st = rd32(w, kt + P->kthread.teb, &teb);
	if (!st)
		st = rd32(w, kt + P->kthread.win32thread, &w32);
	if (!st)
		st = rd32(w, kt + P->ethread.cid, &pid);
	if (!st)
		st = rd32(w, kt + P->ethread.cid + 4, &tid);
	if (!st)
		st = rd32(w, kt + P->ethread.start_address, &start);
	if (st) {
		add_error(q, st, prev, node, "worker thread 0x%" PRIx64 " unreadable: %s",
			  kt, exq_image_error(w->img));
		return 1;
	}
	if (type != P->kthread.type_value || qp != q->va) {
		add_error(q, EXQ_CORRUPT, prev, node, "0x%" PRIx64 " on the thread list "
			  "is not a KTHREAD of this queue (Type %u, Queue 0x%x)",
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

/* UNICODE_STRING {u16 Length, u16 MaximumLength, u32 Buffer} → UTF-8. */
static char *read_ustr32(struct walker *w, uint64_t va)
{
	uint8_t h[8], buf[512];
	uint16_t len;
	char *out;
	if (exq_read_virt(w->vs, va, h, 8, NULL))
		return NULL;
	len = exq__le16(h);
	if ((len & 1) || len > sizeof(buf) || len > exq__le16(h + 2) ||
	    exq_read_virt(w->vs, exq__le32(h + 4), buf, len, NULL))
		return NULL;
	out = malloc(len * 3 / 2 + 2);
	if (out)
		exq__utf16le_to_utf8(buf, len / 2, out, len * 3 / 2 + 2);
	return out;
}

static void io_details(struct walker *w, exq_wq_queue *q, exq_wq_item *it)
{
	const exq__profile *P = w->P;
	uint32_t r = 0, obj = 0, ctx = 0, drv = 0;
	uint8_t t[2];
	if (rd32(w, it->va + P->io_workitem.routine, &r) ||
	    rd32(w, it->va + P->io_workitem.io_object, &obj) ||
	    rd32(w, it->va + P->io_workitem.context, &ctx)) {
		add_error(q, EXQ_NODATA, it->va, it->va + P->io_workitem.routine,
			  "IO_WORKITEM 0x%" PRIx64 " fields unreadable: %s", it->va,
			  exq_image_error(w->img));
		return;
	}
	it->io_routine = r;
	it->io_object = obj;
	it->context = ctx;
	if (exq_read_virt(w->vs, obj, t, 2, NULL))
		return;
	if (t[0] == P->device_object.type_value) {
		it->io_object_type = 3;
		if (rd32(w, obj + P->device_object.driver_object, &drv))
			return;
	} else if (t[0] == P->driver_object.type_value) {
		it->io_object_type = 4;
		drv = obj;
	} else {
		return;
	}
	if (exq_read_virt(w->vs, drv, t, 2, NULL) == EXQ_OK &&
	    t[0] == P->driver_object.type_value)
		it->driver = read_ustr32(w, drv + P->driver_object.driver_name);
}

static int visit_item(struct walker *w, exq_wq_queue *q, uint64_t prev,
		      uint64_t node)
{
	uint8_t b[0x10];
	exq_wq_item *it;
	exq_status st = exq_read_virt(w->vs, node, b, sizeof(b), NULL);
	if (st) {
		add_error(q, st, prev, node, "work item 0x%" PRIx64 " (Flink of 0x%" PRIx64
			  ") unreadable: %s", node, prev, exq_image_error(w->img));
		return 1;
	}
	if (q->nitems % 64 == 0) {
		exq_wq_item *n = realloc(q->items, (q->nitems + 64) * sizeof(*n));
		if (!n) {
			add_error(q, EXQ_NOMEM, node, node, "out of memory");
			return 1;
		}
		q->items = n;
	}
	it = &q->items[q->nitems++];
	memset(it, 0, sizeof(*it));
	it->va = node;
	it->routine = exq__le32(b + w->P->work_queue_item.worker_routine);
	it->parameter = exq__le32(b + w->P->work_queue_item.parameter);
	it->kind = it->parameter == node ? EXQ_WQ_IO_WORKITEM : EXQ_WQ_WORK_QUEUE_ITEM;
	if (it->kind == EXQ_WQ_IO_WORKITEM)
		io_details(w, q, it);
	return 0;
}

static void walk_queue(struct walker *w, int i)
{
	const exq__profile *P = w->P;
	exq_wq_queue *q = &w->wq->queues[i];
	uint8_t b[0x3C];
	q->index = i;
	q->name = queue_names[i];
	q->va = w->wq->va + (uint64_t)i * P->ex_work_queue.size;
	if (exq_read_virt(w->vs, q->va, b, P->ex_work_queue.size, NULL)) {
		add_error(q, EXQ_NODATA, q->va, q->va, "EX_WORK_QUEUE unreadable: %s",
			  exq_image_error(w->img));
		return;
	}
	q->signal_state = exq__le32(b + P->dispatcher.signal_state);
	q->current = exq__le32(b + P->kqueue.current_count);
	q->maximum = exq__le32(b + P->kqueue.maximum_count);
	q->threads = calloc(MAX_THREADS, sizeof(*q->threads));
	if (!q->threads) {
		add_error(q, EXQ_NOMEM, q->va, q->va, "out of memory");
		return;
	}
	walk_list(w, q, q->va + P->kqueue.thread_list_head, MAX_THREADS,
		  "worker thread", visit_thread, 0);
	walk_list(w, q, q->va + P->kqueue.entry_list_head, w->max_items,
		  "work item", visit_item, 1);
	q->threads_count = (uint32_t)q->nthreads;
	/* A supporting signal only (DESIGN §7): a dump taken mid-update can
	 * disagree. */
	if (!q->nerrors && q->signal_state != q->nitems)
		exq__warn(w->img, "%s queue: SignalState %u but %zu items pending",
			  q->name, q->signal_state, q->nitems);
	/* EX_WORK_QUEUE.Info bits 3..31: WorkerCount, what !exqueue shows as
	 * the second number of "Threads: n/m" on builds that keep it. */
	q->threads_max = exq__le32(b + P->ex_work_queue.info) >> 3;
}

void exq_workq_free(exq_workq *wq)
{
	size_t i, j;
	if (!wq)
		return;
	for (i = 0; i < wq->nqueues; i++) {
		for (j = 0; j < wq->queues[i].nitems; j++)
			free((char *)wq->queues[i].items[j].driver);
		free(wq->queues[i].items);
		free(wq->queues[i].threads);
	}
	for (i = 0; i < wq->nrejected; i++)
		free((char *)wq->rejected[i]);
	free((char *)wq->found_by);
	free(wq);
}

static exq_status check_supported(exq_kernel *k)
{
	const exq_kernel_info *ki = exq_kernel_get_info(k);
	exq_image *img = exq_vspace_image(k->vs);
	if (!ki->has_build)
		return exq__err_set(&img->err, EXQ_UNSUPPORTED,
				    "the kernel's build is unknown: no layout "
				    "profile can be chosen");
	if (exq__kptr64(k))
		return exq__err_set(&img->err, EXQ_UNSUPPORTED,
				    "build %u is 64-bit: exq has x86 work-queue "
				    "layouts only so far", ki->build);
	if (!exq__profile_candidates(ki->build, NULL, 0))
		return exq__err_set(&img->err, EXQ_UNSUPPORTED,
				    "build %u (%s) has no work-queue profile%s%s",
				    ki->build, ki->os ? ki->os : "unknown",
				    ki->build >= 9200 ? ": Windows 8 and later replaced "
							"the static ExWorkerQueue array"
						      : "",
				    "");
	return EXQ_OK;
}

exq_status exq_workq_walk(exq_kernel *k, const exq_workq_opts *opts,
			  exq_workq **out)
{
	static const exq_workq_opts none;
	struct walker w;
	exq_status st;
	size_t i;
	int q;
	if (!k || !out)
		return EXQ_INVALID;
	if (!opts)
		opts = &none;
	st = check_supported(k);
	if (st != EXQ_OK)
		return st;
	memset(&w, 0, sizeof(w));
	w.k = k;
	w.vs = k->vs;
	w.img = k->img;
	w.max_items = opts->max_items ? opts->max_items : EXQ_WQ_DEFAULT_MAX_ITEMS;
	if (w.max_items > EXQ_WQ_MAX_ITEMS_CAP) /* sizes the visited set */
		w.max_items = EXQ_WQ_MAX_ITEMS_CAP;
	w.wq = calloc(1, sizeof(*w.wq));
	if (!w.wq)
		return EXQ_NOMEM;
	st = locate(&w, opts);
	w.wq->found_by = w.found_by;
	if (st != EXQ_OK) {
		exq_workq_free(w.wq);
		return st;
	}
	w.wq->nqueues = P_COUNT(w.P);
	for (q = 0; q < (int)w.wq->nqueues; q++)
		walk_queue(&w, q);
	st = EXQ_OK;
	for (i = 0; i < w.wq->nqueues && st == EXQ_OK; i++)
		if (w.wq->queues[i].nerrors) {
			int s = w.wq->queues[i].errors[0].status;
			st = s < 0 ? EXQ_CORRUPT : (exq_status)s;
		}
	if (st != EXQ_OK)
		exq__err_set(&w.img->err, st, "%s queue: %s",
			     w.wq->queues[i - 1].name,
			     w.wq->queues[i - 1].errors[0].message);
	*out = w.wq;
	return st;
}
