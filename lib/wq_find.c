/* SPDX-License-Identifier: MIT */
/* Finding the system worker queues without symbols (DESIGN §7, §7b):
 * one engine for instruction patterns (absolute and RIP-relative
 * operands, with an optional load that must follow), one ops table per
 * queue model {resolve an operand to a root, validate a root, list its
 * queues}, and the fallbacks: the System process's worker threads, the
 * bugcheck 0x96 parameter, a scan of ntoskrnl's data. Every candidate is
 * validated structurally before use; item lists never decide (a dump
 * taken mid-update must not lose its queues). Walking: wq_walk.c. */
#include "exq_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_PAT 24
#define MAX_WINDOW 0x1000
#define MAX_SYS_THREADS 4096
#define MAX_QOBJ 256
#define MAX_CANDIDATE_ROWS 4
#define FOLLOW_WITHIN 16
#define MAX_MAXIMUM_COUNT 1024
#define SYSTEM_PID 4

/* ----------------------------------------------------------- reading */

/* Every read of the search and the walk: out of memory is remembered
 * (w->nomem), so that it ends the walk as NOMEM instead of reading as a
 * candidate that does not validate (issue 16). */
exq_status exq__wq_read(struct exq__wq *w, uint64_t va, void *buf, size_t len,
			size_t *got)
{
	exq_status st = exq_read_virt(w->vs, va, buf, len, got);
	if (st == EXQ_NOMEM)
		w->nomem = 1;
	return st;
}

void exq__wq_warn(struct exq__wq *w, const char *fmt, ...)
{
	char buf[EXQ__WARN_MAX];
	va_list ap;
	if (w->nomem)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	exq__warn(w->img, "%s", buf);
}

/* exq_kernel_export, the same way */
static exq_status kexport(struct exq__wq *w, const char *name, uint64_t *va)
{
	exq_status st = exq_kernel_export(w->k, name, va);
	if (st == EXQ_NOMEM)
		w->nomem = 1;
	return st;
}

exq_status exq__wq_rdptr(struct exq__wq *w, uint64_t va, uint64_t *v)
{
	uint8_t b[8];
	exq_status st = exq__wq_read(w, va, b, w->P->ptr, NULL);
	if (st == EXQ_OK)
		*v = w->P->ptr == 8 ? exq__le64(b) : exq__le32(b);
	return st;
}

exq_status exq__wq_rd32(struct exq__wq *w, uint64_t va, uint32_t *v)
{
	uint8_t b[4];
	exq_status st = exq__wq_read(w, va, b, 4, NULL);
	if (st == EXQ_OK)
		*v = exq__le32(b);
	return st;
}

static uint64_t rdptr0(struct exq__wq *w, uint64_t va)
{
	uint64_t v = 0;
	return exq__wq_rdptr(w, va, &v) == EXQ_OK ? v : 0;
}

void exq__wq_reject(struct exq__wq *w, const char *fmt, ...)
{
	char buf[300];
	va_list ap;
	size_t n = w->wq->nrejected;
	if (n >= EXQ__WQ_MAX_REJECTED)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	w->rejected[n] = strdup(buf);
	if (!w->rejected[n])
		w->nomem = 1;
	if (w->rejected[n])
		w->wq->nrejected++;
}

/* ------------------------------------------------------------ patterns */

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
	if (!hex)
		return -1;
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

/* A built-in row: a pattern, and for the partition model the load of
 * EPARTITION.ExPartition that must follow (`mov r, [dst + disp8]`, where
 * dst is the register the first instruction loaded): a look-alike first
 * instruction without it is a decoy. */
struct row {
	exq_wq_pattern p;
	uint8_t follow_disp; /* 0: nothing must follow */
};

#define ABS EXQ_WQ_ABS32
#define RIP EXQ_WQ_RIPREL

/* x86 static-array: the seed article's `push edi; add esi, offset
 * ExWorkerQueue` first, then the generic forms that carry an imm32. */
static const struct row rows_array_x86[] = {
	{{"push-edi-add-esi", "57 81 C6 ?? ?? ?? ??", 3, ABS, 0}, 0},
	{{"add-r32-imm32", "81 C? ?? ?? ?? ??", 2, ABS, 0}, 0},
	{{"add-eax-imm32", "05 ?? ?? ?? ??", 1, ABS, 0}, 0},
	{{"lea-disp32", "8D ?5 ?? ?? ?? ??", 2, ABS, 0}, 0},
	{{"lea-disp32", "8D ?D ?? ?? ?? ??", 2, ABS, 0}, 0},
	{{"lea-reg-disp32", "8D 8? ?? ?? ?? ??", 2, ABS, 0}, 0},
	{{"lea-reg-disp32", "8D 9? ?? ?? ?? ??", 2, ABS, 0}, 0},
	{{"lea-reg-disp32", "8D A? ?? ?? ?? ??", 2, ABS, 0}, 0},
	{{"lea-reg-disp32", "8D B? ?? ?? ?? ??", 2, ABS, 0}, 0},
	{{"mov-r32-imm32", "B? ?? ?? ?? ??", 1, ABS, 0}, 0},
};
/* x64 static-array (7): `lea r64, [rip+disp32]` (REX 8D modrm 00-reg-101). */
static const struct row rows_array_x64[] = {
	{{"lea-rip", "4? 8D ?5 ?? ?? ?? ??", 3, RIP, 7}, 0},
	{{"lea-rip", "4? 8D ?D ?? ?? ?? ??", 3, RIP, 7}, 0},
};
/* ENODE models: KeQueryNodeMaximumProcessorCount reads KeNodeBlock[n]. */
static const struct row rows_enode_x86[] = {
	{{"mov-sib-abs", "8B ?4 ?5 ?? ?? ?? ??", 3, ABS, 7}, 0},
	{{"mov-sib-abs", "8B ?C ?5 ?? ?? ?? ??", 3, ABS, 7}, 0},
	{{"mov-sib-abs", "8B ?4 ?D ?? ?? ?? ??", 3, ABS, 7}, 0},
	{{"mov-sib-abs", "8B ?C ?D ?? ?? ?? ??", 3, ABS, 7}, 0},
	{{"mov-abs", "8B ?5 ?? ?? ?? ??", 2, ABS, 6}, 0},
	{{"mov-abs", "8B ?D ?? ?? ?? ??", 2, ABS, 6}, 0},
	{{"mov-eax-abs", "A1 ?? ?? ?? ??", 1, ABS, 5}, 0},
};
static const struct row rows_enode_x64[] = {
	{{"lea-rip", "4? 8D ?5 ?? ?? ?? ??", 3, RIP, 7}, 0},
	{{"lea-rip", "4? 8D ?D ?? ?? ?? ??", 3, RIP, 7}, 0},
	{{"mov-rip", "4? 8B ?5 ?? ?? ?? ??", 3, RIP, 7}, 0},
	{{"mov-rip", "4? 8B ?D ?? ?? ?? ??", 3, RIP, 7}, 0},
};
/* Partition (10 1709 on): ExQueueWorkItem loads PspSystemPartition, then
 * its ExPartition (x64 +0x10, x86 +0x08). */
static const struct row rows_part_x86[] = {
	{{"mov-abs-partition", "8B ?5 ?? ?? ?? ??", 2, ABS, 6}, 0x08},
	{{"mov-abs-partition", "8B ?D ?? ?? ?? ??", 2, ABS, 6}, 0x08},
	{{"mov-abs-partition", "A1 ?? ?? ?? ??", 1, ABS, 5}, 0x08},
};
static const struct row rows_part_x64[] = {
	{{"mov-rip-partition", "4? 8B ?5 ?? ?? ?? ??", 3, RIP, 7}, 0x10},
	{{"mov-rip-partition", "4? 8B ?D ?? ?? ?? ??", 3, RIP, 7}, 0x10},
};

#define ROWS(a) a, sizeof(a) / sizeof(a[0])

/* The register an instruction at code[0] loads (reg field of its ModRM,
 * extended by REX.R on x64; A1 loads eax). -1 when not a load. */
static int dest_reg(const uint8_t *code, size_t len, int x64)
{
	if (!x64)
		return code[0] == 0xA1 ? 0 : len >= 2 ? (code[1] >> 3) & 7 : -1;
	if (len < 3 || (code[0] & 0xF0) != 0x40)
		return -1;
	return ((code[0] & 4) << 1) | ((code[2] >> 3) & 7);
}

/* Does `mov r, [dst + disp8]` start within FOLLOW_WITHIN bytes of at? */
static int follows_load(const uint8_t *code, size_t got, size_t at, int dst,
			uint8_t disp, int x64)
{
	size_t i, end = at + FOLLOW_WITHIN < got ? at + FOLLOW_WITHIN : got;
	for (i = at; i < end; i++) {
		const uint8_t *c = code + i;
		size_t left = got - i;
		int base, rex = 0;
		if (x64) {
			if (left < 4 || (c[0] & 0xF0) != 0x40)
				continue;
			rex = c[0];
			c++;
			left--;
		}
		if (left < 3 || c[0] != 0x8B || (c[1] >> 6) != 1 || (c[1] & 7) == 4)
			continue;
		base = ((rex & 1) << 3) | (c[1] & 7);
		if (base == dst && c[2] == disp)
			return 1;
	}
	return 0;
}

/* ---------------------------------------------------- validating roots */

static int enode_inline(const exq__profile *P)
{
	return P->model == EXQ_WQ_MODEL_ENODE_KQUEUE ||
	       (P->model == EXQ_WQ_MODEL_ENODE_KPRIQUEUE && !P->ex_work_queue.node);
}

static int in_kernel(struct exq__wq *w, uint64_t va)
{
	const exq_kernel_info *ki = exq_kernel_get_info(w->k);
	return va >= ki->base && va - ki->base < ki->size;
}

/* Is the worker thread whose QueueListEntry is at node one of q's? */
static int thread_of(struct exq__wq *w, uint64_t node, uint64_t q)
{
	const exq__profile *P = w->P;
	uint64_t kt = node - P->kthread.queue_list_entry, qp = 0, pid = 0;
	uint8_t type = 0;
	if (exq__wq_read(w, kt, &type, 1, NULL) != EXQ_OK ||
	    exq__wq_rdptr(w, kt + P->kthread.queue, &qp) != EXQ_OK ||
	    exq__wq_rdptr(w, kt + P->ethread.cid, &pid) != EXQ_OK)
		return 0;
	return type == P->kthread.type_value && qp == q && pid == SYSTEM_PID;
}

int exq__wq_queue_ok(struct exq__wq *w, uint64_t q, char *why, size_t n)
{
	const exq__profile *P = w->P;
	uint8_t h[4];
	uint32_t maxc = 0;
	uint64_t head = q + P->kqueue.thread_list_head, fl = 0, bl = 0;
	if (exq__wq_read(w, q, h, 4, NULL) != EXQ_OK ||
	    exq__wq_rd32(w, q + P->kqueue.maximum_count, &maxc) != EXQ_OK ||
	    exq__wq_rdptr(w, head, &fl) != EXQ_OK ||
	    exq__wq_rdptr(w, head + P->ptr, &bl) != EXQ_OK) {
		snprintf(why, n, "queue at 0x%" PRIx64 " unreadable", q);
		return 0;
	}
	if (h[P->dispatcher.type] != P->kqueue.type ||
	    (P->kqueue.dispatcher_size &&
	     h[P->dispatcher.size] != P->kqueue.dispatcher_size)) {
		snprintf(why, n, "queue at 0x%" PRIx64 ": header Type/Size "
			 "0x%x/0x%x, want 0x%x/0x%x", q, h[P->dispatcher.type],
			 h[P->dispatcher.size], P->kqueue.type,
			 P->kqueue.dispatcher_size);
		return 0;
	}
	if (maxc < 1 || maxc > MAX_MAXIMUM_COUNT) {
		snprintf(why, n, "queue at 0x%" PRIx64 ": MaximumCount %u not "
			 "in 1..%d", q, maxc, MAX_MAXIMUM_COUNT);
		return 0;
	}
	/* Thread ownership decides; a head half-updated (one link to itself,
	 * the other to a thread) still has an owner to show. */
	if (fl == head && bl == head)
		return 1;
	if ((fl != head && thread_of(w, fl, q)) ||
	    (bl != head && thread_of(w, bl, q)))
		return 1;
	snprintf(why, n, "queue at 0x%" PRIx64 ": its thread list (Flink "
		 "0x%" PRIx64 ", Blink 0x%" PRIx64 ") holds no KTHREAD of this "
		 "queue in the System process", q, fl, bl);
	return 0;
}

/* A pointer slot of a queue table: NULL and bit-0-tagged entries are
 * skipped (DESIGN §7b). */
static int slot_used(uint64_t p)
{
	return p && !(p & 1);
}

/* The EX_WORK_QUEUE at p claims slot index of owner (its Node or
 * Partition field, per model). */
static int claims(struct exq__wq *w, uint64_t p, uint64_t owner,
		  uint32_t index, char *why, size_t n)
{
	const exq__profile *P = w->P;
	uint16_t field = P->model == EXQ_WQ_MODEL_PARTITION ? P->ex_work_queue.partition
							    : P->ex_work_queue.node;
	uint32_t qi = 0;
	if (!exq__wq_queue_ok(w, p, why, n))
		return 0;
	if (field && rdptr0(w, p + field) != owner) {
		snprintf(why, n, "queue 0x%" PRIx64 " names %s 0x%" PRIx64
			 ", not 0x%" PRIx64, p,
			 P->model == EXQ_WQ_MODEL_PARTITION ? "partition" : "node",
			 rdptr0(w, p + field), owner);
		return 0;
	}
	if (P->ex_work_queue.queue_index &&
	    (exq__wq_rd32(w, p + P->ex_work_queue.queue_index, &qi) != EXQ_OK ||
	     qi != index)) {
		snprintf(why, n, "queue 0x%" PRIx64 " in slot %u has QueueIndex %u",
			 p, index, qi);
		return 0;
	}
	return 1;
}

/* A table of P->ex_work_queue.count queue pointers at tab, owned by
 * owner: every used slot validates, and at least one is used. */
static int table_ok(struct exq__wq *w, uint64_t tab, uint64_t owner,
		    char *why, size_t n)
{
	uint32_t i, used = 0;
	for (i = 0; i < w->P->ex_work_queue.count; i++) {
		uint64_t p = 0;
		if (exq__wq_rdptr(w, tab + (uint64_t)i * w->P->ptr, &p) != EXQ_OK) {
			snprintf(why, n, "queue table 0x%" PRIx64 " unreadable", tab);
			return 0;
		}
		if (!slot_used(p))
			continue;
		if (!claims(w, p, owner, i, why, n))
			return 0;
		used++;
	}
	if (!used)
		snprintf(why, n, "queue table 0x%" PRIx64 " is empty", tab);
	return used > 0;
}

static int array_ok(struct exq__wq *w, uint64_t v, char *why, size_t n)
{
	uint32_t i;
	for (i = 0; i < w->P->ex_work_queue.count; i++)
		if (!exq__wq_queue_ok(w, v + (uint64_t)i * w->P->ex_work_queue.size,
				      why, n))
			return 0;
	return 1;
}

static int enode_ok(struct exq__wq *w, uint64_t e, char *why, size_t n)
{
	if (!e) {
		snprintf(why, n, "ENODE pointer is NULL");
		return 0;
	}
	if (enode_inline(w->P))
		return array_ok(w, e + w->P->enode.queues, why, n);
	return table_ok(w, e + w->P->enode.queues, e, why, n);
}

static int partition_ok(struct exq__wq *w, uint64_t x, char *why, size_t n)
{
	uint64_t tabs = 0, t0 = 0;
	if (!x || exq__wq_rdptr(w, x + w->P->partition.work_queues, &tabs) ||
	    !tabs || exq__wq_rdptr(w, tabs, &t0) || !t0) {
		snprintf(why, n, "EX_PARTITION 0x%" PRIx64 ": WorkQueues "
			 "unreadable or NULL", x);
		return 0;
	}
	return table_ok(w, t0, x, why, n);
}

/* ------------------------------------------------------ the model ops */

struct model_ops {
	exq_wq_model model;
	const char *function; /* export whose code names the root */
	const struct row *rows_x86;
	size_t nrows_x86;
	const struct row *rows_x64;
	size_t nrows_x64;
	/* An operand's address → root (0 when unreadable). */
	uint64_t (*resolve)(struct exq__wq *w, uint64_t a);
	int (*validate)(struct exq__wq *w, uint64_t root, char *why, size_t n);
	/* Root → w->q[] (node by node, by index). */
	exq_status (*enumerate)(struct exq__wq *w);
	/* A queue object found through a worker thread → root candidates
	 * (up to max); how many. */
	size_t (*from_queue)(struct exq__wq *w, uint64_t q, uint64_t *roots,
			     size_t max);
};

static exq_status add_q(struct exq__wq *w, uint64_t va, uint32_t node,
			uint32_t index)
{
	if (w->nq == EXQ__WQ_MAX_QUEUES)
		return exq__err_set(&w->img->err, EXQ_LIMIT,
				    "more than %d work queues", EXQ__WQ_MAX_QUEUES);
	w->q[w->nq].va = va;
	w->q[w->nq].node = node;
	w->q[w->nq].index = index;
	w->nq++;
	return EXQ_OK;
}

static exq_status add_table(struct exq__wq *w, uint64_t tab, uint32_t node)
{
	uint32_t i;
	exq_status st = EXQ_OK;
	for (i = 0; i < w->P->ex_work_queue.count && st == EXQ_OK; i++) {
		uint64_t p = rdptr0(w, tab + (uint64_t)i * w->P->ptr);
		if (slot_used(p))
			st = add_q(w, p, node, i);
	}
	return st;
}

static exq_status add_array(struct exq__wq *w, uint64_t v, uint32_t node)
{
	uint32_t i;
	exq_status st = EXQ_OK;
	for (i = 0; i < w->P->ex_work_queue.count && st == EXQ_OK; i++)
		st = add_q(w, v + (uint64_t)i * w->P->ex_work_queue.size, node, i);
	return st;
}

/* static-array */
static uint64_t resolve_same(struct exq__wq *w, uint64_t a)
{
	(void)w;
	return a;
}

static exq_status enum_array(struct exq__wq *w)
{
	w->wq->nodes = 1;
	return add_array(w, w->root, 0);
}

static size_t from_queue_array(struct exq__wq *w, uint64_t q, uint64_t *r,
			       size_t max)
{
	size_t i, n = 0;
	for (i = 0; i < w->P->ex_work_queue.count && n < max; i++)
		r[n++] = q - i * w->P->ex_work_queue.size;
	return n;
}

/* ENODE models: the operand is KeNodeBlock; the root is node 0's ENODE. */
static uint64_t resolve_node_block(struct exq__wq *w, uint64_t a)
{
	w->node_block = a;
	return rdptr0(w, a);
}

static exq_status enum_enode(struct exq__wq *w)
{
	uint32_t n, limit = w->nodes_hint ? w->nodes_hint : EXQ__WQ_MAX_NODES;
	exq_status st = EXQ_OK;
	char why[200];
	for (n = 0; n < limit && st == EXQ_OK; n++) {
		uint64_t e = n == 0 ? w->root : 0;
		if (n > 0) {
			if (!w->node_block)
				break;
			e = rdptr0(w, w->node_block + (uint64_t)n * w->P->ptr);
			if (e == w->root || !enode_ok(w, e, why, sizeof(why))) {
				if (w->nodes_hint)
					exq__wq_warn(w, "KeNumberNodes is %u but "
						  "node %u's ENODE (0x%" PRIx64
						  ") does not validate: %s",
						  w->nodes_hint, n, e, why);
				break;
			}
		}
		st = enode_inline(w->P) ? add_array(w, e + w->P->enode.queues, n)
					: add_table(w, e + w->P->enode.queues, n);
		w->wq->nodes = n + 1;
	}
	return st;
}

static size_t from_queue_enode(struct exq__wq *w, uint64_t q, uint64_t *r,
			       size_t max)
{
	size_t i, n = 0;
	if (!enode_inline(w->P)) {
		if (max)
			r[n++] = rdptr0(w, q + w->P->ex_work_queue.node);
		return n;
	}
	for (i = 0; i < w->P->ex_work_queue.count && n < max; i++)
		r[n++] = q - w->P->enode.queues - i * w->P->ex_work_queue.size;
	return n;
}

/* partition: the operand is PspSystemPartition; the root EX_PARTITION. */
static uint64_t resolve_partition(struct exq__wq *w, uint64_t a)
{
	uint64_t ep = rdptr0(w, a);
	return ep ? rdptr0(w, ep + w->P->partition.ex_partition) : 0;
}

static exq_status enum_partition(struct exq__wq *w)
{
	uint64_t tabs = rdptr0(w, w->root + w->P->partition.work_queues);
	uint32_t n, limit = w->nodes_hint ? w->nodes_hint : EXQ__WQ_MAX_NODES;
	exq_status st = EXQ_OK;
	char why[200];
	for (n = 0; n < limit && st == EXQ_OK; n++) {
		uint64_t t = rdptr0(w, tabs + (uint64_t)n * w->P->ptr);
		if (n > 0 && (!t || !table_ok(w, t, w->root, why, sizeof(why)))) {
			if (w->nodes_hint)
				exq__wq_warn(w, "KeNumberNodes is %u but node %u's "
					  "queue table (0x%" PRIx64 ") does not "
					  "validate%s%s",
					  w->nodes_hint, n, t, t ? ": " : "",
					  t ? why : "");
			break;
		}
		st = add_table(w, t, n);
		w->wq->nodes = n + 1;
	}
	return st;
}

static size_t from_queue_partition(struct exq__wq *w, uint64_t q, uint64_t *r,
				   size_t max)
{
	if (!max)
		return 0;
	r[0] = rdptr0(w, q + w->P->ex_work_queue.partition);
	return 1;
}

static const struct model_ops ops[] = {
	{EXQ_WQ_MODEL_STATIC_ARRAY, "ExQueueWorkItem", ROWS(rows_array_x86),
	 ROWS(rows_array_x64), resolve_same, array_ok, enum_array,
	 from_queue_array},
	{EXQ_WQ_MODEL_ENODE_KQUEUE, "KeQueryNodeMaximumProcessorCount",
	 ROWS(rows_enode_x86), ROWS(rows_enode_x64), resolve_node_block,
	 enode_ok, enum_enode, from_queue_enode},
	{EXQ_WQ_MODEL_ENODE_KPRIQUEUE, "KeQueryNodeMaximumProcessorCount",
	 ROWS(rows_enode_x86), ROWS(rows_enode_x64), resolve_node_block,
	 enode_ok, enum_enode, from_queue_enode},
	{EXQ_WQ_MODEL_PARTITION, "ExQueueWorkItem", ROWS(rows_part_x86),
	 ROWS(rows_part_x64), resolve_partition, partition_ok, enum_partition,
	 from_queue_partition},
};

static const struct model_ops *ops_for(exq_wq_model m)
{
	size_t i;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].model == m)
			return &ops[i];
	return NULL;
}

/* ------------------------------------------------------- candidates */

struct cands {
	const exq__profile *rows[MAX_CANDIDATE_ROWS];
	size_t n;
};

/* Validate root under each candidate row; keep the first that passes. */
static int try_root(struct exq__wq *w, const struct cands *c, uint64_t root,
		    const char *how)
{
	char why[240] = "no profile";
	size_t i;
	for (i = 0; i < c->n; i++) {
		const struct model_ops *o = ops_for(c->rows[i]->model);
		w->P = c->rows[i];
		if (o && o->validate(w, root, why, sizeof(why))) {
			w->root = root;
			snprintf(w->found_by, sizeof(w->found_by), "%s", how);
			return 1;
		}
	}
	w->P = c->rows[0];
	exq__wq_reject(w, "0x%" PRIx64 " (%s): %s", root, how, why);
	return 0;
}

/* Scan fn's code for rows (user patterns first); resolve and validate
 * each hit. EXQ_OK when one validates. */
static exq_status scan_function(struct exq__wq *w, const struct cands *c,
				const struct model_ops *o, const char *fn_name)
{
	const exq_workq_opts *uo = w->opts;
	int x64 = c->rows[0]->ptr == 8;
	const struct row *rows = x64 ? o->rows_x64 : o->rows_x86;
	size_t nrows = x64 ? o->nrows_x64 : o->nrows_x86;
	size_t np = uo->npatterns + nrows, p, got = 0, off;
	size_t window = uo->window ? uo->window : EXQ_WQ_DEFAULT_WINDOW;
	uint8_t code[MAX_WINDOW];
	uint64_t fn;
	exq_status st = kexport(w, fn_name, &fn);
	if (uo->npatterns && !uo->patterns)
		return exq__err_set(&w->img->err, EXQ_INVALID,
				    "%zu patterns given without a pattern list",
				    uo->npatterns);
	if (st != EXQ_OK)
		return st;
	if (window > MAX_WINDOW)
		window = MAX_WINDOW;
	st = exq__wq_read(w, fn, code, window, &got);
	if (got < 8)
		return exq__err_ctx(&w->img->err, st == EXQ_OK ? EXQ_NOTFOUND : st,
				    "%s at 0x%" PRIx64, fn_name, fn);
	for (p = 0; p < np; p++) {
		const exq_wq_pattern *pt = p < uo->npatterns ? &uo->patterns[p]
							     : &rows[p - uo->npatterns].p;
		uint8_t follow = p < uo->npatterns ? 0 : rows[p - uo->npatterns].follow_disp;
		uint32_t insn = pt->insn_len ? pt->insn_len : pt->imm_offset + 4;
		struct pat pp;
		if (parse_pattern(pt->hex, &pp) || pp.len < 4 ||
		    pt->imm_offset > pp.len - 4 || insn < pt->imm_offset + 4 ||
		    insn > MAX_WINDOW)
			return exq__err_set(&w->img->err, EXQ_INVALID,
					    "pattern '%s' is not hex bytes with ?? "
					    "wildcards holding the operand at %u",
					    pt->hex ? pt->hex : "(null)", pt->imm_offset);
		for (off = 0; off + pp.len <= got; off++) {
			char how[160];
			uint64_t a, root;
			size_t j;
			for (j = 0; j < pp.len; j++)
				if ((code[off + j] & pp.mask[j]) != pp.val[j])
					break;
			if (j < pp.len)
				continue;
			if (follow && !follows_load(code, got, off + insn,
						    dest_reg(code + off, got - off, x64),
						    follow, x64))
				continue;
			a = exq__le32(code + off + pt->imm_offset);
			if (pt->operand == EXQ_WQ_RIPREL)
				a = fn + off + insn + (uint64_t)(int64_t)(int32_t)a;
			snprintf(how, sizeof(how), "pattern:%s@%s+0x%zx",
				 pt->name ? pt->name : "user", fn_name, off);
			if (!in_kernel(w, a)) {
				exq__wq_reject(w, "0x%" PRIx64 " (%s): outside the "
					       "kernel image", a, how);
				continue;
			}
			w->P = c->rows[0];
			w->node_block = 0;
			root = o->resolve(w, a);
			if (try_root(w, c, root, how))
				return EXQ_OK;
		}
	}
	return EXQ_NOTFOUND;
}

/* KeNumberNodes, as KeQueryHighestNodeNumber reads it (`movzx eax, word
 * [KeNumberNodes]`); 0 when not found or implausible. */
static uint32_t nodes_hint(struct exq__wq *w)
{
	uint8_t code[0x40];
	size_t got = 0, off;
	uint64_t fn;
	int x64 = w->P->ptr == 8;
	if (kexport(w, "KeQueryHighestNodeNumber", &fn) != EXQ_OK)
		return 0;
	exq__wq_read(w, fn, code, sizeof(code), &got);
	for (off = 0; off + 7 <= got; off++) {
		uint64_t a;
		uint8_t b[2];
		uint32_t v;
		if (code[off] != 0x0F || (code[off + 1] != 0xB7 && code[off + 1] != 0xB6) ||
		    (code[off + 2] & 0xC7) != 0x05)
			continue;
		a = exq__le32(code + off + 3);
		if (x64)
			a = fn + off + 7 + (uint64_t)(int64_t)(int32_t)a;
		if (!in_kernel(w, a) || exq__wq_read(w, a, b, 2, NULL))
			continue;
		v = code[off + 1] == 0xB7 ? exq__le16(b) : b[0];
		if (v >= 1 && v <= EXQ__WQ_MAX_NODES)
			return v;
	}
	return 0;
}

/* --------------------------------------------- fallback: worker threads */

static uint64_t system_process(struct exq__wq *w)
{
	const exq__profile *P = w->P;
	const exq_image_info *in = exq_image_get_info(w->img);
	const exq_kernel_info *ki = exq_kernel_get_info(w->k);
	uint64_t va, ep, head = 0, node;
	uint64_t *set;
	size_t cap = 2 * MAX_SYS_THREADS, n;
	if (!P->eprocess.unique_process_id)
		return 0; /* EPROCESS layout unknown for this build */
	if (kexport(w, "PsInitialSystemProcess", &va) == EXQ_OK &&
	    (ep = rdptr0(w, va)) && rdptr0(w, ep + P->eprocess.unique_process_id) == SYSTEM_PID)
		return ep;
	if (in->have & EXQ_HAVE_PROCESS_HEAD)
		head = in->ps_active_process_head;
	else if (ki->has_kdbg)
		head = rdptr0(w, ki->kdbg_va + 0x50);
	if (!head)
		return 0;
	if (!(set = calloc(cap + 1, sizeof(*set)))) {
		w->nomem = 1;
		return 0;
	}
	node = rdptr0(w, head);
	for (n = 0; node && node != head && n < MAX_SYS_THREADS; n++) {
		if (exq__visited(set, cap, node))
			break;
		ep = node - P->eprocess.active_process_links;
		if (rdptr0(w, ep + P->eprocess.unique_process_id) == SYSTEM_PID) {
			free(set);
			return ep;
		}
		node = rdptr0(w, node);
	}
	free(set);
	return 0;
}

/* The queue objects the System process's threads wait on, ascending. */
static size_t thread_queues(struct exq__wq *w, uint64_t *qs, size_t max)
{
	const exq__profile *P = w->P;
	uint64_t ep = system_process(w), head, node, *set;
	size_t cap = 2 * MAX_SYS_THREADS, n = 0, i, t;
	if (!ep)
		return 0;
	if (!(set = calloc(cap + 1, sizeof(*set)))) {
		w->nomem = 1;
		return 0;
	}
	head = ep + P->eprocess.thread_list_head;
	node = rdptr0(w, head);
	for (t = 0; node && node != head && t < MAX_SYS_THREADS; t++) {
		uint64_t kt = node - P->ethread.thread_list_entry, q;
		if (exq__visited(set, cap, node))
			break;
		q = rdptr0(w, kt + P->kthread.queue);
		for (i = 0; q && i < n && qs[i] != q; i++)
			;
		if (q && i == n && n < max) {
			while (i > 0 && qs[i - 1] > q) { /* insertion: ascending */
				qs[i] = qs[i - 1];
				i--;
			}
			qs[i] = q;
			n++;
		}
		node = rdptr0(w, node);
	}
	free(set);
	return n;
}

/* Each readable page of ntoskrnl's writable sections, in order: fn(w,
 * page VA, its bytes, arg) until it returns non-zero, which is returned
 * (0 when every page was seen). */
typedef int (*data_page_fn)(struct exq__wq *w, uint64_t va,
			    const uint8_t *page, void *arg);

static int data_pages(struct exq__wq *w, data_page_fn fn, void *arg)
{
	const exq__pe *pe = w->k->pe;
	const exq_kernel_info *ki = exq_kernel_get_info(w->k);
	uint8_t page[EXQ__PAGE_SIZE];
	size_t s;
	int r;
	for (s = 0; pe && s < pe->nsections; s++) {
		const exq__pe_section *sec = &pe->sections[s];
		uint64_t va, end = ki->base + sec->rva + sec->vsize;
		if (!(sec->characteristics & EXQ__SCN_MEM_WRITE))
			continue;
		for (va = (ki->base + sec->rva) & ~0xFFFull; va < end; va += EXQ__PAGE_SIZE)
			if (exq__wq_read(w, va, page, sizeof(page), NULL) == EXQ_OK &&
			    (r = fn(w, va, page, arg)) != 0)
				return r;
	}
	return 0;
}

/* KeNodeBlock for ENODEs found without it: a run of pointers in
 * ntoskrnl's writable sections naming exactly those ENODEs. */
struct node_block {
	const uint64_t *e;
	size_t ne;
	uint64_t found;
};

static int node_block_page(struct exq__wq *w, uint64_t va, const uint8_t *page,
			   void *arg)
{
	struct node_block *nb = arg;
	size_t off, ps = w->P->ptr;
	for (off = 0; off + ps <= EXQ__PAGE_SIZE; off += ps) {
		uint64_t v = ps == 8 ? exq__le64(page + off) : exq__le32(page + off);
		size_t k, run;
		if (v != nb->e[0])
			continue;
		for (run = 1; run < nb->ne; run++) {
			uint64_t x = rdptr0(w, va + off + run * ps);
			for (k = 0; k < nb->ne && nb->e[k] != x; k++)
				;
			if (k == nb->ne)
				break;
		}
		if (run == nb->ne) {
			nb->found = va + off;
			return 1;
		}
	}
	return 0;
}

static uint64_t find_node_block(struct exq__wq *w, const uint64_t *e, size_t ne)
{
	struct node_block nb = {e, ne, 0};
	data_pages(w, node_block_page, &nb);
	return nb.found;
}

static exq_status by_threads(struct exq__wq *w, const struct cands *c,
			     const struct model_ops *o)
{
	uint64_t qs[MAX_QOBJ], roots[8], enodes[EXQ__WQ_MAX_NODES];
	size_t nq, i, j, r, nr, ne = 0;
	char why[240];
	for (r = 0; r < c->n; r++) {
		w->P = c->rows[r];
		nq = thread_queues(w, qs, MAX_QOBJ);
		ne = 0;
		for (i = 0; i < nq; i++) {
			nr = o->from_queue(w, qs[i], roots, 8);
			for (j = 0; j < nr; j++) {
				size_t k;
				for (k = 0; k < ne && enodes[k] != roots[j]; k++)
					;
				if (k < ne || !o->validate(w, roots[j], why, sizeof(why)))
					continue;
				if (o->model == EXQ_WQ_MODEL_STATIC_ARRAY ||
				    o->model == EXQ_WQ_MODEL_PARTITION) {
					w->root = roots[j];
					snprintf(w->found_by, sizeof(w->found_by), "threads");
					return EXQ_OK;
				}
				if (ne < EXQ__WQ_MAX_NODES)
					enodes[ne++] = roots[j];
				break;
			}
		}
		if (ne)
			break;
	}
	if (!ne) {
		w->P = c->rows[0];
		exq__wq_reject(w, "threads: no worker thread of the System "
			       "process leads to a queue that validates");
		return EXQ_NOTFOUND;
	}
	/* ENODE models: node order from KeNodeBlock when it can be found. */
	w->node_block = find_node_block(w, enodes, ne);
	w->root = w->node_block ? rdptr0(w, w->node_block) : enodes[0];
	if (!w->node_block && ne > 1)
		exq__wq_warn(w, "%zu ENODEs found through worker threads but "
			  "not KeNodeBlock: only node 0 (0x%" PRIx64 ") is walked",
			  ne, w->root);
	if (!w->nodes_hint && w->node_block)
		w->nodes_hint = (uint32_t)ne;
	snprintf(w->found_by, sizeof(w->found_by), "threads");
	return EXQ_OK;
}

/* Last resort for static-array: ntoskrnl's writable sections, looking for
 * count queue headers one EX_WORK_QUEUE apart, each place validated like a
 * pattern hit (at most 64 tries). */
struct array_scan {
	const struct cands *c;
	size_t tries;
	exq_status st;
};

static int array_page(struct exq__wq *w, uint64_t va, const uint8_t *page,
		      void *arg)
{
	struct array_scan *as = arg;
	const exq__profile *P = as->c->rows[0];
	const exq_kernel_info *ki = exq_kernel_get_info(w->k);
	uint32_t off;
	for (off = 0; off + 4 <= EXQ__PAGE_SIZE; off += 4) {
		uint64_t v = va + off;
		uint8_t h[4];
		char how[96];
		if (page[off] != P->kqueue.type ||
		    page[off + 2] != P->kqueue.dispatcher_size)
			continue;
		if (exq__wq_read(w, v + 2u * P->ex_work_queue.size, h, 4, NULL) != EXQ_OK ||
		    h[0] != P->kqueue.type || h[2] != P->kqueue.dispatcher_size)
			continue;
		if (++as->tries > 64)
			return 1; /* st stays NOTFOUND */
		snprintf(how, sizeof(how), "scan:%s+0x%" PRIx64, ki->name, v - ki->base);
		if (try_root(w, as->c, v, how)) {
			as->st = EXQ_OK;
			return 1;
		}
	}
	return 0;
}

static exq_status scan_data(struct exq__wq *w, const struct cands *c)
{
	struct array_scan as = {c, 0, EXQ_NOTFOUND};
	data_pages(w, array_page, &as);
	return as.st;
}

exq_status exq__wq_locate(struct exq__wq *w)
{
	const exq_image_info *in = exq_image_get_info(w->img);
	const exq_kernel_info *ki = exq_kernel_get_info(w->k);
	exq_machine m = exq__kptr64(w->k) ? EXQ_MACHINE_X64 : EXQ_MACHINE_X86;
	const struct model_ops *o;
	struct cands c;
	exq_status st;
	c.n = exq__profile_candidates(m, ki->build, c.rows, MAX_CANDIDATE_ROWS);
	if (c.n > MAX_CANDIDATE_ROWS)
		c.n = MAX_CANDIDATE_ROWS;
	if (!c.n)
		return exq__profile_for_build(m, ki->build, -1, &w->P, &w->img->err);
	w->P = c.rows[0];
	o = ops_for(w->P->model);
	if (!o)
		return exq__err_set(&w->img->err, EXQ_UNSUPPORTED,
				    "profile %s has no queue model", w->P->name);
	/* KeNumberNodes bounds the ENODE and partition node lists; a static
	 * array has one node */
	if (o->model != EXQ_WQ_MODEL_STATIC_ARRAY)
		w->nodes_hint = nodes_hint(w);
	if (w->opts->have_root) {
		if (!try_root(w, &c, w->opts->root, "override"))
			return exq__err_set(&w->img->err, EXQ_NOTFOUND,
					    "queue root 0x%" PRIx64 " given does not "
					    "validate as %s: %s",
					    w->opts->root, exq_wq_model_name(o->model),
					    w->wq->nrejected ? w->rejected[0] : "");
	} else {
		st = scan_function(w, &c, o, o->function);
		if (st == EXQ_INVALID)
			return st;
		if (st != EXQ_OK)
			st = by_threads(w, &c, o);
		if (st != EXQ_OK && o->model == EXQ_WQ_MODEL_STATIC_ARRAY &&
		    (in->have & EXQ_HAVE_BUGCHECK) && in->bugcheck_code == 0x96 &&
		    try_root(w, &c, in->bugcheck_params[2], "bugcheck-0x96"))
			st = EXQ_OK;
		if (st != EXQ_OK && o->model == EXQ_WQ_MODEL_STATIC_ARRAY)
			st = scan_data(w, &c);
		if (st != EXQ_OK)
			return exq__err_set(&w->img->err, EXQ_NOTFOUND,
					    "%s queue root not found: no pattern in "
					    "%s and no worker thread led to queues "
					    "that validate (%zu candidates "
					    "rejected%s%s)",
					    exq_wq_model_name(o->model), o->function,
					    w->wq->nrejected,
					    w->wq->nrejected ? "; first: " : "",
					    w->wq->nrejected ? w->rejected[0] : "");
	}
	o = ops_for(w->P->model);
	return o->enumerate(w);
}
