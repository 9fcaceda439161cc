/* SPDX-License-Identifier: MIT */
/* failalloc.so — an LD_PRELOAD shim for the out-of-memory tests
 * (tests/golden/nomem.sh, issue 16): memory runs out at a chosen
 * allocation and stays out, as under `ulimit -v`, but at a point the test
 * picks instead of one that depends on the machine.
 *
 *   EXQ_FAILALLOC_AT=N     allocation N (1-based) and every later one fail
 *                          (NULL, errno ENOMEM); 0 or unset: none fails
 *   EXQ_FAILALLOC_COUNT=F  at exit, write the number of allocations made
 *                          to the file F (the test's sweep bound)
 *   EXQ_FAILALLOC_OVER=B  every allocation of more than B bytes fails
 *                          (what `ulimit -v` does to mmap-sized blocks)
 *   EXQ_FAILALLOC_BT=1     print the stack of the first failing call on
 *                          stderr (to find the caller that lost it)
 *
 * It replaces malloc, calloc, realloc, reallocarray, strdup, strndup,
 * posix_memalign and aligned_alloc of the process and of every shared
 * library that calls them through the dynamic linker (json-c, zlib),
 * forwarding to glibc's __libc_* entry points. Not for sanitizer builds
 * (their runtime owns malloc). */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static unsigned long calls, fail_at, fail_over;
static int inited, bt;

static void init(void)
{
	const char *s;
	if (inited)
		return;
	inited = 1;
	s = getenv("EXQ_FAILALLOC_AT");
	fail_at = s ? strtoul(s, NULL, 10) : 0;
	bt = getenv("EXQ_FAILALLOC_BT") != NULL;
	s = getenv("EXQ_FAILALLOC_OVER");
	fail_over = s ? strtoul(s, NULL, 10) : 0;
}

/* 1 when this allocation (of n bytes) must fail */
static int fails(size_t n)
{
	init();
	calls++;
	if ((fail_at && calls >= fail_at) || (fail_over && n > fail_over)) {
		if (bt && (calls == fail_at || fail_over)) {
			void *f[24];
			/* the unwinder is loaded already (see below) */
			backtrace_symbols_fd(f, backtrace(f, 24), 2);
		}
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *malloc(size_t n)
{
	return fails(n) ? NULL : __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	return fails(b && a > SIZE_MAX / b ? SIZE_MAX : a * b) ? NULL
							 : __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (p && n == 0)
		return __libc_realloc(p, n); /* a free, not an allocation */
	return fails(n) ? NULL : __libc_realloc(p, n);
}

void *reallocarray(void *p, size_t a, size_t b)
{
	if (b && a > SIZE_MAX / b) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, a * b);
}

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	return d ? memcpy(d, s, n) : NULL;
}

char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;
	if (fails(n))
		return ENOMEM;
	p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
	return fails(n) ? NULL : __libc_memalign(align, n);
}

/* backtrace() loads libgcc_s on its first call, which allocates: do it
 * while allocations still succeed */
__attribute__((constructor)) static void preload(void)
{
	void *f[2];
	unsigned long before;
	init();
	before = calls;
	if (bt)
		backtrace(f, 2);
	calls = before; /* not the program's */
}

__attribute__((destructor)) static void report(void)
{
	const char *f = getenv("EXQ_FAILALLOC_COUNT");
	char buf[32];
	int fd, len;
	if (!f)
		return;
	fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	len = snprintf(buf, sizeof(buf), "%lu\n", calls);
	if (write(fd, buf, (size_t)len) != len)
		(void)0;
	close(fd);
}
