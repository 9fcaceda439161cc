/* SPDX-License-Identifier: MIT */
/* Test helpers: page tables laid out in a physical memory buffer, for the
 * three paging modes (x86 2-level 4-byte entries, PAE, x64). Independent
 * of the library's walker: geometry from the Intel SDM, Windows software
 * PTE bits from DESIGN §5. */
#ifndef EXQ_TLIB_PT_H
#define EXQ_TLIB_PT_H

#include <stddef.h>
#include <stdint.h>

#include "exq.h"

#define T_P 0x1ull
#define T_RW 0x2ull
#define T_US 0x4ull
#define T_A 0x20ull
#define T_D 0x40ull
#define T_PS 0x80ull
#define T_G 0x100ull
#define T_PROTO 0x400ull /* Windows prototype PTE (P clear) */
#define T_TRANS 0x800ull /* Windows transition PTE (P clear) */
#define T_NX (1ull << 63)

struct t_pt {
	exq_paging paging;
	uint8_t *mem; /* physical memory from PA 0 */
	size_t mem_size;
	uint64_t dtb;  /* root table (PAE: the 32-byte aligned PDPT) */
	uint64_t next; /* next free page of the table pool */
	uint64_t pool_end;
	unsigned levels, esize;
};

/* Tables with the root at dtb; intermediate tables are taken from the
 * pool [pool, pool_end) (page aligned, inside mem_size). */
struct t_pt *t_pt_new(exq_paging paging, size_t mem_size, uint64_t dtb,
		      uint64_t pool, uint64_t pool_end);
void t_pt_free(struct t_pt *pt);

/* Number of levels, and the page size a PS entry at level lvl maps
 * (0 when PS is not honoured there); level 0 is the root. */
unsigned t_pt_levels(const struct t_pt *pt);
uint64_t t_pt_large_size(const struct t_pt *pt, unsigned lvl);
/* Index of va at level lvl. */
unsigned t_pt_index(const struct t_pt *pt, uint64_t va, unsigned lvl);

/* PA of the entry for va at level lvl, creating the tables above it
 * (entries P|RW|US|A; PAE PDPTEs just P). */
uint64_t t_pt_entry_pa(struct t_pt *pt, uint64_t va, unsigned lvl);
/* The same without creating: 0 when a table above is missing. */
uint64_t t_pt_find_entry(const struct t_pt *pt, uint64_t va, unsigned lvl);
/* Read / write an entry (esize bytes) at a PA. */
uint64_t t_pt_get(const struct t_pt *pt, uint64_t pa);
void t_pt_put(struct t_pt *pt, uint64_t pa, uint64_t v);

/* Map the 4 KiB page at va to pa: PTE = pa | flags | P. */
void t_pt_map(struct t_pt *pt, uint64_t va, uint64_t pa, uint64_t flags);
/* A large page at level lvl (PDE: lvl = levels - 2; x64 PDPTE: 1). */
void t_pt_map_large(struct t_pt *pt, uint64_t va, unsigned lvl, uint64_t pa,
		    uint64_t flags);
/* Store a raw value in the entry for va at level lvl. */
void t_pt_set(struct t_pt *pt, uint64_t va, unsigned lvl, uint64_t raw);

/* Windows self-map: PAE: PD 3 entries 0..3 name PD 0..3 (created if
 * needed); x86: PDE 0x300 names the PD; x64: PML4E[x64_index] the PML4. */
void t_pt_selfmap(struct t_pt *pt, unsigned x64_index);

/* A kernel that a DTB scan accepts: n_pdes kernel-half page tables (x64:
 * as many PDPT/PD/PT chains), each with a few pages mapped inside mem,
 * from VA base on, 4 MiB / 2 MiB apart. Data pages come from the pool. */
void t_pt_kernel(struct t_pt *pt, uint64_t base, unsigned n_pdes);

/* The memory as a PAGEDUMP / PAGEDU64 full dump holding the given runs
 * (holes elsewhere); the header names the DTB and paging. */
uint8_t *t_pt_dump(const struct t_pt *pt, const exq_run *runs, size_t n,
		   size_t *len);

/* Deterministic PRNG (xorshift64*). */
uint64_t t_rand(uint64_t *state);

#endif
