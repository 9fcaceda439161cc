/* SPDX-License-Identifier: MIT */
/* exq scan IMAGE: DTB candidates with their evidence (DESIGN §5, §8). */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_scan(const struct opts *o)
{
	exq_dtb_candidate *c = NULL;
	exq_image *img;
	exq_status st;
	size_t n = 0;
	int code = 0;
	const char *path;
	if (o->npos != 1)
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"usage: exq scan [--json] [-v] IMAGE");
	path = o->pos[0];
	img = cli_open(o, path, &code);
	if (!img)
		return code;
	st = cli_dtb_scan(o, img, &c, &n);
	if (st != EXQ_OK) {
		code = cli_fail(o, cli_exit_analysis(st), st, "%s (%s)",
				exq_image_error(img), exq_strerror(st));
		exq_image_free(img);
		return code;
	}
	if (o->json) {
		json_object *doc = cli_doc("scan"), *ch = NULL;
		json_object_object_add(doc, "image",
				       cli_image_obj(img, path, o));
		if (n && c[0].chosen) {
			ch = json_object_new_object();
			json_object_object_add(ch, "dtb", cli_jhex(c[0].dtb));
			json_object_object_add(
			    ch, "paging",
			    json_object_new_string(
				exq_paging_name(c[0].paging)));
		}
		json_object_object_add(doc, "dtb", ch);
		json_object_object_add(doc, "dtb_candidates",
				       cli_dtb_candidates_json(c, n));
		json_object_object_add(doc, "warnings", cli_warnings(img));
		cli_print_json(doc);
		json_object_put(doc);
	} else {
		printf("DTB candidates in %s: %zu\n", path, n);
		cli_dtb_candidates_text(stdout, c, n);
		if (n && c[0].chosen)
			printf("DTB 0x%" PRIx64 " (%s)\n", c[0].dtb,
			       exq_paging_name(c[0].paging));
	}
	if (!n || !c[0].chosen) {
		cli_incomplete(o, EXQ_NOTFOUND,
			       "no DTB found: no candidate maps kernel space "
			       "(%zu rejected)", n);
		code = EXIT_NOTFOUND;
	}
	exq_dtb_candidates_free(c);
	cli_text_warnings(o, img);
	exq_image_free(img);
	return code;
}
