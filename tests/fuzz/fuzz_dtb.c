/* SPDX-License-Identifier: MIT */
/* fuzz_dtb: DTB scan, address-space open and translations over fuzzed
 * physical memory; the TLB's answers are checked against the walk's.
 *
 * Input: an 80-byte control block, then the physical memory:
 *   0      bits 0-1 paging override (0 none, 1 x86, 2 PAE, 3 x64);
 *          bits 2-3 container (0 raw, 1 PAGEDUMP full, 2 PAGEDU64 full,
 *          3 raw with the DTB as an override); bit 4 PaeEnabled in a
 *          PAGEDUMP header
 *   1..8   DTB (u64) for the header or the override (0: none)
 *   9..10  first page of run 0 (u16); 11..12 pages between the runs
 *   16..79 eight VAs (u64) to translate and read
 * Raw memory is the bytes themselves (file offset = PA); in a dump, the
 * whole pages of the memory are split into two runs. */
#include <stdlib.h>
#include <string.h>

#include "exq_int.h"
#include "fuzz.h"
#include "tlib.h"

#define CTL 80

static size_t sink;

static const uint64_t fixed_vas[] = {
    0x80000000ull,	   0xC0000000ull,
    0xC0300000ull,	   0xC0600000ull,
    0xC0603000ull,	   0xFFDF0000ull,
    0xFFFFF000ull,	   0x0ull,
    0xFFFFF6FB7DBED000ull, 0xFFFFF78000000000ull,
    0xFFFF800000000000ull, 0x00007FFFFFFFF000ull,
    0x100000000ull,
};

/* The TLB (exq_vtop_pa, a miss then a hit) answers as the walk. */
static void translate(exq_vspace *vs, uint64_t va, size_t len)
{
	static uint8_t buf[3 * 4096];
	exq_xlat x;
	size_t done = 0;
	exq_status st = exq_vtop(vs, va, &x);
	int k;
	for (k = 0; k < 2; k++) {
		uint64_t pa, size;
		uint32_t flags;
		exq_status pst = exq_vtop_pa(vs, va, &pa, &size, &flags);
		if (pst != st ||
		    (st == EXQ_OK && (pa != x.pa || size != x.page_size ||
				      flags != x.flags)))
			__builtin_trap();
	}
	if (len > sizeof(buf))
		len = sizeof(buf);
	exq_read_virt(vs, va, buf, len, &done);
	if (done > len)
		__builtin_trap();
}

static void use_vspace(exq_vspace *vs, const uint8_t *ctl)
{
	size_t i;
	for (i = 0; i < sizeof(fixed_vas) / sizeof(fixed_vas[0]); i++)
		translate(vs, fixed_vas[i], 16);
	for (i = 0; i < 8; i++) {
		uint64_t va = exq__le64(ctl + 16 + 8 * i);
		translate(vs, va, (size_t)(va >> 4 & 0x1FFF));
		translate(vs, va, 8);
	}
	sink += strlen(exq_vspace_dtb_source(vs));
}

static uint8_t *make_dump(const uint8_t *ctl, const uint8_t *mem, size_t n,
			  int wide, size_t *len)
{
	struct t_hdr h;
	exq_run runs[2];
	size_t pages = n / 4096, hs = wide ? 0x2000 : 0x1000;
	uint8_t *b;
	memset(&h, 0, sizeof(h));
	h.wide = wide;
	h.pae = (ctl[0] >> 4) & 1;
	h.build = wide ? 19041 : 7601;
	h.dtb = exq__le64(ctl + 1);
	h.cpus = 1;
	runs[0].base_page = exq__le16(ctl + 9);
	runs[0].page_count = (pages + 1) / 2;
	runs[1].base_page =
	    runs[0].base_page + runs[0].page_count + exq__le16(ctl + 11);
	runs[1].page_count = pages / 2;
	b = t_make_full(&h, runs, runs[1].page_count ? 2 : 1, len);
	memcpy(b + hs, mem, pages * 4096);
	return b;
}

int exq_fuzz_dtb(const uint8_t *d, size_t n)
{
	exq_image *img;
	exq_vspace *vs = NULL;
	exq_dtb_candidate *c = NULL;
	size_t nc = 0, blen, i;
	unsigned container;
	uint8_t *dump = NULL;
	const uint8_t *buf = d + CTL;
	uint64_t dtb;
	exq_status st;
	if (n < CTL + 4096)
		return 0;
	blen = n - CTL;
	container = (d[0] >> 2) & 3;
	dtb = exq__le64(d + 1);
	img = exq_image_new();
	if (!img)
		return 0;
	if (d[0] & 3)
		exq_image_set_paging(img, (exq_paging)(d[0] & 3));
	if (container == 3 && dtb)
		exq_image_set_dtb(img, dtb);
	if (container == 1 || container == 2) {
		buf = dump =
		    make_dump(d, d + CTL, n - CTL, container == 2, &blen);
	}
	st = exq_image_open_mem(img, buf, blen);
	if (st == EXQ_OK) {
		if (exq_dtb_scan(img, NULL, NULL, &c, &nc) == EXQ_OK) {
			for (i = 0; i < nc; i++)
				sink += strlen(c[i].reason);
			exq_dtb_candidates_free(c);
		}
		if (exq_vspace_open(&vs, img) == EXQ_OK) {
			use_vspace(vs, d);
			exq_vspace_free(vs);
		}
		/* Every walker, whatever the scan found, from the given DTB. */
		for (i = EXQ_PAGING_X86; i <= EXQ_PAGING_X64; i++) {
			vs = NULL;
			if (exq_vspace_new(&vs, img, (exq_paging)i, dtb) ==
			    EXQ_OK) {
				use_vspace(vs, d);
				exq_vspace_free(vs);
			}
		}
	}
	sink += strlen(exq_image_error(img));
	exq_image_free(img);
	free(dump);
	return 0;
}

EXQ_FUZZ_MAIN(exq_fuzz_dtb)
