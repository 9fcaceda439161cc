/* SPDX-License-Identifier: MIT */
/* exq modules: PsLoadedModuleList, or a triage dump's stored driver list. */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '\\');
	return s ? s + 1 : p;
}

/* A triage dump stores the driver list itself: no address space needed. */
static int triage_modules(const struct opts *o, exq_image *img)
{
	const exq_triage_info *t = exq_image_get_info(img)->triage;
	size_t i;
	int w;
	if (o->json) {
		json_object *doc = cli_doc("modules"), *a = json_object_new_array();
		json_object_object_add(doc, "source",
				       json_object_new_string("triage-driver-list"));
		for (i = 0; i < t->ndrivers; i++) {
			json_object *m = json_object_new_object();
			json_object_object_add(m, "name", json_object_new_string(
								  basename_of(t->drivers[i].name)));
			json_object_object_add(m, "base", cli_jhex(t->drivers[i].base));
			json_object_object_add(m, "size", cli_jhex(t->drivers[i].size));
			json_object_object_add(m, "path",
					       json_object_new_string(t->drivers[i].name));
			json_object_array_add(a, m);
		}
		json_object_object_add(doc, "modules", a);
		json_object_object_add(doc, "errors", json_object_new_array());
		json_object_object_add(doc, "warnings", cli_warnings(img));
		cli_print_json(doc);
		json_object_put(doc);
		return EXIT_OK;
	}
	printf("%zu drivers (triage dump driver list)\n", t->ndrivers);
	w = 8;
	for (i = 0; i < t->ndrivers; i++)
		if (t->drivers[i].base > 0xffffffffu)
			w = 16;
	printf("%-*s %-10s %s\n", w, "base", "size", "path");
	for (i = 0; i < t->ndrivers; i++)
		printf("%0*" PRIx64 " %-10x %s\n", w, t->drivers[i].base,
		       t->drivers[i].size, t->drivers[i].name);
	return EXIT_OK;
}

/* Bases as WinDbg writes them: 8 hex digits, 16 when any needs more
 * (x64), so that the columns line up. */
static int addr_width(const exq_module *m, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (m[i].base > 0xffffffffu)
			return 16;
	return 8;
}

static void modules_out(const struct opts *o, exq_image *img, exq_kernel *k,
			const exq_module *m, size_t n, exq_status st)
{
	size_t i;
	int w;
	if (o->json) {
		json_object *doc = cli_doc("modules"), *a = json_object_new_array();
		json_object *errs = json_object_new_array();
		json_object_object_add(doc, "source",
				       json_object_new_string("PsLoadedModuleList"));
		json_object_object_add(doc, "kernel", cli_kernel_obj(k));
		for (i = 0; i < n; i++) {
			json_object *j = json_object_new_object();
			json_object_object_add(j, "name", json_object_new_string(m[i].name));
			json_object_object_add(j, "base", cli_jhex(m[i].base));
			json_object_object_add(j, "size", cli_jhex(m[i].size));
			json_object_object_add(j, "path", json_object_new_string(m[i].path));
			json_object_array_add(a, j);
		}
		json_object_object_add(doc, "modules", a);
		if (st != EXQ_OK) {
			json_object *e = json_object_new_object();
			json_object_object_add(e, "status",
					       json_object_new_string(exq_strerror(st)));
			json_object_object_add(e, "message",
					       json_object_new_string(exq_image_error(img)));
			json_object_array_add(errs, e);
		}
		json_object_object_add(doc, "errors", errs);
		json_object_object_add(doc, "warnings", cli_warnings(img));
		cli_print_json(doc);
		json_object_put(doc);
		return;
	}
	printf("%zu modules (PsLoadedModuleList at 0x%" PRIx64 ")\n", n,
	       exq_kernel_get_info(k)->module_list);
	w = addr_width(m, n);
	printf("%-*s %-10s %-20s %s\n", w, "base", "size", "name", "path");
	for (i = 0; i < n; i++)
		printf("%0*" PRIx64 " %-10" PRIx64 " %-20s %s\n", w, m[i].base,
		       m[i].size, m[i].name, m[i].path);
}

int cmd_modules(const struct opts *o)
{
	exq_image *img;
	exq_vspace *vs = NULL;
	exq_kernel *k = NULL;
	const exq_module *m;
	size_t n;
	exq_status st;
	int code = 0;
	if (o->npos != 1)
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"usage: exq modules [--json] IMAGE");
	img = cli_open(o, o->pos[0], &code);
	if (!img)
		return code;
	if (exq_image_get_info(img)->triage) {
		code = triage_modules(o, img);
		exq_image_free(img);
		return code;
	}
	code = cli_open_kernel(o, img, &vs, &k);
	if (code == 0) {
		st = exq_kernel_modules(k, &m, &n);
		if (st == EXQ_NOTFOUND && n == 0) {
			code = cli_fail(o, EXIT_NOTFOUND, st, "%s", exq_image_error(img));
		} else {
			modules_out(o, img, k, m, n, st);
			if (st != EXQ_OK) {
				cli_incomplete(o, st, "list incomplete: %s (%s)",
					       exq_image_error(img), exq_strerror(st));
				code = cli_exit_analysis(st);
			}
		}
	}
	cli_text_warnings(o, img);
	exq_kernel_free(k);
	exq_vspace_free(vs);
	exq_image_free(img);
	return code;
}
