/* SPDX-License-Identifier: MIT */
/* fuzz_open: the input is an image file (raw, PAGEDUMP / PAGEDU64 of every
 * dump type, ELF cores and kdump files when built with libkdumpfile, gzip
 * of any of them) opened through the in-memory source; then everything
 * `exq info` reads, and physical reads at the edges of every run
 * (fimage.c). */

#include "exq.h"
#include "fuzz.h"

int exq_fuzz_open(const uint8_t *d, size_t n)
{
	exq_image *img = exq_image_new();
	if (!img)
		return 0;
	exq_fuzz_image_after_open(img, exq_image_open_mem(img, d, n));
	exq_image_free(img);
	return 0;
}

EXQ_FUZZ_MAIN(exq_fuzz_open)
