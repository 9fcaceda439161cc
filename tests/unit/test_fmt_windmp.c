/* SPDX-License-Identifier: MIT */
/* Windows crash dumps (PAGEDUMP / PAGEDU64): full, summary, bitmap,
 * triage; every malformed header gives a precise error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exq_int.h"
#include "tlib.h"

static const struct t_hdr H32 = {0, 1, 7601, 0x185000, 0x82b5fdf0, 0x82b8c4d0,
				 0x82b84e98, 0x84000000, 2, 0xE2,
				 {1, 2, 3, 4}, 0x01d5c03669a6c000ull};
static const struct t_hdr H64 = {1, 0, 19041, 0x1ad000, 0xfffff8047c600b20ull,
				 0xfffff8047c62a390ull, 0xfffff8047c61e200ull,
				 0xfffff8047c6fc500ull, 16, 0x1000007e,
				 {0xffffffffc0000005ull, 2, 3, 4}, 0x01d5c03669a6c000ull};

static const exq_run RUNS[] = {{1, 0x9e}, {0x100, 0x40}, {0x200, 3}};

static exq_image *open_buf(const uint8_t *b, size_t len, exq_status want)
{
	exq_image *img = exq_image_new();
	assert_non_null(img);
	assert_int_equal(exq_image_open_mem(img, b, len), want);
	return img;
}

/* Every page of every run reads back as its own content; pages outside
 * the runs are NODATA. */
static void check_pages(exq_image *img, const exq_run *runs, size_t n)
{
	uint8_t want[4096], got[8192];
	size_t i, done;
	for (i = 0; i < n; i++) {
		uint64_t p;
		for (p = 0; p < runs[i].page_count; p++) {
			uint64_t pfn = runs[i].base_page + p;
			t_fill_page(pfn, want);
			assert_int_equal(exq_read_phys(img, pfn << 12, got, 4096, NULL), EXQ_OK);
			assert_memory_equal(got, want, 4096);
		}
		/* the page after the run is a hole in RUNS */
		assert_int_equal(exq_read_phys(img, (runs[i].base_page + runs[i].page_count) << 12,
					       got, 16, &done), EXQ_NODATA);
		assert_int_equal(done, 0);
	}
	/* a read straddling two pages of run 1 */
	assert_int_equal(exq_read_phys(img, (0x100ull << 12) + 4000, got, 200, NULL), EXQ_OK);
	t_fill_page(0x100, want);
	assert_memory_equal(got, want + 4000, 96);
	t_fill_page(0x101, want);
	assert_memory_equal(got + 96, want, 104);
	/* a read running off the end of a run reports the part it read */
	assert_int_equal(exq_read_phys(img, (0x13full << 12) + 4000, got, 200, &done), EXQ_NODATA);
	assert_int_equal(done, 96);
	assert_non_null(strstr(exq_image_error(img), "0x140"));
}

static void full32(void **state)
{
	size_t len;
	uint8_t *b = t_make_full(&H32, RUNS, 3, &len);
	exq_image *img = open_buf(b, len, EXQ_OK);
	const exq_image_info *in = exq_image_get_info(img);
	(void)state;
	assert_string_equal(in->format, "windmp32");
	assert_string_equal(in->dump_type, "full");
	assert_int_equal(in->machine, EXQ_MACHINE_X86);
	assert_int_equal(in->paging, EXQ_PAGING_PAE);
	assert_true(in->have & EXQ_HAVE_DTB);
	assert_int_equal(in->dtb, 0x185000);
	assert_string_equal(in->dtb_source, "header");
	assert_int_equal(in->build, 7601);
	assert_int_equal(in->cpus, 2);
	assert_int_equal(in->bugcheck_code, 0xE2);
	assert_int_equal(in->bugcheck_params[3], 4);
	assert_int_equal(in->kdbg_va, 0x82b5fdf0);
	assert_int_equal(in->ps_loaded_module_list, 0x82b8c4d0);
	assert_int_equal(in->system_time, 0x01d5c03669a6c000ull);
	assert_int_equal(in->nruns, 3);
	assert_int_equal(in->pages_present, 0x9e + 0x40 + 3);
	assert_int_equal(t_runs(img)[1].base_page, 0x100);
	assert_false(in->have & EXQ_HAVE_PRODUCT); /* PAGE fill = absent */
	assert_int_equal(exq_image_warning_count(img), 0);
	check_pages(img, RUNS, 3);
	exq_image_free(img);
	free(b);
}

static void full64_unsorted_runs(void **state)
{
	static const exq_run r[] = {{0x200, 3}, {1, 0x9e}, {0x100, 0x40}};
	size_t len;
	uint8_t *b = t_make_full(&H64, r, 3, &len);
	exq_image *img = open_buf(b, len, EXQ_OK);
	const exq_image_info *in = exq_image_get_info(img);
	(void)state;
	assert_string_equal(in->format, "windmp64");
	assert_int_equal(in->machine, EXQ_MACHINE_X64);
	assert_int_equal(in->paging, EXQ_PAGING_X64);
	assert_int_equal(in->dtb, 0x1ad000);
	assert_int_equal(in->bugcheck_params[0], 0xffffffffc0000005ull);
	assert_int_equal(in->kdbg_va, 0xfffff8047c600b20ull);
	assert_int_equal(t_runs(img)[0].base_page, 1); /* reported sorted */
	check_pages(img, RUNS, 3);
	exq_image_free(img);
	free(b);
}

static void gzip_wrapped(void **state)
{
	size_t len, glen;
	uint8_t *b = t_make_full(&H32, RUNS, 3, &len);
	uint8_t *g = t_gzip(b, len, &glen);
	exq_image *img = open_buf(g, glen, EXQ_OK);
	(void)state;
	assert_true(exq_image_get_info(img)->gzip);
	assert_int_equal(exq_image_get_info(img)->image_size, len);
	check_pages(img, RUNS, 3);
	exq_image_free(img);
	free(g);
	free(b);
}

static void bitmap_kinds(void **state)
{
	static const uint64_t pfns[] = {0x100, 0x101, 0x102, 0x103, 0x104, 0x105,
					0x106, 0x107, 0x108, 0x109, 0x10a, 0x10b,
					0x10c, 0x10d, 0x10e, 0x10f, 0x110, 0x111,
					0x112, 0x113, 0x114, 0x115, 0x116, 0x117,
					0x118, 0x119, 0x11a, 0x11b, 0x11c, 0x11d,
					0x11e, 0x11f, 0x120, 0x121, 0x122, 0x123,
					0x124, 0x125, 0x126, 0x127, 0x128, 0x129,
					0x12a, 0x12b, 0x12c, 0x12d, 0x12e, 0x12f,
					0x130, 0x131, 0x132, 0x133, 0x134, 0x135,
					0x136, 0x137, 0x138, 0x139, 0x13a, 0x13b,
					0x13c, 0x13d, 0x13e, 0x13f, 1, 2, 3, 0x200,
					0x201, 0x202, 0x1005};
	static const struct { int wide; uint32_t type; const char *name; } k[] = {
		{0, 2, "kernel"}, {0, 5, "bitmap"}, {0, 6, "bitmap-kernel"},
		{1, 2, "kernel"}, {1, 5, "bitmap"}, {1, 6, "bitmap-kernel"}};
	size_t i, n = sizeof(pfns) / sizeof(pfns[0]);
	(void)state;
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		size_t len, j;
		uint8_t *b = t_make_bitmap(k[i].wide ? &H64 : &H32, k[i].type, pfns,
					   n, 0x2000, &len);
		exq_image *img = open_buf(b, len, EXQ_OK);
		const exq_image_info *in = exq_image_get_info(img);
		uint8_t want[4096], got[4096];
		assert_string_equal(in->dump_type, k[i].name);
		assert_int_equal(in->dump_type_code, k[i].type);
		assert_string_equal(in->format, k[i].wide ? "windmp64" : "windmp32");
		assert_int_equal(exq_image_warning_count(img), 0);
		assert_int_equal(in->pages_present, n);
		assert_int_equal(in->nruns, 4); /* 1-3, 0x100-0x13f, 0x200-0x202, 0x1005 */
		assert_int_equal(t_runs(img)[1].base_page, 0x100);
		assert_int_equal(t_runs(img)[1].page_count, 0x40);
		for (j = 0; j < n; j++) {
			t_fill_page(pfns[j], want);
			assert_int_equal(exq_read_phys(img, pfns[j] << 12, got, 4096, NULL), EXQ_OK);
			assert_memory_equal(got, want, 4096);
		}
		assert_int_equal(exq_read_phys(img, 0, got, 1, NULL), EXQ_NODATA);
		assert_int_equal(exq_read_phys(img, 0x1004ull << 12, got, 1, NULL), EXQ_NODATA);
		assert_int_equal(exq_read_phys(img, 0x5000ull << 12, got, 1, NULL), EXQ_NODATA);
		exq_image_free(img);
		free(b);
	}
}

static void expect_corrupt(const uint8_t *b, size_t len, exq_status want,
			   const char *fragment)
{
	exq_image *img = open_buf(b, len, want);
	if (!strstr(exq_image_error(img), fragment))
		fail_msg("error '%s' does not name '%s'", exq_image_error(img), fragment);
	assert_null(exq_image_get_info(img));
	exq_image_free(img);
}

static void malformed_full(void **state)
{
	static const exq_run overlap[] = {{1, 0x10}, {0x8, 0x10}};
	size_t len;
	uint8_t *b = t_make_full(&H32, RUNS, 3, &len);
	(void)state;
	/* truncated header */
	expect_corrupt(b, 0x800, EXQ_CORRUPT, "header");
	/* NumberOfRuns beyond what the header holds */
	t_put32(b + 0x64, 1000);
	expect_corrupt(b, len, EXQ_CORRUPT, "NumberOfRuns 1000");
	/* zero runs */
	t_put32(b + 0x64, 0);
	expect_corrupt(b, len, EXQ_CORRUPT, "no pages");
	free(b);
	/* overlapping runs */
	b = t_make_full(&H32, overlap, 2, &len);
	expect_corrupt(b, len, EXQ_CORRUPT, "overlap");
	free(b);
	/* 64-bit: a 2^40-page run from page 1 ends past 2^52: a lie, not a
	 * truncation */
	b = t_make_full(&H64, RUNS, 3, &len);
	t_put64(b + 0xA0, 1ull << 40);
	expect_corrupt(b, len, EXQ_CORRUPT, "past the 52-bit physical address space");
	/* a run whose end wraps 2^64 */
	t_put64(b + 0x98, ~0ull);
	expect_corrupt(b, len, EXQ_CORRUPT, "past the 52-bit");
	free(b);
	/* PhysicalMemoryBlock left as PAGE fill */
	b = t_make_full(&H32, RUNS, 3, &len);
	memcpy(b + 0x64, "PAGE", 4);
	expect_corrupt(b, len, EXQ_CORRUPT, "PhysicalMemoryBlock");
	/* unknown dump type */
	t_put32(b + t_off_dumptype(0), 77);
	expect_corrupt(b, len, EXQ_UNSUPPORTED, "DumpType 77");
	free(b);
}

static void numberofpages_mismatch_warns(void **state)
{
	size_t len;
	uint8_t *b = t_make_full(&H32, RUNS, 3, &len);
	exq_image *img;
	(void)state;
	t_put32(b + 0x68, 0x7fe86);
	img = open_buf(b, len, EXQ_OK);
	assert_int_equal(exq_image_warning_count(img), 1);
	assert_non_null(strstr(exq_image_warning(img, 0), "NumberOfPages 0x7fe86"));
	exq_image_free(img);
	free(b);
}

static void malformed_bitmap(void **state)
{
	static const uint64_t pfns[] = {1, 2, 3, 9};
	size_t len;
	uint8_t *b;
	(void)state;
	/* bitmap runs past the end of the file */
	b = t_make_bitmap(&H64, 5, pfns, 4, 64, &len);
	t_put64(b + 0x2030, 1ull << 36);
	expect_corrupt(b, len, EXQ_CORRUPT, "BitmapSize");
	free(b);
	b = t_make_bitmap(&H32, 5, pfns, 4, 64, &len);
	/* FirstPage inside the bitmap */
	t_put64(b + 0x1020, 0x1038);
	expect_corrupt(b, len, EXQ_CORRUPT, "FirstPage 0x1038");
	t_put64(b + 0x1020, 0x2000);
	/* zero-size bitmap */
	t_put64(b + 0x1030, 0);
	expect_corrupt(b, len, EXQ_CORRUPT, "BitmapSize is 0");
	/* signature missing */
	t_put64(b + 0x1030, 64);
	memcpy(b + 0x1000, "XXXX", 4);
	expect_corrupt(b, len, EXQ_CORRUPT, "signature");
	free(b);
	/* header Pages disagreeing with the bitmap is a warning */
	b = t_make_bitmap(&H32, 2, pfns, 4, 64, &len);
	t_put32(b + 0x1014, 99);
	{
		exq_image *img = open_buf(b, len, EXQ_OK);
		assert_int_equal(exq_image_warning_count(img), 1);
		exq_image_free(img);
	}
	free(b);
}


/* SUMMARY_DUMP64 (Windows 7 x64's "kernel memory dump"): 32-bit fields
 * HeaderSize +0xC, BitmapSize +0x10, Pages +0x14, SizeOfBitMap +0x18,
 * bits at 0x2028 — not the BMP_DUMP_HEADER layout of DumpType 5/6. */
static void summary64(void **state)
{
	static const uint64_t pfns[] = {0, 1, 2, 0x3f, 0x40, 0x41, 0x7f, 0x80,
					0x1234};
	size_t len, n = sizeof(pfns) / sizeof(pfns[0]), j;
	uint8_t *b = t_make_bitmap(&H64, 2, pfns, n, 0x1300, &len);
	uint8_t want[4096], got[4096];
	exq_image *img;
	const exq_image_info *in;
	(void)state;
	/* the bytes themselves: bit 0x40 is byte 8 bit 0 after 0x2028 */
	assert_int_equal(b[0x2028 + 8] & 1, 1);
	assert_int_equal(t_off_dumptype(1), 0xF98);
	img = open_buf(b, len, EXQ_OK);
	in = exq_image_get_info(img);
	assert_string_equal(in->format, "windmp64");
	assert_string_equal(in->dump_type, "kernel");
	assert_int_equal(in->dump_type_code, 2);
	assert_int_equal(in->machine, EXQ_MACHINE_X64);
	assert_int_equal(in->dtb, 0x1ad000);
	assert_int_equal(in->pages_present, n);
	assert_int_equal(in->nruns, 4); /* 0-2, 0x3f-0x41, 0x7f-0x80, 0x1234 */
	assert_int_equal(t_runs(img)[1].base_page, 0x3f);
	assert_int_equal(t_runs(img)[1].page_count, 3);
	assert_int_equal(t_runs(img)[3].base_page, 0x1234);
	assert_int_equal(exq_image_warning_count(img), 0);
	for (j = 0; j < n; j++) {
		t_fill_page(pfns[j], want);
		assert_int_equal(exq_read_phys(img, pfns[j] << 12, got, 4096, NULL), EXQ_OK);
		assert_memory_equal(got, want, 4096);
	}
	assert_int_equal(exq_read_phys(img, 3ull << 12, got, 8, NULL), EXQ_NODATA);
	assert_int_equal(exq_read_phys(img, 0x1235ull << 12, got, 8, NULL), EXQ_NODATA);
	exq_image_free(img);

	/* SizeOfBitMap disagreeing is a warning; Pages too */
	t_put32(b + 0x2018, 0x1400);
	t_put32(b + 0x2014, 7);
	img = open_buf(b, len, EXQ_OK);
	assert_int_equal(exq_image_warning_count(img), 2);
	assert_non_null(strstr(exq_image_warning(img, 0), "SizeOfBitMap 0x1400"));
	assert_non_null(strstr(exq_image_warning(img, 1), "Pages 0x7 disagrees with the 0x9"));
	exq_image_free(img);
	/* HeaderSize (u32 at +0xC) inside the bitmap */
	t_put32(b + 0x200C, 0x2030);
	expect_corrupt(b, len, EXQ_CORRUPT, "HeaderSize 0x2030");
	t_put32(b + 0x200C, 0x3000);
	/* BitmapSize (u32 at +0x10) past the end of the file */
	t_put32(b + 0x2010, 0xFFFFFFF0u);
	expect_corrupt(b, len, EXQ_CORRUPT, "BitmapSize 0xfffffff0 bits");
	t_put32(b + 0x2010, 0x1300);
	/* signature */
	memcpy(b + 0x2000, "FDMP", 4);
	expect_corrupt(b, len, EXQ_CORRUPT, "SDMP/DUMP");
	memcpy(b + 0x2000, "SDMP", 4);
	/* the header alone, cut inside SUMMARY_DUMP64 */
	expect_corrupt(b, 0x2020, EXQ_CORRUPT, "summary dump header at 0x2000");
	free(b);
}

/* Truncated dumps (DESIGN §8): open with a warning naming how many pages
 * are present; the pages past the end are NODATA. */
static void expect_truncated(exq_image *img, uint64_t present, uint64_t total)
{
	char want[96];
	size_t i, found = 0;
	snprintf(want, sizeof(want), "dump truncated: 0x%llx of 0x%llx pages present",
		 (unsigned long long)present, (unsigned long long)total);
	for (i = 0; i < exq_image_warning_count(img); i++)
		found += strstr(exq_image_warning(img, i), want) != NULL;
	if (found != 1)
		fail_msg("no warning '%s' (%zu warnings, first '%s')", want,
			 exq_image_warning_count(img),
			 exq_image_warning_count(img) ? exq_image_warning(img, 0) : "");
	assert_int_equal(exq_image_get_info(img)->pages_present, present);
}

static void page_is(exq_image *img, uint64_t pfn, exq_status want_st)
{
	uint8_t want[4096], got[4096];
	assert_int_equal(exq_read_phys(img, pfn << 12, got, 4096, NULL), want_st);
	if (want_st == EXQ_OK) {
		t_fill_page(pfn, want);
		assert_memory_equal(got, want, 4096);
	}
}

static void truncated_full(void **state)
{
	/* header order = file order: 0x200+3, then 1+0x9e, then 0x100+0x40 */
	static const exq_run r[] = {{0x200, 3}, {1, 0x9e}, {0x100, 0x40}};
	size_t len, k;
	(void)state;
	for (k = 0; k < 2; k++) {
		const struct t_hdr *h = k ? &H64 : &H32;
		uint64_t hs = k ? 0x2000 : 0x1000;
		uint8_t *b = t_make_full(h, r, 3, &len);
		exq_image *img;
		const exq_image_info *in;
		/* cut 0x10 pages into run 1, plus half a page */
		img = open_buf(b, hs + (3 + 0x10) * 4096 + 2048, EXQ_OK);
		in = exq_image_get_info(img);
		expect_truncated(img, 3 + 0x10, 3 + 0x9e + 0x40);
		assert_int_equal(in->nruns, 2);
		assert_int_equal(t_runs(img)[0].base_page, 1);
		assert_int_equal(t_runs(img)[0].page_count, 0x10);
		assert_int_equal(t_runs(img)[1].base_page, 0x200);
		page_is(img, 0x200, EXQ_OK);
		page_is(img, 0x202, EXQ_OK);
		page_is(img, 1, EXQ_OK);
		page_is(img, 0x10, EXQ_OK);
		page_is(img, 0x11, EXQ_NODATA); /* the half page */
		page_is(img, 0x9e, EXQ_NODATA);
		page_is(img, 0x100, EXQ_NODATA);
		exq_image_free(img);
		/* cut right after the header: nothing present, still opens */
		img = open_buf(b, hs, EXQ_OK);
		expect_truncated(img, 0, 3 + 0x9e + 0x40);
		assert_int_equal(exq_image_get_info(img)->nruns, 0);
		page_is(img, 0x200, EXQ_NODATA);
		exq_image_free(img);
		/* the whole file: no warning */
		img = open_buf(b, len, EXQ_OK);
		assert_int_equal(exq_image_warning_count(img), 0);
		exq_image_free(img);
		free(b);
	}
	/* a 32-bit run of 2^32-1 pages is a (very) truncated dump, not a lie */
	{
		uint8_t *b = t_make_full(&H32, RUNS, 3, &len);
		exq_image *img;
		t_put32(b + 0x80, 0xFFFFFFFF); /* run 2: 0x200 + 2^32-1 pages */
		img = open_buf(b, len, EXQ_OK);
		expect_truncated(img, 0x9e + 0x40 + 3, 0x9e + 0x40 + 0xFFFFFFFFull);
		page_is(img, 0x202, EXQ_OK);
		page_is(img, 0x203, EXQ_NODATA);
		exq_image_free(img);
		free(b);
	}
}

static void truncated_bitmaps(void **state)
{
	static const uint64_t pfns[] = {1, 2, 3, 0x40, 0x41, 0x100, 0x1005};
	static const struct { int wide; uint32_t type; } k[] = {
		{0, 2}, {0, 5}, {1, 2}, {1, 5}, {1, 6}};
	size_t i, n = sizeof(pfns) / sizeof(pfns[0]);
	(void)state;
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		size_t len, j;
		uint8_t *b = t_make_bitmap(k[i].wide ? &H64 : &H32, k[i].type, pfns,
					   n, 0x1100, &len);
		uint64_t first = len - n * 4096;
		exq_image *img = open_buf(b, len - 4096 - 100, EXQ_OK);
		expect_truncated(img, n - 2, n);
		assert_int_equal(exq_image_get_info(img)->nruns, 2); /* 1-3, 0x40-0x41 */
		for (j = 0; j < n; j++)
			page_is(img, pfns[j], j < n - 2 ? EXQ_OK : EXQ_NODATA);
		exq_image_free(img);
		/* a cut inside a run splits it */
		img = open_buf(b, first + 2 * 4096, EXQ_OK);
		expect_truncated(img, 2, n);
		assert_int_equal(exq_image_get_info(img)->nruns, 1);
		assert_int_equal(t_runs(img)[0].page_count, 2);
		page_is(img, 2, EXQ_OK);
		page_is(img, 3, EXQ_NODATA);
		exq_image_free(img);
		/* cut at the first page: opens, holds nothing */
		img = open_buf(b, first, EXQ_OK);
		expect_truncated(img, 0, n);
		page_is(img, 1, EXQ_NODATA);
		exq_image_free(img);
		/* cut inside the bitmap: still refused */
		expect_corrupt(b, (k[i].wide ? 0x2000u : 0x1000u) +
				       (k[i].type == 2 ? (k[i].wide ? 0x28u : 0x20u) : 0x38u) + 0x10,
			       EXQ_CORRUPT, "runs past the end of the file");
		free(b);
	}
}


/* exq__page_ref: a dump in memory is read in place (no copy), a gzip'd one
 * through the page cache; both give the page's bytes; pages not stored
 * are NODATA. */
static void page_ref_in_place(void **state)
{
	size_t len, glen;
	uint8_t *b = t_make_full(&H32, RUNS, 3, &len);
	uint8_t *g = t_gzip(b, len, &glen);
	uint8_t want[4096];
	const uint8_t *p, *q;
	exq_image *img = open_buf(b, len, EXQ_OK), *gz = open_buf(g, glen, EXQ_OK);
	(void)state;
	/* run 1 (0x100) starts after the header and run 0's 0x9e pages */
	assert_int_equal(exq__page_ref(img, 0x101, &p), EXQ_OK);
	assert_ptr_equal(p, b + 0x1000 + (0x9e + 1) * 4096);
	t_fill_page(0x101, want);
	assert_memory_equal(p, want, 4096);
	assert_int_equal(exq__page_ref(img, 0x201, &p), EXQ_OK); /* another run */
	assert_ptr_equal(p, b + 0x1000 + (0x9e + 0x40 + 1) * 4096);
	assert_int_equal(exq__page_ref(img, 0x9f, &p), EXQ_NODATA);
	assert_int_equal(exq__page_ref(gz, 0x101, &q), EXQ_OK);
	assert_true(q < g || q >= g + glen);
	assert_memory_equal(q, want, 4096);
	exq_image_free(img);
	/* truncated in memory: the cut page is not pointed at */
	img = open_buf(b, 0x1000 + 0x10 * 4096 + 100, EXQ_OK);
	assert_int_equal(exq__page_ref(img, 0x10, &p), EXQ_OK);
	assert_int_equal(exq__page_ref(img, 0x11, &p), EXQ_NODATA);
	exq_image_free(img);
	exq_image_free(gz);
	free(g);
	free(b);
}

static void not_a_dump(void **state)
{
	uint8_t small[100];
	exq_image *img;
	(void)state;
	memset(small, 0x41, sizeof(small));
	expect_corrupt(small, sizeof(small), EXQ_CORRUPT, "whole 4 KiB page");
	expect_corrupt(small, 0, EXQ_CORRUPT, "0 bytes");
	/* a forced format that does not match */
	img = exq_image_new();
	assert_int_equal(exq_image_set_format(img, "windmp64"), EXQ_OK);
	assert_int_equal(exq_image_open_mem(img, small, sizeof(small)), EXQ_UNSUPPORTED);
	assert_int_equal(exq_image_set_format(img, "nonsense"), EXQ_INVALID);
	exq_image_free(img);
}

static void overrides(void **state)
{
	size_t len;
	uint8_t *b = t_make_full(&H32, RUNS, 3, &len);
	exq_image *img = exq_image_new();
	(void)state;
	assert_int_equal(exq_image_set_dtb(img, 0x39000), EXQ_OK);
	assert_int_equal(exq_image_set_paging(img, EXQ_PAGING_X86), EXQ_OK);
	assert_int_equal(exq_image_open_mem(img, b, len), EXQ_OK);
	assert_int_equal(exq_image_get_info(img)->dtb, 0x39000);
	assert_string_equal(exq_image_get_info(img)->dtb_source, "override");
	assert_int_equal(exq_image_get_info(img)->paging, EXQ_PAGING_X86);
	exq_image_free(img);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full32),
		cmocka_unit_test(full64_unsorted_runs),
		cmocka_unit_test(gzip_wrapped),
		cmocka_unit_test(bitmap_kinds),
		cmocka_unit_test(malformed_full),
		cmocka_unit_test(numberofpages_mismatch_warns),
		cmocka_unit_test(malformed_bitmap),
		cmocka_unit_test(summary64),
		cmocka_unit_test(truncated_full),
		cmocka_unit_test(truncated_bitmaps),
		cmocka_unit_test(page_ref_in_place),
		cmocka_unit_test(not_a_dump),
		cmocka_unit_test(overrides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
