/* SPDX-License-Identifier: MIT */
/* kdump-compressed files ("kdump": `dump-guest-memory -z`, `virsh dump
 * --format kdump-*`, makedumpfile), plain or flattened (DESIGN §4.4). ELF
 * cores are fmt_elf.c's.
 *
 * exq reads the container's own headers (the kdump header, sub-header,
 * bitmap and page descriptors, the notes) and, where it can, the pages
 * too: each page's descriptor is checked (data inside the file, at most a
 * page, one compression), then raw and zlib pages are read here; lzo,
 * snappy and zstd pages through libkdumpfile 0.5.1 (KDUMP_MACHPHYSADDR,
 * whole pages into the image's page cache), opened on the first such page;
 * a build without libkdumpfile (WITH_KDUMPFILE=0) reads the rest and says
 * EXQ_DEP for those pages.
 * DESIGN §4.4 has libkdumpfile read every page. Fuzzing showed that 0.5.1
 * trusts what it reads: a descriptor naming bytes past the end of the file
 * made it copy from past the end of its mapping (SIGBUS), and sub-header
 * sizes became allocations of any size. So libkdumpfile gets a file only
 * for the compressions exq cannot read, only after its descriptors were
 * checked, and never when it would read the header otherwise than exq or
 * a header area it reads lies outside the file (kd_check_view);
 * tests/unit/test_fmt_kdump.c keeps it as the oracle of exq's own reads.
 * Never KDUMP_KVADDR (it identity-maps VAs inside QEMU RAM segments), never
 * arch.name (QEMU writes x86_64 for any guest), never memory.pagemap (0.5.1
 * loops forever on `dump-guest-memory -p` files). A page outside the runs
 * read from the headers is NODATA.
 *
 * libkdumpfile wants a file descriptor, and exq's sources are abstract: a
 * plain file gets a dup of the file source's descriptor; a kdump file read
 * through gzip, from memory, or rebuilt from a flattened stream is copied
 * into an anonymous memfd (never a file in the user's directories),
 * bounded by KDUMP_COPY_MAX; a bigger one is LIMIT with a message saying
 * to decompress it first.
 *
 * Header offsets: makedumpfile's disk_dump_header / kdump_sub_header as
 * QEMU declares them packed (include/sysemu/dump.h: DiskDumpHeader32/64,
 * KdumpSubHeader32/64), page descriptors from makedumpfile's page_desc
 * (offset, size, flags, page_flags: 24 bytes, one per set bit of the
 * second bitmap, right after the bitmaps). The notes (QEMU CPU state,
 * NT_PRSTATUS, VMCOREINFO) are in fmt_vmnotes.c. */
#include "exq_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>
#if EXQ_WITH_KDUMPFILE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libkdumpfile/kdumpfile.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#define MAX_NOTES_BYTES (16u << 20)
#define MAX_BITMAP_BYTES (256u << 20)
#define KDUMP_COPY_MAX (1ull << 30)
#define COPY_CHUNK (1u << 20)

#if EXQ_WITH_KDUMPFILE
/* libkdumpfile is loaded (dlopen) only when a page needs it: most images
 * never do, and loading it and its dependencies (lzo, snappy with
 * libstdc++, zstd, libaddrxlat) was about 40 % of a whole header-driven
 * `exq queues` run. The functions exq uses, typed from its header. The
 * soname is 0.5.x's; the unversioned name (a -dev install) is the
 * fallback. */
#ifndef EXQ_KDUMPFILE_SONAME
#define EXQ_KDUMPFILE_SONAME "libkdumpfile.so.10"
#endif
struct kd_api {
	void *dl; /* dlopen handle, NULL until loaded */
	__typeof__(&kdump_new) new_ctx;
	__typeof__(&kdump_open_fdset) open_fdset; /* kdump_open_fd is inline */
	__typeof__(&kdump_read) read;
	__typeof__(&kdump_get_err) get_err;
	__typeof__(&kdump_free) free_ctx;
};
#endif

struct vmc {
	exq__source *c;    /* the container: img->src or flat */
	exq__source *flat; /* owned, when the input is a flattened stream */
#if EXQ_WITH_KDUMPFILE
	kdump_ctx_t *kd;   /* NULL until an lzo/snappy/zstd page is read */
	struct kd_api api; /* loaded with kd */
	int fd;
#endif
	/* Where the page descriptors start: one per stored page, in PFN
	 * order (the image's bitmap gives a page's index). */
	uint64_t desc_off;
	/* Why libkdumpfile must not be handed this file ("" when it may):
	 * set when it would read the header otherwise than exq or a header
	 * area it reads lies outside the file (kd_check_view, run once,
	 * before the first page only libkdumpfile reads: kd_checked). */
	char kd_unsafe[256];
	int kd_checked;
	const struct dd_layout *L; /* the header layout exq read */
	uint64_t bm_bytes;	   /* both bitmaps */
	uint8_t *zbuf; /* a compressed page */
	struct exq__vmnotes notes;
};

static void vmc_close(exq_image *img)
{
	struct vmc *v = img->fmt_priv;
	if (!v)
		return;
#if EXQ_WITH_KDUMPFILE
	if (v->kd)
		v->api.free_ctx(v->kd);
	if (v->api.dl)
		dlclose(v->api.dl);
	if (v->fd >= 0)
		close(v->fd);
#endif
	exq__src_close(v->flat);
	free(v->zbuf);
	exq__vmnotes_free(&v->notes);
	free(v);
	img->fmt_priv = NULL;
}

/* ----------------------------------------------------- libkdumpfile */

#if EXQ_WITH_KDUMPFILE

static int all_zero(const uint8_t *b, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static exq_status copy_to_memfd(exq_image *img, exq__source *c, int *fd_out)
{
	uint8_t *buf;
	uint64_t off;
	int fd;
	if (c->size > KDUMP_COPY_MAX)
		return exq__err_set(&img->err, EXQ_LIMIT,
				    "the %s data is 0x%llx bytes, above exq's "
				    "limit of 0x%llx for the in-memory copy "
				    "libkdumpfile reads; decompress it to a "
				    "plain file first",
				    c->ops->name, (unsigned long long)c->size,
				    (unsigned long long)KDUMP_COPY_MAX);
	fd = memfd_create("exq-vmcore", MFD_CLOEXEC);
	if (fd < 0)
		return exq__err_set(&img->err, EXQ_UNSUPPORTED,
				    "cannot make the in-memory copy libkdumpfile "
				    "needs for %s data (memfd_create: %s); "
				    "decompress it to a plain file first",
				    c->ops->name, strerror(errno));
	buf = malloc(COPY_CHUNK);
	if (!buf || ftruncate(fd, (off_t)c->size) != 0) {
		int e = errno;
		free(buf);
		close(fd);
		return buf ? exq__err_set(&img->err, EXQ_IO,
					  "sizing the in-memory copy: %s", strerror(e))
			   : exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
	}
	/* Zero chunks are left as holes: a sparse stream (a flattened record
	 * at 1 GiB, zero pages) costs memory only for the bytes it holds. */
	for (off = 0; off < c->size;) {
		size_t n = c->size - off < COPY_CHUNK ? (size_t)(c->size - off)
						      : COPY_CHUNK;
		exq_status st = exq__src_read(c, off, buf, n, &img->err);
		ssize_t w = st == EXQ_OK ? (ssize_t)n : -1;
		if (st == EXQ_OK && !all_zero(buf, n))
			w = pwrite(fd, buf, n, (off_t)off);
		if (st != EXQ_OK || w != (ssize_t)n) {
			if (st == EXQ_OK)
				st = exq__err_set(&img->err, EXQ_IO,
						  "writing the in-memory copy at "
						  "0x%llx: %s",
						  (unsigned long long)off,
						  w < 0 ? strerror(errno)
							: "short write");
			free(buf);
			close(fd);
			return st;
		}
		off += n;
	}
	free(buf);
	*fd_out = fd;
	return EXQ_OK;
}

/* Load libkdumpfile into v->api (once per image; dlopen counts). */
static exq_status kd_load(exq_image *img, struct kd_api *a)
{
	/* RTLD_NODELETE: the library stays mapped after dlclose, so that a
	 * context left to the process (kd_open) still points into it, and
	 * leak checkers can name where it came from */
	void *dl = dlopen(EXQ_KDUMPFILE_SONAME,
			  RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!dl)
		dl = dlopen("libkdumpfile.so",
			    RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!dl)
		return exq__err_set(&img->err, EXQ_DEP,
				    "libkdumpfile is needed for this page's "
				    "compression but cannot be loaded: %s",
				    dlerror());
	a->new_ctx = (__typeof__(a->new_ctx))dlsym(dl, "kdump_new");
	a->open_fdset = (__typeof__(a->open_fdset))dlsym(dl, "kdump_open_fdset");
	a->read = (__typeof__(a->read))dlsym(dl, "kdump_read");
	a->get_err = (__typeof__(a->get_err))dlsym(dl, "kdump_get_err");
	a->free_ctx = (__typeof__(a->free_ctx))dlsym(dl, "kdump_free");
	if (!a->new_ctx || !a->open_fdset || !a->read || !a->get_err ||
	    !a->free_ctx) {
		dlclose(dl);
		return exq__err_set(&img->err, EXQ_DEP,
				    "the libkdumpfile found lacks kdump_new, "
				    "kdump_open_fdset, kdump_read, "
				    "kdump_get_err or kdump_free");
	}
	a->dl = dl;
	return EXQ_OK;
}

/* Give libkdumpfile a descriptor of the container (see the top). A
 * failure is kept: later pages get the same answer without a new try. */
static exq_status kd_open(exq_image *img, struct vmc *v)
{
	int fd = exq__src_fd(v->c);
	kdump_status ks = KDUMP_OK;
	exq_status st = v->api.dl ? EXQ_OK : kd_load(img, &v->api);
	if (st != EXQ_OK) {
		snprintf(v->kd_unsafe, sizeof(v->kd_unsafe), "%s",
			 exq_image_error(img));
		return st;
	}
	if (fd >= 0) {
		v->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (v->fd < 0)
			st = exq__err_set(&img->err, EXQ_IO, "dup: %s",
					  strerror(errno));
	} else {
		st = copy_to_memfd(img, v->c, &v->fd);
	}
	if (st == EXQ_OK && !(v->kd = v->api.new_ctx()))
		st = exq__err_set(&img->err, EXQ_NOMEM,
				  "out of memory (kdump_new)");
	/* libkdumpfile refusing the file is the file's fault (a header it
	 * reads differently): the pages it would serve are CORRUPT. */
	if (st == EXQ_OK &&
	    (ks = v->api.open_fdset(v->kd, 1, &v->fd)) != KDUMP_OK)
		st = exq__err_set(&img->err,
				  ks == KDUMP_ERR_SYSTEM ? EXQ_IO : EXQ_CORRUPT,
				  "libkdumpfile cannot read this file: %s",
				  v->api.get_err(v->kd));
	if (st != EXQ_OK) {
		snprintf(v->kd_unsafe, sizeof(v->kd_unsafe), "%s",
			 exq_image_error(img));
		/* libkdumpfile 0.5.1 crashes freeing a context whose open
		 * failed part way (a header it reads differently from exq:
		 * tests/fuzz/regress/vmcore/kdump-free-after-failed-open-segv):
		 * such a context is left to the process, once per image (the
		 * failure is kept, no second try). */
		if (v->kd && ks == KDUMP_OK)
			v->api.free_ctx(v->kd);
		v->kd = NULL;
		if (v->fd >= 0)
			close(v->fd);
		v->fd = -1;
	}
	return st;
}

/* An lzo, snappy or zstd page, through libkdumpfile (opened on the first
 * such page). */
static exq_status kd_read_page(exq_image *img, struct vmc *v, uint64_t pfn,
			       void *page)
{
	uint64_t pa = pfn << EXQ__PAGE_SHIFT;
	size_t got = EXQ__PAGE_SIZE;
	kdump_status ks;
	exq_status st;
	if (!v->kd && (st = kd_open(img, v)) != EXQ_OK)
		return st;
	ks = v->api.read(v->kd, KDUMP_MACHPHYSADDR, pa, page, &got);
	if (ks == KDUMP_OK && got == EXQ__PAGE_SIZE)
		return EXQ_OK;
	if (ks == KDUMP_ERR_NODATA)
		return EXQ_NODATA;
	/* The descriptor checked out, so a page libkdumpfile cannot
	 * decompress is damaged data of this page (CORRUPT, like a zlib page
	 * that does not inflate), not exq's fault. */
	return exq__err_set(&img->err,
			    ks == KDUMP_ERR_SYSTEM ? (errno == ENOMEM ? EXQ_NOMEM
								      : EXQ_IO)
						   : EXQ_CORRUPT,
			    "libkdumpfile: reading PA 0x%llx: %s",
			    (unsigned long long)pa,
			    ks == KDUMP_OK ? "short read" : v->api.get_err(v->kd));
}
#else
/* Built without libkdumpfile: its compressions are a missing dependency,
 * as when it cannot be loaded. */
static exq_status kd_read_page(exq_image *img, struct vmc *v, uint64_t pfn,
			       void *page)
{
	(void)v;
	(void)page;
	return exq__err_set(&img->err, EXQ_DEP,
			    "PFN 0x%llx is compressed with lzo, snappy or zstd, "
			    "which exq reads through libkdumpfile, and this "
			    "build has none (WITH_KDUMPFILE=0)",
			    (unsigned long long)pfn);
}
#endif

/* Compression flags of a kdump page descriptor (makedumpfile's
 * diskdump_mod.h: zlib, lzo, snappy, zstd). */
#define KD_ZLIB 0x1u
#define KD_COMPRESSED (KD_ZLIB | 0x2u | 0x4u | 0x20u)
#define KD_DESC_SIZE 24u

struct kd_desc {
	uint64_t idx, off;
	uint32_t size, flags;
};

/* The page descriptor of a stored page, checked: exactly one compression
 * or none, data inside the file, at most a page (an uncompressed page
 * exactly one). libkdumpfile maps the file and copied from past its end
 * (SIGBUS) for a descriptor naming data outside it. */
static exq_status kdump_desc(exq_image *img, struct vmc *v, uint64_t pfn,
			     struct kd_desc *out)
{
	uint64_t idx = exq__bmap_index(img, pfn, NULL), at, off, end;
	uint32_t size, flags, comp;
	uint8_t d[KD_DESC_SIZE];
	exq_status st;
	if (idx == EXQ__NOPAGE)
		return EXQ_NODATA;
	at = v->desc_off + idx * KD_DESC_SIZE;
	st = exq__src_read(v->c, at, d, sizeof(d), &img->err);
	if (st != EXQ_OK)
		return exq__err_ctx(&img->err, EXQ_CORRUPT,
				    "kdump page descriptor %llu (PFN 0x%llx) "
				    "at 0x%llx",
				    (unsigned long long)idx,
				    (unsigned long long)pfn,
				    (unsigned long long)at);
	off = exq__le64(d);
	size = exq__le32(d + 8);
	flags = exq__le32(d + 12);
	comp = flags & KD_COMPRESSED;
	if ((off >> 63) || size == 0 || size > EXQ__PAGE_SIZE ||
	    exq__add_ovf(off, size, &end) || end > v->c->size ||
	    (!comp && size != EXQ__PAGE_SIZE) || (comp & (comp - 1)))
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "kdump page descriptor %llu (PFN 0x%llx) "
				    "names 0x%x bytes at 0x%llx (flags 0x%x): "
				    "not a page inside the file (0x%llx bytes)",
				    (unsigned long long)idx,
				    (unsigned long long)pfn, size,
				    (unsigned long long)off, flags,
				    (unsigned long long)v->c->size);
	out->idx = idx;
	out->off = off;
	out->size = size;
	out->flags = flags;
	return EXQ_OK;
}

/* One stored kdump page: raw and zlib pages are read here; lzo, snappy and
 * zstd pages through libkdumpfile. */
static void kd_check_once(exq_image *img, struct vmc *v);

static exq_status vmc_read_page(exq_image *img, uint64_t pfn, void *page)
{
	struct vmc *v = img->fmt_priv;
	struct kd_desc d = {0, 0, 0, 0};
	int zr;
	uLongf got = EXQ__PAGE_SIZE;
	exq_status st;
	if (!exq__pfn_in_image(img, pfn))
		return EXQ_NODATA;
	st = kdump_desc(img, v, pfn, &d);
	if (st != EXQ_OK)
		return st;
	if (!(d.flags & KD_COMPRESSED))
		return exq__src_read(v->c, d.off, page, EXQ__PAGE_SIZE,
				     &img->err);
	if (d.flags & KD_ZLIB) {
		if (!v->zbuf && !(v->zbuf = malloc(EXQ__PAGE_SIZE)))
			return exq__err_set(&img->err, EXQ_NOMEM,
					    "out of memory");
		st = exq__src_read(v->c, d.off, v->zbuf, d.size, &img->err);
		if (st != EXQ_OK)
			return st;
		zr = uncompress(page, &got, v->zbuf, d.size);
		if (zr == Z_MEM_ERROR) /* zlib's state: memory, not the page */
			return exq__err_set(&img->err, EXQ_NOMEM,
					    "out of memory inflating kdump page "
					    "descriptor %llu",
					    (unsigned long long)d.idx);
		if (zr != Z_OK || got != EXQ__PAGE_SIZE)
			return exq__err_set(&img->err, EXQ_CORRUPT,
					    "kdump page descriptor %llu (PFN "
					    "0x%llx): its 0x%x zlib bytes at "
					    "0x%llx do not inflate to one page",
					    (unsigned long long)d.idx,
					    (unsigned long long)pfn, d.size,
					    (unsigned long long)d.off);
		return EXQ_OK;
	}
	kd_check_once(img, v);
	if (v->kd_unsafe[0])
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "PFN 0x%llx is compressed (flags 0x%x) in a "
				    "way only libkdumpfile reads, and it cannot "
				    "read this file: %s",
				    (unsigned long long)pfn, d.flags,
				    v->kd_unsafe);
	return kd_read_page(img, v, pfn, page);
}

/* --------------------------------------------------------------- kdump */

/* Offsets of the fields exq (and, for split/start_pfn, libkdumpfile) reads
 * in the two header layouts (packed, as QEMU writes them; makedumpfile's
 * natural alignment gives the same). */
struct dd_layout {
	const char *name;
	uint32_t block_size, sub_hdr_size, bitmap_blocks, max_mapnr, nr_cpus;
	/* sub-header */
	uint32_t sh_split, sh_start_pfn, sh_vmcoreinfo_off, sh_vmcoreinfo_size,
	    sh_note_off, sh_note_size, sh_start_pfn64, sh_max_mapnr64, sh_len;
	int sh_size64; /* start_pfn, size_vmcoreinfo, size_note are u64 */
};

static const struct dd_layout dd64 = {
	.name = "64-bit", .block_size = 428, .sub_hdr_size = 432,
	.bitmap_blocks = 436, .max_mapnr = 440, .nr_cpus = 460,
	.sh_split = 12, .sh_start_pfn = 16, .sh_vmcoreinfo_off = 32,
	.sh_vmcoreinfo_size = 40, .sh_note_off = 48, .sh_note_size = 56,
	.sh_start_pfn64 = 80, .sh_max_mapnr64 = 96, .sh_len = 104,
	.sh_size64 = 1};
static const struct dd_layout dd32 = {
	.name = "32-bit", .block_size = 416, .sub_hdr_size = 420,
	.bitmap_blocks = 424, .max_mapnr = 428, .nr_cpus = 448,
	.sh_split = 8, .sh_start_pfn = 12, .sh_vmcoreinfo_off = 20,
	.sh_vmcoreinfo_size = 28, .sh_note_off = 32, .sh_note_size = 40,
	.sh_start_pfn64 = 56, .sh_max_mapnr64 = 72, .sh_len = 80,
	.sh_size64 = 0};

static int good_block_size(uint32_t bs)
{
	return bs >= 512 && bs <= 65536 && (bs & (bs - 1)) == 0;
}

static int layout_fits(const uint8_t *h, const struct dd_layout *L,
		       uint64_t size)
{
	uint32_t bs = exq__le32(h + L->block_size);
	uint64_t sub = exq__le32(h + L->sub_hdr_size);
	uint64_t bm = exq__le32(h + L->bitmap_blocks);
	uint32_t cpus = exq__le32(h + L->nr_cpus);
	if (!good_block_size(bs) || !bm || cpus == 0 || cpus > 4096)
		return 0;
	return (1 + sub + bm) * bs <= size;
}

static exq_status kdump_bitmap(exq_image *img, struct vmc *v, uint64_t at,
			       uint64_t bytes, uint64_t max_mapnr)
{
	uint64_t *bm;
	uint64_t bits = bytes / 2 * 8, set;
	exq_status st;
	if (bytes > MAX_BITMAP_BYTES)
		return exq__err_set(&img->err, EXQ_LIMIT,
				    "bitmap_blocks: a 0x%llx-byte bitmap is beyond "
				    "exq's limit (0x%x)",
				    (unsigned long long)bytes, MAX_BITMAP_BYTES);
	if (max_mapnr > bits) {
		exq__warn(img, "max_mapnr 0x%llx is more than the bitmap holds "
			       "(0x%llx pages); using the bitmap",
			  (unsigned long long)max_mapnr,
			  (unsigned long long)bits);
		max_mapnr = bits;
	}
	bm = exq__bmap_alloc(bits, &img->err);
	if (!bm)
		return EXQ_NOMEM;
	/* the second half: the pages stored in the dump */
	st = exq__src_read(v->c, at + bytes / 2, bm, (size_t)(bytes / 2),
			   &img->err);
	if (st != EXQ_OK) {
		free(bm);
		return st;
	}
	st = exq__image_set_bitmap(img, bm, max_mapnr, UINT64_MAX, &set);
	if (st == EXQ_OK && !set)
		st = exq__err_set(&img->err, EXQ_CORRUPT,
				  "the kdump bitmap marks no pages");
	return st;
}

/* The sub-header's notes and vmcoreinfo areas. A bad offset is a warning:
 * the memory is still readable. */
static exq_status kdump_area(exq_image *img, struct vmc *v, uint64_t off,
			     uint64_t size, const char *what)
{
	uint8_t *buf;
	uint64_t end;
	exq_status st;
	if (!size)
		return EXQ_OK;
	if (exq__add_ovf(off, size, &end) || end > v->c->size ||
	    size > MAX_NOTES_BYTES) {
		exq__warn(img, "kdump sub-header: %s area (0x%llx bytes at "
			       "0x%llx) is not inside the file (0x%llx) or is "
			       "too large; ignored",
			  what, (unsigned long long)size,
			  (unsigned long long)off,
			  (unsigned long long)v->c->size);
		snprintf(v->kd_unsafe, sizeof(v->kd_unsafe),
			 "the sub-header's %s area (0x%llx bytes at 0x%llx) "
			 "is not inside the file",
			 what, (unsigned long long)size,
			 (unsigned long long)off);
		return EXQ_OK;
	}
	buf = malloc((size_t)size);
	if (!buf)
		return exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
	st = exq__src_read(v->c, off, buf, (size_t)size, &img->err);
	if (st == EXQ_OK && strcmp(what, "notes") == 0)
		st = exq__vmnotes_parse(img, &v->notes, buf, (size_t)size,
					"kdump notes");
	else if (st == EXQ_OK &&
		 exq__windmp_header_facts(img, buf, (size_t)size) == EXQ_OK)
		v->notes.have_windows_header = 1;
	free(buf);
	return st;
}

/* ------------------------------------------------ libkdumpfile's view */

/* libkdumpfile 0.5.1 reads the header its own way (src/kdumpfile/
 * diskdump.c: open_common, try_header, read_sub_hdr_*, read_bitmap) and
 * trusts what it reads; the bitmap it reads in one piece, with 32 bytes of
 * cache entries per 4 KiB of it first. A 64-bit file it took for 32-bit
 * big-endian made it allocate 8 GiB for a 1 TiB bitmap at 1 TiB
 * (tests/fuzz/regress/vmcore/kdump-read-as-32bit-be-bitmap-huge-alloc).
 * So it gets a file only when it would read the header as exq does (the
 * page descriptors exq checks are then the ones it reads) and what it
 * reads lies inside the file. How it reads:
 *  - the first of 32-bit LE, 32-bit BE, 64-bit LE, 64-bit BE whose
 *    block_size is a power of two from 4 KiB to 256 KiB and whose
 *    bitmap_blocks cover max_mapnr (u32) is the layout;
 *  - header_version is signed; from 1 on the sub-header is read at
 *    block_size whatever sub_hdr_size says; from 6 on max_mapnr is the
 *    sub-header's max_mapnr_64;
 *  - a max_mapnr up to half the bitmap's bits makes the blocks from
 *    bitmap_blocks / 2 (rounded down) the page bitmap, else all of them;
 *  - a split dump (version 2 on) counts descriptors from its start_pfn;
 *  - version 3 reads the vmcoreinfo area (before the bitmap), 4 on the
 *    notes; a PAGESIZE row or a Xen dumpcore note there sets its page
 *    size (kd_other_page_size). */

static void kd_refuse(struct vmc *v, const char *fmt, ...) EXQ__PRINTF(2, 3);
static void kd_refuse(struct vmc *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->kd_unsafe, sizeof(v->kd_unsafe), fmt, ap);
	va_end(ap);
}

static uint32_t kd_rd32(const uint8_t *p, int be)
{
	return be ? exq__be32(p) : exq__le32(p);
}

/* libkdumpfile's try_header (a negative block_size fails as a huge one). */
static int kd_takes(const uint8_t *h, const struct dd_layout *L, int be)
{
	uint32_t bs = kd_rd32(h + L->block_size, be);
	uint64_t bits = 8ull * kd_rd32(h + L->bitmap_blocks, be) * bs;
	return bs >= 4096 && bs <= (256u << 10) && !(bs & (bs - 1)) &&
	       bits >= kd_rd32(h + L->max_mapnr, be);
}

/* The header layout libkdumpfile takes for h, or NULL; *be its byte
 * order. */
static const struct dd_layout *kd_layout(const uint8_t *h, int *be)
{
	static const struct {
		const struct dd_layout *L;
		int be;
	} order[] = {{&dd32, 0}, {&dd32, 1}, {&dd64, 0}, {&dd64, 1}};
	size_t i;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (kd_takes(h, order[i].L, order[i].be)) {
			*be = order[i].be;
			return order[i].L;
		}
	return NULL;
}

/* A VMCOREINFO row PAGESIZE=n (vmcoreinfo.c) or a Xen dumpcore header note
 * (notes.c) sets libkdumpfile's page size after the header's: its page
 * cache becomes 1024 pages of it, it reads pages of that size, and for
 * version 3 (the vmcoreinfo area is read before the bitmap) the bitmap
 * moves to (1 + sub_hdr_size) of them. A size it would take (a power of
 * two, or 0) other than block_size is refused; any other fails its open
 * by itself. */
static int kd_other_page_size(uint64_t n)
{
	return n != EXQ__PAGE_SIZE && !(n & (n - 1));
}

/* VMCOREINFO text t[n] split into rows as libkdumpfile does (the key up to
 * '=' or the whole row, key and value cut at a NUL, the value read by
 * strtoul to its end); nonzero when refused. */
static int kd_vmcoreinfo(struct vmc *v, const uint8_t *t, size_t n,
			 const char *what)
{
	const uint8_t *p = t, *end = t + n, *eol, *eq, *val, *nul;
	size_t klen, vlen;
	uint64_t size;
	char *s, *e;
	int rest;
	for (; p < end; p = eol < end ? eol + 1 : end) {
		if (!(eol = memchr(p, '\n', (size_t)(end - p))))
			eol = end;
		eq = memchr(p, '=', (size_t)(eol - p));
		val = eq ? eq + 1 : eol;
		klen = (size_t)((eq ? eq : eol) - p);
		if ((nul = memchr(p, 0, klen)))
			klen = (size_t)(nul - p);
		if (klen != 8 || memcmp(p, "PAGESIZE", 8) != 0)
			continue;
		vlen = (size_t)(eol - val);
		if ((nul = memchr(val, 0, vlen)))
			vlen = (size_t)(nul - val);
		if (!(s = malloc(vlen + 1))) {
			kd_refuse(v, "out of memory reading the %s", what);
			return 1;
		}
		memcpy(s, val, vlen);
		s[vlen] = '\0';
		size = strtoul(s, &e, 10);
		rest = *e != '\0';
		free(s);
		if (!rest && kd_other_page_size(size)) {
			kd_refuse(
			    v,
			    "the %s's PAGESIZE %llu would be libkdumpfile's "
			    "page size (a cache of 1024 such pages), not "
			    "block_size %u",
			    what, (unsigned long long)size, EXQ__PAGE_SIZE);
			return 1;
		}
	}
	return 0;
}

#define XEN_DUMPCORE_HEADER 0x2000001u
#define XEN_DUMPCORE_FORMAT_VERSION 0x2000003u

/* The notes b[n] as libkdumpfile walks them (notes.c, do_notes: name and
 * desc 4-byte aligned, up to the first note that does not fit): the page
 * size of VMCOREINFO and of a Xen dumpcore header, the lengths of Xen
 * notes it reads without checking them. */
static void kd_notes(struct vmc *v, const uint8_t *b, size_t n)
{
	while (n >= 12) {
		uint32_t namesz = exq__le32(b), descsz = exq__le32(b + 4);
		uint32_t type = exq__le32(b + 8);
		size_t doff = 12 + (((size_t)namesz + 3) & ~(size_t)3);
		size_t dlen = ((size_t)descsz + 3) & ~(size_t)3;
		const uint8_t *name = b + 12, *desc = b + doff;
		int xen, bad = 0;
		if (n < doff + descsz)
			return;
		n -= doff;
		n = n >= dlen ? n - dlen : 0;
		if ((namesz == 10 || namesz == 11) &&
		    memcmp(name, "VMCOREINFO", namesz) == 0 &&
		    kd_vmcoreinfo(v, desc, descsz, "VMCOREINFO note"))
			return;
		xen = (namesz == 9 || namesz == 10) &&
		      memcmp(name, ".note.Xen", namesz) == 0;
		if (xen && type == XEN_DUMPCORE_HEADER)
			bad = descsz < 32 ||
			      kd_other_page_size(exq__le64(desc + 24));
		else if (xen && type == XEN_DUMPCORE_FORMAT_VERSION)
			bad = descsz < 8;
		if (bad) {
			kd_refuse(v,
				  "a Xen dumpcore note (type 0x%x, %u bytes) "
				  "libkdumpfile would read as its page size or "
				  "past its end",
				  type, descsz);
			return;
		}
		if (n)
			b = desc + dlen;
	}
}

/* The vmcoreinfo (version 3) or notes area libkdumpfile reads, inside the
 * file and within MAX_NOTES_BYTES. */
static void kd_check_area(struct vmc *v, uint64_t off, size_t size,
			  int vmcoreinfo)
{
	const char *what = vmcoreinfo ? "vmcoreinfo area" : "notes area";
	uint8_t *buf = malloc(size);
	exq__err e;
	if (!buf)
		kd_refuse(v, "out of memory reading the %s", what);
	else if (exq__src_read(v->c, off, buf, size, &e) != EXQ_OK)
		kd_refuse(v, "reading the %s at 0x%llx: %s", what,
			  (unsigned long long)off, e.msg);
	else if (vmcoreinfo)
		kd_vmcoreinfo(v, buf, size, what);
	else
		kd_notes(v, buf, size);
	free(buf);
}

/* Set v->kd_unsafe when libkdumpfile would read the file otherwise than
 * exq: exq read header h in layout L, little-endian, with 4 KiB blocks and
 * the second half of its bm_bytes of bitmap (kdump_bitmap: inside the file
 * and within MAX_BITMAP_BYTES). */
static void kd_check_view(exq_image *img, struct vmc *v, const uint8_t *h,
			  const struct dd_layout *L, uint64_t bm_bytes)
{
	const struct dd_layout *K;
	int32_t version = (int32_t)exq__le32(h + 8);
	uint32_t bm_blocks = exq__le32(h + L->bitmap_blocks);
	uint64_t max_pfn = exq__le32(h + L->max_mapnr), off, size, end;
	uint8_t sh[104];
	const char *what = "notes";
	exq__err e;
	exq_run first;
	int be = 0;
	if (!(K = kd_layout(h, &be))) {
		kd_refuse(v,
			  "libkdumpfile takes no layout of the header: in "
			  "exq's, bitmap_blocks %u cover fewer pages than "
			  "max_mapnr %llu",
			  bm_blocks, (unsigned long long)max_pfn);
		return;
	}
	if (K != L || be) {
		kd_refuse(v,
			  "libkdumpfile would read the header as %s "
			  "%s-endian (block_size 0x%x, bitmap_blocks 0x%x), "
			  "exq reads it as %s little-endian",
			  K->name, be ? "big" : "little",
			  kd_rd32(h + K->block_size, be),
			  kd_rd32(h + K->bitmap_blocks, be), L->name);
		return;
	}
	if (version < 0) {
		kd_refuse(v, "header_version 0x%x is negative to libkdumpfile",
			  (uint32_t)version);
		return;
	}
	if (bm_blocks & 1) {
		kd_refuse(v,
			  "bitmap_blocks %u is odd: libkdumpfile's second "
			  "bitmap starts half a block before exq's",
			  bm_blocks);
		return;
	}
	/* at block_size: inside the file, before exq's bitmap or in it */
	memset(sh, 0, sizeof(sh));
	if (version >= 1 &&
	    exq__src_read(v->c, EXQ__PAGE_SIZE, sh, L->sh_len, &e) != EXQ_OK) {
		kd_refuse(v, "reading the sub-header at 0x%x: %s",
			  EXQ__PAGE_SIZE, e.msg);
		return;
	}
	if (version >= 6)
		max_pfn = exq__le64(sh + L->sh_max_mapnr64);
	if (max_pfn > bm_bytes * 4) {
		kd_refuse(v,
			  "libkdumpfile would read both bitmaps as one: "
			  "max_mapnr 0x%llx%s is more than one holds "
			  "(0x%llx pages)",
			  (unsigned long long)max_pfn,
			  version >= 6 ? " (the sub-header's max_mapnr_64)"
				       : "",
			  (unsigned long long)(bm_bytes * 4));
		return;
	}
	if (version >= 2 && exq__le32(sh + L->sh_split)) {
		uint64_t start =
		    version >= 6   ? exq__le64(sh + L->sh_start_pfn64)
		    : L->sh_size64 ? exq__le64(sh + L->sh_start_pfn)
				   : exq__le32(sh + L->sh_start_pfn);
		if (exq__next_run(img, 0, &first) && first.base_page < start) {
			kd_refuse(v,
				  "a split dump from PFN 0x%llx: libkdumpfile "
				  "counts page descriptors from there, exq "
				  "from PFN 0 (PFN 0x%llx is below it)",
				  (unsigned long long)start,
				  (unsigned long long)first.base_page);
			return;
		}
	}
	if (version < 3)
		return;
	if (version == 3) {
		what = "vmcoreinfo";
		off = exq__le64(sh + L->sh_vmcoreinfo_off);
		size = L->sh_size64 ? exq__le64(sh + L->sh_vmcoreinfo_size)
				    : exq__le32(sh + L->sh_vmcoreinfo_size);
	} else {
		off = exq__le64(sh + L->sh_note_off);
		size = L->sh_size64 ? exq__le64(sh + L->sh_note_size)
				    : exq__le32(sh + L->sh_note_size);
	}
	if (!size)
		return;
	if (exq__add_ovf(off, size, &end) || end > v->c->size ||
	    size > MAX_NOTES_BYTES) {
		kd_refuse(v,
			  "libkdumpfile would read a %s area of 0x%llx bytes "
			  "at 0x%llx (sub-header at 0x%x), not inside the "
			  "file (0x%llx) or above 0x%x bytes",
			  what, (unsigned long long)size,
			  (unsigned long long)off, EXQ__PAGE_SIZE,
			  (unsigned long long)v->c->size, MAX_NOTES_BYTES);
		return;
	}
	kd_check_area(v, off, (size_t)size, version == 3);
}

/* kd_check_view on the header, once per image, when a page only
 * libkdumpfile reads is first asked for (files without such pages never
 * pay for reading the header areas again). */
static void kd_check_once(exq_image *img, struct vmc *v)
{
	uint8_t h[464];
	exq__err e;
	if (v->kd_checked)
		return;
	v->kd_checked = 1;
	if (v->kd_unsafe[0])
		return;
	if (exq__src_read(v->c, 0, h, sizeof(h), &e) != EXQ_OK)
		kd_refuse(v, "reading the header again: %s", e.msg);
	else
		kd_check_view(img, v, h, v->L, v->bm_bytes);
}

static exq_status kdump_probe(exq_image *img, exq__source *c, struct vmc *v)
{
	uint8_t h[464], sh[104];
	const struct dd_layout *L;
	uint32_t version, bs, sub_blocks, bm_blocks, nr_cpus;
	uint64_t max_mapnr, bm_off, end = 0, last = 0;
	exq_status st;

	if (c->size < 8 || exq__src_read(c, 0, h, 8, &img->err) ||
	    (memcmp(h, "KDUMP   ", 8) && memcmp(h, "DISKDUMP", 8)))
		return EXQ__NOPROBE;
	img->info.dump_type = "kdump";
	if (c->size < sizeof(h) ||
	    exq__src_read(c, 0, h, sizeof(h), &img->err))
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "the file (0x%llx bytes) is shorter than a "
				    "kdump header",
				    (unsigned long long)c->size);
	version = exq__le32(h + 8);
	/* The layout follows the writer's pointer width, which the header
	 * does not name reliably (QEMU's utsname says x86_64 for every
	 * guest): take the one whose fields hang together — a block size,
	 * a bitmap inside the file — preferring 64-bit; a block size alone
	 * is not enough (the 32-bit max_mapnr sits where the 64-bit
	 * block_size does, and 8192 pages is a power of two). */
	L = layout_fits(h, &dd64, c->size)   ? &dd64
	    : layout_fits(h, &dd32, c->size) ? &dd32
	    : good_block_size(exq__le32(h + dd64.block_size)) ? &dd64
	    : good_block_size(exq__le32(h + dd32.block_size)) ? &dd32
							       : NULL;
	if (!L)
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "kdump header: block_size is 0x%x (64-bit "
				    "layout) or 0x%x (32-bit): neither is a "
				    "power of two from 512 to 65536",
				    exq__le32(h + dd64.block_size),
				    exq__le32(h + dd32.block_size));
	bs = exq__le32(h + L->block_size);
	sub_blocks = exq__le32(h + L->sub_hdr_size);
	bm_blocks = exq__le32(h + L->bitmap_blocks);
	max_mapnr = exq__le32(h + L->max_mapnr);
	nr_cpus = exq__le32(h + L->nr_cpus);
	if (bs != EXQ__PAGE_SIZE)
		return exq__err_set(&img->err, EXQ_UNSUPPORTED,
				    "kdump block_size %u: exq reads 4 KiB pages",
				    bs);
	bm_off = (1ull + sub_blocks) * bs;
	if (!bm_blocks || exq__add_ovf(bm_off, (uint64_t)bm_blocks * bs, &end) ||
	    end > c->size)
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "kdump header (%s): sub_hdr_size %u and "
				    "bitmap_blocks %u put the bitmap at 0x%llx.."
				    "0x%llx, not inside the file (0x%llx)",
				    L->name, sub_blocks, bm_blocks,
				    (unsigned long long)bm_off,
				    (unsigned long long)end,
				    (unsigned long long)c->size);
	memset(sh, 0, sizeof(sh));
	if (sub_blocks &&
	    exq__src_read(c, bs, sh, L->sh_len, &img->err) != EXQ_OK)
		return exq__err_ctx(&img->err, EXQ_CORRUPT, "kdump sub-header");
	if (version >= 6 && sub_blocks)
		max_mapnr = exq__le64(sh + L->sh_max_mapnr64);
	st = kdump_bitmap(img, v, bm_off, (uint64_t)bm_blocks * bs, max_mapnr);
	if (st != EXQ_OK)
		return exq__err_ctx(&img->err, st, "kdump bitmap");
	/* The descriptors follow the bitmaps, one per stored page in PFN
	 * order. */
	v->desc_off = end;
	{
		uint64_t acc = img->info.pages_present;
		if (acc > (c->size - end) / KD_DESC_SIZE)
			return exq__err_set(
			    &img->err, EXQ_CORRUPT,
			    "the bitmap marks %llu pages but the file "
			    "(0x%llx bytes) ends before their page descriptors "
			    "(0x%llx bytes at 0x%llx; truncated?)",
			    (unsigned long long)acc,
			    (unsigned long long)c->size,
			    (unsigned long long)(acc * KD_DESC_SIZE),
			    (unsigned long long)end);
		last = acc - 1;
	}
	/* Writers store the pages in PFN order: the last page's data ending
	 * past the end of the file means the file was cut. (Any other
	 * descriptor that lies is refused when its page is read.) */
	{
		uint8_t d[KD_DESC_SIZE];
		uint64_t doff, dend;
		st = exq__src_read(c, end + last * KD_DESC_SIZE, d, sizeof(d),
				   &img->err);
		if (st != EXQ_OK)
			return st;
		doff = exq__le64(d);
		if (!(doff >> 63) &&
		    !exq__add_ovf(doff, exq__le32(d + 8), &dend) &&
		    dend > c->size)
			return exq__err_set(
			    &img->err, EXQ_CORRUPT,
			    "the data of the last page (descriptor %llu: "
			    "0x%x bytes at 0x%llx) runs past the end of the file "
			    "(0x%llx; truncated?)",
			    (unsigned long long)last, exq__le32(d + 8),
			    (unsigned long long)doff,
			    (unsigned long long)c->size);
	}
	if (version >= 3 && sub_blocks)
		st = kdump_area(img, v, exq__le64(sh + L->sh_vmcoreinfo_off),
				L->sh_size64 ? exq__le64(sh + L->sh_vmcoreinfo_size)
					     : exq__le32(sh + L->sh_vmcoreinfo_size),
				"vmcoreinfo");
	if (st == EXQ_OK && version >= 4 && sub_blocks)
		st = kdump_area(img, v, exq__le64(sh + L->sh_note_off),
				L->sh_size64 ? exq__le64(sh + L->sh_note_size)
					     : exq__le32(sh + L->sh_note_size),
				"notes");
	v->L = L; /* for kd_check_once */
	v->bm_bytes = (uint64_t)bm_blocks * bs;
	if (st == EXQ_OK)
		st = exq__vmnotes_apply(img, &v->notes, 0, nr_cpus);
	return st;
}

/* ----------------------------------------------------------- the probes */

/* The container: the source itself, or the regular file rebuilt from a
 * flattened stream. */
static exq_status vmc_start(exq_image *img, struct vmc **out)
{
	struct vmc *v = calloc(1, sizeof(*v));
	exq_status st;
	if (!v)
		return exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
#if EXQ_WITH_KDUMPFILE
	v->fd = -1;
#endif
	img->fmt_priv = v;
	st = exq__src_unflatten(img->src, &v->flat, &v->c, &img->err);
	if (st == EXQ_OK)
		*out = v;
	return st;
}

static int looks_kdump(const uint8_t *m)
{
	return memcmp(m, "KDUMP   ", 8) == 0 || memcmp(m, "DISKDUMP", 8) == 0;
}

/* A flattened stream (fmt_elf.c has had its look at those holding an ELF
 * core) or a file starting like a kdump file. */
static exq_status kdump_probe_top(exq_image *img)
{
	uint8_t m[8];
	struct vmc *v = NULL;
	exq_status st;
	int flat = exq__src_is_flat(img->src);
	if (!flat && img->src->size >= 16 && img->src->size < 4096 &&
	    exq__src_read(img->src, 0, m, 8, &img->err) == EXQ_OK &&
	    memcmp(m, "makedump", 8) == 0) {
		uint8_t sig[16];
		if (exq__src_read(img->src, 0, sig, 16, &img->err) == EXQ_OK &&
		    memcmp(sig, "makedumpfile\0\0\0\0", 16) == 0) {
			img->info.dump_type = "kdump";
			return exq__err_set(&img->err, EXQ_CORRUPT,
					    "a flattened makedumpfile stream cut "
					    "short: %llu bytes, inside its 4 KiB "
					    "header (truncated?)",
					    (unsigned long long)img->src->size);
		}
	}
	if (flat) {
		if (exq__src_flat_peek(img->src, m, 8) && !looks_kdump(m))
			return EXQ__NOPROBE;
	} else if (img->src->size < 8 ||
		   exq__src_read(img->src, 0, m, 8, &img->err) ||
		   !looks_kdump(m)) {
		return EXQ__NOPROBE;
	}
	st = vmc_start(img, &v);
	if (st != EXQ_OK)
		return st;
	st = kdump_probe(img, v->c, v);
	if (st == EXQ__NOPROBE && flat &&
	    (exq__src_read(v->c, 0, m, 8, &img->err) ||
	     memcmp(m, "\x7f" "ELF", 4) != 0))
		return exq__err_set(&img->err, EXQ_UNSUPPORTED,
				    "the flattened stream holds neither a "
				    "kdump nor an ELF core");
	return st;
}

const struct exq__format exq__fmt_kdump = {"kdump", kdump_probe_top,
					    vmc_read_page, vmc_close, NULL};
