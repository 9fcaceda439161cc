/* SPDX-License-Identifier: MIT */
/* Test helpers shared by the unit tests: in-memory Windows dump builders.
 * Independent of the library's parsers: offsets come from DESIGN §4. */
#ifndef EXQ_TLIB_H
#define EXQ_TLIB_H

#include <stddef.h>
#include <stdint.h>

#include "exq.h"

/* The image's runs (exq_image_runs, which must succeed). */
const exq_run *t_runs(exq_image *img);

/* Page content that encodes its PFN: any misplaced page is caught. */
void t_fill_page(uint64_t pfn, uint8_t *page);

struct t_hdr {
	int wide;       /* PAGEDU64 */
	int pae;        /* 32-bit PaeEnabled */
	uint32_t build; /* MinorVersion */
	uint64_t dtb, kdbg, modlist, proclist, pfndb;
	uint32_t cpus, bugcheck;
	uint64_t params[4];
	uint64_t systime;
};

/* Plausible headers (Windows 7 SP1 PAE, Windows 10 2004 x64) for the
 * generated corpora of tests/fuzz/mkseeds.c and tests/tools/mkbad.c. */
extern const struct t_hdr t_hdr_generic32, t_hdr_generic64;

/* A full dump (DumpType 1) holding the given runs; *len gets the size. */
uint8_t *t_make_full(const struct t_hdr *h, const exq_run *runs, size_t n,
		     size_t *len);
/* A bitmap dump (DumpType 5/6, or 2 = kernel summary: SUMMARY_DUMP32 or,
 * on a wide header, SUMMARY_DUMP64 with its 32-bit fields and the bits at
 * +0x28) holding the pages set in the PFN list; bitmap_bits is
 * BitmapSize. */
uint8_t *t_make_bitmap(const struct t_hdr *h, uint32_t dump_type,
		       const uint64_t *pfns, size_t n, uint64_t bitmap_bits,
		       size_t *len);
/* Header field offsets, for tests that damage them. */
size_t t_off_dumptype(int wide);
size_t t_off_pmb(int wide);
void t_put16(uint8_t *p, uint16_t v);
void t_put32(uint8_t *p, uint32_t v);
void t_put64(uint8_t *p, uint64_t v);
/* A generated world (tlib_win.h) as a crash dump: its header facts (DTB,
 * KDBG, lists, bugcheck, CPUs, time; PAGEDU64 for x64 worlds) with
 * dump_type 1 (full: every run), 2 (kernel summary), 5 or 6 (bitmap); for
 * 2/5/6 the pages held are the present ones, only those the world uses
 * when used_only. The world's bytes are copied in. *pfns (malloc'd,
 * ascending; NULL for a full dump) and *npfns say which pages a bitmapped
 * dump holds, in file order from *first. */
struct tw_world;
uint8_t *t_world_dump(const struct tw_world *w, uint32_t dump_type,
		      int used_only, uint64_t **pfns, size_t *npfns,
		      size_t *first, size_t *len);

/* gzip (one member) of a buffer. */
uint8_t *t_gzip(const uint8_t *in, size_t len, size_t *out_len);

#endif
