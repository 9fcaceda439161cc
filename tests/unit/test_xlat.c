/* SPDX-License-Identifier: MIT */
/* Address translation: table-driven walks over generated page tables for
 * x86, PAE and x64 (present, not present, large, transition, prototype,
 * NX, page-table page missing from the dump), virtual reads across
 * non-adjacent pages, vspace opening, the TLB (exq_vtop_pa and reads
 * answer as the walk: random tables, aliasing VAs, failures, a re-opened
 * image), exq_vtop_pa_many against them one by one (random batches,
 * answers kept apart in a group, the page cache evicting under a group),
 * and a differential test against libaddrxlat (the oracle) on
 * random page tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "exq_int.h"
#include "tlib.h"
#include "tlib_pt.h"

#if EXQ_WITH_KDUMPFILE
#include <libkdumpfile/addrxlat.h>
#endif

#define MiB (1024u * 1024u)

struct xcase {
	uint64_t va;
	exq_status st;
	uint64_t pa, size;
	uint32_t want, unwanted; /* flags that must / must not be set */
	const char *msg;         /* substring of the message on failure */
};

static exq_image *open_raw(const struct t_pt *pt)
{
	exq_image *img = exq_image_new();
	assert_non_null(img);
	assert_int_equal(exq_image_open_mem(img, pt->mem, pt->mem_size), EXQ_OK);
	return img;
}

/* exq_vtop_pa (the TLB) answers for va as exq_vtop (the walk): the same
 * status; on EXQ_OK the same PA, page size and flags; otherwise the same
 * message and nothing written. Asked `times` times in a row (a miss, then
 * hits). */
static void check_pa(exq_image *img, exq_vspace *vs, uint64_t va,
		     unsigned times)
{
	exq_xlat x;
	char msg[1024];
	exq_status st = exq_vtop(vs, va, &x);
	unsigned k;
	snprintf(msg, sizeof(msg), "%s", exq_image_error(img));
	for (k = 0; k < times; k++) {
		uint64_t pa = 0xbad, size = 0xbad;
		uint32_t flags = 0xbad;
		exq_status pst = exq_vtop_pa(vs, va, &pa, &size, &flags);
		if (pst != st)
			fail_msg("VA 0x%llx (lookup %u): vtop_pa %s, vtop %s (%s)",
				 (unsigned long long)va, k, exq_strerror(pst),
				 exq_strerror(st), msg);
		if (st == EXQ_OK &&
		    (pa != x.pa || size != x.page_size || flags != x.flags))
			fail_msg("VA 0x%llx (lookup %u): vtop_pa PA 0x%llx size "
				 "0x%llx flags 0x%x, vtop PA 0x%llx size 0x%llx "
				 "flags 0x%x",
				 (unsigned long long)va, k, (unsigned long long)pa,
				 (unsigned long long)size, flags,
				 (unsigned long long)x.pa,
				 (unsigned long long)x.page_size, x.flags);
		if (st != EXQ_OK) {
			assert_int_equal(pa, 0xbad);
			assert_int_equal(size, 0xbad);
			assert_int_equal(flags, 0xbad);
			assert_string_equal(exq_image_error(img), msg);
		}
	}
}

static void run_cases(exq_image *img, exq_vspace *vs, const struct xcase *c,
		      size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		exq_xlat x;
		exq_status st = exq_vtop(vs, c[i].va, &x);
		if (st != c[i].st)
			fail_msg("VA 0x%llx: status %s, want %s (%s)",
				 (unsigned long long)c[i].va, exq_strerror(st),
				 exq_strerror(c[i].st), exq_image_error(img));
		if (st == EXQ_OK) {
			if (x.pa != c[i].pa || x.page_size != c[i].size)
				fail_msg("VA 0x%llx: PA 0x%llx size 0x%llx, want "
					 "0x%llx size 0x%llx",
					 (unsigned long long)c[i].va,
					 (unsigned long long)x.pa,
					 (unsigned long long)x.page_size,
					 (unsigned long long)c[i].pa,
					 (unsigned long long)c[i].size);
			assert_int_equal(x.flags & c[i].want, c[i].want);
			assert_int_equal(x.flags & c[i].unwanted, 0);
			assert_int_equal(x.nlevels > 0, 1);
		}
		if (c[i].msg && !strstr(exq_image_error(img), c[i].msg))
			fail_msg("VA 0x%llx: message '%s' lacks '%s'",
				 (unsigned long long)c[i].va,
				 exq_image_error(img), c[i].msg);
		check_pa(img, vs, c[i].va, 3);
	}
}

/* ------------------------------------------------------------- PAE */

#define PAE_DTB 0x185000ull
#define PAE_MISSING_VA 0x82c00000ull

static struct t_pt *make_pae(void)
{
	struct t_pt *pt = t_pt_new(EXQ_PAGING_PAE, 8 * MiB, PAE_DTB, 0x200000,
				   0x400000);
	unsigned k;
	/* boot layout: PDs right after the PDPT */
	for (k = 0; k < 4; k++)
		t_pt_put(pt, PAE_DTB + 8 * k, (PAE_DTB + 0x1000 * (k + 1)) | T_P);
	t_pt_selfmap(pt, 0);
	/* PDPTE[2] with bits hypervisors set (A, D, RW, US, PS, NX): only P
	 * and the PFN count */
	t_pt_put(pt, PAE_DTB + 16, t_pt_get(pt, PAE_DTB + 16) | 0x1E6 | T_NX);
	t_pt_map_large(pt, 0x80000000, 1, 0x600000, T_RW | T_G);
	t_pt_map_large(pt, 0x80200000, 1, 0x800000000ull, T_RW | T_NX);
	t_pt_map(pt, 0x82a00000, 0x701000, T_RW | T_A | T_D | T_G);
	t_pt_map(pt, 0x82a01000, 0x703000, T_RW | T_A);
	t_pt_map(pt, 0x82a02000, 0x702000, T_NX);
	t_pt_set(pt, 0x82a03000, 2, 0x704000 | T_TRANS | (4 << 5));
	t_pt_set(pt, 0x82a04000, 2, 0xfffff480 | T_PROTO);
	/* read-only PDE over a writable PTE */
	t_pt_map(pt, 0x82e00000, 0x705000, T_RW);
	t_pt_put(pt, t_pt_entry_pa(pt, 0x82e00000, 1),
		 t_pt_get(pt, t_pt_entry_pa(pt, 0x82e00000, 1)) & ~T_RW);
	t_pt_map(pt, PAE_MISSING_VA, 0x706000, T_RW);
	t_pt_map(pt, 0x7ffe0000, 0x707000, T_US); /* user page */
	t_pt_map(pt, 0xfffff000, 0x708000, T_RW); /* the last page */
	t_pt_kernel(pt, 0x84000000, 8);
	return pt;
}

static const struct xcase pae_cases[] = {
	{0x80000000, EXQ_OK, 0x600000, 0x200000, EXQ_XF_LARGE | EXQ_XF_WRITE | EXQ_XF_GLOBAL, EXQ_XF_NX, NULL},
	{0x80012345, EXQ_OK, 0x612345, 0x200000, EXQ_XF_LARGE, EXQ_XF_TRANSITION, NULL},
	{0x803fffff, EXQ_OK, 0x8001fffffull, 0x200000, EXQ_XF_LARGE | EXQ_XF_NX, 0, NULL},
	{0x82a00abc, EXQ_OK, 0x701abc, 0x1000, EXQ_XF_PRESENT | EXQ_XF_WRITE | EXQ_XF_DIRTY, EXQ_XF_LARGE | EXQ_XF_USER | EXQ_XF_NX, NULL},
	{0x82a01000, EXQ_OK, 0x703000, 0x1000, EXQ_XF_WRITE, EXQ_XF_NX, NULL},
	{0x82a02fff, EXQ_OK, 0x702fff, 0x1000, EXQ_XF_NX, EXQ_XF_WRITE, NULL},
	{0x82a03abc, EXQ_OK, 0x704abc, 0x1000, EXQ_XF_TRANSITION, EXQ_XF_PRESENT, NULL},
	{0x82a04000, EXQ_NOTPRESENT, 0, 0, 0, 0, "PTE[0x4] = 0xfffff480 not present (prototype PTE)"},
	{0x82a05000, EXQ_NOTPRESENT, 0, 0, 0, 0, "VA 0x82a05000: PTE[0x5] = 0x0 not present"},
	{0xfe400000, EXQ_NOTPRESENT, 0, 0, 0, 0, "PDE[0x1f2] = 0x0 not present"},
	{0x00001000, EXQ_NOTPRESENT, 0, 0, 0, 0, "PDE[0x0] = 0x0 not present"},
	{0x82e00000, EXQ_OK, 0x705000, 0x1000, EXQ_XF_PRESENT, EXQ_XF_WRITE, NULL},
	{0x7ffe0010, EXQ_OK, 0x707010, 0x1000, EXQ_XF_USER, EXQ_XF_WRITE, NULL},
	{PAE_MISSING_VA, EXQ_OK, 0x706000, 0x1000, 0, 0, NULL},
	/* the self-map: PDE_BASE + k pages is PD k */
	{0xc0600000, EXQ_OK, PAE_DTB + 0x1000, 0x1000, 0, 0, NULL},
	{0xc0603000, EXQ_OK, PAE_DTB + 0x4000, 0x1000, 0, 0, NULL},
	{0x100000000ull, EXQ_INVALID, 0, 0, 0, 0, "above 4 GiB"},
};

static void pae_walks(void **state)
{
	struct t_pt *pt = make_pae();
	exq_image *img = open_raw(pt);
	exq_vspace *vs;
	exq_xlat x;
	(void)state;
	assert_int_equal(exq_vspace_new(&vs, img, EXQ_PAGING_PAE, PAE_DTB | 0x7), EXQ_OK);
	assert_int_equal(exq_vspace_dtb(vs), PAE_DTB);
	assert_string_equal(exq_vspace_dtb_source(vs), "caller");
	run_cases(img, vs, pae_cases, sizeof(pae_cases) / sizeof(pae_cases[0]));
	/* the chain of a 4 KiB walk */
	assert_int_equal(exq_vtop(vs, 0x82a01234, &x), EXQ_OK);
	assert_int_equal(x.nlevels, 3);
	assert_string_equal(x.levels[0].name, "PDPTE");
	assert_int_equal(x.levels[0].index, 2);
	assert_int_equal(x.levels[0].entry_pa, PAE_DTB + 16);
	assert_int_equal(x.levels[0].flags, EXQ_XF_PRESENT); /* only P */
	assert_string_equal(x.levels[1].name, "PDE");
	assert_int_equal(x.levels[1].index, 0x15);
	assert_string_equal(x.levels[2].name, "PTE");
	assert_int_equal(x.levels[2].index, 1);
	assert_int_equal(x.levels[2].entry, 0x703000 | T_RW | T_A | T_P);
	/* a failed walk still shows where it stopped */
	assert_int_equal(exq_vtop(vs, 0xfe400000, &x), EXQ_NOTPRESENT);
	assert_int_equal(x.nlevels, 2);
	assert_string_equal(x.levels[1].name, "PDE");
	assert_int_equal(x.levels[1].index, 0x1f2);
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

/* A page table that is not in the dump is NODATA, naming the PDE. */
static void pae_missing_table(void **state)
{
	struct t_pt *pt = make_pae();
	uint64_t pde = t_pt_find_entry(pt, PAE_MISSING_VA, 1);
	uint64_t ptpfn = (t_pt_get(pt, pde) & 0xFFFFFFFFF000ull) >> 12;
	exq_run runs[2] = {{0, ptpfn}, {ptpfn + 1, 2048 - ptpfn - 1}};
	size_t len;
	uint8_t *dmp = t_pt_dump(pt, runs, 2, &len);
	exq_image *img = exq_image_new();
	exq_vspace *vs;
	exq_xlat x;
	char want[128];
	(void)state;
	assert_int_equal(exq_image_open_mem(img, dmp, len), EXQ_OK);
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_OK);
	assert_string_equal(exq_vspace_dtb_source(vs), "header");
	assert_int_equal(exq_vspace_paging(vs), EXQ_PAGING_PAE);
	/* everything else translates as on the raw image */
	run_cases(img, vs, pae_cases, 13);
	assert_int_equal(exq_vtop(vs, PAE_MISSING_VA, &x), EXQ_NODATA);
	assert_int_equal(x.nlevels, 2);
	snprintf(want, sizeof(want), "page table at PA 0x%llx named by PDE[0x16]",
		 (unsigned long long)(ptpfn << 12));
	if (!strstr(exq_image_error(img), want))
		fail_msg("message '%s' lacks '%s'", exq_image_error(img), want);
	assert_non_null(strstr(exq_image_error(img), "not in this windmp32 image"));
	exq_vspace_free(vs);
	exq_image_free(img);
	free(dmp);
	t_pt_free(pt);
}

/* ------------------------------------------------------------- x86 */

static struct t_pt *make_x86(void)
{
	struct t_pt *pt = t_pt_new(EXQ_PAGING_X86, 8 * MiB, 0x39000, 0x100000,
				   0x200000);
	t_pt_selfmap(pt, 0);
	t_pt_map_large(pt, 0x80000000, 0, 0x400000, T_RW | T_G);
	/* PSE-36: a 4 MiB page above 4 GiB */
	t_pt_map_large(pt, 0x80400000, 0, 0x300400000ull, T_RW);
	t_pt_map(pt, 0x82a00000, 0x701000, T_RW | T_A | T_D);
	t_pt_map(pt, 0x82a01000, 0x703000, 0);
	t_pt_set(pt, 0x82a03000, 1, 0x704000 | T_TRANS | (4 << 5));
	t_pt_set(pt, 0x82a04000, 1, 0x12345400);
	t_pt_map(pt, 0x00010000, 0x705000, T_US | T_RW);
	return pt;
}

static const struct xcase x86_cases[] = {
	{0x80000000, EXQ_OK, 0x400000, 0x400000, EXQ_XF_LARGE | EXQ_XF_WRITE | EXQ_XF_GLOBAL, EXQ_XF_NX, NULL},
	{0x803fffff, EXQ_OK, 0x7fffff, 0x400000, EXQ_XF_LARGE, 0, NULL},
	{0x80412345, EXQ_OK, 0x300412345ull, 0x400000, EXQ_XF_LARGE, 0, NULL},
	{0x82a00010, EXQ_OK, 0x701010, 0x1000, EXQ_XF_WRITE | EXQ_XF_DIRTY, EXQ_XF_USER, NULL},
	{0x82a01010, EXQ_OK, 0x703010, 0x1000, EXQ_XF_PRESENT, EXQ_XF_WRITE, NULL},
	{0x82a02000, EXQ_NOTPRESENT, 0, 0, 0, 0, "PTE[0x202] = 0x0 not present"},
	{0x82a03004, EXQ_OK, 0x704004, 0x1000, EXQ_XF_TRANSITION, EXQ_XF_PRESENT, NULL},
	{0x82a04000, EXQ_NOTPRESENT, 0, 0, 0, 0, "PTE[0x204] = 0x12345400 not present (prototype PTE)"},
	{0x00010ffc, EXQ_OK, 0x705ffc, 0x1000, EXQ_XF_USER | EXQ_XF_WRITE, 0, NULL},
	{0xfe400000, EXQ_NOTPRESENT, 0, 0, 0, 0, "PDE[0x3f9] = 0x0 not present"},
	{0xc0300000, EXQ_OK, 0x39000, 0x1000, 0, 0, NULL},
	{0xc0300c00, EXQ_OK, 0x39c00, 0x1000, 0, 0, NULL},
	{0x1ffffffffull, EXQ_INVALID, 0, 0, 0, 0, "above 4 GiB"},
};

static void x86_walks(void **state)
{
	struct t_pt *pt = make_x86();
	exq_image *img = open_raw(pt);
	exq_vspace *vs;
	exq_xlat x;
	(void)state;
	assert_int_equal(exq_vspace_new(&vs, img, EXQ_PAGING_X86, 0x39018), EXQ_OK);
	assert_int_equal(exq_vspace_dtb(vs), 0x39000);
	run_cases(img, vs, x86_cases, sizeof(x86_cases) / sizeof(x86_cases[0]));
	assert_int_equal(exq_vtop(vs, 0x82a00000, &x), EXQ_OK);
	assert_int_equal(x.nlevels, 2);
	assert_string_equal(x.levels[0].name, "PDE");
	assert_int_equal(x.levels[0].index, 0x20a);
	assert_int_equal(x.levels[0].entry_pa, 0x39000 + 4 * 0x20a);
	assert_string_equal(x.levels[1].name, "PTE");
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

/* ------------------------------------------------------------- x64 */

#define X64_DTB 0x1ad000ull

static struct t_pt *make_x64(void)
{
	struct t_pt *pt = t_pt_new(EXQ_PAGING_X64, 8 * MiB, X64_DTB, 0x200000,
				   0x400000);
	t_pt_selfmap(pt, 0x1ed);
	t_pt_map_large(pt, 0xfffff88000000000ull, 1, 0x40000000, T_RW | T_G);
	t_pt_map_large(pt, 0xfffff80002000000ull, 2, 0x600000, T_RW);
	t_pt_map(pt, 0xfffff80003000000ull, 0x701000, T_RW | T_G);
	t_pt_map(pt, 0xfffff80003001000ull, 0x703000, T_RW | T_NX);
	t_pt_set(pt, 0xfffff80003002000ull, 3, 0x704000 | T_TRANS | (4 << 5));
	/* NX on the PML4 entry covers the 4 KiB page below it */
	t_pt_map(pt, 0xfffffa8000000000ull, 0x705000, T_RW);
	t_pt_put(pt, t_pt_entry_pa(pt, 0xfffffa8000000000ull, 0),
		 t_pt_get(pt, t_pt_entry_pa(pt, 0xfffffa8000000000ull, 0)) | T_NX);
	t_pt_map(pt, 0x7ff0000, 0x706000, T_US);
	return pt;
}

static const struct xcase x64_cases[] = {
	{0xfffff88012345678ull, EXQ_OK, 0x52345678, 0x40000000, EXQ_XF_LARGE | EXQ_XF_GLOBAL, EXQ_XF_NX, NULL},
	{0xfffff800021fffffull, EXQ_OK, 0x7fffff, 0x200000, EXQ_XF_LARGE | EXQ_XF_WRITE, 0, NULL},
	{0xfffff80003000008ull, EXQ_OK, 0x701008, 0x1000, EXQ_XF_WRITE | EXQ_XF_GLOBAL, EXQ_XF_NX | EXQ_XF_LARGE, NULL},
	{0xfffff80003001008ull, EXQ_OK, 0x703008, 0x1000, EXQ_XF_NX, 0, NULL},
	{0xfffff80003002008ull, EXQ_OK, 0x704008, 0x1000, EXQ_XF_TRANSITION, EXQ_XF_PRESENT, NULL},
	{0xfffff80003003000ull, EXQ_NOTPRESENT, 0, 0, 0, 0, "PTE[0x3] = 0x0 not present"},
	{0xfffffa8000000010ull, EXQ_OK, 0x705010, 0x1000, EXQ_XF_NX | EXQ_XF_WRITE, 0, NULL},
	{0x7ff0010, EXQ_OK, 0x706010, 0x1000, EXQ_XF_USER, EXQ_XF_WRITE, NULL},
	{0xffff900000000000ull, EXQ_NOTPRESENT, 0, 0, 0, 0, "PML4E[0x120] = 0x0 not present"},
	{0xfffff80040000000ull, EXQ_NOTPRESENT, 0, 0, 0, 0, "PDPTE[0x1] = 0x0 not present"},
	{0x0000800000000000ull, EXQ_INVALID, 0, 0, 0, 0, "not canonical"},
	{0xfffef80000000000ull, EXQ_INVALID, 0, 0, 0, 0, "not canonical"},
	/* the self-map: PML4E 0x1ed four times names the PML4 */
	{0xfffff6fb7dbed000ull, EXQ_OK, X64_DTB, 0x1000, EXQ_XF_NX, 0, NULL},
};

static void x64_walks(void **state)
{
	struct t_pt *pt = make_x64();
	exq_image *img = open_raw(pt);
	exq_vspace *vs;
	exq_xlat x;
	(void)state;
	/* PCID bits in CR3 are dropped */
	assert_int_equal(exq_vspace_new(&vs, img, EXQ_PAGING_X64, X64_DTB | 0x2), EXQ_OK);
	assert_int_equal(exq_vspace_dtb(vs), X64_DTB);
	run_cases(img, vs, x64_cases, sizeof(x64_cases) / sizeof(x64_cases[0]));
	assert_int_equal(exq_vtop(vs, 0xfffff80003000000ull, &x), EXQ_OK);
	assert_int_equal(x.nlevels, 4);
	assert_string_equal(x.levels[0].name, "PML4E");
	assert_int_equal(x.levels[0].index, 0x1f0);
	assert_string_equal(x.levels[1].name, "PDPTE");
	assert_string_equal(x.levels[2].name, "PDE");
	assert_string_equal(x.levels[3].name, "PTE");
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

/* ------------------------------------------------------ virtual reads */

static void put_bytes(struct t_pt *pt, uint64_t pa, const char *s, size_t n)
{
	memcpy(pt->mem + pa, s, n);
}

static void read_straddle(void **state)
{
	static const char text[] = "0123456789abcdef-STRADDLE-fedcba9876543210";
	struct t_pt *pt = make_pae();
	exq_image *img;
	exq_vspace *vs;
	char buf[64];
	size_t done = 99, half = 20;
	uint8_t *dmp;
	size_t len;
	exq_run run = {0, 2048};
	int pass;
	(void)state;
	/* VA 0x82a00000 → 0x701000, 0x82a01000 → 0x703000 */
	put_bytes(pt, 0x701000 + 4096 - half, text, half);
	put_bytes(pt, 0x703000, text + half, sizeof(text) - half);
	put_bytes(pt, 0x704ff0, "transition-page!", 16);
	dmp = t_pt_dump(pt, &run, 1, &len);
	for (pass = 0; pass < 2; pass++) {
		img = pass ? exq_image_new() : open_raw(pt);
		if (pass)
			assert_int_equal(exq_image_open_mem(img, dmp, len), EXQ_OK);
		assert_int_equal(exq_vspace_new(&vs, img, EXQ_PAGING_PAE, PAE_DTB), EXQ_OK);
		memset(buf, 0, sizeof(buf));
		assert_int_equal(exq_read_virt(vs, 0x82a01000 - half, buf, sizeof(text), &done), EXQ_OK);
		assert_int_equal(done, sizeof(text));
		assert_memory_equal(buf, text, sizeof(text));
		/* again, now from the TLB */
		memset(buf, 0, sizeof(buf));
		assert_int_equal(exq_read_virt(vs, 0x82a01000 - half, buf, sizeof(text), NULL), EXQ_OK);
		assert_memory_equal(buf, text, sizeof(text));
		/* a transition page reads */
		assert_int_equal(exq_read_virt(vs, 0x82a03ff0, buf, 16, &done), EXQ_OK);
		assert_memory_equal(buf, "transition-page!", 16);
		/* running into a prototype PTE: partial read */
		assert_int_equal(exq_read_virt(vs, 0x82a03ff0, buf, 32, &done), EXQ_NOTPRESENT);
		assert_int_equal(done, 16);
		assert_non_null(strstr(exq_image_error(img), "PTE[0x4]"));
		/* a mapped page outside the image: NODATA with the PA */
		assert_int_equal(exq_read_virt(vs, 0x80200000, buf, 8, &done), EXQ_NODATA);
		assert_int_equal(done, 0);
		assert_non_null(strstr(exq_image_error(img), "PA 0x800000000"));
		/* wrap-around and bad arguments */
		assert_int_equal(exq_read_virt(vs, 0xfffffff0ull, buf, 32, &done), EXQ_INVALID);
		assert_int_equal(done, 16);
		assert_int_equal(exq_read_virt(vs, 0x82a00000, NULL, 4, &done), EXQ_INVALID);
		assert_int_equal(exq_read_virt(vs, 0x82a00000, NULL, 0, &done), EXQ_OK);
		exq_vspace_free(vs);
		exq_image_free(img);
	}
	free(dmp);
	t_pt_free(pt);
}

/* read_virt (TLB) agrees with vtop + read_phys on random reads. */
static void read_tlb_agrees(void **state)
{
	struct t_pt *pt = make_pae();
	exq_image *img;
	exq_vspace *vs;
	uint64_t seed = 42, i;
	uint8_t a[300], b[300];
	uint64_t p;
	(void)state;
	for (p = 0x600000; p < 0x800000; p += 8)
		t_put64(pt->mem + p, p * 0x9E3779B97F4A7C15ull);
	for (p = 0x700000; p < 0x708000; p += 8)
		t_put64(pt->mem + p, ~p);
	img = open_raw(pt);
	assert_int_equal(exq_vspace_new(&vs, img, EXQ_PAGING_PAE, PAE_DTB), EXQ_OK);
	for (i = 0; i < 20000; i++) {
		static const uint64_t bases[] = {0x80000000, 0x80100000, 0x82a00000,
						 0x82a01000, 0x82a02000, 0x82e00000};
		uint64_t va = bases[t_rand(&seed) % 6] + t_rand(&seed) % 8192;
		size_t len = 1 + (size_t)(t_rand(&seed) % sizeof(a)), done, got = 0;
		exq_status st = exq_read_virt(vs, va, a, len, &done);
		/* the reference: page by page through vtop and read_phys */
		while (got < len) {
			exq_xlat x;
			size_t n = 4096 - ((va + got) & 4095);
			if (n > len - got)
				n = len - got;
			if (exq_vtop(vs, va + got, &x) != EXQ_OK ||
			    exq_read_phys(img, x.pa, b + got, n, NULL) != EXQ_OK)
				break;
			got += n;
		}
		assert_int_equal(done, got);
		assert_int_equal(st == EXQ_OK, got == len);
		assert_memory_equal(a, b, got);
	}
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

/* ------------------------------------------------------ vspace_open */

static void open_sources(void **state)
{
	struct t_pt *pt = make_pae();
	exq_run run = {0, 2048};
	size_t len;
	uint8_t *dmp = t_pt_dump(pt, &run, 1, &len);
	exq_image *img;
	exq_vspace *vs;
	exq_xlat x;
	(void)state;
	/* the --dtb override wins over the header */
	img = exq_image_new();
	assert_int_equal(exq_image_set_dtb(img, 0x39000), EXQ_OK);
	assert_int_equal(exq_image_open_mem(img, dmp, len), EXQ_OK);
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_OK);
	assert_string_equal(exq_vspace_dtb_source(vs), "override");
	assert_int_equal(exq_vspace_dtb(vs), 0x39000);
	exq_vspace_free(vs);
	exq_image_free(img);
	/* a DTB with an unknown paging mode: raw + --dtb picks PAE */
	img = exq_image_new();
	assert_int_equal(exq_image_set_dtb(img, PAE_DTB), EXQ_OK);
	assert_int_equal(exq_image_open_mem(img, pt->mem, pt->mem_size), EXQ_OK);
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_OK);
	assert_int_equal(exq_vspace_paging(vs), EXQ_PAGING_PAE);
	assert_string_equal(exq_vspace_dtb_source(vs), "override");
	assert_int_equal(exq_image_get_info(img)->paging, EXQ_PAGING_PAE);
	assert_int_equal(exq_vtop(vs, 0x82a00000, &x), EXQ_OK);
	assert_int_equal(x.pa, 0x701000);
	exq_vspace_free(vs);
	exq_image_free(img);
	/* ... and a DTB that maps nothing in any mode */
	img = exq_image_new();
	assert_int_equal(exq_image_set_dtb(img, 0x10000), EXQ_OK);
	assert_int_equal(exq_image_open_mem(img, pt->mem, pt->mem_size), EXQ_OK);
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_NOTFOUND);
	assert_non_null(strstr(exq_image_error(img), "--paging"));
	exq_image_free(img);
	/* bad arguments */
	assert_int_equal(exq_vspace_open(NULL, NULL), EXQ_INVALID);
	img = exq_image_new();
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_INVALID);
	assert_int_equal(exq_vspace_new(&vs, img, EXQ_PAGING_PAE, 0), EXQ_INVALID);
	exq_image_free(img);
	exq_vspace_free(NULL);
	assert_int_equal(exq_vtop(NULL, 0, &x), EXQ_INVALID);
	free(dmp);
	t_pt_free(pt);
}

/* ------------------------------------------------ random page tables */

/* A random entry value that is not present (P clear): zero, garbage,
 * transition, prototype. */
static uint64_t rnd_absent(uint64_t *seed, unsigned esize)
{
	uint64_t r = t_rand(seed), v;
	switch (r % 4) {
	case 0: v = 0; break;
	case 1: v = (t_rand(seed) & 0xFFFFF000ull) | T_TRANS | (r & 0x3E0); break;
	case 2: v = t_rand(seed) | T_PROTO; break;
	default: v = t_rand(seed); break;
	}
	v &= ~T_P;
	return esize == 4 ? v & 0xFFFFFFFFull : v;
}

/* Random leaf flags: any of the low bits, NX on 8-byte entries. */
static uint64_t rnd_leaf(uint64_t *seed, const struct t_pt *pt, uint64_t pfn_bits)
{
	uint64_t r = t_rand(seed);
	uint64_t v = (r & 0xFFEull) | T_P | ((t_rand(seed) & ((1ull << pfn_bits) - 1)) << 12);
	if (pt->esize == 8 && (r & (1ull << 40)))
		v |= T_NX;
	return pt->esize == 4 ? v & 0xFFFFFFFFull : v;
}

/* Random page tables under the root, recording the VA prefix of every
 * table created (so that random VAs hit populated regions). */
static void fill_table(struct t_pt *pt, uint64_t table, unsigned lvl,
		       uint64_t va_base, uint64_t *seed, uint64_t *prefixes,
		       size_t *np, size_t maxp, unsigned budget)
{
	unsigned n = (pt->paging == EXQ_PAGING_PAE && lvl == 0) ? 4 : 4096 / pt->esize;
	unsigned i, last = lvl + 1 == pt->levels;
	static const unsigned sh[3][4] = {{22, 12}, {30, 21, 12}, {39, 30, 21, 12}};
	unsigned m = pt->paging == EXQ_PAGING_X86 ? 0 : pt->paging == EXQ_PAGING_PAE ? 1 : 2;
	if (*np < maxp)
		prefixes[(*np)++] = va_base | lvl; /* level in the low bits */
	for (i = 0; i < n; i++) {
		uint64_t epa = table + (uint64_t)i * pt->esize, r = t_rand(seed) % 100;
		uint64_t va = va_base | ((uint64_t)i << sh[m][lvl]);
		uint64_t lsize = t_pt_large_size(pt, lvl);
		if (last) {
			t_pt_put(pt, epa, r < 55 ? rnd_leaf(seed, pt, pt->esize == 4 ? 20 : 36)
						 : rnd_absent(seed, pt->esize));
		} else if (r < (lvl == 0 && pt->paging == EXQ_PAGING_PAE ? 85u : budget)) {
			uint64_t page = pt->next, e;
			if (page + 4096 > pt->pool_end) {
				t_pt_put(pt, epa, rnd_absent(seed, pt->esize));
				continue;
			}
			pt->next += 4096;
			memset(pt->mem + page, 0, 4096);
			e = page | T_P;
			if (!(pt->paging == EXQ_PAGING_PAE && lvl == 0))
				e |= (t_rand(seed) & 0x7E) & ~T_PS;
			else
				e |= t_rand(seed) & 0x1E6; /* reserved bits QEMU sets */
			t_pt_put(pt, epa, e);
			fill_table(pt, page, lvl + 1, va, seed, prefixes, np, maxp,
				   budget / 2 + 2);
		} else if (r >= budget + 15 && r < budget + 17) {
			/* a table page that is not in memory: NODATA */
			uint64_t e = ((pt->mem_size + (t_rand(seed) % 4096) * 4096) & 0xFFFFF000ull) | T_P | T_RW;
			t_pt_put(pt, epa, e);
			if (*np < maxp)
				prefixes[(*np)++] = va | (lvl + 1); /* hit it */
		} else if (lsize && r < budget + 15) {
			uint64_t e = rnd_leaf(seed, pt, pt->esize == 4 ? 28 : 36) | T_PS;
			if (pt->esize == 4)
				e &= ~(1ull << 21); /* reserved in a 4 MiB PDE */
			t_pt_put(pt, epa, e);
		} else {
			uint64_t e = rnd_absent(seed, pt->esize);
			if (lvl == 0 && pt->paging == EXQ_PAGING_X64)
				e &= ~T_PS;
			t_pt_put(pt, epa, e);
		}
	}
}

static uint64_t canon(uint64_t va)
{
	return (va & (1ull << 47)) ? va | 0xFFFF000000000000ull : va & 0x0000FFFFFFFFFFFFull;
}

/* A random VA: mostly inside a populated table (prefix + random bits
 * below it), sometimes anywhere; a few above 4 GiB (x86/PAE) or
 * non-canonical (x64). */
static uint64_t random_va(exq_paging paging, uint64_t *seed,
			  const uint64_t *prefixes, size_t np)
{
	static const unsigned below[3][4] = {{32, 22}, {32, 30, 21}, {48, 39, 30, 21}};
	unsigned m = paging == EXQ_PAGING_X86 ? 0 : paging == EXQ_PAGING_PAE ? 1 : 2;
	uint64_t r = t_rand(seed), va;
	if (r % 8 == 0 || !np) {
		va = t_rand(seed);
	} else {
		uint64_t p = prefixes[(r >> 8) % np];
		unsigned lvl = (unsigned)(p & 7);
		va = (p & ~7ull) | (t_rand(seed) & ((1ull << below[m][lvl]) - 1));
	}
	if (paging != EXQ_PAGING_X64)
		return r % 64 ? va & 0xFFFFFFFFull : va;
	return r % 64 ? canon(va) : va;
}

/* ------------------------------------------ the TLB (exq_vtop_pa, reads) */

/* On random page tables (present, absent, transition, prototype, large,
 * tables missing from the image, VAs out of the mode), VAs drawn again
 * and again from a pool: every answer of exq_vtop_pa, first and repeated,
 * is the walk's; and most of them came from the TLB. */
static void tlb_random_mode(exq_paging paging, uint64_t dtb, unsigned budget)
{
	struct t_pt *pt = t_pt_new(paging, 32 * MiB, dtb, 0x400000, 32 * MiB);
	uint64_t seed = 0x7157 + (uint64_t)paging, prefixes[4096], pool[3000];
	uint64_t hits, misses;
	size_t np = 0, i;
	exq_image *img;
	exq_vspace *vs;
	fill_table(pt, dtb & ~0x1Full, 0, 0, &seed, prefixes, &np, 4096, budget);
	for (i = 0; i < 3000; i++)
		pool[i] = random_va(paging, &seed, prefixes, np);
	img = open_raw(pt);
	assert_int_equal(exq_vspace_new(&vs, img, paging, dtb), EXQ_OK);
	for (i = 0; i < 40000; i++)
		check_pa(img, vs, pool[t_rand(&seed) % 3000], 1);
	exq__vspace_tlb_stats(vs, &hits, &misses);
	print_message("TLB %s: %llu hits, %llu misses\n", exq_paging_name(paging),
		      (unsigned long long)hits, (unsigned long long)misses);
	assert_true(hits > 10000);
	assert_true(misses > 1000);
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

static void tlb_random_pae(void **state)
{
	(void)state;
	tlb_random_mode(EXQ_PAGING_PAE, 0x185020, 40);
}

static void tlb_random_x86(void **state)
{
	(void)state;
	tlb_random_mode(EXQ_PAGING_X86, 0x39000, 40);
}

static void tlb_random_x64(void **state)
{
	(void)state;
	tlb_random_mode(EXQ_PAGING_X64, 0x1ad000, 3);
}

/* VAs 1 GiB apart share a TLB set (for any set count up to 2^18): more of
 * them than the set has ways, asked in orders that hit, miss and evict.
 * Each answer must be its own page's: an entry served without comparing
 * its tag, or the wrong way of a set, gives another VA's PA (and
 * exq_read_virt another frame's bytes). */
static void tlb_alias_mode(exq_paging paging, uint64_t dtb, uint64_t base,
			   unsigned nva)
{
	struct t_pt *pt = t_pt_new(paging, 16 * MiB, dtb, 0x200000, 0x400000);
	static const unsigned order[] = {0, 1, 0, 1, 1, 0, 2, 0, 1, 2, 3, 3, 0,
					 7, 6, 5, 4, 3, 2, 1, 0, 0, 2, 4, 6, 1,
					 3, 5, 7, 7, 6, 6, 0, 1, 2, 0, 1, 2};
	uint64_t va[8], pa[8], hits, misses, large_va, got;
	exq_image *img;
	exq_vspace *vs;
	size_t r, i;
	assert_true(nva <= 8);
	for (i = 0; i < nva; i++) {
		va[i] = base + i * 0x40000000ull;
		pa[i] = 0x800000 + i * 0x3000;
		t_pt_map(pt, va[i], pa[i], T_RW);
		t_put64(pt->mem + pa[i] + 0x18, 0x1000 + i);
	}
	/* and a large page whose 4 KiB page at +0x1000 shares the set of
	 * va[k] + 0x1000 */
	large_va = (base & ~0x3FFFFFFFull) + nva * 0x40000000ull;
	if (paging == EXQ_PAGING_X64 || large_va <= 0xFFFFFFFFull)
		t_pt_map_large(pt, large_va, t_pt_levels(pt) - 2, 0xC00000, T_RW);
	img = open_raw(pt);
	assert_int_equal(exq_vspace_new(&vs, img, paging, dtb), EXQ_OK);
	/* a set holds two of them: a b a b is two misses, then two hits */
	for (i = 0; i < 4; i++)
		assert_int_equal(exq_vtop_pa(vs, va[i % 2], &got, NULL, NULL), EXQ_OK);
	exq__vspace_tlb_stats(vs, &hits, &misses);
	assert_int_equal(hits, 2);
	assert_int_equal(misses, 2);
	for (r = 0; r < 5; r++) {
		for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			unsigned k = order[i] % nva;
			uint64_t off = (r * 0x1F8 + i * 8) & 0xFF8, size;
			assert_int_equal(exq_vtop_pa(vs, va[k] + off, &got, &size, NULL),
					 EXQ_OK);
			if (got != pa[k] + off)
				fail_msg("%s VA 0x%llx (round %zu, step %zu): PA 0x%llx, "
					 "want 0x%llx", exq_paging_name(paging),
					 (unsigned long long)(va[k] + off), r, i,
					 (unsigned long long)got,
					 (unsigned long long)(pa[k] + off));
			assert_int_equal(size, 0x1000);
			assert_int_equal(exq_read_virt(vs, va[k] + 0x18, &got, 8, NULL),
					 EXQ_OK);
			assert_int_equal(got, 0x1000 + k);
			if (paging == EXQ_PAGING_X64 || large_va <= 0xFFFFFFFFull) {
				check_pa(img, vs, large_va + 0x1000 + off, 2);
				check_pa(img, vs, va[k] + 0x1000, 1); /* NOTPRESENT */
			}
		}
	}
	exq__vspace_tlb_stats(vs, &hits, &misses);
	assert_true(hits > 100);      /* the TLB served ... */
	assert_true(misses > 5 * nva); /* ... and evicted */
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

static void tlb_aliasing(void **state)
{
	(void)state;
	tlb_alias_mode(EXQ_PAGING_PAE, 0x185000, 0x00005000, 3);
	tlb_alias_mode(EXQ_PAGING_X86, 0x39000, 0x00005000, 3);
	tlb_alias_mode(EXQ_PAGING_X64, 0x1ad000, 0xfffff80000005000ull, 8);
	tlb_alias_mode(EXQ_PAGING_X64, 0x1ad000, 0x0000000000005000ull, 5);
}

/* Failures are not kept: each lookup of a VA that does not translate
 * walks again and says why again. */
static void tlb_failures_walk(void **state)
{
	struct t_pt *pt = make_pae();
	exq_image *img = open_raw(pt);
	exq_vspace *vs;
	uint64_t h0, m0, h1, m1, pa;
	int k;
	(void)state;
	assert_int_equal(exq_vspace_new(&vs, img, EXQ_PAGING_PAE, PAE_DTB), EXQ_OK);
	exq__vspace_tlb_stats(vs, &h0, &m0);
	for (k = 0; k < 3; k++) {
		exq__err_clear(&img->err);
		assert_int_equal(exq_vtop_pa(vs, 0x82a05000, &pa, NULL, NULL),
				 EXQ_NOTPRESENT);
		assert_non_null(strstr(exq_image_error(img), "PTE[0x5] = 0x0 not present"));
	}
	exq__vspace_tlb_stats(vs, &h1, &m1);
	assert_int_equal(h1, h0);
	assert_int_equal(m1, m0 + 3);
	/* bad arguments */
	assert_int_equal(exq_vtop_pa(NULL, 0x82a00000, &pa, NULL, NULL), EXQ_INVALID);
	assert_int_equal(exq_vtop_pa(vs, 0x82a00000, NULL, NULL, NULL), EXQ_INVALID);
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

/* Re-opening the image under a live vspace empties its TLB: the answers
 * are the new image's. */
static void tlb_image_reopened(void **state)
{
	struct t_pt *a = make_pae(), *b = make_pae();
	exq_image *img;
	exq_vspace *vs;
	uint64_t pa, v;
	(void)state;
	t_pt_map(b, 0x82a00000, 0x709000, T_RW); /* a: 0x701000 */
	t_put64(a->mem + 0x701008, 0xaaaa);
	t_put64(b->mem + 0x709008, 0xbbbb);
	img = open_raw(a);
	assert_int_equal(exq_vspace_new(&vs, img, EXQ_PAGING_PAE, PAE_DTB), EXQ_OK);
	assert_int_equal(exq_vtop_pa(vs, 0x82a00008, &pa, NULL, NULL), EXQ_OK);
	assert_int_equal(pa, 0x701008);
	assert_int_equal(exq_read_virt(vs, 0x82a00008, &v, 8, NULL), EXQ_OK);
	assert_int_equal(v, 0xaaaa);
	assert_int_equal(exq_image_open_mem(img, b->mem, b->mem_size), EXQ_OK);
	assert_int_equal(exq_vtop_pa(vs, 0x82a00008, &pa, NULL, NULL), EXQ_OK);
	assert_int_equal(pa, 0x709008);
	assert_int_equal(exq_read_virt(vs, 0x82a00008, &v, 8, NULL), EXQ_OK);
	assert_int_equal(v, 0xbbbb);
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(a);
	t_pt_free(b);
}

/* ------------------------------------------ batches (exq_vtop_pa_many) */

/* pt's memory opened as a raw file (src 1: read through the page cache)
 * or in place (src 0). */
static exq_image *open_src(const struct t_pt *pt, int src)
{
	char path[] = "/tmp/exq-test-xlat-XXXXXX";
	exq_image *img;
	int fd;
	if (!src)
		return open_raw(pt);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pt->mem, pt->mem_size),
			 (ssize_t)pt->mem_size);
	close(fd);
	img = exq_image_new();
	assert_non_null(img);
	assert_int_equal(exq_image_open_file(img, path), EXQ_OK);
	unlink(path);
	return img;
}

/* exq_vtop_pa_many over va[0..n) answers as exq_vtop_pa one by one (on
 * ref, another vspace of the image) and exq_vtop: per VA the same status,
 * and on EXQ_OK the same PA and flags; elsewhere pa[i] and flags[i] are
 * left as they were. It returns the first failure's status with that
 * VA's message on the image. Then again with st and flags NULL, and in
 * place (pa = va). */
static void many_check(exq_image *img, exq_vspace *vs, exq_vspace *ref,
		       const uint64_t *va, size_t n)
{
	uint64_t *pa = malloc((n + 1) * sizeof(*pa));
	uint32_t *fl = malloc((n + 1) * sizeof(*fl));
	exq_status *st = malloc((n + 1) * sizeof(*st)), ret, first = EXQ_OK;
	char msg[1024], first_msg[1024] = "";
	size_t i;
	assert_true(pa && fl && st);
	for (i = 0; i < n; i++) {
		pa[i] = 0xbad000 + i;
		fl[i] = 0xbad;
	}
	exq__err_clear(&img->err);
	ret = exq_vtop_pa_many(vs, va, n, pa, fl, st);
	snprintf(msg, sizeof(msg), "%s", exq_image_error(img));
	for (i = 0; i < n; i++) {
		exq_xlat x;
		uint64_t rpa = 0;
		uint32_t rfl = 0;
		exq_status vst = exq_vtop(ref, va[i], &x);
		exq_status rst = exq_vtop_pa(ref, va[i], &rpa, NULL, &rfl);
		if (st[i] != rst || rst != vst)
			fail_msg("%zu of %zu: VA 0x%llx: many %s, vtop_pa %s, "
				 "vtop %s",
				 i, n, (unsigned long long)va[i],
				 exq_strerror(st[i]), exq_strerror(rst),
				 exq_strerror(vst));
		if (rst == EXQ_OK && (pa[i] != rpa || pa[i] != x.pa ||
				      fl[i] != rfl || fl[i] != x.flags))
			fail_msg("%zu of %zu: VA 0x%llx: many PA 0x%llx flags "
				 "0x%x, vtop_pa PA 0x%llx flags 0x%x",
				 i, n, (unsigned long long)va[i],
				 (unsigned long long)pa[i], fl[i],
				 (unsigned long long)rpa, rfl);
		if (rst != EXQ_OK) {
			assert_int_equal(pa[i], 0xbad000 + i);
			assert_int_equal(fl[i], 0xbad);
			if (first == EXQ_OK) {
				first = rst;
				snprintf(first_msg, sizeof(first_msg), "%s",
					 exq_image_error(img));
			}
		}
	}
	assert_int_equal(ret, first);
	if (first != EXQ_OK)
		assert_string_equal(msg, first_msg);
	/* no statuses or flags asked for; the answers in place of the VAs */
	memcpy(pa, va, n * sizeof(*pa));
	assert_int_equal(exq_vtop_pa_many(vs, pa, n, pa, NULL, NULL), first);
	for (i = 0; i < n; i++) {
		uint64_t rpa;
		if (exq_vtop_pa(ref, va[i], &rpa, NULL, NULL) == EXQ_OK)
			assert_int_equal(pa[i], rpa);
		else
			assert_int_equal(pa[i], va[i]);
	}
	free(pa);
	free(fl);
	free(st);
}

/* Batches of many sizes (0, 1, around the group of 16, large) of random
 * VAs over random page tables (everything tlb_random_mode meets), with
 * duplicates near each other (the same group), the TLB on and off; read
 * in place from memory, and through the page cache (a file: the cache is
 * 4 MiB, direct-mapped, and the tables span 28 MiB, so a group's table
 * pages evict each other). */
static void many_random_mode(exq_paging paging, uint64_t dtb, unsigned budget)
{
	static const size_t sizes[] = {0,  1,  2,  3,  7,   15,	 16,   17,
				       31, 32, 33, 63, 100, 257, 1000, 4099};
	struct t_pt *pt = t_pt_new(paging, 32 * MiB, dtb, 0x400000, 32 * MiB);
	uint64_t seed = 0x3a77 + (uint64_t)paging, prefixes[4096], pool[3000];
	uint64_t va[4099];
	size_t np = 0, i, k;
	int src, off;
	fill_table(pt, dtb & ~0x1Full, 0, 0, &seed, prefixes, &np, 4096,
		   budget);
	for (i = 0; i < 3000; i++)
		pool[i] = random_va(paging, &seed, prefixes, np);
	for (src = 0; src < 2; src++) {
		exq_image *img = open_src(pt, src);
		exq_vspace *vs, *ref;
		assert_int_equal(exq_vspace_new(&vs, img, paging, dtb), EXQ_OK);
		assert_int_equal(exq_vspace_new(&ref, img, paging, dtb),
				 EXQ_OK);
		for (off = 0; off < 2; off++) {
			exq__vspace_tlb_off(vs, off);
			for (k = 0; k < 2 * sizeof(sizes) / sizeof(sizes[0]);
			     k++) {
				size_t n = sizes[k % (sizeof(sizes) /
						      sizeof(sizes[0]))];
				for (i = 0; i < n; i++) {
					uint64_t r = t_rand(&seed);
					va[i] =
					    r % 5 == 0 && i
						? va[i - 1 -
						     r / 5 % (i < 9 ? i : 9)]
						: pool[r % 3000];
				}
				many_check(img, vs, ref, va, n);
			}
		}
		exq_vspace_free(vs);
		exq_vspace_free(ref);
		exq_image_free(img);
	}
	t_pt_free(pt);
}

static void many_random_pae(void **state)
{
	(void)state;
	many_random_mode(EXQ_PAGING_PAE, 0x185020, 40);
}

static void many_random_x86(void **state)
{
	(void)state;
	many_random_mode(EXQ_PAGING_X86, 0x39000, 40);
}

static void many_random_x64(void **state)
{
	(void)state;
	many_random_mode(EXQ_PAGING_X64, 0x1ad000, 3);
}

/* A group whose VAs each have their own page table and frame, the tables
 * 4 MiB apart (one page cache slot for all of them), mixed with VAs that
 * fail in different ways: each answer must be exactly its own VA's (a
 * walk that took another's entry, a result stored at another's index, or
 * a page cache pointer held while the slot was refilled gives another
 * frame or status). From memory and from a file, the TLB on and off,
 * and in every rotation (each VA at each place of the group). */
static void many_own_answers_mode(exq_paging paging, uint64_t dtb,
				  uint64_t base)
{
	enum { NT = 6, NV = 3 * NT + 4 };
	struct t_pt *pt = t_pt_new(paging, 32 * MiB, dtb, 0x200000, 32 * MiB);
	uint64_t region = paging == EXQ_PAGING_X86 ? 0x400000 : 0x200000;
	uint64_t va[NV], want[NV], got[NV], rot[NV], wrot[NV];
	exq_status st[NV], wst[NV], srot[NV];
	size_t i, k, r;
	int src, off;
	/* the upper tables first, from the low pool */
	t_pt_map(pt, base - region, 0x100000, T_RW);
	/* va[k], va[NT + k], va[2 * NT + k]: table k's (neighbours in the
	 * group have different tables); every table maps the same indexes,
	 * so that reading the wrong table or index gives a present entry
	 * and a wrong frame, not a failure that the walk behind redoes */
	for (k = 0; k < NT; k++) {
		uint64_t v = base + k * region;
		pt->next = 0x400000 * (k + 1) + 0x5000; /* PT: pcache slot 5 */
		t_pt_map(pt, v + 0x3000, 0x180000 + 0x1000 * k, T_RW);
		va[k] = v + 0x3000 + 8 * k;
		want[k] = 0x180000 + 0x1000 * k + 8 * k;
		wst[k] = EXQ_OK;
		va[NT + k] = v + 0x1000; /* same table, PTE not present */
		wst[NT + k] = EXQ_NOTPRESENT;
		t_pt_map(pt, v + 0x4000, 0x1a0000 + 0x1000 * k, T_RW);
		va[2 * NT + k] = v + 0x4000 + 0x10 * k;
		want[2 * NT + k] = 0x1a0000 + 0x1000 * k + 0x10 * k;
		wst[2 * NT + k] = EXQ_OK;
	}
	va[3 * NT] = base + NT * region + 0x1000; /* no table at all */
	wst[3 * NT] = EXQ_NOTPRESENT;
	va[3 * NT + 1] =
	    paging == EXQ_PAGING_X64 ? 0x0000900000000000ull : 0x100000000ull;
	wst[3 * NT + 1] = EXQ_INVALID;
	va[3 * NT + 2] = va[0]; /* a duplicate */
	want[3 * NT + 2] = want[0];
	wst[3 * NT + 2] = EXQ_OK;
	/* and a large page, read beyond its first 4 KiB */
	t_pt_map_large(pt, base + (NT + 2) * region, t_pt_levels(pt) - 2,
		       0x1c00000, T_RW);
	va[3 * NT + 3] = base + (NT + 2) * region + 0x12348;
	want[3 * NT + 3] = 0x1c12348;
	wst[3 * NT + 3] = EXQ_OK;
	for (src = 0; src < 2; src++) {
		exq_image *img = open_src(pt, src);
		exq_vspace *vs;
		assert_int_equal(exq_vspace_new(&vs, img, paging, dtb), EXQ_OK);
		for (off = 0; off < 2; off++) {
			exq__vspace_tlb_off(vs, off);
			for (r = 0; r < NV; r++) {
				for (i = 0; i < NV; i++) {
					rot[i] = va[(i + r) % NV];
					got[i] = 0;
				}
				exq_vtop_pa_many(vs, rot, NV, got, NULL, srot);
				for (i = 0; i < NV; i++) {
					k = (i + r) % NV;
					wrot[i] =
					    wst[k] == EXQ_OK ? want[k] : 0;
					st[i] = srot[i];
					if (st[i] != wst[k] ||
					    got[i] != wrot[i])
						fail_msg(
						    "%s src %d tlb-off %d "
						    "rotation %zu: "
						    "VA 0x%llx: %s PA 0x%llx, "
						    "want %s "
						    "0x%llx",
						    exq_paging_name(paging),
						    src, off, r,
						    (unsigned long long)rot[i],
						    exq_strerror(st[i]),
						    (unsigned long long)got[i],
						    exq_strerror(wst[k]),
						    (unsigned long long)
							wrot[i]);
				}
			}
		}
		exq_vspace_free(vs);
		exq_image_free(img);
	}
	t_pt_free(pt);
}

static void many_own_answers(void **state)
{
	(void)state;
	many_own_answers_mode(EXQ_PAGING_PAE, 0x185000, 0x82000000);
	many_own_answers_mode(EXQ_PAGING_X86, 0x39000, 0x82000000);
	many_own_answers_mode(EXQ_PAGING_X64, 0x1ad000, 0xfffff80002000000ull);
}

/* The hand-made tables of the walk tests (flags ANDed and ORed over the
 * levels, large pages, transition, prototype, a missing table), each case
 * VA with its neighbour pages, batched twice: the second batch's
 * neighbours (mapped beside each 4 KiB case that translates) miss the TLB
 * where the first filled the page-table cache; then one VA at a time
 * (exq_vtop_pa's walks use that cache too). */
static void many_cases_mode(struct t_pt *pt, exq_paging paging, uint64_t dtb,
			    const struct xcase *c, size_t n)
{
	exq_image *img;
	exq_vspace *vs, *ref;
	uint64_t va[3 * 32];
	size_t i;
	assert_true(n <= 32);
	for (i = 0; i < n; i++) {
		uint64_t e =
		    t_pt_find_entry(pt, c[i].va ^ 0x2000, t_pt_levels(pt) - 1);
		if (c[i].st == EXQ_OK && c[i].size == 0x1000 && e &&
		    !t_pt_get(pt, e))
			t_pt_map(pt, c[i].va ^ 0x2000, 0x7f0000 - 0x1000 * i,
				 T_RW | T_US);
	}
	img = open_raw(pt);
	assert_int_equal(exq_vspace_new(&vs, img, paging, dtb), EXQ_OK);
	assert_int_equal(exq_vspace_new(&ref, img, paging, dtb), EXQ_OK);
	for (i = 0; i < n; i++) {
		va[i] = c[i].va;
		va[n + i] = c[i].va ^ 0x1000;
		va[2 * n + i] = c[i].va ^ 0x2000;
	}
	many_check(img, vs, ref, va, 2 * n);
	many_check(img, vs, ref, va + n, 2 * n);
	exq_vspace_free(vs);
	/* and one by one on a fresh vspace: the neighbours' walks start from
	 * the page-table cache the case VAs' walks filled */
	assert_int_equal(exq_vspace_new(&vs, img, paging, dtb), EXQ_OK);
	for (i = 0; i < 3 * n; i++)
		check_pa(img, vs, va[i], 2);
	exq_vspace_free(vs);
	exq_vspace_free(ref);
	exq_image_free(img);
	t_pt_free(pt);
}

static void many_cases(void **state)
{
	(void)state;
	many_cases_mode(make_pae(), EXQ_PAGING_PAE, PAE_DTB, pae_cases,
			sizeof(pae_cases) / sizeof(pae_cases[0]));
	many_cases_mode(make_x86(), EXQ_PAGING_X86, 0x39000, x86_cases,
			sizeof(x86_cases) / sizeof(x86_cases[0]));
	many_cases_mode(make_x64(), EXQ_PAGING_X64, X64_DTB, x64_cases,
			sizeof(x64_cases) / sizeof(x64_cases[0]));
}

/* Bad arguments; n = 0 touches nothing. */
static void many_args(void **state)
{
	struct t_pt *pt = make_pae();
	exq_image *img = open_raw(pt);
	exq_vspace *vs;
	uint64_t va = 0x82a00008, pa = 0xbad;
	exq_status st = EXQ_CYCLE;
	(void)state;
	assert_int_equal(exq_vspace_new(&vs, img, EXQ_PAGING_PAE, PAE_DTB),
			 EXQ_OK);
	assert_int_equal(exq_vtop_pa_many(NULL, &va, 1, &pa, NULL, &st),
			 EXQ_INVALID);
	assert_int_equal(exq_vtop_pa_many(vs, NULL, 1, &pa, NULL, &st),
			 EXQ_INVALID);
	assert_int_equal(exq_vtop_pa_many(vs, &va, 1, NULL, NULL, &st),
			 EXQ_INVALID);
	assert_int_equal(pa, 0xbad);
	assert_int_equal(st, EXQ_CYCLE);
	assert_int_equal(exq_vtop_pa_many(vs, NULL, 0, NULL, NULL, NULL),
			 EXQ_OK);
	assert_int_equal(exq_vtop_pa_many(vs, &va, 0, &pa, NULL, &st), EXQ_OK);
	assert_int_equal(pa, 0xbad);
	assert_int_equal(st, EXQ_CYCLE);
	assert_int_equal(exq_vtop_pa_many(vs, &va, 1, &pa, NULL, &st), EXQ_OK);
	assert_int_equal(pa, 0x701008);
	assert_int_equal(st, EXQ_OK);
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

/* ------------------------------------------------ the oracle (libaddrxlat) */

#if EXQ_WITH_KDUMPFILE

#define ORACLE_VAS 100000

struct oracle {
	const struct t_pt *pt;
	addrxlat_ctx_t *ctx;
	addrxlat_meth_t meth;
};

static void or_put_page(const addrxlat_buffer_t *buf)
{
	(void)buf;
}

static addrxlat_status or_get_page(const addrxlat_cb_t *cb, addrxlat_buffer_t *buf)
{
	const struct t_pt *pt = cb->priv;
	uint64_t page = buf->addr.addr & ~(uint64_t)4095;
	if (buf->addr.as != ADDRXLAT_MACHPHYSADDR || page + 4096 > pt->mem_size)
		return ADDRXLAT_ERR_NODATA;
	buf->addr.addr = page;
	buf->ptr = pt->mem + page;
	buf->size = 4096;
	buf->byte_order = ADDRXLAT_LITTLE_ENDIAN;
	buf->put_page = or_put_page;
	return ADDRXLAT_OK;
}

static unsigned long or_read_caps(const addrxlat_cb_t *cb)
{
	(void)cb;
	return ADDRXLAT_CAPS(ADDRXLAT_MACHPHYSADDR);
}

static addrxlat_status or_value(const addrxlat_cb_t *cb, const char *name,
				addrxlat_addr_t *val)
{
	(void)cb;
	(void)name;
	(void)val;
	return ADDRXLAT_ERR_NODATA;
}

static addrxlat_status or_offsetof(const addrxlat_cb_t *cb, const char *obj,
				   const char *elem, addrxlat_addr_t *val)
{
	(void)cb;
	(void)obj;
	(void)elem;
	(void)val;
	return ADDRXLAT_ERR_NODATA;
}

static void oracle_init(struct oracle *o, const struct t_pt *pt)
{
	addrxlat_cb_t *cb;
	memset(o, 0, sizeof(*o));
	o->pt = pt;
	o->ctx = addrxlat_ctx_new();
	assert_non_null(o->ctx);
	cb = addrxlat_ctx_add_cb(o->ctx);
	assert_non_null(cb);
	/* all seven: add_cb leaves forwarding stubs otherwise (DESIGN §5) */
	cb->priv = (void *)pt;
	cb->get_page = or_get_page;
	cb->read_caps = or_read_caps;
	cb->reg_value = or_value;
	cb->sym_value = or_value;
	cb->sym_sizeof = or_value;
	cb->sym_offsetof = or_offsetof;
	cb->num_value = or_value;
	o->meth.kind = ADDRXLAT_PGT;
	o->meth.target_as = ADDRXLAT_MACHPHYSADDR;
	o->meth.param.pgt.root.as = ADDRXLAT_MACHPHYSADDR;
	o->meth.param.pgt.pte_mask = 0;
	if (pt->paging == EXQ_PAGING_PAE) {
		addrxlat_paging_form_t pf = {ADDRXLAT_PTE_IA32_PAE, 4, {12, 9, 9, 2}};
		o->meth.param.pgt.root.addr = pt->dtb & ~0x1Full;
		o->meth.param.pgt.pf = pf;
	} else if (pt->paging == EXQ_PAGING_X86) {
		addrxlat_paging_form_t pf = {ADDRXLAT_PTE_IA32, 3, {12, 10, 10}};
		o->meth.param.pgt.root.addr = pt->dtb;
		o->meth.param.pgt.pf = pf;
	} else {
		addrxlat_paging_form_t pf = {ADDRXLAT_PTE_X86_64, 5, {12, 9, 9, 9, 9}};
		o->meth.param.pgt.root.addr = pt->dtb;
		o->meth.param.pgt.pf = pf;
	}
}

/* The oracle's answer for va: its status, and the PA on success. */
static addrxlat_status oracle_walk(struct oracle *o, uint64_t va, uint64_t *pa)
{
	addrxlat_step_t step;
	addrxlat_status st;
	memset(&step, 0, sizeof(step));
	step.ctx = o->ctx;
	step.sys = NULL;
	step.meth = &o->meth;
	step.base.addr = va;
	step.base.as = ADDRXLAT_KVADDR;
	addrxlat_ctx_clear_err(o->ctx);
	st = addrxlat_walk(&step); /* launches by itself from step.base */
	*pa = step.base.addr;
	return st;
}

static void oracle_mode(exq_paging paging, uint64_t dtb, unsigned budget)
{
	struct t_pt *pt = t_pt_new(paging, 32 * MiB, dtb, 0x400000, 32 * MiB);
	uint64_t seed = 0x1234567 + (uint64_t)paging, prefixes[4096];
	size_t np = 0, i;
	unsigned long ok = 0, absent = 0, trans = 0, invalid = 0, nodata = 0;
	struct oracle o;
	exq_image *img;
	exq_vspace *vs;
	fill_table(pt, dtb & ~0x1Full, 0, 0, &seed, prefixes, &np, 4096, budget);
	img = open_raw(pt);
	assert_int_equal(exq_vspace_new(&vs, img, paging, dtb), EXQ_OK);
	oracle_init(&o, pt);
	for (i = 0; i < ORACLE_VAS; i++) {
		uint64_t va = random_va(paging, &seed, prefixes, np), opa = 0;
		exq_xlat x;
		exq_status st;
		addrxlat_status ost;
		st = exq_vtop(vs, va, &x);
		ost = oracle_walk(&o, va, &opa);
		if (st == EXQ_OK && (x.flags & EXQ_XF_TRANSITION)) {
			/* Windows semantics: the oracle knows no transition PTEs */
			if (ost != ADDRXLAT_ERR_NOTPRESENT)
				fail_msg("VA 0x%llx: transition, oracle %d", (unsigned long long)va, ost);
			trans++;
		} else if (st == EXQ_OK) {
			if (ost != ADDRXLAT_OK || opa != x.pa)
				fail_msg("%s VA 0x%llx: ours PA 0x%llx, oracle %s PA 0x%llx (%s)",
					 exq_paging_name(paging), (unsigned long long)va,
					 (unsigned long long)x.pa, addrxlat_strerror(ost),
					 (unsigned long long)opa, addrxlat_ctx_get_err(o.ctx));
			ok++;
		} else if (st == EXQ_NOTPRESENT) {
			if (ost != ADDRXLAT_ERR_NOTPRESENT)
				fail_msg("%s VA 0x%llx: ours NOTPRESENT (%s), oracle %s PA 0x%llx",
					 exq_paging_name(paging), (unsigned long long)va,
					 exq_image_error(img), addrxlat_strerror(ost),
					 (unsigned long long)opa);
			absent++;
		} else if (st == EXQ_NODATA) {
			if (ost != ADDRXLAT_ERR_NODATA)
				fail_msg("%s VA 0x%llx: ours NODATA (%s), oracle %s",
					 exq_paging_name(paging), (unsigned long long)va,
					 exq_image_error(img), addrxlat_strerror(ost));
			nodata++;
		} else if (st == EXQ_INVALID) {
			if (ost != ADDRXLAT_ERR_INVALID)
				fail_msg("VA 0x%llx: ours INVALID, oracle %s", (unsigned long long)va,
					 addrxlat_strerror(ost));
			invalid++;
		} else {
			fail_msg("VA 0x%llx: ours %s (%s)", (unsigned long long)va,
				 exq_strerror(st), exq_image_error(img));
		}
	}
	print_message("oracle %s: %zu VAs, %lu same PA, %lu both not present, "
		      "%lu both no data, %lu transition (oracle: not present, "
		      "expected), %lu both invalid; %zu tables\n",
		      exq_paging_name(paging), (size_t)ORACLE_VAS, ok, absent, nodata,
		      trans, invalid, (size_t)((pt->next - 0x400000) / 4096));
	assert_true(ok > ORACLE_VAS / 5);
	assert_true(absent > ORACLE_VAS / 10);
	assert_true(trans > 100);
	assert_true(nodata > 100);
	addrxlat_ctx_decref(o.ctx);
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

static void oracle_pae(void **state)
{
	(void)state;
	oracle_mode(EXQ_PAGING_PAE, 0x185020, 40);
}

static void oracle_x86(void **state)
{
	(void)state;
	oracle_mode(EXQ_PAGING_X86, 0x39000, 40);
}

static void oracle_x64(void **state)
{
	(void)state;
	oracle_mode(EXQ_PAGING_X64, 0x1ad000, 3);
}

#else

static void oracle_skipped(void **state)
{
	(void)state;
	print_message("oracle tests skipped: built with WITH_KDUMPFILE=0\n");
	skip();
}

#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pae_walks),
		cmocka_unit_test(pae_missing_table),
		cmocka_unit_test(x86_walks),
		cmocka_unit_test(x64_walks),
		cmocka_unit_test(read_straddle),
		cmocka_unit_test(read_tlb_agrees),
		cmocka_unit_test(open_sources),
		cmocka_unit_test(tlb_random_pae),
		cmocka_unit_test(tlb_random_x86),
		cmocka_unit_test(tlb_random_x64),
		cmocka_unit_test(tlb_aliasing),
		cmocka_unit_test(tlb_failures_walk),
		cmocka_unit_test(tlb_image_reopened),
		cmocka_unit_test(many_random_pae),
		cmocka_unit_test(many_random_x86),
		cmocka_unit_test(many_random_x64),
		cmocka_unit_test(many_own_answers),
		cmocka_unit_test(many_cases),
		cmocka_unit_test(many_args),
#if EXQ_WITH_KDUMPFILE
		cmocka_unit_test(oracle_pae),
		cmocka_unit_test(oracle_x86),
		cmocka_unit_test(oracle_x64),
#else
		cmocka_unit_test(oracle_skipped),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
