/* SPDX-License-Identifier: MIT */
/* exq CLI: shared declarations. The CLI parses options, calls the library
 * and renders; it holds no analysis. main.c holds the commands[] table and
 * the option parser, common.c the helpers every command shares (output,
 * failures, numbers, opening the image / address space / kernel, JSON),
 * one file per command the rest. */
#ifndef EXQ_CLI_H
#define EXQ_CLI_H

#include "exq.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (DESIGN §8). A batch run exits with the highest one. */
enum {
	EXIT_OK = 0,
	EXIT_INCOMPLETE = 1,
	EXIT_USAGE = 2,
	EXIT_OPEN = 3,
	EXIT_NOTFOUND = 4,
	EXIT_INTERNAL = 5,
	EXIT_OUTPUT = 6,
	EXIT_NOMEM = 7 /* out of memory (NOMEM), in the library or the CLI */
};

struct opts {
	const char *command;
	const char **pos; /* this run's positionals: the command's arguments,
			     then IMAGE */
	int npos;
	int json;	    /* --json (also set by --jsonl and --expect) */
	int jsonl;	    /* --jsonl: compact, one line per image */
	const char *expect; /* --expect FILE.json */
	int verbose;
	int quiet;
	const char *format;
	const char *out_file; /* -o */
	int have_pa, have_va;
	uint64_t pa, va;
	int have_dtb;
	uint64_t dtb;
	const char *paging;
	int progress; /* --progress (also on when stderr is a TTY) */
	int have_kernel_base, have_modules_list;
	uint64_t kernel_base, modules_list;
	int have_exworkerqueue;
	uint64_t exworkerqueue;
	const char *pattern; /* --pattern HEX */
	uint32_t pattern_offset;
	size_t max_items;
	uint64_t max_scan; /* --max-scan SIZE (bytes; 0: no bound) */
	int have_cpu; /* --cpu N: vCPU of a VM core */
	unsigned cpu;
	const char *image; /* the IMAGE of this run (last of pos), or NULL */
};

/* One row of the command table (main.c): dispatch, help and the man
 * page's synopsis come from it. nargs: positionals before the IMAGEs. */
struct cli_command {
	const char *name;
	int (*fn)(const struct opts *o);
	int nargs;
	const char *synopsis; /* after "exq " */
	const char *summary;
	const char *options; /* lines "  --opt  text\n" */
};

/* --- numbers on the command line (DESIGN §8) --- */
/* Addresses: hex with or without 0x. */
int cli_parse_addr(const char *s, uint64_t *v);
/* Counts and lengths: decimal, or hex with 0x. */
int cli_parse_count(const char *s, uint64_t *v);

/* --- text --- */
/* "0x…" lower-case hex, no padding. buf must hold 19 bytes. */
const char *cli_hex(char *buf, uint64_t v);
json_object *cli_jhex(uint64_t v);
/* FILETIME → "YYYY-MM-DDTHH:MM:SSZ" (buf ≥ 32 bytes); NULL if out of range. */
const char *cli_filetime(char *buf, size_t len, uint64_t ft);
/* EXQ_XF_* flags as "P RW US …" (buf ≥ 96 bytes) and as a JSON array. */
const char *cli_xflags(char *buf, size_t len, uint32_t flags);
json_object *cli_xflags_json(uint32_t flags);

/* --- one run's output (common.c) --- */
/* Starts the run of command o->command on o->image (NULL before an image
 * is known). */
void cli_run_begin(const struct opts *o);
/* Ends it: writes the run's JSON document (--json pretty, --jsonl one line,
 * each in one write; --expect compares it instead), flushes text output,
 * and returns the exit code (6 when output failed). */
int cli_run_end(const struct opts *o, int code);
/* Keeps doc (a reference is taken) as the run's JSON document; written by
 * cli_run_end. */
void cli_print_json(json_object *doc);
/* A message on stderr: "exq: CMD: IMAGE: message". */
void cli_msg(const struct opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Records st as what ended the run (its JSON "status") and says why on
 * stderr; for a result printed but incomplete (exit 1). */
void cli_incomplete(const struct opts *o, exq_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports an error on stderr and, with --json, as the run's document
 * ("error": {status, message}). Returns code. */
int cli_fail(const struct opts *o, int code, exq_status st, const char *fmt,
	     ...) __attribute__((format(printf, 4, 5)));
/* A failed write to stdout or -o: exit 6. */
int cli_output_failed(const struct opts *o, const char *what, int err);
/* Exit code for a status met while opening / during analysis. */
int cli_exit_open(exq_status st);
int cli_exit_analysis(exq_status st);

/* --- JSON --- */
/* Out of memory, json-c's constructors return NULL and its adders abort on
 * a NULL container: every constructor and adder the commands call goes
 * through these instead (the macros below), which never abort and record
 * the failure; cli_run_end then writes a small NOMEM document built
 * without allocating, and the run exits 7. */
json_object *cli_jchk(json_object *v);
int cli_jadd(json_object *obj, const char *key, json_object *val);
int cli_jpush(json_object *arr, json_object *val);
#define json_object_new_object() cli_jchk((json_object_new_object)())
#define json_object_new_array() cli_jchk((json_object_new_array)())
#define json_object_new_string(s) cli_jchk((json_object_new_string)(s))
#define json_object_new_string_len(s, n)                                      \
	cli_jchk((json_object_new_string_len)(s, n))
#define json_object_new_int64(v) cli_jchk((json_object_new_int64)(v))
#define json_object_new_int(v) cli_jchk((json_object_new_int)(v))
#define json_object_new_boolean(v) cli_jchk((json_object_new_boolean)(v))
#define json_object_object_add(o, k, v) cli_jadd(o, k, v)
#define json_object_array_add(a, v) cli_jpush(a, v)
/* A library call returned st where the CLI carries on without its result
 * (a symbol, a name): NOMEM still ends the run with exit 7. */
void cli_note_status(exq_status st);
/* exq_symbolize / exq_symbolize_export with cli_note_status */
exq_status cli_symbolize(exq_kernel *k, uint64_t a, char *buf, size_t len);
exq_status cli_symbolize_export(exq_kernel *k, uint64_t a, char *buf,
				size_t len);

json_object *cli_doc(const char *command);
json_object *cli_image_obj(const exq_image *img, const char *path,
			   const struct opts *o);
json_object *cli_warnings(const exq_image *img);
/* Text mode (not --json, not -q): the image's warnings on stderr, one
 * "exq: COMMAND: IMAGE: warning: ..." line each (info prints them in its
 * own output instead). */
void cli_text_warnings(const struct opts *o, const exq_image *img);
/* Serializes doc (pretty or compact) with every byte that is not valid
 * UTF-8 written as the text \xNN, so the result is valid UTF-8. Returns
 * malloc'd text with a final newline, or NULL. */
char *cli_json_text(json_object *doc, int compact, size_t *len);

/* --- opening (common.c) --- */
/* Opens o->image with the global options applied. On failure prints the
 * error and returns NULL with *code set. */
exq_image *cli_open(const struct opts *o, const char *path, int *code);
/* Makes sure img has a DTB: when it names none, runs the scan (progress
 * on stderr when asked or on a TTY). *cands / *n get the scan's list when
 * one ran (free with exq_dtb_candidates_free), else NULL / 0. */
exq_status cli_find_dtb(const struct opts *o, exq_image *img,
			exq_dtb_candidate **cands, size_t *n);
exq_status cli_dtb_scan(const struct opts *o, exq_image *img,
			exq_dtb_candidate **cands, size_t *n);
/* The kernel address space of img; with -v the rejected DTB candidates go
 * to stderr. On failure prints the error and returns NULL, *code set
 * (4 when no DTB is found). */
exq_vspace *cli_vspace(const struct opts *o, exq_image *img, int *code);
/* Opens the address space and the kernel; on failure reports and returns
 * the exit code. */
int cli_open_kernel(const struct opts *o, exq_image *img, exq_vspace **vs,
		    exq_kernel **k);
/* The kernel overrides of the command line (--kernel-base, --modules-list). */
void cli_kernel_opts(const struct opts *o, exq_kernel_opts *ko);
json_object *cli_kernel_obj(const exq_kernel *k);
void cli_kernel_text(const exq_kernel *k);
void cli_fill_from_kernel(json_object *doc, json_object *image,
			  const exq_kernel *k);
/* DTB candidates: JSON array / text lines. */
json_object *cli_dtb_candidates_json(const exq_dtb_candidate *c, size_t n);
void cli_dtb_candidates_text(FILE *f, const exq_dtb_candidate *c, size_t n);

/* --- --expect (expect.c) --- */
/* Compares doc with the exq/1 document in file (fields the expectation
 * omits are ignored; lists element by element, the expected one may be
 * shorter; image.path and image.size never compared). Prints each
 * difference (JSON path, expected, got) on out. Returns 0 equal, 1 not,
 * -1 when file cannot be read or parsed (message in err). */
int cli_expect(json_object *doc, const char *file, FILE *out, char *err,
	       size_t errlen);

int cmd_info(const struct opts *o);
int cmd_modules(const struct opts *o);
int cmd_queues(const struct opts *o);
int cmd_read(const struct opts *o);
int cmd_vtop(const struct opts *o);
int cmd_scan(const struct opts *o);

#endif
