/* SPDX-License-Identifier: MIT */
/* Test helper: a "world builder" that lays out the physical memory of a
 * 32-bit Windows machine (XP SP3, 2003 SP0/SP2, Vista SP1, 7 SP1, and a
 * Windows 8 decoy) with page tables, an ntoskrnl PE image, KDBG,
 * PsLoadedModuleList and the system worker queues, and keeps the truth a
 * reader must find. It is the ground truth of the kernel (issue 5) and
 * work-queue (issue 9) tests: libc only, never libexq; offsets from DESIGN
 * §4.3, §5, §6, §7. Linked into every unit test; tests/tools/mkwin.c
 * includes the .c file to write the same worlds to disk. */
#ifndef EXQ_TLIB_WIN_H
#define EXQ_TLIB_WIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What goes wrong in the world (one at a time). */
enum tw_damage {
	TW_DAMAGE_NONE = 0,
	TW_DAMAGE_CYCLE,        /* last item's Flink -> an earlier item */
	TW_DAMAGE_DANGLING,     /* an item's Flink -> an unmapped VA */
	TW_DAMAGE_MISSING_PAGE, /* an item on a page outside every run */
	TW_DAMAGE_NO_PATTERN,   /* ExQueueWorkItem without 57 81 C6 */
	TW_DAMAGE_WIN8,         /* build 9200: queues must be UNSUPPORTED */
	TW_DAMAGE_LIMIT,        /* a queue longer than max_items */
	TW_DAMAGE_COUNT
};

/* Queue indices (DESIGN §7). */
#define TW_NQUEUES 3

struct tw_spec {
	uint32_t build;   /* 2600, 3790, 6001, 7601 (9200: see TW_DAMAGE_WIN8) */
	uint32_t sp;      /* service pack; 3790 with sp 0 uses the SP0 layout */
	int pae;          /* PAE (ntkrnlpa.exe) or 2-level x86 (ntoskrnl.exe) */
	uint64_t phys_size; /* bytes: a multiple of 4 MiB, 16..64 MiB */
	uint64_t seed;
	uint32_t cpus;
	unsigned threads[TW_NQUEUES];  /* worker threads per queue */
	unsigned items[TW_NQUEUES];    /* pending items per queue */
	unsigned io_items[TW_NQUEUES]; /* of which IO_WORKITEMs */
	enum tw_damage damage;
	unsigned damage_queue; /* queue that carries cycle/dangling/missing/limit */
	unsigned damage_at;    /* item index: cycle target, dangling or missing item */
	unsigned max_items;    /* the walk bound the truth assumes (LIMIT) */
	uint32_t bugcheck;     /* 0x96: P1 item, P2 queue, P3 ExWorkerQueue */
	int kdbg_sign_extend;  /* KDBG pointers sign-extended to 64 bits */
	uint64_t system_time;  /* FILETIME for the dump header */
};

/* Defaults: 5/3/1 threads, 3/4/0 items (1/2/0 IO), Delayed damaged at
 * item 1, max_items 4096, bugcheck 0xe2 (mkwin makes it 0x96 for
 * no_pattern), 32 MiB, 2 CPUs. build 9200 or damage win8 make a Windows 8
 * world. */
void tw_spec_init(struct tw_spec *s, uint32_t build, int pae, uint64_t seed);
const char *tw_damage_name(enum tw_damage d);
/* -1 when unknown. */
int tw_damage_by_name(const char *name);

struct tw_run {
	uint64_t first, count; /* PFNs [first, first + count) */
};

struct tw_module {
	char name[32];  /* BaseDllName */
	char path[96];  /* FullDllName */
	uint32_t base, size;
	uint32_t ldr;   /* VA of its LDR_DATA_TABLE_ENTRY */
};

struct tw_thread {
	uint32_t ethread; /* = KTHREAD */
	uint32_t pid, tid;
	uint32_t teb, win32thread;
	uint32_t state;   /* KTHREAD.State: 5 Waiting, 2 Running */
	int straddles;    /* KTHREAD header on one page, QueueListEntry on
			     the next */
};

struct tw_item {
	uint32_t va;
	int io;            /* IO_WORKITEM (Parameter == va) */
	uint32_t routine;  /* WorkerRoutine */
	char routine_sym[64];
	uint32_t parameter;
	/* IO_WORKITEM only */
	uint32_t io_routine;
	char io_routine_sym[64];
	uint32_t io_object;
	int io_object_driver; /* IoObject is a DRIVER_OBJECT (else a device) */
	char driver[48];      /* "\Driver\bar" */
	uint32_t context;
	int listed;    /* a walk from the head reports it (before any damage) */
	int recovered; /* past the damage, reached by walking the Blinks back
			  from the head (DESIGN §7: "recovered": "blink") */
	int straddles; /* the item crosses a page boundary */
};

struct tw_error {
	const char *status; /* "CYCLE", "NOTPRESENT", "NODATA", "LIMIT" */
	uint32_t node;      /* last good node */
	uint32_t link;      /* the address that failed */
};

struct tw_queue {
	uint32_t va;
	uint32_t worker_count; /* Info bits 3-31: the "max" of Threads: n/max */
	uint32_t current, maximum; /* KQUEUE CurrentCount / MaximumCount */
	uint32_t signal_state;
	struct tw_thread *threads;
	size_t nthreads;
	struct tw_item *items;
	size_t nitems;
	struct tw_error errors[2];
	size_t nerrors;
};

struct tw_world {
	struct tw_spec spec;
	uint8_t *mem;     /* physical memory, PA 0 .. mem_size */
	uint64_t mem_size;
	struct tw_run runs[4]; /* present physical memory */
	size_t nruns;
	uint8_t *used;    /* per PFN: holds something of the world (the
			     pages a kernel dump must keep) */
	uint64_t npages;  /* mem_size / 4096 */
	int pae;
	uint64_t dtb;     /* PAE: the PDPT; PDs follow at +0x1000..+0x4000 */
	uint32_t build, nt_build_number;
	int supported;    /* 0: Windows 8, no queue profile */
	const char *os, *profile; /* "Windows 7", "win7-x86" */
	/* ntoskrnl */
	char kernel_name[16]; /* export directory name = BaseDllName */
	uint32_t kernel_base, kernel_size;
	char pdb_name[32];
	char pdb_guid[40]; /* "1B2C3D4E-5F60-7182-93A4-B5C6D7E8F901" */
	uint32_t pdb_age;
	uint32_t kdbg, kdbg_size;
	uint32_t module_list, process_head; /* list heads in .data */
	uint32_t pfn_database; /* MmPfnDatabase value (dump header) */
	uint32_t nt_build_number_va;
	uint32_t exqueueworkitem;   /* export VA */
	uint32_t exworkerqueue;     /* the array */
	uint32_t decoy;             /* imm32 of the decoy 57 81 C6 */
	uint32_t pattern_off, decoy_off; /* offsets of their 0x57 in the
					   function; 0 when absent */
	uint32_t exp_worker_thread, iop_process_work_item;
	uint32_t large_va;          /* a large page: VA and PA */
	uint64_t large_pa;
	uint32_t transition_va;     /* a transition PTE and its page */
	uint64_t transition_pa;
	uint32_t dangling_va;       /* TW_DAMAGE_DANGLING: the bad Flink */
	uint64_t missing_pa;        /* TW_DAMAGE_MISSING_PAGE: outside runs */
	uint32_t bugcheck, bugcheck_params[4];
	struct tw_module modules[8];
	size_t nmodules;
	struct tw_queue queues[TW_NQUEUES];
};

/* Build a world. NULL on a bad spec (err says why) or out of memory. */
struct tw_world *tw_build(const struct tw_spec *s, char *err, size_t errlen);
void tw_free(struct tw_world *w); /* accepts NULL */

/* Is the page present in the world's runs? */
int tw_present(const struct tw_world *w, uint64_t pfn);
/* The generator's own translation (honours large pages and transition
 * PTEs): 0 and *pa, or -1. Tests should check it with a walker of their
 * own. */
int tw_vtop(const struct tw_world *w, uint32_t va, uint64_t *pa);
/* Copy len bytes at va (across pages); -1 when a page does not map. */
int tw_read(const struct tw_world *w, uint32_t va, void *buf, size_t len);
uint32_t tw_read32(const struct tw_world *w, uint32_t va); /* 0 on failure */

/* Truth as exq/1 JSON (DESIGN §9): the `queues` document (an error
 * document with UNSUPPORTED for Windows 8), the `modules` document, and
 * the container-independent part of the `info` document. Leaves out what
 * depends on the container or the reader: image.path/format/dump_type/
 * dtb_source, kernel.base_source, messages, warnings. 0 or -1 (I/O). */
int tw_write_queues_json(const struct tw_world *w, FILE *f);
int tw_write_modules_json(const struct tw_world *w, FILE *f);
int tw_write_kernel_json(const struct tw_world *w, FILE *f);

/* Queue name by index: "Critical", "Delayed", "HyperCritical". */
const char *tw_queue_name(unsigned i);
/* Thread state name as exq prints it ("WAIT", "RUNNING", ...). */
const char *tw_state_name(uint32_t state);

#endif
