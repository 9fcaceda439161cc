/* SPDX-License-Identifier: MIT */
/* Helpers every command shares: one run's output (its JSON document written
 * in one piece, checked writes), failures and exit codes, numbers on the
 * command line, opening the image, its address space and the kernel, and
 * the JSON objects several commands print. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The run in progress. The CLI runs one command on one image at a time;
 * this is the CLI's state, never the library's. */
static struct {
	json_object *doc;  /* the document to write (or compare) */
	exq_status status; /* what ended the run */
	int output_failed;
	int nomem;	      /* out of memory somewhere: the run ends with 7 */
	int nomem_said;	      /* and stderr said so */
	char nomem_msg[2048]; /* the message that said so, if any */
} run;

static void set_nomem(const char *msg)
{
	if (!run.nomem_msg[0] && msg)
		snprintf(run.nomem_msg, sizeof(run.nomem_msg), "%s", msg);
	run.nomem = 1;
}

json_object *cli_jchk(json_object *v)
{
	if (!v)
		set_nomem(NULL);
	return v;
}

/* A value that could not be added is not freed at once: the caller may
 * still fill it (the commands add a child, then its members). It waits
 * here, in a fixed array, until the run ends; past the array it leaks. */
static json_object *orphans[1024];
static size_t norphans;

static void orphan(json_object *val)
{
	set_nomem(NULL);
	if (val && norphans < sizeof(orphans) / sizeof(orphans[0]))
		orphans[norphans++] = val;
}

static void free_orphans(void)
{
	while (norphans)
		json_object_put(orphans[--norphans]);
}

int cli_jadd(json_object *obj, const char *key, json_object *val)
{
	int r = json_object_get_type(obj) == json_type_object
		    ? (json_object_object_add)(obj, key, val)
		    : -1;
	if (r != 0)
		orphan(val);
	return r;
}

int cli_jpush(json_object *arr, json_object *val)
{
	int r = json_object_get_type(arr) == json_type_array
		    ? (json_object_array_add)(arr, val)
		    : -1;
	if (r != 0)
		orphan(val);
	return r;
}

void cli_note_status(exq_status st)
{
	if (st == EXQ_NOMEM)
		set_nomem(NULL);
}

exq_status cli_symbolize(exq_kernel *k, uint64_t a, char *buf, size_t len)
{
	exq_status st = exq_symbolize(k, a, buf, len);
	cli_note_status(st);
	return st;
}

exq_status cli_symbolize_export(exq_kernel *k, uint64_t a, char *buf,
				size_t len)
{
	exq_status st = exq_symbolize_export(k, a, buf, len);
	cli_note_status(st);
	return st;
}

/* ------------------------------------------------------------ numbers */

static int parse_base(const char *s, int base, uint64_t *v)
{
	char *end;
	uint64_t x;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s || strspn(s, base == 16 ? "0123456789abcdefABCDEF"
					: "0123456789") != strlen(s))
		return -1;
	errno = 0;
	x = strtoull(s, &end, base);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

int cli_parse_addr(const char *s, uint64_t *v)
{
	return parse_base(s, 16, v);
}

int cli_parse_count(const char *s, uint64_t *v)
{
	return parse_base(s, 10, v);
}

/* ------------------------------------------------------------ text */

const char *cli_hex(char *buf, uint64_t v)
{
	snprintf(buf, 19, "0x%" PRIx64, v);
	return buf;
}

json_object *cli_jhex(uint64_t v)
{
	char b[19];
	return json_object_new_string(cli_hex(b, v));
}

const char *cli_filetime(char *buf, size_t len, uint64_t ft)
{
	/* FILETIME counts 100 ns from 1601-01-01; Unix time from 1970. */
	const uint64_t delta = 11644473600ull;
	uint64_t secs = ft / 10000000ull;
	struct tm tm;
	time_t t;
	if (secs < delta || secs - delta > (uint64_t)253402300799ll)
		return NULL;
	t = (time_t)(secs - delta);
	if (!gmtime_r(&t, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return NULL;
	return buf;
}

static const struct {
	uint32_t bit;
	const char *name;
} xflag_names[] = {
    {EXQ_XF_PRESENT, "P"},
    {EXQ_XF_WRITE, "RW"},
    {EXQ_XF_USER, "US"},
    {EXQ_XF_WRITETHROUGH, "PWT"},
    {EXQ_XF_CACHEDISABLE, "PCD"},
    {EXQ_XF_ACCESSED, "A"},
    {EXQ_XF_DIRTY, "D"},
    {EXQ_XF_LARGE, "PS"},
    {EXQ_XF_GLOBAL, "G"},
    {EXQ_XF_NX, "NX"},
    {EXQ_XF_TRANSITION, "TRANSITION"},
    {EXQ_XF_PROTOTYPE, "PROTOTYPE"},
};
#define NXFLAGS (sizeof(xflag_names) / sizeof(xflag_names[0]))

const char *cli_xflags(char *buf, size_t len, uint32_t flags)
{
	size_t i, o = 0;
	buf[0] = '\0';
	for (i = 0; i < NXFLAGS; i++) {
		int n;
		if (!(flags & xflag_names[i].bit))
			continue;
		n = snprintf(buf + o, len - o, "%s%s", o ? " " : "",
			     xflag_names[i].name);
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
	if (!o)
		snprintf(buf, len, "-");
	return buf;
}

json_object *cli_xflags_json(uint32_t flags)
{
	json_object *a = json_object_new_array();
	size_t i;
	for (i = 0; i < NXFLAGS; i++)
		if (flags & xflag_names[i].bit)
			json_object_array_add(
			    a, json_object_new_string(xflag_names[i].name));
	return a;
}

/* ------------------------------------------------------------ messages */

static void vmsg(const struct opts *o, const char *fmt, va_list ap)
{
	char msg[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (o->image)
		fprintf(stderr, "exq: %s: %s: %s\n",
			o->command ? o->command : "exq", o->image, msg);
	else if (o->command)
		fprintf(stderr, "exq: %s: %s\n", o->command, msg);
	else
		fprintf(stderr, "exq: %s\n", msg);
}

void cli_msg(const struct opts *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(o, fmt, ap);
	va_end(ap);
}

void cli_incomplete(const struct opts *o, exq_status st, const char *fmt, ...)
{
	va_list ap;
	run.status = st;
	va_start(ap, fmt);
	vmsg(o, fmt, ap);
	va_end(ap);
	if (st == EXQ_NOMEM) {
		set_nomem(NULL);
		run.nomem_said = 1;
	}
}

int cli_exit_open(exq_status st)
{
	switch (st) {
	case EXQ_OK:
		return EXIT_OK;
	case EXQ_INVALID:
		return EXIT_USAGE;
	case EXQ_IO:
	case EXQ_CORRUPT:
	case EXQ_UNSUPPORTED:
	case EXQ_DEP:
	case EXQ_LIMIT:
	case EXQ_NODATA:
	case EXQ_NOTPRESENT:
		return EXIT_OPEN;
	case EXQ_NOTFOUND:
		return EXIT_NOTFOUND;
	case EXQ_NOMEM:
		return EXIT_NOMEM;
	default:
		return EXIT_INTERNAL;
	}
}

int cli_exit_analysis(exq_status st)
{
	switch (st) {
	case EXQ_OK:
		return EXIT_OK;
	case EXQ_NODATA:
	case EXQ_NOTPRESENT:
	case EXQ_LIMIT:
	case EXQ_CORRUPT:
	case EXQ_CYCLE:
	case EXQ_IO:
		return EXIT_INCOMPLETE;
	case EXQ_INVALID:
		return EXIT_USAGE;
	case EXQ_NOTFOUND:
	case EXQ_UNSUPPORTED:
		return EXIT_NOTFOUND;
	case EXQ_NOMEM:
		return EXIT_NOMEM;
	default:
		return EXIT_INTERNAL;
	}
}

static json_object *error_obj(const char *status, const char *msg)
{
	json_object *err = json_object_new_object();
	json_object_object_add(err, "status", json_object_new_string(status));
	json_object_object_add(err, "message", json_object_new_string(msg));
	return err;
}

int cli_fail(const struct opts *o, int code, exq_status st, const char *fmt,
	     ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_msg(o, "%s", msg);
	run.status = st;
	if (st == EXQ_NOMEM || code == EXIT_NOMEM) {
		set_nomem(msg);
		run.nomem_said = 1;
	}
	if (o->json) {
		if (!run.doc)
			run.doc = cli_doc(o->command ? o->command : "exq");
		if (!json_object_object_get_ex(run.doc, "error", NULL))
			json_object_object_add(
			    run.doc, "error", error_obj(exq_strerror(st), msg));
	}
	return code;
}

int cli_output_failed(const struct opts *o, const char *what, int err)
{
	run.output_failed = 1;
	cli_msg(o, "writing %s failed: %s", what, strerror(err));
	return EXIT_OUTPUT;
}

/* ------------------------------------------------------------ JSON */

json_object *cli_doc(const char *command)
{
	json_object *doc = json_object_new_object();
	json_object_object_add(doc, "schema", json_object_new_string("exq/1"));
	json_object_object_add(doc, "command", json_object_new_string(command));
	return doc;
}

void cli_print_json(json_object *doc)
{
	json_object_put(run.doc);
	run.doc = json_object_get(doc);
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t c;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return len;
}

char *cli_json_text(json_object *doc, int compact, size_t *len)
{
	const char *s = json_object_to_json_string_ext(
	    doc, (compact ? JSON_C_TO_STRING_PLAIN
			  : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) |
		     JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n, i, o = 0, bad = 0;
	char *out;
	if (!s)
		return NULL;
	n = strlen(s);
	for (i = 0; i < n;) {
		size_t l = utf8_len((const unsigned char *)s + i, n - i);
		bad += !l;
		i += l ? l : 1;
	}
	/* json-c copies bytes >= 0x80 as they are, so an invalid one sits
	 * inside a string: the text \xNN (escaped backslash) replaces it. */
	out = malloc(n + bad * 4 + 2);
	if (!out)
		return NULL;
	for (i = 0; i < n;) {
		size_t l = utf8_len((const unsigned char *)s + i, n - i);
		if (l) {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		} else {
			o += (size_t)sprintf(out + o, "\\\\x%02x",
					     (unsigned char)s[i]);
			i++;
		}
	}
	out[o++] = '\n';
	out[o] = '\0';
	*len = o;
	return out;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

json_object *cli_warnings(const exq_image *img)
{
	json_object *a = json_object_new_array();
	size_t i, n = exq_image_warning_count(img);
	for (i = 0; i < n; i++)
		json_object_array_add(
		    a, json_object_new_string(exq_image_warning(img, i)));
	return a;
}

void cli_text_warnings(const struct opts *o, const exq_image *img)
{
	size_t i, n = exq_image_warning_count(img);
	if (o->json || o->quiet)
		return;
	for (i = 0; i < n; i++)
		cli_msg(o, "warning: %s", exq_image_warning(img, i));
}

json_object *cli_image_obj(const exq_image *img, const char *path,
			   const struct opts *o)
{
	const exq_image_info *in = exq_image_get_info(img);
	json_object *im = json_object_new_object();
	(void)o;
#define STR_OR_NULL(s) ((s) ? json_object_new_string(s) : NULL)
	json_object_object_add(im, "path", json_object_new_string(path));
	json_object_object_add(im, "format",
			       json_object_new_string(in->format));
	json_object_object_add(im, "dump_type", STR_OR_NULL(in->dump_type));
	json_object_object_add(im, "machine",
			       STR_OR_NULL(exq_machine_name(in->machine)));
	json_object_object_add(im, "paging",
			       STR_OR_NULL(exq_paging_name(in->paging)));
	json_object_object_add(
	    im, "dtb", in->have & EXQ_HAVE_DTB ? cli_jhex(in->dtb) : NULL);
	json_object_object_add(
	    im, "dtb_source",
	    in->have & EXQ_HAVE_DTB ? STR_OR_NULL(in->dtb_source) : NULL);
	json_object_object_add(im, "build",
			       in->have & EXQ_HAVE_BUILD
				   ? json_object_new_int64(in->build)
				   : NULL);
#undef STR_OR_NULL
	json_object_object_add(im, "gzip", json_object_new_boolean(in->gzip));
	json_object_object_add(im, "size", cli_jhex(in->image_size));
	return im;
}

/* ------------------------------------------------------------ a run */

void cli_run_begin(const struct opts *o)
{
	(void)o;
	json_object_put(run.doc);
	run.doc = NULL;
	run.status = EXQ_OK;
	run.output_failed = 0;
	run.nomem = run.nomem_said = 0;
	run.nomem_msg[0] = '\0';
}

/* Every document names its image and says how its run ended. */
static void finish_doc(const struct opts *o, int code)
{
	json_object *im = NULL;
	const char *status;
	if (!run.doc)
		run.doc = cli_doc(o->command ? o->command : "exq");
	if (o->image) {
		if (!json_object_object_get_ex(run.doc, "image", &im) || !im) {
			im = json_object_new_object();
			json_object_object_add(run.doc, "image", im);
		}
		if (!json_object_object_get_ex(im, "path", NULL))
			json_object_object_add(
			    im, "path", json_object_new_string(o->image));
	}
	status = code == EXIT_OK	   ? "OK"
		 : run.status != EXQ_OK	   ? exq_strerror(run.status)
		 : code == EXIT_USAGE	   ? exq_strerror(EXQ_INVALID)
		 : code == EXIT_INCOMPLETE ? "INCOMPLETE"
		 : code == EXIT_NOTFOUND   ? exq_strerror(EXQ_NOTFOUND)
					   : "ERROR";
	json_object_object_add(run.doc, "status",
			       json_object_new_string(status));
	json_object_object_add(run.doc, "exit_code", json_object_new_int(code));
}

/* Appends s to b (capacity cap, length *n) as the inside of a JSON
 * string: quotes, backslashes and control bytes escaped, bytes that are
 * not UTF-8 written as the text \\xNN as cli_json_text does. */
static void jstr_put(char *b, size_t cap, size_t *n, const char *s)
{
	size_t len = strlen(s), i = 0;
	while (i < len && *n + 8 < cap) {
		unsigned char c = (unsigned char)s[i];
		size_t l = utf8_len((const unsigned char *)s + i, len - i);
		if (c == '"' || c == '\\') {
			b[(*n)++] = '\\';
			b[(*n)++] = (char)c;
		} else if (c < 0x20) {
			*n += (size_t)snprintf(b + *n, cap - *n, "\\u%04x", c);
		} else if (l) {
			if (*n + l + 8 >= cap)
				break;
			memcpy(b + *n, s + i, l);
			*n += l;
			i += l;
			continue;
		} else {
			*n += (size_t)snprintf(b + *n, cap - *n, "\\\\x%02x", c);
		}
		i++;
	}
}

/* The run's document when memory ran out: built in a static buffer (no
 * allocation), compact, on one line, the same keys every failing run's
 * document has. Returns 0 or an errno. */
static int nomem_doc(const struct opts *o)
{
	static char b[8192];
	size_t n = 0;
	n += (size_t)snprintf(b, sizeof(b), "{\"schema\":\"exq/1\",\"command\":\"");
	jstr_put(b, sizeof(b) - 512, &n, o->command ? o->command : "exq");
	n += (size_t)snprintf(b + n, sizeof(b) - n,
			      "\",\"error\":{\"status\":\"NOMEM\",\"message\":\"");
	jstr_put(b, sizeof(b) - 512, &n,
		 run.nomem_msg[0] ? run.nomem_msg : "out of memory");
	n += (size_t)snprintf(b + n, sizeof(b) - n, "\"}");
	if (o->image) {
		n += (size_t)snprintf(b + n, sizeof(b) - n,
				      ",\"image\":{\"path\":\"");
		jstr_put(b, sizeof(b) - 128, &n, o->image);
		n += (size_t)snprintf(b + n, sizeof(b) - n, "\"}");
	}
	n += (size_t)snprintf(b + n, sizeof(b) - n,
			      ",\"status\":\"NOMEM\",\"exit_code\":%d}\n",
			      EXIT_NOMEM);
	return write_all(1, b, n);
}

int cli_run_end(const struct opts *o, int code)
{
	if (run.nomem && !o->json) {
		/* text output stops where memory ran out */
		if (!run.nomem_said)
			cli_msg(o, "out of memory (NOMEM): the output is "
				   "incomplete");
		code = EXIT_NOMEM;
	} else if (o->expect && run.nomem) {
		cli_msg(o, "--expect: out of memory: nothing compared");
		code = EXIT_NOMEM;
	} else if (o->expect) {
		char err[512];
		int r;
		finish_doc(o, code);
		if (fflush(stdout) != 0 || ferror(stdout))
			return cli_output_failed(o, "to stdout",
						 errno ? errno : EIO);
		r = cli_expect(run.doc, o->expect, stdout, err, sizeof(err));
		if (r < 0) {
			cli_msg(o, "--expect: %s", err);
			code = EXIT_USAGE;
		} else {
			code = r ? EXIT_INCOMPLETE : EXIT_OK;
		}
	} else if (o->json) {
		char *text;
		size_t len;
		int e;
		finish_doc(o, code);
		text = run.nomem ? NULL : cli_json_text(run.doc, o->jsonl, &len);
		if (!text) {
			if (!run.nomem_said)
				cli_msg(o, "out of memory building the JSON "
					   "document (NOMEM)");
			set_nomem("out of memory building the JSON document");
			code = EXIT_NOMEM;
			if (fflush(stdout) != 0 ||
			    (e = nomem_doc(o)) != 0)
				code = cli_output_failed(o, "to stdout",
							 errno ? errno : EIO);
		} else {
			/* nothing else went to stdout through stdio in JSON
			 * mode; the document goes out in one write(2) */
			if (fflush(stdout) != 0)
				code = cli_output_failed(o, "to stdout", errno);
			else if ((e = write_all(1, text, len)) != 0)
				code = cli_output_failed(o, "the JSON document",
							 e);
			free(text);
		}
	}
	if (!o->json && (fflush(stdout) != 0 || ferror(stdout)) &&
	    !run.output_failed)
		code = cli_output_failed(o, "to stdout", errno ? errno : EIO);
	if (run.output_failed)
		code = EXIT_OUTPUT;
	json_object_put(run.doc);
	run.doc = NULL;
	free_orphans();
	return code;
}

/* ------------------------------------------------------------ opening */

static int want_progress(const struct opts *o);

/* The image's long steps (a .gz index, a DTB or KDBG scan of every page):
 * say how far they got (a TTY, or --progress). Bytes for the index, pages
 * for the scans. */
static void image_progress_cb(void *arg, const char *what, uint64_t done,
			      uint64_t total)
{
	const struct opts *o = arg;
	int bytes = !strcmp(what, "gzip index");
	if (!total)
		return;
	fprintf(stderr,
		"\rexq: %s: %s: %s: %3u%% (%" PRIu64 " of %" PRIu64 " MiB)",
		o->command, o->image ? o->image : "-", what,
		(unsigned)(done * 100 / total), bytes ? done >> 20 : done >> 8,
		bytes ? total >> 20 : total >> 8);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

exq_image *cli_open(const struct opts *o, const char *path, int *code)
{
	exq_image *img = exq_image_new();
	exq_status st;
	if (!img) {
		*code = cli_fail(o, EXIT_NOMEM, EXQ_NOMEM, "out of memory");
		return NULL;
	}
	st = exq_image_set_format(img, o->format);
	if (st != EXQ_OK) {
		*code = cli_fail(o, EXIT_USAGE, st, "%s", exq_image_error(img));
		exq_image_free(img);
		return NULL;
	}
	if (o->have_dtb)
		exq_image_set_dtb(img, o->dtb);
	if (o->have_cpu)
		exq_image_set_cpu(img, o->cpu);
	if (want_progress(o))
		exq_image_set_progress(img, image_progress_cb, (void *)o);
	if (o->max_scan)
		exq_image_set_max_scan(img, o->max_scan);
	if (o->paging)
		exq_image_set_paging(
		    img, !strcmp(o->paging, "x86")   ? EXQ_PAGING_X86
			 : !strcmp(o->paging, "pae") ? EXQ_PAGING_PAE
						     : EXQ_PAGING_X64);
	st = exq_image_open_file(img, path);
	if (st != EXQ_OK) {
		*code = cli_fail(o, cli_exit_open(st), st, "%s (%s)",
				 exq_image_error(img), exq_strerror(st));
		exq_image_free(img);
		return NULL;
	}
	return img;
}

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	const struct opts *o = arg;
	if (!total)
		return;
	fprintf(stderr,
		"\rexq: %s: %s: scanning for the DTB: %3u%% (%" PRIu64
		" of %" PRIu64 " MiB)",
		o->command, o->image ? o->image : "-",
		(unsigned)(done * 100 / total), done >> 8, total >> 8);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

static int want_progress(const struct opts *o)
{
	return o->progress || (!o->quiet && isatty(2));
}

exq_status cli_dtb_scan(const struct opts *o, exq_image *img,
			exq_dtb_candidate **cands, size_t *n)
{
	return exq_dtb_scan(img, want_progress(o) ? progress_cb : NULL,
			    (void *)o, cands, n);
}

exq_status cli_find_dtb(const struct opts *o, exq_image *img,
			exq_dtb_candidate **cands, size_t *n)
{
	const exq_image_info *in = exq_image_get_info(img);
	*cands = NULL;
	*n = 0;
	if (in->have & EXQ_HAVE_DTB)
		return EXQ_OK;
	if (!o->verbose) {
		/* The library looks in the likely places first and reads
		 * every page only when nothing there passes; -v lists every
		 * candidate, so it always scans all. */
		exq_vspace *vs = NULL;
		exq_status st = exq_vspace_open(&vs, img);
		exq_vspace_free(vs);
		if (st == EXQ_OK)
			return EXQ_OK;
		if (st != EXQ_NOTFOUND)
			return st;
		/* not found: the scan below lists the rejected candidates
		 * (the image kept them: no second pass) */
	}
	return cli_dtb_scan(o, img, cands, n);
}

static const struct {
	uint32_t bit;
	const char *name;
} evidence_names[] = {
    {EXQ_DTB_EV_SELFMAP, "selfmap"},   {EXQ_DTB_EV_BOOT_LAYOUT, "boot-layout"},
    {EXQ_DTB_EV_BOOT_CR3, "boot-cr3"}, {EXQ_DTB_EV_SELFMAP_VA, "selfmap-va"},
    {EXQ_DTB_EV_KERNEL, "kernel"},
};
#define NEVIDENCE (sizeof(evidence_names) / sizeof(evidence_names[0]))

static void evidence_text(char *buf, size_t len, uint32_t ev)
{
	size_t i, o = 0;
	buf[0] = '\0';
	for (i = 0; i < NEVIDENCE; i++) {
		int n;
		if (!(ev & evidence_names[i].bit))
			continue;
		n = snprintf(buf + o, len - o, "%s%s", o ? "," : "",
			     evidence_names[i].name);
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
	if (!o)
		snprintf(buf, len, "-");
}

json_object *cli_dtb_candidates_json(const exq_dtb_candidate *c, size_t n)
{
	json_object *a = json_object_new_array();
	size_t i, k;
	for (i = 0; i < n; i++) {
		json_object *o = json_object_new_object(), *ev;
		json_object_object_add(o, "dtb", cli_jhex(c[i].dtb));
		json_object_object_add(
		    o, "paging",
		    json_object_new_string(exq_paging_name(c[i].paging)));
		json_object_object_add(o, "chosen",
				       json_object_new_boolean(c[i].chosen));
		json_object_object_add(o, "accepted",
				       json_object_new_boolean(c[i].accepted));
		json_object_object_add(o, "score",
				       json_object_new_int64(c[i].score));
		ev = json_object_new_array();
		for (k = 0; k < NEVIDENCE; k++)
			if (c[i].evidence & evidence_names[k].bit)
				json_object_array_add(
				    ev, json_object_new_string(
					    evidence_names[k].name));
		json_object_object_add(o, "evidence", ev);
		json_object_object_add(
		    o, "kernel_tables_inside",
		    json_object_new_int64(c[i].kernel_inside));
		json_object_object_add(
		    o, "kernel_tables_outside",
		    json_object_new_int64(c[i].kernel_outside));
		json_object_object_add(o, "sampled_entries_inside",
				       json_object_new_int64(c[i].ptes_inside));
		json_object_object_add(
		    o, "sampled_entries_outside",
		    json_object_new_int64(c[i].ptes_outside));
		json_object_object_add(o, "reason",
				       json_object_new_string(c[i].reason));
		json_object_array_add(a, o);
	}
	return a;
}

void cli_dtb_candidates_text(FILE *f, const exq_dtb_candidate *c, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		char ev[96];
		evidence_text(ev, sizeof(ev), c[i].evidence);
		fprintf(f,
			"  %-8s 0x%-10" PRIx64 " %-4s score %-6" PRId64
			" [%s] %s\n",
			c[i].chosen	? "chosen"
			: c[i].accepted ? "accepted"
					: "rejected",
			c[i].dtb, exq_paging_name(c[i].paging), c[i].score, ev,
			c[i].reason);
	}
}

exq_vspace *cli_vspace(const struct opts *o, exq_image *img, int *code)
{
	exq_dtb_candidate *c;
	exq_vspace *vs = NULL;
	size_t n;
	exq_status st = cli_find_dtb(o, img, &c, &n);
	if (st == EXQ_OK && c && o->verbose) {
		cli_msg(o, "DTB candidates:");
		cli_dtb_candidates_text(stderr, c, n);
	}
	if (st == EXQ_OK && c && (!n || !c[0].chosen)) {
		*code =
		    cli_fail(o, EXIT_NOTFOUND, EXQ_NOTFOUND,
			     "no DTB: the image names none and the scan "
			     "found no page directory that maps kernel "
			     "space (%zu candidate%s rejected%s)",
			     n, n == 1 ? "" : "s",
			     o->verbose ? "" : "; -v or 'exq scan' lists them");
		exq_dtb_candidates_free(c);
		return NULL;
	}
	exq_dtb_candidates_free(c);
	if (st == EXQ_OK)
		st = exq_vspace_open(&vs, img);
	if (st != EXQ_OK) {
		*code = cli_fail(o, cli_exit_analysis(st), st, "%s (%s)",
				 exq_image_error(img), exq_strerror(st));
		return NULL;
	}
	return vs;
}

/* ------------------------------------------------------------ kernel */

void cli_kernel_opts(const struct opts *o, exq_kernel_opts *ko)
{
	memset(ko, 0, sizeof(*ko));
	ko->have_kernel_base = o->have_kernel_base;
	ko->kernel_base = o->kernel_base;
	ko->have_module_list = o->have_modules_list;
	ko->module_list = o->modules_list;
}

int cli_open_kernel(const struct opts *o, exq_image *img, exq_vspace **vs,
		    exq_kernel **k)
{
	exq_kernel_opts ko;
	exq_status st;
	int code = 0;
	*vs = cli_vspace(o, img, &code);
	if (!*vs)
		return code;
	cli_kernel_opts(o, &ko);
	st = exq_kernel_open(k, *vs, &ko);
	if (st != EXQ_OK)
		return cli_fail(
		    o,
		    st == EXQ_NOTFOUND ? EXIT_NOTFOUND : cli_exit_analysis(st),
		    st, "%s (%s)", exq_image_error(img), exq_strerror(st));
	return 0;
}

json_object *cli_kernel_obj(const exq_kernel *k)
{
	const exq_kernel_info *ki;
	json_object *o;
	if (!k)
		return NULL;
	ki = exq_kernel_get_info(k);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(ki->name));
	json_object_object_add(o, "base", cli_jhex(ki->base));
	json_object_object_add(o, "size", cli_jhex(ki->size));
	json_object_object_add(o, "base_source",
			       json_object_new_string(ki->base_source));
	json_object_object_add(o, "build",
			       ki->has_build ? json_object_new_int64(ki->build)
					     : NULL);
	json_object_object_add(o, "os",
			       ki->os ? json_object_new_string(ki->os) : NULL);
	json_object_object_add(o, "profile",
			       ki->profile ? json_object_new_string(ki->profile)
					   : NULL);
	json_object_object_add(
	    o, "pdb",
	    ki->has_pdb ? json_object_new_string(ki->pdb_name) : NULL);
	json_object_object_add(
	    o, "pdb_guid",
	    ki->has_pdb ? json_object_new_string(ki->pdb_guid) : NULL);
	json_object_object_add(o, "pdb_age",
			       ki->has_pdb ? json_object_new_int64(ki->pdb_age)
					   : NULL);
	json_object_object_add(o, "module_list",
			       ki->has_module_list ? cli_jhex(ki->module_list)
						   : NULL);
	return o;
}

/* Facts the header lacked (raw images) but the kernel gave: the build in
 * the image object, the KDBG VA in the document. */
void cli_fill_from_kernel(json_object *doc, json_object *image,
			  const exq_kernel *k)
{
	const exq_kernel_info *ki = k ? exq_kernel_get_info(k) : NULL;
	json_object *v;
	if (!ki)
		return;
	if (ki->has_build && json_object_object_get_ex(image, "build", &v) &&
	    !v)
		json_object_object_add(image, "build",
				       json_object_new_int64(ki->build));
	if (doc && ki->has_kdbg && json_object_object_get_ex(doc, "kdbg", &v) &&
	    !v)
		json_object_object_add(doc, "kdbg", cli_jhex(ki->kdbg_va));
}

void cli_kernel_text(const exq_kernel *k)
{
	const exq_kernel_info *ki = exq_kernel_get_info(k);
	printf("%-22s %s at 0x%" PRIx64 " size 0x%x (%s)\n",
	       "kernel:", ki->name, ki->base, ki->size, ki->base_source);
	if (ki->has_build)
		printf("%-22s %u%s%s%s%s\n", "kernel build:", ki->build,
		       ki->os ? " (" : "", ki->os ? ki->os : "",
		       ki->os ? ")" : "",
		       ki->has_layout ? "" : ", no queue profile");
	if (ki->has_pdb)
		printf("%-22s %s {%s} age %u\n", "pdb:", ki->pdb_name,
		       ki->pdb_guid, ki->pdb_age);
}
