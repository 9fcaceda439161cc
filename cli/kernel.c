/* SPDX-License-Identifier: MIT */
/* Kernel rendering shared by the commands, and exq modules. */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
	json_object_object_add(o, "build", ki->has_build
						   ? json_object_new_int64(ki->build)
						   : NULL);
	json_object_object_add(o, "os", ki->os ? json_object_new_string(ki->os) : NULL);
	json_object_object_add(o, "profile", ki->profile
						     ? json_object_new_string(ki->profile)
						     : NULL);
	json_object_object_add(o, "pdb", ki->has_pdb
						 ? json_object_new_string(ki->pdb_name)
						 : NULL);
	json_object_object_add(o, "pdb_guid",
			       ki->has_pdb ? json_object_new_string(ki->pdb_guid)
					   : NULL);
	json_object_object_add(o, "pdb_age", ki->has_pdb
						     ? json_object_new_int64(ki->pdb_age)
						     : NULL);
	json_object_object_add(o, "module_list", ki->has_module_list
							 ? cli_jhex(ki->module_list)
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
	if (ki->has_build && json_object_object_get_ex(image, "build", &v) && !v)
		json_object_object_add(image, "build", json_object_new_int64(ki->build));
	if (doc && ki->has_kdbg && json_object_object_get_ex(doc, "kdbg", &v) && !v)
		json_object_object_add(doc, "kdbg", cli_jhex(ki->kdbg_va));
}

void cli_kernel_text(const exq_kernel *k)
{
	const exq_kernel_info *ki = exq_kernel_get_info(k);
	printf("%-22s %s at 0x%" PRIx64 " size 0x%x (%s)\n", "kernel:", ki->name,
	       ki->base, ki->size, ki->base_source);
	if (ki->has_build)
		printf("%-22s %u%s%s%s%s\n", "kernel build:", ki->build,
		       ki->os ? " (" : "", ki->os ? ki->os : "", ki->os ? ")" : "",
		       ki->profile ? "" : ", no queue profile");
	if (ki->has_pdb)
		printf("%-22s %s {%s} age %u\n", "pdb:", ki->pdb_name, ki->pdb_guid,
		       ki->pdb_age);
}

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
		return cli_fail(o, st == EXQ_NOTFOUND ? EXIT_NOTFOUND
						      : cli_exit_analysis(st),
				st, "%s (%s)", exq_image_error(img),
				exq_strerror(st));
	return 0;
}

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
	printf("%-18s %-10s %s\n", "base", "size", "path");
	for (i = 0; i < t->ndrivers; i++)
		printf("%-18" PRIx64 " %-10x %s\n", t->drivers[i].base,
		       t->drivers[i].size, t->drivers[i].name);
	return EXIT_OK;
}

static void modules_out(const struct opts *o, exq_image *img, exq_kernel *k,
			const exq_module *m, size_t n, exq_status st)
{
	size_t i;
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
	printf("%-10s %-10s %-20s %s\n", "base", "size", "name", "path");
	for (i = 0; i < n; i++)
		printf("%-10" PRIx64 " %-10" PRIx64 " %-20s %s\n", m[i].base,
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
				fprintf(stderr, "exq: modules: list incomplete: %s (%s)\n",
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
