/* SPDX-License-Identifier: MIT */
/* In-memory dump builders for the unit tests (see tlib.h). */
#include "tlib.h"
#include "tlib_win.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void t_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void t_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void t_put64(uint8_t *p, uint64_t v)
{
	t_put32(p, (uint32_t)v);
	t_put32(p + 4, (uint32_t)(v >> 32));
}

const exq_run *t_runs(exq_image *img)
{
	const exq_run *r = NULL;
	size_t n;
	if (exq_image_runs(img, &r, &n) != EXQ_OK || (n && !r)) {
		fprintf(stderr, "exq_image_runs: %s\n", exq_image_error(img));
		abort();
	}
	return r;
}

void t_fill_page(uint64_t pfn, uint8_t *page)
{
	size_t i;
	for (i = 0; i < 4096; i += 8)
		t_put64(page + i, (pfn << 16) ^ i ^ 0x5a5a000000000000ull);
}

size_t t_off_dumptype(int wide)
{
	return wide ? 0xF98 : 0xF88;
}

size_t t_off_pmb(int wide)
{
	return wide ? 0x88 : 0x64;
}

const struct t_hdr t_hdr_generic32 = {
    0, 1, 7601, 0x185000, 0x82b5fdf0, 0x82b8c4d0, 0x82b84c38, 0x84800000, 2,
    0xe2, {0, 0, 0, 0}, 0x1d5a1fa69e64122ull};
const struct t_hdr t_hdr_generic64 = {
    1, 0, 19041, 0x1ad000, 0xfffff8047c600b20ull, 0xfffff8047c62a2d0ull,
    0xfffff8047c61e050ull, 0xffffe50000000000ull, 4, 0x3b, {1, 2, 3, 4},
    0x1d5a1fa69e64122ull};

static void header(const struct t_hdr *h, uint8_t *b, uint32_t dump_type)
{
	size_t hs = h->wide ? 0x2000 : 0x1000, i;
	for (i = 0; i < hs; i += 4)
		memcpy(b + i, "PAGE", 4);
	memcpy(b + 4, h->wide ? "DU64" : "DUMP", 4);
	t_put32(b + 8, 0xF);
	t_put32(b + 12, h->build);
	if (h->wide) {
		t_put64(b + 0x10, h->dtb);
		t_put64(b + 0x18, h->pfndb);
		t_put64(b + 0x20, h->modlist);
		t_put64(b + 0x28, h->proclist);
		t_put32(b + 0x30, 0x8664);
		t_put32(b + 0x34, h->cpus);
		t_put32(b + 0x38, h->bugcheck);
		for (i = 0; i < 4; i++)
			t_put64(b + 0x40 + 8 * i, h->params[i]);
		t_put64(b + 0x80, h->kdbg);
		t_put32(b + 0xF98, dump_type);
		t_put64(b + 0xFA8, h->systime);
	} else {
		t_put32(b + 0x10, (uint32_t)h->dtb);
		t_put32(b + 0x14, (uint32_t)h->pfndb);
		t_put32(b + 0x18, (uint32_t)h->modlist);
		t_put32(b + 0x1C, (uint32_t)h->proclist);
		t_put32(b + 0x20, 0x14C);
		t_put32(b + 0x24, h->cpus);
		t_put32(b + 0x28, h->bugcheck);
		for (i = 0; i < 4; i++)
			t_put32(b + 0x2C + 4 * i, (uint32_t)h->params[i]);
		b[0x5C] = (uint8_t)h->pae;
		t_put32(b + 0x60, (uint32_t)h->kdbg);
		t_put32(b + 0xF88, dump_type);
		t_put64(b + 0xFC0, h->systime);
	}
}

uint8_t *t_make_full(const struct t_hdr *h, const exq_run *runs, size_t n,
		     size_t *len)
{
	size_t hs = h->wide ? 0x2000 : 0x1000, total = 0, i, off;
	uint64_t p;
	uint8_t *b;
	for (i = 0; i < n; i++)
		total += runs[i].page_count;
	*len = hs + total * 4096;
	b = calloc(1, *len);
	if (!b)
		abort();
	header(h, b, 1);
	if (h->wide) {
		t_put32(b + 0x88, (uint32_t)n);
		t_put32(b + 0x8C, 0);
		t_put64(b + 0x90, total);
		for (i = 0; i < n; i++) {
			t_put64(b + 0x98 + 16 * i, runs[i].base_page);
			t_put64(b + 0xA0 + 16 * i, runs[i].page_count);
		}
	} else {
		t_put32(b + 0x64, (uint32_t)n);
		t_put32(b + 0x68, (uint32_t)total);
		for (i = 0; i < n; i++) {
			t_put32(b + 0x6C + 8 * i, (uint32_t)runs[i].base_page);
			t_put32(b + 0x70 + 8 * i, (uint32_t)runs[i].page_count);
		}
	}
	off = hs;
	for (i = 0; i < n; i++)
		for (p = 0; p < runs[i].page_count; p++, off += 4096)
			t_fill_page(runs[i].base_page + p, b + off);
	return b;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint8_t *t_make_bitmap(const struct t_hdr *h, uint32_t dump_type,
		       const uint64_t *pfns, size_t n, uint64_t bitmap_bits,
		       size_t *len)
{
	size_t hs = h->wide ? 0x2000 : 0x1000, bm_at, first, i;
	size_t bm_bytes = (size_t)((bitmap_bits + 7) / 8);
	uint64_t *sorted = malloc(n * sizeof(*sorted));
	uint8_t *b;
	if (!sorted)
		abort();
	memcpy(sorted, pfns, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_u64);
	/* SUMMARY_DUMP32/64 bits at +0x20/+0x28 (after an on-disk RTL_BITMAP
	 * whose pointer slot is 4/8 bytes); BMP_DUMP_HEADER bits at +0x38 */
	bm_at = hs + (dump_type == 2 ? (h->wide ? 0x28 : 0x20) : 0x38);
	first = (bm_at + bm_bytes + 4095) & ~(size_t)4095;
	*len = first + n * 4096;
	b = calloc(1, *len);
	if (!b)
		abort();
	header(h, b, dump_type);
	memcpy(b + hs, "SDMP", 4);
	memcpy(b + hs + 4, "DUMP", 4);
	if (dump_type == 2) {
		t_put32(b + hs + 0x0C, (uint32_t)first);
		t_put32(b + hs + 0x10, (uint32_t)bitmap_bits);
		t_put32(b + hs + 0x14, (uint32_t)n);
		if (h->wide) /* Bitmap.SizeOfBitMap */
			t_put32(b + hs + 0x18, (uint32_t)bitmap_bits);
	} else {
		t_put64(b + hs + 0x20, first);
		t_put64(b + hs + 0x28, n);
		t_put64(b + hs + 0x30, bitmap_bits);
	}
	for (i = 0; i < n; i++) {
		b[bm_at + sorted[i] / 8] |= (uint8_t)(1u << (sorted[i] % 8));
		t_fill_page(sorted[i], b + first + i * 4096);
	}
	free(sorted);
	return b;
}

uint8_t *t_world_dump(const struct tw_world *w, uint32_t dump_type,
		      int used_only, uint64_t **pfns_out, size_t *npfns,
		      size_t *first, size_t *len)
{
	struct t_hdr h;
	exq_run runs[8];
	uint64_t *pfns = NULL, p;
	size_t i, n = 0, off;
	uint8_t *b;
	memset(&h, 0, sizeof(h));
	h.wide = w->machine == TW_X64;
	h.pae = w->pae;
	h.build = w->build;
	h.dtb = w->dtb;
	h.kdbg = w->kdbg;
	h.modlist = w->module_list;
	h.proclist = w->process_head;
	h.pfndb = w->pfn_database;
	h.cpus = w->spec.cpus;
	h.bugcheck = w->bugcheck;
	for (i = 0; i < 4; i++)
		h.params[i] = w->bugcheck_params[i];
	h.systime = w->spec.system_time;
	if (dump_type == 1) {
		for (i = 0; i < w->nruns && i < 8; i++) {
			runs[i].base_page = w->runs[i].first;
			runs[i].page_count = w->runs[i].count;
		}
		b = t_make_full(&h, runs, i, len);
		off = h.wide ? 0x2000 : 0x1000;
		*first = off;
		for (i = 0; i < w->nruns && i < 8; i++)
			for (p = 0; p < runs[i].page_count; p++, off += 4096)
				memcpy(b + off, w->mem + (runs[i].base_page + p) * 4096, 4096);
		if (pfns_out)
			*pfns_out = NULL;
		if (npfns)
			*npfns = 0;
		return b;
	}
	pfns = calloc(w->npages ? w->npages : 1, sizeof(*pfns));
	if (!pfns)
		abort();
	for (p = 0; p < w->npages; p++)
		if (tw_present(w, p) && (!used_only || w->used[p]))
			pfns[n++] = p;
	b = t_make_bitmap(&h, dump_type, pfns, n, w->npages, len);
	*first = *len - n * 4096; /* the pages end the file, ascending */
	for (i = 0; i < n; i++)
		memcpy(b + *first + i * 4096, w->mem + pfns[i] * 4096, 4096);
	if (npfns)
		*npfns = n;
	if (pfns_out)
		*pfns_out = pfns;
	else
		free(pfns);
	return b;
}

uint8_t *t_gzip(const uint8_t *in, size_t len, size_t *out_len)
{
	z_stream zs;
	size_t cap = len + len / 100 + 1024;
	uint8_t *out = malloc(cap);
	memset(&zs, 0, sizeof(zs));
	if (!out || deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	zs.next_in = (uint8_t *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		abort();
	*out_len = zs.total_out;
	deflateEnd(&zs);
	return out;
}
