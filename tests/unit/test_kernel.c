/* SPDX-License-Identifier: MIT */
/* Kernel discovery against generated worlds: name, base, size, build, PDB,
 * profile, base sources and overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exq.h"
#include "tlib_open.h"

static void check_kernel(struct t_env *e)
{
	const exq_kernel_info *ki = exq_kernel_get_info(e->k);
	uint64_t va;
	assert_string_equal(ki->name, e->w->kernel_name);
	assert_int_equal(ki->base, e->w->kernel_base);
	assert_int_equal(ki->size, e->w->kernel_size);
	assert_true(ki->has_build);
	assert_int_equal(ki->build, e->w->build);
	assert_int_equal(ki->nt_build_number, e->w->nt_build_number);
	assert_true(ki->has_pdb);
	assert_string_equal(ki->pdb_name, e->w->pdb_name);
	assert_string_equal(ki->pdb_guid, e->w->pdb_guid);
	assert_int_equal(ki->pdb_age, e->w->pdb_age);
	assert_true(ki->has_kdbg);
	assert_int_equal(ki->kdbg_va, e->w->kdbg);
	assert_true(ki->has_module_list);
	assert_int_equal(ki->module_list, e->w->module_list);
	assert_int_equal(exq_kernel_export(e->k, "ExQueueWorkItem", &va), EXQ_OK);
	assert_int_equal(va, e->w->exqueueworkitem);
	assert_int_equal(exq_kernel_export(e->k, "NoSuchExport", &va), EXQ_NOTFOUND);
	if (e->w->build != 3790 && e->w->profile)
		assert_string_equal(ki->profile, e->w->profile);
}

static void every_build(void **state)
{
	static const struct { uint32_t build, sp; int pae; } b[] = {
		{7601, 1, 1}, {7601, 1, 0}, {2600, 3, 1}, {2600, 3, 0},
		{3790, 2, 1}, {6001, 1, 1}, {9200, 0, 1}};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		struct tw_spec s;
		struct t_env e;
		tw_spec_init(&s, b[i].build, b[i].pae, 0x700 + i);
		s.sp = b[i].sp;
		s.phys_size = 16u << 20;
		if (b[i].build == 9200)
			s.damage = TW_DAMAGE_WIN8;
		t_env_open(&e, &s);
		check_kernel(&e);
		/* a raw image has no KDBG pointer: found by scanning */
		assert_true(!strcmp(exq_kernel_get_info(e.k)->base_source, "kdbg-scan") ||
			    !strcmp(exq_kernel_get_info(e.k)->base_source, "pe-scan"));
		if (b[i].build == 9200) /* the ENODE model's row (DESIGN §7b) */
			assert_string_equal(exq_kernel_get_info(e.k)->profile, "win8-x86");
		t_env_close(&e);
	}
}

static void overrides(void **state)
{
	struct tw_spec s;
	struct t_env e;
	exq_kernel_opts ko;
	exq_kernel *k = NULL;
	(void)state;
	tw_spec_init(&s, 7601, 1, 0x801);
	s.phys_size = 16u << 20;
	t_env_open(&e, &s);
	memset(&ko, 0, sizeof(ko));
	ko.have_kernel_base = 1;
	ko.kernel_base = e.w->kernel_base;
	t_env_reopen(&e, &ko);
	assert_string_equal(exq_kernel_get_info(e.k)->base_source, "override");
	check_kernel(&e);
	/* an override that is not a kernel PE: NOTFOUND, with the reason */
	ko.kernel_base = e.w->modules[2].base;
	assert_int_equal(exq_kernel_open(&k, e.vs, &ko), EXQ_NOTFOUND);
	assert_null(k);
	assert_non_null(strstr(exq_image_error(e.img), "--kernel-base"));
	ko.kernel_base = 0x1000; /* unmapped */
	assert_int_equal(exq_kernel_open(&k, e.vs, &ko), EXQ_NOTFOUND);
	t_env_close(&e);
}

static void found_without_kdbg(void **state)
{
	struct tw_spec s;
	struct t_env e;
	uint64_t pa;
	(void)state;
	tw_spec_init(&s, 6001, 1, 0x901);
	s.phys_size = 16u << 20;
	t_env_open(&e, &s);
	/* erase the KDBG tag: the kernel is still found by the PE scan */
	assert_int_equal(tw_vtop(e.w, e.w->kdbg + 0x10, &pa), 0);
	memcpy(e.w->mem + pa, "XXXX", 4);
	t_env_reopen(&e, NULL);
	assert_string_equal(exq_kernel_get_info(e.k)->base_source, "pe-scan");
	assert_int_equal(exq_kernel_get_info(e.k)->base, e.w->kernel_base);
	assert_false(exq_kernel_get_info(e.k)->has_kdbg);
	/* the module list comes from the PsLoadedModuleList export then */
	assert_int_equal(exq_kernel_get_info(e.k)->module_list, e.w->module_list);
	t_env_close(&e);
}

/* A KDBG-shaped block that names hal.dll as KernBase, earlier in physical
 * memory than the real one: the KDBG scan tries it, rejects it (not a
 * kernel PE) with a warning, and goes on to the real kernel. */
static void kdbg_scan_decoy(void **state)
{
	struct tw_spec s;
	struct t_env e;
	uint64_t pfn, pa;
	size_t i;
	int warned = 0;
	(void)state;
	tw_spec_init(&s, 7601, 1, 0xb01);
	s.phys_size = 16u << 20;
	t_env_open(&e, &s);
	for (pfn = 1; pfn < e.w->npages && (e.w->used[pfn] || !tw_present(e.w, pfn)); pfn++)
		;
	assert_true(pfn < e.w->npages);
	assert_int_equal(tw_vtop(e.w, e.w->kdbg, &pa), 0);
	assert_true(pfn * 4096 < pa); /* the decoy comes first */
	memcpy(e.w->mem + pfn * 4096 + 0x10, "KDBG", 4);
	e.w->mem[pfn * 4096 + 0x14] = 0x40; /* Size 0x340 */
	e.w->mem[pfn * 4096 + 0x15] = 0x03;
	memcpy(e.w->mem + pfn * 4096 + 0x18, &e.w->modules[1].base, 4);
	t_env_reopen(&e, NULL);
	assert_string_equal(exq_kernel_get_info(e.k)->base_source, "kdbg-scan");
	assert_int_equal(exq_kernel_get_info(e.k)->base, e.w->kernel_base);
	for (i = 0; i < exq_image_warning_count(e.img); i++)
		if (strstr(exq_image_warning(e.img, i), "kdbg-scan") &&
		    strstr(exq_image_warning(e.img, i), "rejected"))
			warned = 1;
	if (!warned)
		for (i = 0; i < exq_image_warning_count(e.img); i++)
			print_message("warning: %s\n", exq_image_warning(e.img, i));
	assert_true(warned);
	t_env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_build),
		cmocka_unit_test(overrides),
		cmocka_unit_test(found_without_kdbg),
		cmocka_unit_test(kdbg_scan_decoy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
