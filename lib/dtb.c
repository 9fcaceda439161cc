/* SPDX-License-Identifier: MIT */
/* Choosing the DTB and paging mode of an image (the policy; xlat.c only
 * walks): DTB discovery for images that name none (raw memory), where one
 * sequential pass collects page directories that map themselves, then
 * each candidate is tested and scored (DESIGN §5); the same test applied
 * to a DTB the image names, and the paging mode picked for a DTB that
 * comes without one (exq__dtb_settle, for exq_vspace_open).
 *
 * Facts used (Windows x86 memory management, public references: WRK,
 * ReactOS, Volatility/rekall DTB scanners):
 *  - PAE: the page directory for 0xC0000000-0xFFFFFFFF (PD 3) holds in its
 *    entries 0..3 the four page directories, itself at entry 3 (PTE_BASE
 *    0xC0000000, PDE_BASE 0xC0600000: VA 0xC0600000 + k * 0x1000 is PD k).
 *    The boot PDPT sits at PD3 - 0x4000, naming PD3 - 0x3000 ... PD3.
 *  - x86 (no PAE): PDE 0x300 names the page directory itself (PDE_BASE
 *    0xC0300000).
 *  - x64: one kernel-half PML4 entry names the PML4 itself (randomised
 *    index since Windows 10 1607).
 *  - Boot CR3s: XP/2003 PAE 0x319000 (no PAE 0x39000), Vista 0x122000,
 *    Windows 7/8 0x185000.
 */
#include "exq_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_SELFMAPS 256 /* PAE self-map page directories kept */
#define MAX_GROUPS 65536 /* PDPT-shaped groups awaiting their PD 3 */
#define MAX_CANDS 256	 /* candidates tested */
#define MAX_PT_SAMPLES 8 /* page tables read per candidate */
#define MAX_X64_PDPTS 16 /* x64: kernel PDPT pages read per candidate */
#define MIN_KERNEL 4	 /* kernel-half tables a real kernel has, at least */
#define PROGRESS_EVERY 1024

#define PFN32 0xFFFFF000ull
#define PFN64 0x000FFFFFFFFFF000ull
#define E_P 1ull
#define E_PS 0x80ull


/* ------------------------------------------------------- evaluation */

/* Counting state of one evaluation. */
struct eval {
	exq_image *img;
	exq_dtb_candidate *c;
	uint8_t page[EXQ__PAGE_SIZE];
	uint64_t samples[512]; /* lower tables to sample (PFNs), bounded */
	size_t nsamples;
	int nomem; /* a walk ran out of memory: the evaluation says NOMEM */
};

static exq_status eval_read(struct eval *ev, uint64_t pfn)
{
	return exq__read_page(ev->img, pfn, ev->page);
}

static int reject(exq_dtb_candidate *c, const char *fmt, ...) EXQ__PRINTF(2, 3);
static int reject(exq_dtb_candidate *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	c->accepted = 0;
	return 0;
}

/* Count one present kernel-half entry pointing at target (a table, or
 * the base of a large page); remember tables for sampling. */
static void count_entry(struct eval *ev, uint64_t target_pfn, int table)
{
	if (!exq__pfn_in_image(ev->img, target_pfn)) {
		ev->c->kernel_outside++;
		return;
	}
	ev->c->kernel_inside++;
	if (table &&
	    ev->nsamples < sizeof(ev->samples) / sizeof(ev->samples[0]))
		ev->samples[ev->nsamples++] = target_pfn;
}

/* Count the entries of one kernel-half table page (in ev->page):
 * entries [from, to) of esize bytes, skipping [skip_lo, skip_hi). */
static void count_table(struct eval *ev, unsigned esize, unsigned from,
			unsigned to, unsigned skip_lo, unsigned skip_hi,
			uint64_t large_size)
{
	unsigned i;
	for (i = from; i < to; i++) {
		uint64_t e = esize == 8 ? exq__le64(ev->page + 8 * i)
					: exq__le32(ev->page + 4 * i);
		int large;
		if (i >= skip_lo && i < skip_hi)
			continue;
		if (!(e & E_P))
			continue;
		large = large_size && (e & E_PS);
		if (esize == 4 && large)
			count_entry(ev, (e & 0xFFC00000ull) >> 12, 0);
		else
			count_entry(ev,
				    ((esize == 8 ? e & PFN64 : e & PFN32) &
				     ~(large ? large_size - 1 : 0)) >>
					12,
				    !large);
	}
}

/* Read up to MAX_PT_SAMPLES of the remembered tables (spread evenly) and
 * count their present entries inside / outside the image. */
static exq_status sample_tables(struct eval *ev, unsigned esize)
{
	size_t k,
	    n = ev->nsamples < MAX_PT_SAMPLES ? ev->nsamples : MAX_PT_SAMPLES;
	for (k = 0; k < n; k++) {
		uint64_t pfn = ev->samples[k * ev->nsamples / n];
		unsigned i, count = EXQ__PAGE_SIZE / esize;
		exq_status st = eval_read(ev, pfn);
		if (st == EXQ_NODATA)
			continue;
		if (st != EXQ_OK)
			return st;
		for (i = 0; i < count; i++) {
			uint64_t e = esize == 8 ? exq__le64(ev->page + 8 * i)
						: exq__le32(ev->page + 4 * i);
			uint64_t t = (esize == 8 ? e & PFN64 : e & PFN32) >> 12;
			if (!(e & E_P))
				continue;
			if (exq__pfn_in_image(ev->img, t))
				ev->c->ptes_inside++;
			else
				ev->c->ptes_outside++;
		}
	}
	return EXQ_OK;
}

/* The self-map VA must translate to the table it names. */
static int selfmap_va_ok(struct eval *ev, exq_paging paging, uint64_t dtb,
			 uint64_t va, uint64_t want_pfn)
{
	exq_xlat x;
	exq_status st = exq__walk(ev->img, paging, dtb, va, &x);
	if (st == EXQ_NOMEM)
		ev->nomem = 1;
	if (st != EXQ_OK)
		return 0;
	return (x.pa >> 12) == want_pfn;
}

static exq_status eval_pae(struct eval *ev)
{
	exq_dtb_candidate *c = ev->c;
	uint64_t pdpte[4];
	unsigned k, off = (unsigned)(c->dtb & 0xFE0);
	int vaok = 1;
	exq_status st = eval_read(ev, c->dtb >> 12);
	if (st != EXQ_OK)
		return st;
	for (k = 0; k < 4; k++)
		pdpte[k] = exq__le64(ev->page + off + 8 * k);
	if (!(pdpte[3] & E_P))
		return reject(c,
			      "PDPTE[3] = 0x%llx not present: no kernel "
			      "space at 0xc0000000",
			      (unsigned long long)pdpte[3]),
		       EXQ_OK;
	for (k = 2; k < 4; k++) {
		uint64_t pd = (pdpte[k] & PFN64) >> 12;
		if (!(pdpte[k] & E_P))
			continue;
		if (!exq__pfn_in_image(ev->img, pd)) {
			c->kernel_outside++;
			continue;
		}
		st = eval_read(ev, pd);
		if (st != EXQ_OK)
			return st;
		if (k == 3 &&
		    (exq__le64(ev->page + 0x18) & PFN64) == (pd << 12))
			c->evidence |= EXQ_DTB_EV_SELFMAP;
		count_table(ev, 8, 0, 512, k == 3 ? 0 : 1, k == 3 ? 4 : 0,
			    0x200000);
	}
	for (k = 0; k < 4; k++)
		if ((pdpte[k] & E_P) &&
		    !selfmap_va_ok(ev, EXQ_PAGING_PAE, c->dtb,
				   0xC0600000ull + 0x1000ull * k,
				   (pdpte[k] & PFN64) >> 12))
			vaok = 0;
	if (vaok)
		c->evidence |= EXQ_DTB_EV_SELFMAP_VA;
	return sample_tables(ev, 8);
}

static exq_status eval_x86(struct eval *ev)
{
	exq_dtb_candidate *c = ev->c;
	uint64_t self;
	exq_status st = eval_read(ev, c->dtb >> 12);
	if (st != EXQ_OK)
		return st;
	self = exq__le32(ev->page + 4 * 0x300);
	if ((self & E_P) && (self & PFN32) == c->dtb)
		c->evidence |= EXQ_DTB_EV_SELFMAP;
	count_table(ev, 4, 0x200, 0x400, 0x300, 0x301, 0x400000);
	if (selfmap_va_ok(ev, EXQ_PAGING_X86, c->dtb, 0xC0300000ull,
			  c->dtb >> 12))
		c->evidence |= EXQ_DTB_EV_SELFMAP_VA;
	return sample_tables(ev, 4);
}

/* VA of the x64 self-map entry s mapping the PML4 itself. */
static uint64_t x64_self_va(unsigned s)
{
	uint64_t va = ((uint64_t)s << 39) | ((uint64_t)s << 30) |
		      ((uint64_t)s << 21) | ((uint64_t)s << 12);
	return s >= 256 ? va | 0xFFFF000000000000ull : va;
}

static exq_status eval_x64(struct eval *ev)
{
	exq_dtb_candidate *c = ev->c;
	uint64_t pdpts[MAX_X64_PDPTS];
	size_t npdpt = 0, k;
	unsigned i, self = 0;
	exq_status st = eval_read(ev, c->dtb >> 12);
	if (st != EXQ_OK)
		return st;
	for (i = 256; i < 512; i++) {
		uint64_t e = exq__le64(ev->page + 8 * i);
		uint64_t t = (e & PFN64) >> 12;
		if (!(e & E_P))
			continue;
		if ((e & PFN64) == c->dtb && !self) {
			self = i;
			c->evidence |= EXQ_DTB_EV_SELFMAP;
			continue;
		}
		if (!exq__pfn_in_image(ev->img, t)) {
			c->kernel_outside++;
			continue;
		}
		c->kernel_inside++;
		if (npdpt < MAX_X64_PDPTS)
			pdpts[npdpt++] = t;
	}
	for (k = 0; k < npdpt; k++) {
		st = eval_read(ev, pdpts[k]);
		if (st == EXQ_NODATA)
			continue;
		if (st != EXQ_OK)
			return st;
		count_table(ev, 8, 0, 512, 0, 0, 0x40000000);
	}
	if (self && selfmap_va_ok(ev, EXQ_PAGING_X64, c->dtb,
				  x64_self_va(self), c->dtb >> 12))
		c->evidence |= EXQ_DTB_EV_SELFMAP_VA;
	return sample_tables(ev, 8);
}

/* Decide and score from the counts. */
static void judge(exq_dtb_candidate *c)
{
	uint32_t kin = c->kernel_inside, kout = c->kernel_outside;
	uint32_t pin = c->ptes_inside, pout = c->ptes_outside;
	c->score =
	    4 * (int64_t)kin - 32 * (int64_t)kout + pin / 16 - (int64_t)pout;
	if (c->evidence & EXQ_DTB_EV_SELFMAP_VA)
		c->score += 64;
	if (c->evidence & EXQ_DTB_EV_SELFMAP)
		c->score += 16;
	if (c->evidence & EXQ_DTB_EV_BOOT_LAYOUT)
		c->score += 32;
	if (c->evidence & EXQ_DTB_EV_BOOT_CR3)
		c->score += 32;
	if (!(c->evidence & EXQ_DTB_EV_SELFMAP_VA))
		return (void)reject(c,
				    "the self-map VA %s does not translate "
				    "to the page tables (%u kernel tables in "
				    "the image, %u outside)",
				    c->paging == EXQ_PAGING_PAE ? "0xc0600000"
				    : c->paging == EXQ_PAGING_X86
					? "0xc0300000"
					: "of the PML4",
				    kin, kout);
	if (kin < MIN_KERNEL)
		return (void)reject(c,
				    "kernel space is nearly empty: %u "
				    "kernel tables in the image (at least %u "
				    "wanted), %u outside",
				    kin, MIN_KERNEL, kout);
	if (kout * 10 > kin + kout)
		return (void)reject(c,
				    "%u of %u kernel tables point outside "
				    "the image",
				    kout, kin + kout);
	if (pout * 10 > pin + pout)
		return (void)reject(c,
				    "%u of %u sampled page-table entries "
				    "point outside the image",
				    pout, pin + pout);
	c->accepted = 1;
	c->evidence |= EXQ_DTB_EV_KERNEL;
	snprintf(c->reason, sizeof(c->reason),
		 "kernel tables: %u in the image, %u outside; sampled "
		 "entries: %u in, %u out; self-map translates",
		 kin, kout, pin, pout);
}

exq_status exq__dtb_evaluate(exq_image *img, exq_paging paging, uint64_t dtb,
			     exq_dtb_candidate *c)
{
	struct eval *ev;
	uint32_t keep =
	    c->evidence & (EXQ_DTB_EV_BOOT_LAYOUT | EXQ_DTB_EV_BOOT_CR3);
	exq_status st;
	memset(c, 0, sizeof(*c));
	c->dtb = exq__dtb_mask(paging, dtb);
	c->paging = paging;
	c->evidence = keep;
	if (paging == EXQ_PAGING_UNKNOWN || (unsigned)paging > EXQ_PAGING_X64)
		return reject(c, "unknown paging mode"), EXQ_OK;
	if (!exq__pfn_in_image(img, c->dtb >> 12)) {
		reject(c, "the root table page 0x%llx is not in the image",
		       (unsigned long long)(c->dtb & ~0xFFFull));
		return EXQ_OK;
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
	ev->img = img;
	ev->c = c;
	st = paging == EXQ_PAGING_PAE	? eval_pae(ev)
	     : paging == EXQ_PAGING_X86 ? eval_x86(ev)
					: eval_x64(ev);
	if (ev->nomem)
		st = exq__err_set(&img->err, EXQ_NOMEM,
				  "out of memory testing DTB 0x%llx",
				  (unsigned long long)c->dtb);
	free(ev);
	if (st == EXQ_NODATA) {
		reject(c, "a kernel page table is not in the image");
		return EXQ_OK;
	}
	if (st != EXQ_OK)
		return st;
	if (!c->reason[0])
		judge(c);
	return EXQ_OK;
}

/* ------------------------------------------------ the DTB of an image */

/* Modes worth trying for a DTB whose paging mode is unknown. */
static size_t modes_for(const exq_image *img, exq_paging *list)
{
	size_t n = 0;
	if (img->info.machine != EXQ_MACHINE_X64) {
		list[n++] = EXQ_PAGING_PAE;
		list[n++] = EXQ_PAGING_X86;
	}
	if (img->info.machine != EXQ_MACHINE_X86)
		list[n++] = EXQ_PAGING_X64;
	return n;
}

/* The image has a DTB but no paging mode: keep the mode in which it maps
 * kernel space best. */
static exq_status pick_mode(exq_image *img, exq_paging *out)
{
	exq_paging list[3];
	exq_dtb_candidate c, best;
	size_t i, n = modes_for(img, list);
	int found = 0;
	exq_status st;
	memset(&best, 0, sizeof(best));
	for (i = 0; i < n; i++) {
		st = exq__dtb_evaluate(img, list[i], img->info.dtb, &c);
		if (st != EXQ_OK)
			return st;
		if (c.accepted && (!found || c.score > best.score)) {
			best = c;
			found = 1;
		}
	}
	if (!found)
		return exq__err_set(&img->err, EXQ_NOTFOUND,
				    "the paging mode is unknown and DTB 0x%llx "
				    "(%s) maps no kernel space as %s; pass "
				    "--paging",
				    (unsigned long long)img->info.dtb,
				    img->info.dtb_source,
				    n == 3   ? "pae, x86 or x64"
				    : n == 2 ? "pae or x86"
					     : "x64");
	*out = best.paging;
	exq__err_clear(&img->err); /* the failed tries left messages */
	return EXQ_OK;
}

/* A DTB the image names (dump header, its VMCOREINFO copy, a QEMU note) is
 * a claim like any scan candidate (issue 16): it must map some kernel
 * space in the paging mode it came with. If it does not, the other modes
 * are tried with it (a wrong PaeEnabled flag), then the scan; each step is
 * a warning. Lenient on purpose: a kernel dump may lack some kernel
 * tables, so only a DTB that maps (nearly) nothing is replaced. */
static int plausible(const exq_dtb_candidate *c)
{
	return c->accepted ||
	       (c->kernel_inside > 0 && c->kernel_inside >= 2 * c->kernel_outside);
}

static exq_status check_named_dtb(exq_image *img)
{
	exq_image_info *in = &img->info;
	exq_dtb_candidate c;
	exq_paging list[3], was = in->paging;
	uint64_t dtb = in->dtb;
	const char *src = in->dtb_source ? in->dtb_source : "header";
	char why[sizeof(c.reason)];
	size_t i, n = modes_for(img, list);
	exq_status st = exq__dtb_evaluate(img, in->paging, dtb, &c);
	if (st != EXQ_OK || plausible(&c))
		return st;
	memcpy(why, c.reason, sizeof(why));
	for (i = 0; i < n; i++) {
		if (list[i] == was)
			continue;
		st = exq__dtb_evaluate(img, list[i], dtb, &c);
		if (st != EXQ_OK)
			return st;
		if (c.accepted) {
			exq__warn(img, "DTB 0x%llx (%s) maps no kernel space as %s "
				  "(%s); it does as %s, which is used",
				  (unsigned long long)dtb, src, exq_paging_name(was),
				  why, exq_paging_name(list[i]));
			in->paging = list[i];
			return EXQ_OK;
		}
	}
	in->have &= ~EXQ_HAVE_DTB;
	st = exq__dtb_find(img);
	if (st == EXQ_OK) {
		exq__warn(img, "DTB 0x%llx (%s) maps no kernel space as %s (%s); "
			  "the scan's 0x%llx (%s) is used",
			  (unsigned long long)dtb, src, exq_paging_name(was), why,
			  (unsigned long long)in->dtb, exq_paging_name(in->paging));
		return EXQ_OK;
	}
	if (st != EXQ_NOTFOUND)
		return st;
	/* nothing better: keep what the image said, and say so */
	in->have |= EXQ_HAVE_DTB;
	in->dtb = dtb;
	in->paging = was;
	in->dtb_source = src;
	exq__err_clear(&img->err);
	exq__warn(img, "DTB 0x%llx (%s) maps no kernel space as %s (%s), and "
		  "the scan found nothing better: kept",
		  (unsigned long long)dtb, src, exq_paging_name(was), why);
	return EXQ_OK;
}

exq_status exq__dtb_settle(exq_image *img)
{
	exq_image_info *in = &img->info;
	exq_status st;
	if (!(in->have & EXQ_HAVE_DTB)) {
		st = exq__dtb_find(img); /* likely places first */
		if (st != EXQ_OK)
			return st;
	} else if (!img->have_dtb_override && in->paging != EXQ_PAGING_UNKNOWN &&
		   in->pages_present && !img->dtb_checked) {
		/* (an image without pages, a triage dump, has nothing to test
		 * the DTB against) */
		img->dtb_checked = 1; /* once per image: vspaces are cheap */
		st = check_named_dtb(img);
		if (st != EXQ_OK)
			return st;
	}
	if (in->paging == EXQ_PAGING_UNKNOWN) {
		exq_paging p;
		st = pick_mode(img, &p);
		if (st != EXQ_OK)
			return st;
		in->paging = p;
	}
	return EXQ_OK;
}

/* -------------------------------------------------------------- scan */

struct selfmap {
	uint64_t pfn;
	uint64_t pd[4]; /* PFNs named by entries 0..3; ~0 if not present */
	int named;	/* a PDPT naming it was found */
};

struct group {
	uint64_t pa;
	uint64_t pfn[4];
};

struct scan {
	exq_image *img;
	int want_pae, want_x86, want_x64;
	int want_kdbg;	   /* note KDBG tags (a kernel search follows) */
	int kdbg_overflow; /* more KDBG tags than img->kdbg_hits keeps */
	struct selfmap *sm; /* ascending pfn: found in page order */
	size_t nsm, sm_dropped;
	struct group *grp;
	size_t ngrp, grp_dropped;
	exq_dtb_candidate *c;
	size_t nc, c_dropped;
};

static exq_dtb_candidate *add_cand(struct scan *s, exq_paging paging,
				   uint64_t dtb, uint32_t ev)
{
	size_t i;
	for (i = 0; i < s->nc; i++)
		if (s->c[i].paging == paging && s->c[i].dtb == dtb) {
			s->c[i].evidence |= ev;
			return &s->c[i];
		}
	if (s->nc == MAX_CANDS) {
		s->c_dropped++;
		return NULL;
	}
	memset(&s->c[s->nc], 0, sizeof(s->c[0]));
	s->c[s->nc].paging = paging;
	s->c[s->nc].dtb = dtb;
	s->c[s->nc].evidence = ev;
	return &s->c[s->nc++];
}

static struct selfmap *find_selfmap(struct scan *s, uint64_t pfn)
{
	size_t lo = 0, hi = s->nsm;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->sm[mid].pfn == pfn)
			return &s->sm[mid];
		if (s->sm[mid].pfn < pfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A PDPT-shaped group whose entry 3 names a self-map PD: a PAE DTB when
 * all four entries name the PD's own entries 0..3. */
static void match_group(struct scan *s, const struct group *g)
{
	struct selfmap *m = find_selfmap(s, g->pfn[3]);
	uint32_t ev = EXQ_DTB_EV_SELFMAP;
	int k;
	if (!m || g->pa == m->pfn << 12)
		return; /* none, or the PD's own self-map entries 0..3 */
	for (k = 0; k < 3; k++)
		if (m->pd[k] != g->pfn[k])
			return;
	if (g->pa == (m->pfn << 12) - 0x4000 && g->pfn[0] == m->pfn - 3 &&
	    g->pfn[1] == m->pfn - 2 && g->pfn[2] == m->pfn - 1)
		ev |= EXQ_DTB_EV_BOOT_LAYOUT;
	m->named = 1;
	add_cand(s, EXQ_PAGING_PAE, g->pa, ev);
}

static void scan_pae_selfmap(struct scan *s, const uint8_t *page, uint64_t pfn)
{
	uint64_t e3 = exq__le64(page + 0x18);
	struct selfmap *m;
	int k;
	if (!(e3 & E_P) || (e3 & PFN64) != pfn << 12)
		return;
	if (s->nsm == MAX_SELFMAPS) {
		s->sm_dropped++;
		return;
	}
	m = &s->sm[s->nsm++];
	m->pfn = pfn;
	m->named = 0;
	for (k = 0; k < 4; k++) {
		uint64_t e = exq__le64(page + 8 * k);
		m->pd[k] = e & E_P ? (e & PFN64) >> 12 : ~0ull;
	}
}

/* 32-byte aligned groups of four present 8-byte entries naming distinct
 * pages of the image: PDPT candidates. Only P and the PFN are looked at
 * (hypervisors set other bits in PDPTEs). */
static void scan_pdpt_groups(struct scan *s, const uint8_t *page, uint64_t pfn)
{
	unsigned off;
	for (off = 0; off < EXQ__PAGE_SIZE; off += 32) {
		struct group g;
		int k, ok = 1;
		/* Cheap prefilter, without branches on the data: all four
		 * present, no bits above 51 (random or text data almost
		 * never passes, and page tables are rare). */
		uint64_t e0 = exq__le64(page + off), e1 = exq__le64(page + off + 8),
			 e2 = exq__le64(page + off + 16),
			 e3 = exq__le64(page + off + 24);
		if (__builtin_expect(!((e0 & e1 & e2 & e3 & E_P) &
				       (((e0 | e1 | e2 | e3) >> 52) == 0)),
				     1))
			continue;
		for (k = 0; k < 4 && ok; k++) {
			uint64_t e = exq__le64(page + off + 8 * k);
			ok = (e & E_P) && !(e >> 52) &&
			     exq__pfn_in_image(s->img, (e & PFN64) >> 12);
			g.pfn[k] = (e & PFN64) >> 12;
		}
		if (!ok || g.pfn[0] == g.pfn[1] || g.pfn[1] == g.pfn[2] ||
		    g.pfn[2] == g.pfn[3] || g.pfn[0] == g.pfn[3])
			continue;
		g.pa = (pfn << 12) | off;
		if (g.pfn[3] <= pfn) {
			match_group(s, &g); /* its PD 3 was seen already */
		} else if (s->ngrp == MAX_GROUPS) {
			s->grp_dropped++;
		} else {
			s->grp[s->ngrp++] = g;
		}
	}
}

static void scan_page(struct scan *s, const uint8_t *page, uint64_t pfn)
{
	uint64_t pa = pfn << 12;
	if (s->want_pae) {
		scan_pae_selfmap(s, page, pfn);
		scan_pdpt_groups(s, page, pfn);
	}
	if (s->want_x86 && pa <= PFN32) {
		uint64_t e = exq__le32(page + 4 * 0x300);
		if ((e & E_P) && (e & PFN32) == pa)
			add_cand(s, EXQ_PAGING_X86, pa, EXQ_DTB_EV_SELFMAP);
	}
	if (s->want_x64) {
		/* a kernel-half PML4 entry naming this page, present:
		 * (e ^ (pa|P)) & (PFN|P) == 0, looked for without branches */
		unsigned i, hit = 0;
		for (i = 256; i < 512; i++)
			hit |= ((exq__le64(page + 8 * i) ^ (pa | E_P)) &
				(PFN64 | E_P)) == 0;
		if (__builtin_expect(hit, 0))
			add_cand(s, EXQ_PAGING_X64, pa, EXQ_DTB_EV_SELFMAP);
	}
}

/* KDBG headers met on the way (the KDBG scan of kernel.c reads them
 * from img->kdbg_hits instead of reading the image again): the tag
 * "KDBG" at an 8-byte boundary (KDBGKD_DEBUG_DATA_HEADER64.OwnerTag,
 * DESIGN §4.3). */
static void kdbg_tags(struct scan *s, const uint8_t *page, uint64_t pfn)
{
	exq_image *img = s->img;
	uint32_t tag;
	unsigned i, hit = 0;
	memcpy(&tag, "KDBG", 4); /* in host order, as the loads below */
	/* the first 4 bytes of each 8-byte word, one compare per word, read
	 * in place (the compiler vectorizes it) */
	for (i = 0; i < EXQ__PAGE_SIZE / 8; i++) {
		uint32_t x;
		memcpy(&x, page + 8 * i, 4);
		hit |= x == tag;
	}
	if (__builtin_expect(!hit, 1))
		return;
	for (i = 0; i < EXQ__PAGE_SIZE / 8; i++) {
		if (exq__le32(page + 8 * i) != 0x4742444Bu)
			continue;
		if (img->nkdbg_hits == EXQ__KDBG_HITS) {
			s->kdbg_overflow = 1;
			return;
		}
		img->kdbg_hits[img->nkdbg_hits++] =
		    (pfn << EXQ__PAGE_SHIFT) + 8 * i;
	}
}

/* The sequential pass (scan.c): scan_page on every page. */
static int scan_page_fn(void *arg, const uint8_t *page, uint64_t pfn)
{
	struct scan *s = arg;
	scan_page(s, page, pfn);
	if (s->want_kdbg)
		kdbg_tags(s, page, pfn);
	return 0;
}

/* A self-map PD that no PDPT found in the pass names. When groups were
 * dropped (bound hit), look where the boot layout puts its PDPT. */
static exq_status unnamed_selfmap(struct scan *s, struct selfmap *m,
				  uint8_t *page)
{
	exq_dtb_candidate *c;
	uint64_t boot = (m->pfn << 12) - 0x4000;
	if (s->grp_dropped && m->pfn >= 4 &&
	    exq__pfn_in_image(s->img, boot >> 12)) {
		struct group g;
		int k;
		exq_status st = exq__read_page(s->img, boot >> 12, page);
		if (st != EXQ_OK && st != EXQ_NODATA)
			return st;
		g.pa = boot;
		for (k = 0; k < 4 && st == EXQ_OK; k++)
			g.pfn[k] = (exq__le64(page + 8 * k) & PFN64) >> 12;
		if (st == EXQ_OK)
			match_group(s, &g);
		if (m->named)
			return EXQ_OK;
	}
	c = add_cand(s, EXQ_PAGING_PAE, m->pfn << 12, EXQ_DTB_EV_SELFMAP);
	if (c)
		snprintf(c->reason, sizeof(c->reason),
			 "page directory at 0x%llx maps itself (entry 3) but "
			 "no PDPT naming its entries 0..3 was found (the DTB "
			 "is the PDPT, not this page)",
			 (unsigned long long)(m->pfn << 12));
	return EXQ_OK;
}

/* After the pass: pending groups, self-maps without a PDPT, boot CR3s. */
static exq_status scan_finish(struct scan *s)
{
	static const uint64_t boot_pae[] = {0x319000, 0x122000, 0x185000};
	static const uint64_t boot_x86[] = {0x39000, 0x122000, 0x185000};
	uint8_t *page;
	size_t i;
	exq_status st = EXQ_OK;
	for (i = 0; i < s->ngrp; i++)
		match_group(s, &s->grp[i]);
	page = malloc(EXQ__PAGE_SIZE);
	if (!page)
		return exq__err_set(&s->img->err, EXQ_NOMEM, "out of memory");
	for (i = 0; i < s->nsm && st == EXQ_OK; i++)
		if (!s->sm[i].named)
			st = unnamed_selfmap(s, &s->sm[i], page);
	free(page);
	for (i = 0; i < sizeof(boot_pae) / sizeof(boot_pae[0]); i++) {
		if (s->want_pae && exq__pfn_in_image(s->img, boot_pae[i] >> 12))
			add_cand(s, EXQ_PAGING_PAE, boot_pae[i],
				 EXQ_DTB_EV_BOOT_CR3);
		if (s->want_x86 && exq__pfn_in_image(s->img, boot_x86[i] >> 12))
			add_cand(s, EXQ_PAGING_X86, boot_x86[i],
				 EXQ_DTB_EV_BOOT_CR3);
	}
	return st;
}

static int cand_cmp(const void *a, const void *b)
{
	const exq_dtb_candidate *x = a, *y = b;
	if (x->accepted != y->accepted)
		return y->accepted - x->accepted;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->dtb != y->dtb)
		return x->dtb < y->dtb ? -1 : 1;
	return (int)x->paging - (int)y->paging;
}

/* Which modes to look for: the paging override, else what the image
 * says, else what its machine allows. */
static void scan_modes(struct scan *s)
{
	const exq_image *img = s->img;
	exq_paging p = img->paging_override != EXQ_PAGING_UNKNOWN
			   ? img->paging_override
			   : img->info.paging;
	if (p != EXQ_PAGING_UNKNOWN) {
		s->want_pae = p == EXQ_PAGING_PAE;
		s->want_x86 = p == EXQ_PAGING_X86;
		s->want_x64 = p == EXQ_PAGING_X64;
		return;
	}
	s->want_pae = s->want_x86 = img->info.machine != EXQ_MACHINE_X64;
	s->want_x64 = img->info.machine != EXQ_MACHINE_X86;
}

static exq_status scan_alloc(struct scan *s)
{
	s->sm = calloc(MAX_SELFMAPS, sizeof(*s->sm));
	s->grp = s->want_pae ? calloc(MAX_GROUPS, sizeof(*s->grp)) : NULL;
	s->c = calloc(MAX_CANDS, sizeof(*s->c));
	if (!s->sm || !s->c || (s->want_pae && !s->grp))
		return exq__err_set(&s->img->err, EXQ_NOMEM,
				    "out of memory for the DTB scan");
	return EXQ_OK;
}

static exq_status evaluate_all(struct scan *s)
{
	size_t i;
	for (i = 0; i < s->nc; i++) {
		exq_dtb_candidate *c = &s->c[i];
		exq_status st;
		if (c->reason[0])
			continue; /* rejected before any test */
		st = exq__dtb_evaluate(s->img, c->paging, c->dtb, c);
		if (st != EXQ_OK)
			return st;
	}
	return EXQ_OK;
}

/* Record the winner on an image that names no DTB. */
static void record(exq_image *img, const exq_dtb_candidate *w)
{
	if (img->info.have & EXQ_HAVE_DTB)
		return;
	img->info.dtb = w->dtb;
	img->info.dtb_source = "scan";
	img->info.have |= EXQ_HAVE_DTB;
	img->info.paging = w->paging;
	if (img->info.machine == EXQ_MACHINE_UNKNOWN)
		img->info.machine = w->paging == EXQ_PAGING_X64
					? EXQ_MACHINE_X64
					: EXQ_MACHINE_X86;
}

static unsigned modes_key(const struct scan *s)
{
	return 1u | (unsigned)s->want_pae << 1 | (unsigned)s->want_x86 << 2 |
	       (unsigned)s->want_x64 << 3;
}

/* A full scan that chose nothing is kept on the image; a copy of it. */
static exq_status from_cache(exq_image *img, const struct scan *s,
			     exq_dtb_candidate **out, size_t *n)
{
	exq_dtb_candidate *c;
	if (!img->scan_cache || img->scan_modes != modes_key(s))
		return EXQ__NOPROBE;
	c = malloc((img->scan_ncache ? img->scan_ncache : 1) * sizeof(*c));
	if (!c)
		return exq__err_set(&img->err, EXQ_NOMEM, "out of memory");
	memcpy(c, img->scan_cache, img->scan_ncache * sizeof(*c));
	*out = c;
	*n = img->scan_ncache;
	return EXQ_OK;
}

static void to_cache(exq_image *img, const struct scan *s)
{
	free(img->scan_cache);
	img->scan_cache = malloc((s->nc ? s->nc : 1) * sizeof(*s->c));
	img->scan_ncache = 0;
	if (!img->scan_cache)
		return;
	memcpy(img->scan_cache, s->c, s->nc * sizeof(*s->c));
	img->scan_ncache = s->nc;
	img->scan_modes = modes_key(s);
}

/* One scan over the pages below limit_pfn (UINT64_MAX: all). */
static exq_status scan_run(exq_image *img, uint64_t limit_pfn, int want_kdbg,
			   exq_progress_fn progress, void *arg,
			   exq_dtb_candidate **out, size_t *n)
{
	struct scan s;
	exq_status st;
	memset(&s, 0, sizeof(s));
	s.img = img;
	s.want_kdbg = want_kdbg;
	scan_modes(&s);
	if (limit_pfn == UINT64_MAX) {
		st = from_cache(img, &s, out, n);
		if (st != EXQ__NOPROBE)
			return st;
	}
	st = scan_alloc(&s);
	if (st == EXQ_OK) {
		img->nkdbg_hits = 0;
		img->kdbg_upto = 0;
		st = exq__scan_pass(img, 0, limit_pfn, scan_page_fn, &s, 0,
				    progress, arg);
		if (st == EXQ_OK && s.want_kdbg && !s.kdbg_overflow)
			img->kdbg_upto = limit_pfn;
		else
			img->nkdbg_hits = 0;
	}
	if (st == EXQ_OK)
		st = scan_finish(&s);
	if (st == EXQ_OK)
		st = evaluate_all(&s);
	free(s.sm);
	free(s.grp);
	if (st != EXQ_OK) {
		free(s.c);
		return st;
	}
	if (s.c_dropped)
		exq__warn(img,
			  "DTB scan: %zu candidates beyond the first %d "
			  "were not tested",
			  s.c_dropped, MAX_CANDS);
	qsort(s.c, s.nc, sizeof(*s.c), cand_cmp);
	if (s.nc && s.c[0].accepted) {
		s.c[0].chosen = 1;
		record(img, &s.c[0]);
	} else if (limit_pfn == UINT64_MAX) {
		to_cache(img, &s);
	}
	exq__err_clear(&img->err);
	*out = s.c;
	*n = s.nc;
	return EXQ_OK;
}

exq_status exq_dtb_scan(exq_image *img, exq_progress_fn progress, void *arg,
			exq_dtb_candidate **out, size_t *n)
{
	exq_status st;
	if (!img || !out || !n)
		return EXQ_INVALID;
	if (!img->open)
		return exq__err_set(&img->err, EXQ_INVALID, "image not open");
	st = scan_run(img, exq__scan_limit_pfn(img), 0, progress, arg, out, n);
	if (st == EXQ_OK)
		exq__scan_limited(img, "DTB scan");
	return st;
}

static void find_progress(void *arg, uint64_t done, uint64_t total)
{
	exq__progress(arg, "DTB scan", done, total);
}

/* The likely places: the first 64 MiB of physical memory hold the boot
 * page directories of every Windows version (XP 0x319000 … 10 x64
 * 0x1aa000-ish); the known boot CR3s are among them. */
#define QUICK_PFNS (64ull << (20 - EXQ__PAGE_SHIFT))

exq_status exq__dtb_find(exq_image *img)
{
	exq_dtb_candidate *c = NULL;
	size_t n = 0;
	uint64_t quick = QUICK_PFNS < exq__scan_limit_pfn(img) ? QUICK_PFNS
							      : exq__scan_limit_pfn(img);
	int whole = img->pfn_end <= quick;
	exq_status st = scan_run(img, quick, 1, NULL, NULL, &c, &n);
	if (st == EXQ_OK && !(n && c[0].chosen) && !whole) {
		exq_dtb_candidates_free(c);
		c = NULL;
		st = scan_run(img, exq__scan_limit_pfn(img), 1,
			      img->progress ? find_progress : NULL, img, &c, &n);
		if (st == EXQ_OK)
			exq__scan_limited(img, "DTB scan");
	}
	if (st != EXQ_OK)
		return exq__err_ctx(&img->err, st, "DTB scan");
	if (!n || !c[0].chosen) {
		exq_dtb_candidates_free(c);
		return exq__err_set(&img->err, EXQ_NOTFOUND,
				    "no DTB: the image names none and the scan "
				    "found no page directory that maps kernel "
				    "space (%zu candidate%s rejected; see 'exq "
				    "scan')",
				    n, n == 1 ? "" : "s");
	}
	exq_dtb_candidates_free(c);
	return EXQ_OK;
}

void exq_dtb_candidates_free(exq_dtb_candidate *c)
{
	free(c);
}
