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
	EXQ_DEP          /* a dependency (zlib, libkdumpfile) failed */
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

/* Force a format by name ("raw", "windmp32", "windmp64"); NULL probes. */
EXQ_API exq_status exq_image_set_format(exq_image *img, const char *name);

/* Overrides applied when the image is opened (and recorded as
 * dtb_source "override"): the DTB (CR3) and the paging mode. */
EXQ_API exq_status exq_image_set_dtb(exq_image *img, uint64_t dtb);
EXQ_API exq_status exq_image_set_paging(exq_image *img, exq_paging paging);

/* Open a file. gzip input is detected by its magic and read through an
 * index, whatever format it wraps. */
EXQ_API exq_status exq_image_open_file(exq_image *img, const char *path);
/* Open a caller's buffer; it must stay valid and unchanged until free. */
EXQ_API exq_status exq_image_open_mem(exq_image *img, const void *buf,
				      size_t len);

/* Detail message of the last failure on this handle ("" when none). */
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
	const char *format;    /* "raw", "windmp32", "windmp64" */
	const char *dump_type; /* "full", "kernel", "bitmap", "bitmap-kernel",
				  "triage", "raw" */
	int gzip;              /* read through the gzip source */
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
	/* Physical pages the image holds, as runs sorted by base. */
	size_t nruns;
	const exq_run *runs;
	uint64_t pages_present;
	const exq_triage_info *triage; /* NULL unless a triage dump */
} exq_image_info;

/* Info of an open image; NULL if the image is not open. */
EXQ_API const exq_image_info *exq_image_get_info(const exq_image *img);

/* Read physical memory. Reads may cross pages and runs. On EXQ_OK all len
 * bytes were read. Otherwise *done (if non-NULL) says how many leading
 * bytes were read before the failure, and the status says why (NODATA: a
 * page not captured in this image). */
EXQ_API exq_status exq_read_phys(exq_image *img, uint64_t pa, void *buf,
				 size_t len, size_t *done);

#ifdef __cplusplus
}
#endif
#endif /* EXQ_H */
