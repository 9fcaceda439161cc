/* SPDX-License-Identifier: MIT */
/*
 * mkbad — writes the malformed-input corpus (tests/malformed/MANIFEST,
 * run by tests/golden/corpus.sh) into OUTDIR.
 *
 *   mkbad OUTDIR
 *
 * Every file is generated (nothing binary is committed): Windows dump
 * headers cut at each field boundary or claiming more than the file
 * (runs, bitmaps, 2^40 pages), raw memory with page tables that point at
 * themselves, outside the image or into loops, generated Windows worlds
 * (tests/unit/tlib_win.c) whose lists, UNICODE_STRINGs and export
 * directory lie, and gzip members that end early or lie about sizes.
 * Cases that tests/golden/malformed.sh (mkfixture --corrupt) and the unit
 * tests already cover are not repeated. libc and zlib only: this is the
 * input side, independent of libexq.
 */
#include "../unit/tlib_dump.c"
#include "../unit/tlib_win.c"
#include "../unit/tlib_win_queues.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *outdir;

static void die(const char *what)
{
	fprintf(stderr, "mkbad: %s\n", what);
	exit(2);
}

static void out(const char *name, const uint8_t *b, size_t n)
{
	char path[1024];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f || (n && fwrite(b, 1, n, f) != n) || fclose(f) != 0)
		die(path);
}

#define H32 t_hdr_generic32
#define H64 t_hdr_generic64
static const exq_run RUNS[] = {{1, 2}, {0x10, 1}};
static const uint64_t PFNS[] = {1, 2, 0x10};

/* "NAME.cut-0xN" for each boundary below len. */
static void cuts(const char *name, const uint8_t *b, size_t len,
		 const size_t *at, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		char nm[128];
		if (at[i] >= len)
			continue;
		snprintf(nm, sizeof(nm), "%s.cut-0x%zx", name, at[i]);
		out(nm, b, at[i]);
	}
}

/* --------------------------------------------- headers cut and lying */

static void headers(void)
{
	/* PAGEDUMP: signature, version, DTB, ..., PhysicalMemoryBlock
	 * (NumberOfRuns 0x64, NumberOfPages 0x68, run 0 0x6C, run 1 0x74),
	 * DumpType 0xF88, end of header, inside the body. */
	static const size_t c32[] = {4,	     8,	     0x10,   0x64,  0x68,
				     0x6C,   0x74,   0x7C,   0xF88, 0xFFF,
				     0x1000, 0x1800, 0x2000, 0x3000};
	static const size_t c64[] = {8,	    0x88,   0x90,   0x98,   0xA8,  0xB8,
				     0xF98, 0x1FFF, 0x2000, 0x3000, 0x4000};
	/* SUMMARY_DUMP32 at 0x1000: SDMP, DUMP, HeaderSize 0x0C, BitmapSize
	 * 0x10, Pages 0x14, bitmap 0x20; bitmap dump at 0x2000: FirstPage
	 * 0x20, Pages 0x28, BitmapSize 0x30, bitmap 0x38. */
	static const size_t ck[] = {0x1004, 0x1008, 0x100C, 0x1010, 0x1014,
				    0x1020, 0x1021, 0x2000, 0x3000};
	static const size_t cb[] = {0x2004, 0x2008, 0x2020, 0x2028, 0x2030,
				    0x2038, 0x2039, 0x3000, 0x4000};
	/* SUMMARY_DUMP64 at 0x2000 (DumpType 2 on PAGEDU64): the same 32-bit
	 * fields as SUMMARY_DUMP32, SizeOfBitMap 0x18, bitmap 0x28. */
	static const size_t ck64[] = {0x2004, 0x200C, 0x2014, 0x2028, 0x2029,
				      0x3000, 0x4000};
	/* A cut past the headers (inside the pages) is a truncated dump, not
	 * a lie (DESIGN §8): it opens with a warning, the rest is NODATA. */
	uint8_t *b;
	size_t n;

	b = t_make_full(&H32, RUNS, 2, &n);
	cuts("dmp32-full", b, n, c32, sizeof(c32) / sizeof(c32[0]));
	t_put32(b + 0x64, 0xFFFFFFFFu); /* NumberOfRuns */
	out("dmp32-full.runs-4g", b, n);
	t_put32(b + 0x64, 2);
	t_put32(b + 0x6C, 0x10); /* run 0 == run 1: duplicate base */
	out("dmp32-full.runs-duplicate", b, n);
	t_put32(b + 0x6C, 0x20); /* run 0 after run 1: unsorted, disjoint */
	out("dmp32-full.runs-unsorted", b, n);
	t_put32(b + 0x6C, 1);
	t_put32(b + 0x70, 0xFFFFFFFFu); /* PageCount 2^32-1: overlaps run 1 */
	out("dmp32-full.run-pages-4g", b, n);
	free(b);

	b = t_make_full(&H64, RUNS, 2, &n);
	cuts("dmp64-full", b, n, c64, sizeof(c64) / sizeof(c64[0]));
	t_put64(b + 0xA0, 1ull << 40); /* run 0 PageCount 2^40: past 2^52 */
	out("dmp64-full.run-pages-2e40", b, n);
	t_put64(b + 0xA0, 2);
	t_put64(b + 0x98, 1ull << 40); /* run 0 at page 2^40 (PA 2^52) */
	t_put64(b + 0xA8, (1ull << 40) + 8);
	out("dmp64-full.run-base-2e40", b, n);
	t_put64(b + 0x98, 1);
	t_put64(b + 0xA8, 0x10);
	t_put64(b + 0x90, 1ull << 40); /* NumberOfPages 2^40, runs fine */
	out("dmp64-full.npages-2e40", b, n);
	t_put64(b + 0x90, 3);
	t_put32(b + 0x88, 0xFFFFFFFFu);
	out("dmp64-full.runs-4g", b, n);
	free(b);

	b = t_make_bitmap(&H32, 2, PFNS, 3, 0x20, &n);
	cuts("dmp32-kernel", b, n, ck, sizeof(ck) / sizeof(ck[0]));
	t_put32(b + 0x1010, 0xFFFFFFFFu); /* BitmapSize */
	out("dmp32-kernel.bitmap-4g", b, n);
	t_put32(b + 0x1010, 0x20);
	t_put32(b + 0x1014, 0xFFFFFFFFu); /* Pages */
	out("dmp32-kernel.pages-4g", b, n);
	t_put32(b + 0x1014, 3);
	memset(b + 0x1020, 0xFF, 4); /* 32 bits set, 3 pages stored */
	out("dmp32-kernel.bitmap-more-bits", b, n);
	free(b);

	b = t_make_bitmap(&H64, 2, PFNS, 3, 0x20, &n);
	cuts("dmp64-kernel", b, n, ck64, sizeof(ck64) / sizeof(ck64[0]));
	t_put32(b + 0x2010, 0xFFFFFFFFu); /* BitmapSize */
	out("dmp64-kernel.bitmap-4g", b, n);
	t_put32(b + 0x2010, 0x20);
	t_put32(b + 0x200C, 0x2028); /* HeaderSize: the bitmap's own offset */
	out("dmp64-kernel.header-size-in-bitmap", b, n);
	t_put32(b + 0x200C, 0x3000);
	memset(b + 0x2028, 0xFF, 4); /* 32 bits set, 3 pages stored */
	out("dmp64-kernel.bitmap-more-bits", b, n);
	free(b);

	b = t_make_bitmap(&H64, 5, PFNS, 3, 0x40, &n);
	cuts("dmp64-bitmap", b, n, cb, sizeof(cb) / sizeof(cb[0]));
	t_put64(b + 0x2030, 1ull << 40); /* BitmapSize 2^40 bits */
	out("dmp64-bitmap.bitmap-2e40", b, n);
	t_put64(b + 0x2030, ~0ull); /* BitmapSize 2^64 - 1: (bits + 7) wraps */
	out("dmp64-bitmap.bitmap-2e64", b, n);
	t_put64(b + 0x2030, 0x40);
	t_put64(b + 0x2028, 1ull << 40); /* Pages 2^40 */
	out("dmp64-bitmap.pages-2e40", b, n);
	t_put64(b + 0x2028, 3);
	t_put64(b + 0x2020, 1ull << 62); /* FirstPage far past the file */
	out("dmp64-bitmap.first-page-2e62", b, n);
	free(b);
}

/* ------------------------------------------------------------- triage */

static void triage(void)
{
	static const size_t ct[] = {0x1000, 0x1040, 0x107F, 0x1080};
	size_t n = 0x3000, hs = 0x1000;
	uint8_t *b = calloc(1, n), *h;
	size_t l;
	if (!b)
		die("out of memory");
	h = t_make_full(&H32, NULL, 0, &l);
	memcpy(b, h, hs);
	free(h);
	t_put32(b + 0xF88, 4);
	t_put32(b + hs + 0x04, (uint32_t)n);
	t_put32(b + hs + 0x08, (uint32_t)(hs + 0x100));
	memcpy(b + hs + 0x100, "TRGD", 4);
	t_put32(b + hs + 0x30, (uint32_t)(hs + 0x400)); /* DriverListOffset */
	t_put32(b + hs + 0x34, 1);
	t_put32(b + hs + 0x400, (uint32_t)(hs + 0x800)); /* name offset */
	t_put32(b + hs + 0x800, 3);
	memcpy(b + hs + 0x804, "a\0b\0c\0", 6);
	cuts("triage32", b, n, ct, sizeof(ct) / sizeof(ct[0]));
	t_put32(b + hs + 0x34, 0xFFFFFFFFu); /* DriverCount */
	out("triage32.drivers-4g", b, n);
	t_put32(b + hs + 0x34, 1);
	t_put32(b + hs + 0x800, 0xFFFFFFFFu); /* name length */
	out("triage32.driver-name-4g", b, n);
	t_put32(b + hs + 0x800, 3);
	t_put32(b + hs + 0x58, (uint32_t)(n - 0x10)); /* KDBG copy at EOF */
	t_put32(b + hs + 0x5C, 0x340);
	t_put32(b + hs + 0x60, 0xFFFFFF00u);  /* DataBlocksOffset */
	t_put32(b + hs + 0x64, 0xFFFFFFFFu);  /* DataBlocksCount */
	t_put32(b + hs + 0x1C, (uint32_t)hs); /* PrcbOffset */
	t_put32(b + hs + 0x20, 0xFFFFFFF0u);  /* ProcessOffset */
	out("triage32.offsets-past-eof", b, n);
	free(b);
}

/* -------------------------------------------------------- page tables */

static void ptables(void)
{
	size_t n = 0x6000;
	uint8_t *m = calloc(1, n);
	if (!m)
		die("out of memory");
	/* x86, PD at 0x1000. PDE[0x200] (VA 0x80000000) -> PT at 0x2000;
	 * PTE[0] -> 0x2000 (the PT itself), PTE[1] -> 0x7FFFF000 (outside
	 * the image), PTE[2] -> 0xFFFFF000 (outside, top of 4 GiB).
	 * PDE[0x201] -> the PD itself (a loop one level deep). */
	t_put32(m + 0x1000 + 4 * 0x200, 0x2000 | 0x63);
	t_put32(m + 0x1000 + 4 * 0x201, 0x1000 | 0x63);
	t_put32(m + 0x2000, 0x2000 | 0x63);
	t_put32(m + 0x2004, 0x7FFFF000u | 0x63);
	t_put32(m + 0x2008, 0xFFFFF000u | 0x63);
	/* x64, PML4 at 0x3000 whose entry 0x1FF names itself at every level
	 * (VA 0xFFFFFFFFFFFFF000 is the PML4); entry 0x100 -> PDPT outside
	 * the image (PA 2^40). */
	t_put64(m + 0x3000 + 8 * 0x1FF, 0x3000 | 0x63);
	t_put64(m + 0x3000 + 8 * 0x100, (1ull << 40) | 0x63);
	/* PAE, PDPT at 0x4000: PDPTE 2 -> PD outside the image; PDPTE 3 ->
	 * the PDPT's own page used as a PD (its entry 0 then acts as a PDE
	 * naming 0x5000... which is zeros: not present). */
	t_put64(m + 0x4000 + 16, 0x80000000ull | 1);
	t_put64(m + 0x4000 + 24, 0x4000 | 1);
	out("pt.raw", m, n);
	free(m);
}

/* ------------------------------------------------------------- worlds */

static struct tw_world *world(void)
{
	struct tw_spec s;
	char err[256];
	struct tw_world *w;
	tw_spec_init(&s, 7601, 1, 0xbad);
	s.phys_size = 16u << 20;
	w = tw_build(&s, err, sizeof(err));
	if (!w)
		die(err);
	return w;
}

static void wput32(struct tw_world *w, uint32_t va, uint32_t v)
{
	uint64_t pa;
	if (tw_vtop(w, va, &pa) != 0)
		die("world VA does not map");
	t_put32(w->mem + pa, v);
}

static void wput16(struct tw_world *w, uint32_t va, uint16_t v)
{
	uint64_t pa;
	if (tw_vtop(w, va, &pa) != 0)
		die("world VA does not map");
	w->mem[pa] = (uint8_t)v;
	w->mem[pa + 1] = (uint8_t)(v >> 8);
}

/* The world as a kernel summary dump (DumpType 2) of the pages it uses. */
static void out_world(const char *name, const struct tw_world *w)
{
	struct t_hdr h;
	uint64_t *pfns = calloc(w->npages, sizeof(*pfns));
	size_t n = 0, len, k, first;
	uint8_t *b;
	if (!pfns)
		die("out of memory");
	memset(&h, 0, sizeof(h));
	h.pae = w->pae;
	h.build = w->build;
	h.dtb = w->dtb;
	h.kdbg = w->kdbg;
	h.modlist = w->module_list;
	h.proclist = w->process_head;
	h.cpus = 2;
	h.bugcheck = w->bugcheck;
	for (k = 0; k < w->npages; k++)
		if (w->used[k] && tw_present(w, k))
			pfns[n++] = k;
	b = t_make_bitmap(&h, 2, pfns, n, w->npages, &len);
	first = len - n * 4096;
	for (k = 0; k < n; k++)
		memcpy(b + first + k * 4096, w->mem + pfns[k] * 4096, 4096);
	out(name, b, len);
	free(b);
	free(pfns);
}

/* A page boundary above the kernel: mapped below, not above. */
static uint32_t edge_of_mapping(const struct tw_world *w)
{
	uint32_t va;
	uint64_t pa;
	for (va = w->kernel_base; va < 0xFFFF0000u; va += 0x1000)
		if (tw_vtop(w, va, &pa) == 0 &&
		    tw_vtop(w, va + 0x1000, &pa) != 0)
			return va + 0x1000;
	die("no edge of a mapping");
	return 0;
}

/* Export directory of the kernel: RVA from the optional header. */
static uint32_t kernel_export_dir(const struct tw_world *w)
{
	uint32_t lfanew = tw_read32(w, w->kernel_base + 0x3C);
	return w->kernel_base + tw_read32(w, w->kernel_base + lfanew + 24 + 96);
}

static void worlds(void)
{
	struct tw_world *w = world();
	const struct tw_queue *D = &w->queues[1];
	uint32_t head = D->va + 0x10, ldr2 = w->modules[2].ldr, ed;
	uint32_t buf;
	out_world("world.ok.dmp", w);

	/* Delayed queue: item 0's Blink names item 1, not the head. */
	wput32(w, D->items[0].va + 4, D->items[1].va);
	out_world("world.item-blink.dmp", w);
	wput32(w, D->items[0].va + 4, head);
	/* EntryListHead.Blink names item 0, not the last item. */
	wput32(w, head + 4, D->items[0].va);
	out_world("world.head-blink.dmp", w);
	wput32(w, head + 4, D->items[D->nitems - 1].va);
	/* Critical queue: the second worker thread's QueueListEntry.Blink
	 * names the ThreadListHead (KQUEUE +0x20), not the first thread. */
	{
		uint32_t th = w->queues[0].va + 0x20, t0 = tw_read32(w, th),
			 t1 = tw_read32(w, t0);
		wput32(w, t1 + 4, th);
		out_world("world.thread-blink.dmp", w);
		wput32(w, t1 + 4, t0);
	}
	/* Dumps taken mid-update (issue 16 item 1): the Delayed queue's
	 * head with Flink = item 0 but Blink = the head (an insert half
	 * done), then Flink = the head but Blink = the last item. */
	wput32(w, head + 4, head);
	out_world("world.head-half-inserted.dmp", w);
	wput32(w, head, head);
	wput32(w, head + 4, D->items[D->nitems - 1].va);
	out_world("world.head-half-removed.dmp", w);
	wput32(w, head, D->items[0].va);
	/* item 0's Flink: 0 (a list through VA 0, unmapped here), then the
	 * KQUEUE's own ThreadListHead (issue 16 items 3 and 4) */
	wput32(w, D->items[0].va, 0);
	out_world("world.item-flink-0.dmp", w);
	wput32(w, D->items[0].va, D->va + 0x20);
	out_world("world.item-flink-into-queue.dmp", w);
	wput32(w, D->items[0].va,
	       D->nitems > 1 ? (uint32_t)D->items[1].va : head);
	/* Module 2's Blink names module 0. */
	wput32(w, ldr2 + 4, w->modules[0].ldr);
	out_world("world.module-blink.dmp", w);
	wput32(w, ldr2 + 4, w->modules[1].ldr);
	/* Module 1's Flink names itself (a one-entry loop). */
	wput32(w, w->modules[1].ldr, w->modules[1].ldr);
	out_world("world.module-self.dmp", w);
	wput32(w, w->modules[1].ldr, ldr2);
	/* Module 2's BaseDllName: Length 0xFFFE (past its page); then a
	 * Buffer 2 bytes before the end of a page whose next one is not
	 * mapped. */
	wput16(w, ldr2 + 0x2C, 0xFFFE);
	wput16(w, ldr2 + 0x2E, 0xFFFE);
	out_world("world.ustr-length.dmp", w);
	buf = tw_read32(w, ldr2 + 0x30);
	wput16(w, ldr2 + 0x2C, 0x40);
	wput32(w, ldr2 + 0x30, edge_of_mapping(w) - 2);
	out_world("world.ustr-unmapped.dmp", w);
	wput32(w, ldr2 + 0x30, buf);
	wput16(w, ldr2 + 0x2C, 0x10);
	/* Kernel export directory: NumberOfFunctions, then NumberOfNames
	 * 0xFFFFFFFF. */
	ed = kernel_export_dir(w);
	{
		uint32_t nf = tw_read32(w, ed + 0x14),
			 nn = tw_read32(w, ed + 0x18);
		wput32(w, ed + 0x14, 0xFFFFFFFFu);
		out_world("world.exports-functions-4g.dmp", w);
		wput32(w, ed + 0x14, nf);
		wput32(w, ed + 0x18, 0xFFFFFFFFu);
		out_world("world.exports-names-4g.dmp", w);
		wput32(w, ed + 0x18, nn);
		wput32(w, ed + 0x14,
		       0x10000); /* within the cap, tables short */
		wput32(w, ed + 0x18, 0x10000);
		out_world("world.exports-names-64k.dmp", w);
		wput32(w, ed + 0x14, nf);
		wput32(w, ed + 0x18, nn);
	}
	tw_free(w);
}

/* --------------------------------------------------------------- gzip */

static uint8_t *gz(const uint8_t *in, size_t len, size_t *n)
{
	return t_gzip(in, len, n);
}

/* 256 MiB of zeros in one member (about 256 KiB): the gzip index's
 * worst case per compressed byte (memory, time). */
static void gz_bomb(const char *name)
{
	static uint8_t zero[1 << 16], o[1 << 16];
	char path[1024];
	z_stream zs;
	FILE *f;
	unsigned i, n = (256u << 20) / sizeof(zero);
	int flush;
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	memset(&zs, 0, sizeof(zs));
	if (!f ||
	    deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		die(path);
	for (i = 0; i < n; i++) {
		flush = i + 1 == n ? Z_FINISH : Z_NO_FLUSH;
		zs.next_in = zero;
		zs.avail_in = sizeof(zero);
		do {
			zs.next_out = o;
			zs.avail_out = sizeof(o);
			deflate(&zs, flush);
			if (fwrite(o, 1, sizeof(o) - zs.avail_out, f) !=
			    sizeof(o) - zs.avail_out)
				die(path);
		} while (zs.avail_out == 0);
	}
	deflateEnd(&zs);
	if (fclose(f) != 0)
		die(path);
}

static void gzips(void)
{
	size_t rawn = 0x3000, n, n2;
	uint8_t *raw = malloc(rawn), *z, *z2, *b;
	size_t k;
	if (!raw)
		die("out of memory");
	for (k = 0; k < rawn / 4096; k++)
		t_fill_page(k, raw + k * 4096);
	z = gz(raw, rawn, &n);
	out("gz.ok.raw.gz", z, n);
	out("gz.no-trailer.raw.gz", z, n - 8);	 /* ends before CRC */
	out("gz.half-trailer.raw.gz", z, n - 4); /* ends before ISIZE */
	out("gz.header-only.raw.gz", z, 10);	 /* member header only */
	z[n - 1] ^= 0x01;			 /* ISIZE + 2^24 */
	out("gz.isize-lies.raw.gz", z, n);
	z[n - 1] ^= 0x01;
	t_put32(z + n - 4, 0x1000); /* ISIZE smaller */
	out("gz.isize-small.raw.gz", z, n);
	t_put32(z + n - 4, (uint32_t)rawn);
	z[n - 8] ^= 0xFF; /* CRC */
	out("gz.crc.raw.gz", z, n);
	z[n - 8] ^= 0xFF;
	/* two members, the second cut in half; then trailing garbage */
	z2 = gz(raw, rawn, &n2);
	b = malloc(n + n2 + 16);
	memcpy(b, z, n);
	memcpy(b + n, z2, n2);
	out("gz.second-member-cut.raw.gz", b, n + n2 / 2);
	memset(b + n, 0x5A, 16);
	out("gz.trailing-garbage.raw.gz", b, n + 16);
	b[n] = 0x1f;
	b[n + 1] = 0x8b; /* a second member that is only a magic */
	out("gz.second-magic-only.raw.gz", b, n + 2);
	free(b);
	free(z2);
	/* zeros after the last member, as tape and block devices pad
	 * (gzip -t and zcat accept them); gzip inside gzip (issue 16 item
	 * 13) */
	b = calloc(1, n + 4096);
	if (!b)
		die("out of memory");
	memcpy(b, z, n);
	out("gz.zero-padded.raw.gz", b, n + 4096);
	free(b);
	z2 = gz(z, n, &n2);
	out("gz.in-gz.raw.gz.gz", z2, n2);
	free(z2);
	free(z);
	gz_bomb("gz.zeros-256m.raw.gz");
	/* an empty member: gzip of zero bytes */
	z = gz(raw, 0, &n);
	out("gz.empty-member.gz", z, n);
	free(z);
	free(raw);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkbad OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	headers();
	triage();
	ptables();
	worlds();
	gzips();
	return 0;
}
