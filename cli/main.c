/* SPDX-License-Identifier: MIT */
/* exq — command line. Options go anywhere on the line; IMAGE is the last
 * positional argument (DESIGN §8). */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_text[] =
	"usage: exq <command> [options] [args] IMAGE\n"
	"\n"
	"commands:\n"
	"  info                      what the image is: format, dump type, machine,\n"
	"                            paging, DTB, build, CPUs, bugcheck, KDBG, runs\n"
	"  read --pa ADDR LEN IMAGE  hex dump of physical memory (-o FILE: raw bytes)\n"
	"  read --va ADDR LEN IMAGE  hex dump of kernel virtual memory\n"
	"  vtop VA IMAGE             translation of VA: each level's entry and flags,\n"
	"                            the PA, or why there is none\n"
	"  scan IMAGE                DTB candidates with their evidence\n"
	"  queues                    the system worker queues, like WinDbg's !exqueue\n"
	"  modules                   loaded modules (PsLoadedModuleList; a triage\n"
	"                            dump's stored driver list)\n"
	"\n"
	"options:\n"
	"  --json            one JSON document on stdout (schema exq/1)\n"
	"  --format NAME     force the image format (raw, windmp32, windmp64,\n"
	"                    elf, kdump)\n"
	"  --dtb ADDR        use this DTB (CR3)\n"
	"  --paging MODE     x86, pae or x64\n"
	"  --kernel-base VA  ntoskrnl's base\n"
	"  --modules-list VA PsLoadedModuleList head\n"
	"  --exworkerqueue VA         ExWorkerQueue (skip the pattern search)\n"
	"  --pattern HEX --pattern-offset N\n"
	"                    an extra pattern for ExQueueWorkItem ('57 81 C6 ?? ?? ?? ?\?'\n"
	"                    with the imm32 at N)\n"
	"  --max-items N     bound on each list walk (default 4096)\n"
	"  --cpu N           vCPU whose saved state (QEMU note: CR3) a VM core's\n"
	"                    DTB comes from (default 0)\n"
	"  -o FILE           (read) write raw bytes to FILE\n"
	"  -v, -q            more / less on stderr\n"
	"  --progress        show progress of long scans (default on a TTY)\n"
	"  --version, --help\n"
	"\n"
	"exit codes: 0 ok, 1 incomplete (see errors), 2 usage, 3 cannot open the\n"
	"image, 4 target not found or unsupported, 5 internal error\n";

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
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return NULL;
	return buf;
}

void cli_print_json(json_object *doc)
{
	puts(json_object_to_json_string_ext(
		doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			     JSON_C_TO_STRING_NOSLASHESCAPE));
}

json_object *cli_doc(const char *command)
{
	json_object *doc = json_object_new_object();
	json_object_object_add(doc, "schema", json_object_new_string("exq/1"));
	json_object_object_add(doc, "command", json_object_new_string(command));
	return doc;
}

int cli_exit_open(exq_status st)
{
	switch (st) {
	case EXQ_OK: return EXIT_OK;
	case EXQ_INVALID: return EXIT_USAGE;
	case EXQ_IO:
	case EXQ_CORRUPT:
	case EXQ_UNSUPPORTED:
	case EXQ_DEP:
	case EXQ_LIMIT:
	case EXQ_NODATA:
	case EXQ_NOTPRESENT: return EXIT_OPEN;
	case EXQ_NOTFOUND: return EXIT_NOTFOUND;
	default: return EXIT_INTERNAL;
	}
}

int cli_exit_analysis(exq_status st)
{
	switch (st) {
	case EXQ_OK: return EXIT_OK;
	case EXQ_NODATA:
	case EXQ_NOTPRESENT:
	case EXQ_LIMIT:
	case EXQ_CORRUPT:
	case EXQ_IO: return EXIT_INCOMPLETE;
	case EXQ_INVALID: return EXIT_USAGE;
	case EXQ_NOTFOUND:
	case EXQ_UNSUPPORTED: return EXIT_NOTFOUND;
	default: return EXIT_INTERNAL;
	}
}

int cli_fail(const struct opts *o, int code, exq_status st, const char *fmt,
	     ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "exq: %s: %s\n", o->command ? o->command : "exq", msg);
	if (o->json) {
		json_object *doc = cli_doc(o->command ? o->command : "exq");
		json_object *err = json_object_new_object();
		json_object_object_add(err, "status",
				       json_object_new_string(exq_strerror(st)));
		json_object_object_add(err, "message",
				       json_object_new_string(msg));
		json_object_object_add(doc, "error", err);
		cli_print_json(doc);
		json_object_put(doc);
	}
	return code;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	int base = 10;
	if (!s || !*s || *s == '-')
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (strspn(s, "0123456789abcdefABCDEF") == strlen(s) &&
		   strspn(s, "0123456789") != strlen(s)) {
		base = 16; /* bare hex such as 85a015b8, as WinDbg prints */
	}
	if (!*s)
		return -1;
	errno = 0;
	*v = strtoull(s, &end, base);
	return errno || *end ? -1 : 0;
}

int cli_parse_u64(const char *s, uint64_t *v)
{
	return parse_u64(s, v);
}

exq_image *cli_open(const struct opts *o, const char *path, int *code)
{
	exq_image *img = exq_image_new();
	exq_status st;
	if (!img) {
		*code = cli_fail(o, EXIT_INTERNAL, EXQ_NOMEM, "out of memory");
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
	if (o->paging)
		exq_image_set_paging(img, !strcmp(o->paging, "x86")   ? EXQ_PAGING_X86
					  : !strcmp(o->paging, "pae") ? EXQ_PAGING_PAE
								      : EXQ_PAGING_X64);
	st = exq_image_open_file(img, path);
	if (st != EXQ_OK) {
		*code = cli_fail(o, cli_exit_open(st), st, "%s: %s (%s)", path,
				 exq_image_error(img), exq_strerror(st));
		exq_image_free(img);
		return NULL;
	}
	return img;
}

/* what: the message, with "%s" where arg goes (only that form). */
static int usage_error(struct opts *o, const char *what, const char *arg)
{
	char msg[512];
	const char *at = strstr(what, "%s");
	if (at)
		snprintf(msg, sizeof(msg), "%.*s%s%s", (int)(at - what), what,
			 arg ? arg : "", at + 2);
	else
		snprintf(msg, sizeof(msg), "%s", what);
	fprintf(stderr, "exq: %s: %s\n%s", o->command ? o->command : "usage",
		msg, o->quiet ? "" : "try 'exq --help'\n");
	return EXIT_USAGE;
}

/* Options that take a value; the value may follow as the next argument
 * or after '='. */
static int take_value(int argc, char **argv, int *i, const char *name,
		      const char **val)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (strcmp(argv[*i], name) != 0)
		return 0;
	if (*i + 1 >= argc) {
		*val = NULL;
		return 1;
	}
	*val = argv[++*i];
	return 1;
}

static int parse_args(int argc, char **argv, struct opts *o, int *code)
{
	int i, only_pos = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (only_pos || a[0] != '-' || !a[1]) {
			if (!o->command)
				o->command = a;
			else if (o->npos < MAX_POS)
				o->pos[o->npos++] = a;
			else
				return *code = usage_error(o, "too many arguments (%s)", a), -1;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o->verbose++;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			o->quiet = 1;
		} else if (!strcmp(a, "--progress")) {
			o->progress = 1;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return *code = EXIT_OK, 1;
		} else if (!strcmp(a, "--version")) {
			printf("exq %s\n", exq_version());
			return *code = EXIT_OK, 1;
		} else if (take_value(argc, argv, &i, "--format", &v)) {
			if (!(o->format = v))
				return *code = usage_error(o, "%s needs a format name", a), -1;
		} else if (take_value(argc, argv, &i, "-o", &v)) {
			if (!(o->out_file = v))
				return *code = usage_error(o, "%s needs a file name", a), -1;
		} else if (take_value(argc, argv, &i, "--pa", &v)) {
			if (parse_u64(v, &o->pa))
				return *code = usage_error(o, "--pa needs an address, got '%s'", v ? v : ""), -1;
			o->have_pa = 1;
		} else if (take_value(argc, argv, &i, "--va", &v)) {
			if (parse_u64(v, &o->va))
				return *code = usage_error(o, "--va needs an address, got '%s'", v ? v : ""), -1;
			o->have_va = 1;
		} else if (take_value(argc, argv, &i, "--dtb", &v)) {
			if (parse_u64(v, &o->dtb))
				return *code = usage_error(o, "--dtb needs an address, got '%s'", v ? v : ""), -1;
			o->have_dtb = 1;
		} else if (take_value(argc, argv, &i, "--kernel-base", &v)) {
			if (parse_u64(v, &o->kernel_base))
				return *code = usage_error(o, "--kernel-base needs an address, got '%s'", v ? v : ""), -1;
			o->have_kernel_base = 1;
		} else if (take_value(argc, argv, &i, "--exworkerqueue", &v)) {
			if (parse_u64(v, &o->exworkerqueue))
				return *code = usage_error(o, "--exworkerqueue needs an address, got '%s'", v ? v : ""), -1;
			o->have_exworkerqueue = 1;
		} else if (take_value(argc, argv, &i, "--pattern", &v)) {
			if (!(o->pattern = v))
				return *code = usage_error(o, "--pattern needs hex bytes such as '57 81 C6 ?? ?? ?? ?\?'", NULL), -1;
		} else if (take_value(argc, argv, &i, "--pattern-offset", &v)) {
			uint64_t n;
			if (parse_u64(v, &n) || n > 64)
				return *code = usage_error(o, "--pattern-offset needs a number up to 64, got '%s'", v ? v : ""), -1;
			o->pattern_offset = (uint32_t)n;
		} else if (take_value(argc, argv, &i, "--max-items", &v)) {
			uint64_t n;
			if (!v || strspn(v, "0123456789") != strlen(v) || parse_u64(v, &n) || n < 1 || n > 1000000)
				return *code = usage_error(o, "--max-items needs a number from 1 to 1000000, got '%s'", v ? v : ""), -1;
			o->max_items = (size_t)n;
		} else if (take_value(argc, argv, &i, "--cpu", &v)) {
			uint64_t n;
			if (!v || strspn(v, "0123456789") != strlen(v) || parse_u64(v, &n) || n >= 4096)
				return *code = usage_error(o, "--cpu needs a vCPU number from 0 to 4095, got '%s'", v ? v : ""), -1;
			o->cpu = (unsigned)n;
			o->have_cpu = 1;
		} else if (take_value(argc, argv, &i, "--modules-list", &v)) {
			if (parse_u64(v, &o->modules_list))
				return *code = usage_error(o, "--modules-list needs an address, got '%s'", v ? v : ""), -1;
			o->have_modules_list = 1;
		} else if (take_value(argc, argv, &i, "--paging", &v)) {
			if (!v || (strcmp(v, "x86") && strcmp(v, "pae") && strcmp(v, "x64")))
				return *code = usage_error(o, "--paging takes x86, pae or x64, got '%s'", v ? v : ""), -1;
			o->paging = v;
		} else {
			return *code = usage_error(o, "unknown option '%s'", a), -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int code = 0;
	memset(&o, 0, sizeof(o));
	if (parse_args(argc, argv, &o, &code) != 0)
		return code;
	if (!o.command) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(o.command, "info"))
		return cmd_info(&o);
	if (!strcmp(o.command, "read"))
		return cmd_read(&o);
	if (!strcmp(o.command, "vtop"))
		return cmd_vtop(&o);
	if (!strcmp(o.command, "scan"))
		return cmd_scan(&o);
	if (!strcmp(o.command, "modules"))
		return cmd_modules(&o);
	if (!strcmp(o.command, "queues"))
		return cmd_queues(&o);
	if (!strcmp(o.command, "help")) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	return usage_error(&o, "unknown command '%s'", o.command);
}
