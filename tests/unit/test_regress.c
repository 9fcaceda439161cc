/* SPDX-License-Identifier: MIT */
/* Replays the fuzz corpora through the fuzzers' own entry code (fuzz.h):
 * the committed seeds (tests/fuzz/corpus/TARGET/) and every input that
 * once crashed a fuzzer (tests/fuzz/regress/TARGET/, named after the bug).
 * A crash or sanitizer report fails the run; so does an input that takes
 * more than 10 s (a hang detector, lenient enough for sanitizer builds —
 * not a performance test). Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <dirent.h>

#include "../fuzz/fuzz.h"

#define HANG_SECONDS 10.0

typedef int (*entry_fn)(const uint8_t *, size_t);

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n + 1)) &&
	    fread(b, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Feeds every file of dir to fn; returns how many. */
static size_t replay(const char *dir, entry_fn fn)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[1024];
		uint8_t *b;
		size_t len = 0;
		double t0;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		b = slurp(path, &len);
		if (!b)
			fail_msg("cannot read %s", path);
		t0 = now();
		fn(b, len);
		if (now() - t0 > HANG_SECONDS)
			fail_msg("%s took %.1f s (> %.0f s: a hang?)", path,
				 now() - t0, HANG_SECONDS);
		free(b);
		n++;
	}
	closedir(d);
	return n;
}

static void run_target(const char *name, entry_fn fn)
{
	char dir[256];
	size_t n;
	snprintf(dir, sizeof(dir), "tests/fuzz/corpus/%s", name);
	n = replay(dir, fn);
	if (n == 0)
		fail_msg("no seeds in %s (run from the repository root)", dir);
	snprintf(dir, sizeof(dir), "tests/fuzz/regress/%s", name);
	replay(dir, fn);
}

static void open_(void **state)
{
	(void)state;
	run_target("open", exq_fuzz_open);
}

static void vmcore(void **state)
{
	(void)state;
	run_target("vmcore", exq_fuzz_vmcore);
}

static void pe(void **state)
{
	(void)state;
	run_target("pe", exq_fuzz_pe);
}

static void dtb(void **state)
{
	(void)state;
	run_target("dtb", exq_fuzz_dtb);
}

static void queues(void **state)
{
	(void)state;
	run_target("queues", exq_fuzz_queues);
}

static void pattern(void **state)
{
	(void)state;
	run_target("pattern", exq_fuzz_pattern);
}

static void models(void **state)
{
	(void)state;
	run_target("models", exq_fuzz_models);
}

/* Short inputs of every length up to a few bytes past each target's
 * control block, zeros and 0xFF: the harnesses' own edges. */
static void tiny_inputs(void **state)
{
	static const entry_fn fns[] = {exq_fuzz_open,   exq_fuzz_vmcore,
				       exq_fuzz_pe,     exq_fuzz_dtb,
				       exq_fuzz_queues, exq_fuzz_pattern,
				       exq_fuzz_models};
	uint8_t b[96];
	size_t f, n, v;
	(void)state;
	for (v = 0; v < 2; v++) {
		memset(b, v ? 0xFF : 0, sizeof(b));
		for (f = 0; f < sizeof(fns) / sizeof(fns[0]); f++)
			for (n = 0; n <= sizeof(b); n++)
				fns[f](b, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(open_),   cmocka_unit_test(vmcore),
	    cmocka_unit_test(pe),
	    cmocka_unit_test(dtb),     cmocka_unit_test(queues),
	    cmocka_unit_test(pattern), cmocka_unit_test(models),
	    cmocka_unit_test(tiny_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
