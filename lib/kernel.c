/* SPDX-License-Identifier: MIT */
/* ntoskrnl: where it is (DESIGN §6), its exports, build, CodeView record
 * and layout profile. Module list walking and symbolization: modules.c. */
#include "exq_int.h"

#include <strings.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const kernel_names[] = {"ntoskrnl.exe", "ntkrnlpa.exe",
					   "ntkrnlmp.exe", "ntkrpamp.exe"};

/* KDDEBUGGER_DATA64 (DESIGN §4.3): OwnerTag +0x10, Size +0x14, KernBase
 * +0x18, PsLoadedModuleList +0x48; 64-bit slots on every machine. */
#define KDBG_TAG 0x10
#define KDBG_SIZE 0x14
#define KDBG_KERNBASE 0x18
#define KDBG_MODLIST 0x48
#define KDBG_READ 0x58

exq_status exq__kvread(void *ctx, uint64_t va, void *buf, size_t len)
{
	return exq_read_virt(ctx, va, buf, len, NULL);
}

int exq__kptr64(const exq_kernel *k)
{
	return exq_vspace_paging(k->vs) == EXQ_PAGING_X64;
}

uint64_t exq__kptr(const exq_kernel *k, const uint8_t *p)
{
	return exq__kptr64(k) ? exq__le64(p) : exq__le32(p);
}

static uint64_t kdbg_ptr(const exq_kernel *k, const uint8_t *p)
{
	uint64_t v = exq__le64(p);
	/* x86 stores 32-bit pointers sign-extended in the 64-bit slots. */
	return exq__kptr64(k) ? v : (v & 0xFFFFFFFFu);
}

static int is_kernel_name(const char *n)
{
	size_t i;
	for (i = 0; i < sizeof(kernel_names) / sizeof(kernel_names[0]); i++)
		if (strcasecmp(n, kernel_names[i]) == 0)
			return 1;
	return 0;
}

/* A candidate base counts only when it parses as a kernel PE. On
 * rejection the reason is a warning on the image. */
/* Out of memory is not a rejection: the search stops there and the open
 * says NOMEM (issue 16). Returns 1 when st is NOMEM. */
static int oom(exq_kernel *k, exq_status st)
{
	if (st == EXQ_NOMEM)
		k->nomem = 1;
	return k->nomem;
}

static int try_base(exq_kernel *k, uint64_t base, const char *source)
{
	exq__err e;
	exq__pe *pe = NULL;
	exq_status st;
	exq__err_clear(&e);
	st = exq__pe_open(&pe, exq__kvread, k->vs, base, &e);
	if (oom(k, st))
		return 1; /* stop: find_base reports it */
	if (st != EXQ_OK) {
		exq__warn(k->img, "kernel base candidate 0x%" PRIx64 " (%s) "
				  "rejected: %s (%s)",
			  base, source, e.msg, exq_strerror(st));
		return 0;
	}
	if (!pe->has_exports || !is_kernel_name(pe->dll_name)) {
		exq__warn(k->img, "kernel base candidate 0x%" PRIx64 " (%s) "
				  "rejected: its export name is '%s', not a "
				  "kernel's",
			  base, source, pe->has_exports ? pe->dll_name : "");
		exq__pe_free(pe);
		return 0;
	}
	k->pe = pe;
	k->info.base = base;
	k->info.base_source = source;
	return 1;
}

static int read_kdbg(exq_kernel *k, uint64_t va, uint8_t *buf)
{
	exq_status st = exq_read_virt(k->vs, va, buf, KDBG_READ, NULL);
	oom(k, st);
	return st == EXQ_OK && memcmp(buf + KDBG_TAG, "KDBG", 4) == 0;
}

/* exq_read_virt, with out of memory remembered */
static exq_status kread(exq_kernel *k, uint64_t va, void *buf, size_t len)
{
	exq_status st = exq_read_virt(k->vs, va, buf, len, NULL);
	oom(k, st);
	return st;
}

static int from_kdbg(exq_kernel *k)
{
	const exq_image_info *in = exq_image_get_info(k->img);
	uint8_t b[KDBG_READ];
	if (!(in->have & EXQ_HAVE_KDBG))
		return 0;
	if (!read_kdbg(k, in->kdbg_va, b)) {
		if (k->nomem)
			return 1;
		exq__warn(k->img, "KDBG at 0x%" PRIx64 " (dump header) is "
				  "unreadable or has no KDBG tag",
			  in->kdbg_va);
		return 0;
	}
	k->info.has_kdbg = 1;
	k->info.kdbg_va = in->kdbg_va;
	k->kdbg_modlist = kdbg_ptr(k, b + KDBG_MODLIST);
	return try_base(k, kdbg_ptr(k, b + KDBG_KERNBASE), "kdbg");
}

static int from_module_list(exq_kernel *k)
{
	const exq_image_info *in = exq_image_get_info(k->img);
	uint64_t head = 0, first, base;
	uint8_t b[8];
	unsigned ps = exq__kptr64(k) ? 8 : 4;
	if (k->opts.have_module_list)
		head = k->opts.module_list;
	else if (in->have & EXQ_HAVE_MODULE_LIST)
		head = in->ps_loaded_module_list;
	else if (k->kdbg_modlist)
		head = k->kdbg_modlist;
	if (!head || kread(k, head, b, ps) != EXQ_OK)
		return k->nomem;
	first = exq__kptr(k, b);
	/* LDR_DATA_TABLE_ENTRY.DllBase: +0x18 (x86), +0x30 (x64) */
	if (first == head ||
	    kread(k, first + (ps == 8 ? 0x30 : 0x18), b, ps) != EXQ_OK)
		return k->nomem;
	base = exq__kptr(k, b);
	return try_base(k, base, "module-list");
}

/* Known KDBG sizes (DESIGN §4.3): a KDBG found by scanning must have one. */
static int kdbg_size_known(uint32_t s)
{
	static const uint32_t sizes[] = {0x290, 0x318, 0x328, 0x330, 0x340,
					 0x360, 0x368, 0x380, 0x390, 0x3a0};
	size_t i;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (s == sizes[i])
			return 1;
	return 0;
}

/* One sequential pass over the physical pages for a KDBG header (the
 * scan pass of scan.c: 1 MiB blocks, a sparse file's holes skipped). */
struct kdbg_scan {
	exq_kernel *k;
	size_t tries;
	int found;
};

/* One "KDBG" tag met (t: its 16 bytes: tag, size, KernBase): 1 when the
 * search is over (the kernel found, or more than 16 tags judged). */
static int kdbg_tag(struct kdbg_scan *ks, const uint8_t *t)
{
	if (memcmp(t, "KDBG", 4) || !kdbg_size_known(exq__le32(t + 4)))
		return 0;
	if (++ks->tries > 16)
		return 1;
	if (try_base(ks->k, kdbg_ptr(ks->k, t + 8), "kdbg-scan")) {
		ks->found = 1; /* the rest need not be read */
		return 1;
	}
	return 0;
}

/* Where a tag can stand: a whole KDBG_READ block from it fits the page. */
static int kdbg_off_ok(uint64_t off)
{
	return off >= KDBG_TAG && off + KDBG_READ - KDBG_TAG <= EXQ__PAGE_SIZE;
}

static int kdbg_page(void *arg, const uint8_t *page, uint64_t pfn)
{
	uint32_t off;
	(void)pfn;
	for (off = KDBG_TAG; kdbg_off_ok(off); off += 8)
		if (kdbg_tag(arg, page + off))
			return 1;
	return 0;
}

static void kdbg_progress(void *arg, uint64_t done, uint64_t total)
{
	exq__progress(arg, "KDBG scan", done, total);
}

/* A KDBG tag the DTB scan's pass met (its PA), judged as kdbg_page
 * judges one it meets. */
static int kdbg_hit(struct kdbg_scan *ks, uint64_t pa)
{
	uint8_t t[16];
	exq_status st;
	if (!kdbg_off_ok(pa & 0xFFF))
		return 0; /* the page scan does not look there either */
	st = exq_read_phys(ks->k->img, pa, t, sizeof(t), NULL);
	if (oom(ks->k, st))
		return 1;
	return st == EXQ_OK && kdbg_tag(ks, t);
}

static int from_kdbg_scan(exq_kernel *k)
{
	exq_image *img = k->img;
	uint64_t limit = exq__scan_limit_pfn(img), start = 0;
	struct kdbg_scan ks = {k, 0, 0};
	exq_status st = EXQ_OK;
	size_t i;
	/* the DTB scan read these pages already: its tags, then the rest */
	if (img->kdbg_upto) {
		for (i = 0; i < img->nkdbg_hits; i++)
			if (img->kdbg_hits[i] >> EXQ__PAGE_SHIFT < limit &&
			    kdbg_hit(&ks, img->kdbg_hits[i]))
				break;
		start = img->kdbg_upto;
	}
	if (ks.found || k->nomem)
		return 1;
	if (ks.tries <= 16 && start < limit)
		st = exq__scan_pass(img, start, limit, kdbg_page, &ks, 1,
				    kdbg_progress, img);
	if (oom(k, st))
		return 1;
	if (!ks.found && ks.tries <= 16 && st == EXQ_OK)
		exq__scan_limited(k->img, "KDBG scan");
	return ks.found;
}

static int mz_at(exq_kernel *k, uint64_t va)
{
	uint8_t b[2];
	return kread(k, va, b, 2) == EXQ_OK && b[0] == 'M' && b[1] == 'Z';
}

/* Kernel space, 2 MiB-aligned candidates first, then every 4 KiB page
 * (x86/PAE); x64 looks at 2 MiB steps of the usual kernel window. */
static int from_pe_scan(exq_kernel *k)
{
	uint64_t lo, hi, va;
	unsigned tries = 0;
	if (exq__kptr64(k)) {
		lo = 0xfffff80000000000ull;
		hi = 0xfffff80800000000ull;
	} else {
		lo = 0x80000000u;
		hi = 0x100000000ull;
	}
	for (va = lo; va < hi && !k->nomem; va += 0x200000)
		if (mz_at(k, va) && (++tries > 64 || try_base(k, va, "pe-scan")))
			return k->pe != NULL || k->nomem;
	if (exq__kptr64(k) || k->nomem)
		return k->nomem;
	for (va = lo; va < hi && !k->nomem; va += EXQ__PAGE_SIZE)
		if ((va & 0x1FFFFF) && mz_at(k, va) &&
		    (++tries > 256 || try_base(k, va, "pe-scan")))
			return k->pe != NULL || k->nomem;
	return k->nomem;
}

static exq_status find_base(exq_kernel *k)
{
	if (k->opts.have_kernel_base) {
		if (try_base(k, k->opts.kernel_base, "override") && !k->nomem)
			return EXQ_OK;
		if (k->nomem)
			goto nomem;
		return exq__err_set(&k->img->err, EXQ_NOTFOUND,
				    "no kernel PE image at --kernel-base 0x%" PRIx64
				    " (see the warnings)",
				    k->opts.kernel_base);
	}
	if (from_kdbg(k) || from_module_list(k) || from_kdbg_scan(k) ||
	    from_pe_scan(k)) {
		if (!k->nomem)
			return EXQ_OK;
	}
	if (k->nomem)
		goto nomem;
	return exq__err_set(&k->img->err, EXQ_NOTFOUND,
			    "ntoskrnl not found: no KDBG, module list, KDBG "
			    "header or kernel PE image in kernel space");
nomem:
	return exq__err_set(&k->img->err, EXQ_NOMEM,
			    "out of memory while looking for ntoskrnl");
}

/* No KDBG VA from the header (raw images): look for the block inside the
 * kernel's writable sections, where it lives, and trust it only when its
 * KernBase names this kernel. */
static void find_kdbg_in_image(exq_kernel *k)
{
	uint8_t page[EXQ__PAGE_SIZE];
	size_t s;
	for (s = 0; s < k->pe->nsections; s++) {
		const exq__pe_section *sec = &k->pe->sections[s];
		uint64_t va, end = k->info.base + sec->rva + sec->vsize;
		if (!(sec->characteristics & EXQ__SCN_MEM_WRITE))
			continue;
		for (va = (k->info.base + sec->rva) & ~0xFFFull; va < end;
		     va += EXQ__PAGE_SIZE) {
			uint32_t off;
			if (kread(k, va, page, sizeof(page)) != EXQ_OK) {
				if (k->nomem)
					return;
				continue;
			}
			for (off = KDBG_TAG; off + KDBG_READ - KDBG_TAG <= sizeof(page);
			     off += 8) {
				if (memcmp(page + off, "KDBG", 4) ||
				    !kdbg_size_known(exq__le32(page + off + 4)) ||
				    kdbg_ptr(k, page + off + 8) != k->info.base)
					continue;
				k->info.has_kdbg = 1;
				k->info.kdbg_va = va + off - KDBG_TAG;
				k->kdbg_modlist = kdbg_ptr(k, page + off - KDBG_TAG + KDBG_MODLIST);
				return;
			}
		}
	}
}

static void read_build(exq_kernel *k)
{
	const exq_image_info *in = exq_image_get_info(k->img);
	uint64_t va;
	int fwd = 0;
	uint8_t b[4];
	exq__err e;
	exq_status st = exq__pe_export(k->pe, "NtBuildNumber", &va, &fwd);
	if (st == EXQ_OK && !fwd)
		st = kread(k, va, b, 4);
	if (oom(k, st))
		return;
	if (st != EXQ_OK || fwd) {
		exq__warn(k->img, "NtBuildNumber is not readable; using the "
				  "dump header's build");
		if (in->have & EXQ_HAVE_BUILD) {
			k->info.has_build = 1;
			k->info.build = in->build;
		}
	} else {
		k->info.nt_build_number = exq__le32(b);
		k->info.build = k->info.nt_build_number & 0xFFFF;
		k->info.has_build = 1;
		if ((in->have & EXQ_HAVE_BUILD) && in->build != k->info.build)
			exq__warn(k->img, "NtBuildNumber says build %u, the dump "
					  "header MinorVersion %u",
				  k->info.build, in->build);
	}
	if (!k->info.has_build)
		return;
	k->info.os = exq__build_os_name(k->info.build);
	exq__err_clear(&e);
	k->info.has_layout =
	    exq__profile_candidates(exq__kptr64(k) ? EXQ_MACHINE_X64 : EXQ_MACHINE_X86,
				    k->info.build, NULL, 0) > 0;
	if (exq__profile_for_build(exq__kptr64(k) ? EXQ_MACHINE_X64 : EXQ_MACHINE_X86,
				   k->info.build, -1, &k->profile, &e) == EXQ_OK)
		k->info.profile = k->profile->name;
	else if (!(k->profile_msg = strdup(e.msg)))
		k->nomem = 1;
}

static void find_module_list(exq_kernel *k)
{
	const exq_image_info *in = exq_image_get_info(k->img);
	uint64_t va;
	int fwd = 0;
	exq_status st;
	k->info.has_module_list = 1;
	if (k->opts.have_module_list) {
		k->info.module_list = k->opts.module_list;
		k->info.module_list_source = "override";
	} else if (in->have & EXQ_HAVE_MODULE_LIST) {
		k->info.module_list = in->ps_loaded_module_list;
		k->info.module_list_source = "header";
	} else if (k->kdbg_modlist) {
		k->info.module_list = k->kdbg_modlist;
		k->info.module_list_source = "kdbg";
	} else if (!oom(k, st = exq__pe_export(k->pe, "PsLoadedModuleList",
					      &va, &fwd)) &&
		   st == EXQ_OK && !fwd) {
		k->info.module_list = va;
		k->info.module_list_source = "export";
	} else {
		k->info.has_module_list = 0;
	}
}

exq_status exq_kernel_open(exq_kernel **out, exq_vspace *vs,
			   const exq_kernel_opts *opts)
{
	exq_kernel *k;
	exq_status st;
	if (!out || !vs)
		return EXQ_INVALID;
	k = calloc(1, sizeof(*k));
	if (!k)
		return EXQ_NOMEM;
	k->vs = vs;
	k->img = exq_vspace_image(vs);
	if (exq_image_get_info(k->img) && exq_image_get_info(k->img)->triage) {
		free(k);
		return exq__err_set(&exq_vspace_image(vs)->err, EXQ_UNSUPPORTED,
				    "%s", EXQ__TRIAGE_MSG);
	}
	if (opts)
		k->opts = *opts;
	st = find_base(k);
	if (st != EXQ_OK) {
		exq_kernel_free(k);
		return st;
	}
	k->info.name = k->pe->dll_name;
	k->info.size = k->pe->size_of_image;
	if (k->pe->cv_status == EXQ_OK) {
		k->info.has_pdb = 1;
		k->info.pdb_name = k->pe->pdb_name;
		k->info.pdb_guid = k->pe->pdb_guid;
		k->info.pdb_age = k->pe->pdb_age;
	}
	if (!k->info.has_kdbg)
		find_kdbg_in_image(k);
	read_build(k);
	find_module_list(k);
	if (k->nomem) {
		exq_kernel_free(k);
		return exq__err_set(&exq_vspace_image(vs)->err, EXQ_NOMEM,
				    "out of memory while reading ntoskrnl");
	}
	*out = k;
	return EXQ_OK;
}

const exq_kernel_info *exq_kernel_get_info(const exq_kernel *k)
{
	return k ? &k->info : NULL;
}

const char *exq__kernel_profile_error(const exq_kernel *k)
{
	return k->profile_msg ? k->profile_msg : "";
}

exq_status exq_kernel_export(exq_kernel *k, const char *name, uint64_t *va)
{
	int fwd = 0;
	uint64_t v;
	exq_status st;
	if (!k || !name || !va)
		return EXQ_INVALID;
	st = exq__pe_export(k->pe, name, &v, &fwd);
	if (st == EXQ_OK && fwd)
		st = exq__err_set(&k->pe->err, EXQ_NOTFOUND,
				  "export %s is a forwarder, not code", name);
	if (st != EXQ_OK)
		return exq__err_set(&k->img->err, st, "%s!%s: %s", k->info.name,
				    name, k->pe->err.msg);
	*va = v;
	return EXQ_OK;
}

void exq_kernel_free(exq_kernel *k)
{
	if (!k)
		return;
	exq__kernel_modules_free(k);
	exq__pe_free(k->pe);
	free(k->profile_msg);
	free(k);
}
