/* SPDX-License-Identifier: MIT */
/* Generated worlds wrapped in a crash dump, shared by fuzz_queues and
 * fuzz_pattern (fworld.c). Not thread-safe: one fuzzer, one thread. */
#ifndef EXQ_FWORLD_H
#define EXQ_FWORLD_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "tlib_win.h"

/* 0 Win7 SP1 PAE, 1 XP SP3 x86, 2 2003 SP2 PAE, 3 Win7 PAE whose
 * ExQueueWorkItem has no built-in pattern. */
#define FWORLD_COUNT 4
#define FWORLD_MAX_REGIONS 512
#define FWORLD_MAX_FRAMES 256

struct fworld_region {
	uint32_t va, len;
};

struct fworld {
	struct tw_world *w;
	uint8_t *dump; /* PAGEDUMP kernel summary dump of the world */
	size_t len;
	uint64_t *pfns; /* the pages it holds, ascending */
	size_t npfns;
	size_t first; /* dump offset of the first page */
	struct fworld_region regions[FWORLD_MAX_REGIONS];
	size_t nregions, region_bytes;
	size_t frames[FWORLD_MAX_FRAMES]; /* dump offsets of the pages that
					     hold regions */
	size_t nframes;
	uint8_t *saved; /* their original bytes */
};

/* Built on first use; NULL when the world cannot be built. */
struct fworld *fworld_get(unsigned i);
/* Lay d over the regions in order (a short d changes a prefix); returns
 * the bytes used. */
size_t fworld_overlay(struct fworld *f, const uint8_t *d, size_t n);
/* Apply page patches {u8 frame, u16 offset, u8 len, bytes}. */
void fworld_patch(struct fworld *f, const uint8_t *d, size_t n);
/* Undo overlay and patches. */
void fworld_restore(struct fworld *f);
/* The regions' original bytes (malloc'd). */
uint8_t *fworld_region_bytes(struct fworld *f, size_t *len);

#endif
