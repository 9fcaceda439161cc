/* SPDX-License-Identifier: MIT */
/* Notes of VM cores (ELF PT_NOTE segments, the kdump notes area): the CPU
 * state each vCPU was in, and a Windows dump header a guest registered.
 *
 * Note: u32 namesz, descsz, type; name and desc each padded to 4 bytes.
 *
 * "QEMU" type 0: QEMUCPUState (QEMU target/i386/arch_dump.c), one per vCPU
 * in vCPU order, all fields little-endian:
 *   0x000 u32 version (1)     0x004 u32 size (of the struct: 432 in QEMU
 *                                  before kernel_gs_base, 440 with it)
 *   0x008 u64 rax rbx rcx rdx rsi rdi rsp rbp r8..r15   (rsp at 0x038)
 *   0x088 u64 rip             0x090 u64 rflags
 *   0x098 10 segments cs ds es fs gs ss ldt tr gdt idt, 24 bytes each:
 *         u32 selector, u32 limit, u32 flags, u32 pad, u64 base
 *         (cs.flags at 0x0A0; bit 21 = the L bit, 64-bit code)
 *   0x188 u64 cr[5]           (CR0 0x188, CR3 0x1A0, CR4 0x1A8)
 *   0x1B0 u64 kernel_gs_base  (optional: present when size says so)
 * There is no EFER: long mode is the ELF machine EM_X86_64 (QEMU writes it
 * exactly when the first vCPU has LMA) or CR4.PAE with a 64-bit CS.
 *
 * "CORE" type 1 (NT_PRSTATUS): struct elf_prstatus; by its size: 144 bytes
 * i386 (regs at 0x48: eip 0x78, esp 0x84), 336 bytes x86_64 (regs at 0x70:
 * rip 0xF0, rsp 0x108). Used for the CPU count and the context only.
 *
 * "VMCOREINFO": when it holds a PAGEDUMP / PAGEDU64 header (QEMU's
 * vmcoreinfo device with a Windows guest driver), its fields are read
 * like a dump header's.
 *
 * Policy: a note that is short, whose size field disagrees, of an unknown
 * version, or past EXQ__MAX_VCPUS is a warning naming the note and the
 * numbers; that vCPU gives no DTB. The memory stays readable (a bad note
 * must not make a good image unreadable), and the DTB scan still runs.
 * A note area whose headers run past its end stops there, with a warning.
 */
#include "exq_int.h"

#include <stdio.h>
#include <stdlib.h>

#define QS_MIN 0x1B0 /* QEMUCPUState up to and including cr[4] */
#define QS_RSP 0x38
#define QS_RIP 0x88
#define QS_CS_FLAGS 0xA0
#define QS_CR 0x188
#define CS_L (1u << 21)

#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)

static uint32_t align4(uint32_t v)
{
	return (v + 3) & ~3u;
}

void exq__vmnotes_free(struct exq__vmnotes *n)
{
	free(n->cpu);
	memset(n, 0, sizeof(*n));
}

/* The entry of vCPU i (created on first use); NULL past the limit. */
static struct exq__vmcpu *vcpu(struct exq__vmnotes *n,
			       size_t i)
{
	if (i >= EXQ__MAX_VCPUS)
		return NULL;
	if (i >= n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 8;
		struct exq__vmcpu *t;
		while (cap <= i)
			cap *= 2;
		t = realloc(n->cpu, cap * sizeof(*t));
		if (!t) {
			n->nomem = 1;
			return NULL;
		}
		memset(t + n->cap, 0, (cap - n->cap) * sizeof(*t));
		n->cpu = t;
		n->cap = cap;
	}
	if (i >= n->ncpu)
		n->ncpu = i + 1;
	return &n->cpu[i];
}

static void qemu_note(struct exq__vmnotes *n,
		      const uint8_t *d, uint32_t dsz, const char *where)
{
	size_t i = n->nqemu++;
	struct exq__vmcpu *c = vcpu(n, i);
	uint32_t version, size;
	int k;
	if (!c)
		return;
	c->have_qemu = 1;
	if (dsz < 8) {
		snprintf(c->why, sizeof(c->why),
			 "%s: QEMU note of vCPU %zu is %u bytes, shorter than "
			 "its version and size fields", where, i, dsz);
		return;
	}
	version = exq__le32(d);
	size = exq__le32(d + 4);
	if (version != 1)
		snprintf(c->why, sizeof(c->why),
			 "%s: QEMU note of vCPU %zu has QEMUCPUState version %u "
			 "(exq knows 1)", where, i, version);
	else if (size != dsz)
		snprintf(c->why, sizeof(c->why),
			 "%s: QEMU note of vCPU %zu: size field %u disagrees "
			 "with the note's descsz %u", where, i, size, dsz);
	else if (dsz < QS_MIN)
		snprintf(c->why, sizeof(c->why),
			 "%s: QEMU note of vCPU %zu is %u bytes, shorter than "
			 "QEMUCPUState up to cr[4] (%u)", where, i, dsz, QS_MIN);
	if (c->why[0])
		return;
	c->qemu_ok = 1;
	c->rsp = exq__le64(d + QS_RSP);
	c->rip = exq__le64(d + QS_RIP);
	c->cs_flags = exq__le32(d + QS_CS_FLAGS);
	for (k = 0; k < 5; k++)
		c->cr[k] = exq__le64(d + QS_CR + 8 * k);
}

static void prstatus_note(exq_image *img, struct exq__vmnotes *n,
			  const uint8_t *d, uint32_t dsz, const char *where)
{
	size_t i = n->nprstatus++;
	struct exq__vmcpu *c;
	if (dsz != 144 && dsz != 336) {
		exq__warn(img, "%s: NT_PRSTATUS note %zu is %u bytes, neither "
			       "i386 (144) nor x86_64 (336): ignored",
			  where, i, dsz);
		return;
	}
	c = vcpu(n, i);
	if (!c)
		return;
	c->have_prstatus = 1;
	c->pr_wide = dsz == 336;
	c->pr_pc = c->pr_wide ? exq__le64(d + 0xF0) : exq__le32(d + 0x78);
	c->pr_sp = c->pr_wide ? exq__le64(d + 0x108) : exq__le32(d + 0x84);
}

exq_status exq__vmnotes_parse(exq_image *img, struct exq__vmnotes *n,
			      const uint8_t *buf, size_t len,
			      const char *where)
{
	size_t pos = 0, k = 0;
	while (len - pos >= 12) {
		uint32_t namesz = exq__le32(buf + pos);
		uint32_t descsz = exq__le32(buf + pos + 4);
		uint32_t type = exq__le32(buf + pos + 8);
		uint64_t name_at = pos + 12, desc_at, end;
		const char *name = (const char *)buf + name_at;
		desc_at = name_at + align4(namesz);
		end = desc_at + align4(descsz);
		if (namesz > len || descsz > len || end > len) {
			exq__warn(img, "%s: note %zu at +0x%zx (namesz %u, "
				       "descsz %u) runs past the end of the "
				       "area (0x%zx bytes); later notes ignored",
				  where, k, pos, namesz, descsz, len);
			break;
		}
		if (namesz == 5 && memcmp(name, "QEMU", 5) == 0 && type == 0)
			qemu_note(n, buf + desc_at, descsz, where);
		else if (namesz == 5 && memcmp(name, "CORE", 5) == 0 &&
			 type == 1)
			prstatus_note(img, n, buf + desc_at, descsz, where);
		else if (namesz == 11 && memcmp(name, "VMCOREINFO", 11) == 0 &&
			 exq__windmp_header_facts(img, buf + desc_at,
						  descsz) == EXQ_OK)
			n->have_windows_header = 1;
		pos = (size_t)end;
		k++;
	}
	if (n->nomem)
		return exq__err_set(&img->err, EXQ_NOMEM,
				    "%s: out of memory for the vCPUs' state",
				    where);
	return EXQ_OK;
}

/* Paging mode of a vCPU with CR0.PG set. */
static exq_paging qemu_paging(const struct exq__vmcpu *c, uint16_t elf_machine)
{
	if (elf_machine == 62 || ((c->cr[4] & CR4_PAE) && (c->cs_flags & CS_L)))
		return EXQ_PAGING_X64;
	return c->cr[4] & CR4_PAE ? EXQ_PAGING_PAE : EXQ_PAGING_X86;
}

static void apply_qemu(exq_image *img, const struct exq__vmcpu *c, unsigned sel,
		       uint16_t elf_machine)
{
	exq_image_info *in = &img->info;
	exq_paging pg;
	if (!c->qemu_ok) {
		exq__warn(img, "%s: no DTB from it", c->why);
		return;
	}
	if (!(in->have & EXQ_HAVE_CONTEXT)) {
		in->context_pc = c->rip;
		in->context_sp = c->rsp;
		in->context_source = "qemu-note";
		in->have |= EXQ_HAVE_CONTEXT;
	}
	if (!(c->cr[0] & CR0_PG)) {
		exq__warn(img, "vCPU %u: paging is off (CR0 0x%llx): no DTB "
			       "from its QEMU note",
			  sel, (unsigned long long)c->cr[0]);
		return;
	}
	pg = qemu_paging(c, elf_machine);
	if (in->machine == EXQ_MACHINE_UNKNOWN)
		in->machine = pg == EXQ_PAGING_X64 ? EXQ_MACHINE_X64
						   : EXQ_MACHINE_X86;
	if (in->have & EXQ_HAVE_DTB) /* a Windows header's comes first */
		return;
	in->paging = pg;
	in->dtb = exq__dtb_mask(pg, c->cr[3]);
	in->dtb_source = "qemu-note";
	in->have |= EXQ_HAVE_DTB;
}

exq_status exq__vmnotes_apply(exq_image *img, struct exq__vmnotes *n,
			      uint16_t elf_machine, uint32_t nr_cpus)
{
	exq_image_info *in = &img->info;
	size_t seen = n->nqemu > n->nprstatus ? n->nqemu : n->nprstatus;
	unsigned sel = img->have_cpu ? img->cpu : 0;
	if (seen > EXQ__MAX_VCPUS)
		exq__warn(img, "%zu vCPU notes: more than exq keeps (%u); the "
			       "rest are ignored",
			  seen, EXQ__MAX_VCPUS);
	if (nr_cpus && seen && nr_cpus != seen)
		exq__warn(img, "kdump header nr_cpus %u disagrees with the %zu "
			       "vCPU notes; using the notes",
			  nr_cpus, seen);
	if (!(in->have & EXQ_HAVE_CPUS)) {
		if (n->ncpu) {
			in->cpus = (uint32_t)n->ncpu;
			in->have |= EXQ_HAVE_CPUS;
		} else if (nr_cpus && nr_cpus <= EXQ__MAX_VCPUS) {
			in->cpus = nr_cpus;
			in->have |= EXQ_HAVE_CPUS;
		} else if (nr_cpus) {
			exq__warn(img, "kdump header nr_cpus %u is absurd; "
				       "ignored", nr_cpus);
		}
	}
	if (in->machine == EXQ_MACHINE_UNKNOWN && elf_machine)
		in->machine = elf_machine == 62 ? EXQ_MACHINE_X64
						: EXQ_MACHINE_X86;
	if (img->have_cpu && sel >= n->ncpu)
		return exq__err_set(&img->err, EXQ_INVALID,
				    "--cpu %u: the image holds CPU state for %zu "
				    "vCPU%s%s",
				    sel, n->ncpu, n->ncpu == 1 ? "" : "s",
				    n->ncpu ? "" : " (no QEMU or NT_PRSTATUS notes)");
	if (sel >= n->ncpu)
		return EXQ_OK;
	if (n->cpu[sel].have_qemu) {
		apply_qemu(img, &n->cpu[sel], sel, elf_machine);
	} else if (n->nqemu) {
		exq__warn(img, "vCPU %u has no QEMU note: no DTB from the notes",
			  sel);
	}
	if (n->cpu[sel].have_prstatus) {
		const struct exq__vmcpu *c = &n->cpu[sel];
		if (in->machine == EXQ_MACHINE_UNKNOWN)
			in->machine = c->pr_wide ? EXQ_MACHINE_X64
						 : EXQ_MACHINE_X86;
		if (!(in->have & EXQ_HAVE_CONTEXT)) {
			in->context_pc = c->pr_pc;
			in->context_sp = c->pr_sp;
			in->context_source = "prstatus";
			in->have |= EXQ_HAVE_CONTEXT;
		}
	}
	return EXQ_OK;
}
