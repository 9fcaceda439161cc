/* SPDX-License-Identifier: MIT */
/* What the image-level fuzz targets (fuzz_open, fuzz_vmcore) do with an
 * image once it is open: every field of exq_image_info, physical reads at
 * the edges of every run and past them, the warnings and the error. */
#include <string.h>

#include "exq.h"
#include "fuzz.h"

static size_t sink;

static size_t slen(const char *s)
{
	return s ? strlen(s) : 0;
}

/* Every field; the runs (built on demand for a bitmap) must be as many
 * as info.nruns says, sorted, apart, and hold pages_present pages. */
static void touch_info(exq_image *img, const exq_image_info *in,
		       const exq_run **runs)
{
	size_t i, n = 0;
	uint64_t pages = 0;
	sink += slen(in->format) + slen(in->dump_type) + slen(in->dtb_source) +
		slen(in->context_source);
	sink += slen(exq_machine_name(in->machine)) +
		slen(exq_paging_name(in->paging));
	*runs = NULL;
	if (exq_image_runs(img, runs, &n) == EXQ_OK) {
		if (n != in->nruns || (n && !*runs))
			__builtin_trap();
		for (i = 0; i < n; i++) {
			const exq_run *r = &(*runs)[i];
			if (!r->page_count ||
			    (i && r->base_page <= (*runs)[i - 1].base_page +
						    (*runs)[i - 1].page_count))
				__builtin_trap();
			pages += r->page_count;
		}
		if (pages != in->pages_present)
			__builtin_trap();
	} else if (exq_image_runs(img, runs, &n) == EXQ_OK) {
		__builtin_trap(); /* (only memory can refuse them) */
	}
	if (in->triage) {
		const exq_triage_info *t = in->triage;
		for (i = 0; i < t->ndrivers; i++)
			sink += slen(t->drivers[i].name) + t->drivers[i].size;
	}
}

static void read_at(exq_image *img, uint64_t pa, size_t len)
{
	static uint8_t buf[2 * 4096 + 64];
	size_t done = 0;
	if (len > sizeof(buf))
		len = sizeof(buf);
	exq_read_phys(img, pa, buf, len, &done);
	if (done > len)
		__builtin_trap();
}

static void reads(exq_image *img, const exq_image_info *in,
		  const exq_run *runs)
{
	size_t i;
	read_at(img, 0, 16);
	read_at(img, 0xFFC, 8);
	read_at(img, UINT64_MAX - 8, 32); /* wraps */
	read_at(img, 1ull << 52, 8);	  /* past any run */
	for (i = 0; runs && i < in->nruns && i < 8; i++) {
		uint64_t first = runs[i].base_page << 12;
		uint64_t end = (runs[i].base_page + runs[i].page_count) << 12;
		read_at(img, first, 4096);
		read_at(img, end - 8, 16); /* crosses into what follows */
		read_at(img, first + ((end - first) / 2 & ~0xFFFull) - 32,
			4096 + 64);
	}
}

void exq_fuzz_image_after_open(exq_image *img, exq_status st)
{
	size_t i;
	if (st == EXQ_OK) {
		const exq_image_info *in = exq_image_get_info(img);
		const exq_run *runs;
		if (!in)
			__builtin_trap();
		read_at(img, 0x1000, 4096); /* before the runs are built */
		touch_info(img, in, &runs);
		reads(img, in, runs);
	}
	for (i = 0; i < exq_image_warning_count(img); i++)
		sink += slen(exq_image_warning(img, i));
	sink += slen(exq_image_error(img));
}

