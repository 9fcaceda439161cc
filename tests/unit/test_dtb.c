/* SPDX-License-Identifier: MIT */
/* DTB discovery on raw images: the real page directory wins by evidence
 * over decoys (a self-referencing page that maps no kernel, a boot-shaped
 * PDPT over empty tables, a second plausible PDPT with less kernel found
 * earlier in the image); x86 and x64 self-maps; nothing to find; progress;
 * paging override; gzip input. */
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
#include "tlib_pt.h"

#define MiB (1024u * 1024u)

/* PAE memory: the real tables at the Windows 7 boot layout (PDPT 0x185000,
 * PDs 0x186000-0x189000) with a kernel, plus decoys at lower addresses. */
static struct t_pt *make_pae_scene(void)
{
	struct t_pt *pt = t_pt_new(EXQ_PAGING_PAE, 16 * MiB, 0x185000, 0x400000,
				   0x800000);
	uint64_t pd2, k;
	unsigned i;
	for (k = 0; k < 4; k++)
		t_pt_put(pt, 0x185000 + 8 * k, (0x186000 + 0x1000 * k) | T_P);
	t_pt_selfmap(pt, 0);
	t_pt_kernel(pt, 0x80000000, 24);
	t_pt_kernel(pt, 0xffc00000, 2);

	/* decoy A: entry 3 names its own page, nothing else, no PDPT */
	t_pt_put(pt, 0x25000 + 0x18, 0x25000 | T_P | T_RW);

	/* decoy B: boot-shaped PDPT at 0x1c000 over PDs 0x1d000-0x20fff
	 * with a self-map but an empty kernel */
	for (k = 0; k < 4; k++)
		t_pt_put(pt, 0x1c000 + 8 * k, (0x1d000 + 0x1000 * k) | T_P);
	for (k = 0; k < 4; k++)
		t_pt_put(pt, 0x20000 + 8 * k, (0x1d000 + 0x1000 * k) | T_P | T_RW);

	/* decoy C: a plausible second PDPT (not page aligned, found first)
	 * over PDs 0x40000-0x43fff mapping only 6 of the kernel's tables */
	for (k = 0; k < 4; k++)
		t_pt_put(pt, 0x30020 + 8 * k, (0x40000 + 0x1000 * k) | T_P | 0x60);
	for (k = 0; k < 4; k++)
		t_pt_put(pt, 0x43000 + 8 * k, (0x40000 + 0x1000 * k) | T_P | T_RW);
	pd2 = 0x188000;
	for (i = 0; i < 6; i++)
		t_pt_put(pt, 0x42000 + 8 * i, t_pt_get(pt, pd2 + 8 * i));
	return pt;
}

static exq_image *open_raw(const struct t_pt *pt)
{
	exq_image *img = exq_image_new();
	assert_non_null(img);
	assert_int_equal(exq_image_open_mem(img, pt->mem, pt->mem_size), EXQ_OK);
	return img;
}

static const exq_dtb_candidate *find(const exq_dtb_candidate *c, size_t n,
				     exq_paging p, uint64_t dtb)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (c[i].paging == p && c[i].dtb == dtb)
			return &c[i];
	return NULL;
}

static void show(const exq_dtb_candidate *c, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		print_message("  %s 0x%llx %s ev 0x%x score %lld: %s\n",
			      c[i].chosen ? "*" : c[i].accepted ? "+" : "-",
			      (unsigned long long)c[i].dtb,
			      exq_paging_name(c[i].paging), c[i].evidence,
			      (long long)c[i].score, c[i].reason);
}

struct prog {
	unsigned calls;
	uint64_t last_done, last_total;
	int monotonic;
};

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct prog *p = arg;
	if (p->calls && done < p->last_done)
		p->monotonic = 0;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

static void pae_scene(void **state)
{
	struct t_pt *pt = make_pae_scene();
	exq_image *img = open_raw(pt);
	exq_dtb_candidate *c;
	const exq_dtb_candidate *w, *d;
	struct prog pr = {0, 0, 0, 1};
	size_t n;
	exq_vspace *vs;
	exq_xlat x;
	(void)state;
	assert_int_equal(exq_dtb_scan(img, on_progress, &pr, &c, &n), EXQ_OK);
	show(c, n);
	w = &c[0];
	assert_true(w->chosen);
	assert_true(w->accepted);
	assert_int_equal(w->paging, EXQ_PAGING_PAE);
	assert_int_equal(w->dtb, 0x185000);
	assert_int_equal(w->evidence & 0x1f, EXQ_DTB_EV_SELFMAP | EXQ_DTB_EV_BOOT_LAYOUT |
					     EXQ_DTB_EV_BOOT_CR3 | EXQ_DTB_EV_SELFMAP_VA |
					     EXQ_DTB_EV_KERNEL);
	assert_int_equal(w->kernel_inside, 26);
	assert_int_equal(w->kernel_outside, 0);
	assert_true(w->ptes_inside > 0);
	/* decoy C: accepted but with less evidence */
	d = find(c, n, EXQ_PAGING_PAE, 0x30020);
	assert_non_null(d);
	assert_true(d->accepted);
	assert_false(d->chosen);
	assert_int_equal(d->kernel_inside, 6);
	assert_true(d->score < w->score);
	/* decoy B: boot-shaped, but nothing in kernel space */
	d = find(c, n, EXQ_PAGING_PAE, 0x25000);
	assert_non_null(d);
	assert_false(d->accepted);
	assert_non_null(strstr(d->reason, "no PDPT"));
	/* the self-map PD's own entries 0..3 are not a PDPT */
	assert_null(find(c, n, EXQ_PAGING_PAE, 0x189000));
	d = find(c, n, EXQ_PAGING_PAE, 0x1c000);
	assert_non_null(d);
	assert_false(d->accepted);
	assert_true(d->evidence & EXQ_DTB_EV_BOOT_LAYOUT);
	assert_non_null(strstr(d->reason, "nearly empty"));
	/* only one chosen */
	for (size_t i = 1; i < n; i++)
		assert_false(c[i].chosen);
	/* progress: monotonic, ends at the total */
	assert_true(pr.calls >= 2);
	assert_true(pr.monotonic);
	assert_int_equal(pr.last_done, 4096);
	assert_int_equal(pr.last_total, 4096);
	exq_dtb_candidates_free(c);
	/* the winner is now the image's DTB */
	assert_int_equal(exq_image_get_info(img)->dtb, 0x185000);
	assert_string_equal(exq_image_get_info(img)->dtb_source, "scan");
	assert_int_equal(exq_image_get_info(img)->paging, EXQ_PAGING_PAE);
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_OK);
	assert_string_equal(exq_vspace_dtb_source(vs), "scan");
	assert_int_equal(exq_vtop(vs, 0x80000000, &x), EXQ_OK);
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

/* exq_vspace_open scans by itself on an image without a DTB. */
static void open_scans(void **state)
{
	struct t_pt *pt = make_pae_scene();
	exq_image *img = open_raw(pt);
	exq_vspace *vs;
	(void)state;
	assert_false(exq_image_get_info(img)->have & EXQ_HAVE_DTB);
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_OK);
	assert_int_equal(exq_vspace_dtb(vs), 0x185000);
	assert_int_equal(exq_vspace_paging(vs), EXQ_PAGING_PAE);
	assert_string_equal(exq_vspace_dtb_source(vs), "scan");
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

/* The same memory through gzip: a sequential read. */
static void gzip_scene(void **state)
{
	struct t_pt *pt = make_pae_scene();
	size_t glen;
	uint8_t *gz = t_gzip(pt->mem, pt->mem_size, &glen);
	exq_image *img = exq_image_new();
	exq_dtb_candidate *c;
	size_t n;
	(void)state;
	assert_int_equal(exq_image_open_mem(img, gz, glen), EXQ_OK);
	assert_int_equal(exq_dtb_scan(img, NULL, NULL, &c, &n), EXQ_OK);
	assert_true(n > 0 && c[0].chosen);
	assert_int_equal(c[0].dtb, 0x185000);
	exq_dtb_candidates_free(c);
	exq_image_free(img);
	free(gz);
	t_pt_free(pt);
}

static void x86_scene(void **state)
{
	struct t_pt *pt = t_pt_new(EXQ_PAGING_X86, 8 * MiB, 0x39000, 0x100000,
				   0x200000);
	exq_image *img;
	exq_dtb_candidate *c;
	const exq_dtb_candidate *d;
	size_t n;
	(void)state;
	t_pt_selfmap(pt, 0);
	t_pt_kernel(pt, 0x80000000, 10);
	t_pt_map_large(pt, 0x84000000, 0, 0x400000, T_RW | T_G);
	/* decoy: a PD at 0x20000 that maps itself and nothing else */
	t_put32(pt->mem + 0x20000 + 4 * 0x300, 0x20000 | 0x63);
	img = open_raw(pt);
	assert_int_equal(exq_dtb_scan(img, NULL, NULL, &c, &n), EXQ_OK);
	show(c, n);
	assert_true(c[0].chosen);
	assert_int_equal(c[0].paging, EXQ_PAGING_X86);
	assert_int_equal(c[0].dtb, 0x39000);
	assert_int_equal(c[0].kernel_inside, 11);
	assert_true(c[0].evidence & EXQ_DTB_EV_BOOT_CR3);
	d = find(c, n, EXQ_PAGING_X86, 0x20000);
	assert_non_null(d);
	assert_false(d->accepted);
	assert_true(d->evidence & EXQ_DTB_EV_SELFMAP);
	exq_dtb_candidates_free(c);
	exq_image_free(img);
	t_pt_free(pt);
}

static void x64_scene(void **state)
{
	struct t_pt *pt = t_pt_new(EXQ_PAGING_X64, 8 * MiB, 0x1ad000, 0x200000,
				   0x400000);
	exq_image *img;
	exq_dtb_candidate *c;
	const exq_dtb_candidate *d;
	exq_vspace *vs;
	exq_xlat x;
	size_t n;
	(void)state;
	t_pt_selfmap(pt, 0x1a3);
	t_pt_kernel(pt, 0xffff800000000000ull, 6);
	t_pt_map(pt, 0xfffff80003000000ull, 0x701000, T_RW);
	/* decoy: a page whose kernel-half entry 0x100 names itself */
	t_put64(pt->mem + 0x30000 + 8 * 0x100, 0x30000 | 0x63);
	img = open_raw(pt);
	assert_int_equal(exq_dtb_scan(img, NULL, NULL, &c, &n), EXQ_OK);
	show(c, n);
	assert_true(c[0].chosen);
	assert_int_equal(c[0].paging, EXQ_PAGING_X64);
	assert_int_equal(c[0].dtb, 0x1ad000);
	assert_int_equal(c[0].kernel_inside, 14);
	d = find(c, n, EXQ_PAGING_X64, 0x30000);
	assert_non_null(d);
	assert_false(d->accepted);
	exq_dtb_candidates_free(c);
	assert_int_equal(exq_image_get_info(img)->machine, EXQ_MACHINE_X64);
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_OK);
	assert_int_equal(exq_vtop(vs, 0xfffff80003000123ull, &x), EXQ_OK);
	assert_int_equal(x.pa, 0x701123);
	exq_vspace_free(vs);
	exq_image_free(img);
	t_pt_free(pt);
}

/* Nothing to find: NOTFOUND from vspace_open, with a message. */
static void nothing(void **state)
{
	size_t len = 2 * MiB;
	uint8_t *mem = calloc(1, len);
	exq_image *img = exq_image_new();
	exq_dtb_candidate *c;
	exq_vspace *vs;
	size_t n, i;
	(void)state;
	/* a self-referencing page with nothing around it */
	t_put64(mem + 0x5000 + 0x18, 0x5000 | 1);
	assert_int_equal(exq_image_open_mem(img, mem, len), EXQ_OK);
	assert_int_equal(exq_dtb_scan(img, NULL, NULL, &c, &n), EXQ_OK);
	show(c, n);
	for (i = 0; i < n; i++) {
		assert_false(c[i].accepted);
		assert_true(c[i].reason[0] != '\0');
	}
	assert_non_null(find(c, n, EXQ_PAGING_PAE, 0x5000));
	exq_dtb_candidates_free(c);
	assert_false(exq_image_get_info(img)->have & EXQ_HAVE_DTB);
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_NOTFOUND);
	assert_non_null(strstr(exq_image_error(img), "no DTB"));
	assert_int_equal(exq_dtb_scan(NULL, NULL, NULL, &c, &n), EXQ_INVALID);
	exq_image_free(img);
	free(mem);
}


/* Likely places first (exq_vspace_open): a kernel DTB in the low 64 MiB is
 * taken without reading the rest; one only found above is found by the
 * pass over every page; exq_dtb_scan always reads every page and lists
 * every candidate. */
static void likely_places_first(void **state)
{
	struct t_pt *lo = t_pt_new(EXQ_PAGING_X64, 8 * MiB, 0x1ad000, 0x200000,
				   0x400000);
	struct t_pt *hi = t_pt_new(EXQ_PAGING_X64, 100 * MiB, 0x5000000,
				   0x5001000, 0x5400000);
	exq_image *img;
	exq_dtb_candidate *c;
	exq_vspace *vs;
	exq_xlat x;
	size_t n;
	(void)state;
	t_pt_selfmap(lo, 0x1a3);
	t_pt_kernel(lo, 0xffff800000000000ull, 6);
	t_pt_map(lo, 0xfffff80003000000ull, 0x701000, T_RW);
	t_pt_selfmap(hi, 0x1ed);
	t_pt_kernel(hi, 0xffff800000000000ull, 12); /* scores higher */
	t_pt_map(hi, 0xfffff80003000000ull, 0x702000, T_RW);
	/* only the high one */
	img = open_raw(hi);
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_OK);
	assert_int_equal(exq_image_get_info(img)->dtb, 0x5000000);
	assert_string_equal(exq_image_get_info(img)->dtb_source, "scan");
	assert_int_equal(exq_vtop(vs, 0xfffff80003000123ull, &x), EXQ_OK);
	assert_int_equal(x.pa, 0x702123);
	exq_vspace_free(vs);
	exq_image_free(img);
	/* both: the likely place wins for vspace_open ... */
	memcpy(hi->mem, lo->mem, lo->mem_size);
	img = open_raw(hi);
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_OK);
	assert_int_equal(exq_image_get_info(img)->dtb, 0x1ad000);
	assert_int_equal(exq_vtop(vs, 0xfffff80003000123ull, &x), EXQ_OK);
	assert_int_equal(x.pa, 0x701123);
	exq_vspace_free(vs);
	exq_image_free(img);
	/* ... while the full scan lists both and picks by score */
	img = open_raw(hi);
	assert_int_equal(exq_dtb_scan(img, NULL, NULL, &c, &n), EXQ_OK);
	show(c, n);
	assert_true(c[0].chosen);
	assert_int_equal(c[0].dtb, 0x5000000);
	assert_non_null(find(c, n, EXQ_PAGING_X64, 0x1ad000));
	assert_true(find(c, n, EXQ_PAGING_X64, 0x1ad000)->accepted);
	exq_dtb_candidates_free(c);
	exq_image_free(img);
	t_pt_free(lo);
	t_pt_free(hi);
}

/* A failed search is kept: exq_dtb_scan after it lists the same
 * candidates (no second pass over the pages). */
static void failed_search_kept(void **state)
{
	size_t len = 80 * MiB, n, n2, i;
	uint8_t *mem = calloc(1, len);
	exq_image *img = exq_image_new();
	exq_dtb_candidate *c, *c2;
	exq_vspace *vs;
	(void)state;
	assert_non_null(mem);
	t_put64(mem + 0x5000 + 0x18, 0x5000 | 1);
	t_put64(mem + 0x4500000 + 0x18, 0x4500000 | 1); /* above 64 MiB */
	assert_int_equal(exq_image_open_mem(img, mem, len), EXQ_OK);
	assert_int_equal(exq_vspace_open(&vs, img), EXQ_NOTFOUND);
	assert_non_null(strstr(exq_image_error(img), "no DTB"));
	assert_int_equal(exq_dtb_scan(img, NULL, NULL, &c, &n), EXQ_OK);
	assert_non_null(find(c, n, EXQ_PAGING_PAE, 0x4500000));
	exq_image_free(img);
	img = exq_image_new();
	assert_int_equal(exq_image_open_mem(img, mem, len), EXQ_OK);
	assert_int_equal(exq_dtb_scan(img, NULL, NULL, &c2, &n2), EXQ_OK);
	assert_int_equal(n, n2);
	for (i = 0; i < n; i++) {
		assert_int_equal(c[i].dtb, c2[i].dtb);
		assert_int_equal(c[i].paging, c2[i].paging);
		assert_string_equal(c[i].reason, c2[i].reason);
	}
	exq_dtb_candidates_free(c);
	exq_dtb_candidates_free(c2);
	exq_image_free(img);
	free(mem);
}

/* --paging restricts the scan to that mode. */
static void paging_override(void **state)
{
	struct t_pt *pt = make_pae_scene();
	exq_image *img = exq_image_new();
	exq_dtb_candidate *c;
	size_t n, i;
	(void)state;
	assert_int_equal(exq_image_set_paging(img, EXQ_PAGING_X86), EXQ_OK);
	assert_int_equal(exq_image_open_mem(img, pt->mem, pt->mem_size), EXQ_OK);
	assert_int_equal(exq_dtb_scan(img, NULL, NULL, &c, &n), EXQ_OK);
	for (i = 0; i < n; i++) {
		assert_int_equal(c[i].paging, EXQ_PAGING_X86);
		assert_false(c[i].chosen);
	}
	exq_dtb_candidates_free(c);
	exq_image_free(img);
	t_pt_free(pt);
}

/* A kernel whose tables point outside the image is rejected. */
static void outside_rejected(void **state)
{
	struct t_pt *pt = t_pt_new(EXQ_PAGING_X86, 4 * MiB, 0x39000, 0x100000,
				   0x200000);
	exq_image *img;
	exq_dtb_candidate *c;
	size_t n;
	unsigned i;
	(void)state;
	t_pt_selfmap(pt, 0);
	t_pt_kernel(pt, 0x80000000, 6);
	for (i = 0; i < 6; i++) /* tables far beyond the 4 MiB image */
		t_put32(pt->mem + 0x39000 + 4 * (0x240 + i), (0x10000000 + 0x1000 * i) | 0x63);
	img = open_raw(pt);
	assert_int_equal(exq_dtb_scan(img, NULL, NULL, &c, &n), EXQ_OK);
	show(c, n);
	assert_true(n > 0);
	assert_false(c[0].chosen);
	assert_non_null(strstr(find(c, n, EXQ_PAGING_X86, 0x39000)->reason, "outside"));
	exq_dtb_candidates_free(c);
	exq_image_free(img);
	t_pt_free(pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pae_scene),
		cmocka_unit_test(open_scans),
		cmocka_unit_test(gzip_scene),
		cmocka_unit_test(x86_scene),
		cmocka_unit_test(x64_scene),
		cmocka_unit_test(nothing),
		cmocka_unit_test(likely_places_first),
		cmocka_unit_test(failed_search_kept),
		cmocka_unit_test(paging_override),
		cmocka_unit_test(outside_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
