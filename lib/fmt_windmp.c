/* SPDX-License-Identifier: MIT */
/* Windows kernel crash dumps: 32-bit PAGEDUMP and 64-bit PAGEDU64.
 *
 * Header field offsets (DESIGN §4.1, §4.2; from the public DUMP_HEADER32 /
 * DUMP_HEADER64 layouts used by Volatility, rekall, kdmp-parser, rizin):
 *
 *   field                  32-bit   64-bit
 *   Signature/ValidDump    0x000    0x000   "PAGE" + "DUMP" / "DU64"
 *   Major/MinorVersion     0x008    0x008
 *   DirectoryTableBase     0x010    0x010   (u32 / u64)
 *   PfnDataBase            0x014    0x018
 *   PsLoadedModuleList     0x018    0x020
 *   PsActiveProcessHead    0x01C    0x028
 *   MachineImageType       0x020    0x030
 *   NumberProcessors       0x024    0x034
 *   BugCheckCode           0x028    0x038
 *   BugCheckParameter1-4   0x02C    0x040   (u32 / u64 each)
 *   PaeEnabled (u8)        0x05C      -
 *   KdDebuggerDataBlock    0x060    0x080
 *   PhysicalMemoryBlock    0x064    0x088
 *   ContextRecord          0x320    0x348
 *   Exception record       0x7D0    0xF00
 *   DumpType               0xF88    0xF98
 *   ProductType            0xF94    0x1040
 *   SuiteMask              0xF98    0x1044
 *   SystemUpTime           0xFB8    0x1030
 *   SystemTime             0xFC0    0xFA8
 * Unused fields hold the bytes "PAGE" (0x45474150): absent.
 */
#include "exq_int.h"

#include <stdlib.h>

#define FILL32 0x45474150u /* "PAGE" */
#define FILL64 0x4547415045474150ull
#define MAX_BITMAP_BYTES (256u << 20) /* 2^31 pages = 8 TiB of RAM */

enum { DT_FULL = 1, DT_SUMMARY = 2, DT_HEADER = 3, DT_TRIAGE = 4,
       DT_BITMAP_FULL = 5, DT_BITMAP_KERNEL = 6 };

struct layout {
	const char *name;
	const char *sig; /* 8 bytes */
	int wide;        /* 64-bit pointers */
	uint32_t hdr_size;
	uint32_t dtb, pfn, modlist, proclist, machine, cpus, bccode, bcparam;
	uint32_t pae, kdbg, pmb, pmb_pages, pmb_runs, pmb_end;
	uint32_t context, exception, dump_type, product, suite, uptime,
		systime;
	uint32_t ctx_pc, ctx_sp, ctx_size; /* inside CONTEXT */
	uint32_t drv_stride, drv_base, drv_size, drv_stamp;
};

static const struct layout lay32 = {
	"windmp32", "PAGEDUMP", 0, 0x1000,
	0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x28, 0x2C,
	0x5C, 0x60, 0x64, 0x68, 0x6C, 0x320,
	0x320, 0x7D0, 0xF88, 0xF94, 0xF98, 0xFB8, 0xFC0,
	0xB8, 0xC4, 0x2CC,
	/* DUMP_DRIVER_ENTRY32: NameOffset, KLDR_DATA_TABLE_ENTRY32 (unverified
	 * on a real 32-bit triage file: names are validated on use). */
	0x4C, 0x04 + 0x18, 0x04 + 0x20, 0x04 + 0x44,
};

static const struct layout lay64 = {
	"windmp64", "PAGEDU64", 1, 0x2000,
	0x10, 0x18, 0x20, 0x28, 0x30, 0x34, 0x38, 0x40,
	0, 0x80, 0x88, 0x90, 0x98, 0x348,
	0x348, 0xF00, 0xF98, 0x1040, 0x1044, 0x1030, 0xFA8,
	0xF8, 0x98, 0x4D0,
	/* DUMP_DRIVER_ENTRY64: NameOffset + pad, KLDR_DATA_TABLE_ENTRY64
	 * (DllBase +0x30, SizeOfImage +0x40, TimeDateStamp +0x80); stride
	 * checked on a real Windows 10 triage dump. */
	0x90, 0x08 + 0x30, 0x08 + 0x40, 0x08 + 0x80,
};

/* Private state: for a full dump, for each of img->runs (sorted, and only
 * the pages the file really holds: a truncated dump's missing pages are
 * in no run) the file offset of its first page; for summary and bitmap
 * dumps, the offset of the first page (the image's bitmap says how many
 * held pages lie below a page, and a truncated dump's missing pages are
 * not held). Triage dumps hold no pages. */
struct dmp {
	const struct layout *L;
	uint64_t *run_off;
	uint64_t first_off;
	exq_triage_info triage;
	exq_triage_driver *drivers;
	char *names;
};

static uint64_t ptr_at(const struct layout *L, const uint8_t *h, uint32_t off)
{
	return L->wide ? exq__le64(h + off) : exq__le32(h + off);
}

static int absent(const struct layout *L, const uint8_t *h, uint32_t off)
{
	return L->wide ? exq__le64(h + off) == FILL64
		       : exq__le32(h + off) == FILL32;
}

static void dmp_close(exq_image *img)
{
	struct dmp *d = img->fmt_priv;
	if (!d)
		return;
	free(d->run_off);
	free(d->drivers);
	free(d->names);
	free(d);
	img->fmt_priv = NULL;
}

/* ------------------------------------------------------------ header */

static void parse_common(exq_image *img, const struct layout *L,
			 const uint8_t *h)
{
	exq_image_info *in = &img->info;
	uint32_t mach = exq__le32(h + L->machine);
	int i;

	in->major_version = exq__le32(h + 8);
	in->minor_version = exq__le32(h + 12);
	in->have |= EXQ_HAVE_VERSION;
	if (in->minor_version != FILL32 && in->minor_version < 0x10000) {
		in->build = in->minor_version;
		in->have |= EXQ_HAVE_BUILD;
	}
	if (mach == 0x14C)
		in->machine = EXQ_MACHINE_X86;
	else if (mach == 0x8664)
		in->machine = EXQ_MACHINE_X64;
	else if (mach == 0xAA64)
		in->machine = EXQ_MACHINE_ARM64;
	else
		exq__warn(img, "MachineImageType 0x%x is not i386, AMD64 or "
			       "ARM64", mach);
	if (L->wide)
		in->paging = in->machine == EXQ_MACHINE_X64 ? EXQ_PAGING_X64
							    : EXQ_PAGING_UNKNOWN;
	else if (h[L->pae] == 0 || h[L->pae] == 1)
		in->paging = h[L->pae] ? EXQ_PAGING_PAE : EXQ_PAGING_X86;
	else
		exq__warn(img, "PaeEnabled byte is 0x%02x, neither 0 nor 1",
			  h[L->pae]);

	if (!absent(L, h, L->dtb)) {
		in->dtb = ptr_at(L, h, L->dtb);
		/* A PAE CR3 names a 32-byte aligned PDPT; low bits are flags. */
		if (in->paging == EXQ_PAGING_PAE)
			in->dtb &= ~0x1Full;
		else
			in->dtb &= ~0xFFFull;
		in->dtb_source = "header";
		in->have |= EXQ_HAVE_DTB;
	}
	if (!absent(L, h, L->pfn)) {
		in->pfn_database = ptr_at(L, h, L->pfn);
		in->have |= EXQ_HAVE_PFN_DATABASE;
	}
	if (!absent(L, h, L->modlist)) {
		in->ps_loaded_module_list = ptr_at(L, h, L->modlist);
		in->have |= EXQ_HAVE_MODULE_LIST;
	}
	if (!absent(L, h, L->proclist)) {
		in->ps_active_process_head = ptr_at(L, h, L->proclist);
		in->have |= EXQ_HAVE_PROCESS_HEAD;
	}
	if (exq__le32(h + L->cpus) != FILL32) {
		in->cpus = exq__le32(h + L->cpus);
		in->have |= EXQ_HAVE_CPUS;
	}
	if (exq__le32(h + L->bccode) != FILL32) {
		in->bugcheck_code = exq__le32(h + L->bccode);
		for (i = 0; i < 4; i++)
			in->bugcheck_params[i] =
				ptr_at(L, h, L->bcparam + (uint32_t)i *
							      (L->wide ? 8 : 4));
		in->have |= EXQ_HAVE_BUGCHECK;
	}
	if (!absent(L, h, L->kdbg)) {
		in->kdbg_va = ptr_at(L, h, L->kdbg);
		in->have |= EXQ_HAVE_KDBG;
	}
	if (exq__le32(h + L->product) != FILL32) {
		in->product_type = exq__le32(h + L->product);
		in->suite_mask = exq__le32(h + L->suite);
		in->have |= EXQ_HAVE_PRODUCT;
	}
	if (exq__le64(h + L->systime) != FILL64) {
		in->system_time = exq__le64(h + L->systime);
		in->have |= EXQ_HAVE_SYSTEM_TIME;
	}
	if (exq__le64(h + L->uptime) != FILL64) {
		in->system_uptime = exq__le64(h + L->uptime);
		in->have |= EXQ_HAVE_UPTIME;
	}
	if (exq__le32(h + L->exception) != FILL32) {
		in->exception_code = exq__le32(h + L->exception);
		in->exception_address =
			L->wide ? exq__le64(h + L->exception + 0x10)
				: exq__le32(h + L->exception + 0x0C);
		in->have |= EXQ_HAVE_EXCEPTION;
	}
	if (exq__le32(h + L->context) != FILL32) {
		const uint8_t *c = h + L->context;
		in->context_pc = ptr_at(L, c, L->ctx_pc);
		in->context_sp = ptr_at(L, c, L->ctx_sp);
		in->context_source = "header";
		in->have |= EXQ_HAVE_CONTEXT;
	}
}

/* ------------------------------------------------------- full dumps */

/* A dump whose data ends before its header says (a page file smaller than
 * RAM, an interrupted copy) is not a lie (DESIGN §8): it opens, the pages
 * past the end are in no run (NODATA), and a warning says how many. */
static void warn_truncated(exq_image *img, uint64_t present, uint64_t total)
{
	exq__warn(img,
		  "dump truncated: 0x%llx of 0x%llx pages present (the file "
		  "ends at 0x%llx; the missing pages read as NODATA)",
		  (unsigned long long)present, (unsigned long long)total,
		  (unsigned long long)img->src->size);
}

/* Sort runs[] with their file offsets by base page (at most a few dozen:
 * the header holds no more), then hand them to the image. */
static exq_status set_sorted_runs(exq_image *img, struct dmp *d,
				  exq_run *runs, size_t n)
{
	size_t i, j;
	for (i = 1; i < n; i++) {
		exq_run t = runs[i];
		uint64_t o = d->run_off[i];
		for (j = i; j > 0 && runs[j - 1].base_page > t.base_page; j--) {
			runs[j] = runs[j - 1];
			d->run_off[j] = d->run_off[j - 1];
		}
		runs[j] = t;
		d->run_off[j] = o;
	}
	return exq__image_set_runs(img, runs, n);
}

static exq_status parse_full(exq_image *img, struct dmp *d, const uint8_t *h)
{
	const struct layout *L = d->L;
	uint32_t nruns = exq__le32(h + L->pmb);
	uint64_t npages = L->wide ? exq__le64(h + L->pmb_pages)
				  : exq__le32(h + L->pmb_pages);
	uint32_t rsz = L->wide ? 16 : 8;
	uint32_t maxruns = (L->pmb_end - L->pmb_runs) / rsz;
	uint64_t off = L->hdr_size, total = 0, avail, present = 0;
	exq_run *pub;
	exq_status st;
	size_t n = 0;
	uint32_t i;

	if (nruns == FILL32)
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "full dump without a PhysicalMemoryBlock "
				    "(the field holds the PAGE fill)");
	if (nruns > maxruns)
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "PhysicalMemoryBlock.NumberOfRuns %u is more "
				    "than the header can hold (%u)",
				    nruns, maxruns);
	pub = calloc(nruns ? nruns : 1, sizeof(*pub));
	d->run_off = calloc(nruns ? nruns : 1, sizeof(*d->run_off));
	if (!pub || !d->run_off) {
		free(pub);
		return exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
	}
	for (i = 0; i < nruns; i++) {
		const uint8_t *r = h + L->pmb_runs + i * rsz;
		pub[i].base_page = L->wide ? exq__le64(r) : exq__le32(r);
		pub[i].page_count = L->wide ? exq__le64(r + 8) : exq__le32(r + 4);
	}
	/* The header's runs must hang together (no overlap, below 2^52)
	 * whatever the file holds; then each sums below 2^40 pages. */
	st = exq__image_set_runs(img, pub, nruns);
	if (st != EXQ_OK) {
		free(pub);
		return exq__err_ctx(&img->err, st, "PhysicalMemoryBlock");
	}
	avail = (img->src->size - L->hdr_size) >> EXQ__PAGE_SHIFT;
	for (i = 0; i < nruns; i++) { /* file order: header order */
		uint64_t cnt = pub[i].page_count, have;
		total += cnt;
		have = avail - present < cnt ? avail - present : cnt;
		present += have;
		if (!have)
			continue;
		pub[n].base_page = pub[i].base_page;
		pub[n].page_count = have;
		d->run_off[n++] = off;
		off += have << EXQ__PAGE_SHIFT;
	}
	if (total == 0) {
		free(pub);
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "PhysicalMemoryBlock describes no pages "
				    "(NumberOfRuns %u)", nruns);
	}
	if (npages != total)
		exq__warn(img,
			  "PhysicalMemoryBlock.NumberOfPages 0x%llx disagrees "
			  "with the sum of its runs 0x%llx; using the runs",
			  (unsigned long long)npages, (unsigned long long)total);
	if (present < total)
		warn_truncated(img, present, total);
	st = set_sorted_runs(img, d, pub, n);
	free(pub);
	if (st != EXQ_OK)
		return exq__err_ctx(&img->err, st, "PhysicalMemoryBlock");
	return EXQ_OK;
}

/* ---------------------------------------------------- bitmap dumps */

/* The field names differ between the summary header (HeaderSize, Pages)
 * and the bitmap header (FirstPage, Pages); messages name them. */
struct bm_fields {
	const char *hdr, *first, *pages;
};

/* Pages stored in ascending PFN order from first_off, one per set bit. */
static exq_status bitmap_load(exq_image *img, struct dmp *d, uint64_t bm_off,
			      uint64_t bits, uint64_t first_off,
			      uint64_t claimed, const struct bm_fields *f)
{
	/* not (bits + 7) / 8: that wraps to 0 for bits near 2^64 */
	uint64_t bytes = bits / 8 + ((bits & 7) != 0), end, set, avail;
	uint64_t *bm;
	exq_status st;

	if (bits == 0)
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "BitmapSize is 0: the dump holds no pages");
	if (exq__add_ovf(bm_off, bytes, &end) || end > img->src->size)
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "BitmapSize 0x%llx bits: the bitmap (0x%llx "
				    "bytes at 0x%llx) runs past the end of the "
				    "file (0x%llx)",
				    (unsigned long long)bits,
				    (unsigned long long)bytes,
				    (unsigned long long)bm_off,
				    (unsigned long long)img->src->size);
	if (bytes > MAX_BITMAP_BYTES)
		return exq__err_set(&img->err, EXQ_LIMIT,
				    "BitmapSize 0x%llx bits is beyond exq's "
				    "limit of 0x%llx",
				    (unsigned long long)bits,
				    (unsigned long long)MAX_BITMAP_BYTES * 8);
	if (first_off < end || first_off > img->src->size)
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "%s.%s 0x%llx (file offset of the first "
				    "page) lies inside the bitmap (which ends at "
				    "0x%llx) or past the end of the file (0x%llx)",
				    f->hdr, f->first,
				    (unsigned long long)first_off,
				    (unsigned long long)end,
				    (unsigned long long)img->src->size);
	bm = exq__bmap_alloc(bits, &img->err);
	if (!bm)
		return EXQ_NOMEM;
	st = exq__src_read(img->src, bm_off, bm, (size_t)bytes, &img->err);
	if (st != EXQ_OK) {
		free(bm);
		return exq__err_ctx(&img->err, st, "reading the bitmap");
	}
	avail = (img->src->size - first_off) >> EXQ__PAGE_SHIFT;
	st = exq__image_set_bitmap(img, bm, bits, avail, &set); /* takes bm */
	if (st != EXQ_OK)
		return st;
	if (claimed != set)
		exq__warn(img,
			  "%s.%s 0x%llx disagrees with the 0x%llx pages the "
			  "bitmap marks; using the bitmap",
			  f->hdr, f->pages, (unsigned long long)claimed,
			  (unsigned long long)set);
	if (set == 0)
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "the bitmap marks no pages");
	if (set > avail)
		warn_truncated(img, avail, set);
	d->first_off = first_off;
	return EXQ_OK;
}

/* SUMMARY_DUMP32 / SUMMARY_DUMP64 (DumpType 2, XP … 7) right after the
 * header. Both have 32-bit fields — the 64-bit form kept ULONG HeaderSize,
 * BitmapSize and Pages (the public DDK dump header says so, with a comment
 * regretting it) — followed by an on-disk RTL_BITMAP whose Buffer pointer
 * slot is a ULONG on 32-bit and 8-aligned ULONG64 on 64-bit, so the bits
 * start at +0x20 / +0x28:
 *   +0x00 "SDMP"  +0x04 "DUMP"  +0x08 DumpOptions  +0x0C HeaderSize (file
 *   offset of the first page)  +0x10 BitmapSize (bits)  +0x14 Pages (set
 *   bits)  +0x18 Bitmap.SizeOfBitMap  (+0x1C pad, +0x20 ULONG64 on 64-bit)
 * (Sources: the DDK's SUMMARY_DUMP32/64, WinDbg's dump target, rekall.) */
static exq_status parse_summary(exq_image *img, struct dmp *d)
{
	uint8_t s[0x28];
	uint64_t at = d->L->hdr_size;
	uint32_t bits, sob, bm_at = d->L->wide ? 0x28 : 0x20;
	exq_status st = exq__src_read(img->src, at, s, bm_at, &img->err);
	if (st != EXQ_OK)
		return exq__err_ctx(&img->err, EXQ_CORRUPT,
				    "summary dump header at 0x%llx",
				    (unsigned long long)at);
	if (memcmp(s, "SDMP", 4) || memcmp(s + 4, "DUMP", 4))
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "kernel summary dump without the SDMP/DUMP "
				    "signature at 0x%llx",
				    (unsigned long long)at);
	bits = exq__le32(s + 0x10);
	sob = exq__le32(s + 0x18);
	if (sob && sob != bits)
		exq__warn(img, "SUMMARY_DUMP.Bitmap.SizeOfBitMap 0x%x disagrees "
			       "with BitmapSize 0x%x; using BitmapSize",
			  sob, bits);
	static const struct bm_fields f = {"SUMMARY_DUMP", "HeaderSize",
					   "Pages"};
	return bitmap_load(img, d, at + bm_at, bits, exq__le32(s + 0x0C),
			   exq__le32(s + 0x14), &f);
}

static exq_status parse_bitmap(exq_image *img, struct dmp *d)
{
	uint8_t s[0x38];
	uint64_t at = d->L->hdr_size;
	exq_status st = exq__src_read(img->src, at, s, sizeof(s), &img->err);
	if (st != EXQ_OK)
		return exq__err_ctx(&img->err, EXQ_CORRUPT,
				    "bitmap dump header at 0x%llx",
				    (unsigned long long)at);
	if ((memcmp(s, "SDMP", 4) && memcmp(s, "FDMP", 4)) ||
	    memcmp(s + 4, "DUMP", 4))
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "bitmap dump without the SDMP/FDMP + DUMP "
				    "signature at 0x%llx",
				    (unsigned long long)at);
	static const struct bm_fields f = {"BMP_DUMP_HEADER", "FirstPage",
					   "Pages"};
	return bitmap_load(img, d, at + 0x38, exq__le64(s + 0x30),
			   exq__le64(s + 0x20), exq__le64(s + 0x28), &f);
}

/* -------------------------------------------------------- page reads */

/* Where page pfn lies in the file (*off) and, when span is not NULL, how
 * many pages held from it on lie there in a row; 0 when the file does not
 * hold it (not captured, past a truncation, a triage dump). */
static int dmp_locate(exq_image *img, uint64_t pfn, uint64_t *off,
		      uint64_t *span)
{
	struct dmp *d = img->fmt_priv;
	const exq_run *r = img->runs;
	size_t i;
	if (img->bm.w) {
		uint64_t k = exq__bmap_index(img, pfn, span);
		if (k == EXQ__NOPAGE)
			return 0;
		*off = d->first_off + (k << EXQ__PAGE_SHIFT);
		return 1;
	}
	i = exq__run_find(r, img->info.nruns, pfn);
	if (i == img->info.nruns)
		return 0;
	*off = d->run_off[i] + ((pfn - r[i].base_page) << EXQ__PAGE_SHIFT);
	if (span)
		*span = r[i].page_count - (pfn - r[i].base_page);
	return 1;
}

static uint64_t dmp_span(exq_image *img, uint64_t pfn, uint64_t *off)
{
	uint64_t n;
	return dmp_locate(img, pfn, off, &n) ? n : 0;
}

/* (no span: a bitmap dump's would scan the words after the page) */
static exq_status dmp_read_page(exq_image *img, uint64_t pfn, void *page)
{
	uint64_t off;
	if (!dmp_locate(img, pfn, &off, NULL))
		return EXQ_NODATA;
	return exq__src_read(img->src, off, page, EXQ__PAGE_SIZE, &img->err);
}

/* ----------------------------------------------------------- triage */

/* TRIAGE_DUMP32 / TRIAGE_DUMP64 after the header (DESIGN §4.1, §4.2):
 * u32 fields from ServicePackBuild (+0) to TriageOptions (+0x44), then
 * TopOfStack, DataPage*, DebuggerData*, DataBlocks*; the 64-bit form
 * widens TopOfStack/DataPageAddress and adds 16 bytes of BStore. */
static int in_file(exq_image *img, uint64_t off, uint64_t len)
{
	uint64_t end;
	return !exq__add_ovf(off, len, &end) && end <= img->src->size;
}

static void triage_header(struct dmp *d, const uint8_t *t)
{
	exq_triage_info *x = &d->triage;
	uint32_t *u[] = {&x->service_pack_build, &x->size_of_dump,
			 &x->valid_offset, &x->context_offset,
			 &x->exception_offset, &x->mm_offset,
			 &x->unloaded_drivers_offset, &x->prcb_offset,
			 &x->process_offset, &x->thread_offset,
			 &x->callstack_offset, &x->callstack_size,
			 &x->driver_list_offset, &x->driver_count,
			 &x->string_pool_offset, &x->string_pool_size,
			 &x->broken_driver_offset, &x->triage_options};
	size_t i;
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		*u[i] = exq__le32(t + 4 * i);
	if (d->L->wide) {
		x->top_of_stack = exq__le64(t + 0x48);
		x->data_page_address = exq__le64(t + 0x60);
		x->data_page_offset = exq__le32(t + 0x68);
		x->data_page_size = exq__le32(t + 0x6C);
		x->debugger_data_offset = exq__le32(t + 0x70);
		x->debugger_data_size = exq__le32(t + 0x74);
		x->data_blocks_offset = exq__le32(t + 0x78);
		x->data_blocks_count = exq__le32(t + 0x7C);
	} else {
		x->top_of_stack = exq__le32(t + 0x48);
		x->data_page_address = exq__le32(t + 0x4C);
		x->data_page_offset = exq__le32(t + 0x50);
		x->data_page_size = exq__le32(t + 0x54);
		x->debugger_data_offset = exq__le32(t + 0x58);
		x->debugger_data_size = exq__le32(t + 0x5C);
		x->data_blocks_offset = exq__le32(t + 0x60);
		x->data_blocks_count = exq__le32(t + 0x64);
	}
}

static void triage_kdbg(exq_image *img, struct dmp *d)
{
	exq_triage_info *x = &d->triage;
	uint8_t k[0x50];
	if (!x->debugger_data_offset)
		return;
	if (x->debugger_data_size < sizeof(k) ||
	    !in_file(img, x->debugger_data_offset, x->debugger_data_size) ||
	    exq__src_read(img->src, x->debugger_data_offset, k, sizeof(k),
			  &img->err) != EXQ_OK) {
		exq__warn(img, "triage DebuggerDataOffset 0x%x size 0x%x does "
			       "not fit the file", x->debugger_data_offset,
			  x->debugger_data_size);
		return;
	}
	if (memcmp(k + 0x10, "KDBG", 4)) {
		exq__warn(img, "the triage KDBG copy at 0x%x has no KDBG tag",
			  x->debugger_data_offset);
		return;
	}
	x->has_kdbg = 1;
	x->kdbg_size = exq__le32(k + 0x14);
	x->kdbg_kernbase = exq__le64(k + 0x18);
	x->kdbg_ps_loaded_module_list = exq__le64(k + 0x48);
	if (!d->L->wide) { /* 32-bit pointers, sign-extended in 64-bit slots */
		x->kdbg_kernbase &= 0xFFFFFFFFu;
		x->kdbg_ps_loaded_module_list &= 0xFFFFFFFFu;
	}
}

/* The processor context at the bugcheck: the data block of exactly one
 * CONTEXT's size whose address the stored PRCB holds. Falls back to the
 * header's context (the exception's) when there is none. */
static void triage_context(exq_image *img, struct dmp *d)
{
	const struct layout *L = d->L;
	exq_triage_info *x = &d->triage;
	uint32_t esz = L->wide ? 16 : 12, i, prcb_len;
	uint8_t *prcb = NULL, e[16], c[0x100];

	prcb_len = x->process_offset > x->prcb_offset
			   ? x->process_offset - x->prcb_offset
			   : 0;
	if (prcb_len > 0x10000)
		prcb_len = 0x10000;
	if (!x->prcb_offset || !prcb_len || !in_file(img, x->prcb_offset, prcb_len) ||
	    !in_file(img, x->data_blocks_offset, (uint64_t)x->data_blocks_count * esz))
		return;
	prcb = malloc(prcb_len);
	if (!prcb || exq__src_read(img->src, x->prcb_offset, prcb, prcb_len,
				   &img->err) != EXQ_OK)
		goto out;
	for (i = 0; i < x->data_blocks_count; i++) {
		uint64_t va, p;
		uint32_t off, size, k;
		if (exq__src_read(img->src, x->data_blocks_offset + (uint64_t)i * esz,
				  e, esz, &img->err) != EXQ_OK)
			break;
		va = L->wide ? exq__le64(e) : exq__le32(e);
		off = exq__le32(e + esz - 8);
		size = exq__le32(e + esz - 4);
		if (size != L->ctx_size || !in_file(img, off, size))
			continue;
		for (k = 0; k + (L->wide ? 8u : 4u) <= prcb_len; k += L->wide ? 8 : 4) {
			p = L->wide ? exq__le64(prcb + k) : exq__le32(prcb + k);
			if (p == va)
				break;
		}
		if (k + (L->wide ? 8u : 4u) > prcb_len ||
		    exq__src_read(img->src, off, c, sizeof(c), &img->err) != EXQ_OK)
			continue;
		img->info.context_pc = ptr_at(L, c, L->ctx_pc);
		img->info.context_sp = ptr_at(L, c, L->ctx_sp);
		img->info.context_source = "prcb";
		img->info.have |= EXQ_HAVE_CONTEXT;
		break;
	}
out:
	free(prcb);
}

static exq_status triage_drivers(exq_image *img, struct dmp *d)
{
	const struct layout *L = d->L;
	exq_triage_info *x = &d->triage;
	uint32_t i, bad = 0;
	size_t used = 0, cap;
	uint8_t ent[0x90], *wbuf;

	if (!x->driver_count)
		return EXQ_OK;
	if (!in_file(img, x->driver_list_offset,
		     (uint64_t)x->driver_count * L->drv_stride)) {
		exq__warn(img, "triage DriverCount %u at DriverListOffset 0x%x "
			       "does not fit the file; drivers not read",
			  x->driver_count, x->driver_list_offset);
		return EXQ_OK;
	}
	cap = (size_t)x->driver_count * 256;
	d->drivers = calloc(x->driver_count, sizeof(*d->drivers));
	d->names = malloc(cap);
	wbuf = malloc(2 * 1024);
	if (!d->drivers || !d->names || !wbuf) {
		free(wbuf);
		return exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
	}
	for (i = 0; i < x->driver_count; i++) {
		exq_triage_driver *dr = &d->drivers[i];
		uint32_t noff, len;
		uint8_t l4[4];
		exq_status st = exq__src_read(
			img->src, x->driver_list_offset + (uint64_t)i * L->drv_stride,
			ent, L->drv_stride, &img->err);
		if (st != EXQ_OK) {
			free(wbuf);
			return st;
		}
		noff = exq__le32(ent);
		dr->base = ptr_at(L, ent, L->drv_base);
		dr->size = exq__le32(ent + L->drv_size);
		dr->timestamp = exq__le32(ent + L->drv_stamp);
		dr->name = d->names + used;
		d->names[used] = '\0';
		if (!in_file(img, noff, 4) ||
		    exq__src_read(img->src, noff, l4, 4, &img->err) != EXQ_OK ||
		    (len = exq__le32(l4)) > 1024 ||
		    !in_file(img, (uint64_t)noff + 4, 2ull * len) ||
		    exq__src_read(img->src, (uint64_t)noff + 4, wbuf, 2 * len,
				  &img->err) != EXQ_OK) {
			bad++;
			used++;
			continue;
		}
		used += exq__utf16le_to_utf8(wbuf, len, d->names + used,
					     255) + 1;
	}
	free(wbuf);
	x->ndrivers = x->driver_count;
	x->drivers = d->drivers;
	if (bad)
		exq__warn(img, "%u of %u triage driver names are unreadable",
			  bad, x->driver_count);
	return EXQ_OK;
}

static exq_status parse_triage(exq_image *img, struct dmp *d,
			       const uint8_t *h)
{
	uint8_t t[0x80], tag[4];
	exq_triage_info *x = &d->triage;
	exq_status st;
	(void)h;
	st = exq__src_read(img->src, d->L->hdr_size, t, sizeof(t), &img->err);
	if (st != EXQ_OK)
		return exq__err_ctx(&img->err, EXQ_CORRUPT,
				    "triage header at 0x%x", d->L->hdr_size);
	triage_header(d, t);
	if (x->size_of_dump > img->src->size)
		exq__warn(img, "triage SizeOfDump 0x%x is larger than the file "
			       "(0x%llx): truncated?",
			  x->size_of_dump, (unsigned long long)img->src->size);
	x->valid = in_file(img, x->valid_offset, 4) &&
		   exq__src_read(img->src, x->valid_offset, tag, 4,
				 &img->err) == EXQ_OK &&
		   memcmp(tag, "TRGD", 4) == 0;
	if (!x->valid)
		exq__warn(img, "no TRGD tag at the triage ValidOffset 0x%x",
			  x->valid_offset);
	triage_kdbg(img, d);
	triage_context(img, d);
	st = triage_drivers(img, d);
	if (st != EXQ_OK)
		return st;
	img->info.triage = x;
	exq__err_clear(&img->err);
	return exq__image_set_runs(img, NULL, 0);
}

static exq_status parse_body(exq_image *img, struct dmp *d, const uint8_t *h)
{
	uint32_t dt = exq__le32(h + d->L->dump_type);
	img->info.dump_type_code = dt;
	switch (dt) {
	case DT_FULL:
		img->info.dump_type = "full";
		return parse_full(img, d, h);
	case DT_SUMMARY:
		img->info.dump_type = "kernel";
		return parse_summary(img, d);
	case DT_BITMAP_FULL:
	case DT_BITMAP_KERNEL:
		img->info.dump_type = dt == DT_BITMAP_FULL ? "bitmap"
							   : "bitmap-kernel";
		return parse_bitmap(img, d);
	case DT_TRIAGE:
		img->info.dump_type = "triage";
		return parse_triage(img, d, h);
	default:
		return exq__err_set(&img->err, EXQ_UNSUPPORTED,
				    "DumpType %u is not supported (known: 1 "
				    "full, 2 kernel, 4 triage, 5/6 bitmap)",
				    dt);
	}
}

static exq_status dmp_probe(exq_image *img, const struct layout *L)
{
	uint8_t *h;
	struct dmp *d;
	exq_status st;
	uint8_t sig[8];

	if (img->src->size < 8 ||
	    exq__src_read(img->src, 0, sig, 8, &img->err) != EXQ_OK ||
	    memcmp(sig, L->sig, 8) != 0)
		return EXQ__NOPROBE;
	if (img->src->size < L->hdr_size)
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "the file (0x%llx bytes) is shorter than "
				    "the 0x%x-byte %s header (truncated?)",
				    (unsigned long long)img->src->size,
				    L->hdr_size, L->sig);
	h = malloc(L->hdr_size);
	d = calloc(1, sizeof(*d));
	if (!h || !d) {
		free(h);
		free(d);
		return exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
	}
	d->L = L;
	img->fmt_priv = d;
	st = exq__src_read(img->src, 0, h, L->hdr_size, &img->err);
	if (st == EXQ_OK) {
		parse_common(img, L, h);
		st = parse_body(img, d, h);
	}
	free(h);
	return st;
}

static exq_status probe32(exq_image *img)
{
	return dmp_probe(img, &lay32);
}

static exq_status probe64(exq_image *img)
{
	return dmp_probe(img, &lay64);
}

exq_status exq__windmp_header_facts(exq_image *img, const uint8_t *h,
				    size_t len)
{
	const struct layout *L;
	if (len >= lay64.hdr_size && memcmp(h, lay64.sig, 8) == 0)
		L = &lay64;
	else if (len >= lay32.hdr_size && memcmp(h, lay32.sig, 8) == 0)
		L = &lay32;
	else
		return EXQ__NOPROBE;
	parse_common(img, L, h);
	img->info.dump_type_code = exq__le32(h + L->dump_type);
	return EXQ_OK;
}

const struct exq__format exq__fmt_windmp32 = {"windmp32", probe32,
					       dmp_read_page, dmp_close,
					       dmp_span};
const struct exq__format exq__fmt_windmp64 = {"windmp64", probe64,
					       dmp_read_page, dmp_close,
					       dmp_span};
