/* SPDX-License-Identifier: MIT */
/* The flattened makedumpfile stream as a byte source: the regular file
 * layout rebuilt on the fly, without a temporary file.
 *
 * Format (makedumpfile's "flattened" output, also QEMU 7.2's
 * `dump-guest-memory -z`; big-endian numbers):
 *   0x000  char signature[16]   "makedumpfile", NUL padded
 *   0x010  s64  type            1 (flat header)
 *   0x018  s64  version         1
 *   ...    padding to 0x1000
 *   then records { s64 offset; s64 size; u8 data[size] } in stream order,
 *   ending with a record whose offset is -1.
 * Each record says "these bytes go at this offset of the regular file".
 *
 * One pass over the record headers builds an index (offset, size, where
 * the data sits in the stream) sorted by offset; reads binary-search it.
 * Memory: 32 bytes per record, and a record takes at least 16 bytes of
 * the stream, so the index is bounded by the input's size. Records that
 * overlap are CORRUPT (the message names both); bytes no record covers
 * read as zeros (a sparse regular file). */
#include "exq_int.h"

#include <stdlib.h>

#define FLAT_HDR_SIZE 0x1000
#define FLAT_MAX_END (1ull << 56) /* no regular file is this large */

struct flat_rec {
	uint64_t off, size; /* in the regular file */
	uint64_t data;      /* where the bytes are in the stream */
	uint64_t index;     /* record number in the stream, from 0 */
};

struct flat_priv {
	exq__source *inner;
	int own_inner;
	struct flat_rec *recs;
	size_t n;
};

int exq__src_is_flat(exq__source *src)
{
	uint8_t h[16];
	exq__err e;
	if (src->size < FLAT_HDR_SIZE || exq__src_read(src, 0, h, 16, &e))
		return 0;
	return memcmp(h, "makedumpfile\0\0\0\0", 16) == 0;
}

/* What a flattened stream holds, cheaply: the first n bytes of the rebuilt
 * file when the stream's first record starts at offset 0 (makedumpfile and
 * QEMU write the header first), without building the index. 0 when that
 * is not known so (or src is not a flattened stream). */
int exq__src_flat_peek(exq__source *src, uint8_t *buf, size_t n)
{
	uint8_t h[16];
	exq__err e;
	if (!exq__src_is_flat(src) || src->size < FLAT_HDR_SIZE + 16 + n ||
	    exq__src_read(src, FLAT_HDR_SIZE, h, 16, &e) ||
	    exq__be64(h) != 0 || exq__be64(h + 8) < n ||
	    exq__src_read(src, FLAT_HDR_SIZE + 16, buf, n, &e))
		return 0;
	return 1;
}

static exq_status flat_read(exq__source *src, uint64_t off, void *buf,
			    size_t len, exq__err *err)
{
	struct flat_priv *fp = src->priv;
	uint8_t *out = buf;
	size_t lo = 0, hi = fp->n;
	while (lo < hi) { /* first record with off > the read's start */
		size_t mid = lo + (hi - lo) / 2;
		if (fp->recs[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0)
		lo--;
	while (len) {
		const struct flat_rec *r = lo < fp->n ? &fp->recs[lo] : NULL;
		size_t n;
		if (!r || off < r->off) { /* a hole: zeros up to the record */
			n = len;
			if (r && r->off - off < n)
				n = (size_t)(r->off - off);
			memset(out, 0, n);
		} else if (off - r->off >= r->size) {
			lo++;
			continue;
		} else {
			exq_status st;
			n = len;
			if (r->size - (off - r->off) < n)
				n = (size_t)(r->size - (off - r->off));
			st = exq__src_read(fp->inner, r->data + (off - r->off),
					   out, n, err);
			if (st != EXQ_OK)
				return exq__err_ctx(err, st,
						    "flattened record %llu",
						    (unsigned long long)r->index);
			lo++;
		}
		out += n;
		off += n;
		len -= n;
	}
	return EXQ_OK;
}

static void flat_close(exq__source *src)
{
	struct flat_priv *fp = src->priv;
	if (fp->own_inner)
		exq__src_close(fp->inner);
	free(fp->recs);
	free(fp);
	free(src);
}

static const struct exq__source_ops flat_ops = {"flattened", flat_read,
						 flat_close};

static int rec_cmp(const void *a, const void *b)
{
	const struct flat_rec *x = a, *y = b;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static exq_status check_header(exq__source *in, exq__err *err)
{
	uint8_t h[32];
	exq_status st = exq__src_read(in, 0, h, sizeof(h), err);
	int64_t type, version;
	if (st != EXQ_OK)
		return st;
	type = (int64_t)exq__be64(h + 16);
	version = (int64_t)exq__be64(h + 24);
	if (type != 1 || version != 1)
		return exq__err_set(err, EXQ_UNSUPPORTED,
				    "flattened makedumpfile header with type "
				    "%lld version %lld (known: type 1 version 1)",
				    (long long)type, (long long)version);
	return EXQ_OK;
}

/* One pass over the record headers. */
static exq_status index_records(struct flat_priv *fp, exq__err *err)
{
	exq__source *in = fp->inner;
	uint64_t pos = FLAT_HDR_SIZE, i;
	size_t cap = 0;
	for (i = 0;; i++) {
		uint8_t h[16];
		int64_t off, size;
		uint64_t end;
		if (in->size - pos < 16)
			return exq__err_set(err, EXQ_CORRUPT,
					    "flattened record %llu at stream offset "
					    "0x%llx: the stream ends inside its "
					    "header (truncated, no end marker)",
					    (unsigned long long)i,
					    (unsigned long long)pos);
		if (exq__src_read(in, pos, h, 16, err) != EXQ_OK)
			return exq__err_ctx(err, EXQ_IO, "flattened record %llu",
					    (unsigned long long)i);
		off = (int64_t)exq__be64(h);
		size = (int64_t)exq__be64(h + 8);
		if (off == -1)
			break;
		if (off < 0 || size < 0 ||
		    exq__add_ovf((uint64_t)off, (uint64_t)size, &end) ||
		    end > FLAT_MAX_END)
			return exq__err_set(err, EXQ_CORRUPT,
					    "flattened record %llu at stream offset "
					    "0x%llx: offset %lld size %lld is not a "
					    "place in a file",
					    (unsigned long long)i,
					    (unsigned long long)pos, (long long)off,
					    (long long)size);
		if ((uint64_t)size > in->size - pos - 16)
			return exq__err_set(err, EXQ_CORRUPT,
					    "flattened record %llu at stream offset "
					    "0x%llx: its 0x%llx data bytes run past "
					    "the end of the stream (0x%llx; "
					    "truncated?)",
					    (unsigned long long)i,
					    (unsigned long long)pos,
					    (unsigned long long)size,
					    (unsigned long long)in->size);
		if (size) {
			if (fp->n == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				struct flat_rec *t =
					realloc(fp->recs, ncap * sizeof(*t));
				if (!t)
					return exq__err_set(err, EXQ_NOMEM,
							    "out of memory for the "
							    "flattened index");
				fp->recs = t;
				cap = ncap;
			}
			fp->recs[fp->n].off = (uint64_t)off;
			fp->recs[fp->n].size = (uint64_t)size;
			fp->recs[fp->n].data = pos + 16;
			fp->recs[fp->n].index = i;
			fp->n++;
		}
		pos += 16 + (uint64_t)size;
	}
	return EXQ_OK;
}

/* Sweep over the record boundaries with a max-heap (by stream index) of
 * the records that cover the current position; each stretch between two
 * boundaries goes to the heap's top. O(n log n), memory bounded by the
 * number of records (itself bounded by the input's size). */
struct ev {
	uint64_t at;
	size_t rec;
};

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at;
}

static void heap_push(size_t *h, size_t *n, const struct flat_rec *r, size_t v)
{
	size_t i = (*n)++;
	while (i > 0 && r[h[(i - 1) / 2]].index < r[v].index) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = v;
}

static void heap_pop(size_t *h, size_t *n, const struct flat_rec *r)
{
	size_t i = 0, v = h[--*n];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && r[h[c + 1]].index > r[h[c]].index)
			c++;
		if (r[h[c]].index <= r[v].index)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = v;
}

static exq_status resolve_overlaps(struct flat_priv *fp, exq__err *err)
{
	const struct flat_rec *r = fp->recs;
	size_t n = fp->n, ne = 2 * n, i, nh = 0, np = 0;
	struct ev *ev = malloc(ne * sizeof(*ev));
	size_t *heap = malloc(n * sizeof(*heap));
	struct flat_rec *out = malloc(ne * sizeof(*out));
	if (!ev || !heap || !out) {
		free(ev);
		free(heap);
		free(out);
		return exq__err_set(err, EXQ_NOMEM, "out of memory for the "
				    "flattened index");
	}
	for (i = 0; i < n; i++) {
		ev[2 * i].at = r[i].off;
		ev[2 * i].rec = i;
		ev[2 * i + 1].at = r[i].off + r[i].size; /* ends: popped lazily */
		ev[2 * i + 1].rec = SIZE_MAX;
	}
	qsort(ev, ne, sizeof(*ev), ev_cmp);
	for (i = 0; i < ne;) {
		uint64_t at = ev[i].at, next;
		for (; i < ne && ev[i].at == at; i++)
			if (ev[i].rec != SIZE_MAX)
				heap_push(heap, &nh, r, ev[i].rec);
		while (nh && r[heap[0]].off + r[heap[0]].size <= at)
			heap_pop(heap, &nh, r);
		if (!nh || i == ne)
			continue;
		next = ev[i].at;
		{
			const struct flat_rec *t = &r[heap[0]];
			struct flat_rec *last = np ? &out[np - 1] : NULL;
			if (last && last->index == t->index &&
			    last->off + last->size == at)
				last->size += next - at;
			else {
				out[np].off = at;
				out[np].size = next - at;
				out[np].data = t->data + (at - t->off);
				out[np].index = t->index;
				np++;
			}
		}
	}
	free(ev);
	free(heap);
	free(fp->recs);
	fp->recs = out;
	fp->n = np;
	return EXQ_OK;
}

exq_status exq__src_flat_open(exq__source **out, exq__source *inner,
			      int own_inner, exq__err *err)
{
	struct flat_priv *fp;
	exq__source *s;
	exq_status st;
	uint64_t size = 0;
	size_t i;

	fp = calloc(1, sizeof(*fp));
	s = calloc(1, sizeof(*s));
	if (!fp || !s) {
		free(fp);
		free(s);
		if (own_inner)
			exq__src_close(inner);
		return exq__err_set(err, EXQ_NOMEM, "out of memory");
	}
	fp->inner = inner;
	fp->own_inner = own_inner;
	s->ops = &flat_ops;
	s->priv = fp;
	if (!exq__src_is_flat(inner))
		st = exq__err_set(err, EXQ_CORRUPT,
				  "no makedumpfile signature: not a flattened "
				  "stream");
	else if ((st = check_header(inner, err)) == EXQ_OK)
		st = index_records(fp, err);
	if (st == EXQ_OK && fp->n > 1)
		qsort(fp->recs, fp->n, sizeof(*fp->recs), rec_cmp);
	for (i = 1; st == EXQ_OK && i < fp->n; i++)
		if (fp->recs[i].off < fp->recs[i - 1].off + fp->recs[i - 1].size) {
			st = resolve_overlaps(fp, err);
			break;
		}
	for (i = 0; st == EXQ_OK && i < fp->n; i++)
		if (fp->recs[i].off + fp->recs[i].size > size)
			size = fp->recs[i].off + fp->recs[i].size;
	if (st == EXQ_OK && fp->n == 0)
		st = exq__err_set(err, EXQ_CORRUPT,
				  "the flattened stream holds no data records");
	if (st != EXQ_OK) {
		flat_close(s);
		return st;
	}
	s->size = size;
	*out = s;
	return EXQ_OK;
}

size_t exq__src_flat_nrecords(const exq__source *src)
{
	return src->ops == &flat_ops ? ((struct flat_priv *)src->priv)->n : 0;
}

exq_status exq__src_unflatten(exq__source *src, exq__source **flat,
			      exq__source **c, exq__err *err)
{
	exq_status st;
	*flat = NULL;
	*c = src;
	if (!exq__src_is_flat(src))
		return EXQ_OK;
	st = exq__src_flat_open(flat, src, 0, err);
	if (st != EXQ_OK)
		return exq__err_ctx(err, st, "flattened stream");
	*c = *flat;
	return EXQ_OK;
}
