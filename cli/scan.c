/* exq scan IMAGE: DTB candidates with their evidence (DESIGN §5, §8), and
 * the helpers other commands use to get a kernel address space. */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
	uint32_t bit;
	const char *name;
} evidence_names[] = {
    {EXQ_DTB_EV_SELFMAP, "selfmap"},   {EXQ_DTB_EV_BOOT_LAYOUT, "boot-layout"},
    {EXQ_DTB_EV_BOOT_CR3, "boot-cr3"}, {EXQ_DTB_EV_SELFMAP_VA, "selfmap-va"},
    {EXQ_DTB_EV_KERNEL, "kernel"},
};
#define NEVIDENCE (sizeof(evidence_names) / sizeof(evidence_names[0]))

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

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	if (!total)
		return;
	fprintf(stderr,
		"\rexq: scanning for the DTB: %3u%% (%" PRIu64 " of %" PRIu64
		" MiB)",
		(unsigned)(done * 100 / total), done >> 8, total >> 8);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

static int want_progress(const struct opts *o)
{
	return o->progress || (!o->quiet && isatty(2));
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
	return exq_dtb_scan(img, want_progress(o) ? progress_cb : NULL, NULL,
			    cands, n);
}

exq_vspace *cli_vspace(const struct opts *o, exq_image *img, int *code)
{
	exq_dtb_candidate *c;
	exq_vspace *vs = NULL;
	size_t n;
	exq_status st = cli_find_dtb(o, img, &c, &n);
	if (st == EXQ_OK && c && o->verbose) {
		fprintf(stderr, "exq: %s: DTB candidates:\n", o->command);
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
	st = exq_dtb_scan(img, want_progress(o) ? progress_cb : NULL, NULL, &c,
			  &n);
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
		fprintf(stderr,
			"exq: scan: no DTB found: no candidate maps "
			"kernel space (%zu rejected)\n",
			n);
		code = EXIT_NOTFOUND;
	}
	exq_dtb_candidates_free(c);
	cli_text_warnings(o, img);
	exq_image_free(img);
	return code;
}
