/* SPDX-License-Identifier: MIT */
/* exq vtop VA IMAGE: the translation chain (each level's entry, value and
 * flags) and the physical address, or why there is none (DESIGN §8). */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

static const char *size_name(uint64_t size)
{
	switch (size) {
	case 0x1000:
		return "4 KiB";
	case 0x200000:
		return "2 MiB";
	case 0x400000:
		return "4 MiB";
	case 0x40000000:
		return "1 GiB";
	default:
		return "?";
	}
}

static json_object *vtop_json(const exq_image *img, const char *path,
			      const struct opts *o, const exq_vspace *vs,
			      const exq_xlat *x, exq_status st)
{
	json_object *doc = cli_doc("vtop"), *lv = json_object_new_array();
	uint32_t i;
	json_object_object_add(doc, "image", cli_image_obj(img, path, o));
	json_object_object_add(doc, "va", cli_jhex(x->va));
	json_object_object_add(
	    doc, "paging",
	    json_object_new_string(exq_paging_name(exq_vspace_paging(vs))));
	json_object_object_add(doc, "dtb", cli_jhex(exq_vspace_dtb(vs)));
	json_object_object_add(
	    doc, "dtb_source",
	    json_object_new_string(exq_vspace_dtb_source(vs)));
	for (i = 0; i < x->nlevels; i++) {
		const exq_xlat_level *L = &x->levels[i];
		json_object *e = json_object_new_object();
		json_object_object_add(e, "name",
				       json_object_new_string(L->name));
		json_object_object_add(e, "index",
				       json_object_new_int64(L->index));
		json_object_object_add(e, "entry_pa", cli_jhex(L->entry_pa));
		json_object_object_add(e, "entry", cli_jhex(L->entry));
		json_object_object_add(e, "flags", cli_xflags_json(L->flags));
		json_object_array_add(lv, e);
	}
	json_object_object_add(doc, "levels", lv);
	if (st == EXQ_OK) {
		json_object_object_add(doc, "pa", cli_jhex(x->pa));
		json_object_object_add(doc, "page_size",
				       cli_jhex(x->page_size));
		json_object_object_add(doc, "flags", cli_xflags_json(x->flags));
		json_object_object_add(
		    doc, "transition",
		    json_object_new_boolean(!!(x->flags & EXQ_XF_TRANSITION)));
		json_object_object_add(
		    doc, "nx",
		    json_object_new_boolean(!!(x->flags & EXQ_XF_NX)));
	} else {
		json_object *err = json_object_new_object();
		json_object_object_add(doc, "pa", NULL);
		json_object_object_add(
		    err, "status", json_object_new_string(exq_strerror(st)));
		json_object_object_add(
		    err, "message",
		    json_object_new_string(exq_image_error(img)));
		json_object_object_add(doc, "error", err);
	}
	json_object_object_add(doc, "warnings", cli_warnings(img));
	return doc;
}

static void vtop_text(const exq_image *img, const exq_vspace *vs,
		      const exq_xlat *x, exq_status st)
{
	char fl[128];
	uint32_t i;
	printf("VA 0x%" PRIx64 " (%s, DTB 0x%" PRIx64 " from %s)\n", x->va,
	       exq_paging_name(exq_vspace_paging(vs)), exq_vspace_dtb(vs),
	       exq_vspace_dtb_source(vs));
	for (i = 0; i < x->nlevels; i++) {
		const exq_xlat_level *L = &x->levels[i];
		char name[24];
		snprintf(name, sizeof(name), "%s[0x%x]", L->name, L->index);
		printf("  %-12s at 0x%-10" PRIx64 " = 0x%016" PRIx64 "  %s\n",
		       name, L->entry_pa, L->entry,
		       cli_xflags(fl, sizeof(fl), L->flags));
	}
	if (st == EXQ_OK)
		printf("PA 0x%" PRIx64 " (%s page; %s)\n", x->pa,
		       size_name(x->page_size),
		       cli_xflags(fl, sizeof(fl), x->flags));
	else
		printf("no PA: %s (%s)\n", exq_image_error(img),
		       exq_strerror(st));
}

int cmd_vtop(const struct opts *o)
{
	exq_image *img;
	exq_vspace *vs;
	exq_xlat x;
	exq_status st;
	uint64_t va;
	int code = 0;
	const char *path;
	if (o->npos != 2)
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"usage: exq vtop [--json] VA IMAGE");
	if (cli_parse_addr(o->pos[0], &va))
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"VA must be a hex address, got '%s'", o->pos[0]);
	path = o->pos[1];
	img = cli_open(o, path, &code);
	if (!img)
		return code;
	vs = cli_vspace(o, img, &code);
	if (!vs) {
		exq_image_free(img);
		return code;
	}
	memset(&x, 0, sizeof(x));
	x.va = va; /* kept when the walk fails before writing it (CORRUPT) */
	st = exq_vtop(vs, va, &x);
	if (st == EXQ_INVALID) {
		code = cli_fail(o, EXIT_USAGE, st, "%s", exq_image_error(img));
	} else {
		if (o->json) {
			json_object *doc = vtop_json(img, path, o, vs, &x, st);
			cli_print_json(doc);
			json_object_put(doc);
		} else {
			vtop_text(img, vs, &x, st);
		}
		if (st != EXQ_OK) {
			cli_incomplete(o, st, "%s (%s)", exq_image_error(img),
				       exq_strerror(st));
			code = cli_exit_analysis(st);
		}
	}
	cli_text_warnings(o, img);
	exq_vspace_free(vs);
	exq_image_free(img);
	return code;
}
