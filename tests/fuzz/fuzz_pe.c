/* SPDX-License-Identifier: MIT */
/* fuzz_pe: the PE parser (exq__pe_open, export lookup by name and by
 * address) over an image served by a vread callback, as the kernel and
 * module code use it.
 *
 * Input: byte 0: flags (bit k, k < 7: page k of the image is NODATA;
 * bit 7: bytes outside every chunk are NOTPRESENT instead of zero); then
 * chunks {u32 rva, u16 len, len bytes} laid at BASE + rva (rva modulo
 * 16 MiB; a later chunk wins). Addresses below BASE or 16 MiB past it are
 * not present. */
#include <stdlib.h>
#include <string.h>

#include "exq_int.h"
#include "fuzz.h"

#define BASE 0x80400000ull
#define SPAN 0x1000000u
#define MAX_CHUNKS 64

struct chunk {
	uint32_t rva;
	uint32_t len;
	const uint8_t *data;
};

struct image {
	uint8_t flags;
	struct chunk c[MAX_CHUNKS];
	size_t n;
};

/* Bytes [va, va + len): zeros, then each chunk's overlap copied in order
 * (a later chunk wins); with flag bit 7, a byte no chunk covers makes the
 * read NOTPRESENT. Chunk-wise, so a large read costs O(chunks). */
static exq_status vread(void *ctx, uint64_t va, void *buf, size_t len)
{
	struct image *im = ctx;
	uint8_t *out = buf;
	uint64_t rva = va - BASE, end, p;
	size_t k;
	if (!len)
		return EXQ_OK;
	if (va < BASE || rva >= SPAN || len > SPAN - rva)
		return EXQ_NOTPRESENT;
	end = rva + len;
	for (p = rva >> 12; p < 7 && p <= (end - 1) >> 12; p++)
		if ((im->flags >> p) & 1)
			return EXQ_NODATA;
	if (im->flags & 0x80) { /* every byte must lie in some chunk */
		for (p = rva; p < end;) {
			uint64_t reach = p;
			for (k = 0; k < im->n; k++)
				if (im->c[k].rva <= p &&
				    p < (uint64_t)im->c[k].rva + im->c[k].len &&
				    (uint64_t)im->c[k].rva + im->c[k].len > reach)
					reach = (uint64_t)im->c[k].rva +
						im->c[k].len;
			if (reach == p)
				return EXQ_NOTPRESENT;
			p = reach;
		}
	}
	memset(out, 0, len);
	for (k = 0; k < im->n; k++) {
		uint64_t a = im->c[k].rva, b = a + im->c[k].len;
		uint64_t lo = a > rva ? a : rva, hi = b < end ? b : end;
		if (lo < hi)
			memcpy(out + (lo - rva), im->c[k].data + (lo - a),
			       (size_t)(hi - lo));
	}
	return EXQ_OK;
}

static void parse(struct image *im, const uint8_t *d, size_t n)
{
	im->flags = d[0];
	d++;
	n--;
	while (n >= 6 && im->n < MAX_CHUNKS) {
		struct chunk *c = &im->c[im->n++];
		c->rva = exq__le32(d) % SPAN;
		c->len = exq__le16(d + 4);
		d += 6;
		n -= 6;
		if (c->len > n)
			c->len = (uint32_t)n;
		c->data = d;
		d += c->len;
		n -= c->len;
	}
}

static const char *const names[] = {
    "ExQueueWorkItem",
    "NtBuildNumber",
    "KeBugCheckEx",
    "PsLoadedModuleList",
    "",
    "A",
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
};

static void lookups(exq__pe *pe, const struct image *im)
{
	size_t i, s;
	uint64_t va, off;
	const char *name;
	int fwd;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (exq__pe_export(pe, names[i], &va, &fwd) == EXQ_OK) {
			exq__pe_export_containing(pe, va, &name, &off);
			exq__pe_export_containing(pe, va + 1, &name, &off);
		}
	/* The dll name itself, and names from the chunks' first bytes. */
	exq__pe_export(pe, pe->dll_name, &va, &fwd);
	for (s = 0; s < pe->nsections; s++) {
		const exq__pe_section *sec = &pe->sections[s];
		exq__pe_export_containing(pe, pe->base + sec->rva, &name, &off);
		exq__pe_export_containing(
		    pe, pe->base + sec->rva + sec->vsize / 2, &name, &off);
		exq__pe_in_writable_section(pe, pe->base + sec->rva);
	}
	for (i = 0; i < im->n && i < 8; i++) {
		char nm[33];
		size_t l = im->c[i].len < 32 ? im->c[i].len : 32;
		memcpy(nm, im->c[i].data, l);
		nm[l] = '\0';
		exq__pe_export(pe, nm, &va, &fwd);
		if (l >= 4)
			exq__pe_export_containing(
			    pe, pe->base + exq__le32(im->c[i].data), &name,
			    &off);
	}
	exq__pe_export_containing(pe, UINT64_MAX, &name, &off);
	exq__pe_in_writable_section(pe, 0);
}

int exq_fuzz_pe(const uint8_t *d, size_t n)
{
	struct image *im;
	exq__pe *pe = NULL;
	exq__err err;
	if (n < 1)
		return 0;
	im = calloc(1, sizeof(*im));
	if (!im)
		return 0;
	parse(im, d, n);
	exq__err_clear(&err);
	if (exq__pe_open(&pe, vread, im, BASE, &err) == EXQ_OK) {
		lookups(pe, im);
		exq__pe_free(pe);
	}
	free(im);
	return 0;
}

EXQ_FUZZ_MAIN(exq_fuzz_pe)
