/* SPDX-License-Identifier: MIT */
/*
 * pe.c — PE images (PE32 and PE32+) read from virtual memory (DESIGN §6).
 *
 * Every read goes through the caller's vread callback, in small pieces,
 * and stays inside [base, base + SizeOfImage). Every RVA, size and count
 * is checked before use. Missing pages (NODATA / NOTPRESENT) are passed
 * through with context; they are not turned into CORRUPT.
 *
 * Offsets (Microsoft PE/COFF specification):
 *   DOS header:     e_magic "MZ" +0, e_lfanew +0x3C (u32)
 *   NT headers:     "PE\0\0" +0, IMAGE_FILE_HEADER +4 (20 bytes):
 *                   Machine +0, NumberOfSections +2, TimeDateStamp +4,
 *                   SizeOfOptionalHeader +16
 *   Optional:       Magic +0 (0x10B / 0x20B), ImageBase +28 (u32) / +24
 *                   (u64), SizeOfImage +56, SizeOfHeaders +60,
 *                   NumberOfRvaAndSizes +92 / +108, directories +96 / +112
 *   Section header: 40 bytes: Name +0, VirtualSize +8, VirtualAddress +12,
 *                   SizeOfRawData +16, Characteristics +36
 *   Export dir:     40 bytes: Name +12, Base +16, NumberOfFunctions +20,
 *                   NumberOfNames +24, AddressOfFunctions +28,
 *                   AddressOfNames +32, AddressOfNameOrdinals +36
 *   Debug dir:      28 bytes each: Type +12 (2 = CODEVIEW), SizeOfData +16,
 *                   AddressOfRawData +20
 *   RSDS record:    "RSDS" +0, GUID +4, Age +20, PDB name +24 (NUL-ended)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exq_int.h"

#define DIR_EXPORT 0
#define DIR_DEBUG 6
#define EXPORT_DIR_SIZE 40u
#define DEBUG_DIR_SIZE 28u
#define MAX_DEBUG_ENTRIES 32u
#define CHUNK 256u /* table entries per read */

/* ------------------------------------------------------------ reading */

static exq_status pe_fail_read(exq__err *err, exq_status st, const char *what,
			       uint64_t va)
{
	return exq__err_set(err, st, "%s at 0x%llx: %s", what,
			    (unsigned long long)va, exq_strerror(st));
}

/* Read len bytes at rva, inside SizeOfImage. what names the thing read
 * for messages ("export name table"). */
static exq_status pe_read(exq__pe *pe, uint32_t rva, void *buf, size_t len,
			  const char *what, exq__err *err)
{
	exq_status st;
	if ((uint64_t)rva + len > pe->size_of_image)
		return exq__err_set(err, EXQ_CORRUPT,
				    "%s RVA 0x%x + 0x%zx exceeds SizeOfImage "
				    "0x%x",
				    what, rva, len, pe->size_of_image);
	st = pe->rd(pe->ctx, pe->base + rva, buf, len);
	if (st != EXQ_OK)
		return pe_fail_read(err, st, what, pe->base + rva);
	return EXQ_OK;
}

static int printable(uint8_t c)
{
	return c >= 0x20 && c < 0x7f;
}

/* Read a NUL-terminated printable ASCII name of 1..EXQ__PE_NAME_MAX bytes
 * at rva into out (EXQ__PE_NAME_MAX + 1 bytes). Pieces never cross a
 * page, so a short name before a missing page still reads. */
static exq_status pe_read_name(exq__pe *pe, uint32_t rva, char *out,
			       const char *what, exq__err *err)
{
	size_t got = 0;
	while (got <= EXQ__PE_NAME_MAX) {
		uint64_t at = (uint64_t)rva + got;
		uint64_t va = pe->base + at;
		size_t n = EXQ__PAGE_SIZE - (size_t)(va & (EXQ__PAGE_SIZE - 1));
		size_t i;
		exq_status st;
		if (n > 64)
			n = 64;
		if (n > EXQ__PE_NAME_MAX + 1 - got)
			n = EXQ__PE_NAME_MAX + 1 - got;
		if (at >= pe->size_of_image)
			return exq__err_set(err, EXQ_CORRUPT,
					    "%s at RVA 0x%x runs past "
					    "SizeOfImage 0x%x",
					    what, rva, pe->size_of_image);
		if (n > pe->size_of_image - at)
			n = (size_t)(pe->size_of_image - at);
		st = pe_read(pe, (uint32_t)at, out + got, n, what, err);
		if (st != EXQ_OK)
			return st;
		for (i = got; i < got + n; i++) {
			if (out[i] == '\0') {
				if (i == 0)
					return exq__err_set(
					    err, EXQ_CORRUPT,
					    "%s at RVA 0x%x is empty", what,
					    rva);
				return EXQ_OK;
			}
			if (!printable((uint8_t)out[i]))
				return exq__err_set(
				    err, EXQ_CORRUPT,
				    "%s at RVA 0x%x has byte 0x%02x at %zu "
				    "(not printable ASCII)",
				    what, rva, (uint8_t)out[i], i);
		}
		got += n;
	}
	out[EXQ__PE_NAME_MAX] = '\0';
	return exq__err_set(err, EXQ_CORRUPT,
			    "%s at RVA 0x%x is longer than %d bytes", what, rva,
			    EXQ__PE_NAME_MAX);
}

/* ------------------------------------------------------------ headers */

static exq_machine machine_of(uint16_t m)
{
	switch (m) {
	case 0x014c:
		return EXQ_MACHINE_X86;
	case 0x8664:
		return EXQ_MACHINE_X64;
	case 0xaa64:
		return EXQ_MACHINE_ARM64;
	default:
		return EXQ_MACHINE_UNKNOWN;
	}
}

/* DOS header and PE signature; returns e_lfanew in *lfanew. */
static exq_status read_dos(exq__pe *pe, uint32_t *lfanew, exq__err *err)
{
	uint8_t b[4];
	exq_status st = pe->rd(pe->ctx, pe->base, b, 2);
	if (st != EXQ_OK)
		return pe_fail_read(err, st, "DOS header", pe->base);
	if (b[0] != 'M' || b[1] != 'Z')
		return exq__err_set(err, EXQ_NOTFOUND,
				    "no MZ signature at 0x%llx",
				    (unsigned long long)pe->base);
	st = pe->rd(pe->ctx, pe->base + 0x3c, b, 4);
	if (st != EXQ_OK)
		return pe_fail_read(err, st, "DOS header", pe->base + 0x3c);
	*lfanew = exq__le32(b);
	/* The headers must sit in the first page: that is all a loader maps
	 * before it knows SizeOfHeaders. */
	if (*lfanew < 0x40 || *lfanew > EXQ__PAGE_SIZE - 24)
		return exq__err_set(err, EXQ_CORRUPT,
				    "DOS header e_lfanew 0x%x outside "
				    "[0x40, 0x%x]",
				    *lfanew, EXQ__PAGE_SIZE - 24);
	st = pe->rd(pe->ctx, pe->base + *lfanew, b, 4);
	if (st != EXQ_OK)
		return pe_fail_read(err, st, "NT headers", pe->base + *lfanew);
	if (memcmp(b, "PE\0\0", 4) != 0)
		return exq__err_set(err, EXQ_NOTFOUND,
				    "no PE signature at 0x%llx (e_lfanew 0x%x)",
				    (unsigned long long)(pe->base + *lfanew),
				    *lfanew);
	return EXQ_OK;
}

struct dirs {
	uint32_t n;
	uint8_t raw[16 * 8];
};

/* Optional header: magic, ImageBase, sizes, data directories. */
static exq_status read_optional(exq__pe *pe, uint64_t at, uint16_t opt_size,
				struct dirs *d, exq__err *err)
{
	uint8_t o[240];
	size_t dir_off, need;
	exq_status st;
	uint16_t magic;
	if (opt_size < 96 || opt_size > sizeof(o))
		return exq__err_set(err, EXQ_CORRUPT,
				    "SizeOfOptionalHeader 0x%x outside [0x60, "
				    "0x%zx]",
				    opt_size, sizeof(o));
	st = pe->rd(pe->ctx, pe->base + at, o, opt_size);
	if (st != EXQ_OK)
		return pe_fail_read(err, st, "optional header", pe->base + at);
	magic = exq__le16(o);
	if (magic != 0x10b && magic != 0x20b)
		return exq__err_set(err, EXQ_CORRUPT,
				    "optional header Magic 0x%x (want 0x10b "
				    "or 0x20b)",
				    magic);
	pe->pe32plus = magic == 0x20b;
	pe->image_base = pe->pe32plus ? exq__le64(o + 24) : exq__le32(o + 28);
	pe->size_of_image = exq__le32(o + 56);
	pe->size_of_headers = exq__le32(o + 60);
	dir_off = pe->pe32plus ? 112 : 96;
	if (opt_size < dir_off)
		return exq__err_set(err, EXQ_CORRUPT,
				    "SizeOfOptionalHeader 0x%x too small for "
				    "PE32%s",
				    opt_size, pe->pe32plus ? "+" : "");
	d->n = exq__le32(o + dir_off - 4);
	if (d->n > 16)
		d->n = 16; /* the loader ignores the rest too */
	need = dir_off + (size_t)d->n * 8;
	if (need > opt_size)
		return exq__err_set(err, EXQ_CORRUPT,
				    "NumberOfRvaAndSizes %u does not fit "
				    "SizeOfOptionalHeader 0x%x",
				    d->n, opt_size);
	memcpy(d->raw, o + dir_off, (size_t)d->n * 8);
	return EXQ_OK;
}

static exq_status check_sizes(exq__pe *pe, uint64_t headers_end, exq__err *err)
{
	if (pe->size_of_image == 0 || pe->size_of_image > EXQ__PE_MAX_IMAGE)
		return exq__err_set(err, EXQ_CORRUPT,
				    "SizeOfImage 0x%x outside [1, 0x%x]",
				    pe->size_of_image, EXQ__PE_MAX_IMAGE);
	if (pe->base + pe->size_of_image < pe->base ||
	    (!pe->pe32plus && pe->base + pe->size_of_image > 0x100000000ull))
		return exq__err_set(err, EXQ_CORRUPT,
				    "image at 0x%llx + SizeOfImage 0x%x "
				    "wraps the address space",
				    (unsigned long long)pe->base,
				    pe->size_of_image);
	if (headers_end > pe->size_of_image)
		return exq__err_set(err, EXQ_CORRUPT,
				    "headers end 0x%llx past SizeOfImage 0x%x",
				    (unsigned long long)headers_end,
				    pe->size_of_image);
	return EXQ_OK;
}

static exq_status read_sections(exq__pe *pe, uint64_t at, exq__err *err)
{
	size_t i, j;
	for (i = 0; i < pe->nsections; i++) {
		exq__pe_section *s = &pe->sections[i];
		uint8_t h[40];
		uint64_t end;
		exq_status st = pe_read(pe, (uint32_t)(at + i * 40), h, 40,
					"section header", err);
		if (st != EXQ_OK)
			return st;
		for (j = 0; j < 8 && h[j]; j++)
			s->name[j] = printable(h[j]) ? (char)h[j] : '?';
		s->name[j] = '\0';
		s->vsize = exq__le32(h + 8);
		s->rva = exq__le32(h + 12);
		s->raw_size = exq__le32(h + 16);
		s->characteristics = exq__le32(h + 36);
		end = (uint64_t)s->rva + s->vsize;
		if (end > pe->size_of_image)
			return exq__err_set(err, EXQ_CORRUPT,
					    "section %zu (%s) RVA 0x%x + "
					    "VirtualSize 0x%x exceeds "
					    "SizeOfImage 0x%x",
					    i, s->name, s->rva, s->vsize,
					    pe->size_of_image);
	}
	return EXQ_OK;
}

static exq_status read_headers(exq__pe *pe, struct dirs *d, exq__err *err)
{
	uint8_t fh[20];
	uint32_t lfanew = 0;
	uint16_t opt_size;
	uint64_t sec_at;
	exq_status st = read_dos(pe, &lfanew, err);
	if (st != EXQ_OK)
		return st;
	st = pe->rd(pe->ctx, pe->base + lfanew + 4, fh, sizeof(fh));
	if (st != EXQ_OK)
		return pe_fail_read(err, st, "file header",
				    pe->base + lfanew + 4);
	pe->machine_raw = exq__le16(fh);
	pe->machine = machine_of(pe->machine_raw);
	pe->nsections = exq__le16(fh + 2);
	pe->timestamp = exq__le32(fh + 4);
	opt_size = exq__le16(fh + 16);
	if (pe->nsections > EXQ__PE_MAX_SECTIONS)
		return exq__err_set(err, EXQ_CORRUPT,
				    "NumberOfSections %zu exceeds %d",
				    pe->nsections, EXQ__PE_MAX_SECTIONS);
	st = read_optional(pe, (uint64_t)lfanew + 24, opt_size, d, err);
	if (st != EXQ_OK)
		return st;
	sec_at = (uint64_t)lfanew + 24 + opt_size;
	st = check_sizes(pe, sec_at + pe->nsections * 40, err);
	if (st != EXQ_OK)
		return st;
	return read_sections(pe, sec_at, err);
}

/* ------------------------------------------------------ export header */

/* A table of count entries of width bytes at rva must fit SizeOfImage,
 * and, when it starts inside the export directory, end inside it. */
static exq_status check_table(const exq__pe *pe, const char *field,
			      uint32_t count, const char *table, uint32_t rva,
			      unsigned width, exq__err *err)
{
	uint64_t end = (uint64_t)rva + (uint64_t)count * width;
	uint64_t dir_end = (uint64_t)pe->export_rva + pe->export_size;
	if (count > EXQ__PE_MAX_EXPORTS)
		return exq__err_set(err, EXQ_CORRUPT,
				    "export directory %s 0x%x exceeds the cap "
				    "0x%x",
				    field, count, EXQ__PE_MAX_EXPORTS);
	if (end > pe->size_of_image)
		return exq__err_set(err, EXQ_CORRUPT,
				    "export directory %s 0x%x exceeds "
				    "SizeOfImage 0x%x (%s at RVA 0x%x)",
				    field, count, pe->size_of_image, table,
				    rva);
	if (rva >= pe->export_rva && rva < dir_end && end > dir_end)
		return exq__err_set(err, EXQ_CORRUPT,
				    "export directory %s 0x%x exceeds the "
				    "export directory size 0x%x (%s at RVA "
				    "0x%x)",
				    field, count, pe->export_size, table, rva);
	return EXQ_OK;
}

static exq_status read_exports(exq__pe *pe, const uint8_t *dir, exq__err *err)
{
	uint8_t e[EXPORT_DIR_SIZE];
	exq_status st;
	pe->export_rva = exq__le32(dir);
	pe->export_size = exq__le32(dir + 4);
	if (pe->export_rva == 0 && pe->export_size == 0)
		return EXQ_OK;
	if (pe->export_size < EXPORT_DIR_SIZE ||
	    (uint64_t)pe->export_rva + pe->export_size > pe->size_of_image)
		return exq__err_set(err, EXQ_CORRUPT,
				    "export directory RVA 0x%x size 0x%x "
				    "outside SizeOfImage 0x%x",
				    pe->export_rva, pe->export_size,
				    pe->size_of_image);
	st = pe_read(pe, pe->export_rva, e, sizeof(e), "export directory", err);
	if (st != EXQ_OK)
		return st;
	pe->ordinal_base = exq__le32(e + 16);
	pe->nfunctions = exq__le32(e + 20);
	pe->nnames = exq__le32(e + 24);
	pe->functions_rva = exq__le32(e + 28);
	pe->names_rva = exq__le32(e + 32);
	pe->ordinals_rva = exq__le32(e + 36);
	st = check_table(pe, "NumberOfFunctions", pe->nfunctions,
			 "AddressOfFunctions", pe->functions_rva, 4, err);
	if (st == EXQ_OK)
		st = check_table(pe, "NumberOfNames", pe->nnames,
				 "AddressOfNames", pe->names_rva, 4, err);
	if (st == EXQ_OK)
		st = check_table(pe, "NumberOfNames", pe->nnames,
				 "AddressOfNameOrdinals", pe->ordinals_rva, 2,
				 err);
	if (st == EXQ_OK)
		st = pe_read_name(pe, exq__le32(e + 12), pe->dll_name,
				  "export directory Name", err);
	if (st != EXQ_OK)
		return st;
	pe->has_exports = 1;
	pe->names_sorted = -1;
	return EXQ_OK;
}

/* -------------------------------------------------------------- debug */

static void guid_text(const uint8_t *g, char *out)
{
	snprintf(out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		 (unsigned)exq__le32(g), (unsigned)exq__le16(g + 4),
		 (unsigned)exq__le16(g + 6), g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
}

static exq_status read_rsds(exq__pe *pe, uint32_t rva, uint32_t size,
			    exq__err *err)
{
	uint8_t r[24];
	exq_status st;
	if (size < sizeof(r) + 2)
		return exq__err_set(err, EXQ_CORRUPT,
				    "CodeView record SizeOfData 0x%x too "
				    "small",
				    size);
	st = pe_read(pe, rva, r, sizeof(r), "CodeView record", err);
	if (st != EXQ_OK)
		return st;
	if (memcmp(r, "RSDS", 4) != 0)
		return exq__err_set(err, EXQ_NOTFOUND,
				    "CodeView record at RVA 0x%x is not RSDS",
				    rva);
	st = pe_read_name(pe, rva + 24, pe->pdb_name, "CodeView PDB name", err);
	if (st != EXQ_OK)
		return st;
	guid_text(r + 4, pe->pdb_guid);
	pe->pdb_age = exq__le32(r + 20);
	return EXQ_OK;
}

/* Find the CODEVIEW entry of the debug directory and read it. */
static exq_status read_debug(exq__pe *pe, const uint8_t *dir, exq__err *err)
{
	uint32_t rva = exq__le32(dir), size = exq__le32(dir + 4), i, n;
	if (rva == 0 || size == 0)
		return exq__err_set(err, EXQ_NOTFOUND, "no debug directory");
	if ((uint64_t)rva + size > pe->size_of_image)
		return exq__err_set(err, EXQ_CORRUPT,
				    "debug directory RVA 0x%x size 0x%x "
				    "outside SizeOfImage 0x%x",
				    rva, size, pe->size_of_image);
	n = size / DEBUG_DIR_SIZE;
	if (n > MAX_DEBUG_ENTRIES)
		n = MAX_DEBUG_ENTRIES;
	for (i = 0; i < n; i++) {
		uint8_t e[DEBUG_DIR_SIZE];
		exq_status st = pe_read(pe, rva + i * DEBUG_DIR_SIZE, e,
					sizeof(e), "debug directory", err);
		if (st != EXQ_OK)
			return st;
		if (exq__le32(e + 12) == 2 && exq__le32(e + 20) != 0)
			return read_rsds(pe, exq__le32(e + 20),
					 exq__le32(e + 16), err);
	}
	return exq__err_set(err, EXQ_NOTFOUND, "no CodeView debug entry");
}

/* ---------------------------------------------------------------- open */

exq_status exq__pe_open(exq__pe **out, exq__vread_fn rd, void *ctx,
			uint64_t base, exq__err *err)
{
	struct dirs d;
	exq__pe *pe;
	exq_status st;
	if (!out || !rd)
		return exq__err_set(err, EXQ_INVALID, "exq__pe_open: no %s",
				    out ? "reader" : "output");
	pe = calloc(1, sizeof(*pe));
	if (!pe)
		return exq__err_set(err, EXQ_NOMEM, "out of memory");
	pe->rd = rd;
	pe->ctx = ctx;
	pe->base = base;
	memset(&d, 0, sizeof(d));
	st = read_headers(pe, &d, err);
	if (st == EXQ_OK && d.n > DIR_EXPORT)
		st = read_exports(pe, d.raw + DIR_EXPORT * 8, err);
	if (st != EXQ_OK) {
		free(pe);
		return exq__err_ctx(err, st, "PE image at 0x%llx",
				    (unsigned long long)base);
	}
	if (d.n > DIR_DEBUG)
		pe->cv_status =
		    read_debug(pe, d.raw + DIR_DEBUG * 8, &pe->cv_err);
	else
		pe->cv_status = exq__err_set(&pe->cv_err, EXQ_NOTFOUND,
					     "no debug directory");
	if (pe->cv_status != EXQ_OK) {
		pe->pdb_name[0] = '\0';
		pe->pdb_guid[0] = '\0';
	}
	*out = pe;
	return EXQ_OK;
}

void exq__pe_free(exq__pe *pe)
{
	free(pe);
}

/* -------------------------------------------------------- table access */

static exq_status name_at(exq__pe *pe, uint32_t i, char *out)
{
	uint8_t b[4];
	uint32_t rva;
	exq_status st = pe_read(pe, pe->names_rva + i * 4, b, 4,
				"export name table", &pe->err);
	if (st != EXQ_OK)
		return st;
	rva = exq__le32(b);
	st = pe_read_name(pe, rva, out, "export name", &pe->err);
	if (st != EXQ_OK)
		return exq__err_ctx(&pe->err, st, "export name %u", i);
	return EXQ_OK;
}

static exq_status ordinal_at(exq__pe *pe, uint32_t i, uint32_t *index)
{
	uint8_t b[2];
	exq_status st = pe_read(pe, pe->ordinals_rva + i * 2, b, 2,
				"export ordinal table", &pe->err);
	if (st != EXQ_OK)
		return st;
	*index = exq__le16(b);
	if (*index >= pe->nfunctions)
		return exq__err_set(&pe->err, EXQ_CORRUPT,
				    "export ordinal table entry %u: index %u "
				    "not below NumberOfFunctions %u",
				    i, *index, pe->nfunctions);
	return EXQ_OK;
}

/* Function RVA of function index idx; 0 means an unused slot. */
static exq_status function_at(exq__pe *pe, uint32_t idx, uint32_t *rva)
{
	uint8_t b[4];
	exq_status st = pe_read(pe, pe->functions_rva + idx * 4, b, 4,
				"export address table", &pe->err);
	if (st != EXQ_OK)
		return st;
	*rva = exq__le32(b);
	if (*rva >= pe->size_of_image)
		return exq__err_set(&pe->err, EXQ_CORRUPT,
				    "export address table entry %u: RVA 0x%x "
				    "past SizeOfImage 0x%x",
				    idx, *rva, pe->size_of_image);
	return EXQ_OK;
}

static int is_forwarder(const exq__pe *pe, uint32_t rva)
{
	return rva >= pe->export_rva &&
	       (uint64_t)rva < (uint64_t)pe->export_rva + pe->export_size;
}

/* One pass over the names: sorted in strcmp order (as the loader's binary
 * search needs)? A name that cannot be read makes it 0: linear scans
 * then skip what they cannot read. */
static void check_sorted(exq__pe *pe)
{
	char a[EXQ__PE_NAME_MAX + 1], b[EXQ__PE_NAME_MAX + 1];
	char *prev = a, *cur = b, *t;
	uint32_t i;
	for (i = 0; i < pe->nnames; i++) {
		if (name_at(pe, i, cur) != EXQ_OK) {
			pe->names_sorted = 0;
			return;
		}
		if (i > 0 && strcmp(prev, cur) > 0) {
			pe->names_sorted = 0;
			return;
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	pe->names_sorted = 1;
}

/* Name index of name, by binary search (sorted) or a linear scan that
 * skips unreadable names and reports the first failure if nothing
 * matched. */
static exq_status find_name(exq__pe *pe, const char *name, uint32_t *ni)
{
	char buf[EXQ__PE_NAME_MAX + 1];
	exq_status st, first = EXQ_OK;
	exq__err saved;
	uint32_t lo = 0, hi = pe->nnames, i;
	saved.msg[0] = '\0';
	if (pe->names_sorted == 1) {
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			int c;
			st = name_at(pe, mid, buf);
			if (st != EXQ_OK)
				return st;
			c = strcmp(name, buf);
			if (c == 0) {
				*ni = mid;
				return EXQ_OK;
			}
			if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		return EXQ_NOTFOUND;
	}
	for (i = 0; i < pe->nnames; i++) {
		st = name_at(pe, i, buf);
		if (st == EXQ_OK && strcmp(name, buf) == 0) {
			*ni = i;
			return EXQ_OK;
		}
		if (st != EXQ_OK && first == EXQ_OK) {
			first = st;
			saved = pe->err;
		}
	}
	if (first != EXQ_OK)
		pe->err = saved;
	return first != EXQ_OK ? first : EXQ_NOTFOUND;
}

exq_status exq__pe_export(exq__pe *pe, const char *name, uint64_t *va,
			  int *forwarded)
{
	uint32_t ni = 0, idx = 0, rva = 0;
	exq_status st;
	if (!pe || !name || !va)
		return EXQ_INVALID;
	exq__err_clear(&pe->err);
	if (!pe->has_exports)
		return exq__err_set(&pe->err, EXQ_NOTFOUND,
				    "image at 0x%llx has no export directory",
				    (unsigned long long)pe->base);
	if (pe->names_sorted < 0)
		check_sorted(pe);
	st = find_name(pe, name, &ni);
	if (st == EXQ_OK)
		st = ordinal_at(pe, ni, &idx);
	if (st == EXQ_OK)
		st = function_at(pe, idx, &rva);
	if (st == EXQ_OK && rva == 0)
		st = EXQ_NOTFOUND;
	if (st == EXQ_NOTFOUND)
		return exq__err_set(&pe->err, st, "export '%s' not found in %s",
				    name, pe->dll_name);
	if (st != EXQ_OK)
		return exq__err_ctx(&pe->err, st,
				    "looking up export '%s' in %s", name,
				    pe->dll_name);
	*va = pe->base + rva;
	if (forwarded)
		*forwarded = is_forwarder(pe, rva);
	return EXQ_OK;
}

/* --------------------------------------------------- address → export */

static const exq__pe_section *section_of(const exq__pe *pe, uint32_t rva)
{
	size_t i;
	for (i = 0; i < pe->nsections; i++) {
		const exq__pe_section *s = &pe->sections[i];
		uint32_t size = s->vsize ? s->vsize : s->raw_size;
		if (rva >= s->rva && (uint64_t)rva < (uint64_t)s->rva + size)
			return s;
	}
	return NULL;
}

/* Over the whole address table: the highest code RVA <= target (its
 * index in *best) and the lowest code RVA > target (0 when none). */
static exq_status bracket(exq__pe *pe, uint32_t target, uint32_t *best,
			  uint32_t *best_rva, uint32_t *next_rva)
{
	uint8_t b[CHUNK * 4];
	uint32_t i, j, n;
	*best_rva = 0;
	*next_rva = 0;
	for (i = 0; i < pe->nfunctions; i += n) {
		exq_status st;
		n = pe->nfunctions - i < CHUNK ? pe->nfunctions - i : CHUNK;
		st = pe_read(pe, pe->functions_rva + i * 4, b, (size_t)n * 4,
			     "export address table", &pe->err);
		if (st != EXQ_OK)
			return st;
		for (j = 0; j < n; j++) {
			uint32_t r = exq__le32(b + j * 4);
			if (r == 0 || is_forwarder(pe, r))
				continue;
			if (r >= pe->size_of_image)
				return exq__err_set(
				    &pe->err, EXQ_CORRUPT,
				    "export address table entry %u: RVA "
				    "0x%x past SizeOfImage 0x%x",
				    i + j, r, pe->size_of_image);
			if (r <= target && r > *best_rva) {
				*best_rva = r;
				*best = i + j;
			} else if (r > target &&
				   (!*next_rva || r < *next_rva)) {
				*next_rva = r;
			}
		}
	}
	return EXQ_OK;
}

/* The first name whose ordinal-table entry is function index idx. */
static exq_status name_of_index(exq__pe *pe, uint32_t idx)
{
	uint8_t b[CHUNK * 2];
	uint32_t i, j, n;
	for (i = 0; i < pe->nnames; i += n) {
		exq_status st;
		n = pe->nnames - i < CHUNK ? pe->nnames - i : CHUNK;
		st = pe_read(pe, pe->ordinals_rva + i * 2, b, (size_t)n * 2,
			     "export ordinal table", &pe->err);
		if (st != EXQ_OK)
			return st;
		for (j = 0; j < n; j++)
			if (exq__le16(b + j * 2) == idx)
				return name_at(pe, i + j, pe->sym);
	}
	return EXQ_NOTFOUND; /* exported by ordinal only */
}

exq_status exq__pe_export_containing(exq__pe *pe, uint64_t va,
				     const char **name, uint64_t *off)
{
	const exq__pe_section *s;
	uint32_t rva, best = 0, best_rva, next_rva;
	exq_status st;
	if (!pe || !name || !off)
		return EXQ_INVALID;
	exq__err_clear(&pe->err);
	if (!pe->has_exports || va < pe->base ||
	    va - pe->base >= pe->size_of_image)
		return EXQ_NOTFOUND;
	rva = (uint32_t)(va - pe->base);
	s = section_of(pe, rva);
	if (!s ||
	    !(s->characteristics & (EXQ__SCN_MEM_EXECUTE | EXQ__SCN_CNT_CODE)))
		return EXQ_NOTFOUND;
	st = bracket(pe, rva, &best, &best_rva, &next_rva);
	if (st != EXQ_OK)
		return exq__err_ctx(&pe->err, st, "symbolizing 0x%llx in %s",
				    (unsigned long long)va, pe->dll_name);
	/* va == an export is exact; otherwise the export's end must be known
	 * (the next export, in the same section). */
	if (best_rva == 0 || section_of(pe, best_rva) != s)
		return EXQ_NOTFOUND;
	if (best_rva != rva && (next_rva == 0 || section_of(pe, next_rva) != s))
		return EXQ_NOTFOUND;
	st = name_of_index(pe, best);
	if (st == EXQ_NOTFOUND)
		return st;
	if (st != EXQ_OK)
		return exq__err_ctx(&pe->err, st, "symbolizing 0x%llx in %s",
				    (unsigned long long)va, pe->dll_name);
	*name = pe->sym;
	*off = rva - best_rva;
	return EXQ_OK;
}

int exq__pe_in_writable_section(const exq__pe *pe, uint64_t va)
{
	const exq__pe_section *s;
	if (!pe || va < pe->base || va - pe->base >= pe->size_of_image)
		return 0;
	s = section_of(pe, (uint32_t)(va - pe->base));
	return s && (s->characteristics & EXQ__SCN_MEM_WRITE);
}
