/* SPDX-License-Identifier: MIT */
/* mkpt — writes small Windows-like physical memory images with page tables
 * for the virtual-address golden tests, and the truth about them.
 *
 *   mkpt OUTDIR
 *
 * writes
 *   OUTDIR/pae.raw    16 MiB raw image of a PAE guest: Windows 7 boot layout
 *                     (PDPT 0x185000, PDs 0x186000-0x189000, self-map), a
 *                     48-page "kernel image" at 0x82a00000 on shuffled
 *                     physical pages, 2 MiB large pages at 0x80000000, pool
 *                     and HAL page tables, a decoy self-referencing page
 *   OUTDIR/pae.dmp    the same memory as a PAGEDUMP full dump (DumpType 1)
 *                     with two runs and the legacy 0xA0000-0xFFFFF hole
 *   OUTDIR/pae.truth  the truth (see below)
 *   OUTDIR/x86.raw    16 MiB raw image of a non-PAE guest (PD 0x39000,
 *                     self-map at PDE 0x300, kernel at 0x804d7000, a 4 MiB
 *                     large page at 0x80000000)
 *   OUTDIR/x86.truth
 *
 * Truth lines:  "dtb ADDR" · "paging pae|x86" · "map VA PA" (one per mapped
 * kernel page, 4 KiB granularity; large pages sampled) · "absent VA" (a
 * kernel VA that is not mapped) · "straddle VA LEN HEX" (bytes of a
 * structure crossing two kernel pages mapped to non-adjacent physical
 * pages).
 *
 * Standalone C11 + libc: independent of the library it tests.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEM_SIZE (16u << 20)
#define PAGE 4096u

static uint8_t *mem;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;
	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/* A page-table page allocator over [next, end). */
static uint32_t pool_next, pool_end;

static uint32_t alloc_page(void)
{
	uint32_t p = pool_next;
	if (p + PAGE > pool_end) {
		fprintf(stderr, "mkpt: table pool exhausted\n");
		exit(1);
	}
	pool_next += PAGE;
	memset(mem + p, 0, PAGE);
	return p;
}

/* Fill a data page with bytes that encode its PA (so misplaced reads show). */
static void fill_data(uint32_t pa)
{
	uint32_t i;
	for (i = 0; i < PAGE; i += 8)
		put64(mem + pa + i, 0x6b6e6c0000000000ull | (uint64_t)(pa + i));
}

/* ---------------------------------------------------------------- PAE */

#define PAE_DTB 0x185000u

static uint32_t pae_pte_pa(uint32_t va)
{
	uint32_t pd =
	    (uint32_t)(get64(mem + PAE_DTB + 8 * (va >> 30)) & ~0xFFFull);
	uint8_t *pde = mem + pd + 8 * ((va >> 21) & 0x1FF);
	if (!(get64(pde) & 1))
		put64(pde, alloc_page() | 0x63);
	return (uint32_t)(get64(pde) & 0xFFFFF000ull) +
	       8 * ((va >> 12) & 0x1FF);
}

static void pae_map(FILE *t, uint32_t va, uint32_t pa, uint64_t flags)
{
	put64(mem + pae_pte_pa(va), pa | flags | 1);
	fprintf(t, "map 0x%x 0x%x\n", va, pa);
}

static void pae_large(FILE *t, uint32_t va, uint32_t pa)
{
	uint32_t pd =
	    (uint32_t)(get64(mem + PAE_DTB + 8 * (va >> 30)) & ~0xFFFull);
	uint32_t k;
	put64(mem + pd + 8 * ((va >> 21) & 0x1FF),
	      pa | 0x1E3);			/* P RW A D PS G */
	for (k = 0; k < 0x200000; k += 0x40000) /* sampled */
		fprintf(t, "map 0x%x 0x%x\n", va + k + 0x1000, pa + k + 0x1000);
}

static const char straddle[] = "EXQ-STRADDLE-0123456789abcdef!!";

static void write_straddle(FILE *t, uint32_t va, uint32_t pa_lo, uint32_t pa_hi,
			   uint32_t off)
{
	size_t n = sizeof(straddle) - 1, first = PAGE - off, i;
	memcpy(mem + pa_lo + off, straddle, first);
	memcpy(mem + pa_hi, straddle + first, n - first);
	fprintf(t, "straddle 0x%x %zu ", va, n);
	for (i = 0; i < n; i++)
		fprintf(t, "%02x", (unsigned char)straddle[i]);
	fputc('\n', t);
}

/* The kernel image: 48 pages on a permutation of 0x600000-0x6fffff, so
 * that consecutive virtual pages are never physically adjacent. */
static uint32_t kernel_pa(unsigned i)
{
	return 0x600000u + ((i * 37u + 11u) % 256u) * PAGE;
}

static void build_pae(FILE *t)
{
	unsigned i, k;
	memset(mem, 0, MEM_SIZE);
	pool_next = 0x400000;
	pool_end = 0x500000;
	for (k = 0; k < 4; k++) /* boot layout: PDs right after the PDPT */
		put64(mem + PAE_DTB + 8 * k, (PAE_DTB + PAGE * (k + 1)) | 1);
	for (k = 0; k < 4; k++) /* self-map: PD 3 names PD 0..3 */
		put64(mem + PAE_DTB + 4 * PAGE + 8 * k,
		      (PAE_DTB + PAGE * (k + 1)) | 0x63);
	fprintf(t, "paging pae\ndtb 0x%x\n", PAE_DTB);
	pae_large(t, 0x80000000u, 0x000000);
	pae_large(t, 0x80200000u, 0x200000);
	for (i = 0; i < 48; i++) {
		fill_data(kernel_pa(i));
		pae_map(t, 0x82a00000u + i * PAGE, kernel_pa(i), 0x163);
	}
	for (i = 0; i < 4; i++) { /* HAL */
		fill_data(0x700000u + i * PAGE * 3);
		pae_map(t, 0xffd00000u + i * PAGE, 0x700000u + i * PAGE * 3,
			0x163);
	}
	for (i = 0; i < 6; i++) { /* nonpaged pool: one page per table */
		fill_data(0x720000u + i * PAGE);
		pae_map(t, 0x84000000u + i * 0x200000u, 0x720000u + i * PAGE,
			0x8000000000000063ull);
	}
	put64(mem + pae_pte_pa(0x82a30000u),
	      0); /* a hole in the kernel range */
	fprintf(t, "absent 0x82a30000\n");
	write_straddle(t, 0x82a01ff0u, kernel_pa(1), kernel_pa(2), 0xff0);
	/* decoy: a page whose entry 3 names itself, mapping nothing */
	put64(mem + 0x30000 + 0x18, 0x30000 | 0x63);
}

/* ---------------------------------------------------------------- x86 */

#define X86_DTB 0x39000u

static void x86_map(FILE *t, uint32_t va, uint32_t pa)
{
	uint8_t *pde = mem + X86_DTB + 4 * (va >> 22);
	if (!(get32(pde) & 1))
		put32(pde, alloc_page() | 0x63);
	put32(mem + (get32(pde) & 0xFFFFF000u) + 4 * ((va >> 12) & 0x3FF),
	      pa | 0x163);
	fprintf(t, "map 0x%x 0x%x\n", va, pa);
}

static void build_x86(FILE *t)
{
	unsigned i;
	uint32_t k;
	memset(mem, 0, MEM_SIZE);
	pool_next = 0x400000;
	pool_end = 0x500000;
	put32(mem + X86_DTB + 4 * 0x300, X86_DTB | 0x63);
	fprintf(t, "paging x86\ndtb 0x%x\n", X86_DTB);
	put32(mem + X86_DTB + 4 * 0x200, 0x000000u | 0x1E3); /* 4 MiB page */
	for (k = 0; k < 0x400000; k += 0x80000)
		fprintf(t, "map 0x%x 0x%x\n", 0x80000000u + k + 0x1000,
			k + 0x1000);
	for (i = 0; i < 48; i++) {
		fill_data(kernel_pa(i));
		x86_map(t, 0x804d7000u + i * PAGE, kernel_pa(i));
	}
	for (i = 0; i < 6; i++) {
		fill_data(0x720000u + i * PAGE);
		x86_map(t, 0x81000000u + i * 0x400000u, 0x720000u + i * PAGE);
	}
	write_straddle(t, 0x804d8ff8u, kernel_pa(1), kernel_pa(2), 0xff8);
	fprintf(t, "absent 0x81001000\n");
}

/* ---------------------------------------------------------- writers */

static int write_file(const char *dir, const char *name, const void *b,
		      size_t n, const void *b2, size_t n2)
{
	char path[4096];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, n, f) != n ||
	    (n2 && fwrite(b2, 1, n2, f) != n2) || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

/* PAGEDUMP full dump (DumpType 1) header, offsets as in DESIGN §4.1:
 * runs {0, 0x9f} and {0x100, 0xf00} (the legacy hole left out). */
static int write_dmp(const char *dir)
{
	static uint8_t h[PAGE];
	uint8_t *body;
	size_t i, n = (0x9fu + 0xf00u) * PAGE;
	int rc;
	for (i = 0; i < PAGE; i += 4)
		memcpy(h + i, "PAGE", 4);
	memcpy(h + 4, "DUMP", 4);
	put32(h + 0x08, 0xF);
	put32(h + 0x0C, 7601);
	put32(h + 0x10, PAE_DTB);
	put32(h + 0x20, 0x14C);
	put32(h + 0x24, 1);
	put32(h + 0x28, 0xE2);
	for (i = 0; i < 4; i++)
		put32(h + 0x2C + 4 * i, 0);
	h[0x5C] = 1;
	put32(h + 0x64, 2);
	put32(h + 0x68, 0x9f + 0xf00);
	put32(h + 0x6C, 0);
	put32(h + 0x70, 0x9f);
	put32(h + 0x74, 0x100);
	put32(h + 0x78, 0xf00);
	put32(h + 0xF88, 1);
	body = malloc(n);
	if (!body)
		return -1;
	memcpy(body, mem, 0x9f * PAGE);
	memcpy(body + 0x9f * PAGE, mem + 0x100 * PAGE, 0xf00u * PAGE);
	rc = write_file(dir, "pae.dmp", h, sizeof(h), body, n);
	free(body);
	return rc;
}

static FILE *open_truth(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		perror(path);
	return f;
}

int main(int argc, char **argv)
{
	FILE *t;
	if (argc != 2) {
		fprintf(stderr, "usage: mkpt OUTDIR\n");
		return 2;
	}
	mem = malloc(MEM_SIZE);
	if (!mem)
		return 1;
	if (!(t = open_truth(argv[1], "pae.truth")))
		return 1;
	build_pae(t);
	if (fclose(t) != 0 ||
	    write_file(argv[1], "pae.raw", mem, MEM_SIZE, NULL, 0) ||
	    write_dmp(argv[1]))
		return 1;
	if (!(t = open_truth(argv[1], "x86.truth")))
		return 1;
	build_x86(t);
	if (fclose(t) != 0 ||
	    write_file(argv[1], "x86.raw", mem, MEM_SIZE, NULL, 0))
		return 1;
	free(mem);
	return 0;
}
