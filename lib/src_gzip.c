/* SPDX-License-Identifier: MIT */
/*
 * The gzip byte source: random access into a gzip stream (RFC 1952, one
 * or more concatenated members) over another source.
 *
 * Open makes one pass over the whole stream: it inflates every member,
 * checks each trailer (CRC32 and ISIZE), and records access points. At a
 * deflate block boundary a point holds where the block starts in the
 * compressed bytes (byte offset plus 0-7 bits), its uncompressed offset,
 * and the last 32 KiB of output before it — the history a deflate decoder
 * needs to resume there (the idea of zlib's examples/zran.c; the code is
 * ours). Deflate blocks can be long (gzip -1 of zero-heavy memory writes
 * blocks of 4-7 MiB of output), so when a point is half a span overdue
 * inside a block, the point is instead a copy of the whole decoder
 * (inflateCopy: its Huffman tables, bit buffer and own 32 KiB window)
 * taken between two inflate calls; restoring it is inflateCopy back.
 * Either way points sit at most 1.5 spans apart whatever the block
 * sizes. A read restores the nearest point at or before the wanted
 * offset and inflates forward.
 *
 * Memory bound. Points start GZ_SPAN (1 MiB) apart; when GZ_MAX_POINTS
 * (1024) are stored, or their windows and decoder copies would pass
 * GZ_MAX_BYTES (32 MiB; a copy is counted as GZ_COPY_COST, its 32 KiB
 * window and zlib's ~7 KiB state), every other one is dropped and the span
 * doubles, so points stay about a span apart, a cache miss inflates about
 * a span at most, and the index never holds more than 32 MiB. Windows are
 * stored raw: compressing them would save memory but cost time on every
 * restore. For any input:
 *   points       <= 32 MiB (1024 windows, or about 800 decoder copies)
 *   point table     1024 x 56 B                 = 56 KiB
 *   read cache      GZ_SLOTS x GZ_BLOCK         = 2 MiB
 *   input buffer    GZ_CHUNK                    = 64 KiB
 *   zlib inflate state (~7 KiB + its 32 KiB window), the 32 KiB output
 *   ring used only during open
 * i.e. under 35 MiB whatever the stream's size. No buffer grows with the
 * stream.
 */
#include "exq_int.h"

#include <stdlib.h>
#include <zlib.h>

#define GZ_WSIZE 32768u	    /* deflate history: what a point must keep */
#define GZ_CHUNK 65536u	    /* compressed bytes read from inner at once */
#define GZ_BLOCK 65536u	    /* uncompressed bytes per cache slot */
#define GZ_SLOTS 32	    /* cache slots (2 MiB), least recently used evicted */
#define GZ_SPAN (1u << 20)  /* first distance between access points */
#define GZ_MAX_POINTS 1024u /* cap on access points (see the bound above) */
#define GZ_MAX_BYTES (32u << 20) /* cap on their windows and decoder copies */
#define GZ_COPY_COST (40u << 10) /* a decoder copy: window + inflate state */
#define GZ_MAX_SPAN ((uint64_t)1 << 40) /* largest span a caller may ask */

/* gzip header flags (RFC 1952 §2.3.1). */
#define GZ_FHCRC 0x02
#define GZ_FEXTRA 0x04
#define GZ_FNAME 0x08
#define GZ_FCOMMENT 0x10
#define GZ_FRESERVED 0xe0

struct gzi_point {
	uint64_t out;	 /* uncompressed offset of the first byte here */
	uint64_t in;	 /* compressed offset of the first whole byte */
	uint64_t member; /* index of the member the point is in */
	uint8_t *window; /* the wlen bytes of output before out (or NULL) */
	uint32_t wlen;	 /* < 32 KiB only near the start of a member */
	uint8_t bits;	 /* 0-7 bits of byte in-1 still to be decoded */
	z_stream *zs;	 /* inside a block: the decoder as it was at out,
			  * having consumed the input before in (window and
			  * bits unused); NULL at a block boundary */
	uint32_t cost;	 /* bytes counted against GZ_MAX_BYTES */
};

/* Buffered reader over the inner source. */
struct gzi_in {
	exq__source *src;
	uint8_t *buf;  /* GZ_CHUNK bytes */
	uint64_t base; /* compressed offset of buf[0]; base <= src->size */
	size_t len;    /* valid bytes in buf */
	size_t pos;    /* next byte to hand out */
};

struct gzi_slot {
	uint64_t off;  /* uncompressed offset of data[0] */
	size_t len;    /* 0: slot empty */
	uint64_t used; /* tick of the last use, for LRU */
	uint8_t *data;
};

struct gzi {
	exq__source *inner;
	z_stream strm; /* raw inflate, shared by open and reads */
	int strm_ok;
	struct gzi_in in;
	struct gzi_point *pts;
	size_t npts, maxpts;
	uint64_t pt_bytes; /* sum of the points' cost */
	uint64_t span;
	uint64_t members;
	uint64_t size; /* total uncompressed bytes */
	/* The read-side decoder: positioned at dec_out when dec_ok, so that
	 * sequential reads continue without going back to a point. */
	int dec_ok;
	int dec_end; /* the current member's deflate data has ended */
	uint64_t dec_out;
	uint64_t dec_member;
	struct gzi_slot slots[GZ_SLOTS];
	uint64_t tick;
	/* Progress of the index build (compressed bytes read), or NULL. */
	exq_progress_fn progress;
	void *parg;
	uint64_t last_report;
};

/* Progress is reported every this many compressed bytes, and at the end. */
#define GZ_PROGRESS_STEP (1u << 20)

/* State that lives only while open builds the index. */
struct gzi_build {
	uint8_t *ring;	 /* the last GZ_WSIZE bytes of output, circular */
	size_t rpos;	 /* next write position in ring */
	uint64_t out;	 /* uncompressed bytes so far */
	uint64_t mout;	 /* out when the current member started */
	uint64_t member; /* index of the current member */
	uint32_t crc;	 /* CRC32 of the current member's output */
};

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

/* ------------------------------------------------------ input reader */

static uint64_t in_off(const struct gzi_in *in)
{
	return in->base + in->pos;
}

static void in_seek(struct gzi_in *in, uint64_t off)
{
	/* Keep the buffer when the target is inside it: restoring a point
	 * near the previous read should not re-read the inner source. */
	if (off >= in->base && off - in->base <= in->len) {
		in->pos = (size_t)(off - in->base);
		return;
	}
	in->base = off <= in->src->size ? off : in->src->size;
	in->len = in->pos = 0;
}

/* Make at least one byte available unless the input has ended; *avail
 * gets the number of buffered bytes (0 at the end). */
static exq_status in_more(struct gzi_in *in, size_t *avail, exq__err *err)
{
	if (in->pos == in->len) {
		uint64_t left;
		size_t n;
		exq_status st;
		in->base += in->len;
		in->len = in->pos = 0;
		left = in->src->size - in->base;
		n = left < GZ_CHUNK ? (size_t)left : GZ_CHUNK;
		if (n) {
			st = exq__src_read(in->src, in->base, in->buf, n, err);
			if (st != EXQ_OK)
				return st;
		}
		in->len = n;
	}
	*avail = in->len - in->pos;
	return EXQ_OK;
}

/* Copy (dst != NULL) or skip up to n bytes, updating *crc when given;
 * *got < n means the input ended. */
static exq_status in_take(struct gzi_in *in, uint8_t *dst, uint64_t n,
			  uint32_t *crc, uint64_t *got, exq__err *err)
{
	*got = 0;
	while (*got < n) {
		size_t avail, k;
		exq_status st = in_more(in, &avail, err);
		if (st != EXQ_OK)
			return st;
		if (avail == 0)
			break;
		k = n - *got < avail ? (size_t)(n - *got) : avail;
		if (dst)
			memcpy(dst + *got, in->buf + in->pos, k);
		if (crc)
			*crc = (uint32_t)crc32(*crc, in->buf + in->pos,
					       (uInt)k);
		in->pos += k;
		*got += k;
	}
	return EXQ_OK;
}

/* Skip a zero-terminated string (header FNAME or FCOMMENT). */
static exq_status in_skip_str(struct gzi_in *in, uint32_t *crc, int *found,
			      exq__err *err)
{
	*found = 0;
	while (!*found) {
		size_t avail, k;
		const uint8_t *p, *z;
		exq_status st = in_more(in, &avail, err);
		if (st != EXQ_OK || avail == 0)
			return st;
		p = in->buf + in->pos;
		z = memchr(p, 0, avail);
		k = z ? (size_t)(z - p) + 1 : avail;
		if (crc)
			*crc = (uint32_t)crc32(*crc, p, (uInt)k);
		in->pos += k;
		*found = z != NULL;
	}
	return EXQ_OK;
}

/* --------------------------------------------------------- zlib glue */

/* A zlib failure as a status: memory is NOMEM, bad data is CORRUPT (the
 * input's fault), anything else is zlib misbehaving (DEP). */
static exq_status zfail(const struct gzi *g, int ret, exq__err *err)
{
	const char *m = g->strm.msg ? g->strm.msg : "no message";
	if (ret == Z_MEM_ERROR)
		return exq__err_set(err, EXQ_NOMEM, "zlib: out of memory");
	if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT)
		return exq__err_set(err, EXQ_CORRUPT,
				    "invalid deflate data near compressed "
				    "offset 0x%llx: %s",
				    ull(in_off(&g->in)), m);
	return exq__err_set(err, EXQ_DEP, "zlib inflate failed (%d: %s)", ret,
			    m);
}

/* One inflate call from the reader's buffer into out[0..room). *zret is
 * Z_OK or Z_STREAM_END on success. The input having ended is only an
 * error when inflate cannot go on without it: the last bytes may already
 * sit in zlib's bit buffer while output room ran out. */
static exq_status gzi_inflate(struct gzi *g, uint8_t *out, size_t room,
			      int flush, size_t *produced, int *zret,
			      exq__err *err)
{
	z_stream *s = &g->strm;
	size_t avail;
	exq_status st = in_more(&g->in, &avail, err);
	if (st != EXQ_OK)
		return st;
	s->next_in = g->in.buf + g->in.pos;
	s->avail_in = (uInt)avail;
	s->next_out = out;
	s->avail_out = (uInt)room;
	*zret = inflate(s, flush);
	g->in.pos = g->in.len - s->avail_in;
	*produced = room - s->avail_out;
	if (*zret == Z_OK || *zret == Z_STREAM_END)
		return EXQ_OK;
	if (*zret == Z_BUF_ERROR && avail == 0)
		return exq__err_set(err, EXQ_CORRUPT,
				    "deflate data ends early: input ends at "
				    "compressed offset 0x%llx",
				    ull(in_off(&g->in)));
	return zfail(g, *zret, err);
}

/* ------------------------------------------------ header and trailer */

/* Take exactly n bytes (dst NULL: skip them); the input ending first is
 * a truncated header or trailer. */
static exq_status gzi_need(struct gzi *g, uint8_t *dst, uint64_t n,
			   uint32_t *crc, const char *what, exq__err *err)
{
	uint64_t got;
	exq_status st = in_take(&g->in, dst, n, crc, &got, err);
	if (st == EXQ_OK && got < n)
		st = exq__err_set(err, EXQ_CORRUPT,
				  "%s truncated: input ends at compressed "
				  "offset 0x%llx",
				  what, ull(g->inner->size));
	return st;
}

/* The fixed 10 bytes of a member header: ID1 ID2 CM FLG MTIME(4) XFL OS. */
static exq_status gzi_header_fixed(struct gzi *g, uint8_t h[10], exq__err *err)
{
	exq_status st = gzi_need(g, h, 10, NULL, "header", err);
	if (st != EXQ_OK)
		return st;
	if (h[0] != 0x1f || h[1] != 0x8b)
		return exq__err_set(err, EXQ_CORRUPT,
				    "bad gzip magic %02x %02x", h[0], h[1]);
	if (h[2] != 8)
		return exq__err_set(err, EXQ_CORRUPT,
				    "compression method %u is not deflate",
				    h[2]);
	if (h[3] & GZ_FRESERVED)
		return exq__err_set(err, EXQ_CORRUPT,
				    "reserved header flags 0x%02x set", h[3]);
	return EXQ_OK;
}

/* Parse one member header (RFC 1952 §2.3) at the reader's position,
 * leaving the reader at the first byte of deflate data. The optional
 * fields are skipped; FHCRC, when present, is checked. */
static exq_status gzi_header(struct gzi *g, exq__err *err)
{
	uint8_t h[10], x[2];
	uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0), *pc = NULL;
	int found = 1;
	exq_status st = gzi_header_fixed(g, h, err);
	if (st != EXQ_OK)
		return st;
	if (h[3] & GZ_FHCRC) {
		pc = &crc;
		crc = (uint32_t)crc32(crc, h, 10);
	}
	if (h[3] & GZ_FEXTRA) {
		st = gzi_need(g, x, 2, pc, "header", err);
		if (st == EXQ_OK)
			st = gzi_need(g, NULL, exq__le16(x), pc,
				      "header extra field", err);
	}
	if (st == EXQ_OK && (h[3] & GZ_FNAME))
		st = in_skip_str(&g->in, pc, &found, err);
	if (st == EXQ_OK && found && (h[3] & GZ_FCOMMENT))
		st = in_skip_str(&g->in, pc, &found, err);
	if (st == EXQ_OK && !found)
		st = gzi_need(g, NULL, 1, NULL, "header name or comment", err);
	if (st == EXQ_OK && (h[3] & GZ_FHCRC)) {
		st = gzi_need(g, x, 2, NULL, "header", err);
		if (st == EXQ_OK && exq__le16(x) != (crc & 0xffff))
			st = exq__err_set(err, EXQ_CORRUPT,
					  "header CRC16 0x%04x does not match "
					  "0x%04x",
					  exq__le16(x), crc & 0xffff);
	}
	return st;
}

/* Read the 8-byte trailer (CRC32, ISIZE) after a member's deflate data. */
static exq_status gzi_trailer(struct gzi *g, uint32_t *crc, uint32_t *isize,
			      exq__err *err)
{
	uint8_t t[8];
	exq_status st = gzi_need(g, t, 8, NULL, "trailer", err);
	if (st != EXQ_OK)
		return st;
	*crc = exq__le32(t);
	*isize = exq__le32(t + 4);
	return EXQ_OK;
}

/* ------------------------------------------------------ index build */

/* Halve the index: keep points 0, 2, 4, ... and double the span, so the
 * cap holds however long the stream is. */
static void point_free(struct gzi_point *p)
{
	free(p->window);
	if (p->zs) {
		inflateEnd(p->zs);
		free(p->zs);
	}
	p->window = NULL;
	p->zs = NULL;
}

static void gzi_thin(struct gzi *g)
{
	size_t i, k = 0;
	for (i = 0; i < g->npts; i++) {
		if (i % 2) {
			g->pt_bytes -= g->pts[i].cost;
			point_free(&g->pts[i]);
			continue;
		}
		g->pts[k++] = g->pts[i];
	}
	g->npts = k;
	if (g->span <= UINT64_MAX / 2)
		g->span *= 2;
}

/* Copy the last wlen bytes of output, oldest first, out of the ring. */
static void ring_copy(const struct gzi_build *b, uint8_t *dst, size_t wlen)
{
	if (wlen <= b->rpos) {
		memcpy(dst, b->ring + b->rpos - wlen, wlen);
		return;
	}
	memcpy(dst, b->ring + GZ_WSIZE - (wlen - b->rpos), wlen - b->rpos);
	memcpy(dst + (wlen - b->rpos), b->ring, b->rpos);
}

/* Record a point where the decoder is if the last one is at least a
 * span back: at a block boundary (or a member start) with the window and
 * bits, or inside a block (mid) as a copy of the decoder. */
static exq_status gzi_maybe_point(struct gzi *g, const struct gzi_build *b,
				  unsigned bits, int mid, exq__err *err)
{
	struct gzi_point *p;
	uint64_t hist = b->out - b->mout;
	size_t wlen = hist < GZ_WSIZE ? (size_t)hist : GZ_WSIZE;
	uint32_t cost = mid ? GZ_COPY_COST : (uint32_t)wlen;
	if (g->npts && b->out - g->pts[g->npts - 1].out < g->span)
		return EXQ_OK;
	while (g->npts == g->maxpts || g->pt_bytes + cost > GZ_MAX_BYTES) {
		size_t before = g->npts;
		gzi_thin(g);
		if (b->out - g->pts[g->npts - 1].out < g->span)
			return EXQ_OK;
		if (g->npts == before) /* one point left: cannot thin */
			break;
	}
	p = &g->pts[g->npts];
	p->window = NULL;
	p->zs = NULL;
	if (mid) {
		int ret;
		p->zs = calloc(1, sizeof(*p->zs));
		if (!p->zs)
			return exq__err_set(err, EXQ_NOMEM, "out of memory");
		ret = inflateCopy(p->zs, &g->strm);
		if (ret != Z_OK) {
			free(p->zs);
			p->zs = NULL;
			return zfail(g, ret, err);
		}
		wlen = 0;
		bits = 0;
	} else if (wlen) {
		p->window = malloc(wlen);
		if (!p->window)
			return exq__err_set(err, EXQ_NOMEM, "out of memory");
		ring_copy(b, p->window, wlen);
	}
	p->out = b->out;
	p->cost = cost;
	g->pt_bytes += cost;
	p->in = in_off(&g->in);
	p->member = b->member;
	p->wlen = (uint32_t)wlen;
	p->bits = (uint8_t)bits;
	g->npts++;
	return EXQ_OK;
}

/* Inflate one member's deflate data to its end, checking it, keeping the
 * last 32 KiB in the ring and recording points at block boundaries. */
static exq_status gzi_build_member(struct gzi *g, struct gzi_build *b,
				   exq__err *err)
{
	z_stream *s = &g->strm;
	int ret = inflateReset(s);
	exq_status st;
	if (ret != Z_OK)
		return zfail(g, ret, err);
	b->mout = b->out;
	b->rpos = 0; /* history never crosses members: start the ring over */
	b->crc = (uint32_t)crc32(0L, Z_NULL, 0);
	st = gzi_maybe_point(g, b, 0, 0, err);
	while (st == EXQ_OK) {
		size_t produced, room = GZ_WSIZE - b->rpos;
		st = gzi_inflate(g, b->ring + b->rpos, room, Z_BLOCK, &produced,
				 &ret, err);
		if (st != EXQ_OK)
			break;
		b->crc = (uint32_t)crc32(b->crc, b->ring + b->rpos,
					 (uInt)produced);
		if (g->progress && in_off(&g->in) - g->last_report >= GZ_PROGRESS_STEP) {
			g->last_report = in_off(&g->in);
			g->progress(g->parg, g->last_report, g->inner->size);
		}
		b->rpos = (b->rpos + produced) % GZ_WSIZE;
		if (exq__add_ovf(b->out, produced, &b->out))
			return exq__err_set(err, EXQ_LIMIT,
					    "uncompressed size overflows");
		if (ret == Z_STREAM_END)
			return EXQ_OK;
		if ((s->data_type & 128) && !(s->data_type & 64))
			st = gzi_maybe_point(g, b, (unsigned)s->data_type & 7,
					     0, err);
		else if (!(s->data_type & 128) && produced && g->npts &&
			 b->out - g->pts[g->npts - 1].out >=
				 g->span + g->span / 2)
			/* inside a block half a span past a due point: the
			 * block is long, take a decoder copy (block ends,
			 * cheaper, win when they come soon enough) */
			st = gzi_maybe_point(g, b, 0, 1, err);
	}
	return st;
}

/* After a member: the input must end, or another member must start. */
static exq_status gzi_after_member(struct gzi *g, int *more, exq__err *err)
{
	uint8_t m[2];
	uint64_t off = in_off(&g->in), left = g->inner->size - off;
	exq_status st;
	*more = 0;
	if (left == 0)
		return EXQ_OK;
	if (left >= 2) {
		st = exq__src_read(g->inner, off, m, 2, err);
		if (st != EXQ_OK)
			return st;
		if (m[0] == 0x1f && m[1] == 0x8b) {
			*more = 1;
			return EXQ_OK;
		}
	}
	/* Zeros after the last member (tape or block padding): gzip -t and
	 * zcat accept them, and so does exq. */
	{
		uint8_t z[4096];
		uint64_t at = off;
		while (at < g->inner->size) {
			size_t n = g->inner->size - at < sizeof(z)
					   ? (size_t)(g->inner->size - at)
					   : sizeof(z);
			size_t k;
			st = exq__src_read(g->inner, at, z, n, err);
			if (st != EXQ_OK)
				return st;
			for (k = 0; k < n && !z[k]; k++)
				;
			if (k < n)
				break;
			at += n;
		}
		if (at >= g->inner->size)
			return EXQ_OK;
	}
	return exq__err_set(err, EXQ_CORRUPT,
			    "garbage after the last gzip member (member %llu): "
			    "%llu bytes at compressed offset 0x%llx",
			    ull(g->members - 1), ull(left), ull(off));
}

/* One member: header, deflate data, trailer check. */
static exq_status gzi_build_one(struct gzi *g, struct gzi_build *b,
				exq__err *err)
{
	uint64_t start = in_off(&g->in);
	uint32_t crc, isize;
	exq_status st = gzi_header(g, err);
	if (st == EXQ_OK)
		st = gzi_build_member(g, b, err);
	if (st == EXQ_OK)
		st = gzi_trailer(g, &crc, &isize, err);
	if (st == EXQ_OK && crc != b->crc)
		st = exq__err_set(
			err, EXQ_CORRUPT,
			"CRC32 mismatch: trailer at compressed offset "
			"0x%llx says 0x%08x, data gives 0x%08x",
			ull(in_off(&g->in) - 8), crc, b->crc);
	if (st == EXQ_OK && isize != (uint32_t)(b->out - b->mout))
		st = exq__err_set(err, EXQ_CORRUPT,
				  "ISIZE mismatch: trailer says %u bytes mod "
				  "2^32, data gives %llu",
				  isize, ull(b->out - b->mout));
	if (st != EXQ_OK)
		return exq__err_ctx(err, st,
				    "gzip member %llu (at compressed offset "
				    "0x%llx)",
				    ull(b->member), ull(start));
	g->members = b->member + 1;
	return EXQ_OK;
}

static exq_status gzi_build_index(struct gzi *g, exq__err *err)
{
	struct gzi_build b;
	exq_status st = EXQ_OK;
	int more = 1;
	if (g->inner->size == 0)
		return exq__err_set(err, EXQ_CORRUPT,
				    "empty input: no gzip member");
	memset(&b, 0, sizeof(b));
	b.ring = malloc(GZ_WSIZE);
	if (!b.ring)
		return exq__err_set(err, EXQ_NOMEM, "out of memory");
	for (b.member = 0; more && st == EXQ_OK; b.member++) {
		st = gzi_build_one(g, &b, err);
		if (st == EXQ_OK)
			st = gzi_after_member(g, &more, err);
	}
	free(b.ring);
	g->size = b.out;
	if (st == EXQ_OK && g->progress)
		g->progress(g->parg, g->inner->size, g->inner->size);
	return st;
}

/* ------------------------------------------------------------ reading */

/* The last point at or before off (point 0 is at offset 0). */
static size_t gzi_find_point(const struct gzi *g, uint64_t off)
{
	size_t lo = 0, hi = g->npts; /* answer in [lo, hi) */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->pts[mid].out <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* A point inside a block: the decoder becomes a copy of the saved one. */
static exq_status gzi_restore_mid(struct gzi *g, const struct gzi_point *p,
				  exq__err *err)
{
	int ret;
	inflateEnd(&g->strm);
	ret = inflateCopy(&g->strm, p->zs);
	if (ret != Z_OK) { /* keep a usable stream for the next try */
		memset(&g->strm, 0, sizeof(g->strm));
		g->strm_ok = inflateInit2(&g->strm, -15) == Z_OK;
		return exq__err_set(err, EXQ_NOMEM,
				    "zlib: out of memory restoring a point");
	}
	in_seek(&g->in, p->in);
	g->dec_out = p->out;
	g->dec_member = p->member;
	g->dec_end = 0;
	g->dec_ok = 1;
	return EXQ_OK;
}

static exq_status gzi_restore(struct gzi *g, size_t i, exq__err *err)
{
	const struct gzi_point *p = &g->pts[i];
	int ret;
	g->dec_ok = 0;
	if (!g->strm_ok)
		return exq__err_set(err, EXQ_NOMEM, "zlib: no decoder");
	if (p->zs)
		return gzi_restore_mid(g, p, err);
	ret = inflateReset(&g->strm);
	if (ret != Z_OK)
		return zfail(g, ret, err);
	in_seek(&g->in, p->in - (p->bits ? 1 : 0));
	if (p->bits) {
		uint8_t c;
		uint64_t got;
		exq_status st = in_take(&g->in, &c, 1, NULL, &got, err);
		if (st != EXQ_OK)
			return st;
		if (got != 1)
			return exq__err_set(
				err, EXQ_CORRUPT,
				"access point past the end of the "
				"input (did it change since open?)");
		ret = inflatePrime(&g->strm, p->bits, c >> (8 - p->bits));
	}
	if (ret == Z_OK && p->wlen)
		ret = inflateSetDictionary(&g->strm, p->window, p->wlen);
	if (ret != Z_OK)
		return zfail(g, ret, err);
	g->dec_out = p->out;
	g->dec_member = p->member;
	g->dec_end = 0;
	g->dec_ok = 1;
	return EXQ_OK;
}

/* The decoder finished a member and needs more bytes: skip the trailer
 * (checked during open) and start the next member. */
static exq_status gzi_next_member(struct gzi *g, exq__err *err)
{
	uint32_t crc, isize;
	exq_status st = gzi_trailer(g, &crc, &isize, err);
	int ret;
	if (st == EXQ_OK)
		st = gzi_header(g, err);
	if (st != EXQ_OK)
		return exq__err_ctx(err, st, "gzip member %llu",
				    ull(g->dec_member + 1));
	ret = inflateReset(&g->strm);
	if (ret != Z_OK)
		return zfail(g, ret, err);
	g->dec_member++;
	g->dec_end = 0;
	return EXQ_OK;
}

/* Inflate exactly n bytes into dst from the decoder's position. */
static exq_status gzi_produce(struct gzi *g, uint8_t *dst, size_t n,
			      exq__err *err)
{
	while (n) {
		size_t produced;
		int ret;
		exq_status st = g->dec_end ? gzi_next_member(g, err) : EXQ_OK;
		if (st == EXQ_OK)
			st = gzi_inflate(g, dst, n, Z_NO_FLUSH, &produced, &ret,
					 err);
		if (st != EXQ_OK)
			return st;
		dst += produced;
		n -= produced;
		g->dec_out += produced;
		g->dec_end = ret == Z_STREAM_END;
	}
	return EXQ_OK;
}

/* Fill slot with the GZ_BLOCK-aligned block that holds offset off,
 * continuing the live decoder when it is between the nearest point and
 * the block (sequential reads), else restoring that point. */
static exq_status gzi_fill(struct gzi *g, struct gzi_slot *sl, uint64_t off,
			   exq__err *err)
{
	uint64_t blk = off - off % GZ_BLOCK, left = g->size - blk;
	size_t want = left < GZ_BLOCK ? (size_t)left : GZ_BLOCK;
	size_t i = gzi_find_point(g, blk);
	exq_status st = EXQ_OK;
	sl->len = 0;
	if (!g->dec_ok || g->dec_out > blk || g->pts[i].out > g->dec_out)
		st = gzi_restore(g, i, err);
	while (st == EXQ_OK && g->dec_out < blk) {
		uint64_t skip = blk - g->dec_out;
		st = gzi_produce(g, sl->data,
				 skip < GZ_BLOCK ? (size_t)skip : GZ_BLOCK,
				 err);
	}
	if (st == EXQ_OK)
		st = gzi_produce(g, sl->data, want, err);
	if (st != EXQ_OK) {
		g->dec_ok = 0;
		return st;
	}
	sl->off = blk;
	sl->len = want;
	return EXQ_OK;
}

/* The slot holding off, filling the least recently used one on a miss. */
static exq_status gzi_lookup(struct gzi *g, uint64_t off, struct gzi_slot **out,
			     exq__err *err)
{
	struct gzi_slot *lru = &g->slots[0];
	exq_status st;
	size_t i;
	for (i = 0; i < GZ_SLOTS; i++) {
		struct gzi_slot *sl = &g->slots[i];
		if (sl->len && off >= sl->off && off - sl->off < sl->len) {
			sl->used = ++g->tick;
			*out = sl;
			return EXQ_OK;
		}
		if (sl->used < lru->used)
			lru = sl;
	}
	st = gzi_fill(g, lru, off, err);
	if (st != EXQ_OK)
		return exq__err_ctx(err, st,
				    "reading gzip data at uncompressed offset "
				    "0x%llx",
				    ull(off));
	lru->used = ++g->tick;
	*out = lru;
	return EXQ_OK;
}

static exq_status gzi_read(exq__source *src, uint64_t off, void *buf,
			   size_t len, exq__err *err)
{
	struct gzi *g = src->priv;
	uint8_t *p = buf;
	while (len) {
		struct gzi_slot *sl = NULL;
		size_t k;
		exq_status st = gzi_lookup(g, off, &sl, err);
		if (st != EXQ_OK)
			return st;
		k = (size_t)(sl->off + sl->len - off);
		if (k > len)
			k = len;
		memcpy(p, sl->data + (off - sl->off), k);
		p += k;
		off += k;
		len -= k;
	}
	return EXQ_OK;
}

/* ------------------------------------------------------ open / close */

static void gzi_free(struct gzi *g)
{
	size_t i;
	if (!g)
		return;
	if (g->strm_ok)
		inflateEnd(&g->strm);
	for (i = 0; i < g->npts; i++)
		point_free(&g->pts[i]);
	free(g->pts);
	free(g->in.buf);
	free(g->slots[0].data); /* one allocation for all slots */
	exq__src_close(g->inner);
	free(g);
}

static void gzi_close(exq__source *src)
{
	gzi_free(src->priv);
	free(src);
}

static const struct exq__source_ops gzi_ops = {"gzip", gzi_read, gzi_close};

static exq_status gzi_alloc(struct gzi **out, exq__source *inner, uint64_t span,
			    size_t max_points, exq__err *err)
{
	struct gzi *g = calloc(1, sizeof(*g));
	uint8_t *cache;
	size_t i;
	int ret;
	if (!g) {
		exq__src_close(inner);
		return exq__err_set(err, EXQ_NOMEM, "out of memory");
	}
	g->inner = g->in.src = inner;
	g->span = span;
	g->maxpts = max_points;
	g->pts = calloc(max_points, sizeof(*g->pts));
	g->in.buf = malloc(GZ_CHUNK);
	cache = malloc((size_t)GZ_SLOTS * GZ_BLOCK);
	for (i = 0; cache && i < GZ_SLOTS; i++)
		g->slots[i].data = cache + i * GZ_BLOCK;
	*out = g;
	if (!g->pts || !g->in.buf || !cache)
		return exq__err_set(err, EXQ_NOMEM, "out of memory");
	ret = inflateInit2(&g->strm, -15); /* raw: we parse gzip ourselves */
	if (ret != Z_OK)
		return zfail(g, ret, err);
	g->strm_ok = 1;
	return EXQ_OK;
}

static exq_status gzip_open(exq__source **out, exq__source *inner,
			    uint64_t span, size_t max_points,
			    exq_progress_fn progress, void *parg, exq__err *err)
{
	exq__source *src;
	struct gzi *g = NULL;
	exq_status st;
	if (!inner)
		return exq__err_set(err, EXQ_INVALID, "NULL inner source");
	if (!out || span == 0 || span > GZ_MAX_SPAN || max_points < 2 ||
	    max_points > GZ_MAX_POINTS) {
		exq__src_close(inner);
		return exq__err_set(err, EXQ_INVALID,
				    "bad gzip source arguments (span %llu, "
				    "%zu points)",
				    ull(span), max_points);
	}
	st = gzi_alloc(&g, inner, span, max_points, err);
	if (st == EXQ_OK) {
		g->progress = progress;
		g->parg = parg;
		st = gzi_build_index(g, err);
	}
	if (st == EXQ_OK && !(src = calloc(1, sizeof(*src))))
		st = exq__err_set(err, EXQ_NOMEM, "out of memory");
	if (st != EXQ_OK) {
		gzi_free(g);
		return st;
	}
	src->ops = &gzi_ops;
	src->size = g->size;
	src->priv = g;
	*out = src;
	return EXQ_OK;
}

exq_status exq__src_gzip_open_span(exq__source **out, exq__source *inner,
				   uint64_t span, size_t max_points,
				   exq__err *err)
{
	return gzip_open(out, inner, span, max_points, NULL, NULL, err);
}

exq_status exq__src_gzip_open(exq__source **out, exq__source *inner,
			      exq_progress_fn progress, void *arg,
			      exq__err *err)
{
	return gzip_open(out, inner, GZ_SPAN, GZ_MAX_POINTS, progress, arg, err);
}

exq_status exq__src_gzip_stats(const exq__source *src, size_t *npoints,
			       uint64_t *span, uint64_t *members)
{
	const struct gzi *g;
	if (!src || src->ops != &gzi_ops)
		return EXQ_INVALID;
	g = src->priv;
	if (npoints)
		*npoints = g->npts;
	if (span)
		*span = g->span;
	if (members)
		*members = g->members;
	return EXQ_OK;
}
