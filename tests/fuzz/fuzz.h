/* SPDX-License-Identifier: MIT */
/* libFuzzer entry points (tests/fuzz/fuzz_*.c). Each one is compiled twice:
 * into its fuzzer (with -DEXQ_LIBFUZZER, which adds
 * LLVMFuzzerTestOneInput) and into tests/unit/test_regress.c, which feeds
 * the committed corpus and every input that once crashed through the same
 * code. Each returns 0; a bug shows as a sanitizer report or an abort.
 *
 * Input layouts (the seeds are written by tests/fuzz/mkseeds.c):
 *   open     the image file itself (any format, gzip too).
 *   vmcore   control byte (bits 0-2: vCPU + 1 to select, 0 none; bit 7:
 *            open by path through a memfd instead of from memory), then
 *            an ELF core, kdump file or flattened stream (see
 *            fuzz_vmcore.c).
 *   pe       flags byte, then chunks {u32 rva, u16 len, len bytes} served
 *            at a fixed base by a vread callback (see fuzz_pe.c).
 *   dtb      80-byte control block (paging override, container, DTB,
 *            runs, 8 VAs), then physical memory (see fuzz_dtb.c).
 *   queues   flags byte, then bytes laid over the kernel structures of a
 *            generated world, then page patches (see fuzz_queues.c).
 *   pattern  control bytes, then user patterns separated by '\n' (see
 *            fuzz_pattern.c).
 *   models   control byte (world, --max-items), then page patches over a
 *            bitmap dump of a Windows 7 x64 / 8 / 8.1 / 10 world (see
 *            fuzz_models.c).
 */
#ifndef EXQ_FUZZ_H
#define EXQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int exq_fuzz_open(const uint8_t *data, size_t len);
int exq_fuzz_vmcore(const uint8_t *data, size_t len);
int exq_fuzz_pe(const uint8_t *data, size_t len);
int exq_fuzz_dtb(const uint8_t *data, size_t len);
int exq_fuzz_queues(const uint8_t *data, size_t len);
int exq_fuzz_pattern(const uint8_t *data, size_t len);
int exq_fuzz_models(const uint8_t *data, size_t len);

/* What fuzz_open does with an image once exq_image_open_* returned st:
 * every field of the info, reads at the edges of the runs, warnings. */
#include "exq.h"
void exq_fuzz_image_after_open(exq_image *img, exq_status st);

/* Seeds of the targets built on a generated world: the input that lays
 * the world's own bytes back (world 0..FUZZ_QUEUES_WORLDS-1). malloc'd;
 * NULL when the world cannot be built. */
#define FUZZ_QUEUES_WORLDS 3
uint8_t *exq_fuzz_queues_seed(unsigned world, size_t *len);
/* World 0's seed with an issue-16 fault (0..3: mid-update heads, lists
 * through VA 0); NULL past the last. */
uint8_t *exq_fuzz_queues_fault_seed(unsigned which, size_t *len);

/* The same for fuzz_models (worlds 0..FUZZ_MODELS_WORLDS-1). */
#define FUZZ_MODELS_WORLDS 4
uint8_t *exq_fuzz_models_seed(unsigned world, size_t *len);
/* A models seed with an issue-16 fault (0: a half-updated list head, 1: a
 * Flink of 0); NULL when the world has no queue with items. */
uint8_t *exq_fuzz_models_fault_seed(unsigned world, unsigned which,
				    size_t *len);
struct tw_world *exq_fuzz_models_world(unsigned world);

/* The world a target uses, built once per process and kept (tlib_win;
 * index as above); NULL on failure. */
struct tw_world;
struct tw_world *exq_fuzz_world(unsigned world);

#ifdef EXQ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
#define EXQ_FUZZ_MAIN(fn)                                                      \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)            \
	{                                                                      \
		return fn(data, len);                                          \
	}
#else
#define EXQ_FUZZ_MAIN(fn)
#endif

#endif
