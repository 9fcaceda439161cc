/* SPDX-License-Identifier: MIT */
/* ELF cores (DESIGN §4.4): QEMU / libvirt `dump-guest-memory` (ELF32, or
 * ELF64 with EM_386 for 32-bit guests since QEMU 7.2), VirtualBox
 * dumpvmcore, VMware snapshots converted to vmcores; EM_386 and EM_X86_64,
 * either class. Read by exq alone, in every build (no libkdumpfile):
 *  - the ELF header and program headers (PN_XNUM: the count from section
 *    header 0's sh_info);
 *  - PT_LOAD segments: file offset = p_offset + PA - p_paddr, read through
 *    the source, so a gzip'd core needs no uncompressed copy; whole pages
 *    only, a page outside them is NODATA;
 *  - PT_NOTE segments: the CPU state notes and VMCOREINFO, parsed by
 *    fmt_vmnotes.c (shared with the kdump format's notes area).
 * A flattened makedumpfile stream holding an ELF core is read through
 * src_flat.c. Offsets from the System V gABI (Elf32_Ehdr / Elf64_Ehdr,
 * Elf32_Phdr / Elf64_Phdr). */
#include "exq_int.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_PHDRS (1u << 20)
#define MAX_NOTES_BYTES (16u << 20)

#define PT_LOAD 1
#define PT_NOTE 4
#define ET_CORE 4
#define PN_XNUM 0xffff

struct seg {
	uint64_t pa, size, off; /* file-backed part of a PT_LOAD */
	uint64_t maxend;        /* max pa + size over this and earlier segs */
};

struct elfcore {
	exq__source *c;    /* the container: img->src or flat */
	exq__source *flat; /* owned, when the input is a flattened stream */
	struct seg *segs;  /* sorted by pa */
	size_t nsegs;
	struct exq__vmnotes notes;
};

static void elf_close(exq_image *img)
{
	struct elfcore *v = img->fmt_priv;
	if (!v)
		return;
	exq__src_close(v->flat);
	free(v->segs);
	exq__vmnotes_free(&v->notes);
	free(v);
	img->fmt_priv = NULL;
}

static exq_status elf_read_page(exq_image *img, uint64_t pfn, void *page)
{
	struct elfcore *v = img->fmt_priv;
	uint64_t pa = pfn << EXQ__PAGE_SHIFT;
	if (!exq__pfn_in_image(img, pfn))
		return EXQ_NODATA;
	/* The last segment starting at or before pa, then back
	 * while an earlier one may still reach it (segments may overlap in
	 * `-p` files). */
	size_t lo = 0, hi = v->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->segs[mid].pa <= pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo > 0 && v->segs[lo - 1].maxend > pa) {
		const struct seg *s = &v->segs[--lo];
		if (pa >= s->pa && s->size - (pa - s->pa) >= EXQ__PAGE_SIZE)
			return exq__src_read(v->c, s->off + (pa - s->pa), page,
					     EXQ__PAGE_SIZE, &img->err);
	}
	return EXQ_NODATA;
}

/* ---------------------------------------------------------------- runs */

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return x->pa < y->pa ? -1 : x->pa > y->pa;
}

/* Runs = the union of the segments' whole pages (segments may repeat or
 * overlap a physical range: `-p` files key segments by VA). */
static exq_status segs_to_runs(exq_image *img, struct elfcore *v)
{
	exq_run *runs;
	size_t i, n = 0;
	exq_status st;
	uint64_t maxend = 0, first_overlap = 0;
	size_t overlaps = 0;
	qsort(v->segs, v->nsegs, sizeof(*v->segs), seg_cmp);
	runs = calloc(v->nsegs ? v->nsegs : 1, sizeof(*runs));
	if (!runs)
		return exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
	for (i = 0; i < v->nsegs; i++) {
		struct seg *s = &v->segs[i];
		uint64_t first = (s->pa + EXQ__PAGE_SIZE - 1) >> EXQ__PAGE_SHIFT;
		uint64_t end = (s->pa + s->size) >> EXQ__PAGE_SHIFT;
		if (s->size && s->pa < maxend && !overlaps++)
			first_overlap = s->pa;
		if (s->pa + s->size > maxend)
			maxend = s->pa + s->size;
		s->maxend = maxend;
		if (end <= first)
			continue;
		if (n && first <= runs[n - 1].base_page + runs[n - 1].page_count) {
			uint64_t e = runs[n - 1].base_page + runs[n - 1].page_count;
			if (end > e)
				runs[n - 1].page_count += end - e;
			continue;
		}
		runs[n].base_page = first;
		runs[n].page_count = end - first;
		n++;
	}
	/* Same memory twice (QEMU's `-p` files list some PAs for each VA
	 * that maps them) or a lie: either way say so. */
	if (overlaps)
		exq__warn(img, "%zu PT_LOAD segment%s overlap%s earlier ones in "
			  "physical memory (the first at PA 0x%llx); where they "
			  "do, the one that starts last is read",
			  overlaps, overlaps == 1 ? "" : "s",
			  overlaps == 1 ? "s" : "", (unsigned long long)first_overlap);
	st = n ? exq__image_set_runs(img, runs, n)
	       : exq__err_set(&img->err, EXQ_CORRUPT,
			      "no PT_LOAD segment holds a whole page of "
			      "physical memory");
	free(runs);
	return st;
}

/* ----------------------------------------------------------------- ELF */

struct ehdr {
	int is64;
	uint16_t machine, phentsize;
	uint32_t phnum;
	uint64_t phoff;
};

static exq_status elf_header(exq_image *img, exq__source *c, struct ehdr *e)
{
	uint8_t h[64];
	uint64_t shoff;
	uint16_t shentsize, type;
	if (c->size < 4 || exq__src_read(c, 0, h, 4, &img->err) ||
	    memcmp(h, "\x7f" "ELF", 4) != 0)
		return EXQ__NOPROBE;
	if (c->size < 52 || exq__src_read(c, 0, h, 52, &img->err))
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "the file starts like an ELF file but is "
				    "shorter (0x%llx bytes) than an ELF header "
				    "(truncated?)",
				    (unsigned long long)c->size);
	type = exq__le16(h + 16);
	if (h[4] != 1 && h[4] != 2)
		return EXQ__NOPROBE;
	if (type != ET_CORE)
		return EXQ__NOPROBE; /* an executable, object...: not a dump */
	e->is64 = h[4] == 2;
	if (h[5] != 1)
		return exq__err_set(&img->err, EXQ_UNSUPPORTED,
				    "big-endian ELF core (EI_DATA %u): exq reads "
				    "x86 little-endian cores",
				    h[5]);
	if (e->is64 && (c->size < 64 || exq__src_read(c, 0, h, 64, &img->err)))
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "ELF64 core shorter than its 64-byte header");
	e->machine = exq__le16(h + 18);
	if (e->machine != 3 && e->machine != 62)
		return exq__err_set(&img->err, EXQ_UNSUPPORTED,
				    "ELF core for e_machine %u (exq reads EM_386 "
				    "3 and EM_X86_64 62)",
				    e->machine);
	e->phoff = e->is64 ? exq__le64(h + 32) : exq__le32(h + 28);
	shoff = e->is64 ? exq__le64(h + 40) : exq__le32(h + 32);
	e->phentsize = exq__le16(h + (e->is64 ? 54 : 42));
	e->phnum = exq__le16(h + (e->is64 ? 56 : 44));
	shentsize = exq__le16(h + (e->is64 ? 58 : 46));
	if (e->phnum == PN_XNUM) { /* the real count is section 0's sh_info */
		uint8_t sh[4];
		uint64_t at = shoff + (e->is64 ? 44 : 28);
		if (shentsize < (e->is64 ? 64 : 40) || at < shoff ||
		    exq__src_read(c, at, sh, 4, &img->err))
			return exq__err_set(&img->err, EXQ_CORRUPT,
					    "e_phnum is PN_XNUM but section "
					    "header 0 (e_shoff 0x%llx) is not in "
					    "the file",
					    (unsigned long long)shoff);
		e->phnum = exq__le32(sh);
	}
	if (e->phentsize < (e->is64 ? 56 : 32))
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "e_phentsize %u is smaller than an ELF%d "
				    "program header",
				    e->phentsize, e->is64 ? 64 : 32);
	if (e->phnum == 0 || e->phnum > MAX_PHDRS)
		return exq__err_set(&img->err, e->phnum ? EXQ_LIMIT : EXQ_CORRUPT,
				    "e_phnum %u: %s", e->phnum,
				    e->phnum ? "more program headers than exq's "
					       "limit (1048576)"
					     : "a core without program headers");
	return EXQ_OK;
}

static exq_status elf_note_segment(exq_image *img, struct elfcore *v,
				   uint64_t off, uint64_t size, uint32_t i)
{
	uint8_t *buf;
	exq_status st;
	if (size > MAX_NOTES_BYTES) {
		exq__warn(img, "PT_NOTE %u holds 0x%llx bytes, more than exq "
			       "reads (0x%x): its notes are ignored",
			  i, (unsigned long long)size, MAX_NOTES_BYTES);
		return EXQ_OK;
	}
	buf = malloc(size ? (size_t)size : 1);
	if (!buf)
		return exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
	st = exq__src_read(v->c, off, buf, (size_t)size, &img->err);
	if (st == EXQ_OK) {
		char where[48];
		snprintf(where, sizeof(where), "PT_NOTE %u", i);
		st = exq__vmnotes_parse(img, &v->notes, buf, (size_t)size,
					where);
	}
	free(buf);
	return st;
}

static exq_status elf_phdrs(exq_image *img, struct elfcore *v, const struct ehdr *e)
{
	uint64_t len = (uint64_t)e->phnum * e->phentsize, end;
	uint8_t *ph;
	uint32_t i, unaligned = 0;
	exq_status st = EXQ_OK;
	if (exq__add_ovf(e->phoff, len, &end) || end > v->c->size)
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "the %u program headers at e_phoff 0x%llx run "
				    "past the end of the file (0x%llx)",
				    e->phnum, (unsigned long long)e->phoff,
				    (unsigned long long)v->c->size);
	ph = malloc((size_t)len);
	v->segs = calloc(e->phnum, sizeof(*v->segs));
	if (!ph || !v->segs) {
		free(ph);
		return exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
	}
	st = exq__src_read(v->c, e->phoff, ph, (size_t)len, &img->err);
	for (i = 0; st == EXQ_OK && i < e->phnum; i++) {
		const uint8_t *p = ph + (size_t)i * e->phentsize;
		uint32_t type = exq__le32(p);
		uint64_t off = e->is64 ? exq__le64(p + 8) : exq__le32(p + 4);
		uint64_t pa = e->is64 ? exq__le64(p + 24) : exq__le32(p + 12);
		uint64_t fsz = e->is64 ? exq__le64(p + 32) : exq__le32(p + 16);
		if (type != PT_LOAD && type != PT_NOTE)
			continue;
		if (exq__add_ovf(off, fsz, &end) || end > v->c->size) {
			st = exq__err_set(&img->err, EXQ_CORRUPT,
					  "%s %u (0x%llx bytes at file offset "
					  "0x%llx) runs past the end of the file "
					  "(0x%llx; truncated?)",
					  type == PT_LOAD ? "PT_LOAD" : "PT_NOTE",
					  i, (unsigned long long)fsz,
					  (unsigned long long)off,
					  (unsigned long long)v->c->size);
			break;
		}
		if (type == PT_NOTE) {
			st = elf_note_segment(img, v, off, fsz, i);
			continue;
		}
		if (exq__add_ovf(pa, fsz, &end) || end > (1ull << 52)) {
			st = exq__err_set(&img->err, EXQ_CORRUPT,
					  "PT_LOAD %u: p_paddr 0x%llx + p_filesz "
					  "0x%llx goes past the 52-bit physical "
					  "address space",
					  i, (unsigned long long)pa,
					  (unsigned long long)fsz);
			break;
		}
		if (((pa | fsz) & (EXQ__PAGE_SIZE - 1)) && fsz)
			unaligned++;
		if (fsz) {
			v->segs[v->nsegs].pa = pa;
			v->segs[v->nsegs].size = fsz;
			v->segs[v->nsegs].off = off;
			v->nsegs++;
		}
	}
	free(ph);
	if (st == EXQ_OK && unaligned)
		exq__warn(img, "%u PT_LOAD segments are not page-aligned: only "
			       "their whole pages are read",
			  unaligned);
	return st;
}

/* The container: the source itself, or the regular file rebuilt from a
 * flattened stream (whose first bytes, when cheap to see, must be ELF's). */
static exq_status elf_start(exq_image *img, struct elfcore **out)
{
	uint8_t m[8];
	struct elfcore *v;
	exq_status st;
	if (exq__src_is_flat(img->src)) {
		if (exq__src_flat_peek(img->src, m, 8) &&
		    memcmp(m, "\x7f" "ELF", 4) != 0)
			return EXQ__NOPROBE;
	} else if (img->src->size < 8 ||
		   exq__src_read(img->src, 0, m, 8, &img->err) ||
		   memcmp(m, "\x7f" "ELF", 4) != 0) {
		return EXQ__NOPROBE;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
	img->fmt_priv = v;
	st = exq__src_unflatten(img->src, &v->flat, &v->c, &img->err);
	if (st == EXQ_OK)
		*out = v;
	return st;
}

static exq_status elf_probe(exq_image *img)
{
	struct ehdr e = {0, 0, 0, 0, 0};
	struct elfcore *v = NULL;
	exq_status st = elf_start(img, &v);
	if (st == EXQ_OK)
		st = elf_header(img, v->c, &e);
	if (st != EXQ_OK)
		return st;
	img->info.dump_type = "elf";
	st = elf_phdrs(img, v, &e);
	if (st == EXQ_OK)
		st = segs_to_runs(img, v);
	if (st == EXQ_OK)
		st = exq__vmnotes_apply(img, &v->notes, e.machine, 0);
	return st;
}

const struct exq__format exq__fmt_elf = {"elf", elf_probe, elf_read_page,
					  elf_close, NULL};
