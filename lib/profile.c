/* SPDX-License-Identifier: MIT */
/*
 * profile.c — layout profiles of the structures the work-queue walk reads:
 * one row per (machine, build range) with its queue model (DESIGN §7,
 * §7b). Data, not branches: a new build is one more row. x86 PAE and
 * non-PAE kernels share their rows. A build with no row is UNSUPPORTED,
 * naming the build; never a guess.
 */
#include <stddef.h>

#include "exq_int.h"

/* Field groups shared by many rows. Sources (offsets computed from
 * PDB-derived type tables): Volatility 2 `volatility/plugins/overlays/
 * windows/<name>_vtypes.py` (xp_sp2/sp3, win2003_sp0/sp1/sp2, vista_sp0-2,
 * win7_sp0/sp1 x86/x64, win8_sp0/sp1, win81_u1, win10_*_{10240_17770,
 * 44B89EEA/1AC738FB (10586), 9619274A/DD08DD42 (14393), 15063, 16299,
 * 17134, 17763, 18362, 19041}), cross-checked with vivisect
 * `vstruct/defs/windows/win_6_{1,2,3}_{i386,amd64}/ntoskrnl.py`; DESIGN
 * §7/§7b. */
#define DISPATCHER .dispatcher = {.type = 0, .size = 2, .signal_state = 4, .wait_list_head = 8}

/* KQUEUE: x86 0x28 bytes (Header.Size 0x0A ULONGs), x64 0x40 (0x10). */
#define KQUEUE32                                                               \
	.kqueue = {.size = 0x28, .entry_list_head = 0x10,                      \
		   .current_count = 0x18, .maximum_count = 0x1c,               \
		   .thread_list_head = 0x20, .type = 4,                        \
		   .dispatcher_size = 0x0a, .nlists = 1}
#define KQUEUE64                                                               \
	.kqueue = {.size = 0x40, .entry_list_head = 0x18,                      \
		   .current_count = 0x28, .maximum_count = 0x2c,               \
		   .thread_list_head = 0x30, .type = 4,                        \
		   .dispatcher_size = 0x10, .nlists = 1}
/* KPRIQUEUE (8.1 on): Type 0x15, 32 lists; Header.Size not checked (not
 * in the sources). x86 0x19c bytes, x64 0x2b0. */
#define KPRIQUEUE32                                                            \
	.kqueue = {.size = 0x19c, .entry_list_head = 0x10,                     \
		   .current_count = 0x110, .maximum_count = 0x190,             \
		   .thread_list_head = 0x194, .type = 0x15, .nlists = 32}
#define KPRIQUEUE64                                                            \
	.kqueue = {.size = 0x2b0, .entry_list_head = 0x18,                     \
		   .current_count = 0x218, .maximum_count = 0x298,             \
		   .thread_list_head = 0x2a0, .type = 0x15, .nlists = 32}

/* EX_WORK_QUEUE per model. */
#define EXWQ_ARRAY32                                                           \
	.ex_work_queue = {.size = 0x3c, .dynamic_thread_count = 0x28,          \
			  .work_items_processed = 0x2c,                        \
			  .work_items_processed_last_pass = 0x30,              \
			  .queue_depth_last_pass = 0x34, .info = 0x38,         \
			  .count = 3}
#define EXWQ_ARRAY64                                                           \
	.ex_work_queue = {.size = 0x58, .dynamic_thread_count = 0x40,          \
			  .work_items_processed = 0x44,                        \
			  .work_items_processed_last_pass = 0x48,              \
			  .queue_depth_last_pass = 0x4c, .info = 0x50,         \
			  .count = 3}
/* Windows 8: ENODE.ExWorkerQueues[7] inline, KQUEUE first. */
#define EXWQ_WIN8_32                                                           \
	.ex_work_queue = {.size = 0x38, .work_items_processed = 0x28,          \
			  .work_items_processed_last_pass = 0x2c, .count = 7}
#define EXWQ_WIN8_64                                                           \
	.ex_work_queue = {.size = 0x50, .work_items_processed = 0x40,          \
			  .work_items_processed_last_pass = 0x44, .count = 7}
/* 8.1 RTM: ENODE.ExWorkQueue[2] inline, KPRIQUEUE first, no Node /
 * QueueIndex / MaxThreads. */
#define EXWQ_81RTM32                                                           \
	.ex_work_queue = {.size = 0x1ac, .work_items_processed = 0x19c,        \
			  .work_items_processed_last_pass = 0x1a0, .count = 2}
#define EXWQ_81RTM64                                                           \
	.ex_work_queue = {.size = 0x2c0, .work_items_processed = 0x2b0,        \
			  .work_items_processed_last_pass = 0x2b4, .count = 2}
/* 8.1 Update 1 … 10 1703: pointers ENODE.ExWorkQueues[8]. */
#define EXWQ_NODE32                                                            \
	.ex_work_queue = {.size = 0x1b8, .node = 0x19c,                        \
			  .work_items_processed = 0x1a0,                       \
			  .work_items_processed_last_pass = 0x1a4,             \
			  .max_threads = 0x1b0, .queue_index = 0x1b4,          \
			  .count = 8}
#define EXWQ_NODE64                                                            \
	.ex_work_queue = {.size = 0x2d0, .node = 0x2b0,                        \
			  .work_items_processed = 0x2b8,                       \
			  .work_items_processed_last_pass = 0x2bc,             \
			  .max_threads = 0x2c8, .queue_index = 0x2cc,          \
			  .count = 8}
/* 10 1709 on: Partition inserted before Node. */
#define EXWQ_PART32                                                            \
	.ex_work_queue = {.size = 0x1c0, .partition = 0x19c, .node = 0x1a0,    \
			  .work_items_processed = 0x1a4,                       \
			  .work_items_processed_last_pass = 0x1a8,             \
			  .max_threads = 0x1b4, .queue_index = 0x1b8,          \
			  .count = 8}
#define EXWQ_PART64                                                            \
	.ex_work_queue = {.size = 0x2e0, .partition = 0x2b0, .node = 0x2b8,    \
			  .work_items_processed = 0x2c0,                       \
			  .work_items_processed_last_pass = 0x2c4,             \
			  .max_threads = 0x2d0, .queue_index = 0x2d4,          \
			  .count = 8}
/* EPARTITION.ExPartition, EX_PARTITION.WorkQueues (1709 on). */
#define PARTITION32 .partition = {.ex_partition = 0x08, .work_queues = 0x04}
#define PARTITION64 .partition = {.ex_partition = 0x10, .work_queues = 0x08}

#define WQI32 .work_queue_item = {.size = 0x10, .list = 0, .worker_routine = 8, .parameter = 0x0c}
#define WQI64 .work_queue_item = {.size = 0x20, .list = 0, .worker_routine = 0x10, .parameter = 0x18}
/* IO_WORKITEM: Type absent before Vista (0). */
#define IOW32(t_) .io_workitem = {.work_item = 0, .routine = 0x10, .io_object = 0x14, .context = 0x18, .type = (t_)}
#define IOW64(t_) .io_workitem = {.work_item = 0, .routine = 0x20, .io_object = 0x28, .context = 0x30, .type = (t_)}
#define OBJ32                                                                  \
	.device_object = {.type = 0, .driver_object = 8, .type_value = 3},     \
	.driver_object = {.type = 0, .driver_name = 0x1c, .type_value = 4}
#define OBJ64                                                                  \
	.device_object = {.type = 0, .driver_object = 8, .type_value = 3},     \
	.driver_object = {.type = 0, .driver_name = 0x38, .type_value = 4}

#define KTHREAD(q_, qle_, st_, teb_, w32_)                                     \
	.kthread = {.queue = (q_), .queue_list_entry = (qle_), .state = (st_), \
		    .teb = (teb_), .win32thread = (w32_), .type_value = 6,     \
		    .state_waiting = 5}
/* ETHREAD: Cid, StartAddress, ThreadListEntry. */
#define ETHREAD(cid_, start_, tle_)                                            \
	.ethread = {.cid = (cid_), .start_address = (start_),                  \
		    .thread_list_entry = (tle_)}
/* EPROCESS: UniqueProcessId, ActiveProcessLinks, ThreadListHead. */
#define EPROCESS(pid_, apl_, tlh_)                                             \
	.eprocess = {.unique_process_id = (pid_),                              \
		     .active_process_links = (apl_), .thread_list_head = (tlh_)}

/* Queue names: WORK_QUEUE_TYPE (static-array, Windows 8); EXQUEUEINDEX
 * of 8.1 … 10 1511, and of 10 1607 on (IoPoolUntrusted added; Volatility
 * 2's enums). */
static const char *const type_names[] = {"Critical", "Delayed", "HyperCritical",
					 "Normal", "Background", "RealTime",
					 "SuperCritical"};
static const char *const pool81_names[] = {"ExPoolUntrusted", "ExPoolTrusted"};
static const char *const pool1607_names[] = {"ExPoolUntrusted", "IoPoolUntrusted",
					     "ExPoolTrusted"};
#define NAMES(a) .queue_names = a, .nqueue_names = sizeof(a) / sizeof(a[0])
#define NAMES_OF_ARRAY NAMES(type_names)
#define NAMES_OF_EKQ NAMES(type_names)
#define NAMES_OF_EKPQ NAMES(pool81_names)
#define NAMES_OF_EKPQ1607 NAMES(pool1607_names)
#define NAMES_OF_PART NAMES(pool1607_names)

#define X86(model_) .machine = EXQ_MACHINE_X86, .model = (model_), .ptr = 4, DISPATCHER, WQI32, OBJ32, NAMES_OF_##model_
#define X64(model_) .machine = EXQ_MACHINE_X64, .model = (model_), .ptr = 8, DISPATCHER, WQI64, OBJ64, NAMES_OF_##model_
#define ARRAY EXQ_WQ_MODEL_STATIC_ARRAY
#define EKQ EXQ_WQ_MODEL_ENODE_KQUEUE
#define EKPQ EXQ_WQ_MODEL_ENODE_KPRIQUEUE
#define EKPQ1607 EXQ_WQ_MODEL_ENODE_KPRIQUEUE
#define PART EXQ_WQ_MODEL_PARTITION

/* KTHREAD Queue/QueueListEntry/State/Teb/Win32Thread, Windows 8 … 10 2004
 * (unchanged in every file listed above). */
#define KT8_32 KTHREAD(0xa4, 0x140, 0x90, 0xa8, 0x124)
#define KT8_64 KTHREAD(0xe8, 0x208, 0x184, 0xf0, 0x1c8)

static const exq__profile profiles[] = {
    /* ---- static-array (DESIGN §7): x86 XP … 7 */
    {.name = "winxp-x86", .os = "Windows XP", .build_min = 2600, .build_max = 2600,
     .sp_min = 2, .sp_max = 3, X86(ARRAY), KQUEUE32, EXWQ_ARRAY32, IOW32(0),
     KTHREAD(0xe4, 0x118, 0x2d, 0x20, 0x130), ETHREAD(0x1ec, 0x224, 0x22c),
     EPROCESS(0x84, 0x88, 0x190)},
    {.name = "win2003sp0-x86", .os = "Windows Server 2003", .build_min = 3790,
     .build_max = 3790, .sp_min = 0, .sp_max = 0, X86(ARRAY), KQUEUE32,
     EXWQ_ARRAY32, IOW32(0), KTHREAD(0x68, 0x100, 0x2c, 0x30, 0x14c),
     ETHREAD(0x1f4, 0x22c, 0x234), EPROCESS(0x84, 0x88, 0x170)},
    {.name = "win2003sp1-x86", .os = "Windows Server 2003", .build_min = 3790,
     .build_max = 3790, .sp_min = 1, .sp_max = 2, X86(ARRAY), KQUEUE32,
     EXWQ_ARRAY32, IOW32(0), KTHREAD(0x68, 0x108, 0x4c, 0x74, 0x154),
     ETHREAD(0x1e4, 0x21c, 0x224), EPROCESS(0x94, 0x98, 0x180)},
    {.name = "vista-x86", .os = "Windows Vista", .build_min = 6000, .build_max = 6002,
     .sp_min = 0, .sp_max = 2, X86(ARRAY), KQUEUE32, EXWQ_ARRAY32, IOW32(0x1c),
     KTHREAD(0x78, 0x118, 0x5c, 0x84, 0x170), ETHREAD(0x20c, 0x1f8, 0x248),
     EPROCESS(0x9c, 0xa0, 0x168)},
    {.name = "win7-x86", .os = "Windows 7", .build_min = 7600, .build_max = 7601,
     .sp_min = 0, .sp_max = 1, X86(ARRAY), KQUEUE32, EXWQ_ARRAY32, IOW32(0x1c),
     KTHREAD(0x7c, 0x120, 0x68, 0x88, 0x18c), ETHREAD(0x22c, 0x218, 0x268),
     EPROCESS(0xb4, 0xb8, 0x188)},
    /* ---- static-array: 7 x64. ETHREAD moved by 8 in later 7601 updates
     * (7601.23418, .24000): two rows, told apart by validation (worker
     * threads' Cid.UniqueProcess is the System process, 4). */
    {.name = "win7-x64", .os = "Windows 7", .build_min = 7600, .build_max = 7601,
     .sp_min = 0, .sp_max = 1, X64(ARRAY), KQUEUE64, EXWQ_ARRAY64, IOW64(0x38),
     KTHREAD(0xb0, 0x1c8, 0x164, 0xb8, 0x270), ETHREAD(0x3b0, 0x388, 0x420),
     EPROCESS(0x180, 0x188, 0x308)},
    {.name = "win7-x64-late", .os = "Windows 7", .build_min = 7601, .build_max = 7601,
     .sp_min = 1, .sp_max = 1, X64(ARRAY), KQUEUE64, EXWQ_ARRAY64, IOW64(0x38),
     KTHREAD(0xb0, 0x1c8, 0x164, 0xb8, 0x270), ETHREAD(0x3b8, 0x390, 0x428),
     EPROCESS(0x180, 0x188, 0x308)},
    /* ---- enode-kqueue: 8 (9200) */
    {.name = "win8-x86", .os = "Windows 8", .build_min = 9200, .build_max = 9200,
     X86(EKQ), KQUEUE32, EXWQ_WIN8_32, .enode = {.queues = 0xc0}, IOW32(0x1c),
     KT8_32, ETHREAD(0x214, 0x200, 0x24c), EPROCESS(0xb4, 0xb8, 0x194)},
    {.name = "win8-x64", .os = "Windows 8", .build_min = 9200, .build_max = 9200,
     X64(EKQ), KQUEUE64, EXWQ_WIN8_64, .enode = {.queues = 0xc0}, IOW64(0x38),
     KT8_64, ETHREAD(0x398, 0x370, 0x400), EPROCESS(0x2e0, 0x2e8, 0x470)},
    /* ---- enode-kpriqueue: 8.1 (9600) has two layouts under one build
     * number: Update 1 (9600.17031 on) keeps ExWorkQueues[8] pointers at
     * ENODE+0xC0; RTM keeps ExWorkQueue[2] inline there. Structure
     * decides (a KPRIQUEUE header vs pointers). */
    {.name = "win81-x86", .os = "Windows 8.1", .build_min = 9600, .build_max = 9600,
     X86(EKPQ), KPRIQUEUE32, EXWQ_NODE32, .enode = {.queues = 0xc0}, IOW32(0x1c),
     KT8_32, ETHREAD(0x364, 0x350, 0x39c), EPROCESS(0xb4, 0xb8, 0x194)},
    {.name = "win81rtm-x86", .os = "Windows 8.1", .build_min = 9600, .build_max = 9600,
     X86(EKPQ), KPRIQUEUE32, EXWQ_81RTM32, .enode = {.queues = 0xc0}, IOW32(0x1c),
     KT8_32, ETHREAD(0x364, 0x350, 0x39c), EPROCESS(0xb4, 0xb8, 0x194)},
    {.name = "win81-x64", .os = "Windows 8.1", .build_min = 9600, .build_max = 9600,
     X64(EKPQ), KPRIQUEUE64, EXWQ_NODE64, .enode = {.queues = 0xc0}, IOW64(0x38),
     KT8_64, ETHREAD(0x620, 0x5f8, 0x688), EPROCESS(0x2e0, 0x2e8, 0x470)},
    {.name = "win81rtm-x64", .os = "Windows 8.1", .build_min = 9600, .build_max = 9600,
     X64(EKPQ), KPRIQUEUE64, EXWQ_81RTM64, .enode = {.queues = 0xc0}, IOW64(0x38),
     KT8_64, ETHREAD(0x620, 0x5f8, 0x688), EPROCESS(0x2e0, 0x2e8, 0x470)},
    /* ---- enode-kpriqueue: 10 1507 … 1703 */
    {.name = "win10-1507-x86", .os = "Windows 10", .build_min = 10240, .build_max = 10240,
     X86(EKPQ), KPRIQUEUE32, EXWQ_NODE32, .enode = {.queues = 0x100}, IOW32(0x20),
     KT8_32, ETHREAD(0x374, 0x360, 0x3ac), EPROCESS(0xb4, 0xb8, 0x194)},
    {.name = "win10-1507-x64", .os = "Windows 10", .build_min = 10240, .build_max = 10240,
     X64(EKPQ), KPRIQUEUE64, EXWQ_NODE64, .enode = {.queues = 0x100}, IOW64(0x40),
     KT8_64, ETHREAD(0x628, 0x600, 0x690), EPROCESS(0x2e8, 0x2f0, 0x480)},
    {.name = "win10-1511-x86", .os = "Windows 10", .build_min = 10586, .build_max = 10586,
     X86(EKPQ), KPRIQUEUE32, EXWQ_NODE32, .enode = {.queues = 0x100}, IOW32(0x20),
     KT8_32, ETHREAD(0x374, 0x360, 0x3ac), EPROCESS(0xb4, 0xb8, 0x198)},
    {.name = "win10-1511-x64", .os = "Windows 10", .build_min = 10586, .build_max = 10586,
     X64(EKPQ), KPRIQUEUE64, EXWQ_NODE64, .enode = {.queues = 0x100}, IOW64(0x40),
     KT8_64, ETHREAD(0x628, 0x600, 0x690), EPROCESS(0x2e8, 0x2f0, 0x488)},
    {.name = "win10-1607-x86", .os = "Windows 10", .build_min = 14393, .build_max = 14393,
     X86(EKPQ1607), KPRIQUEUE32, EXWQ_NODE32, .enode = {.queues = 0x100}, IOW32(0x20),
     KT8_32, ETHREAD(0x374, 0x360, 0x3ac), EPROCESS(0xb4, 0xb8, 0x198)},
    {.name = "win10-1607-x64", .os = "Windows 10", .build_min = 14393, .build_max = 14393,
     X64(EKPQ1607), KPRIQUEUE64, EXWQ_NODE64, .enode = {.queues = 0x140}, IOW64(0x40),
     KT8_64, ETHREAD(0x630, 0x608, 0x698), EPROCESS(0x2e8, 0x2f0, 0x488)},
    {.name = "win10-1703-x86", .os = "Windows 10", .build_min = 15063, .build_max = 15063,
     X86(EKPQ1607), KPRIQUEUE32, EXWQ_NODE32, .enode = {.queues = 0x100}, IOW32(0x20),
     KT8_32, ETHREAD(0x37c, 0x368, 0x3b4), EPROCESS(0xb4, 0xb8, 0x1a0)},
    {.name = "win10-1703-x64", .os = "Windows 10", .build_min = 15063, .build_max = 15063,
     X64(EKPQ1607), KPRIQUEUE64, EXWQ_NODE64, .enode = {.queues = 0x140}, IOW64(0x40),
     KT8_64, ETHREAD(0x638, 0x610, 0x6a0), EPROCESS(0x2e0, 0x2e8, 0x488)},
    /* ---- partition: 10 1709 … 11 (18363 and 19042-19045 are enablement
     * packages of the 18362 and 19041 kernels) */
    {.name = "win10-1709-x86", .os = "Windows 10", .build_min = 16299, .build_max = 17763,
     X86(PART), KPRIQUEUE32, EXWQ_PART32, PARTITION32, IOW32(0x20),
     KT8_32, ETHREAD(0x37c, 0x368, 0x3b4), EPROCESS(0xb4, 0xb8, 0x1a0)},
    {.name = "win10-1709-x64", .os = "Windows 10", .build_min = 16299, .build_max = 17763,
     X64(PART), KPRIQUEUE64, EXWQ_PART64, PARTITION64, IOW64(0x40),
     KT8_64, ETHREAD(0x638, 0x610, 0x6a8), EPROCESS(0x2e0, 0x2e8, 0x488)},
    {.name = "win10-1903-x86", .os = "Windows 10", .build_min = 18362, .build_max = 18363,
     X86(PART), KPRIQUEUE32, EXWQ_PART32, PARTITION32, IOW32(0x20),
     KT8_32, ETHREAD(0x384, 0x370, 0x3bc), EPROCESS(0xb4, 0xb8, 0x1a0)},
    {.name = "win10-1903-x64", .os = "Windows 10", .build_min = 18362, .build_max = 18363,
     X64(PART), KPRIQUEUE64, EXWQ_PART64, PARTITION64, IOW64(0x40),
     KT8_64, ETHREAD(0x648, 0x620, 0x6b8), EPROCESS(0x2e8, 0x2f0, 0x488)},
    {.name = "win10-2004-x86", .os = "Windows 10", .build_min = 19041, .build_max = 19045,
     X86(PART), KPRIQUEUE32, EXWQ_PART32, PARTITION32, IOW32(0x20),
     KT8_32, ETHREAD(0x2ac, 0x298, 0x2e4), EPROCESS(0xe4, 0xe8, 0x1d0)},
    {.name = "win10-2004-x64", .os = "Windows 10", .build_min = 19041, .build_max = 19045,
     X64(PART), KPRIQUEUE64, EXWQ_PART64, PARTITION64, IOW64(0x40),
     KT8_64, ETHREAD(0x478, 0x450, 0x4e8), EPROCESS(0x440, 0x448, 0x5e0)},
    /* 11 21H2: Volatility 3 symbol tables of 22000.318 / 22000.2538
     * (JPCERTCC/Windows-Symbol-Tables): queue structures as 1709 on. */
    {.name = "win11-x64", .os = "Windows 11", .build_min = 22000, .build_max = 22000,
     X64(PART), KPRIQUEUE64, EXWQ_PART64, PARTITION64, IOW64(0x40),
     KT8_64, ETHREAD(0x4c8, 0x4a0, 0x538), EPROCESS(0x440, 0x448, 0x5e0)},
    /* 11 22H2/23H2: KTHREAD/ETHREAD from ntdiff/headers Win11_2309_23H2;
     * the queue structures are taken as 22000's (not in any source read:
     * validation checks them); EPROCESS unknown, so no thread fallback. */
    {.name = "win11-22h2-x64", .os = "Windows 11", .build_min = 22621, .build_max = 22631,
     X64(PART), KPRIQUEUE64, EXWQ_PART64, PARTITION64, IOW64(0x40),
     KT8_64, ETHREAD(0x4c8, 0x4a0, 0x538)},
    /* 11 24H2: ntdiff/headers Win11_2409_24H2 (ETHREAD +0x40, EPROCESS
     * rebuilt, EPARTITION.ExPartition still 0x10); queue structures as
     * 22000's, checked by validation. */
    {.name = "win11-24h2-x64", .os = "Windows 11", .build_min = 26100, .build_max = 26100,
     X64(PART), KPRIQUEUE64, EXWQ_PART64, PARTITION64, IOW64(0x40),
     KT8_64, ETHREAD(0x508, 0x4e0, 0x578), EPROCESS(0x1d0, 0x1d8, 0x370)},
};

#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

/* Builds recognised by name. */
static const struct {
	uint32_t min, max;
	const char *os;
} families[] = {
    {2600, 2600, "Windows XP"},    {3790, 3790, "Windows Server 2003"},
    {6000, 6002, "Windows Vista"}, {7600, 7601, "Windows 7"},
    {9200, 9200, "Windows 8"},     {9600, 9600, "Windows 8.1"},
    {10240, 21999, "Windows 10"},  {22000, 0xffff, "Windows 11"},
};

const char *exq__build_os_name(uint32_t build)
{
	size_t i;
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (build >= families[i].min && build <= families[i].max)
			return families[i].os;
	return NULL;
}

size_t exq__profile_candidates(exq_machine machine, uint32_t build,
			       const exq__profile **out, size_t max)
{
	size_t i, n = 0;
	for (i = 0; i < NPROFILES; i++) {
		if (profiles[i].machine != machine ||
		    build < profiles[i].build_min ||
		    build > profiles[i].build_max)
			continue;
		if (out && n < max)
			out[n] = &profiles[i];
		n++;
	}
	return n;
}

static exq_status no_profile(exq_machine machine, uint32_t build,
			     exq__err *err)
{
	const char *os = exq__build_os_name(build);
	const char *m = exq_machine_name(machine);
	return exq__err_set(err, EXQ_UNSUPPORTED,
			    "build %u%s%s%s on %s has no work-queue layout "
			    "profile (known: x86 2600, 3790, 6000-6002, "
			    "7600-7601, 9200, 9600, 10240, 10586, 14393, "
			    "15063, 16299-17763, 18362-18363, 19041-19045; "
			    "x64 7600-7601 and the same from 9200)",
			    build, os ? " (" : "", os ? os : "", os ? ")" : "",
			    m ? m : "an unknown machine");
}

exq_status exq__profile_for_build(exq_machine machine, uint32_t build,
				  int sp_hint, const exq__profile **out,
				  exq__err *err)
{
	const exq__profile *c[NPROFILES];
	size_t n = exq__profile_candidates(machine, build, c, NPROFILES), i;
	if (n == 0)
		return no_profile(machine, build, err);
	if (sp_hint >= 0) {
		for (i = 0; i < n; i++) {
			if (sp_hint >= c[i]->sp_min &&
			    sp_hint <= c[i]->sp_max) {
				*out = c[i];
				return EXQ_OK;
			}
		}
		return exq__err_set(err, EXQ_UNSUPPORTED,
				    "build %u (%s) service pack %d has no "
				    "layout profile",
				    build, c[0]->os, sp_hint);
	}
	if (n > 1)
		return exq__err_set(err, EXQ_NOTFOUND,
				    "build %u matches %zu profiles (%s, %s%s); "
				    "the service pack or validation must "
				    "choose",
				    build, n, c[0]->name, c[1]->name,
				    n > 2 ? ", ..." : "");
	*out = c[0];
	return EXQ_OK;
}

const char *exq__wq_queue_name(const exq__profile *P, uint32_t index)
{
	static const char *const pools[] = {"Pool0", "Pool1", "Pool2", "Pool3",
					    "Pool4", "Pool5", "Pool6", "Pool7"};
	if (index < P->nqueue_names)
		return P->queue_names[index];
	return index < 8 ? pools[index] : "Pool";
}
