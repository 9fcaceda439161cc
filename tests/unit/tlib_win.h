/* SPDX-License-Identifier: MIT */
/* Test helper: a "world builder" that lays out the physical memory of a
 * Windows machine — x86 (XP SP3, 2003 SP0/SP2, Vista SP1, 7 SP1, 8 … 10,
 * 2-level or PAE) or x64 (7 SP1, 8 … 11, 4-level paging with a PML4
 * self-map) — with page tables, an ntoskrnl PE image (PE32 / PE32+), KDBG,
 * PsLoadedModuleList, the System process and the system worker queues in
 * the four models of DESIGN §7b (static-array, enode-kqueue,
 * enode-kpriqueue, partition), and keeps the truth a reader must find. It
 * is the ground truth of the kernel, module and work-queue tests: libc
 * only, never libexq; offsets from DESIGN §4.3, §5, §6, §7, §7b and
 * /work/research/offsets.md, choices in contract.md ("Generator
 * choices"). Linked into every unit test; tests/tools/mkwin.c includes the
 * .c file to write the same worlds to disk. Addresses are uint64_t (x86
 * worlds use the low 32 bits). */
#ifndef EXQ_TLIB_WIN_H
#define EXQ_TLIB_WIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What goes wrong in the world (one at a time). cycle, dangling,
 * missing_page and limit: static-array worlds only. */
enum tw_damage {
	TW_DAMAGE_NONE = 0,
	TW_DAMAGE_CYCLE,        /* last item's Flink -> an earlier item */
	TW_DAMAGE_DANGLING,     /* an item's Flink -> an unmapped VA */
	TW_DAMAGE_MISSING_PAGE, /* an item on a page outside every run */
	TW_DAMAGE_NO_PATTERN,   /* the root's code pattern erased: only the
				   System process's threads lead to the
				   queues (found_by "threads") */
	TW_DAMAGE_WIN8,         /* x86 build 9200 holding a Windows 7-shaped
				   array: the old "unsupported" decoy */
	TW_DAMAGE_LIMIT,        /* a queue longer than max_items */
	TW_DAMAGE_COUNT
};

enum tw_machine { TW_X86 = 0, TW_X64 = 1 };

/* DESIGN §7b queue models. */
enum tw_model {
	TW_MODEL_STATIC = 0,      /* ExWorkerQueue[3] (XP … 7, 7 x64) */
	TW_MODEL_ENODE_KQUEUE,    /* 8: ENODE.ExWorkerQueues[7] inline */
	TW_MODEL_ENODE_KPRIQUEUE, /* 8.1 … 10 1703: ENODE.ExWorkQueues[8] */
	TW_MODEL_PARTITION,       /* 10 1709 … 11: EX_PARTITION.WorkQueues */
	TW_MODEL_COUNT
};

/* Static-array queue count (DESIGN §7). */
#define TW_NQUEUES 3
/* Queues per node the spec describes (WORK_QUEUE_TYPE 0..6 or
 * EXQUEUEINDEX 0..7). */
#define TW_QPN 8
#define TW_MAXNODES 2
#define TW_MAXQUEUES 16

struct tw_spec {
	uint32_t build;   /* 2600, 3790, 6001, 7601, 9200, 9600, 10240, 10586,
			     14393, 15063, 16299, 17763, 19041, 19045, 22000,
			     22621, 26100 */
	uint32_t sp;      /* service pack; 3790 with sp 0 uses the SP0 layout */
	int pae;          /* x86: PAE (ntkrnlpa.exe) or 2-level (ntoskrnl.exe);
			     8 and later are PAE only */
	enum tw_machine machine;
	unsigned nodes;   /* NUMA nodes, 1..TW_MAXNODES (static-array: 1) */
	int rtm81;        /* 9600: the 8.1 RTM (9600.16384) layout instead of
			     Update 1's: ENODE.ExWorkQueue[2] inline at
			     +0xC0, EX_WORK_QUEUE without Node, MaxThreads,
			     QueueIndex (research/offsets.md) */
	uint64_t phys_size; /* bytes: a multiple of 4 MiB, 16..64 MiB */
	uint64_t seed;
	uint32_t cpus;
	/* per queue index within a node (static-array: Critical, Delayed,
	 * HyperCritical; enode-kqueue: WORK_QUEUE_TYPE; kpriqueue and
	 * partition: EXQUEUEINDEX, 0 and 1 populated); node 1 gets one item
	 * fewer per queue */
	unsigned threads[TW_QPN];  /* worker threads per queue */
	unsigned items[TW_QPN];    /* pending items per queue */
	unsigned io_items[TW_QPN]; /* of which IO_WORKITEMs */
	enum tw_damage damage;
	unsigned damage_queue; /* queue that carries cycle/dangling/missing/limit */
	unsigned damage_at;    /* item index: cycle target, dangling or missing item */
	unsigned max_items;    /* the walk bound the truth assumes (LIMIT) */
	uint32_t bugcheck;     /* 0x96: P1 item, P2 queue, P3 ExWorkerQueue */
	int kdbg_sign_extend;  /* x86: KDBG pointers sign-extended to 64 bits */
	uint64_t system_time;  /* FILETIME for the dump header */
};

/* Defaults: x86 (machine TW_X86), 1 node; static-array 5/3/1 threads,
 * 3/4/0 items (1/2/0 IO); other models per queue index (see
 * tw_spec_init); Delayed damaged at item 1, max_items 4096, bugcheck 0xe2
 * (mkwin makes it 0x96 for a static-array no_pattern), 32 MiB, 2 CPUs.
 * Damage win8 makes the old Windows 8 decoy. */
void tw_spec_init(struct tw_spec *s, uint32_t build, int pae, uint64_t seed);
/* The same for a machine (x64 worlds: pae is ignored). */
void tw_spec_init_machine(struct tw_spec *s, enum tw_machine m, uint32_t build,
			  uint64_t seed);
const char *tw_damage_name(enum tw_damage d);
/* -1 when unknown. */
int tw_damage_by_name(const char *name);
/* "static-array", "enode-kqueue", "enode-kpriqueue", "partition". */
const char *tw_model_name(enum tw_model m);

struct tw_run {
	uint64_t first, count; /* PFNs [first, first + count) */
};

struct tw_module {
	char name[32];  /* BaseDllName */
	char path[96];  /* FullDllName */
	uint64_t base;
	uint32_t size;
	uint64_t ldr;   /* VA of its LDR_DATA_TABLE_ENTRY */
};

struct tw_thread {
	uint64_t ethread; /* = KTHREAD */
	uint32_t pid, tid;
	uint64_t teb, win32thread;
	uint32_t state;   /* KTHREAD.State: 5 Waiting, 2 Running */
	int straddles;    /* KTHREAD header on one page, QueueListEntry on
			     the next */
};

struct tw_item {
	uint64_t va;
	int io;            /* IO_WORKITEM (Parameter == va) */
	int priority;      /* KPRIQUEUE list index 0..31; -1 on a KQUEUE */
	uint64_t routine;  /* WorkerRoutine */
	char routine_sym[64];
	uint64_t parameter;
	/* IO_WORKITEM only */
	uint64_t io_routine;
	char io_routine_sym[64];
	uint64_t io_object;
	int io_object_driver; /* IoObject is a DRIVER_OBJECT (else a device) */
	char driver[48];      /* "\Driver\bar" */
	uint64_t context;
	int listed;    /* a walk from the head reports it (before any damage) */
	int recovered; /* past the damage, reached by walking the Blinks back
			  from the head (DESIGN §7: "recovered": "blink") */
	int straddles; /* the item crosses a page boundary */
};

struct tw_error {
	const char *status; /* "CYCLE", "NOTPRESENT", "NODATA", "LIMIT" */
	uint64_t node;      /* last good node */
	uint64_t link;      /* the address that failed */
};

struct tw_queue {
	uint64_t va;       /* EX_WORK_QUEUE (its KQUEUE / KPRIQUEUE at +0) */
	unsigned node;     /* NUMA node */
	unsigned queue_index; /* within the node (DESIGN §7b) */
	const char *name;  /* "Critical", "ExPoolUntrusted", … */
	uint32_t worker_count; /* threads.max: Info bits 3-31 (static-array)
				  or MaxThreads; see has_max */
	int has_max;       /* 0: threads.max is null (enode-kqueue) */
	uint32_t current, maximum; /* CurrentCount (KPRIQUEUE: the sum of
				      the 32) / MaximumCount */
	uint32_t signal_state;
	struct tw_thread *threads;
	size_t nthreads;
	struct tw_item *items;     /* in the order the kernel takes them
				      (KPRIQUEUE: priority 31 → 0) */
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
	enum tw_machine machine;
	int pae;          /* x86 PAE (0 on x64) */
	unsigned ptr;     /* pointer size: 4 or 8 */
	uint64_t dtb;     /* PAE: the PDPT; PDs follow at +0x1000..+0x4000;
			     x64: the PML4 */
	unsigned selfmap; /* x64: PML4 self-map index (0x100..0x1FF) */
	uint32_t build, nt_build_number;
	int supported;    /* 0: the Windows 8 decoy, no queue profile */
	enum tw_model model;
	unsigned nodes;
	const char *os, *profile; /* "Windows 7", "win7-x86" */
	/* ntoskrnl */
	char kernel_name[16]; /* export directory name = BaseDllName */
	uint64_t kernel_base;
	uint32_t kernel_size;
	char pdb_name[32];
	char pdb_guid[40]; /* "1B2C3D4E-5F60-7182-93A4-B5C6D7E8F901" */
	uint32_t pdb_age;
	uint64_t kdbg;
	uint32_t kdbg_size;
	uint64_t module_list, process_head; /* list heads in .data */
	uint64_t pfn_database; /* MmPfnDatabase value (dump header) */
	uint64_t nt_build_number_va;
	uint64_t exqueueworkitem;   /* export VA */
	uint64_t exworkerqueue;     /* static-array: the array */
	uint64_t decoy;             /* static-array: the decoy's target */
	uint32_t pattern_off, decoy_off; /* offsets in the function of the
					   pattern's and the decoy's first
					   byte; 0 when absent */
	/* queue root (DESIGN §7b): the array, node 0's ENODE or EX_PARTITION */
	uint64_t queue_root;
	const char *root_pattern;   /* "push-edi-add-esi", "lea-rip", … */
	const char *root_export;    /* function holding the pattern */
	uint64_t root_export_va;
	uint64_t ke_number_nodes, ke_node_block; /* .data variables (Win8+) */
	uint64_t enode[TW_MAXNODES];
	uint64_t psp_system_partition, epartition, ex_partition;
	uint64_t keq_node_max;      /* KeQueryNodeMaximumProcessorCount */
	uint64_t system_eprocess;   /* PID 4 */
	uint64_t other_thread;      /* a System thread with no queue */
	uint64_t exp_worker_thread, iop_process_work_item;
	uint64_t large_va;          /* a large page: VA and PA */
	uint64_t large_pa;
	uint64_t transition_va;     /* a transition PTE and its page */
	uint64_t transition_pa;
	uint64_t dangling_va;       /* TW_DAMAGE_DANGLING: the bad Flink */
	uint64_t missing_pa;        /* TW_DAMAGE_MISSING_PAGE: outside runs */
	uint32_t bugcheck;
	uint64_t bugcheck_params[4];
	struct tw_module modules[8];
	size_t nmodules;
	struct tw_queue queues[TW_MAXQUEUES];
	size_t nqueues;
};

/* Build a world. NULL on a bad spec (err says why) or out of memory. */
struct tw_world *tw_build(const struct tw_spec *s, char *err, size_t errlen);
void tw_free(struct tw_world *w); /* accepts NULL */

/* Is the page present in the world's runs? */
int tw_present(const struct tw_world *w, uint64_t pfn);
/* The generator's own translation (honours large pages and transition
 * PTEs): 0 and *pa, or -1. Tests should check it with a walker of their
 * own. */
int tw_vtop(const struct tw_world *w, uint64_t va, uint64_t *pa);
/* Copy len bytes at va (across pages); -1 when a page does not map. */
int tw_read(const struct tw_world *w, uint64_t va, void *buf, size_t len);
uint32_t tw_read32(const struct tw_world *w, uint64_t va); /* 0 on failure */
uint64_t tw_read64(const struct tw_world *w, uint64_t va); /* 0 on failure */
/* A pointer at the world's width. */
uint64_t tw_readptr(const struct tw_world *w, uint64_t va);

/* Offsets a reader needs, from the world's rows (for tests). */
struct tw_offsets {
	uint32_t kt_queue, kt_qle, kt_state, et_cid, et_start, et_tle;
	uint32_t ep_pid, ep_apl, ep_tlh;
	uint32_t q_size, q_entry, q_cur, q_max, q_thr; /* EX_WORK_QUEUE */
	uint32_t q_node, q_partition, q_qindex, q_maxthreads; /* 0: none */
	uint32_t wi_routine, wi_param, io_routine, io_object, io_context;
	uint32_t enode_queues; /* ENODE: queues inline (kqueue) / pointers */
};
void tw_offsets_of(const struct tw_world *w, struct tw_offsets *o);

/* Truth as exq/1 JSON (DESIGN §9, §7b): the `queues` document (an error
 * document with NOTFOUND for the Windows 8 decoy: a 9200 kernel walks
 * ENODEs, and the Windows 7-shaped array it holds is not one), the
 * `modules` document, and the container-independent part of the `info` document.
 * Leaves out what depends on the container or the reader:
 * image.path/format/dump_type/dtb_source, kernel.base_source, messages,
 * warnings. 0 or -1 (I/O). */
int tw_write_queues_json(const struct tw_world *w, FILE *f);
int tw_write_modules_json(const struct tw_world *w, FILE *f);
int tw_write_kernel_json(const struct tw_world *w, FILE *f);

/* Static-array queue name by index: "Critical", "Delayed", "HyperCritical". */
const char *tw_queue_name(unsigned i);
/* Thread state name as exq prints it ("WAIT", "RUNNING", ...). */
const char *tw_state_name(uint32_t state);

#endif
