/* SPDX-License-Identifier: MIT */
/* PsLoadedModuleList → LDR_DATA_TABLE_ENTRY (DESIGN §6), bounded and
 * cycle-safe; symbolization as module+offset, or module!export+offset
 * when an export contains the address exactly.
 *
 *   LDR_DATA_TABLE_ENTRY   x86    x64
 *   InLoadOrderLinks       0x00   0x00
 *   DllBase                0x18   0x30
 *   SizeOfImage            0x20   0x40
 *   FullDllName            0x24   0x48   UNICODE_STRING {u16 Length,
 *   BaseDllName            0x2C   0x58     u16 MaximumLength, ptr Buffer
 *                                          at +4 (x86) / +8 (x64)}
 */
#include "exq_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_MODULES 4096
#define MAX_NAME_BYTES 1024 /* UNICODE_STRING.Length we accept */

struct exq__modpe {
	exq__pe *pe;
	int tried;
};

struct ldr_layout {
	uint32_t dllbase, size, fullname, basename, ustr_buf, read;
};

static const struct ldr_layout ldr32 = {0x18, 0x20, 0x24, 0x2C, 4, 0x34};
static const struct ldr_layout ldr64 = {0x30, 0x40, 0x48, 0x58, 8, 0x68};

void exq__kernel_modules_free(exq_kernel *k)
{
	size_t i;
	for (i = 0; i < k->nmods; i++) {
		free((char *)k->mods[i].name);
		free((char *)k->mods[i].path);
		if (k->modpe)
			exq__pe_free(k->modpe[i].pe);
	}
	free(k->mods);
	free(k->modpe);
	k->mods = NULL;
	k->modpe = NULL;
	k->nmods = 0;
}

/* Decode a UNICODE_STRING at p (in an entry already read). A damaged one
 * yields "" and a warning; it does not stop the walk. */
static char *read_ustr(exq_kernel *k, const uint8_t *p,
		       const struct ldr_layout *L, uint64_t entry)
{
	uint16_t len = exq__le16(p), max = exq__le16(p + 2);
	uint64_t buf = exq__kptr(k, p + L->ustr_buf);
	uint8_t w[MAX_NAME_BYTES];
	char *out = malloc(MAX_NAME_BYTES * 3 / 2 + 1);
	if (!out)
		return NULL;
	out[0] = '\0';
	if (len == 0)
		return out;
	if ((len & 1) || len > max || len > MAX_NAME_BYTES) {
		exq__warn(k->img, "module entry 0x%" PRIx64 ": UNICODE_STRING "
				  "Length 0x%x (MaximumLength 0x%x) is not a "
				  "sane name length",
			  entry, len, max);
		return out;
	}
	if (exq_read_virt(k->vs, buf, w, len, NULL) != EXQ_OK) {
		exq__warn(k->img, "module entry 0x%" PRIx64 ": name at 0x%" PRIx64
				  " unreadable: %s",
			  entry, buf, exq_image_error(k->img));
		return out;
	}
	exq__utf16le_to_utf8(w, len / 2, out, MAX_NAME_BYTES * 3 / 2 + 1);
	return out;
}

static exq_status add_module(exq_kernel *k, uint64_t node,
			     const struct ldr_layout *L, const uint8_t *e)
{
	exq_module *m = &k->mods[k->nmods];
	m->entry = node;
	m->base = exq__kptr(k, e + L->dllbase);
	m->size = exq__le32(e + L->size);
	m->name = read_ustr(k, e + L->basename, L, node);
	m->path = read_ustr(k, e + L->fullname, L, node);
	if (!m->name || !m->path) {
		free((char *)m->name);
		free((char *)m->path);
		return exq__err_set(&k->img->err, EXQ_NOMEM, "out of memory");
	}
	k->nmods++;
	return EXQ_OK;
}

static exq_status walk(exq_kernel *k)
{
	const struct ldr_layout *L = exq__kptr64(k) ? &ldr64 : &ldr32;
	unsigned ps = exq__kptr64(k) ? 8 : 4;
	uint64_t head = k->info.module_list, node, prev;
	uint64_t *set = calloc(2 * MAX_MODULES + 1, sizeof(uint64_t));
	uint8_t e[0x68];
	exq_status st = EXQ_OK;

	k->mods = calloc(MAX_MODULES, sizeof(*k->mods));
	if (!set || !k->mods) {
		free(set);
		return exq__err_set(&k->img->err, EXQ_NOMEM, "out of memory");
	}
	st = exq_read_virt(k->vs, head, e, ps, NULL);
	if (st != EXQ_OK) {
		free(set);
		return exq__err_ctx(&k->img->err, st,
				    "PsLoadedModuleList head at 0x%" PRIx64, head);
	}
	prev = head;
	node = exq__kptr(k, e);
	while (node != head) {
		if (k->nmods == MAX_MODULES) {
			st = exq__err_set(&k->img->err, EXQ_LIMIT,
					  "module list longer than %d entries",
					  MAX_MODULES);
			break;
		}
		if (exq__visited(set, 2 * MAX_MODULES, node)) {
			st = exq__err_set(&k->img->err, EXQ_CORRUPT,
					  "module list cycle: entry 0x%" PRIx64
					  " links back to 0x%" PRIx64,
					  prev, node);
			break;
		}
		st = exq_read_virt(k->vs, node, e, L->read, NULL);
		if (st == EXQ_INVALID) /* outside the address space: a lie */
			st = EXQ_CORRUPT;
		if (st != EXQ_OK) {
			exq__err_ctx(&k->img->err, st,
				     "module list entry %zu at 0x%" PRIx64
				     " (linked from 0x%" PRIx64 ")",
				     k->nmods, node, prev);
			break;
		}
		if (exq__kptr(k, e + ps) != prev)
			exq__warn(k->img, "module entry 0x%" PRIx64 ": Blink 0x%" PRIx64
					  " does not point back to 0x%" PRIx64,
				  node, exq__kptr(k, e + ps), prev);
		st = add_module(k, node, L, e);
		if (st != EXQ_OK)
			break;
		prev = node;
		node = exq__kptr(k, e);
	}
	free(set);
	return st;
}

exq_status exq_kernel_modules(exq_kernel *k, const exq_module **mods,
			      size_t *n)
{
	if (!k || !mods || !n)
		return EXQ_INVALID;
	if (!k->walked) {
		k->walked = 1;
		if (!k->info.has_module_list)
			k->walk_status = exq__err_set(
				&k->img->err, EXQ_NOTFOUND,
				"no PsLoadedModuleList (dump header, KDBG or "
				"export)");
		else
			k->walk_status = walk(k);
		memcpy(k->walk_msg, k->img->err.msg, sizeof(k->walk_msg));
		/* Every symbol past the break is lost: say so once, where the
		 * commands that only symbolize (queues) show it. */
		if (k->walk_status != EXQ_OK)
			exq__warn(k->img, "module list: %s (%s); %zu modules read, "
				  "addresses in others are shown bare",
				  k->walk_msg, exq_strerror(k->walk_status), k->nmods);
		/* k->modpe: on the first export lookup in a module */
	} else if (k->walk_status != EXQ_OK) {
		memcpy(k->img->err.msg, k->walk_msg, sizeof(k->walk_msg));
	}
	*mods = k->mods;
	*n = k->nmods;
	return k->walk_status;
}

/* The module holding addr: index, or -1 (the kernel alone, -2, when the
 * list is unavailable but ntoskrnl holds it). */
static long find_module(exq_kernel *k, uint64_t addr)
{
	const exq_module *m;
	size_t n, i;
	exq_kernel_modules(k, &m, &n);
	for (i = 0; i < n; i++)
		if (addr >= m[i].base && addr - m[i].base < m[i].size)
			return (long)i;
	if (addr >= k->info.base && addr - k->info.base < k->info.size)
		return -2;
	return -1;
}

exq_status exq_symbolize(exq_kernel *k, uint64_t addr, char *buf, size_t len)
{
	long i;
	int n;
	if (!k || !buf || !len)
		return EXQ_INVALID;
	i = find_module(k, addr);
	if (i == -1) {
		n = snprintf(buf, len, "0x%" PRIx64, addr);
		if (n < 0 || (size_t)n >= len)
			return EXQ_LIMIT;
		/* a list cut short by memory may hold it */
		return k->walk_status == EXQ_NOMEM ? EXQ_NOMEM : EXQ_NOTFOUND;
	}
	if (i == -2)
		n = snprintf(buf, len, "%s+0x%" PRIx64, k->info.name, addr - k->info.base);
	else
		n = snprintf(buf, len, "%s+0x%" PRIx64,
			     k->mods[i].name[0] ? k->mods[i].name : "?",
			     addr - k->mods[i].base);
	/* a name cut to fit the buffer is not the name */
	return n < 0 || (size_t)n >= len ? EXQ_LIMIT : EXQ_OK;
}

exq_status exq_symbolize_export(exq_kernel *k, uint64_t addr, char *buf,
				size_t len)
{
	long i;
	exq__pe *pe;
	const char *name, *mod;
	uint64_t off;
	if (!k || !buf || !len)
		return EXQ_INVALID;
	i = find_module(k, addr);
	if (i == -1)
		return k->walk_status == EXQ_NOMEM ? EXQ_NOMEM : EXQ_NOTFOUND;
	if (i == -2 || k->mods[i].base == k->info.base) {
		pe = k->pe;
		mod = k->info.name;
	} else {
		struct exq__modpe *mp;
		exq__err e;
		if (!k->modpe && !(k->modpe = calloc(k->nmods, sizeof(*k->modpe))))
			return EXQ_NOMEM;
		mp = &k->modpe[i];
		if (!mp->tried) {
			/* out of memory is not "no exports": tried again later */
			if (exq__pe_open(&mp->pe, exq__kvread, k->vs,
					 k->mods[i].base, &e) == EXQ_NOMEM)
				return EXQ_NOMEM;
			mp->tried = 1;
		}
		pe = mp->pe;
		mod = k->mods[i].name;
	}
	/* Far from its export, an address is more likely in a function that
	 * is not exported: module+offset says less but nothing false. */
	if (!pe || exq__pe_export_containing(pe, addr, &name, &off) != EXQ_OK ||
	    off > EXQ__EXPORT_NEAR)
		return EXQ_NOTFOUND;
	i = snprintf(buf, len, "%s!%s+0x%" PRIx64, mod, name, off);
	return i < 0 || (size_t)i >= len ? EXQ_LIMIT : EXQ_OK;
}
