/* SPDX-License-Identifier: MIT */
/* exq CLI: shared declarations. The CLI parses options, calls the library
 * and renders; it holds no analysis. */
#ifndef EXQ_CLI_H
#define EXQ_CLI_H

#include "exq.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (DESIGN §8). */
enum {
	EXIT_OK = 0,
	EXIT_INCOMPLETE = 1,
	EXIT_USAGE = 2,
	EXIT_OPEN = 3,
	EXIT_NOTFOUND = 4,
	EXIT_INTERNAL = 5
};

#define MAX_POS 8

struct opts {
	const char *command;
	const char *pos[MAX_POS]; /* positionals after the command */
	int npos;
	int json;
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
	int have_cpu; /* --cpu N: vCPU of a VM core */
	unsigned cpu;
};

/* "0x…" lower-case hex, no padding. buf must hold 19 bytes. */
const char *cli_hex(char *buf, uint64_t v);
json_object *cli_jhex(uint64_t v);
/* FILETIME → "YYYY-MM-DDTHH:MM:SSZ" (buf ≥ 32 bytes); NULL if out of range. */
const char *cli_filetime(char *buf, size_t len, uint64_t ft);

/* Report an error on stderr ("exq: <command>: <message>") and, with
 * --json, as one JSON document on stdout. Returns the exit code. */
int cli_fail(const struct opts *o, int code, exq_status st, const char *fmt,
	     ...) __attribute__((format(printf, 4, 5)));
/* Exit code for a status met while opening / during analysis. */
int cli_exit_open(exq_status st);
int cli_exit_analysis(exq_status st);

/* Print a JSON document to stdout (pretty, slashes unescaped). */
void cli_print_json(json_object *doc);
json_object *cli_doc(const char *command);
json_object *cli_image_obj(const exq_image *img, const char *path,
			   const struct opts *o);
json_object *cli_warnings(const exq_image *img);
/* Text mode (not --json, not -q): the image's warnings on stderr, one
 * "exq: COMMAND: warning: ..." line each (info prints them in its own
 * output instead). */
void cli_text_warnings(const struct opts *o, const exq_image *img);

/* Opens IMAGE (the last positional) with the global options applied.
 * On failure prints the error and returns NULL with *code set. */
exq_image *cli_open(const struct opts *o, const char *path, int *code);

/* Kernel rendering (kernel.c). cli_open_kernel opens the address space
 * and the kernel; on failure it reports and returns the exit code. */
json_object *cli_kernel_obj(const exq_kernel *k);
void cli_kernel_text(const exq_kernel *k);
void cli_fill_from_kernel(json_object *doc, json_object *image,
			  const exq_kernel *k);
int cli_open_kernel(const struct opts *o, exq_image *img, exq_vspace **vs,
		    exq_kernel **k);
/* The kernel overrides of the command line (--kernel-base, --modules-list). */
void cli_kernel_opts(const struct opts *o, exq_kernel_opts *ko);

int cmd_info(const struct opts *o);
int cmd_modules(const struct opts *o);
int cmd_queues(const struct opts *o);
int cmd_read(const struct opts *o);

/* --- virtual addresses (cli/scan.c, cli/vtop.c) --- */
int cmd_vtop(const struct opts *o);
int cmd_scan(const struct opts *o);
/* Number parsing as for --pa/--va (0x…, decimal, bare hex). */
int cli_parse_u64(const char *s, uint64_t *v);
/* Makes sure img has a DTB: when it names none, runs the scan (progress
 * on stderr when asked or on a TTY). *cands / *n get the scan's list when
 * one ran (free with exq_dtb_candidates_free), else NULL / 0. */
exq_status cli_find_dtb(const struct opts *o, exq_image *img,
			exq_dtb_candidate **cands, size_t *n);
/* The kernel address space of img; with -v the rejected DTB candidates go
 * to stderr. On failure prints the error and returns NULL, *code set
 * (4 when no DTB is found). */
exq_vspace *cli_vspace(const struct opts *o, exq_image *img, int *code);
/* DTB candidates: JSON array / text lines. */
json_object *cli_dtb_candidates_json(const exq_dtb_candidate *c, size_t n);
void cli_dtb_candidates_text(FILE *f, const exq_dtb_candidate *c, size_t n);
/* EXQ_XF_* flags as "P RW US …" (buf ≥ 96 bytes) and as a JSON array. */
const char *cli_xflags(char *buf, size_t len, uint32_t flags);
json_object *cli_xflags_json(uint32_t flags);

#endif
