/* SPDX-License-Identifier: MIT */
/* exq — command line. One table of commands drives dispatch, help and the
 * man page's synopsis. Options go anywhere on the line; the IMAGEs are the
 * last positional arguments, one run each (DESIGN §8). */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef EXQ_WITH_KDUMPFILE /* the Makefile says whether libexq has it */
#define EXQ_WITH_KDUMPFILE 0
#endif

static const struct cli_command commands[] = {
    {"info", cmd_info, 0, "info [options] IMAGE...",
     "What the image is: format, dump type, machine, paging, DTB (and where\n"
     "it came from), build, CPUs, bugcheck (named) and its parameters (with\n"
     "their modules), system time, KDBG, the kernel, pages present (-v: the\n"
     "physical runs); for a triage dump its header, KDBG copy and driver list.",
     ""},
    {"queues", cmd_queues, 0, "queues [options] IMAGE...",
     "The system worker queues, like WinDbg's !exqueue, on Windows XP ... 11\n"
     "(x86 and x64): worker threads and pending work items (routine as\n"
     "module+offset, parameter, IO object, driver, context; on 8.1 and later\n"
     "the priority), every NUMA node. A damaged list keeps the items before\n"
     "the break (exit 1, with the break in errors).",
     "  --exworkerqueue VA     ExWorkerQueue's address (XP ... 7; skips the search)\n"
     "  --queue-root VA        the queue root of 8 and later: node 0's ENODE\n"
     "                         (8 ... 10 1703) or the EX_PARTITION (10 1709 on)\n"
     "  --pattern HEX          an extra pattern for ExQueueWorkItem\n"
     "                         ('57 81 C6 ?? ?? ?? ?\?')\n"
     "  --pattern-offset N     offset of the imm32 in that pattern\n"
     "  --max-items N          bound on each list walk (default 4096)\n"},
    {"modules", cmd_modules, 0, "modules [options] IMAGE...",
     "Loaded modules from PsLoadedModuleList (base, size, name, path); for a\n"
     "triage dump its stored driver list.",
     ""},
    {"vtop", cmd_vtop, 1, "vtop [options] VA IMAGE...",
     "The page-table walk for the virtual address VA (hex): each level's\n"
     "entry and flags, and the physical address or why there is none.",
     ""},
    {"read", cmd_read, 1, "read (--pa|--va) ADDR [options] LEN IMAGE...",
     "LEN bytes of physical (--pa) or kernel virtual (--va) memory from ADDR\n"
     "(hex), as a hex dump, as raw bytes into a file (-o), or with --json as\n"
     "a document holding the bytes in hex (at most 16 MiB).",
     "  --pa ADDR              physical address (hex)\n"
     "  --va ADDR              kernel virtual address (hex)\n"
     "  -o FILE                write the raw bytes to FILE (never the\n"
     "                         IMAGE itself; through a temporary file)\n"},
    {"scan", cmd_scan, 0, "scan [options] IMAGE...",
     "DTB candidates with their evidence (for raw images, which name none).",
     ""},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_options[] =
    "  --json                 one JSON document per IMAGE on stdout (exq/1)\n"
    "  --jsonl                JSON Lines: one compact document per IMAGE and\n"
    "                         line, each in one write, with status and "
    "exit_code\n"
    "  --expect FILE.json     compare the document with FILE.json instead of\n"
    "                         printing it: exit 0 equal, 1 with the "
    "differences\n"
    "  --format NAME          force the image format (raw, windmp32, "
    "windmp64,\n"
    "                         elf, kdump)\n"
    "  --dtb ADDR             use this DTB (CR3)\n"
    "  --paging MODE          x86, pae or x64\n"
    "  --cpu N                vCPU whose saved CR3 a VM core's DTB comes from\n"
    "  --kernel-base VA       ntoskrnl's base\n"
    "  --modules-list VA      PsLoadedModuleList's head\n"
    "  -v, -q                 more / less on stderr\n"
    "  --progress             progress of long steps: a .gz index, a DTB or\n"
    "                         KDBG scan (default when stderr is a TTY)\n"
    "  --max-scan SIZE        read at most SIZE (4G, 512M, ...) of physical\n"
    "                         memory in a scan (DTB, KDBG); default all\n"
    "  --help, --version\n";

static const char radix_text[] =
    "Addresses (VA, PA, --dtb, --kernel-base, --exworkerqueue, --queue-root, "
    "--modules-list)\n"
    "are hex with or without 0x; counts and lengths are decimal unless 0x.\n";

static const char exit_text[] =
    "exit codes: 0 ok, 1 incomplete (see errors; --expect: differences),\n"
    "2 usage, 3 cannot open the image, 4 target not found or unsupported,\n"
    "5 internal error, 6 output failed, 7 out of memory (NOMEM);\n"
    "several IMAGEs: the highest.\n";

static void usage(FILE *f)
{
	size_t i;
	fputs("usage: exq <command> [options] [args] IMAGE...\n"
	      "       exq help COMMAND\n\ncommands:\n",
	      f);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  exq %s\n", commands[i].synopsis);
	fprintf(f, "\noptions (anywhere on the line):\n%s%s\n\n%s\n%s",
		global_options, "  command options: exq help COMMAND",
		radix_text, exit_text);
}

static void command_help(FILE *f, const struct cli_command *c)
{
	fprintf(f, "usage: exq %s\n\n%s\n", c->synopsis, c->summary);
	if (c->options[0])
		fprintf(f, "\noptions:\n%s", c->options);
	fprintf(f, "\nglobal options:\n%s\n%s\n%s", global_options, radix_text,
		exit_text);
}

static const struct cli_command *find_command(const char *name)
{
	size_t i;
	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Edit distance (insert, delete, substitute, swap of neighbours), capped
 * at 9: names are short. */
static unsigned distance(const char *a, const char *b)
{
	unsigned d[16][16];
	size_t la = strlen(a), lb = strlen(b), i, j;
	if (la > 15 || lb > 15)
		return 9;
	for (i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			unsigned v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/* The command a mistyped name most likely meant, or NULL. */
static const char *suggest(const char *name)
{
	const char *best = NULL;
	unsigned bd = 3;
	size_t i, n = strlen(name);
	for (i = 0; i <= NCOMMANDS; i++) {
		const char *c = i < NCOMMANDS ? commands[i].name : "help";
		unsigned d = distance(name, c);
		if (n >= 2 && !strncmp(c, name, n))
			d = 1; /* a prefix */
		if (d < bd) {
			bd = d;
			best = c;
		}
	}
	return best;
}

/* A usage error: the message (what, with arg where "%s" is) on stderr
 * and, with --json, as a document (status INVALID, exit_code 2). */
static int usage_error(struct opts *o, const char *what, const char *arg)
{
	char msg[512];
	const char *at = strstr(what, "%s");
	int code;
	if (at)
		snprintf(msg, sizeof(msg), "%.*s%s%s", (int)(at - what), what,
			 arg ? arg : "", at + 2);
	else
		snprintf(msg, sizeof(msg), "%s", what);
	o->image = NULL;
	cli_run_begin(o);
	code = cli_fail(o, EXIT_USAGE, EXQ_INVALID, "%s", msg);
	if (!o->quiet && !o->json)
		fputs("try 'exq --help'\n", stderr);
	return cli_run_end(o, code);
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
	*val = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

enum { WANT_NONE, WANT_HELP, WANT_VERSION };

struct parsed {
	const char **pos; /* positionals after the command */
	int npos;
	int want;
};

/* The address options: hex with or without 0x (DESIGN §8). Returns 1
 * when argv[*i] is one, with *r the usage error's exit code or -1. */
static int addr_option(int argc, char **argv, int *i, struct opts *o, int *r)
{
	static const struct {
		const char *flag;
		size_t val, have;
	} t[] = {
	    {"--pa", offsetof(struct opts, pa), offsetof(struct opts, have_pa)},
	    {"--va", offsetof(struct opts, va), offsetof(struct opts, have_va)},
	    {"--dtb", offsetof(struct opts, dtb),
	     offsetof(struct opts, have_dtb)},
	    {"--kernel-base", offsetof(struct opts, kernel_base),
	     offsetof(struct opts, have_kernel_base)},
	    {"--exworkerqueue", offsetof(struct opts, exworkerqueue),
	     offsetof(struct opts, have_exworkerqueue)},
	    {"--queue-root", offsetof(struct opts, exworkerqueue),
	     offsetof(struct opts, have_exworkerqueue)},
	    {"--modules-list", offsetof(struct opts, modules_list),
	     offsetof(struct opts, have_modules_list)},
	};
	size_t k;
	const char *v;
	char msg[80];
	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		if (!take_value(argc, argv, i, t[k].flag, &v))
			continue;
		*r = -1;
		if (cli_parse_addr(v, (uint64_t *)((char *)o + t[k].val))) {
			snprintf(msg, sizeof(msg),
				 "%s needs a hex address, got '%%s'",
				 t[k].flag);
			*r = usage_error(o, msg, v);
		} else {
			*(int *)((char *)o + t[k].have) = 1;
		}
		return 1;
	}
	return 0;
}

/* A size: a count (decimal, or hex with 0x) with an optional K, M, G or T
 * (powers of 1024). */
static int parse_size(const char *v, uint64_t *out)
{
	char num[40];
	size_t n = v ? strlen(v) : 0;
	unsigned shift = 0;
	uint64_t x;
	if (!n || n >= sizeof(num))
		return -1;
	memcpy(num, v, n + 1);
	switch (num[n - 1]) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	case 'T': case 't': shift = 40; break;
	default: break;
	}
	if (shift)
		num[n - 1] = '\0';
	if (cli_parse_count(num, &x) || (shift && x > (UINT64_MAX >> shift)))
		return -1;
	*out = x << shift;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o, struct parsed *p)
{
	int i, r, only_pos = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		uint64_t n;
		if (only_pos || a[0] != '-' || !a[1]) {
			if (!o->command)
				o->command = a;
			else
				p->pos[p->npos++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (!strcmp(a, "--jsonl")) {
			o->json = o->jsonl = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o->verbose++;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			o->quiet = 1;
		} else if (!strcmp(a, "--progress")) {
			o->progress = 1;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			p->want = WANT_HELP;
		} else if (!strcmp(a, "--version")) {
			p->want = WANT_VERSION;
		} else if (take_value(argc, argv, &i, "--expect", &v)) {
			if (!(o->expect = v))
				return usage_error(
				    o, "--expect needs a JSON file%s", NULL);
			o->json = 1;
		} else if (take_value(argc, argv, &i, "--format", &v)) {
			if (!(o->format = v))
				return usage_error(
				    o, "--format needs a format name%s", NULL);
		} else if (take_value(argc, argv, &i, "-o", &v)) {
			if (!(o->out_file = v) || !*v)
				return usage_error(o, "-o needs a file name%s",
						   NULL);
		} else if (addr_option(argc, argv, &i, o, &r)) {
			if (r >= 0)
				return r;
		} else if (take_value(argc, argv, &i, "--pattern", &v)) {
			if (!(o->pattern = v))
				return usage_error(
				    o,
				    "--pattern needs hex bytes such as '57 81 "
				    "C6 ?? ?? ?? ?\?'%s",
				    NULL);
		} else if (take_value(argc, argv, &i, "--pattern-offset", &v)) {
			if (cli_parse_count(v, &n) || n > 64)
				return usage_error(o,
						   "--pattern-offset needs a "
						   "number up to 64, got '%s'",
						   v);
			o->pattern_offset = (uint32_t)n;
		} else if (take_value(argc, argv, &i, "--max-items", &v)) {
			if (cli_parse_count(v, &n) || n < 1 || n > 1000000)
				return usage_error(
				    o,
				    "--max-items needs a number from 1 to "
				    "1000000, got '%s'",
				    v);
			o->max_items = (size_t)n;
		} else if (take_value(argc, argv, &i, "--max-scan", &v)) {
			if (parse_size(v, &o->max_scan) || !o->max_scan)
				return usage_error(o,
						   "--max-scan needs a size "
						   "such as 4G, 512M or "
						   "0x100000000, got '%s'",
						   v);
		} else if (take_value(argc, argv, &i, "--cpu", &v)) {
			if (cli_parse_count(v, &n) || n >= 4096)
				return usage_error(o,
						   "--cpu needs a vCPU number "
						   "from 0 to 4095, got '%s'",
						   v);
			o->cpu = (unsigned)n;
			o->have_cpu = 1;
		} else if (take_value(argc, argv, &i, "--paging", &v)) {
			if (!v || (strcmp(v, "x86") && strcmp(v, "pae") &&
				   strcmp(v, "x64")))
				return usage_error(
				    o,
				    "--paging takes x86, pae or x64, got '%s'",
				    v);
			o->paging = v;
		} else {
			return usage_error(o, "unknown option '%s'", a);
		}
	}
	return -1;
}

static int version(void)
{
	printf("exq %s\nfeatures: gzip yes, json yes, elf yes, kdump yes, "
	       "kdumpfile %s (lzo, snappy and zstd kdump pages)\n",
	       exq_version(), EXQ_WITH_KDUMPFILE ? "yes" : "no");
	return EXIT_OK;
}

static int help_command(struct opts *o, const struct parsed *p)
{
	const struct cli_command *c;
	if (p->npos == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (p->npos > 1)
		return usage_error(
		    o, "help takes one command name, got '%s' and more",
		    p->pos[0]);
	c = find_command(p->pos[0]);
	if (!c) {
		const char *s = suggest(p->pos[0]);
		char msg[256];
		snprintf(msg, sizeof(msg), "no command '%%s'%s%s%s",
			 s ? "; did you mean '" : "", s ? s : "",
			 s ? "'?" : "");
		return usage_error(o, msg, p->pos[0]);
	}
	command_help(stdout, c);
	return EXIT_OK;
}

/* -o must not be one of the images (same device and inode). */
static int output_is_input(const struct opts *o, const char **images, int n)
{
	struct stat so, si;
	int i;
	if (!o->out_file || stat(o->out_file, &so) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (stat(images[i], &si) == 0 && si.st_dev == so.st_dev &&
		    si.st_ino == so.st_ino)
			return i;
	return -1;
}

static int run_all(struct opts *o, const struct cli_command *c,
		   const struct parsed *p)
{
	const char **images = p->pos + c->nargs;
	int nimages = p->npos - c->nargs, i, worst = 0, k;
	const char *pos[2];
	if (nimages < 1)
		return usage_error(o, "usage: exq %s", c->synopsis);
	if (o->out_file && nimages > 1)
		return usage_error(o, "-o takes one IMAGE, got %s and more",
				   images[0]);
	if ((k = output_is_input(o, images, nimages)) >= 0)
		return usage_error(
		    o,
		    "-o names the image '%s' itself: refusing to overwrite it",
		    images[k]);
	if (o->expect && o->jsonl)
		return usage_error(
		    o, "--expect and --jsonl exclude each other%s", NULL);
	for (i = 0; i < nimages; i++) {
		struct opts r = *o;
		int code;
		if (c->nargs)
			pos[0] = p->pos[0];
		pos[c->nargs] = images[i];
		r.pos = pos;
		r.npos = c->nargs + 1;
		r.image = images[i];
		if (nimages > 1 && !o->json && !o->expect)
			printf("%s==> %s <==\n", i ? "\n" : "", images[i]);
		cli_run_begin(&r);
		code = c->fn(&r);
		code = cli_run_end(&r, code);
		if (code > worst)
			worst = code;
		if (code == EXIT_OUTPUT)
			break; /* stdout is gone: the next runs cannot report */
	}
	return worst;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct parsed p;
	const struct cli_command *c;
	int i, r;
	memset(&o, 0, sizeof(o));
	memset(&p, 0, sizeof(p));
	/* JSON mode first, so that a usage error met while parsing is also
	 * a document */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "--jsonl") ||
		    !strncmp(argv[i], "--expect", 8))
			o.json = 1;
	p.pos = calloc((size_t)argc + 1, sizeof(*p.pos));
	if (!p.pos)
		return cli_run_end(
		    &o, cli_fail(&o, EXIT_NOMEM, EXQ_NOMEM, "out of memory"));
	r = parse_args(argc, argv, &o, &p);
	if (r >= 0)
		goto out;
	c = o.command ? find_command(o.command) : NULL;
	if (p.want == WANT_VERSION) {
		r = version();
	} else if (o.command && !strcmp(o.command, "help")) {
		r = help_command(&o, &p);
	} else if (p.want == WANT_HELP && !o.command) {
		usage(stdout);
		r = EXIT_OK;
	} else if (!o.command) {
		usage(stderr);
		r = usage_error(&o, "no command given%s", NULL);
	} else if (!c) {
		const char *s = suggest(o.command);
		char msg[256];
		snprintf(msg, sizeof(msg), "unknown command '%%s'%s%s%s",
			 s ? "; did you mean '" : "", s ? s : "",
			 s ? "'?" : "");
		r = usage_error(&o, msg, o.command);
	} else if (p.want == WANT_HELP) {
		command_help(stdout, c);
		r = EXIT_OK;
	} else {
		r = run_all(&o, c, &p);
	}
	if ((r == EXIT_OK || p.want) &&
	    (fflush(stdout) != 0 || ferror(stdout))) {
		fprintf(stderr, "exq: writing to stdout failed: %s\n",
			strerror(errno ? errno : EIO));
		r = EXIT_OUTPUT;
	}
out:
	free(p.pos);
	return r;
}
