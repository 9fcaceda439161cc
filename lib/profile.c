/* SPDX-License-Identifier: MIT */
/*
 * profile.c — x86 layout profiles of the structures the work-queue walk
 * reads, one table row per build family (DESIGN §7). Data, not branches:
 * a new build is one more row.
 *
 * Source of the offsets: DESIGN §7 (public symbol layouts of the x86
 * kernels; PAE and non-PAE identical).
 */
#include <stddef.h>

#include "exq_int.h"

/* The structures that do not move between XP SP2 and 7. */
#define COMMON_LAYOUT                                                          \
	.dispatcher = {.type = 0,                                              \
		       .size = 2,                                              \
		       .signal_state = 4,                                      \
		       .wait_list_head = 8},                                   \
	.kqueue = {.size = 0x28,                                               \
		   .entry_list_head = 0x10,                                    \
		   .current_count = 0x18,                                      \
		   .maximum_count = 0x1c,                                      \
		   .thread_list_head = 0x20,                                   \
		   .type = 4,                                                  \
		   .dispatcher_size = 0x0a},                                   \
	.ex_work_queue = {.size = 0x3c,                                        \
			  .worker_queue = 0,                                   \
			  .dynamic_thread_count = 0x28,                        \
			  .work_items_processed = 0x2c,                        \
			  .work_items_processed_last_pass = 0x30,              \
			  .queue_depth_last_pass = 0x34,                       \
			  .info = 0x38,                                        \
			  .count = 3},                                         \
	.work_queue_item = {.size = 0x10,                                      \
			    .list = 0,                                         \
			    .worker_routine = 8,                               \
			    .parameter = 0x0c},                                \
	.device_object = {.type = 0, .driver_object = 8, .type_value = 3},     \
	.driver_object = {.type = 0, .driver_name = 0x1c, .type_value = 4}

/* IO_WORKITEM: Type at +0x1C from Vista on; absent (0) before. */
#define IO_WORKITEM(t_)                                                        \
	.io_workitem = {.work_item = 0,                                        \
			.routine = 0x10,                                       \
			.io_object = 0x14,                                     \
			.context = 0x18,                                       \
			.type = (t_)}

#define KTHREAD(q_, qle_, st_, teb_, w32_)                                     \
	.kthread = {.queue = (q_),                                             \
		    .queue_list_entry = (qle_),                                \
		    .state = (st_),                                            \
		    .teb = (teb_),                                             \
		    .win32thread = (w32_),                                     \
		    .type_value = 6,                                           \
		    .state_waiting = 5}

#define ETHREAD(cid_, start_)                                                  \
	.ethread = {.cid = (cid_), .start_address = (start_)}

static const exq__profile profiles[] = {
    {.name = "winxp-x86",
     .os = "Windows XP",
     .build_min = 2600,
     .build_max = 2600,
     .sp_min = 2,
     .sp_max = 3,
     COMMON_LAYOUT,
     IO_WORKITEM(0),
     KTHREAD(0xe4, 0x118, 0x2d, 0x20, 0x130),
     ETHREAD(0x1ec, 0x224)},
    {.name = "win2003sp0-x86",
     .os = "Windows Server 2003",
     .build_min = 3790,
     .build_max = 3790,
     .sp_min = 0,
     .sp_max = 0,
     COMMON_LAYOUT,
     IO_WORKITEM(0),
     KTHREAD(0x68, 0x100, 0x2c, 0x30, 0x14c),
     ETHREAD(0x1f4, 0x22c)},
    {.name = "win2003sp1-x86",
     .os = "Windows Server 2003",
     .build_min = 3790,
     .build_max = 3790,
     .sp_min = 1,
     .sp_max = 2,
     COMMON_LAYOUT,
     IO_WORKITEM(0),
     KTHREAD(0x68, 0x108, 0x4c, 0x74, 0x154),
     ETHREAD(0x1e4, 0x21c)},
    {.name = "vista-x86",
     .os = "Windows Vista",
     .build_min = 6000,
     .build_max = 6002,
     .sp_min = 0,
     .sp_max = 2,
     COMMON_LAYOUT,
     IO_WORKITEM(0x1c),
     KTHREAD(0x78, 0x118, 0x5c, 0x84, 0x170),
     ETHREAD(0x20c, 0x1f8)},
    {.name = "win7-x86",
     .os = "Windows 7",
     .build_min = 7600,
     .build_max = 7601,
     .sp_min = 0,
     .sp_max = 1,
     COMMON_LAYOUT,
     IO_WORKITEM(0x1c),
     KTHREAD(0x7c, 0x120, 0x68, 0x88, 0x18c),
     ETHREAD(0x22c, 0x218)},
};

#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

/* Builds recognised by name, with or without a profile. Windows 8 and
 * later replaced the static ExWorkerQueue array (DESIGN §7.5). */
static const struct {
	uint32_t min, max;
	const char *os;
	int has_profile;
} families[] = {
    {2600, 2600, "Windows XP", 1},    {3790, 3790, "Windows Server 2003", 1},
    {6000, 6002, "Windows Vista", 1}, {7600, 7601, "Windows 7", 1},
    {9200, 9200, "Windows 8", 0},     {9600, 9600, "Windows 8.1", 0},
    {10240, 21999, "Windows 10", 0},  {22000, 0xffff, "Windows 11", 0},
};

const char *exq__build_os_name(uint32_t build)
{
	size_t i;
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (build >= families[i].min && build <= families[i].max)
			return families[i].os;
	return NULL;
}

size_t exq__profile_candidates(uint32_t build, const exq__profile **out,
			       size_t max)
{
	size_t i, n = 0;
	for (i = 0; i < NPROFILES; i++) {
		if (build < profiles[i].build_min ||
		    build > profiles[i].build_max)
			continue;
		if (out && n < max)
			out[n] = &profiles[i];
		n++;
	}
	return n;
}

static exq_status no_profile(uint32_t build, exq__err *err)
{
	const char *os = exq__build_os_name(build);
	if (build >= 9200)
		return exq__err_set(err, EXQ_UNSUPPORTED,
				    "build %u (%s) has no work-queue layout "
				    "profile yet (Windows 8+ replaced "
				    "ExWorkerQueue)",
				    build, os ? os : "Windows 8 or later");
	return exq__err_set(err, EXQ_UNSUPPORTED,
			    "build %u%s%s%s has no layout profile (known: "
			    "2600, 3790, 6000-6002, 7600-7601)",
			    build, os ? " (" : "", os ? os : "", os ? ")" : "");
}

exq_status exq__profile_for_build(uint32_t build, int sp_hint,
				  const exq__profile **out, exq__err *err)
{
	const exq__profile *c[NPROFILES];
	size_t n = exq__profile_candidates(build, c, NPROFILES), i;
	if (n == 0)
		return no_profile(build, err);
	if (sp_hint >= 0) {
		for (i = 0; i < n; i++) {
			if (sp_hint >= c[i]->sp_min &&
			    sp_hint <= c[i]->sp_max) {
				*out = c[i];
				return EXQ_OK;
			}
		}
		return exq__err_set(err, EXQ_UNSUPPORTED,
				    "build %u (%s) service pack %d has no "
				    "layout profile",
				    build, c[0]->os, sp_hint);
	}
	if (n > 1)
		return exq__err_set(err, EXQ_NOTFOUND,
				    "build %u matches %zu profiles (%s, %s%s); "
				    "the service pack or validation must "
				    "choose",
				    build, n, c[0]->name, c[1]->name,
				    n > 2 ? ", ..." : "");
	*out = c[0];
	return EXQ_OK;
}
