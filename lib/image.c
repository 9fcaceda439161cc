/* SPDX-License-Identifier: MIT */
/* The image handle: opening (source selection, gzip detection, the ordered
 * format probe), physical reads through a small page cache, warnings. */
#include "exq_int.h"

#include <stdio.h>
#include <stdlib.h>

/* Probe order: formats with a signature first, raw (which takes anything
 * of at least one page) last. */
static const struct exq__format *const formats[] = {
	&exq__fmt_windmp32,
	&exq__fmt_windmp64,
	&exq__fmt_elf,
	&exq__fmt_kdump,
	&exq__fmt_raw,
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

exq_image *exq_image_new(void)
{
	return calloc(1, sizeof(exq_image));
}

static void image_reset(exq_image *img)
{
	if (img->fmt && img->fmt->close)
		img->fmt->close(img);
	img->fmt = NULL;
	img->fmt_priv = NULL;
	exq__src_close(img->src);
	img->src = NULL;
	exq__image_pages_free(img);
	img->nwarnings = 0;
	img->warnings_dropped = 0;
	free(img->pcache);
	img->pcache = NULL;
	free(img->scan_cache);
	img->scan_cache = NULL;
	img->scan_ncache = 0;
	img->nkdbg_hits = 0;
	img->kdbg_upto = 0;
	img->zc_pages = 0;
	memset(&img->info, 0, sizeof(img->info));
	img->dtb_checked = 0;
	img->open = 0;
	img->gen++;
}

void exq_image_free(exq_image *img)
{
	if (!img)
		return;
	image_reset(img);
	free(img->forced_format);
	free(img);
}

const char *exq_image_error(const exq_image *img)
{
	return img ? img->err.msg : "no image";
}

exq_status exq_image_set_format(exq_image *img, const char *name)
{
	size_t i;
	char *copy = NULL;
	if (!img)
		return EXQ_INVALID;
	if (name) {
		for (i = 0; i < NFORMATS; i++)
			if (strcmp(formats[i]->name, name) == 0)
				break;
		if (i == NFORMATS) {
			char known[128] = "";
			for (i = 0; i < NFORMATS; i++)
				snprintf(known + strlen(known),
					 sizeof(known) - strlen(known), "%s%s",
					 i ? ", " : "", formats[i]->name);
			return exq__err_set(&img->err, EXQ_INVALID,
					    "unknown format '%s' (known: %s)",
					    name, known);
		}
		copy = strdup(name);
		if (!copy)
			return exq__err_set(&img->err, EXQ_NOMEM,
					    "out of memory");
	}
	free(img->forced_format);
	img->forced_format = copy;
	return EXQ_OK;
}

exq_status exq_image_set_dtb(exq_image *img, uint64_t dtb)
{
	if (!img)
		return EXQ_INVALID;
	img->have_dtb_override = 1;
	img->dtb_override = dtb;
	return EXQ_OK;
}

exq_status exq_image_set_paging(exq_image *img, exq_paging paging)
{
	if (!img || (unsigned)paging > EXQ_PAGING_X64)
		return EXQ_INVALID;
	img->paging_override = paging;
	return EXQ_OK;
}

exq_status exq_image_set_progress(exq_image *img, exq_image_progress_fn fn,
				  void *arg)
{
	if (!img)
		return EXQ_INVALID;
	img->progress = fn;
	img->progress_arg = arg;
	return EXQ_OK;
}

exq_status exq_image_set_max_scan(exq_image *img, uint64_t bytes)
{
	if (!img)
		return EXQ_INVALID;
	img->max_scan = bytes;
	return EXQ_OK;
}

void exq__progress(exq_image *img, const char *what, uint64_t done,
		   uint64_t total)
{
	if (img->progress)
		img->progress(img->progress_arg, what, done, total);
}

uint64_t exq__scan_limit_pfn(const exq_image *img)
{
	return img->max_scan ? (img->max_scan + EXQ__PAGE_SIZE - 1) >> EXQ__PAGE_SHIFT
			     : UINT64_MAX;
}

void exq__scan_limited(exq_image *img, const char *what)
{
	if (img->max_scan && img->pfn_end > exq__scan_limit_pfn(img))
		exq__warn(img, "%s stopped at the scan bound (0x%llx bytes of "
			  "physical memory): what lies above it was not read",
			  what, (unsigned long long)img->max_scan);
}

/* gzip reports through the source's plain progress callback. */
static void gzip_progress(void *arg, uint64_t done, uint64_t total)
{
	exq__progress(arg, "gzip index", done, total);
}

exq_status exq_image_set_cpu(exq_image *img, unsigned cpu)
{
	if (!img)
		return EXQ_INVALID;
	img->cpu = cpu;
	img->have_cpu = 1;
	return EXQ_OK;
}

static void apply_overrides(exq_image *img)
{
	if (img->paging_override != EXQ_PAGING_UNKNOWN)
		img->info.paging = img->paging_override;
	if (img->have_dtb_override) {
		img->info.dtb = img->dtb_override;
		img->info.dtb_source = "override";
		img->info.have |= EXQ_HAVE_DTB;
	}
}

/* Run the probe loop over img->src. */
static exq_status probe_formats(exq_image *img)
{
	size_t i;
	for (i = 0; i < NFORMATS; i++) {
		const struct exq__format *f = formats[i];
		exq_status st;
		if (img->forced_format && strcmp(img->forced_format, f->name))
			continue;
		img->fmt = f;
		exq__err_clear(&img->err);
		st = f->probe(img);
		if (st == EXQ_OK) {
			img->info.format = f->name;
			return EXQ_OK;
		}
		if (f->close)
			f->close(img);
		img->fmt = NULL;
		img->fmt_priv = NULL;
		exq__image_pages_free(img);
		if (st != EXQ__NOPROBE)
			return exq__err_ctx(&img->err, st, "%s", f->name);
		if (img->forced_format)
			return exq__err_set(&img->err, EXQ_UNSUPPORTED,
					    "the image is not in format %s",
					    f->name);
	}
	return exq__err_set(&img->err, EXQ_UNSUPPORTED,
			    "not a known image format");
}

#define MAX_GZIP_NESTING 4

static exq_status open_source(exq_image *img, exq__source *src)
{
	exq_status st;
	img->src = src;
	/* gzip inside gzip (a .gz of a .gz) is unwrapped too, a few levels
	 * at most; each level has its own bounded index. */
	while (exq__src_is_gzip(img->src) && img->info.gzip < MAX_GZIP_NESTING) {
		exq__source *inner = img->src;
		img->src = NULL;
		st = exq__src_gzip_open(&img->src, inner,
					img->progress ? gzip_progress : NULL, img,
					&img->err);
		if (st != EXQ_OK)
			return exq__err_ctx(&img->err, st, "gzip");
		img->info.gzip++;
	}
	if (exq__src_is_gzip(img->src))
		return exq__err_set(&img->err, EXQ_UNSUPPORTED,
				    "gzip nested more than %d deep",
				    MAX_GZIP_NESTING);
	img->info.image_size = img->src->size;
	st = probe_formats(img);
	if (st != EXQ_OK)
		return st;
	apply_overrides(img);
	img->open = 1;
	return EXQ_OK;
}

exq_status exq_image_open_file(exq_image *img, const char *path)
{
	exq__source *src;
	exq_status st;
	if (!img || !path)
		return EXQ_INVALID;
	image_reset(img);
	exq__err_clear(&img->err);
	st = exq__src_file_open(&src, path, &img->err);
	if (st == EXQ_OK)
		st = open_source(img, src);
	if (st != EXQ_OK)
		image_reset(img);
	return st;
}

exq_status exq_image_open_mem(exq_image *img, const void *buf, size_t len)
{
	exq__source *src;
	exq_status st;
	if (!img)
		return EXQ_INVALID;
	image_reset(img);
	exq__err_clear(&img->err);
	st = exq__src_mem_open(&src, buf, len, &img->err);
	if (st == EXQ_OK)
		st = open_source(img, src);
	if (st != EXQ_OK)
		image_reset(img);
	return st;
}

const exq_image_info *exq_image_get_info(const exq_image *img)
{
	return img && img->open ? &img->info : NULL;
}

size_t exq_image_warning_count(const exq_image *img)
{
	return img ? img->nwarnings : 0;
}

const char *exq_image_warning(const exq_image *img, size_t i)
{
	return img && i < img->nwarnings ? img->warnings[i] : NULL;
}

void exq__warn(exq_image *img, const char *fmt, ...)
{
	va_list ap;
	if (img->nwarnings >= EXQ__MAX_WARNINGS) {
		img->warnings_dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(img->warnings[img->nwarnings], EXQ__WARN_MAX, fmt, ap);
	va_end(ap);
	img->nwarnings++;
}

exq_status exq__page_ref(exq_image *img, uint64_t pfn, const uint8_t **page)
{
	struct exq__pcache_slot *slot;
	exq_status st;
	uint64_t off, n;
	if (img->src->base) { /* in memory already: point into it */
		if (pfn - img->zc_pfn < img->zc_pages) { /* the last span */
			*page = img->zc_base +
				((pfn - img->zc_pfn) << EXQ__PAGE_SHIFT);
			return EXQ_OK;
		}
		if (img->fmt->span && (n = img->fmt->span(img, pfn, &off)) &&
		    off <= img->src->size &&
		    n <= (img->src->size - off) >> EXQ__PAGE_SHIFT) {
			img->zc_pfn = pfn;
			img->zc_pages = n;
			img->zc_base = img->src->base + off;
			*page = img->src->base + off;
			return EXQ_OK;
		}
	}
	if (!exq__pcache(img))
		return exq__err_set(&img->err, EXQ_NOMEM,
				    "out of memory for the page cache");
	slot = &img->pcache[pfn & img->pcache_mask];
	if (!slot->valid || slot->pfn != pfn) {
		slot->valid = 0;
		st = img->fmt->read_page(img, pfn, slot->data);
		if (st != EXQ_OK)
			return st;
		slot->valid = 1;
		slot->pfn = pfn;
	}
	*page = slot->data;
	return EXQ_OK;
}

struct exq__pcache_slot *exq__pcache(exq_image *img)
{
	if (!img->pcache) {
		size_t n = EXQ__PCACHE_SLOTS;
		img->pcache = calloc(n, sizeof(*img->pcache));
		if (!img->pcache) /* a small cache is slower, not wrong */
			img->pcache = calloc(n = EXQ__PCACHE_MIN,
					     sizeof(*img->pcache));
		img->pcache_mask = img->pcache ? n - 1 : 0;
	}
	return img->pcache;
}

exq_status exq__read_page(exq_image *img, uint64_t pfn, void *page)
{
	struct exq__pcache_slot *slot;
	exq_status st;
	if (!exq__pcache(img)) /* the page is still read, uncached */
		return img->fmt->read_page(img, pfn, page);
	slot = &img->pcache[pfn & img->pcache_mask];
	if (slot->valid && slot->pfn == pfn) {
		memcpy(page, slot->data, EXQ__PAGE_SIZE);
		return EXQ_OK;
	}
	st = img->fmt->read_page(img, pfn, slot->data);
	if (st != EXQ_OK) {
		slot->valid = 0;
		return st;
	}
	slot->valid = 1;
	slot->pfn = pfn;
	memcpy(page, slot->data, EXQ__PAGE_SIZE);
	return EXQ_OK;
}

exq_status exq_read_phys(exq_image *img, uint64_t pa, void *buf, size_t len,
			 size_t *done)
{
	uint8_t page[EXQ__PAGE_SIZE];
	uint8_t *out = buf;
	size_t got = 0;
	exq_status st = EXQ_OK;
	if (done)
		*done = 0;
	if (!img || !img->open || (!buf && len))
		return img ? exq__err_set(&img->err, EXQ_INVALID,
					  "image not open or NULL buffer")
			   : EXQ_INVALID;
	while (got < len) {
		uint64_t cur = pa + got;
		size_t in = (size_t)(cur & (EXQ__PAGE_SIZE - 1));
		size_t n = EXQ__PAGE_SIZE - in;
		if (cur < pa) {
			st = exq__err_set(&img->err, EXQ_INVALID,
					  "physical read wraps around 2^64");
			break;
		}
		if (n > len - got)
			n = len - got;
		st = exq__read_page(img, cur >> EXQ__PAGE_SHIFT, page);
		if (st != EXQ_OK) {
			if (st == EXQ_NODATA)
				exq__err_set(&img->err, st,
					     "physical page 0x%llx (PA 0x%llx) "
					     "is not in this %s image",
					     (unsigned long long)(cur >>
								  EXQ__PAGE_SHIFT),
					     (unsigned long long)cur,
					     img->info.format);
			break;
		}
		memcpy(out + got, page + in, n);
		got += n;
	}
	if (done)
		*done = got;
	return st;
}

const char *exq_machine_name(exq_machine m)
{
	switch (m) {
	case EXQ_MACHINE_X86: return "x86";
	case EXQ_MACHINE_X64: return "x64";
	case EXQ_MACHINE_ARM64: return "arm64";
	default: return NULL;
	}
}

const char *exq_paging_name(exq_paging p)
{
	switch (p) {
	case EXQ_PAGING_X86: return "x86";
	case EXQ_PAGING_PAE: return "pae";
	case EXQ_PAGING_X64: return "x64";
	default: return NULL;
	}
}

size_t exq__utf16le_to_utf8(const uint8_t *in, size_t in_units, char *out,
			    size_t out_size)
{
	size_t i = 0, o = 0;
	if (!out_size)
		return 0;
	while (i < in_units) {
		uint32_t cp = exq__le16(in + 2 * i++);
		char tmp[4];
		size_t n, k;
		if (cp >= 0xD800 && cp <= 0xDBFF && i < in_units) {
			uint32_t lo = exq__le16(in + 2 * i);
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i++;
			} else {
				cp = 0xFFFD;
			}
		} else if (cp >= 0xD800 && cp <= 0xDFFF) {
			cp = 0xFFFD; /* lone surrogate */
		}
		if (cp == 0)
			break;
		if (cp < 0x80) {
			tmp[0] = (char)cp;
			n = 1;
		} else if (cp < 0x800) {
			tmp[0] = (char)(0xC0 | (cp >> 6));
			tmp[1] = (char)(0x80 | (cp & 0x3F));
			n = 2;
		} else if (cp < 0x10000) {
			tmp[0] = (char)(0xE0 | (cp >> 12));
			tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
			tmp[2] = (char)(0x80 | (cp & 0x3F));
			n = 3;
		} else {
			tmp[0] = (char)(0xF0 | (cp >> 18));
			tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
			tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
			tmp[3] = (char)(0x80 | (cp & 0x3F));
			n = 4;
		}
		if (o + n >= out_size)
			break;
		for (k = 0; k < n; k++)
			out[o++] = tmp[k];
	}
	out[o] = '\0';
	return o;
}
