/* SPDX-License-Identifier: MIT */
/* fuzz_pattern: user patterns (exq_workq_opts.patterns, the CLI's
 * --pattern/--pattern-offset) over a fixed generated world whose kernel
 * is opened once per process: the pattern parser, the window scan of
 * ExQueueWorkItem and the candidates' validation.
 *
 * Input: byte 0: bit 0 world (0 Win7 with the seed article's pattern, 1
 * a Win7 whose ExQueueWorkItem has none), bit 1 --exworkerqueue override
 * (VA: bytes 4-7); byte 1: window / 16 (0 default); byte 2: max_items (0
 * default); byte 3 unused; then up to 8 pattern records separated by
 * '\n': {u32 imm_offset, u8 named, hex text}. */
#include <stdlib.h>
#include <string.h>

#include "exq.h"
#include "fuzz.h"
#include "fworld.h"

#define MAX_PATTERNS 8
#define MAX_TEXT 256

struct opened {
	exq_image *img;
	exq_vspace *vs;
	exq_kernel *k;
};

static struct opened worlds[2];

static exq_kernel *kernel_of(unsigned which)
{
	struct opened *o = &worlds[which];
	struct fworld *f;
	if (o->k)
		return o->k;
	f = fworld_get(which ? 3 : 0);
	o->img = exq_image_new();
	if (!f || !o->img ||
	    exq_image_open_mem(o->img, f->dump, f->len) != EXQ_OK ||
	    exq_vspace_open(&o->vs, o->img) != EXQ_OK ||
	    exq_kernel_open(&o->k, o->vs, NULL) != EXQ_OK)
		abort(); /* the world does not open: a harness bug */
	return o->k;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

int exq_fuzz_pattern(const uint8_t *d, size_t n)
{
	static char text[MAX_PATTERNS][MAX_TEXT + 1];
	exq_wq_pattern pats[MAX_PATTERNS];
	exq_workq_opts o;
	exq_workq *wq = NULL;
	exq_kernel *k;
	size_t np = 0, at = 8;
	if (n < 8)
		return 0;
	k = kernel_of(d[0] & 1);
	memset(&o, 0, sizeof(o));
	o.have_root = (d[0] >> 1) & 1;
	o.root = le32(d + 4);
	o.window = (uint32_t)d[1] * 16;
	o.max_items = d[2];
	while (at + 5 <= n && np < MAX_PATTERNS) {
		const uint8_t *nl = memchr(d + at + 5, '\n', n - at - 5);
		size_t end = nl ? (size_t)(nl - d) : n, len = end - at - 5;
		if (len > MAX_TEXT)
			len = MAX_TEXT;
		memcpy(text[np], d + at + 5, len);
		text[np][len] = '\0'; /* a NUL inside ends the pattern early */
		pats[np].imm_offset = le32(d + at);
		pats[np].name = d[at + 4] & 1 ? "user" : NULL;
		pats[np].hex = text[np];
		/* bit 1: a RIP-relative operand; bits 2..7: the instruction
		 * length (0: operand end) */
		pats[np].operand = d[at + 4] & 2 ? EXQ_WQ_RIPREL : EXQ_WQ_ABS32;
		pats[np].insn_len = (uint32_t)d[at + 4] >> 2;
		np++;
		at = end + 1;
	}
	o.patterns = pats;
	o.npatterns = np;
	exq_workq_walk(k, &o, &wq);
	exq_workq_free(wq);
	return 0;
}

EXQ_FUZZ_MAIN(exq_fuzz_pattern)
