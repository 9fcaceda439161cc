/* SPDX-License-Identifier: MIT */
/* Raw physical memory: file offset = physical address (.raw, .vmem,
 * QEMU pmemsave, dd of /dev/mem). Probed last: it accepts any input of at
 * least one whole page. */
#include "exq_int.h"

static exq_status raw_probe(exq_image *img)
{
	uint64_t pages = img->src->size >> EXQ__PAGE_SHIFT;
	exq_run run = {0, pages};
	if (pages == 0)
		return exq__err_set(&img->err, EXQ_CORRUPT,
				    "%llu bytes is not an image: a raw image "
				    "needs at least one whole 4 KiB page",
				    (unsigned long long)img->src->size);
	if (img->src->size & (EXQ__PAGE_SIZE - 1))
		exq__warn(img,
			  "raw image size 0x%llx is not a whole number of "
			  "pages; the last 0x%llx bytes are ignored",
			  (unsigned long long)img->src->size,
			  (unsigned long long)(img->src->size &
					       (EXQ__PAGE_SIZE - 1)));
	img->info.dump_type = "raw";
	return exq__image_set_runs(img, &run, 1);
}

static exq_status raw_read_page(exq_image *img, uint64_t pfn, void *page)
{
	if (pfn >= img->info.pages_present)
		return EXQ_NODATA;
	return exq__src_read(img->src, pfn << EXQ__PAGE_SHIFT, page,
			     EXQ__PAGE_SIZE, &img->err);
}

static uint64_t raw_span(exq_image *img, uint64_t pfn, uint64_t *off)
{
	if (pfn >= img->info.pages_present)
		return 0;
	*off = pfn << EXQ__PAGE_SHIFT;
	return img->info.pages_present - pfn;
}

const struct exq__format exq__fmt_raw = {"raw", raw_probe, raw_read_page,
					  NULL, raw_span};
