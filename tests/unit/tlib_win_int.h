/* SPDX-License-Identifier: MIT */
/* Internal to the world builder (tlib_win.c: memory, paging, kernel,
 * modules, System process, truth; tlib_win_queues.c: the queue models and
 * the code bytes that name their roots). Not a test interface: tests use
 * tlib_win.h. Shared functions carry a twi_ prefix through the macros
 * below, so that they never clash with a test's own names. */
#ifndef EXQ_TLIB_WIN_INT_H
#define EXQ_TLIB_WIN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tlib_win.h"

#define PG 4096u
#define KPTE 0x163u        /* P RW A D G */
#define KPDE 0x63u         /* P RW A D */
#define KLARGE 0x1e3u      /* P RW A D PS G */
#define PTE_TRANSITION 0x800u
#define PTE_SOFT_PROT 0x80u /* protection bits of a software PTE */
#define NX (1ull << 63)
#define FRAME64 0x000ffffffffff000ull

/* One row per build family and machine. Old x86 rows: DESIGN §7; the
 * rest from /work/research/offsets.md (Volatility 2 PDB vtypes), except
 * where marked (unverified). kthread_hdr (Header.Size in ULONGs) and the
 * object sizes are approximate (unverified); nothing depends on them
 * beyond holding every field. */
struct layout {
	uint32_t build, sp_min, sp_max;
	const char *os, *profile;
	uint32_t kt_queue, kt_qle, kt_state, kt_teb, kt_w32, et_cid, et_start;
	uint32_t kthread_hdr, ethread_size;
	uint32_t io_type; /* IO_WORKITEM.Type offset (0: none) */
	uint32_t kdbg_size;
	uint64_t base_pae, base_x86; /* kernel base (x64 rows: base_pae) */
	uint64_t dtb_pae, dtb_x86;
	uint64_t pool, drivers;      /* VA regions */
	int old_paths;               /* \WINDOWS\system32\ for the kernel */
	/* ETHREAD.ThreadListEntry, EPROCESS fields (offsets.md) */
	uint32_t et_tle, ep_pid, ep_apl, ep_tlh, ep_name, eprocess_size;
	enum tw_machine machine;
	enum tw_model model;
	uint32_t build_hi;           /* rows cover build..build_hi (0: one) */
	/* ENODE: kqueue: ExWorkerQueues[7] inline; kpriqueue: ExWorkQueues[8]
	 * pointers, ExWorkQueue inline (index 0), IoWorkQueue inline
	 * (index 1; 0: in pool); sizeof ENODE */
	uint32_t enode_q, enode_wq, enode_io, enode_size;
	int rtm81; /* the 8.1 RTM row: queues inline at enode_q */
};

/* Queue object layouts per model and machine (DESIGN §7, §7b;
 * offsets.md "EX_WORK_QUEUE", "KQUEUE", "KPRIQUEUE"). 0: no such field. */
struct qlay {
	uint32_t size;              /* EX_WORK_QUEUE */
	uint8_t type, hdr;          /* DISPATCHER_HEADER Type, Size */
	uint32_t entry, cur, max, thr; /* KQUEUE / KPRIQUEUE */
	int pri;                    /* 32 lists and counts (KPRIQUEUE) */
	uint32_t info, dyn, processed, lastpass, depth; /* static-array */
	uint32_t threadcount, tryfailed; /* enode-kqueue */
	uint32_t node, partition, minthreads, maxthreads, qindex, exited;
};

/* Per machine: pointers, pool, LDR_DATA_TABLE_ENTRY, driver and device
 * objects, work items (DESIGN §6/§7/§7b, offsets.md). */
struct mlay {
	unsigned P, pool_align;
	uint32_t ldr_size, ldr_base, ldr_entry, ldr_image, ldr_full, ldr_name,
		ldr_flags, ldr_count;
	uint32_t drv_size, drv_dev, drv_flags, drv_start, drv_sz, drv_section,
		drv_name, dev_size;
	uint32_t wi_routine, wi_param, io_routine, io_object, io_context;
	uint32_t io_size, ctx_size, us_buf;
};

struct gen {
	struct tw_world *w;
	const struct layout *L;
	const struct qlay *Q;
	const struct mlay *M;
	uint64_t rng;
	uint8_t *state;   /* per PFN: 0 free, 1 taken, 2 not allocatable */
	uint64_t pool;    /* pool bump cursor (VA) */
	uint64_t data;    /* .data start VA */
	uint64_t rdata;   /* .rdata start VA */
	uint64_t code2;   /* the page of the internal routines */
	uint32_t text_end_rva;
	uint32_t tid;     /* the last thread id handed out */
	int failed;
	char *err;
	size_t errlen;
};

#define NDRIVERS 5u

struct objects {
	const char *name[NDRIVERS]; /* DriverName, or NULL */
	uint64_t driver[NDRIVERS], device[NDRIVERS];
};

/* Kinds of the kernel's exports: code stub, data (a .data variable), and
 * the functions that hold a root's pattern. EX_NODE*: Windows 8 on. */
enum { EX_CODE, EX_QUEUE, EX_BUILD, EX_MODLIST, EX_NODEMAX, EX_NODEHIGH };

/* .data of the kernel */
#define DATA_SIZE 0x40000u
/* .data page 0: decoy zeros, NtBuildNumber, list heads, node and
 * partition variables; page 1: KDBG; pages 2-3: ExWorkerQueue across the
 * boundary; page 5: transition PTE */
#define D_DECOY 0x040u
#define D_BUILD 0x200u
#define D_MODLIST 0x300u
#define D_NUMNODES 0x340u  /* KeNumberNodes (USHORT) */
#define D_PARTITION 0x348u /* PspSystemPartition */
#define D_DECOYPTR 0x350u  /* a pointer the partition decoy loads */
#define D_NODEBLOCK 0x400u /* KeNodeBlock[64] */
#define D_KDBG 0x1100u
#define D_QUEUE 0x2fa0u
#define D_QUEUEPTR 0x3400u
#define D_TRANSITION 0x5000u

static inline int wide(const struct tw_world *w)
{
	return w->pae || w->machine == TW_X64;
}

/* Windows 8 and later, with a queue profile (not the Windows 8 decoy). */
static inline int modern(const struct tw_world *w)
{
	return w->build >= 9200 && w->supported;
}

static inline int no_pattern(const struct tw_world *w)
{
	return w->spec.damage == TW_DAMAGE_NO_PATTERN;
}

#define fail(...) twi_fail(__VA_ARGS__)
#define rnd(...) twi_rnd(__VA_ARGS__)
#define runs_end(...) twi_runs_end(__VA_ARGS__)
#define put_e(...) twi_put_e(__VA_ARGS__)
#define pte_pa(...) twi_pte_pa(__VA_ARGS__)
#define map4k(...) twi_map4k(__VA_ARGS__)
#define vwrite(...) twi_vwrite(__VA_ARGS__)
#define v8(...) twi_v8(__VA_ARGS__)
#define v16(...) twi_v16(__VA_ARGS__)
#define v32(...) twi_v32(__VA_ARGS__)
#define vp(...) twi_vp(__VA_ARGS__)
#define vlist(...) twi_vlist(__VA_ARGS__)
#define pool_alloc(...) twi_pool_alloc(__VA_ARGS__)
#define pool_cross(...) twi_pool_cross(__VA_ARGS__)
#define pool_gap(...) twi_pool_gap(__VA_ARGS__)
#define symbolize(...) twi_symbolize(__VA_ARGS__)
#define put_bytes(...) twi_put_bytes(__VA_ARGS__)
#define put32at(...) twi_put32at(__VA_ARGS__)
#define put_rip(...) twi_put_rip(__VA_ARGS__)
#define qlay_of(...) twi_qlay_of(__VA_ARGS__)
#define qlay_rtm81(...) twi_qlay_rtm81(__VA_ARGS__)
#define code_root(...) twi_code_root(__VA_ARGS__)
#define write_queues(...) twi_write_queues(__VA_ARGS__)
#define damage(...) twi_damage(__VA_ARGS__)

/* tlib_win.c */
void fail(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint32_t rnd(struct gen *g);
uint64_t runs_end(const struct tw_world *w);
void put_e(struct tw_world *w, uint64_t pa, uint64_t v);
uint64_t pte_pa(struct gen *g, uint64_t va);
void map4k(struct gen *g, uint64_t va, uint64_t pa, uint64_t flags);
void vwrite(struct gen *g, uint64_t va, const void *buf, size_t len);
void v8(struct gen *g, uint64_t va, uint8_t v);
void v16(struct gen *g, uint64_t va, uint16_t v);
void v32(struct gen *g, uint64_t va, uint32_t v);
void vp(struct gen *g, uint64_t va, uint64_t v);
void vlist(struct gen *g, uint64_t va, uint64_t flink, uint64_t blink);
uint64_t pool_alloc(struct gen *g, uint32_t size, const char tag[4]);
void pool_cross(struct gen *g, uint32_t off);
void pool_gap(struct gen *g);
void symbolize(const struct tw_world *w, uint64_t a, char *buf, size_t n);
void put_bytes(uint8_t *code, size_t *n, const char *hex);
void put32at(uint8_t *c, size_t *n, uint32_t v);
void put_rip(uint8_t *c, size_t *n, uint64_t fn, uint64_t target, unsigned extra);

/* tlib_win_queues.c */
const struct qlay *qlay_of(enum tw_model m, int x64);
/* The 8.1 RTM EX_WORK_QUEUE: KPRIQUEUE, no Node / MaxThreads / QueueIndex. */
const struct qlay *qlay_rtm81(int x64);
/* The model's ExQueueWorkItem / KeQueryNode* code at va (kind EX_*). */
void code_root(struct gen *g, uint64_t va, int kind);
void write_queues(struct gen *g, const struct objects *o);
void damage(struct gen *g);

#endif
