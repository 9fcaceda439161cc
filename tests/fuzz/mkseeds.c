/* SPDX-License-Identifier: MIT */
/* mkseeds — writes the seed corpora of the fuzz targets (`make
 * fuzz-corpus`): tests/fuzz/corpus/TARGET/NAME, each a small valid input
 * built by the test generators (tlib_dump, tlib_pt, tlib_win) in the
 * layout its target expects (fuzz.h). Kept small: the whole corpus is
 * committed.
 *   fuzz-mkseeds OUTDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exq.h"
#include "fuzz.h"
#include "tlib.h"
#include "tlib_pt.h"
#include "tlib_win.h"

static const char *outdir;

static void put(const char *target, const char *name, const uint8_t *b,
		size_t n)
{
	char path[512];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	mkdir(outdir, 0777);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "mkseeds: cannot write %s\n", path);
		exit(1);
	}
}

static void put_free(const char *target, const char *name, uint8_t *b, size_t n)
{
	put(target, name, b, n);
	free(b);
}

/* ---------------------------------------------------------------- open */

#define H32 t_hdr_generic32
#define H64 t_hdr_generic64

/* A triage dump (DumpType 4): TRGD tag, PRCB + data block naming a
 * CONTEXT, a KDBG copy, two drivers with names. Offsets: DESIGN §4.1/4.2
 * and lib/fmt_windmp.c's layouts. */
static uint8_t *triage(int wide, size_t *len)
{
	size_t hs = wide ? 0x2000 : 0x1000, t = hs, i;
	uint32_t stride = wide ? 0x90 : 0x4C, ctx = wide ? 0x4D0 : 0x2CC;
	uint32_t drvbase = wide ? 0x38 : 0x1C, drvsize = wide ? 0x48 : 0x24;
	uint8_t *b;
	exq_run none = {0, 0};
	(void)none;
	*len = hs + 0x1800;
	b = calloc(1, *len);
	if (!b)
		abort();
	{
		size_t l;
		uint8_t *h = t_make_full(wide ? &H64 : &H32, NULL, 0, &l);
		memcpy(b, h, hs);
		free(h);
	}
	t_put32(b + (wide ? 0xF98 : 0xF88), 4);
	t_put32(b + t + 0x04, (uint32_t)*len);
	t_put32(b + t + 0x08, (uint32_t)(hs + 0x100));
	memcpy(b + hs + 0x100, "TRGD", 4);
	t_put32(b + t + 0x1C, (uint32_t)(hs + 0x200));	/* PRCB */
	t_put32(b + t + 0x20, (uint32_t)(hs + 0x300));	/* process: PRCB end */
	t_put32(b + hs + 0x210, 0x80001000u);		/* in the PRCB */
	t_put32(b + t + 0x30, (uint32_t)(hs + 0x1400)); /* driver list */
	t_put32(b + t + 0x34, 2);
	t_put32(b + t + (wide ? 0x70 : 0x58),
		(uint32_t)(hs + 0x1000)); /* KDBG */
	t_put32(b + t + (wide ? 0x74 : 0x5C), 0x340);
	t_put32(b + t + (wide ? 0x78 : 0x60),
		(uint32_t)(hs + 0x400)); /* blocks */
	t_put32(b + t + (wide ? 0x7C : 0x64), 1);
	if (wide) {
		t_put64(b + hs + 0x400, 0x80001000u);
		t_put32(b + hs + 0x408, (uint32_t)(hs + 0x600));
		t_put32(b + hs + 0x40C, ctx);
	} else {
		t_put32(b + hs + 0x400, 0x80001000u);
		t_put32(b + hs + 0x404, (uint32_t)(hs + 0x600));
		t_put32(b + hs + 0x408, ctx);
	}
	memcpy(b + hs + 0x1010, "KDBG", 4);
	t_put32(b + hs + 0x1014, 0x340);
	t_put64(b + hs + 0x1018, 0x82a0b000u);
	t_put64(b + hs + 0x1048, 0x82b79850u);
	for (i = 0; i < 2; i++) {
		static const char *const nm[] = {"ntoskrnl.exe", "hal.dll"};
		size_t e = hs + 0x1400 + i * stride, s = hs + 0x1600 + i * 0x40,
		       c;
		t_put32(b + e, (uint32_t)s);
		t_put64(b + e + drvbase, 0x82a0b000u + 0x400000u * i);
		t_put32(b + e + drvsize, 0x10000);
		t_put32(b + s, (uint32_t)strlen(nm[i]));
		for (c = 0; nm[i][c]; c++)
			b[s + 4 + 2 * c] = (uint8_t)nm[i][c];
	}
	return b;
}

static void seeds_open(void)
{
	static const exq_run r32[] = {{1, 1}, {3, 1}};
	static const exq_run r64[] = {{0x10, 1}};
	static const uint64_t pfns[] = {1, 5};
	uint8_t *b, *z, *z2, *raw;
	size_t n, nz, nz2;
	b = t_make_full(&H32, r32, 2, &n);
	z = t_gzip(b, n, &nz);
	put_free("open", "full32", b, n);
	put_free("open", "full32.gz", z, nz);
	{
		uint8_t *t = t_make_full(&H64, r64, 1, &n);
		put_free("open", "full64", t, n);
	}
	{
		uint8_t *t = t_make_bitmap(&H32, 2, pfns, 2, 16, &n);
		put_free("open", "kernel32", t, n);
	}
	{
		uint8_t *t = t_make_bitmap(&H32, 5, pfns, 2, 16, &n);
		put_free("open", "bitmap32", t, n);
	}
	{
		uint8_t *t = t_make_bitmap(&H64, 5, pfns, 2, 64, &n);
		put_free("open", "bitmap64", t, n);
	}
	{
		uint8_t *t = t_make_bitmap(&H64, 6, pfns, 2, 16, &n);
		put_free("open", "bitmap64-kernel", t, n);
	}
	{
		uint8_t *t = triage(0, &n);
		put_free("open", "triage32", t, n);
	}
	{
		uint8_t *t = triage(1, &n);
		put_free("open", "triage64", t, n);
	}
	raw = malloc(4096);
	t_fill_page(0, raw);
	put("open", "raw", raw, 4096);
	/* two gzip members: raw's first and second half */
	z = t_gzip(raw, 2048, &nz);
	z2 = t_gzip(raw + 2048, 2048, &nz2);
	b = malloc(nz + nz2);
	memcpy(b, z, nz);
	memcpy(b + nz, z2, nz2);
	put_free("open", "raw.2members.gz", b, nz + nz2);
	free(z);
	free(z2);
	free(raw);
}

/* ----------------------------------------------------------------- dtb */

static void dtb_seed(const char *name, exq_paging paging, unsigned flags,
		     uint64_t kbase, unsigned selfmap, const uint64_t *vas)
{
	struct t_pt *pt = t_pt_new(paging, 0x10000, 0x1000, 0x2000, 0x10000);
	uint8_t *b;
	size_t n, i;
	t_pt_selfmap(pt, selfmap);
	t_pt_kernel(pt, kbase, 1);
	n = 80 + (size_t)pt->next;
	b = calloc(1, n);
	b[0] = (uint8_t)flags;
	t_put64(b + 1, pt->dtb);
	for (i = 0; i < 8; i++)
		t_put64(b + 16 + 8 * i, vas[i]);
	memcpy(b + 80, pt->mem, (size_t)pt->next);
	put_free("dtb", name, b, n);
	t_pt_free(pt);
}

static void seeds_dtb(void)
{
	static const uint64_t v32[8] = {0x80000000, 0x80001010, 0x80003ff8,
					0xC0000000, 0xC0600000, 0xC0603000,
					0x7FFE0000, 0xFFFFFFFF};
	static const uint64_t v64[8] = {
	    0xFFFF800000000000ull, 0xFFFF800000001010ull, 0xFFFF800000003FF8ull,
	    0xFFFFF6FB7DBED000ull, 0xFFFFF6FB7DBEDF68ull, 0x0000000000001000ull,
	    0x00007FFFFFFF0000ull, 0xFFFFFFFFFFFFFFFFull};
	dtb_seed("pae-raw", EXQ_PAGING_PAE, 0, 0x80000000, 0, v32);
	dtb_seed("pae-dump", EXQ_PAGING_PAE, 0x14, 0x80000000, 0, v32);
	dtb_seed("x86-raw", EXQ_PAGING_X86, 0, 0x80000000, 0, v32);
	dtb_seed("x86-override", EXQ_PAGING_X86, 0x0D, 0x80000000, 0, v32);
	dtb_seed("x64-dump64", EXQ_PAGING_X64, 0x08, 0xFFFF800000000000ull,
		 0x1ED, v64);
}

/* ------------------------------------------------------------------ pe */

/* The world's kernel (or a module) as chunks: headers, export directory
 * with its tables and names, debug directory and CodeView record. */
static void pe_seed(const char *name, const struct tw_world *w, uint32_t base)
{
	uint8_t hdr[0x400], *b;
	uint32_t lfanew, opt, dd, chunks[4][2], i, k = 0;
	size_t n = 1, at;
	if (tw_read(w, base, hdr, sizeof(hdr)) != 0)
		return;
	lfanew = hdr[0x3C] | (uint32_t)hdr[0x3D] << 8;
	opt = lfanew + 24;
	dd = opt + (hdr[opt] == 0x0B && hdr[opt + 1] == 0x02 ? 112 : 96);
	chunks[k][0] = 0;
	chunks[k++][1] = sizeof(hdr);
	for (i = 0; i < 2 && dd + 8 * 6 + 8 <= sizeof(hdr); i++) {
		uint32_t d = i ? 6 : 0, rva, size;
		memcpy(&rva, hdr + dd + 8 * d, 4);
		memcpy(&size, hdr + dd + 8 * d + 4, 4);
		if (!rva || !size)
			continue;
		chunks[k][0] = rva;
		chunks[k++][1] = i ? size : size + 0x100; /* names may follow */
		if (i) { /* the CodeView record the first debug entry names */
			uint8_t e[28];
			if (tw_read(w, base + rva, e, sizeof(e)) == 0) {
				memcpy(&chunks[k][0], e + 0x14, 4);
				memcpy(&chunks[k][1], e + 0x10, 4);
				if (chunks[k][0] && chunks[k][1] < 0x400)
					k++;
			}
		}
	}
	for (i = 0; i < k; i++)
		n += 6 + chunks[i][1];
	b = calloc(1, n);
	at = 1;
	for (i = 0; i < k; i++) {
		t_put32(b + at, chunks[i][0]);
		b[at + 4] = (uint8_t)chunks[i][1];
		b[at + 5] = (uint8_t)(chunks[i][1] >> 8);
		if (tw_read(w, base + chunks[i][0], b + at + 6, chunks[i][1]) !=
		    0)
			memset(b + at + 6, 0, chunks[i][1]);
		at += 6 + chunks[i][1];
	}
	put_free("pe", name, b, n);
}

/* b, or exit naming the seed that could not be built */
static uint8_t *built(uint8_t *b, const char *what, unsigned i)
{
	if (!b) {
		fprintf(stderr, "mkseeds: %s %u\n", what, i);
		exit(1);
	}
	return b;
}

static void seeds_pe(void)
{
	const struct tw_world *w7 = exq_fuzz_world(0), *xp = exq_fuzz_world(1);
	if (!w7 || !xp) {
		fprintf(stderr, "mkseeds: worlds\n");
		exit(1);
	}
	pe_seed("win7-ntkrnlpa", w7, w7->kernel_base);
	pe_seed("xp-ntoskrnl", xp, xp->kernel_base);
	pe_seed("win7-module", w7, w7->modules[2].base);
}

/* ------------------------------------------------------ queues, pattern */

static void seeds_queues(void)
{
	static const char *const names[] = {"win7pae", "xpsp3", "2003sp2pae"};
	unsigned i;
	for (i = 0; i < FUZZ_QUEUES_WORLDS; i++) {
		size_t n;
		uint8_t *b = built(exq_fuzz_queues_seed(i, &n), "queues world", i);
		put("queues", names[i], b, n);
		if (i == 0) {
			b[0] = 0x2C; /* overrides, max_items 2 */
			put("queues", "win7pae-overrides-max2", b, n);
		}
		free(b);
	}
	{
		static const char *const faults[] = {
		    "win7pae-midupdate-blink-head", "win7pae-midupdate-flink-head",
		    "win7pae-va0-flink", "win7pae-va0-head-and-blink"};
		for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
			size_t n;
			uint8_t *b = built(exq_fuzz_queues_fault_seed(i, &n),
					   "queues fault", i);
			put_free("queues", faults[i], b, n);
		}
	}
}

static void seeds_models(void)
{
	static const char *const names[FUZZ_MODELS_WORLDS] = {
		"win7x64", "win81pae", "win10-22h2x64-2n", "win8x64-threads"};
	for (unsigned i = 0; i < FUZZ_MODELS_WORLDS; i++) {
		size_t n;
		uint8_t *b = built(exq_fuzz_models_seed(i, &n), "models world", i);
		put("models", names[i], b, n);
		if (i == 2) { /* --max-items 2 */
			b[0] |= 2 << 2;
			put("models", "win10-22h2x64-2n-max2", b, n);
		}
		free(b);
		for (unsigned k = 0; k < 2; k++) { /* issue 16's faults */
			char name[96];
			b = exq_fuzz_models_fault_seed(i, k, &n);
			if (!b)
				continue;
			snprintf(name, sizeof(name), "%s-%s", names[i],
				 k ? "va0-flink" : "midupdate-head");
			put_free("models", name, b, n);
		}
	}
}

static void pattern_rec(uint8_t *b, size_t *n, uint32_t imm, const char *hex)
{
	t_put32(b + *n, imm);
	b[*n + 4] = 1;
	memcpy(b + *n + 5, hex, strlen(hex));
	*n += 5 + strlen(hex);
	b[(*n)++] = '\n';
}

static void seeds_pattern(void)
{
	const struct tw_world *np = exq_fuzz_world(3);
	uint8_t b[256];
	size_t n;
	memset(b, 0, sizeof(b));
	n = 8;
	pattern_rec(b, &n, 3, "57 81 C6 ?? ?? ?? ??");
	put("pattern", "seed-article", b, n);
	/* the no-pattern world takes the queue through a pointer in .data
	 * (57 03 35 imm32): a user pattern for it gives a candidate that
	 * does not validate, then the data-section scan finds the array */
	if (!np)
		exit(1);
	n = 8;
	b[0] = 1;
	pattern_rec(b, &n, 3, "57 03 35 ?? ?? ?? ??");
	pattern_rec(b, &n, 2, "8D ?5 ?? ?? ?? ??");
	put("pattern", "no-pattern-world", b, n);
	memset(b, 0, sizeof(b));
	b[0] = 3; /* --exworkerqueue */
	t_put32(b + 4, np->exworkerqueue);
	n = 8;
	pattern_rec(b, &n, 1, "B? ?? ?? ?? ??");
	put("pattern", "override", b, n);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-mkseeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	seeds_open();
	seeds_dtb();
	seeds_pe();
	seeds_queues();
	seeds_models();
	seeds_pattern();
	return 0;
}
