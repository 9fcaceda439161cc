/* SPDX-License-Identifier: MIT */
/* Layout profiles: each build maps to its row, with the offsets of
 * DESIGN §7 (the numbers below are copied from that table, not from
 * profile.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "exq_int.h"

struct want {
	uint32_t build;
	int sp;
	const char *name;
	uint16_t queue, qle, state, teb, w32, cid, start, io_type;
};

/* DESIGN §7, "KTHREAD fields that move". */
static const struct want wants[] = {
    {2600, -1, "winxp-x86", 0xE4, 0x118, 0x2D, 0x20, 0x130, 0x1EC, 0x224, 0},
    {2600, 2, "winxp-x86", 0xE4, 0x118, 0x2D, 0x20, 0x130, 0x1EC, 0x224, 0},
    {2600, 3, "winxp-x86", 0xE4, 0x118, 0x2D, 0x20, 0x130, 0x1EC, 0x224, 0},
    {3790, 0, "win2003sp0-x86", 0x68, 0x100, 0x2C, 0x30, 0x14C, 0x1F4, 0x22C,
     0},
    {3790, 1, "win2003sp1-x86", 0x68, 0x108, 0x4C, 0x74, 0x154, 0x1E4, 0x21C,
     0},
    {3790, 2, "win2003sp1-x86", 0x68, 0x108, 0x4C, 0x74, 0x154, 0x1E4, 0x21C,
     0},
    {6000, -1, "vista-x86", 0x78, 0x118, 0x5C, 0x84, 0x170, 0x20C, 0x1F8, 0x1C},
    {6001, -1, "vista-x86", 0x78, 0x118, 0x5C, 0x84, 0x170, 0x20C, 0x1F8, 0x1C},
    {6002, 2, "vista-x86", 0x78, 0x118, 0x5C, 0x84, 0x170, 0x20C, 0x1F8, 0x1C},
    {7600, -1, "win7-x86", 0x7C, 0x120, 0x68, 0x88, 0x18C, 0x22C, 0x218, 0x1C},
    {7601, 1, "win7-x86", 0x7C, 0x120, 0x68, 0x88, 0x18C, 0x22C, 0x218, 0x1C},
};

/* The rows of DESIGN §7's structure table, the same for every build. */
static void check_common(const exq__profile *p)
{
	assert_int_equal(p->dispatcher.type, 0);
	assert_int_equal(p->dispatcher.size, 2);
	assert_int_equal(p->dispatcher.signal_state, 4);
	assert_int_equal(p->dispatcher.wait_list_head, 8);
	assert_int_equal(p->kqueue.size, 0x28);
	assert_int_equal(p->kqueue.type, 4);
	assert_int_equal(p->kqueue.dispatcher_size, 0x0A);
	assert_int_equal(p->kqueue.entry_list_head, 0x10);
	assert_int_equal(p->kqueue.current_count, 0x18);
	assert_int_equal(p->kqueue.maximum_count, 0x1C);
	assert_int_equal(p->kqueue.thread_list_head, 0x20);
	assert_int_equal(p->ex_work_queue.size, 0x3C);
	assert_int_equal(p->ex_work_queue.worker_queue, 0);
	assert_int_equal(p->ex_work_queue.dynamic_thread_count, 0x28);
	assert_int_equal(p->ex_work_queue.work_items_processed, 0x2C);
	assert_int_equal(p->ex_work_queue.work_items_processed_last_pass, 0x30);
	assert_int_equal(p->ex_work_queue.queue_depth_last_pass, 0x34);
	assert_int_equal(p->ex_work_queue.info, 0x38);
	assert_int_equal(p->ex_work_queue.count, 3);
	assert_int_equal(p->work_queue_item.size, 0x10);
	assert_int_equal(p->work_queue_item.list, 0);
	assert_int_equal(p->work_queue_item.worker_routine, 8);
	assert_int_equal(p->work_queue_item.parameter, 0xC);
	assert_int_equal(p->io_workitem.work_item, 0);
	assert_int_equal(p->io_workitem.routine, 0x10);
	assert_int_equal(p->io_workitem.io_object, 0x14);
	assert_int_equal(p->io_workitem.context, 0x18);
	assert_int_equal(p->device_object.type, 0);
	assert_int_equal(p->device_object.type_value, 3);
	assert_int_equal(p->device_object.driver_object, 8);
	assert_int_equal(p->driver_object.type, 0);
	assert_int_equal(p->driver_object.type_value, 4);
	assert_int_equal(p->driver_object.driver_name, 0x1C);
	assert_int_equal(p->kthread.type_value, 6);
	assert_int_equal(p->kthread.state_waiting, 5);
}

static void builds_map(void **state)
{
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		const struct want *w = &wants[i];
		const exq__profile *p = NULL;
		exq__err e;
		exq__err_clear(&e);
		assert_int_equal(
		    exq__profile_for_build(EXQ_MACHINE_X86, w->build, w->sp, &p, &e), EXQ_OK);
		assert_non_null(p);
		assert_string_equal(p->name, w->name);
		assert_int_equal(p->kthread.queue, w->queue);
		assert_int_equal(p->kthread.queue_list_entry, w->qle);
		assert_int_equal(p->kthread.state, w->state);
		assert_int_equal(p->kthread.teb, w->teb);
		assert_int_equal(p->kthread.win32thread, w->w32);
		assert_int_equal(p->ethread.cid, w->cid);
		assert_int_equal(p->ethread.start_address, w->start);
		assert_int_equal(p->io_workitem.type, w->io_type);
		assert_true(w->build >= p->build_min &&
			    w->build <= p->build_max);
		check_common(p);
	}
}

static void ambiguous_3790(void **state)
{
	const exq__profile *c[4], *p = NULL;
	exq__err e;
	(void)state;
	assert_int_equal(exq__profile_candidates(EXQ_MACHINE_X86, 3790, c, 4), 2);
	assert_string_equal(c[0]->name, "win2003sp0-x86");
	assert_string_equal(c[1]->name, "win2003sp1-x86");
	/* max bounds the writes, not the count. */
	c[1] = NULL;
	assert_int_equal(exq__profile_candidates(EXQ_MACHINE_X86, 3790, c, 1), 2);
	assert_null(c[1]);
	assert_int_equal(exq__profile_candidates(EXQ_MACHINE_X86, 3790, NULL, 0), 2);
	assert_int_equal(exq__profile_candidates(EXQ_MACHINE_X86, 7601, c, 4), 1);
	assert_string_equal(c[0]->name, "win7-x86");
	assert_int_equal(exq__profile_candidates(EXQ_MACHINE_X64, 2600, c, 4), 0);
	/* 7601 x64 and 9600 have two layouts each: validation chooses. */
	assert_int_equal(exq__profile_candidates(EXQ_MACHINE_X64, 7601, c, 4), 2);
	assert_int_equal(exq__profile_candidates(EXQ_MACHINE_X86, 9600, c, 4), 2);
	assert_int_equal(exq__profile_candidates(EXQ_MACHINE_X64, 9600, c, 4), 2);
	exq__err_clear(&e);
	assert_int_equal(exq__profile_for_build(EXQ_MACHINE_X86, 3790, -1, &p, &e),
			 EXQ_NOTFOUND);
	assert_null(p);
	assert_non_null(strstr(e.msg, "build 3790"));
	assert_non_null(strstr(e.msg, "win2003sp0-x86"));
	assert_non_null(strstr(e.msg, "win2003sp1-x86"));
}

static void unsupported(void **state)
{
	/* Windows 11 has no x86 kernel; builds between families have no row;
	 * a build past the newest row is not guessed. */
	static const struct { exq_machine m; uint32_t build; const char *os; } c[] = {
		{EXQ_MACHINE_X86, 22000, "Windows 11"},
		{EXQ_MACHINE_X64, 26200, "Windows 11"},
		{EXQ_MACHINE_X64, 19500, "Windows 10"},
		{EXQ_MACHINE_X64, 2600, "Windows XP"},
		{EXQ_MACHINE_ARM64, 19041, "Windows 10"},
	};
	const exq__profile *p = NULL;
	char num[16];
	exq__err e;
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		exq__err_clear(&e);
		assert_int_equal(exq__profile_for_build(c[i].m, c[i].build, -1, &p, &e),
				 EXQ_UNSUPPORTED);
		assert_null(p);
		snprintf(num, sizeof(num), "build %u ", c[i].build);
		assert_non_null(strstr(e.msg, num));
		assert_non_null(strstr(e.msg, c[i].os));
		assert_string_equal(exq__build_os_name(c[i].build), c[i].os);
	}
	/* Unknown builds below 9200, and service packs without a row. */
	assert_int_equal(exq__profile_for_build(EXQ_MACHINE_X86, 2195, -1, &p, &e),
			 EXQ_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "build 2195"));
	assert_int_equal(exq__profile_for_build(EXQ_MACHINE_X86, 7000, -1, &p, &e),
			 EXQ_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "build 7000"));
	assert_int_equal(exq__profile_for_build(EXQ_MACHINE_X86, 0, -1, &p, &e),
			 EXQ_UNSUPPORTED);
	assert_int_equal(exq__profile_for_build(EXQ_MACHINE_X86, 2600, 1, &p, &e),
			 EXQ_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "service pack 1"));
	assert_int_equal(exq__profile_for_build(EXQ_MACHINE_X86, 3790, 3, &p, &e),
			 EXQ_UNSUPPORTED);
	assert_null(p);
	assert_null(exq__build_os_name(7000));
	assert_string_equal(exq__build_os_name(2600), "Windows XP");
	assert_string_equal(exq__build_os_name(3790), "Windows Server 2003");
	assert_string_equal(exq__build_os_name(6002), "Windows Vista");
	assert_string_equal(exq__build_os_name(7601), "Windows 7");
}

/* DESIGN §7b's table, row by row: model, queue object, EX_WORK_QUEUE and
 * the item / thread fields, for x86 and x64. */
static void modern_rows(void **state)
{
	static const struct {
		exq_machine m;
		uint32_t build;
		exq_wq_model model;
		uint8_t qtype, nlists;
		uint16_t ewq_size, enode, qidx, part, elh, maxc, tlh;
		uint16_t kt_queue, kt_qle, routine, param, io_routine;
		const char *name1;
	} r[] = {
		{EXQ_MACHINE_X64, 7601, EXQ_WQ_MODEL_STATIC_ARRAY, 4, 1, 0x58, 0, 0, 0,
		 0x18, 0x2c, 0x30, 0xb0, 0x1c8, 0x10, 0x18, 0x20, "Delayed"},
		{EXQ_MACHINE_X86, 9200, EXQ_WQ_MODEL_ENODE_KQUEUE, 4, 1, 0x38, 0xc0, 0, 0,
		 0x10, 0x1c, 0x20, 0xa4, 0x140, 8, 0xc, 0x10, "Delayed"},
		{EXQ_MACHINE_X64, 9200, EXQ_WQ_MODEL_ENODE_KQUEUE, 4, 1, 0x50, 0xc0, 0, 0,
		 0x18, 0x2c, 0x30, 0xe8, 0x208, 0x10, 0x18, 0x20, "Delayed"},
		{EXQ_MACHINE_X86, 10240, EXQ_WQ_MODEL_ENODE_KPRIQUEUE, 0x15, 32, 0x1b8, 0x100,
		 0x1b4, 0, 0x10, 0x190, 0x194, 0xa4, 0x140, 8, 0xc, 0x10, "ExPoolTrusted"},
		{EXQ_MACHINE_X64, 14393, EXQ_WQ_MODEL_ENODE_KPRIQUEUE, 0x15, 32, 0x2d0, 0x140,
		 0x2cc, 0, 0x18, 0x298, 0x2a0, 0xe8, 0x208, 0x10, 0x18, 0x20, "IoPoolUntrusted"},
		{EXQ_MACHINE_X86, 17763, EXQ_WQ_MODEL_PARTITION, 0x15, 32, 0x1c0, 0, 0x1b8,
		 0x19c, 0x10, 0x190, 0x194, 0xa4, 0x140, 8, 0xc, 0x10, "IoPoolUntrusted"},
		{EXQ_MACHINE_X64, 19045, EXQ_WQ_MODEL_PARTITION, 0x15, 32, 0x2e0, 0, 0x2d4,
		 0x2b0, 0x18, 0x298, 0x2a0, 0xe8, 0x208, 0x10, 0x18, 0x20, "IoPoolUntrusted"},
		{EXQ_MACHINE_X64, 22000, EXQ_WQ_MODEL_PARTITION, 0x15, 32, 0x2e0, 0, 0x2d4,
		 0x2b0, 0x18, 0x298, 0x2a0, 0xe8, 0x208, 0x10, 0x18, 0x20, "IoPoolUntrusted"},
		{EXQ_MACHINE_X64, 26100, EXQ_WQ_MODEL_PARTITION, 0x15, 32, 0x2e0, 0, 0x2d4,
		 0x2b0, 0x18, 0x298, 0x2a0, 0xe8, 0x208, 0x10, 0x18, 0x20, "IoPoolUntrusted"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		const exq__profile *c[4], *p;
		size_t n = exq__profile_candidates(r[i].m, r[i].build, c, 4);
		assert_true(n >= 1);
		p = c[0];
		assert_int_equal(p->machine, r[i].m);
		assert_int_equal(p->ptr, r[i].m == EXQ_MACHINE_X64 ? 8 : 4);
		assert_int_equal(p->model, r[i].model);
		assert_int_equal(p->kqueue.type, r[i].qtype);
		assert_int_equal(p->kqueue.nlists, r[i].nlists);
		assert_int_equal(p->ex_work_queue.size, r[i].ewq_size);
		assert_int_equal(p->enode.queues, r[i].enode);
		assert_int_equal(p->ex_work_queue.queue_index, r[i].qidx);
		assert_int_equal(p->ex_work_queue.partition, r[i].part);
		assert_int_equal(p->kqueue.entry_list_head, r[i].elh);
		assert_int_equal(p->kqueue.maximum_count, r[i].maxc);
		assert_int_equal(p->kqueue.thread_list_head, r[i].tlh);
		assert_int_equal(p->kthread.queue, r[i].kt_queue);
		assert_int_equal(p->kthread.queue_list_entry, r[i].kt_qle);
		assert_int_equal(p->work_queue_item.worker_routine, r[i].routine);
		assert_int_equal(p->work_queue_item.parameter, r[i].param);
		assert_int_equal(p->io_workitem.routine, r[i].io_routine);
		assert_string_equal(exq__wq_queue_name(p, 1), r[i].name1);
		assert_string_equal(exq__wq_queue_name(p, 5), r[i].model == EXQ_WQ_MODEL_STATIC_ARRAY ||
								      r[i].model == EXQ_WQ_MODEL_ENODE_KQUEUE
								  ? "RealTime"
								  : "Pool5");
		if (r[i].model == EXQ_WQ_MODEL_PARTITION) {
			assert_int_equal(p->partition.ex_partition, p->ptr == 8 ? 0x10 : 0x08);
			assert_int_equal(p->partition.work_queues, p->ptr == 8 ? 0x08 : 0x04);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(builds_map),
	    cmocka_unit_test(ambiguous_3790),
	    cmocka_unit_test(unsupported),
	    cmocka_unit_test(modern_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
