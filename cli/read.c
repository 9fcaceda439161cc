/* SPDX-License-Identifier: MIT */
/* exq read (--pa|--va) ADDR LEN IMAGE: physical or kernel virtual memory
 * as a hex dump, or raw bytes with -o FILE. Reads in chunks, so LEN is not
 * bounded by memory. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (64u * 1024u)
#define MAX_LEN (1ull << 40)

static void hexdump(uint64_t addr, const uint8_t *p, size_t n)
{
	size_t i, j;
	for (i = 0; i < n; i += 16) {
		printf("%016" PRIx64 "  ", addr + i);
		for (j = 0; j < 16; j++) {
			if (i + j < n)
				printf("%02x ", p[i + j]);
			else
				fputs("   ", stdout);
			if (j == 7)
				putchar(' ');
		}
		fputs(" |", stdout);
		for (j = 0; j < 16 && i + j < n; j++)
			putchar(p[i + j] >= 0x20 && p[i + j] < 0x7f ? p[i + j] : '.');
		puts("|");
	}
}

static int parse_len(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		return -1;
	*v = strtoull(s, &end, 0);
	return errno || *end || *v == 0 || *v > MAX_LEN ? -1 : 0;
}

int cmd_read(const struct opts *o)
{
	uint8_t *buf;
	uint64_t len, off = 0, addr = o->have_va ? o->va : o->pa;
	exq_image *img;
	exq_vspace *vs = NULL;
	FILE *out = NULL;
	exq_status st = EXQ_OK;
	int code = 0;
	const char *path;

	if (o->have_va && o->have_pa)
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"--va and --pa exclude each other");
	if ((!o->have_pa && !o->have_va) || o->npos != 2)
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"usage: exq read (--pa|--va) ADDR LEN [-o FILE] "
				"IMAGE");
	if (parse_len(o->pos[0], &len))
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"LEN must be a number from 1 to 2^40, got '%s'",
				o->pos[0]);
	if (addr + len < addr)
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"ADDR + LEN wraps around 2^64");
	path = o->pos[1];
	img = cli_open(o, path, &code);
	if (!img)
		return code;
	if (o->have_va) {
		vs = cli_vspace(o, img, &code);
		if (!vs) {
			exq_image_free(img);
			return code;
		}
	}
	buf = malloc(CHUNK);
	if (o->out_file && buf) {
		out = fopen(o->out_file, "wb");
		if (!out) {
			code = cli_fail(o, EXIT_USAGE, EXQ_INVALID,
					"cannot write '%s': %s", o->out_file,
					strerror(errno));
			goto done;
		}
	}
	if (!buf) {
		code = cli_fail(o, EXIT_INTERNAL, EXQ_NOMEM, "out of memory");
		goto done;
	}
	while (off < len) {
		size_t n = len - off > CHUNK ? CHUNK : (size_t)(len - off), got = 0;
		st = vs ? exq_read_virt(vs, addr + off, buf, n, &got)
			: exq_read_phys(img, addr + off, buf, n, &got);
		if (out)
			fwrite(buf, 1, got, out);
		else
			hexdump(addr + off, buf, got);
		off += got;
		if (st != EXQ_OK)
			break;
	}
	if (st != EXQ_OK)
		code = cli_fail(o, cli_exit_analysis(st), st,
				"read stopped after 0x%" PRIx64 " of 0x%" PRIx64
				" bytes: %s (%s)",
				off, len, exq_image_error(img), exq_strerror(st));
	if (out && fclose(out) != 0 && code == 0)
		code = cli_fail(o, EXIT_USAGE, EXQ_IO, "writing '%s' failed",
				o->out_file);
	out = NULL;
done:
	if (out)
		fclose(out);
	free(buf);
	cli_text_warnings(o, img);
	exq_vspace_free(vs);
	exq_image_free(img);
	return code;
}
