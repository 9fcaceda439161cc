/* SPDX-License-Identifier: MIT */
/*
 * tlib_win_queues.c — the queue models of the world builder (DESIGN §7,
 * §7b, contract.md): the code bytes that name each model's root
 * (ExQueueWorkItem, KeQueryNodeMaximumProcessorCount, with their decoys),
 * the roots (ExWorkerQueue, ENODEs, EPARTITION / EX_PARTITION), the queue
 * objects with their worker threads and pending items, and the damage of
 * the static-array worlds. Memory, paging and the kernel: tlib_win.c.
 */
#include "tlib_win.h"
#include "tlib_win_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Queue object layouts per model and machine (DESIGN §7, §7b; offsets.md
 * "EX_WORK_QUEUE", "KQUEUE", "KPRIQUEUE"). 0: no such field. */
static const struct qlay qlays[TW_MODEL_COUNT][2] = {
	[TW_MODEL_STATIC] = {
		{ .size = 0x3c, .type = 4, .hdr = 0x0a, .entry = 0x10,
		  .cur = 0x18, .max = 0x1c, .thr = 0x20, .dyn = 0x28,
		  .processed = 0x2c, .lastpass = 0x30, .depth = 0x34,
		  .info = 0x38 },
		{ .size = 0x58, .type = 4, .hdr = 0x10, .entry = 0x18,
		  .cur = 0x28, .max = 0x2c, .thr = 0x30, .dyn = 0x40,
		  .processed = 0x44, .lastpass = 0x48, .depth = 0x4c,
		  .info = 0x50 },
	},
	[TW_MODEL_ENODE_KQUEUE] = {
		{ .size = 0x38, .type = 4, .hdr = 0x0a, .entry = 0x10,
		  .cur = 0x18, .max = 0x1c, .thr = 0x20, .processed = 0x28,
		  .lastpass = 0x2c, .threadcount = 0x30, .tryfailed = 0x34 },
		{ .size = 0x50, .type = 4, .hdr = 0x10, .entry = 0x18,
		  .cur = 0x28, .max = 0x2c, .thr = 0x30, .processed = 0x40,
		  .lastpass = 0x44, .threadcount = 0x48, .tryfailed = 0x4c },
	},
	/* KPRIQUEUE Header.Size = sizeof KPRIQUEUE / 4 (unverified) */
	[TW_MODEL_ENODE_KPRIQUEUE] = {
		{ .size = 0x1b8, .type = 0x15, .hdr = 0x67, .entry = 0x10,
		  .cur = 0x110, .max = 0x190, .thr = 0x194, .pri = 1,
		  .node = 0x19c, .processed = 0x1a0, .lastpass = 0x1a4,
		  .threadcount = 0x1a8, .minthreads = 0x1ac, .maxthreads = 0x1b0,
		  .qindex = 0x1b4 },
		{ .size = 0x2d0, .type = 0x15, .hdr = 0xac, .entry = 0x18,
		  .cur = 0x218, .max = 0x298, .thr = 0x2a0, .pri = 1,
		  .node = 0x2b0, .processed = 0x2b8, .lastpass = 0x2bc,
		  .threadcount = 0x2c0, .minthreads = 0x2c4, .maxthreads = 0x2c8,
		  .qindex = 0x2cc },
	},
	[TW_MODEL_PARTITION] = {
		{ .size = 0x1c0, .type = 0x15, .hdr = 0x67, .entry = 0x10,
		  .cur = 0x110, .max = 0x190, .thr = 0x194, .pri = 1,
		  .partition = 0x19c, .node = 0x1a0, .processed = 0x1a4,
		  .lastpass = 0x1a8, .threadcount = 0x1ac, .minthreads = 0x1b0,
		  .maxthreads = 0x1b4, .qindex = 0x1b8, .exited = 0x1bc },
		{ .size = 0x2e0, .type = 0x15, .hdr = 0xac, .entry = 0x18,
		  .cur = 0x218, .max = 0x298, .thr = 0x2a0, .pri = 1,
		  .partition = 0x2b0, .node = 0x2b8, .processed = 0x2c0,
		  .lastpass = 0x2c4, .threadcount = 0x2c8, .minthreads = 0x2cc,
		  .maxthreads = 0x2d0, .qindex = 0x2d4, .exited = 0x2d8 },
	},
};

const struct qlay *qlay_of(enum tw_model m, int x64)
{
	return &qlays[m][x64 ? 1 : 0];
}

/* 8.1 RTM (9600.16384): EX_WORK_QUEUE 0x1ac / 0x2c0 = KPRIQUEUE,
 * WorkItemsProcessed, …LastPass, ThreadCount, TryFailed (offsets.md,
 * Volatility 2 win8_sp1_*). */
static const struct qlay rtm81[2] = {
	{ .size = 0x1ac, .type = 0x15, .hdr = 0x67, .entry = 0x10,
	  .cur = 0x110, .max = 0x190, .thr = 0x194, .pri = 1,
	  .processed = 0x19c, .lastpass = 0x1a0, .threadcount = 0x1a4,
	  .tryfailed = 0x1a8 },
	{ .size = 0x2c0, .type = 0x15, .hdr = 0xac, .entry = 0x18,
	  .cur = 0x218, .max = 0x298, .thr = 0x2a0, .pri = 1,
	  .processed = 0x2b0, .lastpass = 0x2b4, .threadcount = 0x2b8,
	  .tryfailed = 0x2bc },
};

const struct qlay *qlay_rtm81(int x64)
{
	return &rtm81[x64 ? 1 : 0];
}

/* ExQueueWorkItem (stdcall, 2 args): a plausible prologue, a DECOY
 * `push edi; add esi, imm32` naming zeros in .data on a bounds-check
 * path, then the real one naming ExWorkerQueue, both inside the first
 * 0x100 bytes. Without the pattern, the queue address is taken through a
 * pointer in .data (add esi, [mem]), which no pattern of DESIGN §7 takes. */
static void code_exqueueworkitem(struct gen *g, uint64_t va, uint64_t queue,
				 uint64_t decoy, uint64_t ptrvar)
{
	uint8_t c[0x140];
	size_t n = 0;
	struct tw_world *w = g->w;
	memset(c, 0xcc, sizeof c);
	put_bytes(c, &n, "8BFF 55 8BEC 51 53 8B5D08 56 8B750C 85DB 0F84"
			 "1A010000 837B0800 7414");
	if (!no_pattern(w)) {
		put_bytes(c, &n, "83FE03 730F 57");
		w->decoy_off = (uint32_t)n - 1;
		put_bytes(c, &n, "81C6");
		put32at(c, &n, (uint32_t)decoy);
		put_bytes(c, &n, "5F EB05");
	}
	put_bytes(c, &n, "64A124010000 8945FC 6A00 6A00 FF75FC E8");
	put32at(c, &n, 0xfffe1a2c);
	put_bytes(c, &n, "6BF63C");
	if (!no_pattern(w)) {
		put_bytes(c, &n, "57");
		w->pattern_off = (uint32_t)n - 1;
		put_bytes(c, &n, "81C6");
		put32at(c, &n, (uint32_t)queue);
	} else {
		put_bytes(c, &n, "57 0335");
		put32at(c, &n, (uint32_t)ptrvar);
	}
	put_bytes(c, &n, "8BFE 8D4E10 8BD3 FF15");
	put32at(c, &n, (uint32_t)(va + 0x1f0));
	put_bytes(c, &n, "8B4618 3B461C 7309 837E2800 7503 FF4628 5F 5E 5B"
			 "C9 C20800");
	vwrite(g, va, c, sizeof c);
}

/* Windows 7 x64 ExQueueWorkItem: a decoy `lea rdx,[rip+d32]` naming
 * zeros, then the real `lea rcx,[rip+ExWorkerQueue]` (contract.md);
 * without the pattern the array comes from an internal call. */
static void code_exqueueworkitem64(struct gen *g, uint64_t va, uint64_t queue,
				   uint64_t decoy, uint64_t helper)
{
	uint8_t c[0x100];
	size_t n = 0;
	struct tw_world *w = g->w;
	memset(c, 0xcc, sizeof c);
	put_bytes(c, &n, "48895C2408 4889742410 57 4883EC20 8BF2 488BD9");
	if (!no_pattern(w)) {
		put_bytes(c, &n, "83FA03 7309");
		w->decoy_off = (uint32_t)n;
		put_bytes(c, &n, "488D15");
		put_rip(c, &n, va, decoy, 0);
		put_bytes(c, &n, "EB00");
	}
	put_bytes(c, &n, "65488B042588010000 FF8098010000");
	if (!no_pattern(w)) {
		w->pattern_off = (uint32_t)n;
		put_bytes(c, &n, "488D0D");
		put_rip(c, &n, va, queue, 0);
	} else {
		put_bytes(c, &n, "E8");
		put_rip(c, &n, va, helper, 0);
		put_bytes(c, &n, "488BC8");
	}
	put_bytes(c, &n, "486BF658 4803CE 488BD3 E8");
	put_rip(c, &n, va, va + 0x400, 0);
	put_bytes(c, &n, "488B5C2430 488B742438 4883C420 5F C3");
	vwrite(g, va, c, sizeof c);
}

/* ExQueueWorkItem of the ENODE models: the node comes from the KPRCB
 * (fs:/gs:), no memory operand names a root. */
static void code_exqueueworkitem_enode(struct gen *g, uint64_t va)
{
	uint8_t c[0x60];
	size_t n = 0;
	memset(c, 0xcc, sizeof c);
	if (g->w->machine == TW_X64) {
		put_bytes(c, &n, "4053 4883EC20 488BD9 65488B042520000000"
				 "488B8038530000 448BC2 488BD3 488BC8 E8");
		put_rip(c, &n, va, va + 0x300, 0);
		put_bytes(c, &n, "4883C420 5B C3");
	} else {
		put_bytes(c, &n, "8BFF 55 8BEC 64A120000000 8B80CC040000 50"
				 "FF750C FF7508 E8");
		put_rip(c, &n, va, va + 0x300, 0);
		put_bytes(c, &n, "5D C20800");
	}
	vwrite(g, va, c, sizeof c);
}

/* Windows 10 1709 … 11 ExQueueWorkItem: a decoy load of a .data pointer
 * not followed by the ExPartition load, a few instructions, then the
 * real `mov r8,[rip+PspSystemPartition]; mov rcx,[r8+10h]` (x64) or
 * `mov ecx,[PspSystemPartition]; mov ecx,[ecx+8]` (x86), contract.md. */
static void code_exqueueworkitem_part(struct gen *g, uint64_t va, uint64_t psp,
				      uint64_t decoyvar, uint64_t helper)
{
	uint8_t c[0x100];
	size_t n = 0;
	struct tw_world *w = g->w;
	memset(c, 0xcc, sizeof c);
	if (w->machine == TW_X64) {
		put_bytes(c, &n, "48895C2408 4883EC40 488BD9 8BFA");
		if (!no_pattern(w)) {
			w->decoy_off = (uint32_t)n;
			put_bytes(c, &n, "4C8B05");
			put_rip(c, &n, va, decoyvar, 0);
			put_bytes(c, &n, "4D85C0 7404 41FF4004");
		}
		put_bytes(c, &n, "33D2 FFC2 8BC7 83E001 85C0 7402 33FF");
		if (!no_pattern(w)) {
			w->pattern_off = (uint32_t)n;
			put_bytes(c, &n, "4C8B05");
			put_rip(c, &n, va, psp, 0);
			put_bytes(c, &n, "498B4810");
		} else {
			put_bytes(c, &n, "E8");
			put_rip(c, &n, va, helper, 0);
			put_bytes(c, &n, "488BC8");
		}
		put_bytes(c, &n, "448BC7 488BD3 41B9FFFFFFFF C744242000000000 E8");
		put_rip(c, &n, va, va + 0x500, 0);
		put_bytes(c, &n, "488B5C2450 4883C440 C3");
	} else {
		put_bytes(c, &n, "8BFF 55 8BEC 56 8B750C");
		if (!no_pattern(w)) {
			w->decoy_off = (uint32_t)n;
			put_bytes(c, &n, "A1");
			put32at(c, &n, (uint32_t)decoyvar);
			put_bytes(c, &n, "85C0 7403 FF4004");
		}
		put_bytes(c, &n, "33D2 42 8BC6 83E001");
		if (!no_pattern(w)) {
			w->pattern_off = (uint32_t)n;
			put_bytes(c, &n, "8B0D");
			put32at(c, &n, (uint32_t)psp);
			put_bytes(c, &n, "8B4908");
		} else {
			put_bytes(c, &n, "E8");
			put_rip(c, &n, va, helper, 0);
			put_bytes(c, &n, "8BC8");
		}
		put_bytes(c, &n, "6AFF 56 FF7508 E8");
		put_rip(c, &n, va, va + 0x500, 0);
		put_bytes(c, &n, "5E 5D C20800");
	}
	vwrite(g, va, c, sizeof c);
}

/* KeQueryNodeMaximumProcessorCount (contract.md): reads KeNumberNodes
 * and KeNodeBlock[node]; the root's pattern on the ENODE models. In a
 * no_pattern world it calls an internal routine instead. Returns the
 * offset of the KeNodeBlock instruction (0: none). */
static uint32_t code_nodemax(struct gen *g, uint64_t va, uint64_t numnodes,
			     uint64_t nodeblock, uint64_t helper, int plain)
{
	uint8_t c[0x40];
	size_t n = 0;
	uint32_t off = 0;
	memset(c, 0xcc, sizeof c);
	if (g->w->machine == TW_X64) {
		if (plain) {
			put_bytes(c, &n, "E9");
			put_rip(c, &n, va, helper, 0);
		} else {
			put_bytes(c, &n, "663B0D");
			put_rip(c, &n, va, numnodes, 0);
			put_bytes(c, &n, "7316 0FB7C9");
			off = (uint32_t)n;
			put_bytes(c, &n, "488D15");
			put_rip(c, &n, va, nodeblock, 0);
			put_bytes(c, &n, "488B04CA 0FB78000010000 C3 33C0 C3");
		}
	} else {
		put_bytes(c, &n, "8BFF 55 8BEC");
		if (plain) {
			put_bytes(c, &n, "FF7508 E8");
			put_rip(c, &n, va, helper, 0);
		} else {
			put_bytes(c, &n, "0FB74508 663B05");
			put32at(c, &n, (uint32_t)numnodes);
			put_bytes(c, &n, "7312"); /* to the xor */
			off = (uint32_t)n;
			put_bytes(c, &n, "8B0485");
			put32at(c, &n, (uint32_t)nodeblock);
			put_bytes(c, &n, "0FB78000010000 5D C20400 33C0");
		}
		put_bytes(c, &n, "5D C20400");
	}
	vwrite(g, va, c, sizeof c);
	return off;
}

/* KeQueryHighestNodeNumber: KeNumberNodes - 1. */
static void code_nodehigh(struct gen *g, uint64_t va, uint64_t numnodes)
{
	uint8_t c[0x10];
	size_t n = 0;
	memset(c, 0xcc, sizeof c);
	put_bytes(c, &n, "0FB705");
	if (g->w->machine == TW_X64) {
		put_rip(c, &n, va, numnodes, 0);
		put_bytes(c, &n, "FFC8 C3");
	} else {
		put32at(c, &n, (uint32_t)numnodes);
		put_bytes(c, &n, "48 C3");
	}
	vwrite(g, va, c, sizeof c);
}

/* Where the root's code goes: the model's ExQueueWorkItem and, from
 * Windows 8 on, the node functions. */
void code_root(struct gen *g, uint64_t va, int kind)
{
	struct tw_world *w = g->w;
	uint64_t helper = g->code2 + 0x700;
	if (kind == EX_QUEUE) {
		w->exqueueworkitem = va;
		if (!modern(w)) {
			if (w->machine == TW_X64)
				code_exqueueworkitem64(g, va, w->exworkerqueue,
						       w->decoy, helper);
			else
				code_exqueueworkitem(g, va, w->exworkerqueue,
						     w->decoy, g->data + D_QUEUEPTR);
		} else if (w->model == TW_MODEL_PARTITION) {
			code_exqueueworkitem_part(g, va, w->psp_system_partition,
						  g->data + D_DECOYPTR, helper);
		} else {
			code_exqueueworkitem_enode(g, va);
		}
		if (!modern(w) || w->model == TW_MODEL_PARTITION) {
			w->root_export = "ExQueueWorkItem";
			w->root_export_va = va;
		}
	} else if (kind == EX_NODEMAX) {
		int enode = w->model == TW_MODEL_ENODE_KQUEUE ||
			    w->model == TW_MODEL_ENODE_KPRIQUEUE;
		w->keq_node_max = va;
		uint32_t off = code_nodemax(g, va, w->ke_number_nodes,
					    w->ke_node_block, helper,
					    enode && no_pattern(w));
		if (enode) {
			w->pattern_off = off;
			w->decoy_off = 0;
			w->root_export = "KeQueryNodeMaximumProcessorCount";
			w->root_export_va = va;
		}
	} else {
		code_nodehigh(g, va, w->ke_number_nodes);
	}
}

/* ----------------------------------------------------- work queues */

/* EXQUEUEINDEX names: 8.1 … 10 1511 0 ExPoolUntrusted, 1 ExPoolTrusted;
 * from 10 1607 (14393) 0 ExPoolUntrusted, 1 IoPoolUntrusted,
 * 2 ExPoolTrusted (Volatility 2's enums; research/offsets.md). */
static const char *queue_name_of(enum tw_model m, uint32_t build, unsigned qi)
{
	static const char *const type[7] = { "Critical", "Delayed",
					     "HyperCritical", "Normal",
					     "Background", "RealTime",
					     "SuperCritical" };
	static const char *const pool[TW_QPN] = { "Pool0", "Pool1", "Pool2",
						  "Pool3", "Pool4", "Pool5",
						  "Pool6", "Pool7" };
	if (m == TW_MODEL_STATIC || m == TW_MODEL_ENODE_KQUEUE)
		return qi < 7 ? type[qi] : pool[qi % TW_QPN];
	if (qi == 0)
		return "ExPoolUntrusted";
	if (qi == 1)
		return build < 14393 ? "ExPoolTrusted" : "IoPoolUntrusted";
	if (qi == 2 && build >= 14393)
		return "ExPoolTrusted";
	return pool[qi % TW_QPN];
}

/* Pending IO items per queue (truth: how many of nitems are IO). */
static unsigned nio_of(const struct tw_world *w, const struct tw_queue *Q)
{
	unsigned io = w->spec.io_items[Q->queue_index % TW_QPN];
	return io < Q->nitems ? io : (unsigned)Q->nitems;
}

static struct tw_queue *add_queue(struct gen *g, uint64_t va, unsigned node,
				  unsigned qi)
{
	struct tw_world *w = g->w;
	const struct tw_spec *s = &w->spec;
	if (w->nqueues >= TW_MAXQUEUES) {
		fail(g, "too many queues");
		return &w->queues[0];
	}
	struct tw_queue *Q = &w->queues[w->nqueues++];
	Q->va = va;
	Q->node = node;
	Q->queue_index = qi;
	Q->name = queue_name_of(w->model, w->build, qi);
	Q->nitems = s->items[qi];
	Q->nthreads = s->threads[qi];
	if (node > 0 && Q->nitems)
		Q->nitems--;
	return Q;
}

static void write_threads(struct gen *g, unsigned q)
{
	struct tw_world *w = g->w;
	const struct layout *L = g->L;
	struct tw_queue *Q = &w->queues[q];
	uint64_t head = Q->va + g->Q->thr, prev = head;
	Q->threads = calloc(Q->nthreads ? Q->nthreads : 1, sizeof *Q->threads);
	if (!Q->threads) {
		fail(g, "out of memory");
		return;
	}
	for (size_t i = 0; i < Q->nthreads; i++) {
		struct tw_thread *t = &Q->threads[i];
		int cross = (i + q) % 3 == 1;
		if (cross) /* header and Queue on one page, QueueListEntry on
			      the next */
			pool_cross(g, L->kt_qle);
		else
			pool_gap(g);
		uint64_t e = pool_alloc(g, L->ethread_size, "Thr\xe5");
		t->ethread = e;
		t->pid = 4;
		t->tid = (g->tid += 4);
		t->state = (q == 0 && i == 0) ? 2 : 5;
		t->straddles = cross;
		v8(g, e, 6);                  /* Header.Type ThreadObject */
		v8(g, e + 2, (uint8_t)L->kthread_hdr);
		vlist(g, e + 8, e + 8, e + 8); /* Header.WaitListHead */
		vp(g, e + L->kt_queue, Q->va);
		v8(g, e + L->kt_state, (uint8_t)t->state);
		vp(g, e + L->kt_teb, 0);
		vp(g, e + L->kt_w32, 0);
		vp(g, e + L->et_cid, 4);
		vp(g, e + L->et_cid + w->ptr, t->tid);
		vp(g, e + L->et_start, w->exp_worker_thread);
		uint64_t le = e + L->kt_qle;
		vp(g, prev, le);
		vp(g, le + w->ptr, prev);
		prev = le;
	}
	vp(g, prev, head);
	vp(g, head + w->ptr, prev);
}

/* Routine of a plain work item: in a driver (foo/bar/Ntfs/tcpip) or in
 * the kernel's PAGE section. */
static uint64_t item_routine(struct gen *g, unsigned k)
{
	struct tw_world *w = g->w;
	static const unsigned mods[] = { 5, 0, 6, 3, 4 }; /* foo nt bar Ntfs tcpip */
	const struct tw_module *m = &w->modules[mods[k % 5]];
	if (m == &w->modules[0])
		return m->base + g->text_end_rva + DATA_SIZE + 0x1000 +
		       2 * (rnd(g) % 0x8000);
	return m->base + 0x1000 + 2 * (rnd(g) % ((m->size - 0x2000) / 2));
}

/* Is item j of a queue of n items (io of them IO_WORKITEMs) an
 * IO_WORKITEM? Spread over the queue: odd indices first, then from the
 * end. */
static int item_is_io(unsigned n, unsigned io, unsigned j)
{
	unsigned odd = n / 2;
	if (io > n)
		io = n;
	if (io <= odd)
		return j % 2 == 1 && j / 2 < io;
	return j % 2 == 1 || (n - 1 - j) / 2 < io - odd;
}

/* KPRIQUEUE priority of item j of queue q: several lists, one with more
 * than one item (WORK_QUEUE_TYPE → priority mapping is not modelled). */
static int item_priority(unsigned q, unsigned j)
{
	static const int p[] = { 12, 15, 8, 12, 31, 0, 13 };
	return p[(j + q) % 7];
}

static void one_item(struct gen *g, unsigned q, unsigned j,
		     const struct objects *o, struct tw_item *it, int nocross)
{
	struct tw_world *w = g->w;
	const struct mlay *M = g->M;
	const struct tw_queue *Q = &w->queues[q];
	int cross = j % 3 == 2 && !nocross;
	it->io = w->spec.damage != TW_DAMAGE_LIMIT || q != w->spec.damage_queue
			 ? item_is_io((unsigned)Q->nitems, nio_of(w, Q), j)
			 : 0;
	it->priority = g->Q->pri ? item_priority(q, j) : -1;
	if (it->io) {
		/* IO_WORKITEM: WorkItem +0, Routine, IoObject, Context,
		 * Type (Vista on) */
		static const unsigned drv[] = { 4, 3, 1, 2 }; /* bar foo Ntfs tcpip */
		unsigned d = drv[(j / 2 + q) % 4];
		if (cross)
			pool_cross(g, M->io_routine);
		it->va = pool_alloc(g, M->io_size, "IoWk");
		it->routine = w->iop_process_work_item;
		it->parameter = it->va;
		const struct tw_module *m = &w->modules[2 + d];
		it->io_routine = m->base + 0x1000 + 2 * (rnd(g) % 0x800);
		it->io_object_driver = o->device[d] == 0;
		it->io_object = it->io_object_driver ? o->driver[d] : o->device[d];
		snprintf(it->driver, sizeof it->driver, "%s", o->name[d]);
		it->context = (j % 4 == 1) ? 0 : it->va + 0x200 + 8 * (rnd(g) % 64);
		vp(g, it->va + M->io_routine, it->io_routine);
		vp(g, it->va + M->io_object, it->io_object);
		vp(g, it->va + M->io_context, it->context);
		if (g->L->io_type)
			v32(g, it->va + g->L->io_type, 1);
		symbolize(w, it->io_routine, it->io_routine_sym,
			  sizeof it->io_routine_sym);
	} else {
		/* a WORK_QUEUE_ITEM embedded at +0x10 of a driver context */
		if (cross)
			pool_cross(g, 0x10 + M->wi_routine); /* routine on the
								 next page */
		uint64_t ctx = pool_alloc(g, M->ctx_size, "Work");
		it->va = ctx + 0x10;
		it->routine = item_routine(g, j + q);
		it->parameter = (j % 2 == 0) ? ctx : 0;
		v32(g, ctx, 0x12345678u ^ rnd(g));
	}
	it->straddles = cross;
	it->listed = 1;
	vp(g, it->va + M->wi_routine, it->routine);
	vp(g, it->va + M->wi_param, it->parameter);
	symbolize(w, it->routine, it->routine_sym, sizeof it->routine_sym);
}

/* A pool page mapped outside every run, for the missing item. */
static void pool_missing_page(struct gen *g)
{
	struct tw_world *w = g->w;
	uint64_t va = (g->pool + PG - 1) & ~(uint64_t)(PG - 1);
	uint64_t pfn = runs_end(w) + 0x20 + rnd(g) % 0x40;
	w->missing_pa = pfn * PG;
	map4k(g, va, w->missing_pa, KPTE | (wide(w) ? NX : 0));
	g->pool = va + 0x100;
}

static int cmp_priority(const void *a, const void *b)
{
	const struct tw_item *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	/* equal priorities: creation order (carried in listed) */
	return x->listed < y->listed ? -1 : x->listed > y->listed;
}

static void write_items(struct gen *g, unsigned q, const struct objects *o)
{
	struct tw_world *w = g->w;
	struct tw_queue *Q = &w->queues[q];
	const struct tw_spec *s = &w->spec;
	const struct qlay *ql = g->Q;
	unsigned nl = ql->pri ? 32 : 1, P = w->ptr;
	uint64_t prev[32];
	int missing = s->damage == TW_DAMAGE_MISSING_PAGE && q == s->damage_queue;
	Q->items = calloc(Q->nitems ? Q->nitems : 1, sizeof *Q->items);
	if (!Q->items) {
		fail(g, "out of memory");
		return;
	}
	for (unsigned l = 0; l < nl; l++)
		prev[l] = Q->va + ql->entry + 2 * P * l;
	for (unsigned j = 0; j < Q->nitems; j++) {
		struct tw_item *it = &Q->items[j];
		if (missing && j == s->damage_at)
			pool_missing_page(g);
		else
			pool_gap(g);
		if (missing && j == s->damage_at) {
			/* write it into mem anyway: the page exists in the
			 * machine, only no image holds it */
			one_item(g, q, j, o, it, 1);
			w->used[w->missing_pa / PG] = 0;
			g->pool = ((g->pool + PG - 1) & ~(uint64_t)(PG - 1)) + 0x40;
		} else {
			one_item(g, q, j, o, it, 0);
		}
		unsigned l = it->priority >= 0 ? (unsigned)it->priority : 0;
		vp(g, prev[l], it->va);
		vp(g, it->va + P, prev[l]);
		prev[l] = it->va;
	}
	for (unsigned l = 0; l < nl; l++) {
		uint64_t head = Q->va + ql->entry + 2 * P * l;
		vp(g, prev[l], head);
		vp(g, head + P, prev[l]);
	}
	if (ql->pri && Q->nitems > 1) {
		/* truth in the kernel's order: priority 31 down to 0, each
		 * list from its head (listed carries the creation order
		 * through the sort) */
		for (size_t j = 0; j < Q->nitems; j++)
			Q->items[j].listed = (int)j + 1;
		qsort(Q->items, Q->nitems, sizeof *Q->items, cmp_priority);
		for (size_t j = 0; j < Q->nitems; j++)
			Q->items[j].listed = 1;
	}
}

/* EX_WORK_QUEUE q: KQUEUE / KPRIQUEUE (Header Type, Size, SignalState,
 * WaitListHead, EntryListHead(s), CurrentCount(s), MaximumCount,
 * ThreadListHead), then the model's counters. */
static void write_queue_header(struct gen *g, unsigned q)
{
	struct tw_world *w = g->w;
	struct tw_queue *Q = &w->queues[q];
	const struct qlay *ql = g->Q;
	uint64_t v = Q->va;
	uint32_t cpus = w->spec.cpus / w->nodes;
	Q->worker_count = (uint32_t)Q->nthreads;
	Q->has_max = 1;
	Q->maximum = cpus ? cpus : 1;
	Q->current = q == 0 ? 1 : 0;
	Q->signal_state = (uint32_t)Q->nitems;
	v8(g, v, ql->type);
	v8(g, v + 2, ql->hdr);
	v32(g, v + 4, Q->signal_state);
	vlist(g, v + 8, v + 8, v + 8);
	v32(g, v + ql->cur + (ql->pri ? 4 * 12 : 0), Q->current);
	v32(g, v + ql->max, Q->maximum);
	if (ql->info) { /* static-array */
		v32(g, v + ql->dyn, 0);
		v32(g, v + ql->processed, 0x1000 + rnd(g) % 0x10000);
		v32(g, v + ql->lastpass, rnd(g) % 0x100);
		v32(g, v + ql->depth, q == 2 ? 0 : rnd(g) % 4);
		v32(g, v + ql->info, Q->worker_count << 3 | (q < 2 ? 2u : 0u));
		return;
	}
	v32(g, v + ql->processed, 0x1000 + rnd(g) % 0x10000);
	v32(g, v + ql->lastpass, rnd(g) % 0x100);
	v32(g, v + ql->threadcount, (uint32_t)Q->nthreads);
	if (ql->tryfailed) { /* enode-kqueue: no maximum */
		Q->has_max = 0;
		Q->worker_count = 0;
		return;
	}
	Q->worker_count = Q->queue_index == 0 ? 512 : 256;
	v32(g, v + ql->minthreads, 1);
	v32(g, v + ql->maxthreads, Q->worker_count);
	v32(g, v + ql->qindex, Q->queue_index);
	vp(g, v + ql->node, w->enode[Q->node]);
	if (ql->partition)
		vp(g, v + ql->partition, w->ex_partition);
}

/* The queue objects of each model and their root (DESIGN §7b). */
static void static_root(struct gen *g)
{
	struct tw_world *w = g->w;
	const struct tw_spec *s = &w->spec;
	for (unsigned q = 0; q < TW_NQUEUES; q++) {
		struct tw_queue *Q = add_queue(g, w->exworkerqueue + g->Q->size * q,
					       0, q);
		if (s->damage == TW_DAMAGE_LIMIT && q == s->damage_queue)
			Q->nitems = s->max_items + 3;
	}
	w->queue_root = w->exworkerqueue;
	w->root_pattern = w->machine == TW_X64 ? "lea-rip" : "push-edi-add-esi";
}

static void enode_root(struct gen *g)
{
	struct tw_world *w = g->w;
	const struct layout *L = g->L;
	unsigned P = w->ptr;
	v16(g, w->ke_number_nodes, (uint16_t)w->nodes);
	for (unsigned n = 0; n < w->nodes; n++) {
		pool_gap(g);
		w->enode[n] = pool_alloc(g, L->enode_size, "ENod");
		vp(g, w->ke_node_block + P * n, w->enode[n]);
	}
	for (unsigned n = 0; n < w->nodes; n++) {
		uint64_t e = w->enode[n];
		if (w->model == TW_MODEL_ENODE_KQUEUE || L->rtm81) {
			for (unsigned qi = 0; qi < (L->rtm81 ? 2u : 7u); qi++)
				add_queue(g, e + L->enode_q + g->Q->size * qi, n, qi);
			continue;
		}
		uint64_t q1 = L->enode_io ? e + L->enode_io
					  : pool_alloc(g, g->Q->size, "ExWq");
		add_queue(g, e + L->enode_wq, n, 0);
		add_queue(g, q1, n, 1);
		vp(g, e + L->enode_q, e + L->enode_wq);
		vp(g, e + L->enode_q + P, q1);
	}
	w->queue_root = w->enode[0];
	w->root_pattern = w->machine == TW_X64 ? "lea-rip" : "mov-sib-abs";
}

static void partition_root(struct gen *g)
{
	struct tw_world *w = g->w;
	unsigned P = w->ptr;
	v16(g, w->ke_number_nodes, (uint16_t)w->nodes);
	for (unsigned n = 0; n < w->nodes; n++) {
		pool_gap(g);
		w->enode[n] = pool_alloc(g, g->L->enode_size, "ENod");
		vp(g, w->ke_node_block + P * n, w->enode[n]);
	}
	/* EPARTITION {MmPartition, CcPartition, ExPartition, …} and
	 * EX_PARTITION {PartitionObject, WorkQueues, WorkQueueManagers,
	 * QueueAllocationMask} */
	w->epartition = pool_alloc(g, P == 8 ? 0x80 : 0x44, "Part");
	w->ex_partition = pool_alloc(g, 4 * P, "ExPa");
	uint64_t mm = pool_alloc(g, 0x40, "MmPa"), cc = pool_alloc(g, 0x40, "CcPa");
	uint64_t wq = pool_alloc(g, P * w->nodes, "ExWq");
	uint64_t mgr = pool_alloc(g, P * w->nodes, "ExWm");
	vp(g, w->epartition, mm);
	vp(g, w->epartition + P, cc);
	vp(g, w->epartition + 2 * P, w->ex_partition);
	vp(g, w->ex_partition, w->epartition);
	vp(g, w->ex_partition + P, wq);
	vp(g, w->ex_partition + 2 * P, mgr);
	v32(g, w->ex_partition + 3 * P, 0x3);
	vp(g, w->psp_system_partition, w->epartition);
	vp(g, g->data + D_DECOYPTR, g->data + D_DECOY);
	for (unsigned n = 0; n < w->nodes; n++) {
		uint64_t arr = pool_alloc(g, TW_QPN * P, "ExWq");
		vp(g, wq + P * n, arr);
		vp(g, mgr + P * n, pool_alloc(g, 0x80, "ExWm"));
		for (unsigned qi = 0; qi < 2; qi++) {
			pool_gap(g);
			uint64_t q = pool_alloc(g, g->Q->size, "ExWq");
			add_queue(g, q, n, qi);
			vp(g, arr + P * qi, q);
		}
		if (n == 0) /* an entry with bit 0 set: skipped */
			vp(g, arr + P * (TW_QPN - 1), mm | 1);
	}
	w->queue_root = w->ex_partition;
	w->root_pattern = w->machine == TW_X64 ? "mov-rip-partition"
					       : "mov-abs-partition";
}

void write_queues(struct gen *g, const struct objects *o)
{
	struct tw_world *w = g->w;
	g->tid = 0xc;
	if (w->model == TW_MODEL_STATIC)
		static_root(g);
	else if (w->model == TW_MODEL_PARTITION)
		partition_root(g);
	else
		enode_root(g);
	for (unsigned q = 0; q < w->nqueues && !g->failed; q++)
		write_threads(g, q);
	for (unsigned q = 0; q < w->nqueues && !g->failed; q++) {
		write_items(g, q, o);
		write_queue_header(g, q);
	}
	if (w->model == TW_MODEL_STATIC)
		vp(g, g->data + D_QUEUEPTR, w->exworkerqueue);
}

/* ----------------------------------------------------------- damage */

static void add_error(struct tw_queue *Q, const char *st, uint64_t node,
		      uint64_t link)
{
	struct tw_error *e = &Q->errors[Q->nerrors++];
	e->status = st;
	e->node = node;
	e->link = link;
}

/* A VA in the pool region whose PTE is a paged-out software PTE. */
static uint64_t unmapped_pool_va(struct gen *g)
{
	uint64_t va = ((g->pool + PG - 1) & ~(uint64_t)(PG - 1)) + 8 * PG;
	put_e(g->w, pte_pa(g, va), 0x3c000u | PTE_SOFT_PROT);
	return va + 0x5a8;
}

void damage(struct gen *g)
{
	struct tw_world *w = g->w;
	const struct tw_spec *s = &w->spec;
	struct tw_queue *Q = &w->queues[s->damage_queue];
	unsigned k = s->damage_at;
	switch (s->damage) {
	case TW_DAMAGE_CYCLE: {
		struct tw_item *last = &Q->items[Q->nitems - 1];
		vp(g, last->va, Q->items[k].va);
		add_error(Q, "CYCLE", last->va, Q->items[k].va);
		break;
	}
	case TW_DAMAGE_DANGLING:
		/* Blinks intact: walking them back from the head reaches
		 * items N+1.. (item N+1's Blink names item N, already seen) */
		w->dangling_va = unmapped_pool_va(g);
		vp(g, Q->items[k].va, w->dangling_va);
		for (size_t j = k + 1; j < Q->nitems; j++) {
			Q->items[j].listed = 0;
			Q->items[j].recovered = 1;
		}
		add_error(Q, "NOTPRESENT", Q->items[k].va, w->dangling_va);
		break;
	case TW_DAMAGE_MISSING_PAGE:
		w->used[w->missing_pa / PG] = 0; /* no image holds it */
		for (size_t j = k; j < Q->nitems; j++) {
			Q->items[j].listed = 0;
			Q->items[j].recovered = j > k; /* back to item N */
		}
		add_error(Q, "NODATA", k ? Q->items[k - 1].va : Q->va + g->Q->entry,
			  Q->items[k].va);
		break;
	case TW_DAMAGE_LIMIT:
		for (size_t j = s->max_items; j < Q->nitems; j++)
			Q->items[j].listed = 0;
		add_error(Q, "LIMIT", Q->items[s->max_items - 1].va,
			  Q->items[s->max_items].va);
		break;
	default:
		break;
	}
}
