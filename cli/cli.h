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

/* Opens IMAGE (the last positional) with the global options applied.
 * On failure prints the error and returns NULL with *code set. */
exq_image *cli_open(const struct opts *o, const char *path, int *code);

int cmd_info(const struct opts *o);
int cmd_read(const struct opts *o);

#endif
