/* SPDX-License-Identifier: MIT */
/* exq read (--pa|--va) ADDR LEN IMAGE: physical or kernel virtual memory
 * as a hex dump, as raw bytes with -o FILE, or with --json as a document
 * holding the bytes in hex. Reads in chunks, so LEN is not bounded by
 * memory (except for --json). -o is written to a temporary file beside
 * FILE and renamed into place; it is never the IMAGE (main.c checks). */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (64u * 1024u)
#define MAX_LEN (1ull << 40)
#define MAX_JSON_LEN (16ull << 20)

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
			putchar(p[i + j] >= 0x20 && p[i + j] < 0x7f ? p[i + j]
								    : '.');
		puts("|");
	}
}

/* The -o file: a temporary beside it, renamed into place at the end. */
struct out_file {
	FILE *f;
	char *tmp;
};

static int out_open(struct out_file *of, const char *path)
{
	struct stat sb;
	int fd;
	of->f = NULL;
	of->tmp = NULL;
	/* a device or a pipe (/dev/stdout, /dev/full) is written as it is:
	 * no temporary beside it, nothing renamed over it */
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		of->f = fopen(path, "wb");
		return of->f ? 0 : errno;
	}
	/* mkstemp's template: the six X are replaced by a unique name */
	static const char suffix[] = ".exq-XXXXXX";
	size_t n = strlen(path) + sizeof(suffix);
	of->tmp = malloc(n);
	if (!of->tmp)
		return ENOMEM;
	snprintf(of->tmp, n, "%s%s", path, suffix);
	fd = mkstemp(of->tmp);
	if (fd < 0 || !(of->f = fdopen(fd, "wb"))) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(of->tmp);
		}
		free(of->tmp);
		of->tmp = NULL;
		return e;
	}
	return 0;
}

/* keep: rename into place (else remove). Returns 0 or an errno. */
static int out_close(struct out_file *of, const char *path, int keep)
{
	int e = 0;
	if (!of->f)
		return 0;
	errno = 0;
	if (fflush(of->f) != 0 || ferror(of->f) ||
	    (of->tmp && fsync(fileno(of->f)) != 0))
		e = errno ? errno : EIO;
	if (fclose(of->f) != 0 && !e)
		e = errno;
	of->f = NULL;
	if (!of->tmp)
		return e;
	if (keep && !e && rename(of->tmp, path) != 0)
		e = errno;
	if (!keep || e)
		unlink(of->tmp);
	free(of->tmp);
	of->tmp = NULL;
	return e;
}

static void hex_append(char *dst, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;
	for (i = 0; i < n; i++) {
		dst[2 * i] = digits[p[i] >> 4];
		dst[2 * i + 1] = digits[p[i] & 15];
	}
}

static void read_json(const struct opts *o, const exq_image *img, uint64_t addr,
		      uint64_t len, uint64_t got, const char *hex)
{
	json_object *doc = cli_doc("read");
	json_object_object_add(doc, "image", cli_image_obj(img, o->image, o));
	json_object_object_add(
	    doc, "space", json_object_new_string(o->have_va ? "va" : "pa"));
	json_object_object_add(doc, "address", cli_jhex(addr));
	json_object_object_add(doc, "length",
			       json_object_new_int64((int64_t)len));
	json_object_object_add(doc, "bytes_read",
			       json_object_new_int64((int64_t)got));
	json_object_object_add(doc, "output",
			       o->out_file ? json_object_new_string(o->out_file)
					   : NULL);
	json_object_object_add(
	    doc, "data",
	    hex ? json_object_new_string_len(hex, (int)(2 * got)) : NULL);
	json_object_object_add(doc, "warnings", cli_warnings(img));
	cli_print_json(doc);
	json_object_put(doc);
}

int cmd_read(const struct opts *o)
{
	uint8_t *buf = NULL;
	char *hex = NULL;
	uint64_t len, off = 0, addr = o->have_va ? o->va : o->pa;
	exq_image *img;
	exq_vspace *vs = NULL;
	struct out_file of = {NULL, NULL};
	exq_status st = EXQ_OK;
	int code = 0, e;

	if (o->have_va && o->have_pa)
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"--va and --pa exclude each other");
	if ((!o->have_pa && !o->have_va) || o->npos != 2)
		return cli_fail(
		    o, EXIT_USAGE, EXQ_INVALID,
		    "usage: exq read (--pa|--va) ADDR LEN [-o FILE] IMAGE");
	if (cli_parse_count(o->pos[0], &len) || len == 0 || len > MAX_LEN)
		return cli_fail(
		    o, EXIT_USAGE, EXQ_INVALID,
		    "LEN must be a number from 1 to 2^40 (decimal, or hex "
		    "with 0x), got '%s'",
		    o->pos[0]);
	if (addr + len < addr)
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"ADDR + LEN wraps around 2^64");
	if (o->json && !o->out_file && len > MAX_JSON_LEN)
		return cli_fail(
		    o, EXIT_USAGE, EXQ_INVALID,
		    "--json holds at most 16 MiB of data; use -o FILE");
	img = cli_open(o, o->image, &code);
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
	if (buf && o->json && !o->out_file)
		hex = malloc(2 * len + 1);
	if (!buf || (o->json && !o->out_file && !hex)) {
		code = cli_fail(o, EXIT_NOMEM, EXQ_NOMEM, "out of memory");
		goto done;
	}
	if (o->out_file && (e = out_open(&of, o->out_file)) != 0) {
		code = cli_fail(o, EXIT_OUTPUT, EXQ_IO, "cannot write '%s': %s",
				o->out_file, strerror(e));
		goto done;
	}
	while (off < len) {
		size_t n = len - off > CHUNK ? CHUNK : (size_t)(len - off),
		       got = 0;
		st = vs ? exq_read_virt(vs, addr + off, buf, n, &got)
			: exq_read_phys(img, addr + off, buf, n, &got);
		if (of.f) {
			if (got && fwrite(buf, 1, got, of.f) != got) {
				code = cli_output_failed(o, o->out_file,
							 errno ? errno : EIO);
				goto done;
			}
		} else if (hex) {
			hex_append(hex + 2 * off, buf, got);
		} else {
			hexdump(addr + off, buf, got);
			if (ferror(stdout)) {
				code = cli_output_failed(o, "to stdout",
							 errno ? errno : EIO);
				goto done;
			}
		}
		off += got;
		if (st != EXQ_OK)
			break;
	}
	if (of.f && (e = out_close(&of, o->out_file, 1)) != 0) {
		code = cli_output_failed(o, o->out_file, e);
		goto done;
	}
	if (o->json)
		read_json(o, img, addr, len, off, hex);
	if (st != EXQ_OK)
		code =
		    cli_fail(o, cli_exit_analysis(st), st,
			     "read stopped after 0x%" PRIx64 " of 0x%" PRIx64
			     " bytes: %s (%s)",
			     off, len, exq_image_error(img), exq_strerror(st));
done:
	out_close(&of, o->out_file, 0);
	free(buf);
	free(hex);
	cli_text_warnings(o, img);
	exq_vspace_free(vs);
	exq_image_free(img);
	return code;
}
