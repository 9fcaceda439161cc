/* SPDX-License-Identifier: MIT */
/* The real Windows 10 x64 triage dump of ../shared/fixtures/real/ (see its
 * README): every value of the README's table. Skips when absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "exq.h"

#define REAL "../shared/fixtures/real/triage_x64.dmp"

static int open_real(void **state)
{
	exq_image *img;
	if (access(REAL, R_OK) != 0) {
		*state = NULL;
		return 0;
	}
	img = exq_image_new();
	if (!img || exq_image_open_file(img, REAL) != EXQ_OK) {
		exq_image_free(img);
		return -1;
	}
	*state = img;
	return 0;
}

static int close_real(void **state)
{
	exq_image_free(*state);
	return 0;
}

static void header_values(void **state)
{
	const exq_image_info *in;
	if (!*state)
		skip();
	in = exq_image_get_info(*state);
	assert_string_equal(in->format, "windmp64");
	assert_string_equal(in->dump_type, "triage");
	assert_int_equal(in->major_version, 0xf);
	assert_int_equal(in->minor_version, 0x4a61);
	assert_int_equal(in->build, 19041);
	assert_int_equal(in->dtb, 0x1ad000);
	assert_int_equal(in->pfn_database, 0xfffff8047c6fc500ull);
	assert_int_equal(in->ps_loaded_module_list, 0xfffff8047c62a390ull);
	assert_int_equal(in->ps_active_process_head, 0xfffff8047c61e200ull);
	assert_int_equal(in->machine, EXQ_MACHINE_X64);
	assert_int_equal(in->cpus, 16);
	assert_int_equal(in->bugcheck_code, 0x1000007e);
	assert_int_equal(in->bugcheck_params[0], 0xffffffffc0000005ull);
	assert_int_equal(in->bugcheck_params[1], 0xfffff8048b58334cull);
	assert_int_equal(in->bugcheck_params[2], 0xffff850429891ee8ull);
	assert_int_equal(in->bugcheck_params[3], 0xffff850429891720ull);
	assert_int_equal(in->kdbg_va, 0xfffff8047c600b20ull);
	assert_int_equal(in->dump_type_code, 4);
	assert_true(in->have & EXQ_HAVE_PRODUCT);
	assert_int_equal(in->product_type, 1);
	assert_int_equal(in->suite_mask, 0x110);
	/* PhysicalMemoryBlock is PAGE-filled: no runs, no pages */
	assert_int_equal(in->nruns, 0);
	assert_int_equal(in->pages_present, 0);
	assert_true(in->have & EXQ_HAVE_CONTEXT);
	assert_int_equal(in->context_pc, 0xfffff8047bdf5a80ull);
	assert_int_equal(in->context_sp, 0xffff850429890ee8ull);
}

static void triage_values(void **state)
{
	const exq_triage_info *t;
	if (!*state)
		skip();
	t = exq_image_get_info(*state)->triage;
	assert_non_null(t);
	assert_int_equal(t->size_of_dump, 0x13a28c);
	assert_int_equal(t->valid_offset, 0x13a288);
	assert_true(t->valid);
	assert_int_equal(t->context_offset, 0x348);
	assert_int_equal(t->exception_offset, 0xf00);
	assert_int_equal(t->mm_offset, 0x2080);
	assert_int_equal(t->unloaded_drivers_offset, 0x20d0);
	assert_int_equal(t->prcb_offset, 0x21b8);
	assert_int_equal(t->process_offset, 0xd0b8);
	assert_int_equal(t->thread_offset, 0xdaf8);
	assert_int_equal(t->callstack_offset, 0xe390);
	assert_int_equal(t->callstack_size, 0x2118);
	assert_int_equal(t->driver_list_offset, 0x10828);
	assert_int_equal(t->driver_count, 151);
	assert_int_equal(t->string_pool_offset, 0x15d18);
	assert_int_equal(t->string_pool_size, 0x3720);
	assert_int_equal(t->top_of_stack, 0xffff850429890ee8ull);
	assert_int_equal(t->debugger_data_offset, 0x104a8);
	assert_int_equal(t->debugger_data_size, 0x380);
	assert_int_equal(t->data_blocks_offset, 0x19438);
	assert_int_equal(t->data_blocks_count, 0x727);
	assert_true(t->has_kdbg);
	assert_int_equal(t->kdbg_size, 0x380);
	assert_int_equal(t->kdbg_kernbase, 0xfffff8047ba00000ull);
	assert_int_equal(t->kdbg_ps_loaded_module_list, 0xfffff8047c62a390ull);
	assert_int_equal(t->ndrivers, 151);
	/* the first driver is the kernel, at KernBase */
	assert_string_equal(t->drivers[0].name,
			    "\\SystemRoot\\system32\\ntoskrnl.exe");
	assert_int_equal(t->drivers[0].base, 0xfffff8047ba00000ull);
	assert_int_equal(t->drivers[0].size, 0x1046000);
	assert_int_equal(exq_image_warning_count(*state), 0);
}

static void no_physical_pages(void **state)
{
	uint8_t b[16];
	size_t done = 99;
	if (!*state)
		skip();
	assert_int_equal(exq_read_phys(*state, 0x1ad000, b, sizeof(b), &done),
			 EXQ_NODATA);
	assert_int_equal(done, 0);
}

/* A library user gets the triage refusal from exq_kernel_open, with the
 * reason (issue 14), not a "kernel not found". */
static void kernel_refused(void **state)
{
	exq_vspace *vs = NULL;
	exq_kernel *k = NULL;
	if (!*state)
		skip();
	assert_int_equal(exq_vspace_new(&vs, *state, EXQ_PAGING_X64, 0x1ad000), EXQ_OK);
	assert_int_equal(exq_kernel_open(&k, vs, NULL), EXQ_UNSUPPORTED);
	assert_null(k);
	assert_non_null(strstr(exq_image_error(*state), "a triage dump holds only selected pages"));
	assert_non_null(strstr(exq_image_error(*state), "worker queues cannot be read"));
	exq_vspace_free(vs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_values),
		cmocka_unit_test(triage_values),
		cmocka_unit_test(no_physical_pages),
		cmocka_unit_test(kernel_refused),
	};
	return cmocka_run_group_tests(tests, open_real, close_real);
}
