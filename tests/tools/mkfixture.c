/* SPDX-License-Identifier: MIT */
/*
 * mkfixture — writes physical-layer test fixtures from a small text spec.
 *
 *   mkfixture [--content RAWFILE] SPEC OUTDIR
 *   mkfixture [--content RAWFILE] --corrupt KIND:CASE[+gz] SPEC OUTFILE
 *
 * From one spec (fixtures/specs/NAME.spec, format in fixtures/README.md) it
 * writes, for every kind the spec asks for (raw, dmp32-full, dmp32-kernel,
 * dmp32-bitmap, dmp64-full, dmp64-bitmap, dmp64-kernel (PAGEDU64
 * DumpType 2: SUMMARY_DUMP64), the ELF cores elf32 and
 * elf64 — ELF64 with EM_386 — with a QEMU CPU note per CPU, and the
 * kdump-compressed file of QEMU's `dump-guest-memory -z`, as a regular
 * file (kdump) and as the flattened stream QEMU 7.2 writes (kdump-flat)):
 *   NAME.KIND                 the image
 *   NAME.KIND.gz              the same, gzip-compressed
 *   NAME.KIND.expect.json     expected subset of `exq info --json`
 *   NAME.KIND.gz.expect.json  the same with "gzip": true
 *   NAME.KIND.checks          read-back checks for tests/golden/physical.sh
 *   NAME.pages                PFN runs each kind holds
 * The --corrupt form writes one malformed variant of one kind (see
 * corrupt() below and tests/golden/malformed.sh).
 *
 * Page content comes from the content rule (fill_page), or, with a spec
 * line `content_from FILE` or --content RAWFILE, from a raw memory file
 * (file offset = PA; pages past its end are zeros): that is how the
 * worlds of tests/tools/mkwin.c are wrapped in every dump kind.
 *
 * This is the independent truth the library is checked against: it uses
 * libc and zlib only, never libexq. Layouts are from DESIGN.md §4.1/§4.2;
 * every on-disk field is an explicit little-endian store.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PAGE 4096u
#define MAX_RUNS 64
#define MAX_RANGES 4096 /* mkwin worlds list every kernel page */
/* Keep fixtures small: tests must stay fast. */
#define MAX_PHYS_PAGES (64u * 1024u * 1024u / PAGE)

enum kind { K_RAW, K_D32FULL, K_D32KERNEL, K_D32BITMAP, K_D64FULL, K_D64BITMAP,
	    K_ELF32, K_ELF64, K_KDUMP, K_KDUMPFLAT, K_D64KERNEL, K_COUNT };

static const char *const kind_names[K_COUNT] = {
	"raw", "dmp32-full", "dmp32-kernel", "dmp32-bitmap", "dmp64-full",
	"dmp64-bitmap", "elf32", "elf64", "kdump", "kdump-flat", "dmp64-kernel"
};

struct range {
	uint64_t first, count; /* pages [first, first + count) */
};

struct spec {
	char name[128];
	unsigned width; /* 32 or 64 */
	unsigned kinds; /* bit per enum kind */
	uint64_t phys_pages;
	uint32_t seed;
	struct range runs[MAX_RUNS];
	size_t nruns;
	struct range kernel[MAX_RANGES];
	size_t nkernel;
	int have_kernel;
	struct range bitmap[MAX_RANGES];
	size_t nbitmap;
	int have_bitmap;
	uint32_t bitmap_dump_type; /* 5 full or 6 kernel */
	uint32_t major, minor;
	uint64_t dtb;
	int pae;
	uint32_t cpus;
	uint32_t bugcheck_code;
	uint64_t bugcheck_params[4];
	uint64_t kdbg, module_list, process_head, pfn_database;
	uint64_t system_time, system_uptime;
	uint32_t machine; /* 0: by width */
	uint32_t product_type, suite_mask, dump_options;
	char content_path[4096]; /* content_from / --content: raw memory */
	uint8_t *content;
	size_t content_len;
};

struct buf {
	uint8_t *p;
	size_t len;
};

/* ------------------------------------------------------------ helpers */

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "mkfixture: %s%s\n", what, arg);
	exit(2);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		die("", "out of memory");
	return p;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

/* A 32-bit mix of (seed, pfn, offset): makes every 16 bytes of every page
 * differ between fixtures and positions. */
static uint32_t mix(uint32_t seed, uint64_t pfn, uint32_t off)
{
	uint64_t x = seed ^ (pfn * 0x9e3779b97f4a7c15ull) ^
		     ((uint64_t)off * 0xc2b2ae3d27d4eb4full);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return (uint32_t)x;
}

/* Page content rule: every 16-byte line of page PFN holds
 * { u64 PFN, u32 offset in page, u32 mix(seed, PFN, offset) }, so a page
 * read from the wrong place, or a slice shifted inside a page, shows. */
static void fill_page(uint8_t *p, uint64_t pfn, uint32_t seed)
{
	for (uint32_t off = 0; off < PAGE; off += 16) {
		put64(p + off, pfn);
		put32(p + off + 8, off);
		put32(p + off + 12, mix(seed, pfn, off));
	}
}

/* The bytes of page PFN: from the content file when there is one (zeros
 * past its end), else by the content rule. */
static void page_fill(const struct spec *s, uint8_t *p, uint64_t pfn)
{
	if (!s->content) {
		fill_page(p, pfn, s->seed);
		return;
	}
	uint64_t off = pfn * PAGE;
	memset(p, 0, PAGE);
	if (off < s->content_len)
		memcpy(p, s->content + off,
		       s->content_len - off < PAGE ? s->content_len - off : PAGE);
}

/* ------------------------------------------------------- time (UTC) */

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return d[m - 1] + (m == 2 && is_leap(y));
}

#define FT_PER_SEC 10000000ull

/* FILETIME (100 ns since 1601-01-01 UTC) -> "YYYY-MM-DDTHH:MM:SSZ",
 * truncated to whole seconds. */
static void filetime_iso(uint64_t ft, char *out, size_t n)
{
	uint64_t secs = ft / FT_PER_SEC;
	uint64_t days = secs / 86400, rem = secs % 86400;
	int64_t y = 1601;
	int m = 1;
	while (days >= (uint64_t)(365 + is_leap(y))) {
		days -= (uint64_t)(365 + is_leap(y));
		y++;
	}
	while (days >= (uint64_t)month_days(y, m)) {
		days -= (uint64_t)month_days(y, m);
		m++;
	}
	snprintf(out, n, "%04" PRId64 "-%02d-%02dT%02u:%02u:%02uZ", y, m,
		 (int)days + 1, (unsigned)(rem / 3600),
		 (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
}

/* "YYYY-MM-DDTHH:MM:SSZ" -> FILETIME; 0 on a malformed string. */
static uint64_t iso_filetime(const char *s)
{
	int y, mo, d, h, mi, se;
	char z;
	if (sscanf(s, "%d-%d-%dT%d:%d:%d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 ||
	    z != 'Z' || y < 1601 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > month_days(y, mo) || h > 23 || mi > 59 || se > 59 || h < 0 ||
	    mi < 0 || se < 0)
		return 0;
	uint64_t days = 0;
	for (int64_t yy = 1601; yy < y; yy++)
		days += (uint64_t)(365 + is_leap(yy));
	for (int mm = 1; mm < mo; mm++)
		days += (uint64_t)month_days(y, mm);
	days += (uint64_t)(d - 1);
	return ((days * 86400) + (uint64_t)(h * 3600 + mi * 60 + se)) *
	       FT_PER_SEC;
}

/* ------------------------------------------------------- spec parser */

static int parse_num(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		*v = strtoull(s + 2, &end, 16);
	else
		*v = strtoull(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && s[0] != '-';
}

static void spec_error(const char *path, unsigned line, const char *what)
{
	fprintf(stderr, "mkfixture: %s:%u: %s\n", path, line, what);
	exit(2);
}

/* "A" or "A-B" (inclusive) -> range. */
static int parse_range(const char *s, struct range *r)
{
	char tmp[64];
	uint64_t a, b;
	const char *dash = strchr(s, '-');
	if (!dash)
		return parse_num(s, &a) ? (r->first = a, r->count = 1, 1) : 0;
	if ((size_t)(dash - s) >= sizeof tmp)
		return 0;
	memcpy(tmp, s, (size_t)(dash - s));
	tmp[dash - s] = '\0';
	if (!parse_num(tmp, &a) || !parse_num(dash + 1, &b) || b < a)
		return 0;
	r->first = a;
	r->count = b - a + 1;
	return 1;
}

static int kind_by_name(const char *s)
{
	for (int k = 0; k < K_COUNT; k++)
		if (strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

/* Keys with one numeric value, and where they go. */
struct numkey {
	const char *key;
	size_t off;
	int is32;
};

#define NK64(k, f) { k, offsetof(struct spec, f), 0 }
#define NK32(k, f) { k, offsetof(struct spec, f), 1 }
static const struct numkey numkeys[] = {
	NK32("major_version", major), NK32("build", minor),
	NK32("minor_version", minor), NK64("dtb", dtb),
	NK32("cpus", cpus), NK64("kdbg", kdbg),
	NK64("ps_loaded_module_list", module_list),
	NK64("ps_active_process_head", process_head),
	NK64("pfn_database", pfn_database),
	NK64("system_uptime", system_uptime),
	NK32("machine_image_type", machine),
	NK32("product_type", product_type), NK32("suite_mask", suite_mask),
	NK32("dump_options", dump_options), NK32("seed", seed),
	NK32("bitmap_dump_type", bitmap_dump_type),
};

static int set_numkey(struct spec *s, const char *key, const char *val)
{
	for (size_t i = 0; i < sizeof numkeys / sizeof numkeys[0]; i++) {
		if (strcmp(key, numkeys[i].key) != 0)
			continue;
		uint64_t v;
		if (!parse_num(val, &v))
			return -1;
		char *dst = (char *)s + numkeys[i].off;
		if (numkeys[i].is32) {
			if (v > UINT32_MAX)
				return -1;
			uint32_t v32 = (uint32_t)v;
			memcpy(dst, &v32, sizeof v32);
		} else {
			memcpy(dst, &v, sizeof v);
		}
		return 1;
	}
	return 0;
}

static size_t tokenize(char *line, char **tok, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " \t\r\n", &save); t && n < max;
	     t = strtok_r(NULL, " \t\r\n", &save))
		tok[n++] = t;
	return n;
}

static void parse_ranges(const char *path, unsigned ln, char **tok, size_t n,
			 struct range *dst, size_t *ndst)
{
	for (size_t i = 1; i < n; i++) {
		if (*ndst >= MAX_RANGES)
			spec_error(path, ln, "too many page ranges");
		if (!parse_range(tok[i], &dst[*ndst]))
			spec_error(path, ln, "bad page range (want N or N-M)");
		(*ndst)++;
	}
}

static void parse_line(struct spec *s, const char *path, unsigned ln,
		       char **tok, size_t n)
{
	const char *key = tok[0];
	uint64_t a, b;
	int r;
	if (strcmp(key, "run") == 0) {
		if (n != 3 || !parse_num(tok[1], &a) || !parse_num(tok[2], &b) ||
		    b == 0)
			spec_error(path, ln, "run wants BASEPAGE PAGECOUNT (count > 0)");
		if (s->nruns >= MAX_RUNS)
			spec_error(path, ln, "too many runs");
		s->runs[s->nruns].first = a;
		s->runs[s->nruns++].count = b;
	} else if (strcmp(key, "kernel_pages") == 0) {
		parse_ranges(path, ln, tok, n, s->kernel, &s->nkernel);
		s->have_kernel = 1;
	} else if (strcmp(key, "bitmap_pages") == 0) {
		parse_ranges(path, ln, tok, n, s->bitmap, &s->nbitmap);
		s->have_bitmap = 1;
	} else if (strcmp(key, "content_from") == 0) {
		if (n != 2)
			spec_error(path, ln, "content_from wants one file name");
		/* relative to the spec's directory */
		const char *slash = strrchr(path, '/');
		int dlen = slash && tok[1][0] != '/' ? (int)(slash - path + 1) : 0;
		if ((size_t)snprintf(s->content_path, sizeof s->content_path, "%.*s%s",
				     dlen, path, tok[1]) >= sizeof s->content_path)
			spec_error(path, ln, "content_from: path too long");
	} else if (strcmp(key, "kinds") == 0) {
		s->kinds = 0;
		for (size_t i = 1; i < n; i++) {
			int k = kind_by_name(tok[i]);
			if (k < 0)
				spec_error(path, ln, "unknown kind");
			s->kinds |= 1u << k;
		}
	} else if (strcmp(key, "width") == 0) {
		if (n != 2 || !parse_num(tok[1], &a) || (a != 32 && a != 64))
			spec_error(path, ln, "width is 32 or 64");
		s->width = (unsigned)a;
	} else if (strcmp(key, "phys_size") == 0) {
		if (n != 2 || !parse_num(tok[1], &a) || a % PAGE || !a ||
		    a / PAGE > MAX_PHYS_PAGES)
			spec_error(path, ln, "phys_size: page multiple, at most 64 MiB");
		s->phys_pages = a / PAGE;
	} else if (strcmp(key, "pae") == 0) {
		if (n != 2 || !parse_num(tok[1], &a) || a > 1)
			spec_error(path, ln, "pae is 0 or 1");
		s->pae = (int)a;
	} else if (strcmp(key, "bugcheck") == 0) {
		if (n != 6 || !parse_num(tok[1], &a) || a > UINT32_MAX)
			spec_error(path, ln, "bugcheck wants CODE P1 P2 P3 P4");
		s->bugcheck_code = (uint32_t)a;
		for (int i = 0; i < 4; i++)
			if (!parse_num(tok[2 + i], &s->bugcheck_params[i]))
				spec_error(path, ln, "bad bugcheck parameter");
	} else if (strcmp(key, "system_time") == 0) {
		if (n != 2)
			spec_error(path, ln, "system_time wants one value");
		if (strchr(tok[1], 'T'))
			s->system_time = iso_filetime(tok[1]);
		else if (!parse_num(tok[1], &s->system_time))
			s->system_time = 0;
		if (!s->system_time)
			spec_error(path, ln, "system_time: FILETIME or YYYY-MM-DDTHH:MM:SSZ");
	} else {
		if (n != 2)
			spec_error(path, ln, "unknown key or wrong number of values");
		r = set_numkey(s, key, tok[1]);
		if (r == 0)
			spec_error(path, ln, "unknown key");
		if (r < 0)
			spec_error(path, ln, "bad number");
	}
}

static uint64_t runs_end(const struct spec *s)
{
	return s->runs[s->nruns - 1].first + s->runs[s->nruns - 1].count;
}

static int fits32(uint64_t v)
{
	return v <= UINT32_MAX;
}

static void spec_validate(struct spec *s, const char *path)
{
	if (!s->nruns)
		spec_error(path, 0, "no run");
	for (size_t i = 1; i < s->nruns; i++)
		if (s->runs[i].first < s->runs[i - 1].first + s->runs[i - 1].count)
			spec_error(path, 0, "runs must be sorted and must not overlap");
	if (!s->phys_pages)
		s->phys_pages = runs_end(s);
	if (runs_end(s) > s->phys_pages || s->phys_pages > MAX_PHYS_PAGES)
		spec_error(path, 0, "runs end past phys_size (or phys_size > 64 MiB)");
	if (s->bitmap_dump_type != 5 && s->bitmap_dump_type != 6)
		spec_error(path, 0, "bitmap_dump_type is 5 or 6");
	if (!s->kinds)
		s->kinds = s->width == 64
				   ? (1u << K_RAW) | (1u << K_D64FULL) | (1u << K_D64BITMAP)
				   : (1u << K_RAW) | (1u << K_D32FULL) |
					     (1u << K_D32KERNEL) | (1u << K_D32BITMAP);
	s->kinds |= 1u << K_RAW; /* the reference every read is checked against */
	if (s->kinds & ((1u << K_D32FULL) | (1u << K_D32KERNEL) | (1u << K_D32BITMAP))) {
		int ok = fits32(s->dtb) && fits32(s->kdbg) &&
			 fits32(s->module_list) && fits32(s->process_head) &&
			 fits32(s->pfn_database);
		for (int i = 0; i < 4; i++)
			ok = ok && fits32(s->bugcheck_params[i]);
		if (!ok)
			spec_error(path, 0, "a value does not fit a 32-bit dump header");
	}
}

/* Read the content file named by the spec (or --content) whole. */
static void load_content(struct spec *s)
{
	FILE *f = fopen(s->content_path, "rb");
	if (!f)
		die("cannot open content file ", s->content_path);
	size_t cap = (size_t)(s->phys_pages * PAGE), n;
	s->content = xcalloc(cap, 1);
	n = fread(s->content, 1, cap, f);
	if (ferror(f))
		die("cannot read content file ", s->content_path);
	fclose(f);
	s->content_len = n;
}

static void spec_load(struct spec *s, const char *path, const char *content)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	char *tok[64];
	unsigned ln = 0;
	if (!f)
		die("cannot open spec ", path);
	memset(s, 0, sizeof *s);
	s->width = 32;
	s->major = 0xf;
	s->cpus = 1;
	s->bitmap_dump_type = 5;
	s->product_type = 1;
	s->seed = 1;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(s->name, sizeof s->name, "%s", base);
	char *dot = strrchr(s->name, '.');
	if (dot && strcmp(dot, ".spec") == 0)
		*dot = '\0';
	while (fgets(line, sizeof line, f)) {
		ln++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		size_t n = tokenize(line, tok, sizeof tok / sizeof tok[0]);
		if (n)
			parse_line(s, path, ln, tok, n);
	}
	fclose(f);
	spec_validate(s, path);
	if (content)
		snprintf(s->content_path, sizeof s->content_path, "%s", content);
	if (s->content_path[0])
		load_content(s);
}

/* ----------------------------------------------------- page sets */

static int in_ranges(const struct range *r, size_t n, uint64_t pfn)
{
	for (size_t i = 0; i < n; i++)
		if (pfn >= r[i].first && pfn - r[i].first < r[i].count)
			return 1;
	return 0;
}

static int is_64(enum kind k)
{
	return k == K_D64FULL || k == K_D64BITMAP || k == K_D64KERNEL;
}

/* Kernel summary dumps (DumpType 2): SUMMARY_DUMP32 / SUMMARY_DUMP64. */
static int is_summary(enum kind k)
{
	return k == K_D32KERNEL || k == K_D64KERNEL;
}

static int is_bitmapped(enum kind k)
{
	return is_summary(k) || k == K_D32BITMAP || k == K_D64BITMAP;
}

/* held[pfn] for pfn < s->phys_pages: does this kind hold the page? */
static uint8_t *held_pages(const struct spec *s, enum kind k)
{
	uint8_t *held = xcalloc(s->phys_pages, 1);
	for (uint64_t pfn = 0; pfn < s->phys_pages; pfn++) {
		int in_run = in_ranges(s->runs, s->nruns, pfn);
		if (k == K_RAW)
			held[pfn] = pfn < runs_end(s);
		else if (is_summary(k))
			held[pfn] = in_run && (!s->have_kernel ||
					       in_ranges(s->kernel, s->nkernel, pfn));
		else if (k == K_D32BITMAP || k == K_D64BITMAP)
			held[pfn] = in_run && (!s->have_bitmap ||
					       in_ranges(s->bitmap, s->nbitmap, pfn));
		else
			held[pfn] = (uint8_t)in_run;
	}
	return held;
}

/* Maximal runs of held pages. Returns the count; *out is allocated. */
static size_t held_runs(const uint8_t *held, uint64_t n, struct range **out)
{
	size_t cnt = 0;
	struct range *r = xcalloc((size_t)n / 2 + 1, sizeof *r);
	for (uint64_t p = 0; p < n;) {
		if (!held[p]) {
			p++;
			continue;
		}
		uint64_t q = p;
		while (q < n && held[q])
			q++;
		r[cnt].first = p;
		r[cnt++].count = q - p;
		p = q;
	}
	*out = r;
	return cnt;
}

/* ------------------------------------------------------ the images */

static uint32_t machine_of(const struct spec *s, enum kind k)
{
	if (s->machine)
		return s->machine;
	return is_64(k) ? 0x8664 : 0x14c;
}

static uint32_t dump_type_of(const struct spec *s, enum kind k)
{
	switch (k) {
	case K_D32FULL:
	case K_D64FULL:
		return 1;
	case K_D32KERNEL:
	case K_D64KERNEL:
		return 2;
	default:
		return s->bitmap_dump_type;
	}
}

static uint64_t total_run_pages(const struct spec *s)
{
	uint64_t t = 0;
	for (size_t i = 0; i < s->nruns; i++)
		t += s->runs[i].count;
	return t;
}

/* DUMP_HEADER32, DESIGN §4.1. Unwritten fields keep the "PAGE" fill. */
static void header32(const struct spec *s, enum kind k, uint8_t *h)
{
	for (uint32_t o = 0; o < 0x1000; o += 4)
		memcpy(h + o, "PAGE", 4);
	memcpy(h + 0x004, "DUMP", 4);
	put32(h + 0x008, s->major);
	put32(h + 0x00c, s->minor);
	put32(h + 0x010, (uint32_t)s->dtb);
	put32(h + 0x014, (uint32_t)s->pfn_database);
	put32(h + 0x018, (uint32_t)s->module_list);
	put32(h + 0x01c, (uint32_t)s->process_head);
	put32(h + 0x020, machine_of(s, k));
	put32(h + 0x024, s->cpus);
	put32(h + 0x028, s->bugcheck_code);
	for (int i = 0; i < 4; i++)
		put32(h + 0x02c + 4 * i, (uint32_t)s->bugcheck_params[i]);
	h[0x05c] = (uint8_t)s->pae;
	put32(h + 0x060, (uint32_t)s->kdbg);
	put32(h + 0x064, (uint32_t)s->nruns);
	put32(h + 0x068, (uint32_t)total_run_pages(s));
	for (size_t i = 0; i < s->nruns; i++) {
		put32(h + 0x06c + 8 * i, (uint32_t)s->runs[i].first);
		put32(h + 0x070 + 8 * i, (uint32_t)s->runs[i].count);
	}
	put32(h + 0xf88, dump_type_of(s, k));
	put32(h + 0xf94, s->product_type);
	put32(h + 0xf98, s->suite_mask);
	put64(h + 0xfb8, s->system_uptime);
	put64(h + 0xfc0, s->system_time);
}

/* DUMP_HEADER64, DESIGN §4.2. */
static void header64(const struct spec *s, enum kind k, uint8_t *h)
{
	for (uint32_t o = 0; o < 0x2000; o += 4)
		memcpy(h + o, "PAGE", 4);
	memcpy(h + 0x004, "DU64", 4);
	put32(h + 0x008, s->major);
	put32(h + 0x00c, s->minor);
	put64(h + 0x010, s->dtb);
	put64(h + 0x018, s->pfn_database);
	put64(h + 0x020, s->module_list);
	put64(h + 0x028, s->process_head);
	put32(h + 0x030, machine_of(s, k));
	put32(h + 0x034, s->cpus);
	put32(h + 0x038, s->bugcheck_code);
	for (int i = 0; i < 4; i++)
		put64(h + 0x040 + 8 * i, s->bugcheck_params[i]);
	put64(h + 0x080, s->kdbg);
	put32(h + 0x088, (uint32_t)s->nruns);
	put32(h + 0x08c, 0);
	put64(h + 0x090, total_run_pages(s));
	for (size_t i = 0; i < s->nruns; i++) {
		put64(h + 0x098 + 16 * i, s->runs[i].first);
		put64(h + 0x0a0 + 16 * i, s->runs[i].count);
	}
	put32(h + 0xf98, dump_type_of(s, k));
	put64(h + 0xfa8, s->system_time);
	put64(h + 0x1030, s->system_uptime);
	put32(h + 0x1040, s->product_type);
	put32(h + 0x1044, s->suite_mask);
}

static int is_elf(enum kind k)
{
	return k == K_ELF32 || k == K_ELF64;
}

/* An ELF note header with a 4-byte name ("QEMU", "CORE"; namesz 5, the
 * name padded to 8) on zeroed bytes; returns where the desc goes. */
static uint8_t *note_head(uint8_t *n, const char *name, uint32_t type,
			  uint32_t descsz)
{
	put32(n, 5);
	put32(n + 4, descsz);
	put32(n + 8, type);
	memcpy(n + 12, name, 4);
	return n + 20;
}

/* QEMUCPUState (QEMU target/i386/arch_dump.c), 440 bytes, on zeroed
 * bytes: version 1, CR0 0x80000011 (PE, ET, PG), CR3 = the spec's dtb,
 * CR4.PAE per the spec; every other register 0. A 64-bit spec (width 64)
 * is a long-mode guest: CR4.PAE, and CS.flags with the L bit (bit 21) at
 * 0xA0, as QEMU writes the 64-bit code segment. */
static void qemu_cpu_state(uint8_t *d, const struct spec *s)
{
	put32(d, 1);
	put32(d + 4, 440);
	put64(d + 0x188, 0x80000011u);
	put64(d + 0x1A0, s->dtb);
	put64(d + 0x1A8, s->pae || s->width == 64 ? 0x20 : 0);
	if (s->width == 64)
		put32(d + 0xA0, 1u << 21);
}

/* ELF core as QEMU's dump-guest-memory writes it (elf32: ELFCLASS32,
 * elf64: ELFCLASS64 with EM_386, as QEMU 7.2 does for 32-bit guests): one
 * PT_NOTE with a "QEMU" note (QEMUCPUState, 440 bytes: CR0 0x80000011 at
 * 0x188, CR3 = dtb at 0x1A0, CR4 = PAE bit per the spec at 0x1A8) per
 * CPU, then one PT_LOAD per run (p_paddr = the run), pages from a page
 * boundary after the notes. */
static void build_elf(const struct spec *s, enum kind k, struct buf *out)
{
	int w = k == K_ELF64;
	size_t ehsz = w ? 64 : 52, phsz = w ? 56 : 32, nph = 1 + s->nruns;
	size_t nsz = (size_t)s->cpus * (12 + 8 + 440);
	uint64_t pages = total_run_pages(s), at;
	size_t first = (size_t)round_up(ehsz + nph * phsz + nsz, PAGE);
	out->len = first + (size_t)pages * PAGE;
	out->p = xcalloc(out->len, 1);
	uint8_t *h = out->p;
	memcpy(h, "\x7f" "ELF", 4);
	h[4] = (uint8_t)(w ? 2 : 1);
	h[5] = 1;
	h[6] = 1;
	put16(h + 16, 4); /* ET_CORE */
	/* EM_386, or EM_X86_64 for a long-mode guest (QEMU: when LMA) */
	put16(h + 18, s->width == 64 ? 62 : 3);
	put32(h + 20, 1);
	if (w) {
		put64(h + 32, ehsz);
		put16(h + 52, (uint16_t)ehsz);
		put16(h + 54, (uint16_t)phsz);
		put16(h + 56, (uint16_t)nph);
	} else {
		put32(h + 28, (uint32_t)ehsz);
		put16(h + 40, (uint16_t)ehsz);
		put16(h + 42, (uint16_t)phsz);
		put16(h + 44, (uint16_t)nph);
	}
	at = first;
	for (size_t i = 0; i < nph; i++) {
		uint8_t *ph = h + ehsz + i * phsz;
		uint64_t off = i ? at : ehsz + nph * phsz;
		uint64_t pa = i ? s->runs[i - 1].first * PAGE : 0;
		uint64_t sz = i ? s->runs[i - 1].count * PAGE : nsz;
		put32(ph, i ? 1 : 4);
		if (w) {
			put64(ph + 8, off);
			put64(ph + 16, pa);
			put64(ph + 24, pa);
			put64(ph + 32, sz);
			put64(ph + 40, sz);
		} else {
			put32(ph + 4, (uint32_t)off);
			put32(ph + 8, (uint32_t)pa);
			put32(ph + 12, (uint32_t)pa);
			put32(ph + 16, (uint32_t)sz);
			put32(ph + 20, (uint32_t)sz);
		}
		if (i)
			at += sz;
	}
	uint8_t *n = h + ehsz + nph * phsz;
	for (uint32_t c = 0; c < s->cpus; c++, n += 12 + 8 + 440)
		qemu_cpu_state(note_head(n, "QEMU", 0, 440), s);
	uint8_t *dst = out->p + first;
	for (size_t i = 0; i < s->nruns; i++)
		for (uint64_t p = 0; p < s->runs[i].count; p++, dst += PAGE)
			page_fill(s, dst, s->runs[i].first + p);
}

static int is_kdump(enum kind k)
{
	return k == K_KDUMP || k == K_KDUMPFLAT;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* kdump-compressed file (makedumpfile's diskdump layout) as QEMU's
 * `dump-guest-memory -z` (kdump-zlib) writes it for a 32-bit x86 guest on
 * a pc machine: the 64-bit header layout (QEMU takes ELFCLASS64, hence
 * DiskDumpHeader64 / KdumpSubHeader64, packed, whenever a guest block ends
 * past 4 GiB, which the BIOS ROM at 0xfffc0000 always does). Every number
 * is little-endian; unwritten bytes are zeros.
 *   block 0      disk_dump_header: "KDUMP   ", header_version 6 at 0x8,
 *                utsname.machine "x86_64" at 0x110 (QEMU's build target),
 *                timestamp 0, status 1 (DUMP_DH_COMPRESSED_ZLIB) at 0x1A8,
 *                block_size 4096 at 0x1AC, sub_hdr_size at 0x1B0,
 *                bitmap_blocks at 0x1B4, max_mapnr at 0x1B8, nr_cpus at
 *                0x1CC (464 bytes)
 *   block 1      kdump_sub_header (104 bytes): phys_base 0, dump_level 1
 *                at +0x8, offset_note at +0x30, size_note at +0x38,
 *                max_mapnr_64 at +0x60; the notes right after it (+0x68):
 *                per CPU an i386 NT_PRSTATUS ("CORE", 144 bytes, pid =
 *                CPU + 1), then per CPU a "QEMU" note (QEMUCPUState, as in
 *                the ELF kinds); sub_hdr_size = the blocks both take
 *   bitmaps      at (1 + sub_hdr_size) * 4096: two identical bitmaps of
 *                max_mapnr bits each rounded up to a block (bit = PFN, LSB
 *                first), bitmap_blocks = both; a bit is set for every page
 *                of the runs
 *   page_desc    one per set bit in PFN order, 24 bytes: u64 offset,
 *                u32 size, u32 flags (1 = zlib), u64 page_flags 0
 *   page data    right after the descriptors, not block-aligned: first
 *                one zero page, which every all-zero page's descriptor
 *                names, then each other page: zlib (compress2,
 *                Z_BEST_SPEED) when that is smaller than 4096 bytes, else
 *                the raw page with flags 0
 * max_mapnr is the PFN past the last run (QEMU: past the last guest RAM
 * block). The file ends with the last page's data.
 *
 * kdump-flat is the same file as the flattened stream QEMU 7.2 writes
 * (makedumpfile's flat format, big-endian): a 4096-byte header
 * ("makedumpfile" NUL-padded to 16 bytes, s64 type 1, s64 version 1,
 * zeros), then records { s64 offset, s64 size, data } in QEMU's write
 * order — header, sub-header, notes, each bitmap block of the first
 * bitmap followed by the same block of the second, then the flushes of
 * two 16 KiB caches (descriptors and page data, each flushed when the
 * next item would not fit, descriptors last) — and an end record with
 * offset and size -1. */
#define KD_HDR 464u
#define KD_SUB 104u
#define KD_CORE 144u
#define KD_QEMU 440u
#define KD_DESC 24u
#define KD_CACHE 16384u

struct kd_recs {
	uint64_t (*r)[2]; /* file offset, size */
	size_t n, cap;
};

static void kd_rec(struct kd_recs *rs, uint64_t off, uint64_t size)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 256;
		void *t = realloc(rs->r, cap * sizeof *rs->r);
		if (!t)
			die("", "out of memory");
		rs->r = t;
		rs->cap = cap;
	}
	rs->r[rs->n][0] = off;
	rs->r[rs->n++][1] = size;
}

/* QEMU's DataCache (dump/dump.c write_cache): its bytes are already in
 * the file image; this keeps only where the records of its flushes go. */
struct kd_cache {
	uint64_t off;  /* file offset of the cache's first byte */
	uint64_t used; /* bytes cached */
};

static void kd_cache_put(struct kd_cache *c, struct kd_recs *rs, uint64_t len,
			 int sync)
{
	if ((!sync && c->used + len > KD_CACHE) || (sync && c->used)) {
		kd_rec(rs, c->off, c->used);
		c->off += c->used;
		c->used = 0;
	}
	if (!sync)
		c->used += len;
}

static int page_is_zero(const uint8_t *p)
{
	for (uint32_t i = 0; i < PAGE; i++)
		if (p[i])
			return 0;
	return 1;
}

static void build_kdump(const struct spec *s, enum kind k, const uint8_t *held,
			struct buf *out)
{
	uint64_t maxpfn = runs_end(s), npages = 0;
	for (uint64_t p = 0; p < s->phys_pages; p++)
		npages += held[p];
	uint64_t nsz = (uint64_t)s->cpus * (20 + KD_CORE + 20 + KD_QEMU);
	uint64_t sub_blocks = round_up(KD_SUB + nsz, PAGE) / PAGE;
	uint64_t bm_len = round_up((maxpfn + 7) / 8, PAGE);
	uint64_t bm_off = (1 + sub_blocks) * PAGE;
	uint64_t desc_off = bm_off + 2 * bm_len;
	uint64_t data_off = desc_off + KD_DESC * npages;
	size_t cap = (size_t)(data_off + (npages + 1) * PAGE);
	uint8_t *f = xcalloc(cap, 1);
	struct kd_recs rs = { NULL, 0, 0 };

	memcpy(f, "KDUMP   ", 8);
	put32(f + 0x8, 6);
	memcpy(f + 12 + 4 * 65, "x86_64", 6);
	put32(f + 0x1A8, 1);
	put32(f + 0x1AC, PAGE);
	put32(f + 0x1B0, (uint32_t)sub_blocks);
	put32(f + 0x1B4, (uint32_t)(2 * bm_len / PAGE));
	put32(f + 0x1B8, (uint32_t)maxpfn);
	put32(f + 0x1CC, s->cpus);
	kd_rec(&rs, 0, KD_HDR);

	uint8_t *sh = f + PAGE;
	put32(sh + 0x08, 1);
	put64(sh + 0x30, PAGE + KD_SUB);
	put64(sh + 0x38, nsz);
	put64(sh + 0x60, maxpfn);
	kd_rec(&rs, PAGE, KD_SUB);
	uint8_t *n = sh + KD_SUB;
	for (uint32_t c = 0; c < s->cpus; c++, n += 20 + KD_CORE)
		put32(note_head(n, "CORE", 1, KD_CORE) + 24, c + 1);
	for (uint32_t c = 0; c < s->cpus; c++, n += 20 + KD_QEMU)
		qemu_cpu_state(note_head(n, "QEMU", 0, KD_QEMU), s);
	kd_rec(&rs, PAGE + KD_SUB, nsz);

	for (uint64_t p = 0; p < maxpfn; p++)
		if (held[p]) {
			f[bm_off + p / 8] |= (uint8_t)(1u << (p % 8));
			f[bm_off + bm_len + p / 8] |= (uint8_t)(1u << (p % 8));
		}
	for (uint64_t b = 0; b < bm_len; b += PAGE) {
		kd_rec(&rs, bm_off + b, PAGE);
		kd_rec(&rs, bm_off + bm_len + b, PAGE);
	}

	struct kd_cache cd = { desc_off, 0 }, cp = { data_off, 0 };
	uint8_t page[PAGE];
	uLong zcap = compressBound(PAGE);
	uint8_t *z = xcalloc(zcap, 1);
	kd_cache_put(&cp, &rs, PAGE, 0); /* the zero page: already zeros */
	for (uint64_t p = 0; p < maxpfn; p++) {
		if (!held[p])
			continue;
		uint64_t at = data_off, size = PAGE;
		uint32_t flags = 0;
		page_fill(s, page, p);
		int zero = page_is_zero(page);
		if (!zero) {
			uLongf zlen = zcap;
			at = cp.off + cp.used;
			if (compress2(z, &zlen, page, PAGE, Z_BEST_SPEED) == Z_OK &&
			    zlen < PAGE) {
				memcpy(f + at, z, zlen);
				size = zlen;
				flags = 1;
			} else {
				memcpy(f + at, page, PAGE);
			}
		}
		uint8_t *d = f + cd.off + cd.used;
		put64(d, at);
		put32(d + 8, (uint32_t)size);
		put32(d + 12, flags);
		kd_cache_put(&cd, &rs, KD_DESC, 0);
		if (!zero)
			kd_cache_put(&cp, &rs, size, 0);
	}
	kd_cache_put(&cd, &rs, 0, 1);
	kd_cache_put(&cp, &rs, 0, 1);
	free(z);

	if (k == K_KDUMP) {
		out->p = f;
		out->len = (size_t)cp.off;
		free(rs.r);
		return;
	}
	uint64_t len = PAGE + 16;
	for (size_t i = 0; i < rs.n; i++)
		len += 16 + rs.r[i][1];
	out->p = xcalloc((size_t)len, 1);
	out->len = (size_t)len;
	uint8_t *o = out->p;
	memcpy(o, "makedumpfile", 12);
	put_be64(o + 16, 1);
	put_be64(o + 24, 1);
	o += PAGE;
	for (size_t i = 0; i < rs.n; i++) {
		put_be64(o, rs.r[i][0]);
		put_be64(o + 8, rs.r[i][1]);
		memcpy(o + 16, f + rs.r[i][0], (size_t)rs.r[i][1]);
		o += 16 + rs.r[i][1];
	}
	put_be64(o, UINT64_MAX);
	put_be64(o + 8, UINT64_MAX);
	free(f);
	free(rs.r);
}

/* Where things sit in a built dump, for --corrupt. */
struct layout {
	uint64_t hdr_size;   /* 0x1000 or 0x2000; 0 for raw */
	uint64_t sub;        /* SUMMARY/bitmap header offset (bitmapped kinds) */
	uint64_t first_page; /* file offset of the first page */
	uint64_t npages;     /* pages stored in the body */
};

static void build_kind(const struct spec *s, enum kind k, const uint8_t *held,
		       struct buf *out, struct layout *lay)
{
	uint64_t npages = 0, hdr = 0, first = 0;
	memset(lay, 0, sizeof *lay);
	for (uint64_t p = 0; p < s->phys_pages; p++)
		npages += held[p];
	if (is_elf(k)) {
		build_elf(s, k, out);
		return;
	}
	if (is_kdump(k)) {
		build_kdump(s, k, held, out);
		return;
	}
	if (k == K_RAW) {
		out->len = (size_t)(runs_end(s) * PAGE);
		out->p = xcalloc(out->len, 1);
		for (size_t i = 0; i < s->nruns; i++)
			for (uint64_t p = 0; p < s->runs[i].count; p++)
				page_fill(s, out->p + (s->runs[i].first + p) * PAGE,
					  s->runs[i].first + p);
		lay->npages = runs_end(s);
		return;
	}
	hdr = is_64(k) ? 0x2000 : 0x1000;
	uint64_t bits = s->phys_pages;
	uint64_t bm_bytes = round_up((bits + 7) / 8, 8);
	/* the bits: SUMMARY_DUMP32 +0x20, SUMMARY_DUMP64 +0x28 (its on-disk
	 * RTL_BITMAP has an 8-byte Buffer slot), BMP_DUMP_HEADER +0x38 */
	uint32_t bm_at = k == K_D32KERNEL ? 0x20 : k == K_D64KERNEL ? 0x28 : 0x38;
	if (is_summary(k))
		first = round_up(hdr + bm_at + bm_bytes, PAGE);
	else if (is_bitmapped(k))
		first = round_up(hdr + 0x38 + bm_bytes, PAGE);
	else
		first = hdr;
	out->len = (size_t)(first + npages * PAGE);
	out->p = xcalloc(out->len, 1);
	if (is_64(k))
		header64(s, k, out->p);
	else
		header32(s, k, out->p);
	uint8_t *sub = out->p + hdr;
	if (is_summary(k)) {
		/* SUMMARY_DUMP32 / SUMMARY_DUMP64: the same 32-bit fields */
		memcpy(sub, "SDMP", 4);
		memcpy(sub + 4, "DUMP", 4);
		put32(sub + 0x08, s->dump_options);
		put32(sub + 0x0c, (uint32_t)first);
		put32(sub + 0x10, (uint32_t)bits);
		put32(sub + 0x14, (uint32_t)npages);
		put32(sub + 0x18, (uint32_t)bits); /* RTL_BITMAP.SizeOfBitMap */
		/* RTL_BITMAP.Buffer: a ULONG at 0x1c (32-bit); padding then a
		 * ULONG64 at 0x20 (64-bit): zeros either way */
	} else if (is_bitmapped(k)) {
		memcpy(sub, s->bitmap_dump_type == 5 ? "FDMP" : "SDMP", 4);
		memcpy(sub + 4, "DUMP", 4);
		put64(sub + 0x20, first);
		put64(sub + 0x28, npages);
		put64(sub + 0x30, bits);
	}
	if (is_bitmapped(k)) {
		uint8_t *bm = sub + bm_at;
		for (uint64_t p = 0; p < bits; p++)
			if (held[p])
				bm[p / 8] |= (uint8_t)(1u << (p % 8));
	}
	/* Full dumps: runs in header order; bitmapped: ascending PFN. Both
	 * are ascending PFN order here since spec runs are sorted. */
	uint8_t *dst = out->p + first;
	for (uint64_t p = 0; p < s->phys_pages; p++) {
		if (!held[p])
			continue;
		page_fill(s, dst, p);
		dst += PAGE;
	}
	lay->hdr_size = hdr;
	lay->sub = is_bitmapped(k) ? hdr : 0;
	lay->first_page = first;
	lay->npages = npages;
}

/* ------------------------------------------------------------ output */

static void write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		die("cannot create ", path);
	if ((len && fwrite(p, 1, len, f) != len) | (fclose(f) != 0))
		die("cannot write ", path);
}

/* gzip (RFC 1952) of a buffer, in memory. */
static void gzip_mem(const struct buf *in, struct buf *out)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		die("", "deflateInit2 failed");
	uLong bound = deflateBound(&z, (uLong)in->len) + 64;
	out->p = xcalloc(bound, 1);
	z.next_in = in->p;
	z.avail_in = (uInt)in->len;
	z.next_out = out->p;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		die("", "deflate failed");
	out->len = z.total_out;
	deflateEnd(&z);
}

static void hexs(char *out, size_t n, uint64_t v)
{
	snprintf(out, n, "0x%" PRIx64, v);
}

static const char *machine_name(uint32_t m)
{
	switch (m) {
	case 0x14c:
		return "\"x86\"";
	case 0x8664:
		return "\"x64\"";
	case 0xaa64:
		return "\"arm64\"";
	default:
		return "null";
	}
}

static const char *paging_name(const struct spec *s, enum kind k)
{
	uint32_t m = machine_of(s, k);
	if (m == 0x8664)
		return "\"x64\"";
	if (m == 0x14c)
		return s->pae ? "\"pae\"" : "\"x86\"";
	return "null";
}

static const char *dump_type_name(const struct spec *s, enum kind k)
{
	switch (k) {
	case K_RAW:
		return "raw";
	case K_D32FULL:
	case K_D64FULL:
		return "full";
	case K_D32KERNEL:
	case K_D64KERNEL:
		return "kernel";
	default:
		return s->bitmap_dump_type == 5 ? "bitmap" : "bitmap-kernel";
	}
}

static void expect_runs(FILE *f, const struct range *r, size_t n)
{
	fprintf(f, "  \"runs\": [");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n    { \"pa\": \"0x%" PRIx64 "\", \"pages\": %" PRIu64 " }",
			i ? "," : "", r[i].first * PAGE, r[i].count);
	fprintf(f, "%s],\n", n ? "\n  " : "");
}

static void expect_dump_facts(FILE *f, const struct spec *s, enum kind k)
{
	char a[5][32];
	int w32 = !is_64(k);
	uint64_t mask = w32 ? UINT32_MAX : UINT64_MAX;
	hexs(a[0], sizeof a[0], s->kdbg & mask);
	fprintf(f, "  \"cpus\": %" PRIu32 ",\n  \"kdbg\": \"%s\",\n", s->cpus, a[0]);
	for (int i = 0; i < 4; i++)
		hexs(a[1 + i], sizeof a[1], s->bugcheck_params[i] & mask);
	fprintf(f,
		"  \"bugcheck\": { \"code\": \"0x%" PRIx32 "\", \"params\": "
		"[\"%s\", \"%s\", \"%s\", \"%s\"] },\n",
		s->bugcheck_code, a[1], a[2], a[3], a[4]);
	char t[64];
	filetime_iso(s->system_time, t, sizeof t);
	fprintf(f, "  \"system_time\": \"%s\",\n", t);
}

static void expect_header(FILE *f, const struct spec *s, enum kind k)
{
	char pfn[32], ml[32], ph[32], up[32];
	hexs(pfn, sizeof pfn, s->pfn_database);
	hexs(ml, sizeof ml, s->module_list);
	hexs(ph, sizeof ph, s->process_head);
	hexs(up, sizeof up, s->system_uptime);
	fprintf(f,
		"  \"header\": { \"major_version\": %" PRIu32
		", \"minor_version\": %" PRIu32 ",\n"
		"    \"pfn_database\": \"%s\", \"ps_loaded_module_list\": \"%s\",\n"
		"    \"ps_active_process_head\": \"%s\", \"product_type\": %" PRIu32
		",\n    \"suite_mask\": \"0x%" PRIx32 "\", \"dump_type_code\": %" PRIu32
		", \"system_uptime\": \"%s\" }\n",
		s->major, s->minor, pfn, ml, ph, s->product_type, s->suite_mask,
		dump_type_of(s, k), up);
}

static void write_expect(const char *path, const struct spec *s, enum kind k,
			 const uint8_t *held, int gz)
{
	FILE *f = fopen(path, "w");
	struct range *r = NULL;
	size_t nr;
	uint64_t present = 0;
	if (!f)
		die("cannot create ", path);
	fprintf(f, "{\n  \"schema\": \"exq/1\",\n  \"command\": \"info\",\n");
	if (k == K_RAW) {
		fprintf(f,
			"  \"image\": { \"format\": \"raw\", \"dump_type\": \"raw\", "
			"\"machine\": null, \"paging\": null,\n"
			"    \"dtb\": null, \"dtb_source\": null, \"build\": null, "
			"\"gzip\": %s },\n"
			"  \"cpus\": null,\n  \"kdbg\": null,\n  \"bugcheck\": null,\n"
			"  \"system_time\": null,\n",
			gz ? "true" : "false");
		struct range whole = { 0, runs_end(s) };
		expect_runs(f, &whole, 1);
		present = whole.count;
		fprintf(f, "  \"pages_present\": %" PRIu64 ",\n  \"header\": null,\n"
			   "  \"warnings\": []\n}\n", present);
		fclose(f);
		return;
	}
	if (is_elf(k)) {
		fprintf(f,
			"  \"image\": { \"format\": \"elf\", \"dump_type\": \"elf\", "
			"\"machine\": \"%s\", \"paging\": \"%s\",\n"
			"    \"dtb\": \"0x%" PRIx64 "\", \"dtb_source\": \"qemu-note\", "
			"\"gzip\": %s },\n  \"cpus\": %" PRIu32 ",\n",
			s->width == 64 ? "x64" : "x86",
			s->width == 64 ? "x64" : s->pae ? "pae" : "x86",
			s->dtb & (s->pae && s->width != 64 ? ~(uint64_t)0x1f : ~(uint64_t)0xfff),
			gz ? "true" : "false", s->cpus);
		expect_runs(f, s->runs, s->nruns);
		fprintf(f, "  \"pages_present\": %" PRIu64 "\n}\n",
			total_run_pages(s));
		fclose(f);
		return;
	}
	if (is_kdump(k)) {
		/* what exq reads from the notes and the bitmap: the runs are
		 * the maximal runs of set bits (touching spec runs merge) */
		fprintf(f,
			"  \"image\": { \"format\": \"kdump\", \"dump_type\": \"kdump\", "
			"\"machine\": \"%s\", \"paging\": \"%s\",\n"
			"    \"dtb\": \"0x%" PRIx64 "\", \"dtb_source\": \"qemu-note\", "
			"\"gzip\": %s },\n  \"cpus\": %" PRIu32 ",\n",
			s->width == 64 ? "x64" : "x86",
			s->width == 64 ? "x64" : s->pae ? "pae" : "x86",
			s->dtb & (s->pae && s->width != 64 ? ~(uint64_t)0x1f : ~(uint64_t)0xfff),
			gz ? "true" : "false", s->cpus);
		nr = held_runs(held, s->phys_pages, &r);
		expect_runs(f, r, nr);
		free(r);
		for (uint64_t p = 0; p < s->phys_pages; p++)
			present += held[p];
		fprintf(f, "  \"pages_present\": %" PRIu64 "\n}\n", present);
		fclose(f);
		return;
	}
	uint64_t dtb = s->dtb;
	if (!is_64(k) && s->pae)
		dtb &= ~(uint64_t)0x1f; /* the PDPT is 32-byte aligned */
	fprintf(f,
		"  \"image\": { \"format\": \"%s\", \"dump_type\": \"%s\", "
		"\"machine\": %s, \"paging\": %s,\n"
		"    \"dtb\": \"0x%" PRIx64 "\", \"dtb_source\": \"header\", "
		"\"build\": %" PRIu32 ", \"gzip\": %s },\n",
		is_64(k) ? "windmp64" : "windmp32", dump_type_name(s, k),
		machine_name(machine_of(s, k)), paging_name(s, k), dtb, s->minor,
		gz ? "true" : "false");
	expect_dump_facts(f, s, k);
	if (is_bitmapped(k)) {
		nr = held_runs(held, s->phys_pages, &r);
		expect_runs(f, r, nr);
		free(r);
	} else {
		expect_runs(f, s->runs, s->nruns);
	}
	for (uint64_t p = 0; p < s->phys_pages; p++)
		present += held[p];
	fprintf(f, "  \"pages_present\": %" PRIu64 ",\n", present);
	expect_header(f, s, k);
	/* "warnings" is left out on purpose: unwritten header fields hold the
	 * PAGE fill, and a reader may legitimately remark on them. */
	fprintf(f, "}\n");
	fclose(f);
}

/* --------------------------------------------------------- checks */

/* Read-back checks for physical.sh, one per line:
 *   data   PA LEN SCOPE   bytes must equal the raw file's [PA, PA+LEN)
 *   nodata PA LEN SCOPE   read must exit 1 with "NODATA" on stderr
 * SCOPE "all" runs on the plain and the .gz file, "plain" on the plain
 * file only (the .gz files get a smaller set to keep the suite fast). */
struct checks {
	FILE *f;
	unsigned nnodata, nsingle; /* nsingle: aligned one-page data reads */
};

static void chk(struct checks *c, const char *op, uint64_t pa, uint64_t len,
		int all)
{
	fprintf(c->f, "%s 0x%" PRIx64 " 0x%" PRIx64 " %s\n", op, pa, len,
		all ? "all" : "plain");
	if (op[0] == 'n')
		c->nnodata++;
	else if (len == PAGE && pa % PAGE == 0)
		c->nsingle++;
}

static uint32_t lcg(uint32_t *st)
{
	*st = *st * 1103515245u + 12345u;
	return *st >> 8;
}

static void checks_data(struct checks *c, const struct spec *s, enum kind k,
			const uint8_t *held, const struct range *r, size_t nr)
{
	int straddle_done = 0;
	for (size_t i = 0; i < nr; i++) {
		uint64_t a = r[i].first, n = r[i].count;
		/* whole run in one read (every held page compared once) */
		chk(c, "data", a * PAGE, n * PAGE, 0);
		chk(c, "data", a * PAGE, PAGE, 1);
		if (n > 1) {
			chk(c, "data", (a + n - 1) * PAGE, PAGE, 1);
			chk(c, "data", a * PAGE, 2 * PAGE, !straddle_done);
			chk(c, "data", (a + 1) * PAGE - 0x10, 0x20, !straddle_done);
			chk(c, "data", a * PAGE + 0x123, PAGE, 0);
			straddle_done = 1;
		}
	}
	/* Pages where two stored runs touch: contiguous in PA, apart in the
	 * header's run list. */
	if (k != K_RAW)
		for (size_t i = 1; i < s->nruns; i++) {
			uint64_t e = s->runs[i - 1].first + s->runs[i - 1].count;
			if (e == s->runs[i].first && held[e - 1] && held[e])
				chk(c, "data", (e - 1) * PAGE, 2 * PAGE, 1);
		}
	/* random held pages until there are at least 64 single-page reads */
	uint32_t st = s->seed ^ (uint32_t)k * 0x51ed27u;
	uint64_t total = 0;
	for (size_t i = 0; i < nr; i++)
		total += r[i].count;
	for (unsigned tries = 0; c->nsingle < 64 && tries < 100000 && total; tries++) {
		uint64_t pfn = lcg(&st) % s->phys_pages;
		if (held[pfn])
			chk(c, "data", pfn * PAGE, PAGE, 0);
	}
}

static void checks_nodata(struct checks *c, const struct spec *s,
			  const uint8_t *held)
{
	uint64_t end = runs_end(s);
	int first_gap = 1;
	for (uint64_t p = 0; p < end && c->nnodata < 24;) {
		if (held[p]) {
			p++;
			continue;
		}
		uint64_t q = p;
		while (q < end && !held[q])
			q++;
		chk(c, "nodata", p * PAGE, PAGE, first_gap);
		if (q - p > 1)
			chk(c, "nodata", (q - 1) * PAGE, PAGE, 0);
		if (p > 0) /* starts in a held page, runs into the gap */
			chk(c, "nodata", (p - 1) * PAGE, 2 * PAGE, 0);
		first_gap = 0;
		p = q;
	}
	/* past the last page any image holds */
	chk(c, "nodata", (end + 0x10) * PAGE, PAGE, 1);
}

static void write_checks(const char *path, const struct spec *s, enum kind k,
			 const uint8_t *held)
{
	struct checks c = { fopen(path, "w"), 0, 0 };
	struct range *r;
	if (!c.f)
		die("cannot create ", path);
	size_t nr = held_runs(held, s->phys_pages, &r);
	checks_data(&c, s, k, held, r, nr);
	checks_nodata(&c, s, held);
	free(r);
	if (fclose(c.f) != 0)
		die("cannot write ", path);
}

static void write_pages(FILE *f, const struct spec *s, enum kind k,
			const uint8_t *held)
{
	struct range *r;
	size_t nr = held_runs(held, s->phys_pages, &r);
	for (size_t i = 0; i < nr; i++)
		fprintf(f, "%s 0x%" PRIx64 " 0x%" PRIx64 "\n", kind_names[k],
			r[i].first, r[i].count);
	free(r);
}

/* ------------------------------------------------------- --corrupt */

static void garbage(struct buf *b, size_t len, uint32_t seed)
{
	b->p = xcalloc(len, 1);
	b->len = len;
	for (size_t i = 0; i < len; i++)
		b->p[i] = (uint8_t)mix(seed, i, 0x5a);
	if (len)
		b->p[0] = 'G'; /* neither "PAGE", ELF, "KDUMP" nor gzip */
}

static void need(int cond, const char *what)
{
	if (!cond)
		die("--corrupt: ", what);
}

/* Field offsets of the run list by width. */
static void off_runs(enum kind k, size_t *nruns, size_t *npages, size_t *run0,
		     size_t *stride)
{
	*nruns = is_64(k) ? 0x88 : 0x64;
	*npages = is_64(k) ? 0x90 : 0x68;
	*run0 = is_64(k) ? 0x98 : 0x6c;
	*stride = is_64(k) ? 16 : 8;
}

static void put_w(uint8_t *p, enum kind k, uint64_t v)
{
	if (is_64(k))
		put64(p, v);
	else
		put32(p, (uint32_t)v);
}

/* Offsets of the bitmapped header's fields: Pages, BitmapSize, first page,
 * bitmap; width of the first three in bytes. */
static void off_sub(enum kind k, const struct layout *l, size_t *pages,
		    size_t *bits, size_t *first, size_t *bm, int *w8)
{
	if (is_summary(k)) {
		*pages = l->sub + 0x14;
		*bits = l->sub + 0x10;
		*first = l->sub + 0x0c;
		*bm = l->sub + (k == K_D64KERNEL ? 0x28 : 0x20);
		*w8 = 0;
	} else {
		*pages = l->sub + 0x28;
		*bits = l->sub + 0x30;
		*first = l->sub + 0x20;
		*bm = l->sub + 0x38;
		*w8 = 1;
	}
}

static void put_sub(uint8_t *p, int w8, uint64_t v)
{
	if (w8)
		put64(p, v);
	else
		put32(p, (uint32_t)v);
}

static uint64_t get_sub(const uint8_t *p, int w8)
{
	return w8 ? get64(p) : get32(p);
}

/* Apply CASE to the built image b of kind k. Returns 0 for an unknown
 * case or one that does not apply to the kind. */
static int corrupt(const char *cs, enum kind k, const struct layout *l,
		   const struct spec *s, struct buf *b)
{
	size_t o_nr, o_np, o_r0, st;
	size_t o_pg, o_bits, o_first, o_bm;
	int w8;
	off_runs(k, &o_nr, &o_np, &o_r0, &st);
	off_sub(k, l, &o_pg, &o_bits, &o_first, &o_bm, &w8);
	int full = k == K_D32FULL || k == K_D64FULL;
	if (is_kdump(k))
		return 0; /* no cases of their own (gz-truncated applies) */
	if (strcmp(cs, "short-header") == 0 && k != K_RAW) {
		b->len = (size_t)(l->hdr_size * 3 / 4);
	} else if (strcmp(cs, "truncated-body") == 0 && k != K_RAW) {
		need(l->npages >= 2, "too few pages");
		b->len = (size_t)(l->first_page + l->npages / 2 * PAGE);
	} else if (strcmp(cs, "dump-type") == 0 && k != K_RAW) {
		put32(b->p + (is_64(k) ? 0xf98 : 0xf88), 0x77);
	} else if (strcmp(cs, "runs-overflow") == 0 && full) {
		put32(b->p + o_nr, 0x10000);
	} else if (strcmp(cs, "pages-mismatch") == 0 && full) {
		put_w(b->p + o_np, k, total_run_pages(s) + 1);
	} else if (strcmp(cs, "zero-pages") == 0 && full) {
		put32(b->p + o_nr, 0);
		put_w(b->p + o_np, k, 0);
		b->len = (size_t)l->hdr_size;
	} else if (strcmp(cs, "overlap") == 0 && full) {
		need(s->nruns >= 2, "overlap needs two runs");
		/* run 1 starts on the last page of run 0; counts unchanged */
		put_w(b->p + o_r0 + st, k, s->runs[0].first + s->runs[0].count - 1);
	} else if (strcmp(cs, "zero-pages") == 0 && is_bitmapped(k)) {
		memset(b->p + o_bm, 0, (size_t)(l->first_page - o_bm));
		put_sub(b->p + o_pg, w8, 0);
		b->len = (size_t)l->first_page;
	} else if (strcmp(cs, "short-subheader") == 0 && is_bitmapped(k)) {
		b->len = (size_t)(l->sub + 0x10);
	} else if (strcmp(cs, "bitmap-eof") == 0 && is_bitmapped(k)) {
		put_sub(b->p + o_bits, w8, 0x7ffffff8);
	} else if (strcmp(cs, "pages-count") == 0 && is_bitmapped(k)) {
		put_sub(b->p + o_pg, w8, get_sub(b->p + o_pg, w8) + 7);
	} else if (strcmp(cs, "first-page-eof") == 0 && is_bitmapped(k)) {
		put_sub(b->p + o_first, w8, round_up(b->len, PAGE) + 0x100000);
	} else {
		return 0;
	}
	return 1;
}

static int run_corrupt(const char *what, const char *specpath,
		       const char *outpath, const char *content)
{
	char cs[64];
	struct spec s;
	struct buf b = { NULL, 0 }, z;
	struct layout lay;
	snprintf(cs, sizeof cs, "%s", what);
	char *plus = strstr(cs, "+gz");
	int gz = plus && plus[3] == '\0';
	if (gz)
		*plus = '\0';
	spec_load(&s, specpath, content);
	if (strcmp(cs, "empty") == 0) {
		b.p = xcalloc(1, 1);
	} else if (strcmp(cs, "garbage") == 0) {
		garbage(&b, 100, s.seed);
	} else if (strcmp(cs, "subpage") == 0) {
		garbage(&b, PAGE - 1, s.seed);
	} else {
		char *colon = strchr(cs, ':');
		if (!colon)
			die("--corrupt: want KIND:CASE, got ", what);
		*colon = '\0';
		int k = kind_by_name(cs);
		if (k < 0)
			die("--corrupt: unknown kind in ", what);
		uint8_t *held = held_pages(&s, (enum kind)k);
		build_kind(&s, (enum kind)k, held, &b, &lay);
		free(held);
		if (strcmp(colon + 1, "gz-truncated") == 0) {
			gzip_mem(&b, &z);
			free(b.p);
			b = z;
			b.len /= 2;
		} else if (!corrupt(colon + 1, (enum kind)k, &lay, &s, &b)) {
			die("--corrupt: case does not apply: ", what);
		}
	}
	if (gz) {
		gzip_mem(&b, &z);
		free(b.p);
		b = z;
	}
	write_file(outpath, b.p, b.len);
	free(b.p);
	free(s.content);
	return 0;
}

/* ------------------------------------------------------------ main */

static void outname(char *dst, size_t n, const char *dir, const struct spec *s,
		    const char *kind, const char *suffix)
{
	if ((size_t)snprintf(dst, n, "%s/%s.%s%s", dir, s->name, kind, suffix) >= n)
		die("path too long: ", dir);
}

static int run_spec(const char *specpath, const char *outdir,
		    const char *content)
{
	struct spec s;
	char path[4096];
	spec_load(&s, specpath, content);
	snprintf(path, sizeof path, "%s/%s.pages", outdir, s.name);
	FILE *pages = fopen(path, "w");
	if (!pages)
		die("cannot create ", path);
	fprintf(pages, "# kind first-pfn page-count (maximal runs of held pages)\n");
	for (int ki = 0; ki < K_COUNT; ki++) {
		enum kind k = (enum kind)ki;
		struct buf b, z;
		struct layout lay;
		if (!(s.kinds & (1u << k)))
			continue;
		uint8_t *held = held_pages(&s, k);
		build_kind(&s, k, held, &b, &lay);
		outname(path, sizeof path, outdir, &s, kind_names[k], "");
		write_file(path, b.p, b.len);
		gzip_mem(&b, &z);
		outname(path, sizeof path, outdir, &s, kind_names[k], ".gz");
		write_file(path, z.p, z.len);
		outname(path, sizeof path, outdir, &s, kind_names[k], ".expect.json");
		write_expect(path, &s, k, held, 0);
		outname(path, sizeof path, outdir, &s, kind_names[k], ".gz.expect.json");
		write_expect(path, &s, k, held, 1);
		outname(path, sizeof path, outdir, &s, kind_names[k], ".checks");
		write_checks(path, &s, k, held);
		write_pages(pages, &s, k, held);
		free(b.p);
		free(z.p);
		free(held);
	}
	if (fclose(pages) != 0)
		die("cannot write ", "pages list");
	free(s.content);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mkfixture [--content RAWFILE] SPEC OUTDIR\n"
		"       mkfixture [--content RAWFILE] --corrupt KIND:CASE[+gz] SPEC OUTFILE\n"
		"       mkfixture --corrupt empty|garbage|subpage[+gz] SPEC OUTFILE\n"
		"--content: page bytes from a raw memory file (also the spec key\n"
		"           content_from FILE) instead of the content rule\n"
		"cases: short-header truncated-body dump-type gz-truncated (any dump)\n"
		"       runs-overflow pages-mismatch zero-pages overlap (full)\n"
		"       zero-pages bitmap-eof pages-count first-page-eof short-subheader\n"
		"       (kernel, bitmap)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *content = NULL;
	if (argc >= 3 && strcmp(argv[1], "--content") == 0) {
		content = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc == 5 && strcmp(argv[1], "--corrupt") == 0)
		return run_corrupt(argv[2], argv[3], argv[4], content);
	if (argc != 3 || argv[1][0] == '-')
		usage();
	return run_spec(argv[1], argv[2], content);
}
