/* SPDX-License-Identifier: MIT */
/* PE parsing over a virtual-memory callback: images built here byte by
 * byte (offsets from the PE/COFF specification, independent of pe.c),
 * served from a buffer whose pages can be marked missing. */
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

/* ------------------------------------------------------ image builder */

#define IMG_SIZE 0x8000u
#define LFANEW 0x80u
#define OPT (LFANEW + 24u)
#define EXP 0x4000u	  /* export directory */
#define EXP_LIMIT 0x6c00u /* end of the space for it */
#define DBG 0x6c00u	  /* debug directory */
#define RSDS 0x6c40u
#define BASE32 0x80400000ull
#define BASE64 0xfffff80000000000ull

struct texp {
	const char *name; /* NULL: exported by ordinal only */
	uint32_t rva;	  /* ignored when fwd is set */
	const char *fwd;  /* forwarder string */
};

struct tpe {
	uint8_t *buf;
	uint32_t funcs, names, ords, strings; /* RVAs of the tables */
	uint64_t base;
};


static void section(uint8_t *b, int i, const char *name, uint32_t rva,
		    uint32_t vsize, uint32_t ch)
{
	uint8_t *s = b + OPT + 240 + i * 40; /* opt size is 240 in both */
	memcpy(s, name, strlen(name));
	t_put32(s + 8, vsize);
	t_put32(s + 12, rva);
	t_put32(s + 16, vsize);
	t_put32(s + 36, ch);
}

static void headers(uint8_t *b, int plus, uint64_t base)
{
	b[0] = 'M';
	b[1] = 'Z';
	t_put32(b + 0x3c, LFANEW);
	memcpy(b + LFANEW, "PE\0\0", 4);
	t_put16(b + LFANEW + 4, plus ? 0x8664 : 0x14c);
	t_put16(b + LFANEW + 6, 3);
	t_put32(b + LFANEW + 8, 0x4a5bc60f);
	t_put16(b + LFANEW + 20, 240); /* PE32: 224 used, padding allowed */
	t_put16(b + OPT, plus ? 0x20b : 0x10b);
	if (plus)
		t_put64(b + OPT + 24, base);
	else
		t_put32(b + OPT + 28, (uint32_t)base);
	t_put32(b + OPT + 56, IMG_SIZE);
	t_put32(b + OPT + 60, 0x400);
	t_put32(b + OPT + (plus ? 108 : 92), 16);
	section(b, 0, ".text", 0x1000, 0x2000, 0x60000020);
	section(b, 1, ".data", 0x3000, 0x1000, 0xc0000040);
	section(b, 2, ".rdata", 0x4000, 0x4000, 0x40000040);
}

static uint32_t dirs_at(int plus)
{
	return OPT + (plus ? 112 : 96);
}

static uint32_t put_str(uint8_t *b, uint32_t *at, const char *s)
{
	uint32_t r = *at;
	size_t n = strlen(s) + 1;
	assert_true(*at + n <= EXP_LIMIT);
	memcpy(b + *at, s, n);
	*at += (uint32_t)n;
	return r;
}

static void exports(struct tpe *t, const struct texp *e, size_t n,
		    uint32_t dirs)
{
	uint8_t *b = t->buf;
	uint32_t nn = 0, at, i;
	for (i = 0; i < n; i++)
		nn += e[i].name != NULL;
	t->funcs = EXP + 40;
	t->names = t->funcs + 4 * (uint32_t)n;
	t->ords = t->names + 4 * nn;
	at = t->strings = t->ords + 2 * nn;
	t_put32(b + EXP + 12, put_str(b, &at, "ntkrnlpa.exe"));
	t_put32(b + EXP + 16, 1);
	t_put32(b + EXP + 20, (uint32_t)n);
	t_put32(b + EXP + 24, nn);
	t_put32(b + EXP + 28, t->funcs);
	t_put32(b + EXP + 32, t->names);
	t_put32(b + EXP + 36, t->ords);
	for (i = 0, nn = 0; i < n; i++) {
		uint32_t rva = e[i].fwd ? put_str(b, &at, e[i].fwd) : e[i].rva;
		t_put32(b + t->funcs + 4 * i, rva);
		if (!e[i].name)
			continue;
		t_put32(b + t->names + 4 * nn, put_str(b, &at, e[i].name));
		t_put16(b + t->ords + 2 * nn, (uint16_t)i);
		nn++;
	}
	t_put32(b + dirs, EXP);
	t_put32(b + dirs + 4, at - EXP);
}

static void codeview(uint8_t *b, uint32_t dirs)
{
	static const uint8_t guid[16] = {0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a,
					 0xf0, 0xde, 0x01, 0x23, 0x45, 0x67,
					 0x89, 0xab, 0xcd, 0xef};
	const char *pdb = "ntkrpamp.pdb";
	t_put32(b + dirs + 6 * 8, DBG);
	t_put32(b + dirs + 6 * 8 + 4, 28);
	t_put32(b + DBG + 12, 2);
	t_put32(b + DBG + 16, 24 + (uint32_t)strlen(pdb) + 1);
	t_put32(b + DBG + 20, RSDS);
	memcpy(b + RSDS, "RSDS", 4);
	memcpy(b + RSDS + 4, guid, 16);
	t_put32(b + RSDS + 20, 3);
	memcpy(b + RSDS + 24, pdb, strlen(pdb) + 1);
}

static struct tpe build(int plus, const struct texp *e, size_t n)
{
	struct tpe t;
	memset(&t, 0, sizeof(t));
	t.buf = calloc(1, IMG_SIZE);
	assert_non_null(t.buf);
	t.base = plus ? BASE64 : BASE32;
	headers(t.buf, plus, t.base);
	if (e)
		exports(&t, e, n, dirs_at(plus));
	codeview(t.buf, dirs_at(plus));
	return t;
}

/* The standard export set: sorted names, a forwarder, an ordinal-only
 * function, data exports, and an unused slot. */
static const struct texp std_exp[] = {
    {"ExQueueWorkItem", 0x1100, NULL},
    {"KeBugCheck", 0x1200, NULL},
    {"KeNumberProcessors", 0x3010, NULL},
    {"NtBuildNumber", 0x3020, NULL},
    {"RtlFoo", 0, "HAL.RtlFoo"},
    {"ZwLast", 0x1800, NULL},
    {NULL, 0x1400, NULL},
    {NULL, 0, NULL},
};
#define NSTD (sizeof(std_exp) / sizeof(std_exp[0]))

/* ---------------------------------------------------- memory callback */

struct tmem {
	uint64_t base;
	const uint8_t *buf;
	size_t size;
	uint8_t missing[IMG_SIZE / EXQ__PAGE_SIZE];
	size_t maxlen;
	unsigned reads;
};

static exq_status vread(void *ctx, uint64_t va, void *buf, size_t len)
{
	struct tmem *m = ctx;
	uint64_t off, p;
	m->reads++;
	if (len > m->maxlen)
		m->maxlen = len;
	if (va < m->base || va - m->base > m->size ||
	    len > m->size - (va - m->base))
		return EXQ_NOTPRESENT;
	off = va - m->base;
	for (p = off / EXQ__PAGE_SIZE;
	     len && p <= (off + len - 1) / EXQ__PAGE_SIZE; p++)
		if (m->missing[p])
			return EXQ_NODATA;
	memcpy(buf, m->buf + off, len);
	return EXQ_OK;
}

static struct tmem mem_of(const struct tpe *t)
{
	struct tmem m;
	memset(&m, 0, sizeof(m));
	m.base = t->base;
	m.buf = t->buf;
	m.size = IMG_SIZE;
	return m;
}

static exq_status open_t(struct tmem *m, exq__pe **pe, exq__err *e)
{
	exq__err_clear(e);
	return exq__pe_open(pe, vread, m, m->base, e);
}

/* --------------------------------------------------------------- tests */

static void check_std(exq__pe *pe, uint64_t base)
{
	uint64_t va;
	int fwd;
	assert_int_equal(pe->size_of_image, IMG_SIZE);
	assert_int_equal(pe->timestamp, 0x4a5bc60f);
	assert_int_equal(pe->nsections, 3);
	assert_string_equal(pe->sections[0].name, ".text");
	assert_int_equal(pe->sections[0].rva, 0x1000);
	assert_int_equal(pe->sections[0].vsize, 0x2000);
	assert_int_equal(pe->sections[0].characteristics, 0x60000020);
	assert_string_equal(pe->sections[2].name, ".rdata");
	assert_true(pe->has_exports);
	assert_string_equal(pe->dll_name, "ntkrnlpa.exe");
	assert_int_equal(pe->ordinal_base, 1);
	assert_int_equal(pe->nfunctions, NSTD);
	assert_int_equal(pe->nnames, 6);
	assert_int_equal(pe->export_rva, EXP);
	assert_int_equal(pe->cv_status, EXQ_OK);
	assert_string_equal(pe->pdb_name, "ntkrpamp.pdb");
	assert_string_equal(pe->pdb_guid,
			    "12345678-9ABC-DEF0-0123-456789ABCDEF");
	assert_int_equal(pe->pdb_age, 3);
	assert_int_equal(pe->names_sorted, -1);
	assert_int_equal(exq__pe_export(pe, "KeBugCheck", &va, &fwd), EXQ_OK);
	assert_true(va == base + 0x1200);
	assert_int_equal(fwd, 0);
	assert_int_equal(pe->names_sorted, 1);
	assert_int_equal(exq__pe_export(pe, "ExQueueWorkItem", &va, &fwd),
			 EXQ_OK);
	assert_true(va == base + 0x1100);
	assert_int_equal(exq__pe_export(pe, "NtBuildNumber", &va, NULL),
			 EXQ_OK);
	assert_true(va == base + 0x3020);
	assert_int_equal(exq__pe_export(pe, "ZwLast", &va, &fwd), EXQ_OK);
	assert_true(va == base + 0x1800);
	assert_int_equal(exq__pe_export(pe, "RtlFoo", &va, &fwd), EXQ_OK);
	assert_int_equal(fwd, 1);
	assert_true(va > base + EXP && va < base + EXP + pe->export_size);
	va = 7;
	assert_int_equal(exq__pe_export(pe, "Nope", &va, &fwd), EXQ_NOTFOUND);
	assert_int_equal(va, 7);
	assert_non_null(strstr(pe->err.msg, "'Nope'"));
	assert_int_equal(exq__pe_export(pe, "AAA", &va, &fwd), EXQ_NOTFOUND);
	assert_int_equal(exq__pe_export(pe, "zzz", &va, &fwd), EXQ_NOTFOUND);
	assert_true(exq__pe_in_writable_section(pe, base + 0x3010));
	assert_false(exq__pe_in_writable_section(pe, base + 0x1100));
	assert_false(exq__pe_in_writable_section(pe, base + 0x4100));
	assert_false(exq__pe_in_writable_section(pe, base - 1));
	assert_false(exq__pe_in_writable_section(pe, base + IMG_SIZE));
}

static void pe32_basic(void **state)
{
	struct tpe t = build(0, std_exp, NSTD);
	struct tmem m = mem_of(&t);
	exq__pe *pe;
	exq__err e;
	(void)state;
	assert_int_equal(open_t(&m, &pe, &e), EXQ_OK);
	assert_int_equal(pe->pe32plus, 0);
	assert_int_equal(pe->machine, EXQ_MACHINE_X86);
	assert_int_equal(pe->machine_raw, 0x14c);
	assert_true(pe->image_base == BASE32);
	check_std(pe, BASE32);
	assert_true(m.maxlen <= 1024); /* small pieces */
	exq__pe_free(pe);
	exq__pe_free(NULL);
	free(t.buf);
}

static void pe32plus_basic(void **state)
{
	struct tpe t = build(1, std_exp, NSTD);
	struct tmem m = mem_of(&t);
	exq__pe *pe;
	exq__err e;
	(void)state;
	assert_int_equal(open_t(&m, &pe, &e), EXQ_OK);
	assert_int_equal(pe->pe32plus, 1);
	assert_int_equal(pe->machine, EXQ_MACHINE_X64);
	assert_true(pe->image_base == BASE64);
	check_std(pe, BASE64);
	exq__pe_free(pe);
	free(t.buf);
}

static void unsorted_names(void **state)
{
	static const struct texp ex[] = {
	    {"Zeta", 0x1300, NULL},  {"Alpha", 0x1100, NULL},
	    {"Mid", 0x1200, NULL},   {"Beta", 0x1150, NULL},
	    {"Omega", 0x1400, NULL},
	};
	struct tpe t = build(0, ex, 5);
	struct tmem m = mem_of(&t);
	exq__pe *pe;
	exq__err e;
	uint64_t va;
	size_t i;
	(void)state;
	assert_int_equal(open_t(&m, &pe, &e), EXQ_OK);
	for (i = 0; i < 5; i++) {
		assert_int_equal(exq__pe_export(pe, ex[i].name, &va, NULL),
				 EXQ_OK);
		assert_true(va == BASE32 + ex[i].rva);
	}
	assert_int_equal(pe->names_sorted, 0);
	assert_int_equal(exq__pe_export(pe, "Gamma", &va, NULL), EXQ_NOTFOUND);
	exq__pe_free(pe);
	free(t.buf);
}

#define NMANY 300
static char many_names[NMANY][16];

static struct tpe build_many(struct texp *ex)
{
	int i;
	for (i = 0; i < NMANY; i++) {
		snprintf(many_names[i], sizeof(many_names[i]), "Fn%04u",
			 (unsigned)i);
		ex[i].name = many_names[i];
		ex[i].rva = 0x1000 + (uint32_t)i * 0x10;
		ex[i].fwd = NULL;
	}
	return build(0, ex, NMANY);
}

static void many_names_binary(void **state)
{
	struct texp ex[NMANY];
	struct tpe t = build_many(ex);
	struct tmem m = mem_of(&t);
	exq__pe *pe;
	exq__err e;
	uint64_t va, off;
	const char *name;
	int i;
	(void)state;
	assert_int_equal(open_t(&m, &pe, &e), EXQ_OK);
	assert_int_equal(pe->nnames, NMANY);
	for (i = 0; i < NMANY; i++) {
		unsigned before = m.reads;
		assert_int_equal(exq__pe_export(pe, ex[i].name, &va, NULL),
				 EXQ_OK);
		assert_true(va == BASE32 + ex[i].rva);
		if (i > 0) /* binary search: ~9 probes of 2-3 reads each */
			assert_true(m.reads - before < 40);
	}
	assert_int_equal(pe->names_sorted, 1);
	/* Symbolization across a table longer than one read chunk. */
	assert_int_equal(exq__pe_export_containing(
			     pe, BASE32 + 0x1000 + 290 * 0x10 + 4, &name, &off),
			 EXQ_OK);
	assert_string_equal(name, "Fn0290");
	assert_int_equal(off, 4);
	exq__pe_free(pe);
	free(t.buf);
}

static void containing(void **state)
{
	struct tpe t = build(0, std_exp, NSTD);
	struct tmem m = mem_of(&t);
	exq__pe *pe;
	exq__err e;
	const char *name = NULL;
	uint64_t off = 99;
	(void)state;
	assert_int_equal(open_t(&m, &pe, &e), EXQ_OK);
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x1100, &name, &off),
	    EXQ_OK);
	assert_string_equal(name, "ExQueueWorkItem");
	assert_int_equal(off, 0);
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x11ff, &name, &off),
	    EXQ_OK);
	assert_string_equal(name, "ExQueueWorkItem");
	assert_int_equal(off, 0xff);
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x1300, &name, &off),
	    EXQ_OK);
	assert_string_equal(name, "KeBugCheck");
	assert_int_equal(off, 0x100);
	/* The last export of .text: itself yes, past it no (end unknown). */
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x1800, &name, &off),
	    EXQ_OK);
	assert_string_equal(name, "ZwLast");
	name = NULL;
	off = 99;
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x1801, &name, &off),
	    EXQ_NOTFOUND);
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x2ff0, &name, &off),
	    EXQ_NOTFOUND);
	/* Ordinal-only function: no name to give. */
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x1450, &name, &off),
	    EXQ_NOTFOUND);
	/* In .text before the first export; in the headers. */
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x1050, &name, &off),
	    EXQ_NOTFOUND);
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x10, &name, &off),
	    EXQ_NOTFOUND);
	/* A data export in a non-executable section. */
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x3010, &name, &off),
	    EXQ_NOTFOUND);
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x3018, &name, &off),
	    EXQ_NOTFOUND);
	/* Outside the image. */
	assert_int_equal(exq__pe_export_containing(pe, BASE32 - 1, &name, &off),
			 EXQ_NOTFOUND);
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + IMG_SIZE, &name, &off),
	    EXQ_NOTFOUND);
	assert_null(name);
	assert_int_equal(off, 99);
	exq__pe_free(pe);
	/* Export directory in an executable section: a forwarder string is
	 * not code, so it neither matches nor bounds. */
	t_put32(t.buf + OPT + 240 + 2 * 40 + 36, 0x60000020);
	assert_int_equal(open_t(&m, &pe, &e), EXQ_OK);
	assert_int_equal(exq__pe_export(pe, "RtlFoo", &off, NULL), EXQ_OK);
	assert_int_equal(exq__pe_export_containing(pe, off, &name, &off),
			 EXQ_NOTFOUND);
	assert_null(name);
	exq__pe_free(pe);
	free(t.buf);
}

static void missing_pages(void **state)
{
	struct texp ex[NMANY];
	struct tpe t = build_many(ex);
	struct tmem m = mem_of(&t);
	exq__pe *pe;
	exq__err e;
	uint64_t va;
	const char *name;
	(void)state;
	/* Names strings run from page 0x4000 into page 0x5000. */
	assert_true(t.strings < 0x5000);
	m.missing[0x5000 / EXQ__PAGE_SIZE] = 1;
	m.missing[0x6000 / EXQ__PAGE_SIZE] = 1; /* debug directory */
	assert_int_equal(open_t(&m, &pe, &e), EXQ_OK);
	assert_int_equal(pe->cv_status, EXQ_NODATA);
	assert_non_null(
	    strstr(pe->cv_err.msg, "debug directory at 0x80406c00"));
	assert_string_equal(pe->pdb_name, "");
	assert_int_equal(exq__pe_export(pe, "Fn0000", &va, NULL), EXQ_OK);
	assert_int_equal(pe->names_sorted, 0); /* could not check */
	assert_int_equal(exq__pe_export(pe, "Fn0299", &va, NULL), EXQ_NODATA);
	assert_non_null(strstr(pe->err.msg, "export name at 0x80405"));
	assert_non_null(strstr(pe->err.msg, "NODATA"));
	/* Symbolization does not need the missing names. */
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x1008, &name, &va), EXQ_OK);
	assert_string_equal(name, "Fn0000");
	exq__pe_free(pe);

	/* The export directory's page missing: open fails, saying where. */
	memset(m.missing, 0, sizeof(m.missing));
	m.missing[EXP / EXQ__PAGE_SIZE] = 1;
	pe = NULL;
	assert_int_equal(open_t(&m, &pe, &e), EXQ_NODATA);
	assert_null(pe);
	assert_non_null(
	    strstr(e.msg, "export directory at 0x80404000: NODATA"));
	assert_non_null(strstr(e.msg, "PE image at 0x80400000"));

	/* Header page missing; page not mapped at all. */
	memset(m.missing, 0, sizeof(m.missing));
	m.missing[0] = 1;
	assert_int_equal(open_t(&m, &pe, &e), EXQ_NODATA);
	assert_non_null(strstr(e.msg, "DOS header"));
	m.missing[0] = 0;
	assert_int_equal(exq__pe_open(&pe, vread, &m, BASE32 + IMG_SIZE, &e),
			 EXQ_NOTPRESENT);
	free(t.buf);
}

/* Open a damaged copy of the standard PE32 image; expect st and a message
 * containing want. */
static void expect_open(struct tpe *t, exq_status st, const char *want)
{
	struct tmem m = mem_of(t);
	exq__pe *pe = NULL;
	exq__err e;
	assert_int_equal(open_t(&m, &pe, &e), st);
	assert_null(pe);
	if (!strstr(e.msg, want))
		fail_msg("message '%s' lacks '%s'", e.msg, want);
}

static struct tpe fresh(void)
{
	return build(0, std_exp, NSTD);
}

static void corrupt_headers(void **state)
{
	struct tpe t;
	(void)state;
	t = fresh();
	t_put32(t.buf + 0x3c, 0xfffffff0);
	expect_open(&t, EXQ_CORRUPT, "e_lfanew 0xfffffff0");
	free(t.buf);
	t = fresh();
	t.buf[0] = 'N';
	expect_open(&t, EXQ_NOTFOUND, "no MZ");
	free(t.buf);
	t = fresh();
	t.buf[LFANEW] = 'X';
	expect_open(&t, EXQ_NOTFOUND, "no PE signature");
	free(t.buf);
	t = fresh();
	t_put32(t.buf + OPT + 56, 0);
	expect_open(&t, EXQ_CORRUPT, "SizeOfImage 0x0");
	free(t.buf);
	t = fresh();
	t_put32(t.buf + OPT + 56, 0x80000000u);
	expect_open(&t, EXQ_CORRUPT, "SizeOfImage 0x80000000");
	free(t.buf);
	t = fresh();
	t_put32(t.buf + OPT + 56, 0x100);
	expect_open(&t, EXQ_CORRUPT, "past SizeOfImage");
	free(t.buf);
	t = fresh();
	t_put16(t.buf + OPT, 0x107);
	expect_open(&t, EXQ_CORRUPT, "Magic 0x107");
	free(t.buf);
	t = fresh();
	t_put16(t.buf + LFANEW + 6, 200);
	expect_open(&t, EXQ_CORRUPT, "NumberOfSections 200");
	free(t.buf);
	t = fresh();
	t_put32(t.buf + OPT + 240 + 2 * 40 + 8, 0x5000); /* .rdata vsize */
	expect_open(&t, EXQ_CORRUPT, "section 2 (.rdata)");
	free(t.buf);
	t = fresh();
	t_put16(t.buf + LFANEW + 20, 0x20);
	expect_open(&t, EXQ_CORRUPT, "SizeOfOptionalHeader 0x20");
	free(t.buf);
	t = build(1, std_exp, NSTD);
	t_put16(t.buf + LFANEW + 20, 100);
	t.base = BASE64;
	expect_open(&t, EXQ_CORRUPT, "too small for PE32+");
	free(t.buf);
}

static void corrupt_export_dir(void **state)
{
	struct tpe t;
	uint32_t dirs = dirs_at(0);
	(void)state;
	t = fresh();
	t_put32(t.buf + EXP + 24, 0x10000000);
	expect_open(
	    &t, EXQ_CORRUPT,
	    "export directory NumberOfNames 0x10000000 exceeds the cap");
	free(t.buf);
	t = fresh();
	t_put32(t.buf + EXP + 24, 0x2000); /* under the cap, past the image */
	expect_open(&t, EXQ_CORRUPT,
		    "NumberOfNames 0x2000 exceeds SizeOfImage");
	free(t.buf);
	t = fresh();
	t_put32(t.buf + EXP + 24, 0x100); /* fits the image, not the directory */
	expect_open(&t, EXQ_CORRUPT, "exceeds the export directory size");
	free(t.buf);
	t = fresh();
	t_put32(t.buf + EXP + 20, 0x10001);
	expect_open(&t, EXQ_CORRUPT, "NumberOfFunctions 0x10001");
	free(t.buf);
	t = fresh();
	t_put32(t.buf + dirs + 4, IMG_SIZE);
	expect_open(&t, EXQ_CORRUPT, "export directory RVA 0x4000 size 0x8000");
	free(t.buf);
	t = fresh();
	t_put32(t.buf + EXP + 12, 0x9000);
	expect_open(&t, EXQ_CORRUPT, "export directory Name at RVA 0x9000");
	free(t.buf);
	t = fresh();
	t.buf[t.strings + 3] = 0x07; /* "ntk\a..." */
	expect_open(&t, EXQ_CORRUPT, "not printable");
	free(t.buf);
	t = fresh();
	memset(t.buf + 0x5000, 'A', 0x400);
	t_put32(t.buf + EXP + 12, 0x5000);
	expect_open(&t, EXQ_CORRUPT, "longer than 256");
	free(t.buf);
}

static void corrupt_export_entries(void **state)
{
	struct tpe t = fresh();
	struct tmem m;
	exq__pe *pe;
	exq__err e;
	uint64_t va;
	const char *name;
	(void)state;
	/* Name 0 points outside the image: other names still resolve. */
	t_put32(t.buf + t.names, 0x9000);
	m = mem_of(&t);
	assert_int_equal(open_t(&m, &pe, &e), EXQ_OK);
	assert_int_equal(exq__pe_export(pe, "KeBugCheck", &va, NULL), EXQ_OK);
	assert_int_equal(pe->names_sorted, 0);
	assert_int_equal(exq__pe_export(pe, "ExQueueWorkItem", &va, NULL),
			 EXQ_CORRUPT);
	assert_non_null(strstr(pe->err.msg, "SizeOfImage"));
	assert_non_null(strstr(pe->err.msg, "export name 0"));
	exq__pe_free(pe);
	free(t.buf);

	/* A function RVA past the image. */
	t = fresh();
	t_put32(t.buf + t.funcs, 0x9000);
	m = mem_of(&t);
	assert_int_equal(open_t(&m, &pe, &e), EXQ_OK);
	assert_int_equal(exq__pe_export(pe, "ExQueueWorkItem", &va, NULL),
			 EXQ_CORRUPT);
	assert_non_null(strstr(pe->err.msg, "RVA 0x9000 past SizeOfImage"));
	assert_int_equal(exq__pe_export(pe, "KeBugCheck", &va, NULL), EXQ_OK);
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x1210, &name, &va),
	    EXQ_CORRUPT);
	assert_non_null(strstr(pe->err.msg, "symbolizing 0x80401210"));
	exq__pe_free(pe);
	free(t.buf);

	/* An ordinal past NumberOfFunctions. */
	t = fresh();
	t_put16(t.buf + t.ords + 2, 0x50);
	m = mem_of(&t);
	assert_int_equal(open_t(&m, &pe, &e), EXQ_OK);
	assert_int_equal(exq__pe_export(pe, "KeBugCheck", &va, NULL),
			 EXQ_CORRUPT);
	assert_non_null(strstr(pe->err.msg, "index 80"));
	exq__pe_free(pe);
	free(t.buf);
}

static void no_exports_and_bad_debug(void **state)
{
	struct tpe t = build(0, NULL, 0);
	struct tmem m = mem_of(&t);
	exq__pe *pe;
	exq__err e;
	uint64_t va;
	const char *name;
	(void)state;
	t_put32(t.buf + RSDS, 0x3031424e); /* "NB10": not RSDS */
	assert_int_equal(open_t(&m, &pe, &e), EXQ_OK);
	assert_false(pe->has_exports);
	assert_int_equal(pe->cv_status, EXQ_NOTFOUND);
	assert_int_equal(exq__pe_export(pe, "X", &va, NULL), EXQ_NOTFOUND);
	assert_int_equal(
	    exq__pe_export_containing(pe, BASE32 + 0x1100, &name, &va),
	    EXQ_NOTFOUND);
	exq__pe_free(pe);
	/* A PE32 image that would wrap 4 GiB. */
	m.base = 0xffffc000ull;
	assert_int_equal(exq__pe_open(&pe, vread, &m, m.base, &e), EXQ_CORRUPT);
	assert_non_null(strstr(e.msg, "wraps"));
	free(t.buf);
}

/* Random damage to headers and export tables: never a crash, never a read
 * outside the image (vread would return NOTPRESENT; ASan watches the
 * rest). */
static void mutations(void **state)
{
	struct texp ex[NMANY];
	struct tpe t = build_many(ex);
	uint8_t *orig = malloc(IMG_SIZE);
	uint32_t seed = 12345;
	int round, k;
	(void)state;
	assert_non_null(orig);
	memcpy(orig, t.buf, IMG_SIZE);
	for (round = 0; round < 3000; round++) {
		struct tmem m;
		exq__pe *pe;
		exq__err e;
		uint64_t va;
		const char *name;
		memcpy(t.buf, orig, IMG_SIZE);
		for (k = 0; k < 4; k++) {
			uint32_t at;
			seed = seed * 1103515245u + 12345u;
			at = (seed >> 8) % 3 == 0 ? (seed >> 12) % 0x400
						  : EXP + (seed >> 12) % 0x1400;
			t.buf[at] ^= (uint8_t)(1u << ((seed >> 4) & 7));
		}
		m = mem_of(&t);
		if (open_t(&m, &pe, &e) != EXQ_OK)
			continue;
		(void)exq__pe_export(pe, "Fn0150", &va, NULL);
		(void)exq__pe_export(pe, "Fn9999", &va, NULL);
		(void)exq__pe_export_containing(pe, BASE32 + 0x1234, &name,
						&va);
		exq__pe_free(pe);
	}
	free(orig);
	free(t.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pe32_basic),
	    cmocka_unit_test(pe32plus_basic),
	    cmocka_unit_test(unsorted_names),
	    cmocka_unit_test(many_names_binary),
	    cmocka_unit_test(containing),
	    cmocka_unit_test(missing_pages),
	    cmocka_unit_test(corrupt_headers),
	    cmocka_unit_test(corrupt_export_dir),
	    cmocka_unit_test(corrupt_export_entries),
	    cmocka_unit_test(no_exports_and_bad_debug),
	    cmocka_unit_test(mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
