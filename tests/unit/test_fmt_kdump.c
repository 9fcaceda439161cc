/* SPDX-License-Identifier: MIT */
/* VM cores (fmt_elf.c, fmt_kdump.c, fmt_vmnotes.c) and the flattened stream
 * source (src_flat.c): generator-written ELF cores (ELF32, ELF64 with
 * EM_386) read back byte-identical to the memory they hold, by exq's own
 * segment map (memory source) and through libkdumpfile (file source);
 * CR3/CR4 from the QEMU note; damaged notes; flattened streams rebuilt,
 * with overlapping and truncated records; kdump files with checked page
 * descriptors, raw and zlib pages. All of it runs in every build: a
 * WITH_KDUMPFILE=0 build (make test-full) proves that ELF cores and kdump
 * files need no libkdumpfile; with it, libkdumpfile is the oracle of every
 * page exq reads and reads the lzo, snappy and zstd pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>
#if EXQ_WITH_KDUMPFILE
#include <libkdumpfile/kdumpfile.h>
#include <lzo/lzo1x.h>
#include <snappy-c.h>
#include <zstd.h>
#endif

#include "exq_int.h"
#include "tlib.h"

#define PG 4096u
#define NPAGES 64u /* machine size; the core holds [0,16) and [32,48) */

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct bytes *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put_le(struct bytes *b, uint64_t v, int n)
{
	uint8_t t[8];
	for (int i = 0; i < n; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	put(b, t, (size_t)n);
}

static void put_be64(struct bytes *b, uint64_t v)
{
	uint8_t t[8];
	for (int i = 0; i < 8; i++)
		t[i] = (uint8_t)(v >> (56 - 8 * i));
	put(b, t, 8);
}

static uint8_t mem_byte(uint64_t pa)
{
	return (uint8_t)((pa >> 12) * 7 + (pa & 0xfff) * 13 + 1);
}

/* How the QEMU note of vCPU 0 is damaged. */
enum note_case { NOTE_OK, NOTE_SHORT, NOTE_SIZE, NOTE_VERSION, NOTE_TRUNC,
		 NOTE_PAGING_OFF };

static void qemu_note(struct bytes *n, enum note_case c, uint64_t cr3)
{
	uint32_t dsz = c == NOTE_SHORT ? 100 : 440;
	uint8_t d[440];
	memset(d, 0, sizeof(d));
	d[0] = c == NOTE_VERSION ? 2 : 1;
	d[4] = (uint8_t)(c == NOTE_SIZE ? 432 & 0xff : dsz & 0xff);
	d[5] = (uint8_t)((c == NOTE_SIZE ? 432 : dsz) >> 8);
	d[0x88] = 0x37; /* rip */
	d[0x38] = 0x90; /* rsp */
	for (int k = 0; k < 8; k++) {
		uint64_t cr0 = c == NOTE_PAGING_OFF ? 0x11 : 0x80000011;
		d[0x188 + k] = (uint8_t)(cr0 >> (8 * k));
		d[0x1A0 + k] = (uint8_t)(cr3 >> (8 * k));
		d[0x1A8 + k] = (uint8_t)(0x20ull >> (8 * k)); /* CR4.PAE */
	}
	put_le(n, 5, 4);
	put_le(n, c == NOTE_TRUNC ? 0x10000 : dsz, 4);
	put_le(n, 0, 4);
	put(n, "QEMU\0\0\0", 8);
	put(n, d, c == NOTE_TRUNC ? 64 : (dsz + 3) & ~3u);
}

/* An ELF core of NPAGES pages holding [0,16) and [32,48), one QEMU note
 * per vCPU (vCPU 0 with case c, CR3 0x3020 | low flag bits). */
/* A note build_elf appends after the CPU notes when non-empty. */
static struct bytes extra_note;

static struct bytes build_elf(int is64, enum note_case c, unsigned ncpus)
{
	struct bytes b = {0}, notes = {0};
	const uint64_t runs[2][2] = {{0, 16}, {32, 16}};
	uint32_t ehsz = is64 ? 64 : 52, phsz = is64 ? 56 : 32, i;
	uint64_t off;
	for (i = 0; i < ncpus; i++)
		qemu_note(&notes, i ? NOTE_OK : c, 0x3020 + 0x18 + i * 0x1000);
	if (extra_note.len)
		put(&notes, extra_note.p, extra_note.len);
	/* header */
	put(&b, "\x7f" "ELF", 4);
	put_le(&b, is64 ? 2 : 1, 1);
	put_le(&b, 1, 1);
	put_le(&b, 1, 1);
	put(&b, "\0\0\0\0\0\0\0\0\0", 9);
	put_le(&b, 4, 2); /* ET_CORE */
	put_le(&b, 3, 2); /* EM_386 */
	put_le(&b, 1, 4);
	put_le(&b, 0, is64 ? 8 : 4); /* entry */
	put_le(&b, ehsz, is64 ? 8 : 4); /* phoff */
	put_le(&b, 0, is64 ? 8 : 4);    /* shoff */
	put_le(&b, 0, 4);
	put_le(&b, ehsz, 2);
	put_le(&b, phsz, 2);
	put_le(&b, 3, 2); /* phnum */
	put_le(&b, 0, 2);
	put_le(&b, 0, 2);
	put_le(&b, 0, 2);
	off = ehsz + 3 * phsz;
	/* PT_NOTE, then two PT_LOAD (pages at page-aligned offsets) */
	for (i = 0; i < 3; i++) {
		uint64_t fo = i == 0 ? off
			      : ((off + notes.len + PG - 1) / PG) * PG +
					(i == 2 ? 16 * PG : 0);
		uint64_t pa = i ? runs[i - 1][0] * PG : 0;
		uint64_t sz = i ? runs[i - 1][1] * PG : notes.len;
		put_le(&b, i ? 1 : 4, 4);
		if (is64)
			put_le(&b, 0, 4); /* flags */
		put_le(&b, fo, is64 ? 8 : 4);
		put_le(&b, pa, is64 ? 8 : 4); /* vaddr */
		put_le(&b, pa, is64 ? 8 : 4); /* paddr */
		put_le(&b, sz, is64 ? 8 : 4);
		put_le(&b, sz, is64 ? 8 : 4);
		if (!is64)
			put_le(&b, 0, 4);
		put_le(&b, i ? PG : 4, is64 ? 8 : 4);
	}
	put(&b, notes.p, notes.len);
	while (b.len % PG)
		put(&b, "", 1);
	for (i = 0; i < 2; i++)
		for (uint64_t pa = runs[i][0] * PG; pa < (runs[i][0] + runs[i][1]) * PG;
		     pa++) {
			uint8_t v = mem_byte(pa);
			put(&b, &v, 1);
		}
	free(notes.p);
	return b;
}

static int held(uint64_t pfn)
{
	return pfn < 16 || (pfn >= 32 && pfn < 48);
}

static void check_pages(exq_image *img)
{
	uint8_t page[PG], want[PG];
	for (uint64_t pfn = 0; pfn < NPAGES + 2; pfn++) {
		exq_status st = exq_read_phys(img, pfn * PG, page, PG, NULL);
		if (!held(pfn)) {
			assert_int_equal(st, EXQ_NODATA);
			continue;
		}
		assert_int_equal(st, EXQ_OK);
		for (uint32_t i = 0; i < PG; i++)
			want[i] = mem_byte(pfn * PG + i);
		assert_memory_equal(page, want, PG);
	}
}

static int has_warning(exq_image *img, const char *s)
{
	for (size_t i = 0; i < exq_image_warning_count(img); i++)
		if (strstr(exq_image_warning(img, i), s))
			return 1;
	return 0;
}

/* libkdumpfile as the oracle of exq's own ELF and kdump readers: every
 * page exq reads from the file at path, libkdumpfile reads the same
 * (nothing to compare with in a build without it). */
#if EXQ_WITH_KDUMPFILE
static void oracle(const char *path, exq_image *img)
{
	const exq_image_info *in = exq_image_get_info(img);
	kdump_ctx_t *kd = kdump_new();
	FILE *f = fopen(path, "rb");
	uint8_t a[PG], b[PG];
	size_t n = 0;
	assert_non_null(kd);
	assert_non_null(f);
	assert_int_equal(kdump_open_fd(kd, fileno(f)), KDUMP_OK);
	for (size_t r = 0; r < in->nruns; r++)
		for (uint64_t p = 0; p < t_runs(img)[r].page_count; p++) {
			uint64_t pa = (t_runs(img)[r].base_page + p) * PG;
			size_t got = PG;
			if (exq_read_phys(img, pa, a, PG, NULL) != EXQ_OK)
				continue;
			assert_int_equal(kdump_read(kd, KDUMP_MACHPHYSADDR, pa,
						    b, &got),
					 KDUMP_OK);
			assert_int_equal(got, PG);
			assert_memory_equal(a, b, PG);
			n++;
		}
	assert_true(n > 0);
	kdump_free(kd);
	fclose(f);
}
#else
static void oracle(const char *path, exq_image *img)
{
	(void)path;
	(void)img;
}
#endif

static char *write_tmp(const struct bytes *b)
{
	char *path = strdup("/tmp/exq-test-kdump-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->p, b->len), (ssize_t)b->len);
	close(fd);
	return path;
}

static void elf_readback(void **state)
{
	(void)state;
	for (int is64 = 0; is64 < 2; is64++) {
		struct bytes b = build_elf(is64, NOTE_OK, 2);
		char *path = write_tmp(&b);
		for (int via_file = 0; via_file < 2; via_file++) {
			exq_image *img = exq_image_new();
			const exq_image_info *in;
			assert_int_equal(via_file ? exq_image_open_file(img, path)
						  : exq_image_open_mem(img, b.p, b.len),
					 EXQ_OK);
			in = exq_image_get_info(img);
			assert_string_equal(in->format, "elf");
			assert_string_equal(in->dump_type, "elf");
			assert_int_equal(in->nruns, 2);
			assert_int_equal(in->pages_present, 32);
			assert_int_equal(t_runs(img)[1].base_page, 32);
			/* CR3 0x3038: PAE keeps it 32-byte aligned */
			assert_true(in->have & EXQ_HAVE_DTB);
			assert_int_equal(in->dtb, 0x3020);
			assert_string_equal(in->dtb_source, "qemu-note");
			assert_int_equal(in->paging, EXQ_PAGING_PAE);
			assert_int_equal(in->machine, EXQ_MACHINE_X86);
			assert_int_equal(in->cpus, 2);
			assert_int_equal(in->context_pc, 0x37);
			check_pages(img);
			oracle(path, img);
			exq_image_free(img);
		}
		/* vCPU 1's CR3 */
		exq_image *img = exq_image_new();
		exq_image_set_cpu(img, 1);
		assert_int_equal(exq_image_open_mem(img, b.p, b.len), EXQ_OK);
		assert_int_equal(exq_image_get_info(img)->dtb, 0x4020);
		exq_image_free(img);
		img = exq_image_new();
		exq_image_set_cpu(img, 2);
		assert_int_equal(exq_image_open_file(img, path), EXQ_INVALID);
		assert_non_null(strstr(exq_image_error(img), "2 vCPUs"));
		exq_image_free(img);
		unlink(path);
		free(path);
		free(b.p);
	}
}

/* e_phnum PN_XNUM (0xffff): the count is in section header 0's sh_info
 * (gABI); exq follows it, and refuses a section header outside the file
 * or a count past its limit. */
static void elf_pn_xnum(void **state)
{
	(void)state;
	for (int is64 = 0; is64 < 2; is64++) {
		static const struct {
			uint32_t sh_info;
			int shoff_past_eof;
			exq_status want;
			const char *msg;
		} cases[] = {
		    {3, 0, EXQ_OK, NULL},
		    {3, 1, EXQ_CORRUPT, "e_phnum is PN_XNUM but section header 0"},
		    {0x7fffffff, 0, EXQ_LIMIT, "e_phnum 2147483647"},
		};
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			struct bytes b = build_elf(is64, NOTE_OK, 1);
			uint64_t shoff = b.len;
			uint32_t shsz = is64 ? 64 : 40;
			uint8_t sh[64];
			exq_image *img = exq_image_new();
			memset(sh, 0, sizeof(sh));
			memcpy(sh + (is64 ? 44 : 28), &cases[k].sh_info, 4);
			put(&b, sh, shsz);
			if (cases[k].shoff_past_eof)
				shoff = b.len + 0x1000;
			memcpy(b.p + (is64 ? 40 : 32), &shoff, is64 ? 8 : 4);
			memcpy(b.p + (is64 ? 58 : 46), &shsz, 2); /* e_shentsize */
			b.p[is64 ? 56 : 44] = 0xff;		  /* e_phnum */
			b.p[is64 ? 57 : 45] = 0xff;
			assert_int_equal(exq_image_open_mem(img, b.p, b.len),
					 cases[k].want);
			if (cases[k].want == EXQ_OK) {
				assert_string_equal(exq_image_get_info(img)->format,
						    "elf");
				assert_int_equal(exq_image_get_info(img)->nruns, 2);
				check_pages(img);
			} else if (!strstr(exq_image_error(img), cases[k].msg)) {
				fail_msg("ELF%d case %zu: \"%s\" lacks \"%s\"",
					 is64 ? 64 : 32, k, exq_image_error(img),
					 cases[k].msg);
			}
			exq_image_free(img);
			free(b.p);
		}
	}
}

/* QEMU's VMCOREINFO note of a Windows guest (vmcoreinfo device + the
 * guest driver) holds the guest's own dump header: its facts are read
 * through fmt_windmp's field table. */
static void elf_windows_header(void **state)
{
	static const exq_run run = {1, 1};
	size_t len;
	uint8_t *dmp = t_make_full(&t_hdr_generic32, &run, 1, &len);
	(void)state;
	for (int is64 = 0; is64 < 2; is64++) {
		struct bytes b;
		exq_image *img = exq_image_new();
		const exq_image_info *in;
		extra_note = (struct bytes){0};
		put_le(&extra_note, 11, 4);     /* namesz */
		put_le(&extra_note, 0x1000, 4); /* descsz: the PAGEDUMP header */
		put_le(&extra_note, 0, 4);      /* type */
		put(&extra_note, "VMCOREINFO\0\0", 12);
		put(&extra_note, dmp, 0x1000);
		b = build_elf(is64, NOTE_OK, 1);
		assert_int_equal(exq_image_open_mem(img, b.p, b.len), EXQ_OK);
		in = exq_image_get_info(img);
		assert_string_equal(in->format, "elf");
		assert_true(in->have & EXQ_HAVE_BUILD);
		assert_int_equal(in->build, 7601);
		assert_int_equal(in->bugcheck_code, 0xe2);
		assert_int_equal(in->kdbg_va, 0x82b5fdf0);
		assert_int_equal(in->ps_loaded_module_list, 0x82b8c4d0);
		/* DESIGN §5's order: the dump header's DirectoryTableBase (the
		 * System process's) before the running vCPU's CR3 */
		assert_int_equal(in->dtb, 0x185000);
		assert_string_equal(in->dtb_source, "header");
		check_pages(img);
		exq_image_free(img);
		free(b.p);
		free(extra_note.p);
		extra_note = (struct bytes){0};
	}
	free(dmp);
}

static void bad_notes(void **state)
{
	static const struct {
		enum note_case c;
		const char *warning;
	} cases[] = {
		{NOTE_SHORT, "shorter than QEMUCPUState"},
		{NOTE_SIZE, "size field 432 disagrees with the note's descsz 440"},
		{NOTE_VERSION, "QEMUCPUState version 2"},
		{NOTE_TRUNC, "runs past the end of the area"},
		{NOTE_PAGING_OFF, "paging is off (CR0 0x11)"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bytes b = build_elf(1, cases[i].c, 1);
		exq_image *img = exq_image_new();
		assert_int_equal(exq_image_open_mem(img, b.p, b.len), EXQ_OK);
		if (!has_warning(img, cases[i].warning))
			fail_msg("case %zu: no warning '%s'", i, cases[i].warning);
		assert_false(exq_image_get_info(img)->have & EXQ_HAVE_DTB);
		check_pages(img); /* a bad note never hides the memory */
		exq_image_free(img);
		free(b.p);
	}
}

static void bad_elf(void **state)
{
	struct bytes b = build_elf(0, NOTE_OK, 1);
	exq_image *img = exq_image_new();
	(void)state;
	/* truncated: the second PT_LOAD runs past the end */
	assert_int_equal(exq_image_open_mem(img, b.p, b.len - PG), EXQ_CORRUPT);
	assert_non_null(strstr(exq_image_error(img), "PT_LOAD 2"));
	/* not a core (ET_EXEC): not ours; raw takes it */
	b.p[16] = 2;
	assert_int_equal(exq_image_open_mem(img, b.p, b.len), EXQ_OK);
	assert_string_equal(exq_image_get_info(img)->format, "raw");
	b.p[16] = 4;
	b.p[18] = 40; /* EM_ARM */
	assert_int_equal(exq_image_open_mem(img, b.p, b.len), EXQ_UNSUPPORTED);
	exq_image_free(img);
	free(b.p);
}

/* A flattened stream of b in records of `chunk` bytes, in reverse order. */
static struct bytes flatten(const struct bytes *b, size_t chunk)
{
	struct bytes f = {0};
	uint8_t hdr[0x1000];
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "makedumpfile", 12);
	hdr[23] = 1;
	hdr[31] = 1;
	put(&f, hdr, sizeof(hdr));
	size_t n = (b->len + chunk - 1) / chunk;
	for (size_t i = n; i-- > 0;) {
		size_t len = b->len - i * chunk < chunk ? b->len - i * chunk : chunk;
		put_be64(&f, i * chunk);
		put_be64(&f, len);
		put(&f, b->p + i * chunk, len);
	}
	put_be64(&f, UINT64_MAX);
	put_be64(&f, UINT64_MAX);
	return f;
}

static void flat_source(void **state)
{
	struct bytes b = build_elf(1, NOTE_OK, 1), f = flatten(&b, 1000), g;
	exq__source *mem, *flat;
	exq__err e;
	uint8_t *back = malloc(b.len);
	(void)state;
	assert_int_equal(exq__src_mem_open(&mem, f.p, f.len, &e), EXQ_OK);
	assert_true(exq__src_is_flat(mem));
	assert_int_equal(exq__src_flat_open(&flat, mem, 1, &e), EXQ_OK);
	assert_int_equal(flat->size, b.len);
	assert_int_equal(exq__src_flat_nrecords(flat), (b.len + 999) / 1000);
	assert_int_equal(exq__src_read(flat, 0, back, b.len, &e), EXQ_OK);
	assert_memory_equal(back, b.p, b.len);
	assert_int_equal(exq__src_read(flat, 999, back, 3, &e), EXQ_OK);
	assert_memory_equal(back, b.p + 999, 3);
	exq__src_close(flat);

	/* overlap: record 1 (stream order) moved 8 bytes down */
	g.p = malloc(f.len);
	memcpy(g.p, f.p, f.len);
	g.len = f.len;
	{
		size_t r1 = 0x1000 + 16 + 1000 - (b.len % 1000 ? 1000 - b.len % 1000 : 0);
		uint64_t o = 0;
		for (int i = 0; i < 8; i++)
			o = (o << 8) | g.p[r1 + i];
		o -= 8;
		for (int i = 0; i < 8; i++)
			g.p[r1 + i] = (uint8_t)(o >> (56 - 8 * i));
	}
	/* a record that rewrites bytes an earlier one wrote: the later one
	 * wins, as with makedumpfile -R (issue 16; it was refused) */
	assert_int_equal(exq__src_mem_open(&mem, g.p, g.len, &e), EXQ_OK);
	assert_int_equal(exq__src_flat_open(&flat, mem, 1, &e), EXQ_OK);
	{
		/* stream order is chunk n-1, n-2, ...: record 1 is chunk n-2,
		 * now at (n-2)*1000 - 8; chunk n-3 (written later) keeps its
		 * last 8 bytes; 8 bytes before chunk n-1 are a hole */
		size_t nch = (b.len + 999) / 1000, c2 = (nch - 2) * 1000;
		uint8_t w[1016], zero[8] = {0};
		assert_int_equal(exq__src_read(flat, c2 - 8, w, sizeof(w), &e), EXQ_OK);
		assert_memory_equal(w, b.p + c2 - 8, 8);          /* chunk n-3 */
		assert_memory_equal(w + 8, b.p + c2 + 8, 992);    /* chunk n-2, moved */
		assert_memory_equal(w + 1000, zero, 8);           /* the hole */
		assert_memory_equal(w + 1008, b.p + c2 + 1000, 8); /* chunk n-1 */
		assert_int_equal(flat->size, b.len);
	}
	exq__src_close(flat);
	/* truncated inside a record's data; then without the end marker */
	assert_int_equal(exq__src_mem_open(&mem, f.p, f.len - 100, &e), EXQ_OK);
	assert_int_equal(exq__src_flat_open(&flat, mem, 1, &e), EXQ_CORRUPT);
	assert_non_null(strstr(e.msg, "past the end of the stream"));
	assert_int_equal(exq__src_mem_open(&mem, f.p, f.len - 16, &e), EXQ_OK);
	assert_int_equal(exq__src_flat_open(&flat, mem, 1, &e), EXQ_CORRUPT);
	assert_non_null(strstr(e.msg, "no end marker"));
	/* a negative size */
	memcpy(g.p, f.p, f.len);
	g.p[0x1000 + 8] = 0x80;
	assert_int_equal(exq__src_mem_open(&mem, g.p, g.len, &e), EXQ_OK);
	assert_int_equal(exq__src_flat_open(&flat, mem, 1, &e), EXQ_CORRUPT);
	assert_non_null(strstr(e.msg, "record 0 at stream offset 0x1000"));

	/* the whole image through the flattened stream */
	exq_image *img = exq_image_new();
	assert_int_equal(exq_image_open_mem(img, f.p, f.len), EXQ_OK);
	assert_string_equal(exq_image_get_info(img)->format, "elf");
	check_pages(img);
	exq_image_free(img);
	free(back);
	free(g.p);
	free(f.p);
	free(b.p);
}

/* A kdump-compressed file in the 64-bit header layout holding PFNs 1..3
 * uncompressed: header block, sub-header block, two one-block bitmaps,
 * one block of page descriptors, the pages. How it is damaged: */
enum kd_case { KD_OK, KD_DESC_PAST_EOF, KD_TRUNCATED, KD_RAW_SHORT,
	       KD_NEG_OFFSET, KD_DESCS_MISSING, KD_ZLIB, KD_ZLIB_BAD,
	       KD_TWO_METHODS, KD_LZO_NOTES_OUTSIDE, KD_LZO, KD_SNAPPY,
	       KD_ZSTD, KD_LZO_BAD, KD_LZO_FLAG };

/* PFN 2 of build_kdump compressed as kdump case c stores it: its bytes and
 * descriptor flags (0 for a raw page). */
static uLongf kd_compress(enum kd_case c, const uint8_t *page, uint8_t *out,
			  size_t cap, uint32_t *flags)
{
	uLongf n = cap;
#if EXQ_WITH_KDUMPFILE
	size_t sn = cap;
	static uint8_t wrk[LZO1X_1_MEM_COMPRESS];
	lzo_uint ln = cap;
#endif
	switch (c) {
	case KD_ZLIB:
	case KD_ZLIB_BAD:
		assert_int_equal(compress2(out, &n, page, PG, 6), Z_OK);
		*flags = 1;
		return n;
#if EXQ_WITH_KDUMPFILE
	case KD_LZO:
	case KD_LZO_BAD:
		assert_int_equal(lzo_init(), LZO_E_OK);
		assert_int_equal(lzo1x_1_compress(page, PG, out, &ln, wrk),
				 LZO_E_OK);
		*flags = 2;
		return (uLongf)ln;
	case KD_SNAPPY:
		assert_int_equal(snappy_compress((const char *)page, PG,
						 (char *)out, &sn),
				 SNAPPY_OK);
		*flags = 4;
		return (uLongf)sn;
	case KD_ZSTD:
		sn = ZSTD_compress(out, cap, page, PG, 3);
		assert_false(ZSTD_isError(sn));
		*flags = 0x20;
		return (uLongf)sn;
#endif
	default:
		*flags = 0;
		return 0;
	}
}

static int kd_packed(enum kd_case c)
{
	return c == KD_ZLIB || c == KD_ZLIB_BAD || c == KD_LZO || c == KD_LZO_BAD ||
	       c == KD_SNAPPY || c == KD_ZSTD;
}

static struct bytes build_kdump(enum kd_case c)
{
	struct bytes b = {0};
	uint8_t blk[PG];
	uint64_t nstored = c == KD_DESCS_MISSING ? 1000 : 3, mapnr = nstored + 1;
	uint8_t zpage[2 * PG];
	uLongf zlen;
	uint32_t flags = 0, zflags;
	for (uint32_t i = 0; i < PG; i++) /* PFN 2 repeats: it compresses */
		blk[i] = mem_byte(2ull * PG + i % 64);
	zlen = kd_compress(c, blk, zpage, sizeof(zpage), &zflags);
	memset(blk, 0, PG);
	memcpy(blk, "KDUMP   ", 8);
	blk[8] = 6;				/* header_version */
	memcpy(blk + 12, "Linux", 5);		/* utsname.sysname */
	memcpy(blk + 12 + 4 * 65, "x86_64", 6); /* utsname.machine */
	blk[428 + 1] = 0x10;			/* block_size 4096 */
	blk[432] = 1;				/* sub_hdr_size */
	blk[436] = 2;				/* bitmap_blocks */
	blk[440] = 8;				/* max_mapnr */
	blk[460] = 1;				/* nr_cpus */
	put(&b, blk, PG);
	memset(blk, 0, PG);
	memcpy(blk + 96, &mapnr, 8); /* max_mapnr_64 */
	if (c == KD_LZO_NOTES_OUTSIDE) { /* offset_note, size_note */
		uint64_t off = 1ull << 40, size = 0x100;
		memcpy(blk + 48, &off, 8);
		memcpy(blk + 56, &size, 8);
	}
	put(&b, blk, PG);
	for (int half = 0; half < 2; half++) { /* both bitmaps */
		memset(blk, 0, PG);
		for (uint64_t p = 1; p <= nstored; p++)
			blk[p >> 3] |= (uint8_t)(1u << (p & 7));
		put(&b, blk, PG);
	}
	memset(blk, 0, PG);
	for (int i = 0; i < 3; i++) {
		uint64_t off = 5ull * PG + (uint64_t)i * PG;
		uint32_t size = PG;
		if (i == 1 && c == KD_DESC_PAST_EOF)
			off = 64ull * PG;
		if (i == 1 && c == KD_RAW_SHORT)
			size = PG / 2;
		if (i == 1 && c == KD_NEG_OFFSET)
			off = (uint64_t)-4096;
		if (i == 1 && kd_packed(c))
			flags = zflags, size = (uint32_t)zlen;
		if (i == 1 && c == KD_TWO_METHODS)
			flags = 3;
		if (i == 1 && (c == KD_LZO_NOTES_OUTSIDE || c == KD_LZO_FLAG))
			flags = 2; /* lzo, as far as the descriptor says */
		memcpy(blk + 24 * i, &off, 8);
		memcpy(blk + 24 * i + 8, &size, 4);
		memcpy(blk + 24 * i + 12, &flags, 4); /* 0: a raw page */
		flags = 0;
	}
	put(&b, blk, PG);
	for (uint64_t pfn = 1; pfn <= 3; pfn++) {
		if (pfn == 2 && kd_packed(c)) {
			memset(blk, 0, PG); /* the data, then padding */
			memcpy(blk, zpage, zlen);
			if (c == KD_ZLIB_BAD)
				blk[zlen / 2] ^= 0x55;
			if (c == KD_LZO_BAD) /* a match reaching before the start */
				memset(blk, 0xff, zlen);
			put(&b, blk, PG);
			continue;
		}
		if (pfn == 3 && c == KD_TRUNCATED) {
			memset(blk, 0, PG / 2);
			put(&b, blk, PG / 2); /* half of the last page */
			break;
		}
		for (uint32_t i = 0; i < PG; i++)
			blk[i] = mem_byte(pfn * PG + i);
		put(&b, blk, PG);
	}
	return b;
}

/* What build_kdump stores at byte i of PFN pfn. */
static uint8_t kd_byte(enum kd_case c, uint64_t pfn, uint32_t i)
{
	if (pfn == 2 && kd_packed(c))
		return mem_byte(pfn * PG + i % 64);
	return mem_byte(pfn * PG + i);
}

/* Page descriptors are checked before libkdumpfile reads through them: it
 * maps the file, and a descriptor naming bytes past the end of the file
 * was a SIGBUS (found by fuzz_vmcore; tests/fuzz/regress/vmcore). */
static void kdump_descriptors(void **state)
{
	static const struct {
		enum kd_case c;
		uint64_t bad_pfn;
		const char *msg;
	} cases[] = {
	    {KD_OK, 0, NULL},
	    {KD_DESC_PAST_EOF, 2, "kdump page descriptor 1 (PFN 0x2) names "
				  "0x1000 bytes at 0x40000"},
	    {KD_TRUNCATED, 0, "the data of the last page (descriptor 2: "
			      "0x1000 bytes at 0x7000) runs past the end of the "
			      "file (0x7800; truncated?)"},
	    {KD_RAW_SHORT, 2, "names 0x800 bytes at 0x6000 (flags 0x0)"},
	    {KD_NEG_OFFSET, 2, "at 0xfffffffffffff000"},
	    {KD_DESCS_MISSING, 0, "the bitmap marks 1000 pages but the file "
				  "(0x8000 bytes) ends before their page "
				  "descriptors (0x5dc0 bytes at 0x4000; "
				  "truncated?)"},
	    {KD_ZLIB, 0, NULL},
	    {KD_ZLIB_BAD, 2, "zlib bytes at 0x6000 do not inflate to one page"},
	    {KD_TWO_METHODS, 2, "(flags 0x3): not a page inside the file"},
#if EXQ_WITH_KDUMPFILE
	    /* read by libkdumpfile, opened on the first such page */
	    {KD_LZO, 0, NULL},
	    {KD_SNAPPY, 0, NULL},
	    {KD_ZSTD, 0, NULL},
	    /* libkdumpfile cannot decompress it: that page is CORRUPT (it
	     * was exit 5, an internal error; issue 16) */
	    {KD_LZO_BAD, 2, "libkdumpfile: reading PA 0x2000"},
	    {KD_LZO_NOTES_OUTSIDE, 2,
	     "PFN 0x2 is compressed (flags 0x2) in a way only libkdumpfile "
	     "reads, and it cannot read this file: the sub-header's notes "
	     "area (0x100 bytes at 0x10000000000) is not inside the file"},
#endif
	};
	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct bytes b = build_kdump(cases[k].c);
		char *path = write_tmp(&b);
		for (int via_file = 0; via_file < 2; via_file++) {
			exq_image *img = exq_image_new();
			uint8_t page[PG], want[PG];
			exq_status ost = via_file ? exq_image_open_file(img, path)
						  : exq_image_open_mem(img, b.p,
								       b.len);
			if (cases[k].c == KD_TRUNCATED ||
			    cases[k].c == KD_DESCS_MISSING) {
				/* cut files are refused (DESIGN §8: exit 3) */
				assert_int_equal(ost, EXQ_CORRUPT);
				if (!strstr(exq_image_error(img), cases[k].msg))
					fail_msg("case %zu: \"%s\" lacks \"%s\"",
						 k, exq_image_error(img),
						 cases[k].msg);
				exq_image_free(img);
				continue;
			}
			assert_int_equal(ost, EXQ_OK);
			assert_string_equal(exq_image_get_info(img)->format,
					    "kdump");
			assert_int_equal(has_warning(img, "notes area"),
					 cases[k].c == KD_LZO_NOTES_OUTSIDE);
			for (uint64_t pfn = 1; pfn <= 3; pfn++) {
				exq_status st = exq_read_phys(img, pfn * PG, page,
							      PG, NULL);
				if (pfn == cases[k].bad_pfn) {
					assert_int_equal(st, EXQ_CORRUPT);
					continue;
				}
				assert_int_equal(st, EXQ_OK);
				for (uint32_t i = 0; i < PG; i++)
					want[i] = kd_byte(cases[k].c, pfn, i);
				assert_memory_equal(page, want, PG);
			}
			if (!cases[k].bad_pfn)
				oracle(path, img);
			if (cases[k].msg &&
			    !strstr(exq_image_error(img), cases[k].msg))
				fail_msg("case %zu: error \"%s\" lacks \"%s\"", k,
					 exq_image_error(img), cases[k].msg);
			exq_image_free(img);
		}
		unlink(path);
		free(path);
		free(b.p);
	}
}

/* Headers libkdumpfile reads otherwise than exq (fmt_kdump.c,
 * kd_check_view): exq reads the file all the same, and a page only
 * libkdumpfile reads fails with the reason instead of libkdumpfile being
 * handed the file. The first is fuzz_vmcore's: a 64-bit file whose
 * timestamp (tv_usec 0x100) and status (lzo) read as a 32-bit big-endian
 * header with 64 KiB blocks, libkdumpfile's first choice, whose page
 * bitmap is 1 TiB at 1 TiB (it allocated 8 GiB of cache entries for it).
 * The last is a split dump whose descriptors both count from PFN 1. */
#if EXQ_WITH_KDUMPFILE
#define KD_VIEW_BASE KD_LZO
#else
#define KD_VIEW_BASE KD_LZO_FLAG
#endif
static void kdump_libkdumpfile_view(void **state)
{
	static const struct {
		struct {
			uint32_t at;
			uint64_t val;
			int n;
		} set[3];
		/* appended: a VMCOREINFO note the sub-header names, or with
		 * header_version 3 the vmcoreinfo area itself */
		const char *vmcoreinfo;
		int v3;
		const char *msg; /* NULL: libkdumpfile reads PFN 2 */
	} cases[] = {
	    {.set = {{416, 0x100, 8}, {424, 2, 4}},
	     .msg = "it cannot read this file: libkdumpfile would read the "
		    "header as 32-bit big-endian (block_size 0x10000, "
		    "bitmap_blocks 0x2000000), exq reads it as 64-bit "
		    "little-endian"},
	    {.set = {{8, 0x80000006u, 4}},
	     .msg = "header_version 0x80000006 is negative to libkdumpfile"},
	    {.set = {{PG + 96, 0x8001, 8}}, /* max_mapnr_64 */
	     .msg = "libkdumpfile would read both bitmaps as one: max_mapnr "
		    "0x8001 (the sub-header's max_mapnr_64) is more than one "
		    "holds (0x8000 pages)"},
	    {.set = {{PG + 12, 1, 4}, {PG + 80, 2, 8}, {PG + 88, 4, 8}},
	     .msg = "a split dump from PFN 0x2: libkdumpfile counts page "
		    "descriptors from there, exq from PFN 0 (PFN 0x1 is below "
		    "it)"},
	    {.set = {{PG + 12, 1, 4}, {PG + 80, 1, 8}, {PG + 88, 4, 8}}},
	    /* a page size from VMCOREINFO: 1024 pages of it for its cache */
	    {.vmcoreinfo = "OSRELEASE=6.1.0\nPAGESIZE=65536\n",
	     .msg = "the VMCOREINFO note's PAGESIZE 65536 would be "
		    "libkdumpfile's page size (a cache of 1024 such pages), "
		    "not block_size 4096"},
	    {.vmcoreinfo = "PAGESIZE=1073741824", .v3 = 1,
	     .msg = "the vmcoreinfo area's PAGESIZE 1073741824 would be"},
	    {.vmcoreinfo = "OSRELEASE=6.1.0\nPAGESIZE=4096\n"},
	};
	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct bytes b = build_kdump(KD_VIEW_BASE);
		char *path;
		for (size_t j = 0; j < 3 && cases[k].set[j].n; j++)
			for (int i = 0; i < cases[k].set[j].n; i++)
				b.p[cases[k].set[j].at + (uint32_t)i] =
				    (uint8_t)(cases[k].set[j].val >> (8 * i));
		if (cases[k].vmcoreinfo) {
			uint64_t off = b.len, len;
			size_t n = strlen(cases[k].vmcoreinfo);
			if (!cases[k].v3) {
				put_le(&b, 11, 4);
				put_le(&b, n, 4);
				put_le(&b, 0, 4);
				put(&b, "VMCOREINFO\0\0", 12);
			}
			put(&b, cases[k].vmcoreinfo, n);
			while (!cases[k].v3 && (b.len - off) % 4)
				put(&b, "", 1);
			len = b.len - off;
			b.p[8] = cases[k].v3 ? 3 : 6; /* header_version */
			memcpy(b.p + PG + (cases[k].v3 ? 32 : 48), &off, 8);
			memcpy(b.p + PG + (cases[k].v3 ? 40 : 56), &len, 8);
		}
		path = write_tmp(&b);
		for (int via_file = 0; via_file < 2; via_file++) {
			exq_image *img = exq_image_new();
			uint8_t page[PG];
			exq_status st;
			assert_int_equal(via_file ? exq_image_open_file(img, path)
						  : exq_image_open_mem(img, b.p,
								       b.len),
					 EXQ_OK);
			assert_string_equal(exq_image_get_info(img)->format,
					    "kdump");
			assert_int_equal(exq_image_get_info(img)->pages_present,
					 3);
			for (uint64_t pfn = 1; pfn <= 3; pfn += 2) {
				assert_int_equal(exq_read_phys(img, pfn * PG, page,
							       PG, NULL),
						 EXQ_OK);
				for (uint32_t i = 0; i < PG; i++)
					assert_int_equal(page[i],
							 kd_byte(KD_VIEW_BASE,
								 pfn, i));
			}
			st = exq_read_phys(img, 2 * PG, page, PG, NULL);
			if (cases[k].msg) {
				assert_int_equal(st, EXQ_CORRUPT);
				if (!strstr(exq_image_error(img), cases[k].msg) ||
				    strstr(exq_image_error(img),
					   "libkdumpfile cannot read"))
					fail_msg("case %zu: \"%s\" lacks \"%s\"",
						 k, exq_image_error(img),
						 cases[k].msg);
			} else {
#if EXQ_WITH_KDUMPFILE
				assert_int_equal(st, EXQ_OK);
				for (uint32_t i = 0; i < PG; i++)
					assert_int_equal(page[i],
							 kd_byte(KD_VIEW_BASE,
								 2, i));
#else
				assert_int_equal(st, EXQ_DEP);
#endif
			}
			exq_image_free(img);
		}
		unlink(path);
		free(path);
		free(b.p);
	}
}

/* QEMU's own flattened kdump-zlib file (fixtures/qemu; tests run from the
 * repository root), when present. */
static void qemu_kdump(void **state)
{
	exq_image *img = exq_image_new();
	const exq_image_info *in;
	uint8_t pdpt[32];
	(void)state;
	if (access("fixtures/qemu/qemu.kdump.gz", R_OK) != 0) {
		exq_image_free(img);
		skip();
	}
	assert_int_equal(exq_image_open_file(img, "fixtures/qemu/qemu.kdump.gz"),
			 EXQ_OK);
	in = exq_image_get_info(img);
	assert_string_equal(in->format, "kdump");
	assert_int_equal(in->dtb, 0x185000);
	assert_int_equal(in->paging, EXQ_PAGING_PAE);
	assert_int_equal(exq_read_phys(img, 0x185000, pdpt, 32, NULL), EXQ_OK);
	assert_int_equal(exq__le64(pdpt + 8), 0x187001);
	exq_image_free(img);
	/* QEMU's files, uncompressed: every page exq reads (its own ELF
	 * segment map, its own zlib pages of the flattened kdump) equals
	 * what libkdumpfile reads. */
	static const char *const qf[] = {"fixtures/qemu/qemu.kdump.gz",
					 "fixtures/qemu/qemu.elf.gz"};
	for (size_t i = 0; i < 2; i++) {
		gzFile z = gzopen(qf[i], "rb");
		struct bytes b = {0};
		uint8_t buf[65536];
		int n;
		char *path;
		assert_non_null(z);
		while ((n = gzread(z, buf, sizeof(buf))) > 0)
			put(&b, buf, (size_t)n);
		assert_int_equal(n, 0);
		gzclose(z);
		if (b.len > 16 && memcmp(b.p, "makedumpfile", 12) == 0) {
			/* libkdumpfile 0.5.1 does not read flattened streams:
			 * lay the records out as the regular file. */
			struct bytes r = {0};
			size_t at = PG;
			for (;;) {
				uint64_t off = 0, size = 0;
				assert_true(at + 16 <= b.len);
				for (int k = 0; k < 8; k++) {
					off = off << 8 | b.p[at + k];
					size = size << 8 | b.p[at + 8 + k];
				}
				at += 16;
				if (off == UINT64_MAX)
					break;
				assert_true(size <= b.len - at);
				if (off + size > r.len) {
					size_t old = r.len;
					r.len = off;
					put(&r, b.p + at, size);
					if (old < off)
						memset(r.p + old, 0, off - old);
				}
				memcpy(r.p + off, b.p + at, size);
				at += size;
			}
			free(b.p);
			b = r;
		}
		path = write_tmp(&b);
		img = exq_image_new();
		assert_int_equal(exq_image_open_file(img, path), EXQ_OK);
		assert_int_equal(exq_image_get_info(img)->dtb, 0x185000);
		oracle(path, img);
		exq_image_free(img);
		unlink(path);
		free(path);
		free(b.p);
	}
}

#if EXQ_WITH_KDUMPFILE
/* Bytes of memory held by the memfd copy exq makes for libkdumpfile (its
 * allocated blocks, found through /proc/self/fd), 0 when there is none. */
static uint64_t memfd_bytes(void)
{
	char link[64], target[256];
	uint64_t total = 0;
	for (int fd = 3; fd < 1024; fd++) {
		struct stat st;
		ssize_t n;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "memfd:exq-vmcore") && fstat(fd, &st) == 0)
			total += (uint64_t)st.st_blocks * 512;
	}
	return total;
}

/* A flattened kdump of 0.04 MB whose last record lies at 1 GiB (issue 16
 * item 10): the copy libkdumpfile reads (its lzo page) holds the bytes the
 * stream holds, not the 1 GiB it spans: zero stretches stay holes. */
static void memfd_copy_bounded(void **state)
{
	struct bytes b = build_kdump(KD_LZO), f = {0};
	uint8_t hdr[0x1000], far[16], page[PG], want[PG];
	exq_image *img = exq_image_new();
	uint64_t held;
	(void)state;
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "makedumpfile", 12);
	hdr[23] = 1;
	hdr[31] = 1;
	put(&f, hdr, sizeof(hdr));
	put_be64(&f, 0);
	put_be64(&f, b.len);
	put(&f, b.p, b.len);
	memset(far, 0xa5, sizeof(far));
	put_be64(&f, (1ull << 30) - sizeof(far)); /* ends at 1 GiB */
	put_be64(&f, sizeof(far));
	put(&f, far, sizeof(far));
	put_be64(&f, UINT64_MAX);
	put_be64(&f, UINT64_MAX);
	assert_true(f.len < 64 * 1024);
	assert_int_equal(exq_image_open_mem(img, f.p, f.len), EXQ_OK);
	assert_string_equal(exq_image_get_info(img)->format, "kdump");
	assert_int_equal(memfd_bytes(), 0); /* not before a page needs it */
	assert_int_equal(exq_read_phys(img, 2 * PG, page, PG, NULL), EXQ_OK);
	for (uint32_t i = 0; i < PG; i++)
		want[i] = kd_byte(KD_LZO, 2, i);
	assert_memory_equal(page, want, PG);
	held = memfd_bytes();
	/* the kdump's chunk and the last one, at COPY_CHUNK (1 MiB) grain */
	if (held == 0 || held > (4u << 20))
		fail_msg("the in-memory copy holds 0x%llx bytes for a stream of "
			 "0x%zx", (unsigned long long)held, f.len);
	exq_image_free(img);
	assert_int_equal(memfd_bytes(), 0);
	free(f.p);
	free(b.p);
}
#endif

#if !EXQ_WITH_KDUMPFILE
/* Without libkdumpfile, a kdump file is read all the same; only a page
 * compressed in a way exq leaves to libkdumpfile fails, as a missing
 * dependency (DEP), and the pages around it still read. */
static void kdump_no_kdumpfile(void **state)
{
	struct bytes b = build_kdump(KD_LZO_FLAG);
	exq_image *img = exq_image_new();
	uint8_t page[PG];
	(void)state;
	assert_int_equal(exq_image_open_mem(img, b.p, b.len), EXQ_OK);
	assert_string_equal(exq_image_get_info(img)->format, "kdump");
	for (uint64_t pfn = 1; pfn <= 3; pfn++) {
		exq_status st = exq_read_phys(img, pfn * PG, page, PG, NULL);
		if (pfn == 2) {
			assert_int_equal(st, EXQ_DEP);
			assert_non_null(strstr(exq_image_error(img),
					       "PFN 0x2 is compressed with lzo, "
					       "snappy or zstd"));
			assert_non_null(strstr(exq_image_error(img),
					       "WITH_KDUMPFILE=0"));
			continue;
		}
		assert_int_equal(st, EXQ_OK);
		for (uint32_t i = 0; i < PG; i++)
			assert_int_equal(page[i], kd_byte(KD_LZO_FLAG, pfn, i));
	}
	exq_image_free(img);
	free(b.p);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(elf_readback),
		cmocka_unit_test(elf_pn_xnum),
		cmocka_unit_test(elf_windows_header),
		cmocka_unit_test(bad_notes),
		cmocka_unit_test(bad_elf),
		cmocka_unit_test(qemu_kdump),
		cmocka_unit_test(kdump_descriptors),
		cmocka_unit_test(kdump_libkdumpfile_view),
		cmocka_unit_test(flat_source),
#if EXQ_WITH_KDUMPFILE
		cmocka_unit_test(memfd_copy_bounded),
#endif
#if !EXQ_WITH_KDUMPFILE
		cmocka_unit_test(kdump_no_kdumpfile),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
