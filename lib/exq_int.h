/*
 * exq_int.h — the one private header of libexq.
 *
 * Layers: byte sources (src_*.c) → physical formats (fmt_*.c) → ...
 * Cross-file internal names are exq__*.
 */
#ifndef EXQ_INT_H
#define EXQ_INT_H

#include "exq.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#define EXQ__PAGE_SIZE 4096u
#define EXQ__PAGE_SHIFT 12

/* Private status: "this input is not mine" from a format probe. Never
 * leaves the library. */
#define EXQ__NOPROBE ((exq_status)1000)

#if defined(__GNUC__)
#define EXQ__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EXQ__PRINTF(a, b)
#endif

/* ------------------------------------------------------------- errors */

/* A detail message that gains context as it climbs:
 * exq__err_set() writes the innermost message, exq__err_ctx() prepends
 * "context: ". Both return the status they are given. */
#define EXQ__ERR_MAX 1024
typedef struct exq__err {
	char msg[EXQ__ERR_MAX];
} exq__err;

exq_status exq__err_set(exq__err *e, exq_status st, const char *fmt, ...)
	EXQ__PRINTF(3, 4);
exq_status exq__err_ctx(exq__err *e, exq_status st, const char *fmt, ...)
	EXQ__PRINTF(3, 4);
void exq__err_clear(exq__err *e);

/* ------------------------------------------------- little-endian loads */

static inline uint16_t exq__le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | (b[1] << 8));
}
static inline uint32_t exq__le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) |
	       ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static inline uint64_t exq__le64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)exq__le32(b) | ((uint64_t)exq__le32(b + 4) << 32);
}
static inline uint32_t exq__be32(const void *p)
{
	const uint8_t *b = p;
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
	       ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}
static inline uint64_t exq__be64(const void *p)
{
	const uint8_t *b = p;
	return ((uint64_t)exq__be32(b) << 32) | exq__be32(b + 4);
}

/* ------------------------------------------------------- byte sources */

typedef struct exq__source exq__source;

/* A byte source: a file, a caller's buffer, a gzip stream over another
 * source. Contract of each slot:
 *   read:  fill buf with len bytes at off; the caller (exq__src_read)
 *          has already checked off + len <= size. A short read is an
 *          error (EXQ_IO or EXQ_CORRUPT with a message), never silent.
 *   close: release everything, including any wrapped source.
 */
struct exq__source_ops {
	const char *name; /* "file", "mem", "gzip" */
	exq_status (*read)(exq__source *src, uint64_t off, void *buf,
			   size_t len, exq__err *err);
	void (*close)(exq__source *src);
};

struct exq__source {
	const struct exq__source_ops *ops;
	uint64_t size; /* bytes the source yields */
	void *priv;
};

exq_status exq__src_file_open(exq__source **out, const char *path,
			      exq__err *err);
exq_status exq__src_mem_open(exq__source **out, const void *buf, size_t len,
			     exq__err *err);
/* Wraps inner (taking ownership, also on failure) in a gzip decoder with
 * random access through an index of access points. The index is built
 * during open (one pass: that is how the uncompressed size is known);
 * memory stays bounded whatever the stream's size. */
exq_status exq__src_gzip_open(exq__source **out, exq__source *inner,
			      exq__err *err);
/* --- gzip source: test knobs (src_gzip.c; used by tests/unit and bench).
 * _open_span is exq__src_gzip_open with a chosen first span between access
 * points and a point cap (2..1024; the default is 1 MiB and 1024), so that
 * small inputs can exercise index thinning. _stats reports the index of an
 * open gzip source (EXQ_INVALID for any other source). */
exq_status exq__src_gzip_open_span(exq__source **out, exq__source *inner,
				   uint64_t span, size_t max_points,
				   exq__err *err);
exq_status exq__src_gzip_stats(const exq__source *src, size_t *npoints,
			       uint64_t *span, uint64_t *members);
/* --- end of gzip test knobs. */
/* True when the source starts with the gzip magic (1f 8b 08). */
int exq__src_is_gzip(exq__source *src);

/* Bounds-checked read: off + len beyond the end is EXQ_CORRUPT with a
 * message naming the offsets. */
exq_status exq__src_read(exq__source *src, uint64_t off, void *buf,
			 size_t len, exq__err *err);
void exq__src_close(exq__source *src);

/* ------------------------------------------------------------ formats */

/* A physical-memory format. Contract of each slot:
 *   probe:     look at img->src; return EXQ__NOPROBE when the bytes are
 *              not this format (without a message), EXQ_OK after filling
 *              img->info and img->fmt_priv, or an error with a message
 *              when the format is recognised but the file is damaged.
 *   read_page: copy the 4 KiB page with frame number pfn into page, or
 *              return EXQ_NODATA (not captured) or another error.
 *   close:     free img->fmt_priv (which may be NULL).
 */
struct exq__format {
	const char *name;
	exq_status (*probe)(exq_image *img);
	exq_status (*read_page)(exq_image *img, uint64_t pfn, void *page);
	void (*close)(exq_image *img);
};

extern const struct exq__format exq__fmt_windmp32;
extern const struct exq__format exq__fmt_windmp64;
extern const struct exq__format exq__fmt_raw;

/* Small direct-mapped cache of physical pages (page-table walks read the
 * same few pages over and over). */
#define EXQ__PCACHE_SLOTS 64
struct exq__pcache_slot {
	uint64_t pfn;
	int valid;
	uint8_t data[EXQ__PAGE_SIZE];
};

#define EXQ__MAX_WARNINGS 64

struct exq_image {
	exq__err err;
	char *forced_format;
	int have_dtb_override;
	uint64_t dtb_override;
	exq_paging paging_override;
	int open;
	exq__source *src;
	const struct exq__format *fmt;
	void *fmt_priv;
	exq_image_info info;
	exq_run *runs; /* owned; info.runs points here */
	char *warnings[EXQ__MAX_WARNINGS];
	size_t nwarnings;
	size_t warnings_dropped;
	struct exq__pcache_slot *pcache; /* lazily allocated */
};

/* Record a non-fatal warning on the image (bounded; extra ones are
 * counted, not stored). */
void exq__warn(exq_image *img, const char *fmt, ...) EXQ__PRINTF(2, 3);

/* Set img->runs/info from an array of runs (copied), sorting and checking
 * that they do not overlap. */
exq_status exq__image_set_runs(exq_image *img, const exq_run *runs,
			       size_t n);

/* Read one whole page through the page cache. */
exq_status exq__read_page(exq_image *img, uint64_t pfn, void *page);

/* Checked arithmetic. */
static inline int exq__add_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_add_overflow(a, b, r);
}
static inline int exq__mul_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}

/* FILETIME helpers, UTF-16 decoding. */
size_t exq__utf16le_to_utf8(const uint8_t *in, size_t in_units, char *out,
			    size_t out_size);

#endif /* EXQ_INT_H */
