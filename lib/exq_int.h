/* SPDX-License-Identifier: MIT */
/*
 * exq_int.h — the one private header of libexq.
 *
 * Layers: byte sources (src_*.c) → physical formats (fmt_*.c) → ...
 * Cross-file internal names are exq__*.
 */
#ifndef EXQ_INT_H
#define EXQ_INT_H

#include "exq.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#define EXQ__PAGE_SIZE 4096u
#define EXQ__PAGE_SHIFT 12

/* Private status: "this input is not mine" from a format probe. Never
 * leaves the library. */
#define EXQ__NOPROBE ((exq_status)1000)

#if defined(__GNUC__)
#define EXQ__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EXQ__PRINTF(a, b)
#endif

/* ------------------------------------------------------------- errors */

/* A detail message that gains context as it climbs:
 * exq__err_set() writes the innermost message, exq__err_ctx() prepends
 * "context: ". Both return the status they are given. */
#define EXQ__ERR_MAX 1024
typedef struct exq__err {
	char msg[EXQ__ERR_MAX];
} exq__err;

exq_status exq__err_set(exq__err *e, exq_status st, const char *fmt, ...)
	EXQ__PRINTF(3, 4);
exq_status exq__err_ctx(exq__err *e, exq_status st, const char *fmt, ...)
	EXQ__PRINTF(3, 4);
void exq__err_clear(exq__err *e);

/* ------------------------------------------------- little-endian loads */

static inline uint16_t exq__le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | (b[1] << 8));
}
static inline uint32_t exq__le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) |
	       ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static inline uint64_t exq__le64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)exq__le32(b) | ((uint64_t)exq__le32(b + 4) << 32);
}
static inline uint32_t exq__be32(const void *p)
{
	const uint8_t *b = p;
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
	       ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}
static inline uint64_t exq__be64(const void *p)
{
	const uint8_t *b = p;
	return ((uint64_t)exq__be32(b) << 32) | exq__be32(b + 4);
}

/* ------------------------------------------------------- byte sources */

typedef struct exq__source exq__source;

/* A byte source: a file, a caller's buffer, a gzip stream over another
 * source. Contract of each slot:
 *   read:  fill buf with len bytes at off; the caller (exq__src_read)
 *          has already checked off + len <= size. A short read is an
 *          error (EXQ_IO or EXQ_CORRUPT with a message), never silent.
 *   close: release everything, including any wrapped source.
 */
struct exq__source_ops {
	const char *name; /* "file", "mem", "gzip" */
	exq_status (*read)(exq__source *src, uint64_t off, void *buf,
			   size_t len, exq__err *err);
	void (*close)(exq__source *src);
};

struct exq__source {
	const struct exq__source_ops *ops;
	uint64_t size; /* bytes the source yields */
	void *priv;
	/* The whole source in memory (the mem source), else NULL: readers
	 * may then point into it instead of copying (exq__page_ref). Files
	 * are not mapped: a file that shrinks while open must stay an EXQ_IO
	 * error, not a SIGBUS. */
	const uint8_t *base;
};

exq_status exq__src_file_open(exq__source **out, const char *path,
			      exq__err *err);
exq_status exq__src_mem_open(exq__source **out, const void *buf, size_t len,
			     exq__err *err);
/* Wraps inner (taking ownership, also on failure) in a gzip decoder with
 * random access through an index of access points. The index is built
 * during open (one pass: that is how the uncompressed size is known);
 * memory stays bounded whatever the stream's size. */
exq_status exq__src_gzip_open(exq__source **out, exq__source *inner,
			      exq_progress_fn progress, void *arg,
			      exq__err *err);
/* --- gzip source: test knobs (src_gzip.c; used by tests/unit and bench).
 * _open_span is exq__src_gzip_open with a chosen first span between access
 * points and a point cap (2..1024; the default is 1 MiB and 1024), so that
 * small inputs can exercise index thinning. _stats reports the index of an
 * open gzip source (EXQ_INVALID for any other source). */
exq_status exq__src_gzip_open_span(exq__source **out, exq__source *inner,
				   uint64_t span, size_t max_points,
				   exq__err *err);
exq_status exq__src_gzip_stats(const exq__source *src, size_t *npoints,
			       uint64_t *span, uint64_t *members);
/* --- end of gzip test knobs. */
/* True when the source starts with the gzip magic (1f 8b 08). */
int exq__src_is_gzip(exq__source *src);
/* Flattened makedumpfile stream (src_flat.c): true when src starts with
 * the "makedumpfile" signature; _open rebuilds the regular layout over
 * inner (indexed, no temporary file; owns inner when own_inner, also on
 * failure); _nrecords: data records indexed (0 for other sources). */
int exq__src_is_flat(exq__source *src);
exq_status exq__src_flat_open(exq__source **out, exq__source *inner,
			      int own_inner, exq__err *err);
/* What a VM-core format reads of src: src itself (*flat NULL), or, when
 * it is a flattened makedumpfile stream, the file rebuilt from it (*flat,
 * which the format closes; src stays the caller's). */
exq_status exq__src_unflatten(exq__source *src, exq__source **flat,
			      exq__source **c, exq__err *err);
size_t exq__src_flat_nrecords(const exq__source *src);
/* The first n bytes of the file a flattened stream rebuilds, when its
 * first record starts at offset 0 (no index built); 0 otherwise. */
int exq__src_flat_peek(exq__source *src, uint8_t *buf, size_t n);
/* The file descriptor of a file source, -1 for any other source. */
int exq__src_fd(const exq__source *src);

/* Bounds-checked read: off + len beyond the end is EXQ_CORRUPT with a
 * message naming the offsets. */
exq_status exq__src_read(exq__source *src, uint64_t off, void *buf,
			 size_t len, exq__err *err);
void exq__src_close(exq__source *src);

/* ------------------------------------------------------------ formats */

/* A physical-memory format. Contract of each slot:
 *   probe:     look at img->src; return EXQ__NOPROBE when the bytes are
 *              not this format (without a message), EXQ_OK after filling
 *              img->info and img->fmt_priv, or an error with a message
 *              when the format is recognised but the file is damaged.
 *   read_page: copy the 4 KiB page with frame number pfn into page, or
 *              return EXQ_NODATA (not captured) or another error.
 *   close:     free img->fmt_priv (which may be NULL).
 *   span:      optional (NULL: none). When page pfn and the pages after
 *              it lie back to back, uncompressed, in img->src, set *off
 *              to pfn's offset there and return how many do (>= 1);
 *              return 0 otherwise (then read_page). Lets a pass over
 *              every page read large blocks instead of pages.
 */
struct exq__format {
	const char *name;
	exq_status (*probe)(exq_image *img);
	exq_status (*read_page)(exq_image *img, uint64_t pfn, void *page);
	void (*close)(exq_image *img);
	uint64_t (*span)(exq_image *img, uint64_t pfn, uint64_t *off);
};

extern const struct exq__format exq__fmt_windmp32;
extern const struct exq__format exq__fmt_windmp64;
extern const struct exq__format exq__fmt_raw;
extern const struct exq__format exq__fmt_elf;   /* fmt_elf.c */
extern const struct exq__format exq__fmt_kdump; /* fmt_kdump.c */
/* CPU state and other notes of VM cores (fmt_vmnotes.c; DESIGN §4.4):
 * QEMU's QEMUCPUState notes, CORE/NT_PRSTATUS, a Windows dump header in a
 * VMCOREINFO note. A damaged note is a warning, never a reason to refuse
 * the memory. */
#define EXQ__MAX_VCPUS 4096
struct exq__vmcpu {
	int have_qemu, qemu_ok, have_prstatus;
	char why[128]; /* why the QEMU note is unusable */
	uint64_t cr[5], rip, rsp, cs_flags;
	uint64_t pr_pc, pr_sp;
	int pr_wide; /* x86_64 prstatus */
};
struct exq__vmnotes {
	struct exq__vmcpu *cpu; /* ncpu entries */
	size_t ncpu, cap;
	size_t nqemu, nprstatus; /* notes seen (may exceed EXQ__MAX_VCPUS) */
	int have_windows_header;
	int nomem; /* a vCPU's state could not be kept: the open fails */
};
/* Parse one note area (where: "PT_NOTE 3", "kdump notes" for messages). */
exq_status exq__vmnotes_parse(exq_image *img, struct exq__vmnotes *n,
			      const uint8_t *buf, size_t len,
			      const char *where);
/* Set img->info (cpus, machine, paging, DTB "qemu-note", context) from
 * the notes and the vCPU chosen with exq_image_set_cpu (default 0).
 * elf_machine: e_machine, 0 for kdump; nr_cpus: the kdump header's, 0
 * for ELF. EXQ_INVALID when the chosen vCPU does not exist. */
exq_status exq__vmnotes_apply(exq_image *img, struct exq__vmnotes *n,
			      uint16_t elf_machine, uint32_t nr_cpus);
void exq__vmnotes_free(struct exq__vmnotes *n);
/* Windows dump header facts (fmt_windmp.c) from a PAGEDUMP / PAGEDU64
 * header found elsewhere (QEMU's vmcoreinfo note): version, build,
 * machine, paging, DTB ("header"), KDBG, bugcheck... into img->info.
 * EXQ__NOPROBE when h is not such a header or is shorter than one. */
exq_status exq__windmp_header_facts(exq_image *img, const uint8_t *h,
				    size_t len);

/* Small direct-mapped cache of physical pages (page-table walks read the
 * same few pages over and over). */
#define EXQ__PCACHE_SLOTS 1024 /* 4 MiB, touched only as slots fill */
#define EXQ__PCACHE_MIN 16     /* the fallback when 4 MiB is not there */
/* The page cache, allocated on first use (exq__page_ref, exq__read_page):
 * NULL when not even EXQ__PCACHE_MIN slots could be. */
struct exq__pcache_slot *exq__pcache(exq_image *img);
struct exq__pcache_slot {
	uint64_t pfn;
	int valid;
	uint8_t data[EXQ__PAGE_SIZE];
};

#define EXQ__MAX_WARNINGS 64
#define EXQ__WARN_MAX 512 /* bytes of one warning, NUL included */

struct exq_image {
	exq__err err;
	char *forced_format;
	int have_dtb_override;
	uint64_t dtb_override;
	exq_paging paging_override;
	unsigned cpu; /* exq_image_set_cpu: vCPU whose state is used */
	int have_cpu;
	int open;
	exq__source *src;
	const struct exq__format *fmt;
	void *fmt_priv;
	exq_image_info info;
	/* The physical pages held: runs (owned; a bitmap dump's are built
	 * when exq_image_runs asks), or a bitmap dump's bitmap (bm.w set),
	 * and one past the highest page held. */
	exq_run *runs;
	struct exq__bmap {
		uint64_t *w;	 /* bit i of w[k]: page 64k + i; none past nbits */
		uint64_t nbits, nwords;
		uint64_t *rank;	 /* rank[j]: set bits in w[0 .. 8j) */
		uint64_t limit;	 /* only the first `limit` set bits are held
				  * (a truncated dump stores no more) */
	} bm;
	uint64_t pfn_end;
	/* inline, so that a warning never needs memory (out of memory, the
	 * warnings still say what happened) */
	char warnings[EXQ__MAX_WARNINGS][EXQ__WARN_MAX];
	size_t nwarnings;
	size_t warnings_dropped;
	struct exq__pcache_slot *pcache; /* lazily allocated */
	uint64_t pcache_mask; /* slots - 1: EXQ__PCACHE_SLOTS, or
				 EXQ__PCACHE_MIN when memory is short */
	exq_image_progress_fn progress; /* exq_image_set_progress */
	void *progress_arg;
	uint64_t max_scan; /* exq_image_set_max_scan; 0: no bound */
	int dtb_checked; /* the named DTB was tested (dtb.c) */
	/* Bumped whenever what the image holds may change (every open and
	 * close): a vspace drops its TLB when this differs from the value it
	 * was filled under (xlat.c). */
	uint64_t gen;
	/* The last full DTB scan that chose nothing (dtb.c), so that asking
	 * again (exq_dtb_scan after exq_vspace_open failed) does not read
	 * every page twice; scan_modes: the modes it looked for. */
	/* KDBG tags the last DTB scan pass met (dtb.c), for the KDBG scan
	 * (kernel.c), which then reads only the pages that pass did not:
	 * the tags' physical addresses, ascending, and kdbg_upto, the PFN
	 * below which every page was looked at (0: no pass, or more tags
	 * than kept). The two scans share one read of the image. */
#define EXQ__KDBG_HITS 64
	uint64_t kdbg_hits[EXQ__KDBG_HITS];
	size_t nkdbg_hits;
	uint64_t kdbg_upto;
	exq_dtb_candidate *scan_cache;
	size_t scan_ncache;
	unsigned scan_modes;
	/* exq__page_ref on a source in memory: the last span the format
	 * gave (zc_pages pages from zc_pfn, the first at zc_base inside the
	 * source), checked to lie inside the source; zc_pages is 0 for a
	 * source not in memory. */
	uint64_t zc_pfn, zc_pages;
	const uint8_t *zc_base;
};

/* Record a non-fatal warning on the image (bounded; extra ones are
 * counted, not stored). */
void exq__warn(exq_image *img, const char *fmt, ...) EXQ__PRINTF(2, 3);

/* Set img->runs/info from an array of runs (copied), sorting them (unless
 * already sorted) and checking that they do not overlap and end below
 * 2^52. */
exq_status exq__image_set_runs(exq_image *img, const exq_run *runs,
			       size_t n);

/* The words of a bitmap of nbits bits, zeroed, for a format to read the
 * dump's bitmap bytes into (NULL: out of memory; the message on err). */
uint64_t *exq__bmap_alloc(uint64_t nbits, exq__err *err);

/* Make the bitmap w[] (from exq__bmap_alloc, its bytes as the file holds
 * them: bit i = byte i/8, bit i%8) the image's pages: [0, nbits) of it,
 * and of its set bits only the first max_pages (a truncated dump holds no
 * more). Takes w (freed on failure too). Sets info.nruns and
 * .pages_present and *nset, the set bits in all. Costs a popcount per
 * word and 1/8 of the bitmap for the rank index, whatever the
 * fragmentation: the runs are built only when asked (exq_image_runs). */
exq_status exq__image_set_bitmap(exq_image *img, uint64_t *w, uint64_t nbits,
				 uint64_t max_pages, uint64_t *nset);

/* A bitmap image's storage index of page pfn (how many held pages lie
 * below it), or EXQ__NOPAGE when the image does not hold it; *span (when
 * not NULL) the pages held from pfn on in a row (at least 1, bounded). */
#define EXQ__NOPAGE UINT64_MAX
uint64_t exq__bmap_index(const exq_image *img, uint64_t pfn, uint64_t *span);

/* Free the image's runs and bitmap. */
void exq__image_pages_free(exq_image *img);

/* The index of the run holding page pfn in runs[n] (sorted, disjoint),
 * or n when none does (runs.c: the one run search of the formats). */
size_t exq__run_find(const exq_run *runs, size_t n, uint64_t pfn);

/* True when page frame pfn is one the image holds (runs.c: the physical
 * layer's answer, used by the formats and the DTB scan alike). */
int exq__pfn_in_image(const exq_image *img, uint64_t pfn);

/* The first run of held pages at or after pfn (one that holds pfn starts
 * at pfn): 1 with *out set, or 0 when there is none. Runs of a bitmap
 * may come in pieces (consecutive runs that touch). */
int exq__next_run(const exq_image *img, uint64_t pfn, exq_run *out);

/* Page pfn inside the image's page cache, without a copy: *page stays
 * valid until the next read through the cache (exq__page_ref,
 * exq__read_page, exq_read_phys, any virtual read) on this image. */
exq_status exq__page_ref(exq_image *img, uint64_t pfn, const uint8_t **page);

/* exq__page_ref's hits, inline (page-table walks call it per level):
 * the last span of a source in memory, or the page cache's slot. */
static inline exq_status exq__page_ref_hot(exq_image *img, uint64_t pfn,
					   const uint8_t **page)
{
	if (pfn - img->zc_pfn < img->zc_pages) {
		*page = img->zc_base + ((pfn - img->zc_pfn) << EXQ__PAGE_SHIFT);
		return EXQ_OK;
	}
	if (img->pcache) {
		const struct exq__pcache_slot *sl =
			&img->pcache[pfn & img->pcache_mask];
		if (sl->valid && sl->pfn == pfn) {
			*page = sl->data;
			return EXQ_OK;
		}
	}
	return exq__page_ref(img, pfn, page);
}

/* Where page pfn already lies (exq__page_ref_hot's hits), or NULL: reads
 * nothing, changes nothing (for prefetching ahead of exq__page_ref_hot).
 * *stable is set when the page is inside a source in memory, where the
 * pointer stays valid while the image is open; a page cache slot's is
 * valid only until the next read through the cache, which may refill
 * that slot with another page. */
static inline const uint8_t *exq__page_peek(const exq_image *img, uint64_t pfn,
					    int *stable)
{
	*stable = 0;
	if (pfn - img->zc_pfn < img->zc_pages) {
		*stable = 1;
		return img->zc_base + ((pfn - img->zc_pfn) << EXQ__PAGE_SHIFT);
	}
	if (img->pcache) {
		const struct exq__pcache_slot *sl =
		    &img->pcache[pfn & img->pcache_mask];
		if (sl->valid && sl->pfn == pfn)
			return sl->data;
	}
	return NULL;
}

/* The pass of the scans that read every page (scan.c): fn(arg, page, pfn)
 * for every page held in [start_pfn, limit_pfn), in order, in 1 MiB blocks where the
 * source allows, a sparse file's holes skipped (a page of zeros is never
 * given to fn: callers look for something a zero page cannot hold); fn
 * returns nonzero to stop. skip_bad: a page that cannot be read (other
 * than for memory) is skipped instead of ending the pass with its error.
 * progress(parg, done, total) in pages. */
typedef int (*exq__page_fn)(void *arg, const uint8_t *page, uint64_t pfn);
exq_status exq__scan_pass(exq_image *img, uint64_t start_pfn,
			  uint64_t limit_pfn, exq__page_fn fn, void *arg,
			  int skip_bad, exq_progress_fn progress, void *parg);

/* Report progress of a long step (what, done of total) when the caller
 * asked for it. */
void exq__progress(exq_image *img, const char *what, uint64_t done,
		   uint64_t total);
/* The PFN a full scan stops at (exq_image_set_max_scan; UINT64_MAX for
 * none) and the warning when it stopped the scan of what. */
uint64_t exq__scan_limit_pfn(const exq_image *img);
void exq__scan_limited(exq_image *img, const char *what);

/* Read one whole page through the page cache. */
exq_status exq__read_page(exq_image *img, uint64_t pfn, void *page);

/* ------------------------------------ virtual addresses (xlat.c, dtb.c) */

/* The DTB as the walker uses it (PAE: 32-byte aligned below 4 GiB; x86:
 * page aligned below 4 GiB; x64: bits 12..51, PCID bits dropped). */
static inline uint64_t exq__dtb_mask(exq_paging paging, uint64_t dtb)
{
	switch (paging) {
	case EXQ_PAGING_PAE:
		return dtb & 0xFFFFFFE0ull;
	case EXQ_PAGING_X86:
		return dtb & 0xFFFFF000ull;
	default:
		return dtb & 0x000FFFFFFFFFF000ull;
	}
}

/* One page-table walk (xlat.c), without TLB; table pages are read in
 * place in the image's page cache. Writes *out (levels read so far also
 * on NOTPRESENT / NODATA) and a message on img->err on failure. */
exq_status exq__walk(exq_image *img, exq_paging paging, uint64_t dtb,
		     uint64_t va, exq_xlat *out);

/* The DTB and paging mode exq_vspace_open uses (dtb.c: choosing is
 * policy beside the scan, xlat.c only walks): the scan (exq__dtb_find)
 * when the image names no DTB; a DTB it names tested once per image and
 * replaced, with a warning, when it maps no kernel space; the paging mode
 * in which the DTB maps kernel space best when the image names none.
 * Writes img->info; an error with a message when no DTB can be had. */
exq_status exq__dtb_settle(exq_image *img);

/* --- vspace TLB: test and bench knobs (xlat.c). _flush empties the TLB
 * and the page-table cache beside it (the next lookup of every page walks
 * every level); _off(vs, 1) empties both and stops using them (every
 * lookup misses and walks from the root; 0 fills again); _stats:
 * lookups served from it and walks done on its behalf since the vspace
 * was made (a walk that failed counts as a miss too). */
void exq__vspace_tlb_flush(exq_vspace *vs);
void exq__vspace_tlb_off(exq_vspace *vs, int off);
void exq__vspace_tlb_stats(const exq_vspace *vs, uint64_t *hits,
			   uint64_t *misses);
/* --- end of TLB knobs. */

/* Find a DTB for an image that names none and record it (dtb_source
 * "scan"): the scan of exq_dtb_scan, first over the likely places only
 * (low physical memory, where every Windows boot page directory lies, and
 * the known boot CR3s), and over every page only when nothing there passes
 * the tests. EXQ_NOTFOUND with a message when no candidate passes. */
exq_status exq__dtb_find(exq_image *img);

/* Test (dtb, paging) as a kernel DTB: fills c (counts, evidence bits it
 * can check by itself, score, accepted, reason). Reads a bounded number
 * of pages through the page cache. Returns an error only for NOMEM / IO;
 * a failed test is c->accepted == 0 with the reason. */
exq_status exq__dtb_evaluate(exq_image *img, exq_paging paging, uint64_t dtb,
			     exq_dtb_candidate *c);

/* Checked arithmetic. */
static inline int exq__add_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_add_overflow(a, b, r);
}
static inline int exq__mul_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}

/* Cycle detection for list walks: an open-addressing set of the nodes
 * visited. cap is a power of two larger than the number of nodes ever
 * added (walks are bounded, so callers size it from their bound); the
 * set holds cap + 1 slots: 0 marks an empty slot, and node 0 itself (a
 * list that runs through VA 0) is kept in the extra slot set[cap].
 * Returns 1 when node was visited before. */
static inline int exq__visited(uint64_t *set, size_t cap, uint64_t node)
{
	size_t h = (size_t)((node * 0x9E3779B97F4A7C15ull) >> 24) & (cap - 1);
	if (node == 0) {
		if (set[cap])
			return 1;
		set[cap] = 1;
		return 0;
	}
	while (set[h]) {
		if (set[h] == node)
			return 1;
		h = (h + 1) & (cap - 1);
	}
	set[h] = node;
	return 0;
}

/* FILETIME helpers, UTF-16 decoding. */
size_t exq__utf16le_to_utf8(const uint8_t *in, size_t in_units, char *out,
			    size_t out_size);

/* ============================================ PE images and layout profiles
 * (pe.c, profile.c — DESIGN §6, §7). Kept in one block. */

/* Reads len bytes of virtual memory at va. Returns EXQ_OK, or EXQ_NODATA /
 * EXQ_NOTPRESENT when a page is not in the dump / not mapped (passed
 * through by the PE parser, with context), or another error. */
typedef exq_status (*exq__vread_fn)(void *ctx, uint64_t va, void *buf,
				    size_t len);

#define EXQ__PE_MAX_SECTIONS 96
#define EXQ__PE_MAX_EXPORTS 65536u /* NumberOfFunctions / NumberOfNames cap */
#define EXQ__PE_NAME_MAX 256       /* bytes, without the NUL */
#define EXQ__PE_MAX_IMAGE 0x40000000u /* SizeOfImage cap (1 GiB) */

/* IMAGE_SECTION_HEADER.Characteristics bits used here. */
#define EXQ__SCN_CNT_CODE 0x00000020u
#define EXQ__SCN_MEM_EXECUTE 0x20000000u
#define EXQ__SCN_MEM_WRITE 0x80000000u

typedef struct exq__pe_section {
	char name[9]; /* NUL-terminated; non-printable bytes become '?' */
	uint32_t rva, vsize, raw_size, characteristics;
} exq__pe_section;

/* A PE image parsed from virtual memory. Headers, sections, the export
 * directory header and the DLL name are read by exq__pe_open; the export
 * tables are read in small pieces on each lookup (nothing large is
 * copied). The CodeView record is optional: cv_status says why it is
 * absent (NOTFOUND when the image has none; NODATA etc. when unreadable,
 * message in cv_err). err holds the message of the last failed lookup. */
typedef struct exq__pe {
	uint64_t base;
	uint32_t size_of_image, size_of_headers;
	uint16_t machine_raw; /* IMAGE_FILE_HEADER.Machine */
	exq_machine machine;
	int pe32plus;        /* 0: PE32 (0x10B), 1: PE32+ (0x20B) */
	uint32_t timestamp;  /* IMAGE_FILE_HEADER.TimeDateStamp */
	uint64_t image_base; /* OptionalHeader.ImageBase (preferred) */
	size_t nsections;
	exq__pe_section sections[EXQ__PE_MAX_SECTIONS];
	/* Export directory; has_exports 0 when the image has none. */
	int has_exports;
	uint32_t export_rva, export_size;
	char dll_name[EXQ__PE_NAME_MAX + 1];
	uint32_t ordinal_base, nfunctions, nnames;
	uint32_t functions_rva, names_rva, ordinals_rva;
	int names_sorted; /* -1 until the first lookup checks; 1 sorted, 0 not
			  * (or a name was unreadable): linear search */
	/* CodeView RSDS record. */
	exq_status cv_status;
	exq__err cv_err;
	char pdb_name[EXQ__PE_NAME_MAX + 1];
	char pdb_guid[37]; /* "1B2C3D4E-...", upper case */
	uint32_t pdb_age;
	/* Private. */
	exq__vread_fn rd;
	void *ctx;
	char sym[EXQ__PE_NAME_MAX + 1]; /* exq__pe_export_containing's name */
	exq__err err;
} exq__pe;

/* Parse the image at base. EXQ_NOTFOUND when there is no MZ / PE
 * signature (not an image), EXQ_CORRUPT when a header field lies (the
 * message names it), NODATA / NOTPRESENT with context when a header page
 * is missing. *out is written only on success. */
exq_status exq__pe_open(exq__pe **out, exq__vread_fn rd, void *ctx,
			uint64_t base, exq__err *err);
void exq__pe_free(exq__pe *pe); /* accepts NULL */
/* Export by name: *va = base + function RVA; *forwarded = 1 when the RVA
 * lies inside the export directory (then *va is the forwarder string,
 * not code). Binary search when the name table is sorted, linear
 * otherwise. EXQ_NOTFOUND, or an error with the message in pe->err. */
exq_status exq__pe_export(exq__pe *pe, const char *name, uint64_t *va,
			  int *forwarded);
/* The named export whose code contains va, exactly: va lies in
 * [export RVA, next higher export RVA) and both bounds lie in the same
 * executable section (so past the last export of a section, whose end is
 * unknown, nothing matches; va == an export always does). *name points
 * into pe, valid until the next call; *off = va - export. EXQ_NOTFOUND
 * otherwise (never a guess); errors leave their message in pe->err. */
exq_status exq__pe_export_containing(exq__pe *pe, uint64_t va,
				     const char **name, uint64_t *off);
/* True when va lies in a section with IMAGE_SCN_MEM_WRITE. */
int exq__pe_in_writable_section(const exq__pe *pe, uint64_t va);

/* Layout profile of one build range on one machine (DESIGN §7, §7b):
 * every offset the work-queue walk reads, and the queue model. Offsets in
 * bytes from the start of the structure; 0 in an optional field means
 * "absent in this layout" where noted. Rows live in profile.c. */
typedef struct exq__profile {
	const char *name; /* "win7-x86", "win10-1709-x64" */
	const char *os;   /* "Windows 7" */
	exq_machine machine;
	uint32_t build_min, build_max;
	int sp_min, sp_max; /* service packs the row covers */
	exq_wq_model model;
	uint8_t ptr;        /* pointer size: 4 or 8 */
	/* Queue names by index within a node (WORK_QUEUE_TYPE or
	 * EXQUEUEINDEX); indexes past nnames are "Pool<n>". */
	const char *const *queue_names;
	uint8_t nqueue_names;
	struct { uint16_t type, size, signal_state, wait_list_head; } dispatcher;
	/* The queue object at the start of EX_WORK_QUEUE: a KQUEUE (one item
	 * list) or a KPRIQUEUE (nlists lists, one per priority, with a
	 * CurrentCount per list). */
	struct {
		uint16_t size, entry_list_head, current_count, maximum_count,
			thread_list_head;
		uint8_t type;            /* 4 QueueObject, 0x15 PriQueueObject */
		uint8_t dispatcher_size; /* Header.Size (ULONGs); 0: unchecked */
		uint8_t nlists;          /* 1 or 32 */
	} kqueue;
	struct {
		uint16_t size, worker_queue, dynamic_thread_count,
			work_items_processed, work_items_processed_last_pass,
			queue_depth_last_pass;
		uint16_t info;        /* static-array: Info (WorkerCount << 3) */
		uint16_t max_threads; /* MaxThreads; 0: absent */
		uint16_t node;        /* ENODE pointer (enode-kpriqueue); 0: absent */
		uint16_t partition;   /* EX_PARTITION pointer (partition) */
		uint16_t queue_index; /* QueueIndex; 0: absent */
		uint16_t count; /* queues per node: 3 (array), 7 (ENODE inline),
				   8 (pointer slots: ExPoolMax) */
	} ex_work_queue;
	/* ENODE: offset of the inline EX_WORK_QUEUE array (enode-kqueue) or
	 * of the pointer array (enode-kpriqueue). */
	struct { uint16_t queues; } enode;
	/* EPARTITION.ExPartition, EX_PARTITION.WorkQueues. */
	struct { uint16_t ex_partition, work_queues; } partition;
	struct { uint16_t size, list, worker_routine, parameter; } work_queue_item;
	struct {
		uint16_t work_item, routine, io_object, context;
		uint16_t type; /* 0: no Type field (XP, 2003) */
	} io_workitem;
	struct { uint16_t type, driver_object; uint8_t type_value; } device_object;
	struct { uint16_t type, driver_name; uint8_t type_value; } driver_object;
	struct {
		uint16_t queue, queue_list_entry, state, teb, win32thread;
		uint8_t type_value, state_waiting; /* 6 ThreadObject, 5 */
	} kthread;
	struct { uint16_t cid, start_address, thread_list_entry; } ethread;
	/* 0 in unique_process_id: not known for this build (no thread
	 * fallback). */
	struct {
		uint16_t unique_process_id, active_process_links,
			thread_list_head;
	} eprocess;
} exq__profile;

/* The profile for an OS build (low 16 bits of NtBuildNumber) on a
 * machine. sp_hint is the service pack when known (dump header), else -1.
 * EXQ_UNSUPPORTED (message naming the build and machine) for builds
 * without a row; EXQ_NOTFOUND when the build is ambiguous without sp_hint
 * (3790: use exq__profile_candidates and validate). *out written only on
 * success. */
exq_status exq__profile_for_build(exq_machine machine, uint32_t build,
				  int sp_hint, const exq__profile **out,
				  exq__err *err);
/* Every profile matching build on machine (any service pack), up to max;
 * returns how many match (may exceed max; 0 for none). */
size_t exq__profile_candidates(exq_machine machine, uint32_t build,
			       const exq__profile **out, size_t max);
/* "Windows 7", "Windows 8.1", "Windows 10/11"...: the OS family of any
 * build exq recognises, with or without a profile; NULL when unknown. */
const char *exq__build_os_name(uint32_t build);

/* ======================================= end of PE images and profiles */

/* ================================== kernel and modules (kernel.c, modules.c) */

struct exq__modpe; /* a module's parsed PE, opened on demand (modules.c) */

struct exq_kernel {
	exq_vspace *vs;
	exq_image *img;
	exq_kernel_opts opts;
	exq_kernel_info info;
	exq__pe *pe;                 /* ntoskrnl */
	const exq__profile *profile; /* NULL when the build has none */
	char *profile_msg;           /* why not */
	uint64_t kdbg_modlist;       /* KDBG.PsLoadedModuleList, 0 if none */
	int nomem;                   /* a search step ran out of memory: the
					open fails with NOMEM, not NOTFOUND */
	/* Module list, walked once on first use. */
	int walked;
	exq_status walk_status;
	char walk_msg[EXQ__ERR_MAX];
	exq_module *mods;
	size_t nmods;
	struct exq__modpe *modpe; /* one per module */
};

/* Why a triage dump has no kernel and no queues (exq_kernel_open and
 * exq_workq_walk say it the same way). */
#define EXQ__TRIAGE_MSG                                                        \
	"a triage dump holds only selected pages (PRCB, current thread, "      \
	"stack, driver list), not the kernel's data, so the kernel image and " \
	"the worker queues cannot be read"

/* exq_symbolize_export names an export only within this many bytes of it. */
#define EXQ__EXPORT_NEAR 0x1000

/* Virtual read callback over a vspace (ctx) for the PE parser. */
exq_status exq__kvread(void *ctx, uint64_t va, void *buf, size_t len);
/* Pointer width of the kernel's address space, and a pointer load. */
int exq__kptr64(const exq_kernel *k);
uint64_t exq__kptr(const exq_kernel *k, const uint8_t *p);
/* Why the build has no profile ("" when it has one). */
const char *exq__kernel_profile_error(const exq_kernel *k);
void exq__kernel_modules_free(exq_kernel *k);

/* ================================================= end kernel and modules */

/* ======================= work queues (workq.c, wq_find.c, wq_walk.c) */

#define EXQ__WQ_MAX_REJECTED 16
#define EXQ__WQ_MAX_ERRORS 16 /* per queue; later ones are counted */
#define EXQ__WQ_MAX_NODES 64
#define EXQ__WQ_MAX_QUEUES (EXQ__WQ_MAX_NODES * 8)
#define EXQ__WQ_MAX_THREADS 1024 /* per queue */

/* State of one exq_workq_walk. */
struct exq__wq {
	exq_kernel *k;
	exq_vspace *vs;
	exq_image *img;
	const exq__profile *P;
	const exq_workq_opts *opts;
	size_t max_items;
	exq_workq *wq;
	char *rejected[EXQ__WQ_MAX_REJECTED];
	char found_by[160];
	int nomem; /* memory ran out (an error or a result that could not
		      be kept): the walk returns NOMEM (issue 16) */
	/* Root and queues found (wq_find.c), walked by wq_walk.c. */
	uint64_t root;
	uint64_t node_block; /* KeNodeBlock (enode-*), 0 when unknown */
	uint32_t nodes_hint; /* KeNumberNodes when read, else 0 */
	size_t nq;
	struct exq__wq_qref {
		uint64_t va;
		uint32_t node, index;
	} q[EXQ__WQ_MAX_QUEUES];
};

/* A warning of the queue search or walk; none once memory ran out (w->nomem:
 * what failed then says nothing about the dump, and the walk ends NOMEM). */
void exq__wq_warn(struct exq__wq *w, const char *fmt, ...) EXQ__PRINTF(2, 3);
/* exq_read_virt that remembers NOMEM in w->nomem (wq_find.c). */
exq_status exq__wq_read(struct exq__wq *w, uint64_t va, void *buf, size_t len,
			size_t *got);
/* Reads at the kernel's pointer width (P->ptr) and fixed widths. */
exq_status exq__wq_rdptr(struct exq__wq *w, uint64_t va, uint64_t *v);
exq_status exq__wq_rd32(struct exq__wq *w, uint64_t va, uint32_t *v);
/* A rejected root candidate, kept for -v (bounded). */
void exq__wq_reject(struct exq__wq *w, const char *fmt, ...)
	EXQ__PRINTF(2, 3);
/* Locate and validate the root, fill w->root, w->q[] and w->found_by
 * (wq_find.c). EXQ_NOTFOUND / EXQ_INVALID with a message. */
exq_status exq__wq_locate(struct exq__wq *w);
/* Does the queue object at q look like one of this profile's queues
 * (header type/size, MaximumCount, thread ownership)? why on failure. */
int exq__wq_queue_ok(struct exq__wq *w, uint64_t q, char *why, size_t n);
/* Walk queue i of w->wq (wq_walk.c). */
void exq__wq_walk_queue(struct exq__wq *w, exq_wq_queue *q);
/* Queue name of index within a node under profile P (static storage). */
const char *exq__wq_queue_name(const exq__profile *P, uint32_t index);

/* ================================================ end work queues */

#endif /* EXQ_INT_H */
