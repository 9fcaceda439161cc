/* SPDX-License-Identifier: MIT */
/* The sequential pass over an image's physical pages, shared by the scans
 * that read every page (the DTB scan, dtb.c; the KDBG scan, kernel.c):
 * every page of every run below a limit, once, in order. Pages the source
 * stores back to back (raw, Windows dumps) are read BLOCK_PAGES at a time
 * straight from it, with sequential read-ahead advice; others (compressed
 * kdump pages, gzip) one page at a time through the format. A plain file's
 * holes (SEEK_DATA: a sparse raw image) are not read at all: a hole is
 * zeros, and a page of zeros holds neither a page table nor a KDBG header,
 * so such a pass costs what the file holds, not what it spans (issue 16
 * item 12: `info` on a 16 GiB sparse raw read all of it). */
#include "exq_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define BLOCK_PAGES 256 /* 1 MiB */

/* The next byte at or after off that the file holds data for, or end when
 * none (whole stretch a hole); off itself when the file system cannot
 * say. */
static uint64_t next_data(int fd, uint64_t off, uint64_t end)
{
	off_t d;
	if (fd < 0)
		return off;
	d = lseek(fd, (off_t)off, SEEK_DATA);
	if (d < 0)
		return errno == ENXIO ? end : off;
	return (uint64_t)d < end ? (uint64_t)d : end;
}

/* n pages from pfn; *stop set when fn asked to stop. */
static exq_status pass_block(exq_image *img, uint8_t *buf, uint64_t pfn,
			     uint64_t n, exq__page_fn fn, void *arg,
			     int skip_bad, int *stop)
{
	uint64_t off = 0, span = 0, i, skip;
	exq_status st;
	int fd = exq__src_fd(img->src);
	if (img->fmt->span)
		span = img->fmt->span(img, pfn, &off);
	if (span >= n) {
		/* whole pages of holes first: nothing to read or look at */
		skip = (next_data(fd, off, off + (n << EXQ__PAGE_SHIFT)) - off) >>
		       EXQ__PAGE_SHIFT;
		if (skip >= n)
			return EXQ_OK;
		pfn += skip;
		off += skip << EXQ__PAGE_SHIFT;
		n -= skip;
		st = exq__src_read(img->src, off, buf,
				   (size_t)(n << EXQ__PAGE_SHIFT), &img->err);
		if (st == EXQ_OK) {
			for (i = 0; i < n && !*stop; i++)
				*stop = fn(arg, buf + (i << EXQ__PAGE_SHIFT),
					   pfn + i);
			return EXQ_OK;
		}
		if (!skip_bad || st == EXQ_NOMEM)
			return exq__err_ctx(&img->err, st,
					    "reading pages 0x%llx..0x%llx",
					    (unsigned long long)pfn,
					    (unsigned long long)(pfn + n - 1));
		/* page by page below: what can be read is */
	}
	for (i = 0; i < n && !*stop; i++) {
		st = img->fmt->read_page(img, pfn + i, buf);
		if (st == EXQ_NODATA || (skip_bad && st != EXQ_OK &&
					 st != EXQ_NOMEM))
			continue;
		if (st != EXQ_OK)
			return exq__err_ctx(&img->err, st, "reading page 0x%llx",
					    (unsigned long long)(pfn + i));
		*stop = fn(arg, buf, pfn + i);
	}
	return EXQ_OK;
}

exq_status exq__scan_pass(exq_image *img, uint64_t start_pfn,
			  uint64_t limit_pfn, exq__page_fn fn, void *arg,
			  int skip_bad, exq_progress_fn progress, void *parg)
{
	uint8_t *buf = malloc((size_t)BLOCK_PAGES << EXQ__PAGE_SHIFT);
	uint64_t done = 0, total = 0, at;
	exq_run run;
	int fd = exq__src_fd(img->src), stop = 0;
	exq_status st = EXQ_OK;
	if (!buf)
		return exq__err_set(&img->err, EXQ_NOMEM,
				    "out of memory for a scan's 1 MiB buffer");
	for (at = start_pfn; at < limit_pfn && exq__next_run(img, at, &run);
	     at = run.base_page + run.page_count) {
		if (run.base_page >= limit_pfn)
			break;
		total += run.page_count < limit_pfn - run.base_page
			     ? run.page_count
			     : limit_pfn - run.base_page;
	}
	if (fd >= 0 && limit_pfn == UINT64_MAX)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (at = start_pfn; at < limit_pfn && st == EXQ_OK && !stop &&
			     exq__next_run(img, at, &run);
	     at = run.base_page + run.page_count) {
		uint64_t p = 0, end = run.page_count;
		if (run.base_page >= limit_pfn)
			break;
		if (end > limit_pfn - run.base_page)
			end = limit_pfn - run.base_page;
		while (p < end && st == EXQ_OK && !stop) {
			uint64_t n = end - p < BLOCK_PAGES ? end - p : BLOCK_PAGES;
			if (progress)
				progress(parg, done, total);
			st = pass_block(img, buf, run.base_page + p, n, fn, arg,
					skip_bad, &stop);
			p += n;
			done += n;
		}
	}
	if (fd >= 0 && limit_pfn == UINT64_MAX)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
	if (progress && st == EXQ_OK)
		progress(parg, total, total);
	free(buf);
	return st;
}
