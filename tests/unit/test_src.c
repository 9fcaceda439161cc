/* SPDX-License-Identifier: MIT */
/* Byte sources (file, memory), the bounds-checked read, and the error
 * chain that gains context as it climbs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "exq_int.h"

static void mem_source(void **state)
{
	static const uint8_t data[] = "0123456789abcdef";
	exq__source *s;
	exq__err e;
	uint8_t b[8];
	(void)state;
	assert_int_equal(exq__src_mem_open(&s, data, 16, &e), EXQ_OK);
	assert_int_equal(s->size, 16);
	assert_int_equal(exq__src_read(s, 10, b, 6, &e), EXQ_OK);
	assert_memory_equal(b, "abcdef", 6);
	assert_int_equal(exq__src_read(s, 11, b, 6, &e), EXQ_CORRUPT);
	assert_non_null(strstr(e.msg, "past the end"));
	assert_int_equal(exq__src_read(s, UINT64_MAX, b, 2, &e), EXQ_CORRUPT);
	assert_int_equal(exq__src_read(s, 16, b, 0, &e), EXQ_OK);
	assert_false(exq__src_is_gzip(s));
	exq__src_close(s);
	exq__src_close(NULL);
}

static void file_source(void **state)
{
	char path[] = "/tmp/exq-test-src-XXXXXX";
	int fd = mkstemp(path);
	uint8_t big[70000], b[100];
	exq__source *s;
	exq__err e;
	size_t i;
	(void)state;
	assert_true(fd >= 0);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	close(fd);
	assert_int_equal(exq__src_file_open(&s, path, &e), EXQ_OK);
	assert_int_equal(s->size, sizeof(big));
	assert_int_equal(exq__src_read(s, 65500, b, 100, &e), EXQ_OK);
	assert_memory_equal(b, big + 65500, 100);
	assert_int_equal(exq__src_read(s, 69950, b, 100, &e), EXQ_CORRUPT);
	exq__src_close(s);
	unlink(path);
	assert_int_equal(exq__src_file_open(&s, path, &e), EXQ_IO);
	assert_non_null(strstr(e.msg, "No such file"));
	assert_int_equal(exq__src_file_open(&s, "/tmp", &e), EXQ_IO);
	assert_non_null(strstr(e.msg, "directory"));
}

static void error_chain(void **state)
{
	exq__err e;
	(void)state;
	exq__err_clear(&e);
	assert_int_equal(exq__err_set(&e, EXQ_NODATA, "page 0x%x", 0x42), EXQ_NODATA);
	assert_int_equal(exq__err_ctx(&e, EXQ_NODATA, "item %d", 3), EXQ_NODATA);
	assert_int_equal(exq__err_ctx(&e, EXQ_NODATA, "walking %s queue", "Delayed"), EXQ_NODATA);
	assert_string_equal(e.msg, "walking Delayed queue: item 3: page 0x42");
	assert_string_equal(exq_strerror(EXQ_NOTPRESENT), "NOTPRESENT");
	assert_string_equal(exq_strerror(EXQ_DEP), "DEP");
	assert_string_equal(exq_strerror((exq_status)999), "UNKNOWN");
	assert_string_equal(exq_version(), EXQ_VERSION_STRING);
}

static void utf16(void **state)
{
	/* "A", U+00E9, U+20AC, U+1F600 (surrogate pair), lone surrogate */
	static const uint8_t in[] = {0x41, 0, 0xE9, 0, 0xAC, 0x20, 0x3D, 0xD8,
				     0x00, 0xDE, 0x00, 0xD8, 0x42, 0};
	char out[32];
	(void)state;
	exq__utf16le_to_utf8(in, 7, out, sizeof(out));
	assert_string_equal(out, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBD" "B");
	/* truncation keeps a NUL and whole characters */
	exq__utf16le_to_utf8(in, 7, out, 4);
	assert_string_equal(out, "A\xC3\xA9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mem_source),
		cmocka_unit_test(file_source),
		cmocka_unit_test(error_chain),
		cmocka_unit_test(utf16),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
