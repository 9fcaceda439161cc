/* SPDX-License-Identifier: MIT */
/* Layout rows of the world builder (tlib_win.c includes this file once;
 * it is data, not an interface). Sources: DESIGN §7 (old x86 rows), §7b,
 * /work/research/offsets.md (Volatility 2 PDB vtypes, per build). Values
 * marked (unverified) are the generator's choices, listed in
 * contract.md "Generator choices". */
#ifndef EXQ_TLIB_WIN_ROWS_H
#define EXQ_TLIB_WIN_ROWS_H

/* KTHREAD fields of Windows 8 … 10 2004 (offsets.md; Windows 11 assumed
 * equal, unverified). kthread_hdr: unverified. */
#define KT86 .kt_queue = 0xa4, .kt_qle = 0x140, .kt_state = 0x90, \
	.kt_teb = 0xa8, .kt_w32 = 0x124, .kthread_hdr = 0x90
#define KT64 .kt_queue = 0xe8, .kt_qle = 0x208, .kt_state = 0x184, \
	.kt_teb = 0xf0, .kt_w32 = 0x1c8, .kthread_hdr = 0x130

/* Where things live (kernel base, boot DTB, pool and driver regions):
 * plausible values, unverified beyond DESIGN §5's boot CR3s. */
#define P86_8 .base_pae = 0x81605000, .base_x86 = 0x81605000, \
	.dtb_pae = 0x185000, .dtb_x86 = 0x185000, .pool = 0x86400000, \
	.drivers = 0x8c000000
#define P86_81 .base_pae = 0x8141d000, .base_x86 = 0x8141d000, \
	.dtb_pae = 0x185000, .dtb_x86 = 0x185000, .pool = 0x86a00000, \
	.drivers = 0x8c400000
#define P86_10 .base_pae = 0x81c14000, .base_x86 = 0x81c14000, \
	.dtb_pae = 0x1a8000, .dtb_x86 = 0x1a8000, .pool = 0x8a000000, \
	.drivers = 0x8e000000
#define P64_7 .base_pae = 0xfffff80002a4e000ull, .dtb_pae = 0x187000, \
	.pool = 0xfffffa8001a00000ull, .drivers = 0xfffff88000e00000ull
#define P64_8 .base_pae = 0xfffff8027860f000ull, .dtb_pae = 0x1a7000, \
	.pool = 0xffffe00001a00000ull, .drivers = 0xfffff80000c00000ull
#define P64_10 .base_pae = 0xfffff8047ba00000ull, .dtb_pae = 0x1aa000, \
	.pool = 0xffffa38f0d200000ull, .drivers = 0xfffff80480e00000ull
#define P64_11 .base_pae = 0xfffff8063a400000ull, .dtb_pae = 0x1ad000, \
	.pool = 0xffffc48b12400000ull, .drivers = 0xfffff80640c00000ull

static const struct layout layouts[] = {
	/* x86 XP … 7 (DESIGN §7; ThreadListEntry and EPROCESS: offsets.md) */
	{ 2600, 0, 3, "Windows XP", "winxp-x86", 0xe4, 0x118, 0x2d, 0x20,
	  0x130, 0x1ec, 0x224, 0x70, 0x258, 0, 0x290, 0x804d7000, 0x804d7000,
	  0x319000, 0x39000, 0x89b00000, 0xf8400000, 1,
	  0x22c, 0x84, 0x88, 0x190, 0x174, 0x260, TW_X86, TW_MODEL_STATIC,
	  0, 0, 0, 0, 0, 0 },
	{ 3790, 0, 0, "Windows Server 2003", "win2003sp0-x86", 0x68, 0x100,
	  0x2c, 0x30, 0x14c, 0x1f4, 0x22c, 0x6c, 0x250, 0, 0x318, 0x80800000,
	  0x80800000, 0x319000, 0x39000, 0x8a100000, 0xf7800000, 1,
	  0x234, 0x84, 0x88, 0x170, 0x154, 0x250, TW_X86, TW_MODEL_STATIC,
	  0, 0, 0, 0, 0, 0 },
	{ 3790, 1, 2, "Windows Server 2003", "win2003sp1-x86", 0x68, 0x108,
	  0x4c, 0x74, 0x154, 0x1e4, 0x21c, 0x6e, 0x250, 0, 0x318, 0x80800000,
	  0x80800000, 0x319000, 0x39000, 0x8a100000, 0xf7800000, 1,
	  0x224, 0x94, 0x98, 0x180, 0x164, 0x260, TW_X86, TW_MODEL_STATIC,
	  0, 0, 0, 0, 0, 0 },
	{ 6001, 0, 2, "Windows Vista", "vista-x86", 0x78, 0x118, 0x5c, 0x84,
	  0x170, 0x20c, 0x1f8, 0x78, 0x288, 0x1c, 0x330, 0x8181c000,
	  0x8181c000, 0x122000, 0x122000, 0x85400000, 0x8b200000, 0,
	  0x248, 0x9c, 0xa0, 0x168, 0x14c, 0x270, TW_X86, TW_MODEL_STATIC,
	  0, 0, 0, 0, 0, 0 },
	{ 7601, 0, 1, "Windows 7", "win7-x86", 0x7c, 0x120, 0x68, 0x88, 0x18c,
	  0x22c, 0x218, 0x80, 0x2b8, 0x1c, 0x340, 0x82a0b000, 0x82849000,
	  0x185000, 0x185000, 0x85a00000, 0x8b400000, 0,
	  0x268, 0xb4, 0xb8, 0x188, 0x16c, 0x2c0, TW_X86, TW_MODEL_STATIC,
	  0, 0, 0, 0, 0, 0 },
	/* The Windows 8 decoy (TW_DAMAGE_WIN8): a Windows 7-shaped array in
	 * a build 9200 world, to tempt a reader that ignores the build. */
	{ 9200, 0, 0, "Windows 8", NULL, 0x7c, 0x120, 0x68, 0x88, 0x18c,
	  0x22c, 0x218, 0x80, 0x2b8, 0x1c, 0x360, 0x81605000, 0x81605000,
	  0x185000, 0x185000, 0x86400000, 0x8c000000, 0,
	  0x268, 0xb4, 0xb8, 0x188, 0x16c, 0x2c0, TW_X86, TW_MODEL_STATIC,
	  0, 0, 0, 0, 0, 0 },
	/* Windows 7 SP1 x64 (7601.17514 row of offsets.md) */
	{ .build = 7601, .sp_max = 1, .os = "Windows 7", .profile = "win7-x64",
	  .kt_queue = 0xb0, .kt_qle = 0x1c8, .kt_state = 0x164, .kt_teb = 0xb8,
	  .kt_w32 = 0x270, .kthread_hdr = 0xd8, .et_cid = 0x3b0,
	  .et_start = 0x388, .et_tle = 0x420, .ethread_size = 0x4a0,
	  .io_type = 0x38, .kdbg_size = 0x340, P64_7, .ep_pid = 0x180,
	  .ep_apl = 0x188, .ep_tlh = 0x308, .ep_name = 0x2e0,
	  .eprocess_size = 0x4e0, .machine = TW_X64, .model = TW_MODEL_STATIC },
	/* Windows 8 (9200): enode-kqueue */
	{ .build = 9200, .sp_max = 9, .os = "Windows 8", .profile = "win8-x86",
	  KT86, .et_cid = 0x214, .et_start = 0x200, .et_tle = 0x24c,
	  .ethread_size = 0x290, .io_type = 0x1c, .kdbg_size = 0x360, P86_8,
	  .ep_pid = 0xb4, .ep_apl = 0xb8, .ep_tlh = 0x194, .ep_name = 0x170,
	  .eprocess_size = 0x2c0, .machine = TW_X86,
	  .model = TW_MODEL_ENODE_KQUEUE, .enode_q = 0xc0, .enode_size = 0x280 },
	{ .build = 9200, .sp_max = 9, .os = "Windows 8", .profile = "win8-x64",
	  KT64, .et_cid = 0x398, .et_start = 0x370, .et_tle = 0x400,
	  .ethread_size = 0x450, .io_type = 0x38, .kdbg_size = 0x360, P64_8,
	  .ep_pid = 0x2e0, .ep_apl = 0x2e8, .ep_tlh = 0x470, .ep_name = 0x438,
	  .eprocess_size = 0x500, .machine = TW_X64,
	  .model = TW_MODEL_ENODE_KQUEUE, .enode_q = 0xc0, .enode_size = 0x340 },
	/* Windows 8.1 (9600, the 9600.17031 "U1" layout): enode-kpriqueue */
	{ .build = 9600, .sp_max = 9, .os = "Windows 8.1", .profile = "win81-x86",
	  KT86, .et_cid = 0x364, .et_start = 0x350, .et_tle = 0x39c,
	  .ethread_size = 0x3e0, .io_type = 0x1c, .kdbg_size = 0x360, P86_81,
	  .ep_pid = 0xb4, .ep_apl = 0xb8, .ep_tlh = 0x194, .ep_name = 0x170,
	  .eprocess_size = 0x2c0, .machine = TW_X86,
	  .model = TW_MODEL_ENODE_KPRIQUEUE, .enode_q = 0xc0, .enode_wq = 0xe0,
	  .enode_size = 0x340 },
	{ .build = 9600, .sp_max = 9, .os = "Windows 8.1", .profile = "win81-x64",
	  KT64, .et_cid = 0x620, .et_start = 0x5f8, .et_tle = 0x688,
	  .ethread_size = 0x700, .io_type = 0x38, .kdbg_size = 0x360, P64_8,
	  .ep_pid = 0x2e0, .ep_apl = 0x2e8, .ep_tlh = 0x470, .ep_name = 0x438,
	  .eprocess_size = 0x500, .machine = TW_X64,
	  .model = TW_MODEL_ENODE_KPRIQUEUE, .enode_q = 0xc0, .enode_wq = 0x100,
	  .enode_size = 0x500 },
	/* Windows 8.1 RTM (9600.16384): ENODE.ExWorkQueue[2] inline at 0xC0
	 * (offsets.md; AndreyBazhan/SymStore 6.3.9600.16384 headers) */
	{ .build = 9600, .sp_max = 9, .os = "Windows 8.1", .profile = "win81rtm-x86",
	  KT86, .et_cid = 0x364, .et_start = 0x350, .et_tle = 0x39c,
	  .ethread_size = 0x3e0, .io_type = 0x1c, .kdbg_size = 0x360, P86_81,
	  .ep_pid = 0xb4, .ep_apl = 0xb8, .ep_tlh = 0x194, .ep_name = 0x170,
	  .eprocess_size = 0x2c0, .machine = TW_X86,
	  .model = TW_MODEL_ENODE_KPRIQUEUE, .enode_q = 0xc0,
	  .enode_size = 0x500, .rtm81 = 1 },
	{ .build = 9600, .sp_max = 9, .os = "Windows 8.1", .profile = "win81rtm-x64",
	  KT64, .et_cid = 0x620, .et_start = 0x5f8, .et_tle = 0x688,
	  .ethread_size = 0x700, .io_type = 0x38, .kdbg_size = 0x360, P64_8,
	  .ep_pid = 0x2e0, .ep_apl = 0x2e8, .ep_tlh = 0x470, .ep_name = 0x438,
	  .eprocess_size = 0x500, .machine = TW_X64,
	  .model = TW_MODEL_ENODE_KPRIQUEUE, .enode_q = 0xc0,
	  .enode_size = 0x7c0, .rtm81 = 1 },
	/* Windows 10 1507 (10240), 1511 (10586) */
	{ .build = 10240, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-1507-x86", KT86, .et_cid = 0x374, .et_start = 0x360,
	  .et_tle = 0x3ac, .ethread_size = 0x3f0, .io_type = 0x20,
	  .kdbg_size = 0x368, P86_10, .ep_pid = 0xb4, .ep_apl = 0xb8,
	  .ep_tlh = 0x194, .ep_name = 0x170, .eprocess_size = 0x2c0,
	  .machine = TW_X86, .model = TW_MODEL_ENODE_KPRIQUEUE,
	  .enode_q = 0x100, .enode_wq = 0x120, .enode_size = 0x380 },
	{ .build = 10586, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-1511-x86", KT86, .et_cid = 0x374, .et_start = 0x360,
	  .et_tle = 0x3ac, .ethread_size = 0x3f0, .io_type = 0x20,
	  .kdbg_size = 0x368, P86_10, .ep_pid = 0xb4, .ep_apl = 0xb8,
	  .ep_tlh = 0x198, .ep_name = 0x174, .eprocess_size = 0x2c0,
	  .machine = TW_X86, .model = TW_MODEL_ENODE_KPRIQUEUE,
	  .enode_q = 0x100, .enode_wq = 0x120, .enode_size = 0x380 },
	{ .build = 10240, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-1507-x64", KT64, .et_cid = 0x628, .et_start = 0x600,
	  .et_tle = 0x690, .ethread_size = 0x700, .io_type = 0x40,
	  .kdbg_size = 0x368, P64_10, .ep_pid = 0x2e8, .ep_apl = 0x2f0,
	  .ep_tlh = 0x480, .ep_name = 0x448, .eprocess_size = 0x500,
	  .machine = TW_X64, .model = TW_MODEL_ENODE_KPRIQUEUE,
	  .enode_q = 0x100, .enode_wq = 0x140, .enode_size = 0x540 },
	{ .build = 10586, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-1511-x64", KT64, .et_cid = 0x628, .et_start = 0x600,
	  .et_tle = 0x690, .ethread_size = 0x700, .io_type = 0x40,
	  .kdbg_size = 0x368, P64_10, .ep_pid = 0x2e8, .ep_apl = 0x2f0,
	  .ep_tlh = 0x488, .ep_name = 0x450, .eprocess_size = 0x500,
	  .machine = TW_X64, .model = TW_MODEL_ENODE_KPRIQUEUE,
	  .enode_q = 0x100, .enode_wq = 0x140, .enode_size = 0x540 },
	/* Windows 10 1607 (14393), 1703 (15063): IoWorkQueue inline too */
	{ .build = 14393, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-1607-x86", KT86, .et_cid = 0x374, .et_start = 0x360,
	  .et_tle = 0x3ac, .ethread_size = 0x3f0, .io_type = 0x20,
	  .kdbg_size = 0x368, P86_10, .ep_pid = 0xb4, .ep_apl = 0xb8,
	  .ep_tlh = 0x198, .ep_name = 0x174, .eprocess_size = 0x2c0,
	  .machine = TW_X86, .model = TW_MODEL_ENODE_KPRIQUEUE,
	  .enode_q = 0x100, .enode_wq = 0x120, .enode_io = 0x2d8,
	  .enode_size = 0x540 },
	{ .build = 15063, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-1703-x86", KT86, .et_cid = 0x37c, .et_start = 0x368,
	  .et_tle = 0x3b4, .ethread_size = 0x400, .io_type = 0x20,
	  .kdbg_size = 0x368, P86_10, .ep_pid = 0xb4, .ep_apl = 0xb8,
	  .ep_tlh = 0x1a0, .ep_name = 0x17c, .eprocess_size = 0x2c0,
	  .machine = TW_X86, .model = TW_MODEL_ENODE_KPRIQUEUE,
	  .enode_q = 0x100, .enode_wq = 0x120, .enode_io = 0x2d8,
	  .enode_size = 0x540 },
	{ .build = 14393, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-1607-x64", KT64, .et_cid = 0x630, .et_start = 0x608,
	  .et_tle = 0x698, .ethread_size = 0x700, .io_type = 0x40,
	  .kdbg_size = 0x368, P64_10, .ep_pid = 0x2e8, .ep_apl = 0x2f0,
	  .ep_tlh = 0x488, .ep_name = 0x450, .eprocess_size = 0x500,
	  .machine = TW_X64, .model = TW_MODEL_ENODE_KPRIQUEUE,
	  .enode_q = 0x140, .enode_wq = 0x180, .enode_io = 0x450,
	  .enode_size = 0x840 },
	{ .build = 15063, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-1703-x64", KT64, .et_cid = 0x638, .et_start = 0x610,
	  .et_tle = 0x6a0, .ethread_size = 0x700, .io_type = 0x40,
	  .kdbg_size = 0x368, P64_10, .ep_pid = 0x2e0, .ep_apl = 0x2e8,
	  .ep_tlh = 0x488, .ep_name = 0x450, .eprocess_size = 0x500,
	  .machine = TW_X64, .model = TW_MODEL_ENODE_KPRIQUEUE,
	  .enode_q = 0x140, .enode_wq = 0x180, .enode_io = 0x450,
	  .enode_size = 0x840 },
	/* Windows 10 1709 (16299) … 1809 (17763), 2004 (19041) … 22H2
	 * (19045): partition */
	{ .build = 16299, .build_hi = 17763, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-1709-x86", KT86, .et_cid = 0x37c, .et_start = 0x368,
	  .et_tle = 0x3b4, .ethread_size = 0x400, .io_type = 0x20,
	  .kdbg_size = 0x380, P86_10, .ep_pid = 0xb4, .ep_apl = 0xb8,
	  .ep_tlh = 0x1a0, .ep_name = 0x17c, .eprocess_size = 0x2c0,
	  .machine = TW_X86, .model = TW_MODEL_PARTITION, .enode_size = 0x140 },
	{ .build = 19041, .build_hi = 19045, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-2004-x86", KT86, .et_cid = 0x2ac, .et_start = 0x298,
	  .et_tle = 0x2e4, .ethread_size = 0x330, .io_type = 0x20,
	  .kdbg_size = 0x380, P86_10, .ep_pid = 0xe4, .ep_apl = 0xe8,
	  .ep_tlh = 0x1d0, .ep_name = 0x1ac, .eprocess_size = 0x300,
	  .machine = TW_X86, .model = TW_MODEL_PARTITION, .enode_size = 0x180 },
	{ .build = 16299, .build_hi = 17763, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-1709-x64", KT64, .et_cid = 0x638, .et_start = 0x610,
	  .et_tle = 0x6a8, .ethread_size = 0x700, .io_type = 0x40,
	  .kdbg_size = 0x380, P64_10, .ep_pid = 0x2e0, .ep_apl = 0x2e8,
	  .ep_tlh = 0x488, .ep_name = 0x450, .eprocess_size = 0x500,
	  .machine = TW_X64, .model = TW_MODEL_PARTITION, .enode_size = 0x1c0 },
	{ .build = 19041, .build_hi = 19045, .sp_max = 9, .os = "Windows 10",
	  .profile = "win10-2004-x64", KT64, .et_cid = 0x478, .et_start = 0x450,
	  .et_tle = 0x4e8, .ethread_size = 0x540, .io_type = 0x40,
	  .kdbg_size = 0x380, P64_10, .ep_pid = 0x440, .ep_apl = 0x448,
	  .ep_tlh = 0x5e0, .ep_name = 0x5a8, .eprocess_size = 0x880,
	  .machine = TW_X64, .model = TW_MODEL_PARTITION, .enode_size = 0x1c0 },
	/* Windows 11 21H2 (22000; Volatility 3 symbol tables of 22000.318 /
	 * .2538) and 22H2/23H2 (22621/22631; ntdiff headers Win11_2309_23H2:
	 * ETHREAD as 22000, EPROCESS not read: 22000's, unverified); 24H2
	 * (26100; ntdiff Win11_2409_24H2): ETHREAD +0x40, EPROCESS rebuilt.
	 * Queue structures as 1709 on (unverified past 22000). */
	{ .build = 22000, .sp_max = 9, .os = "Windows 11",
	  .profile = "win11-x64", KT64, .et_cid = 0x4c8, .et_start = 0x4a0,
	  .et_tle = 0x538, .ethread_size = 0x5c0, .io_type = 0x40,
	  .kdbg_size = 0x380, P64_11, .ep_pid = 0x440, .ep_apl = 0x448,
	  .ep_tlh = 0x5e0, .ep_name = 0x5a8, .eprocess_size = 0x880,
	  .machine = TW_X64, .model = TW_MODEL_PARTITION, .enode_size = 0x1c0 },
	{ .build = 22621, .build_hi = 22631, .sp_max = 9, .os = "Windows 11",
	  .profile = "win11-22h2-x64", KT64, .et_cid = 0x4c8, .et_start = 0x4a0,
	  .et_tle = 0x538, .ethread_size = 0x5c0, .io_type = 0x40,
	  .kdbg_size = 0x380, P64_11, .ep_pid = 0x440, .ep_apl = 0x448,
	  .ep_tlh = 0x5e0, .ep_name = 0x5a8, .eprocess_size = 0x880,
	  .machine = TW_X64, .model = TW_MODEL_PARTITION, .enode_size = 0x1c0 },
	{ .build = 26100, .sp_max = 9, .os = "Windows 11",
	  .profile = "win11-24h2-x64", KT64, .et_cid = 0x508, .et_start = 0x4e0,
	  .et_tle = 0x578, .ethread_size = 0x600, .io_type = 0x40,
	  .kdbg_size = 0x380, P64_11, .ep_pid = 0x1d0, .ep_apl = 0x1d8,
	  .ep_tlh = 0x370, .ep_name = 0x338, .eprocess_size = 0x880,
	  .machine = TW_X64, .model = TW_MODEL_PARTITION, .enode_size = 0x1c0 },
};

#undef KT86
#undef KT64
#undef P86_8
#undef P86_81
#undef P86_10
#undef P64_7
#undef P64_8
#undef P64_10
#undef P64_11

#endif
