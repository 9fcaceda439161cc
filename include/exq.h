/* SPDX-License-Identifier: MIT */
/*
 * exq.h — offline analysis of Windows kernel memory images.
 *
 * The one public header of libexq. Opaque handles, plain result structs,
 * an append-only status enum. The library never prints and never exits;
 * every failure returns an exq_status and leaves a detail message on the
 * handle (exq_image_error()).
 *
 * Threading: one handle, one thread at a time; separate handles are
 * independent.
 */
#ifndef EXQ_H
#define EXQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EXQ_BUILDING) && defined(__GNUC__)
#define EXQ_API __attribute__((visibility("default")))
#else
#define EXQ_API
#endif

#define EXQ_VERSION_MAJOR 0
#define EXQ_VERSION_MINOR 1
#define EXQ_VERSION_PATCH 0
#define EXQ_VERSION_STRING "0.1.0"

/* Status codes. Append-only: values never change meaning or number. */
typedef enum exq_status {
	EXQ_OK = 0,
	EXQ_NOMEM,       /* allocation failed */
	EXQ_IO,          /* the operating system refused a read or open */
	EXQ_INVALID,     /* bad argument from the caller */
	EXQ_UNSUPPORTED, /* a format or OS version exq does not handle */
	EXQ_CORRUPT,     /* the input contradicts itself */
	EXQ_NODATA,      /* the page was not captured in this image */
	EXQ_NOTPRESENT,  /* a page-table entry is not present */
	EXQ_NOTFOUND,    /* kernel, export, pattern or structure not found */
	EXQ_LIMIT,       /* a bound was hit */
	EXQ_DEP,         /* a dependency (zlib, libkdumpfile) failed */
	EXQ_CYCLE        /* a linked list runs back into itself */
} exq_status;

/* Name of a status ("OK", "NODATA", ...); never NULL. */
EXQ_API const char *exq_strerror(exq_status st);
/* Library version string, e.g. "0.1.0". */
EXQ_API const char *exq_version(void);

typedef enum exq_machine {
	EXQ_MACHINE_UNKNOWN = 0,
	EXQ_MACHINE_X86,
	EXQ_MACHINE_X64,
	EXQ_MACHINE_ARM64
} exq_machine;

typedef enum exq_paging {
	EXQ_PAGING_UNKNOWN = 0,
	EXQ_PAGING_X86, /* 2-level, 4-byte entries */
	EXQ_PAGING_PAE, /* 3-level, 8-byte entries */
	EXQ_PAGING_X64  /* 4-level */
} exq_paging;

/* "x86", "x64", "arm64" or NULL; "x86", "pae", "x64" or NULL. */
EXQ_API const char *exq_machine_name(exq_machine m);
EXQ_API const char *exq_paging_name(exq_paging p);

/* ---------------------------------------------------------------- image */

typedef struct exq_image exq_image;

/* A new, unopened image handle; NULL when out of memory. */
EXQ_API exq_image *exq_image_new(void);
/* Closes and frees; accepts NULL. */
EXQ_API void exq_image_free(exq_image *img);

/* Force a format by name ("raw", "windmp32", "windmp64", "elf", "kdump");
 * NULL probes. */
EXQ_API exq_status exq_image_set_format(exq_image *img, const char *name);

/* Overrides applied when the image is opened (and recorded as
 * dtb_source "override"): the DTB (CR3) and the paging mode. */
EXQ_API exq_status exq_image_set_dtb(exq_image *img, uint64_t dtb);
EXQ_API exq_status exq_image_set_paging(exq_image *img, exq_paging paging);

/* Progress of a long operation: done out of total units (pages for the DTB
 * scan, compressed bytes for a gzip index); a last call has done == total. */
typedef void (*exq_progress_fn)(void *arg, uint64_t done, uint64_t total);

/* Progress of the image's long steps: building a gzip index while opening,
 * a DTB scan that reads every page, the KDBG scan of exq_kernel_open. fn
 * gets what ("gzip index", "DTB scan", "KDBG scan"), done out of total
 * (compressed bytes for the index, pages for the scans), about once per
 * MiB, and a last call with done == total; NULL for none. */
typedef void (*exq_image_progress_fn)(void *arg, const char *what,
				      uint64_t done, uint64_t total);
EXQ_API exq_status exq_image_set_progress(exq_image *img,
					  exq_image_progress_fn fn, void *arg);
/* Physical memory a full scan may read (the DTB scan, the KDBG scan), in
 * bytes from the lowest address; 0 (the default) for all of it. A scan cut
 * short by the bound says so in a warning. */
EXQ_API exq_status exq_image_set_max_scan(exq_image *img, uint64_t bytes);

/* Open a file. gzip input is detected by its magic and read through an
 * index, whatever format it wraps. */
EXQ_API exq_status exq_image_open_file(exq_image *img, const char *path);
/* Open a caller's buffer; it must stay valid and unchanged until free. */
EXQ_API exq_status exq_image_open_mem(exq_image *img, const void *buf,
				      size_t len);

/* Detail message of the last failure on this handle ("" when none).
 * Rule: exq_image_open_* clear it; every other call that returns a status
 * other than EXQ_OK sets it (for calls on a vspace, kernel or work-queue
 * handle: the message is on their image); a call that returns EXQ_OK
 * leaves it as it was. Read it right after the failing call. */
EXQ_API const char *exq_image_error(const exq_image *img);

/* Non-fatal observations made while opening (header field disagreements,
 * fields filled with the PAGE pattern, ...). */
EXQ_API size_t exq_image_warning_count(const exq_image *img);
EXQ_API const char *exq_image_warning(const exq_image *img, size_t i);

/* One run of physical pages: pages [base_page, base_page + page_count). */
typedef struct exq_run {
	uint64_t base_page;
	uint64_t page_count;
} exq_run;

/* One driver from a triage dump's driver list. */
typedef struct exq_triage_driver {
	const char *name; /* UTF-8 */
	uint64_t base;
	uint32_t size;
	uint32_t timestamp;
} exq_triage_driver;

/* TRIAGE_DUMP32 / TRIAGE_DUMP64 fields, as stored (file offsets). */
typedef struct exq_triage_info {
	uint32_t service_pack_build, size_of_dump, valid_offset;
	uint32_t context_offset, exception_offset, mm_offset;
	uint32_t unloaded_drivers_offset, prcb_offset, process_offset;
	uint32_t thread_offset, callstack_offset, callstack_size;
	uint32_t driver_list_offset, driver_count;
	uint32_t string_pool_offset, string_pool_size;
	uint32_t broken_driver_offset, triage_options;
	uint64_t top_of_stack;
	uint64_t data_page_address;
	uint32_t data_page_offset, data_page_size;
	uint32_t debugger_data_offset, debugger_data_size;
	uint32_t data_blocks_offset, data_blocks_count;
	int valid; /* the TRGD tag is at valid_offset */
	/* The KDBG copy at debugger_data_offset, when its tag checks out. */
	int has_kdbg;
	uint32_t kdbg_size;
	uint64_t kdbg_kernbase;
	uint64_t kdbg_ps_loaded_module_list;
	/* The driver list, decoded (drivers with unreadable names are kept
	 * with name "" and counted in a warning). */
	size_t ndrivers;
	const exq_triage_driver *drivers;
} exq_triage_info;

/* Bits of exq_image_info.have: which optional facts the image holds. */
#define EXQ_HAVE_DTB (1u << 0)
#define EXQ_HAVE_BUILD (1u << 1)
#define EXQ_HAVE_CPUS (1u << 2)
#define EXQ_HAVE_BUGCHECK (1u << 3)
#define EXQ_HAVE_SYSTEM_TIME (1u << 4)
#define EXQ_HAVE_KDBG (1u << 5)
#define EXQ_HAVE_PFN_DATABASE (1u << 6)
#define EXQ_HAVE_MODULE_LIST (1u << 7)
#define EXQ_HAVE_PROCESS_HEAD (1u << 8)
#define EXQ_HAVE_PRODUCT (1u << 9)
#define EXQ_HAVE_CONTEXT (1u << 10)
#define EXQ_HAVE_EXCEPTION (1u << 11)
#define EXQ_HAVE_RUNS (1u << 12)
#define EXQ_HAVE_VERSION (1u << 13)
#define EXQ_HAVE_UPTIME (1u << 14)

/* What the image says about itself. Owned by the image; valid until
 * exq_image_free(). Fields are only ever appended. */
typedef struct exq_image_info {
	const char *format;    /* "raw", "windmp32", "windmp64", "elf", "kdump" */
	const char *dump_type; /* "full", "kernel", "bitmap", "bitmap-kernel",
				  "triage", "raw" */
	int gzip;              /* read through the gzip source: how many
				  gzip layers (a .gz of a .gz is 2) */
	uint64_t image_size;   /* bytes (uncompressed) */
	uint32_t have;         /* EXQ_HAVE_* */
	exq_machine machine;
	exq_paging paging;
	uint64_t dtb;
	const char *dtb_source; /* "header", ... when EXQ_HAVE_DTB */
	uint32_t major_version, minor_version;
	uint32_t build;
	uint32_t cpus;
	uint32_t bugcheck_code;
	uint64_t bugcheck_params[4];
	uint64_t system_time; /* FILETIME: 100 ns since 1601-01-01 UTC */
	uint64_t system_uptime;
	uint64_t kdbg_va;
	uint64_t pfn_database;
	uint64_t ps_loaded_module_list;
	uint64_t ps_active_process_head;
	uint32_t product_type, suite_mask;
	uint32_t dump_type_code; /* DumpType field as stored (0 for raw) */
	/* Processor context: pc/sp and where they came from ("header",
	 * "prcb"). */
	uint64_t context_pc, context_sp;
	const char *context_source;
	uint32_t exception_code;
	uint64_t exception_address;
	/* Physical pages the image holds: how many, in how many runs (the
	 * runs themselves: exq_image_runs). */
	size_t nruns;
	uint64_t pages_present;
	const exq_triage_info *triage; /* NULL unless a triage dump */
} exq_image_info;

/* Info of an open image; NULL if the image is not open. */
EXQ_API const exq_image_info *exq_image_get_info(const exq_image *img);

/* The physical pages the image holds, as info.nruns runs sorted by base
 * (*runs is NULL when there are none). A bitmap dump keeps its bitmap
 * and builds the runs on the first call (so that opening it costs the
 * same however fragmented it is): that call may fail with EXQ_NOMEM. The
 * array stays valid until the image is closed or re-opened. */
EXQ_API exq_status exq_image_runs(exq_image *img, const exq_run **runs,
				  size_t *nruns);

/* Read physical memory. Reads may cross pages and runs. On EXQ_OK all len
 * bytes were read. Otherwise *done (if non-NULL) says how many leading
 * bytes were read before the failure, and the status says why (NODATA: a
 * page not captured in this image). */
EXQ_API exq_status exq_read_phys(exq_image *img, uint64_t pa, void *buf,
				 size_t len, size_t *done);

/* ------------------------------------------------------ virtual addresses
 * (xlat.c, dtb.c — DESIGN §5) */

typedef struct exq_vspace exq_vspace;

/* Flags of one page-table entry (exq_xlat_level.flags) and of a whole
 * translation (exq_xlat.flags). */
#define EXQ_XF_PRESENT (1u << 0)      /* valid bit */
#define EXQ_XF_WRITE (1u << 1)        /* R/W (whole walk: every level) */
#define EXQ_XF_USER (1u << 2)         /* U/S (whole walk: every level) */
#define EXQ_XF_WRITETHROUGH (1u << 3) /* PWT */
#define EXQ_XF_CACHEDISABLE (1u << 4) /* PCD */
#define EXQ_XF_ACCESSED (1u << 5)
#define EXQ_XF_DIRTY (1u << 6)
#define EXQ_XF_LARGE (1u << 7)  /* PS: a 4 MiB / 2 MiB / 1 GiB page */
#define EXQ_XF_GLOBAL (1u << 8)
#define EXQ_XF_TRANSITION (1u << 9) /* Windows transition PTE: valid bit
				       clear, bit 11 set, bit 10 clear; the
				       page is still in RAM */
#define EXQ_XF_PROTOTYPE (1u << 10) /* not valid, bit 10 set (Windows
				       prototype PTE: not translated) */
#define EXQ_XF_NX (1u << 11)        /* no-execute (whole walk: any level) */

#define EXQ_XLAT_MAX_LEVELS 4

/* One entry read during a walk. */
typedef struct exq_xlat_level {
	const char *name;  /* "PML4E", "PDPTE", "PDE", "PTE" */
	uint32_t index;    /* index of the entry in its table */
	uint64_t entry_pa; /* physical address of the entry */
	uint64_t entry;    /* its value (4-byte entries zero-extended) */
	uint32_t flags;    /* EXQ_XF_* decoded from this entry */
} exq_xlat_level;

/* A translation, top level first. */
typedef struct exq_xlat {
	uint64_t va;
	exq_paging paging;
	uint32_t nlevels; /* entries read; on failure the last one is the
			     entry that stopped the walk */
	exq_xlat_level levels[EXQ_XLAT_MAX_LEVELS];
	uint64_t pa;        /* on EXQ_OK: the physical address of va */
	uint64_t page_size; /* on EXQ_OK: 0x1000, 0x200000, 0x400000 or
			       0x40000000 */
	uint32_t flags;     /* on EXQ_OK: EXQ_XF_PRESENT (or _TRANSITION),
			       _LARGE, _NX, _WRITE, _USER, _GLOBAL,
			       _ACCESSED, _DIRTY of the mapping */
} exq_xlat;

/* Open the kernel address space of an open image: the paging mode and
 * DTB the image reports (a --dtb/--paging override, the dump header),
 * else a DTB search: the likely places first (known boot CR3s, the low
 * 64 MiB), every page only when none of those passes (exq_dtb_scan; the
 * winner is recorded on the image as dtb_source "scan", and a failed full
 * scan is kept so that exq_dtb_scan does not repeat it). A DTB with an unknown paging mode is tried in each
 * mode the machine allows and kept in the one that maps kernel space.
 * EXQ_NOTFOUND (with a message) when no DTB is known or found. The image
 * must outlive the vspace. */
EXQ_API exq_status exq_vspace_open(exq_vspace **out, exq_image *img);
/* An address space with an explicit paging mode and DTB (a process's
 * DirectoryTableBase, a test); dtb_source "caller". Reads nothing. */
EXQ_API exq_status exq_vspace_new(exq_vspace **out, exq_image *img,
				  exq_paging paging, uint64_t dtb);
/* Frees; accepts NULL. */
EXQ_API void exq_vspace_free(exq_vspace *vs);

EXQ_API exq_paging exq_vspace_paging(const exq_vspace *vs);
/* The DTB as used: PAE 32-byte aligned, others page aligned. */
EXQ_API uint64_t exq_vspace_dtb(const exq_vspace *vs);
/* "override", "header", "qemu-note", "scan" or "caller". */
EXQ_API const char *exq_vspace_dtb_source(const exq_vspace *vs);
EXQ_API exq_image *exq_vspace_image(const exq_vspace *vs);

/* Translate one virtual address by walking the page tables, reporting
 * every entry read (for display: `exq vtop`). Always walks: it neither
 * reads nor fills the TLB (exq_vtop_pa is the fast path, and its answers
 * are this walk's). EXQ_OK: out->pa etc. are set. EXQ_NOTPRESENT: an entry is not present;
 * EXQ_NODATA: a page-table page is not in the image; EXQ_INVALID: the VA
 * is outside the mode's address space (above 4 GiB for x86/PAE,
 * non-canonical for x64). Exception to the output rule: on NOTPRESENT
 * and NODATA *out is still written, with the levels read so far, so that
 * callers can show where the walk stopped. The message on the image names
 * the level and entry ("PDE[0x1f2] = 0x0 not present"). */
EXQ_API exq_status exq_vtop(exq_vspace *vs, uint64_t va, exq_xlat *out);

/* Translate one virtual address through the vspace's software TLB: where
 * va lands, without the chain of entries. On EXQ_OK *pa is the physical
 * address of va, and *page_size and *flags (each may be NULL) are what
 * exq_vtop would put in out->page_size and out->flags. Failures are
 * exq_vtop's (NOTPRESENT, NODATA, INVALID, with the same message on the
 * image); then nothing is written. The TLB: one per vspace, fixed in size
 * (64 Ki entries of one 4 KiB page each, 1 MiB, allocated with the
 * vspace), 2-way set-associative, filled only by walks that translated
 * (a failure is walked again on every call); no allocation per call. Its
 * entries stay right because nothing they depend on changes: the vspace's
 * paging mode and DTB are fixed, an open image is immutable, and
 * re-opening the image empties the TLB. exq_read_virt shares it. */
EXQ_API exq_status exq_vtop_pa(exq_vspace *vs, uint64_t va, uint64_t *pa,
			       uint64_t *page_size, uint32_t *flags);

/* Translate va[0..n) as n calls of exq_vtop_pa would, in one call that
 * overlaps their memory latency: the VAs are looked up and walked 16 at a
 * time, each level's entries (and the TLB sets) prefetched for the whole
 * group before any is read. For each i, st[i] is what exq_vtop_pa(vs,
 * va[i], ...) returns; where it is EXQ_OK, pa[i] is the PA and flags[i]
 * the EXQ_XF_* flags it gives; elsewhere pa[i] and flags[i] are left as
 * they were. st and flags may be NULL; pa may be va itself (translation
 * in place). Returns EXQ_OK when every VA translated, else the status of
 * the first that did not, and the message on the image is that VA's (the
 * others' messages are not kept: ask exq_vtop_pa or exq_vtop for one to
 * hear why). EXQ_INVALID when vs is NULL, or va or pa is NULL with n > 0
 * (n = 0 does nothing and returns EXQ_OK). It reads and fills the
 * vspace's TLB as exq_vtop_pa does, and beside it a page-table cache of
 * its own (1024 entries of 16 bytes, allocated with the vspace: for a
 * 2 MiB range, 4 MiB on x86, its last-level table and the flags above
 * it), so that a TLB miss where a table is known reads one entry instead
 * of walking from the root. The answers are exq_vtop_pa's; only the TLB
 * statistics can differ (a VA twice in one group of 16 is walked twice
 * instead of hitting the second time). No allocation per call. The page
 * size is not reported: EXQ_XF_LARGE says a translation came from a large
 * page, and exq_vtop_pa gives its size. */
EXQ_API exq_status exq_vtop_pa_many(exq_vspace *vs, const uint64_t *va,
				    size_t n, uint64_t *pa, uint32_t *flags,
				    exq_status *st);

/* Read virtual memory through the vspace's software TLB (exq_vtop_pa). Reads may cross pages
 * that map to non-adjacent physical pages. On EXQ_OK all len bytes were
 * read; otherwise *done (if non-NULL) holds the number of leading bytes
 * read, and the status and the image's message say why the rest was not
 * (NOTPRESENT, NODATA, INVALID). Transition pages are read. */
EXQ_API exq_status exq_read_virt(exq_vspace *vs, uint64_t va, void *buf,
				 size_t len, size_t *done);

/* Evidence bits of a DTB candidate. */
#define EXQ_DTB_EV_SELFMAP (1u << 0)     /* the root table (PAE: PD 3) maps
					    itself */
#define EXQ_DTB_EV_BOOT_LAYOUT (1u << 1) /* PAE: PDPT at PD3 - 0x4000 naming
					    PD3 - 0x3000 ... PD3 */
#define EXQ_DTB_EV_BOOT_CR3 (1u << 2)    /* a known boot CR3 (DESIGN §5) */
#define EXQ_DTB_EV_SELFMAP_VA (1u << 3)  /* the self-map VA region
					    translates to the tables */
#define EXQ_DTB_EV_KERNEL (1u << 4)      /* kernel space maps into the
					    image */

/* One DTB candidate found by the scan, with the evidence for it. */
typedef struct exq_dtb_candidate {
	uint64_t dtb;
	exq_paging paging;
	uint32_t evidence; /* EXQ_DTB_EV_* */
	int64_t score;     /* higher is better; compared among accepted */
	int accepted;      /* passed every test */
	int chosen;        /* the winner (at most one, listed first) */
	/* Kernel-half entries one level below the root (x86/PAE: PDEs of
	 * 0x80000000-0xFFFFFFFF without the self-map; x64: PML4Es and the
	 * PDPTEs under them), present and pointing inside / outside the
	 * image. */
	uint32_t kernel_inside, kernel_outside;
	/* Page tables sampled under them: present PTEs inside / outside. */
	uint32_t ptes_inside, ptes_outside;
	char reason[200]; /* why rejected, or a summary when accepted */
} exq_dtb_candidate;


/* Scan the image for page directories (DESIGN §5): PAE self-map (8-byte
 * entry 3 naming its own page) with the PDPT that names it, known boot
 * CR3s, non-PAE self-map (entry 0x300), x64 self-referencing PML4 entry
 * in the kernel half. Each candidate is tested (kernel space must map
 * into the image; the self-map VA must translate to the tables) and
 * scored; the best accepted one is chosen. One sequential pass over the
 * pages present, then a bounded number of reads per candidate. The paging
 * override and the machine type restrict the modes tried. On EXQ_OK *out
 * (free with exq_dtb_candidates_free) holds *n candidates, the chosen one
 * first (if any; check .chosen), then the others by score. When the image
 * has no DTB, the winner is recorded on it (dtb_source "scan"). */
EXQ_API exq_status exq_dtb_scan(exq_image *img, exq_progress_fn progress,
				void *arg, exq_dtb_candidate **out, size_t *n);
EXQ_API void exq_dtb_candidates_free(exq_dtb_candidate *c);

/* ------------------------------------------------- end virtual addresses */

/* ---------------------------------------------------------------- kernel
 * (kernel.c, modules.c — DESIGN §6) */

typedef struct exq_kernel exq_kernel;

/* Overrides for exq_kernel_open (zeroed = none). Growable like
 * exq_workq_opts: size is sizeof(exq_kernel_opts) or 0 (this layout). */
typedef struct exq_kernel_opts {
	size_t size;
	int have_kernel_base;
	uint64_t kernel_base; /* --kernel-base */
	int have_module_list;
	uint64_t module_list; /* --modules-list: PsLoadedModuleList head */
} exq_kernel_opts;

/* What exq found out about ntoskrnl. Owned by the kernel handle. */
typedef struct exq_kernel_info {
	const char *name;        /* export directory name: "ntkrnlpa.exe" */
	uint64_t base;
	uint32_t size;           /* SizeOfImage */
	const char *base_source; /* "override", "kdbg", "module-list",
				    "kdbg-scan", "pe-scan" */
	int has_build;
	uint32_t build;           /* low 16 bits of NtBuildNumber */
	uint32_t nt_build_number; /* as stored (0xF... free, 0xC... checked) */
	int has_pdb;
	const char *pdb_name; /* CodeView RSDS: "ntkrpamp.pdb" */
	const char *pdb_guid; /* "1B2C3D4E-5F60-7182-93A4-B5C6D7E8F901" */
	uint32_t pdb_age;
	const char *os;      /* "Windows 7", ... or NULL */
	const char *profile; /* layout profile ("win7-x86") or NULL: no row for
				the build, or several (3790, 7601 x64, 9600:
				validation chooses at walk time) */
	int has_kdbg;
	uint64_t kdbg_va;
	int has_module_list;
	uint64_t module_list;           /* PsLoadedModuleList head */
	const char *module_list_source; /* "override", "header", "kdbg",
					   "export" */
	int has_layout; /* one or more profile rows match the build and
			   machine (the queues can be walked) */
} exq_kernel_info;

/* One loaded module (LDR_DATA_TABLE_ENTRY). */
typedef struct exq_module {
	const char *name; /* BaseDllName, UTF-8 */
	const char *path; /* FullDllName, UTF-8 */
	uint64_t base;
	uint64_t size;
	uint64_t entry; /* VA of the LDR_DATA_TABLE_ENTRY */
} exq_module;

/* Find ntoskrnl in the address space (DESIGN §6, in order: override,
 * KDBG.KernBase, first entry of PsLoadedModuleList, KDBG scan of physical
 * memory, PE scan of kernel space; every candidate must parse as a kernel
 * PE), read its exports, build and CodeView record. Rejected candidates
 * become image warnings. EXQ_UNSUPPORTED on a triage dump (which holds
 * no kernel pages; its KDBG copy and driver list are in
 * exq_image_info.triage). The vspace must outlive the kernel. */
EXQ_API exq_status exq_kernel_open(exq_kernel **out, exq_vspace *vs,
				   const exq_kernel_opts *opts);
EXQ_API void exq_kernel_free(exq_kernel *k); /* accepts NULL */
EXQ_API const exq_kernel_info *exq_kernel_get_info(const exq_kernel *k);
/* VA of an export of ntoskrnl (EXQ_NOTFOUND; forwarders are not code:
 * EXQ_NOTFOUND too). */
EXQ_API exq_status exq_kernel_export(exq_kernel *k, const char *name,
				     uint64_t *va);

/* Walk PsLoadedModuleList (bounded, cycle-safe). On EXQ_OK or on a break
 * in the list (NODATA, NOTPRESENT, CORRUPT for a cycle, LIMIT), *mods and
 * *n hold the modules read so far (owned by k; valid until the next call
 * or exq_kernel_free) and the image's message says where the list broke. */
EXQ_API exq_status exq_kernel_modules(exq_kernel *k, const exq_module **mods,
				      size_t *n);

/* addr as "<module>+0x<off>" (lower-case hex). EXQ_NOTFOUND when no module
 * holds it (buf then gets the bare address); EXQ_LIMIT when the text did
 * not fit in len bytes (buf holds it cut short). A module list that breaks
 * is walked once and leaves a warning on the image. */
EXQ_API exq_status exq_symbolize(exq_kernel *k, uint64_t addr, char *buf,
				 size_t len);
/* addr as "<module>!<export>+0x<off>" only when an exported function of
 * that module contains it exactly (DESIGN §6: never a guess) and off is at
 * most 0x1000;
 * EXQ_NOTFOUND otherwise; EXQ_LIMIT when it did not fit in len bytes. */
EXQ_API exq_status exq_symbolize_export(exq_kernel *k, uint64_t addr,
					char *buf, size_t len);

/* ------------------------------------------------------------ end kernel */

/* ----------------------------------------------------------- work queues
 * (workq.c, wq_find.c, wq_walk.c — DESIGN §7, §7b) */

#define EXQ_WQ_DEFAULT_MAX_ITEMS 4096
#define EXQ_WQ_MAX_ITEMS_CAP (1u << 20) /* larger max_items are clamped */
#define EXQ_WQ_DEFAULT_WINDOW 0x100

/* How the bytes a pattern captures name an address. */
typedef enum exq_wq_operand {
	EXQ_WQ_ABS32 = 0, /* an absolute 32-bit VA (x86 imm32 / disp32) */
	EXQ_WQ_RIPREL     /* a disp32 relative to the end of the instruction
			     (x64 [rip+disp32]); see insn_len */
} exq_wq_operand;

/* An instruction pattern that carries the address of a queue root:
 * "57 81 C6 ?? ?? ?? ??" (hex bytes; '?' is a wildcard nibble) with the
 * 4 operand bytes at imm_offset. RIPREL: the address is the end of the
 * instruction (match start + insn_len; 0 means imm_offset + 4) plus the
 * sign-extended disp32. Every hit is only a candidate: the structure
 * found there is validated before it is used. */
typedef struct exq_wq_pattern {
	const char *name;
	const char *hex;
	uint32_t imm_offset;
	exq_wq_operand operand;
	uint32_t insn_len;
} exq_wq_pattern;

/* Options of exq_workq_walk. Growable: set size to sizeof(exq_workq_opts)
 * (exq_workq_opts_init does); fields added later are read only when size
 * covers them, and size 0 means this first layout. */
typedef struct exq_workq_opts {
	size_t size;
	/* --exworkerqueue / --queue-root: skip the search. The address is the
	 * root of the build's queue model: the ExWorkerQueue array
	 * (static-array), node 0's ENODE (enode-*), or the EX_PARTITION
	 * (partition). */
	int have_root;
	uint64_t root;
	size_t max_items; /* per list; 0 = EXQ_WQ_DEFAULT_MAX_ITEMS; at most
			     EXQ_WQ_MAX_ITEMS_CAP. Memory follows the nodes
			     actually read (a walk's visited set and item
			     array grow by doubling), not this bound: a
			     list of n nodes costs about n * (32 +
			     sizeof(exq_wq_item)) bytes at most. */
	uint32_t window;  /* bytes of code scanned per function; 0 = default */
	/* Extra patterns tried before the built-in table, on the function the
	 * build's model reads its root from (ExQueueWorkItem, or
	 * KeQueryNodeMaximumProcessorCount for the ENODE models). */
	const exq_wq_pattern *patterns;
	size_t npatterns;
} exq_workq_opts;

/* Zero o and set its size. */
EXQ_API void exq_workq_opts_init(exq_workq_opts *o);

/* The four ways Windows keeps its system worker queues (DESIGN §7b). */
typedef enum exq_wq_model {
	EXQ_WQ_MODEL_NONE = 0,
	EXQ_WQ_MODEL_STATIC_ARRAY,    /* XP … 7: ExWorkerQueue[3] */
	EXQ_WQ_MODEL_ENODE_KQUEUE,    /* 8: ENODE.ExWorkerQueues[7] */
	EXQ_WQ_MODEL_ENODE_KPRIQUEUE, /* 8.1 … 10 1703: ENODE.ExWorkQueues[] */
	EXQ_WQ_MODEL_PARTITION        /* 10 1709 … 11: EX_PARTITION */
} exq_wq_model;

/* "static-array", "enode-kqueue", "enode-kpriqueue", "partition"; NULL
 * for others. */
EXQ_API const char *exq_wq_model_name(exq_wq_model m);

typedef struct exq_wq_thread {
	uint64_t ethread;
	uint64_t pid, tid; /* ETHREAD.Cid */
	uint64_t teb, win32thread, start_address;
	uint32_t state;         /* KTHREAD.State */
	const char *state_name; /* "WAIT", "READY", "RUNNING", ... */
} exq_wq_thread;

typedef enum exq_wq_item_kind {
	EXQ_WQ_WORK_QUEUE_ITEM = 0,
	EXQ_WQ_IO_WORKITEM = 1 /* Parameter == the item itself */
} exq_wq_item_kind;

typedef enum exq_wq_object_type {
	EXQ_WQ_OBJECT_UNKNOWN = 0, /* absent or unreadable */
	EXQ_WQ_OBJECT_DEVICE = 3,  /* DEVICE_OBJECT */
	EXQ_WQ_OBJECT_DRIVER = 4   /* DRIVER_OBJECT */
} exq_wq_object_type;

typedef struct exq_wq_item {
	uint64_t va;
	exq_wq_item_kind kind;
	uint64_t routine, parameter;
	/* IO work items only */
	uint64_t io_routine, io_object, context;
	exq_wq_object_type io_object_type;
	const char *driver;    /* "\Driver\bar", or NULL */
	const char *recovered; /* NULL, or "blink" */
	int priority;          /* KPRIQUEUE list (0..31); -1 on a KQUEUE */
} exq_wq_item;

/* Where a list walk stopped early, or what is wrong with a list head.
 * status: why (NODATA, NOTPRESENT, CORRUPT, LIMIT, NOMEM, CYCLE); node:
 * the last good node; link: the address that failed. */
typedef struct exq_wq_error {
	exq_status status;
	uint64_t node, link;
	const char *message;
} exq_wq_error;

typedef struct exq_wq_queue {
	size_t index;     /* position in exq_workq.queues */
	const char *name; /* "Critical", "ExPoolUntrusted", "Pool5", ... */
	uint64_t va;      /* EX_WORK_QUEUE */
	uint32_t node;    /* NUMA node (0 for static-array) */
	uint32_t queue_index; /* within the node: 0..2 static-array,
				 WORK_QUEUE_TYPE for enode-kqueue,
				 EXQUEUEINDEX otherwise */
	uint32_t threads_count;
	int has_threads_max;  /* the layout keeps a worker maximum */
	uint32_t threads_max;
	uint32_t current, maximum; /* KQUEUE CurrentCount / MaximumCount;
				      KPRIQUEUE: sum of CurrentCount[] */
	uint32_t signal_state;
	uint32_t priorities;  /* item lists: 1 (KQUEUE) or 32 (KPRIQUEUE) */
	size_t nthreads, nitems, nerrors;
	exq_wq_thread *threads;
	exq_wq_item *items; /* KPRIQUEUE: priority 31 first, each list from
			       its head (the order the kernel takes them) */
	exq_wq_error *errors;
} exq_wq_queue;

typedef struct exq_workq {
	exq_wq_model model;
	const char *model_name; /* exq_wq_model_name(model) */
	uint64_t root;          /* the array, node 0's ENODE, or EX_PARTITION */
	const char *found_by;   /* "pattern:<name>@<export>+0x<off>",
				   "threads", "bugcheck-0x96", "override",
				   "scan:<kernel>+0x<off>" */
	const char *profile;    /* "win7-x86", "win10-1709-x64", ... */
	uint32_t nodes;
	size_t nqueues;
	exq_wq_queue *queues; /* node by node, by queue_index */
	/* Candidates that failed validation, with the reason (for -v). */
	size_t nrejected;
	const char *const *rejected;
} exq_workq;

/* Find the queue root of the kernel's build (override, instruction
 * patterns, the System process's worker threads, bugcheck 0x96, a data
 * scan), validate it, and walk every queue. EXQ_OK: all walked. A list
 * that broke is recorded in that queue's errors and the status is the
 * first such error's (NODATA, NOTPRESENT, CORRUPT, CYCLE, LIMIT) with
 * *out still set. Without *out: EXQ_UNSUPPORTED for builds without a
 * layout profile (the message names the build) and for triage dumps,
 * EXQ_NOTFOUND when no candidate validates, EXQ_INVALID for a malformed
 * pattern. */
EXQ_API exq_status exq_workq_walk(exq_kernel *k, const exq_workq_opts *opts,
				  exq_workq **out);
EXQ_API void exq_workq_free(exq_workq *wq); /* accepts NULL */

/* ------------------------------------------------------- end work queues */

/* ------------------------------------------------------ VM snapshots
 * (fmt_elf.c, fmt_kdump.c — DESIGN §4.4) */

/* The vCPU whose saved state (QEMU CPU note: CR3, CR4, CR0) gives the DTB,
 * paging mode and context of an ELF core or kdump file; default 0. Applied
 * when the image is opened: a vCPU the image has no state for makes the
 * open fail with EXQ_INVALID. Other formats ignore it. */
EXQ_API exq_status exq_image_set_cpu(exq_image *img, unsigned cpu);

/* -------------------------------------------------- end VM snapshots */

#ifdef __cplusplus
}
#endif
#endif /* EXQ_H */
