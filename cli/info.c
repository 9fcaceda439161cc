/* SPDX-License-Identifier: MIT */
/* exq info: what the image says about itself (DESIGN §8, §9). */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

static json_object *jnull(void)
{
	return NULL;
}

/* ------------------------------------------------------------ runs */

/* Up to this many runs "runs" is an array of json-c objects; above it
 * (a fragmented bitmap dump holds millions) a json-c array whose
 * serializer writes them as json-c would, from a copy of the runs: json-c
 * spends ~1 KB per object, which made `info --json` on a 16 GiB dump of
 * every other page take 2.3 GB. --expect compares objects, so it always
 * gets them. */
#define RUNS_AS_OBJECTS 4096

struct runs_json {
	exq_run *run;
	size_t n;
	json_object *one, *pa, *pages; /* one run, rewritten for each */
};

static void runs_json_free(json_object *jso, void *arg)
{
	struct runs_json *r = arg;
	(void)jso;
	json_object_put(r->one);
	free(r->run);
	free(r);
}

static int runs_indent(struct printbuf *pb, int level, int flags)
{
	if (!(flags & JSON_C_TO_STRING_PRETTY) || level <= 0)
		return 0;
	if (flags & JSON_C_TO_STRING_PRETTY_TAB)
		return printbuf_memset(pb, -1, '\t', level);
	return printbuf_memset(pb, -1, ' ', 2 * level);
}

/* json-c's array layout (arraylist_to_json_string in json_object.c);
 * each run is the template object written by json-c at level 0, its
 * lines after the first indented to level + 1. Returns -1 when the buffer
 * cannot grow (json-c then gives no text: the run ends as NOMEM). */
static int runs_to_json(json_object *jso, struct printbuf *pb, int level,
			int flags)
{
	const struct runs_json *r = json_object_get_userdata(jso);
	int pretty = flags & JSON_C_TO_STRING_PRETTY;
	int spaced = (flags & JSON_C_TO_STRING_SPACED) && !pretty;
	size_t i;
	if (printbuf_strappend(pb, "[") < 0 ||
	    (pretty && printbuf_strappend(pb, "\n") < 0))
		return -1;
	for (i = 0; i < r->n; i++) {
		char hex[19];
		const char *t, *p, *nl;
		size_t len;
		if (i && (printbuf_strappend(pb, ",") < 0 ||
			  (pretty && printbuf_strappend(pb, "\n") < 0)))
			return -1;
		if ((spaced && printbuf_strappend(pb, " ") < 0) ||
		    runs_indent(pb, level + 1, flags) < 0)
			return -1;
		if (!json_object_set_string(r->pa,
					    cli_hex(hex, r->run[i].base_page << 12)) ||
		    !json_object_set_int64(r->pages,
					   (int64_t)r->run[i].page_count) ||
		    !(t = json_object_to_json_string_length(r->one, flags, &len)))
			return -1;
		for (p = t; (nl = memchr(p, '\n', len - (size_t)(p - t)));
		     p = nl + 1)
			if (printbuf_memappend(pb, p, (int)(nl + 1 - p)) < 0 ||
			    runs_indent(pb, level + 1, flags) < 0)
				return -1;
		if (printbuf_memappend(pb, p, (int)(len - (size_t)(p - t))) < 0)
			return -1;
	}
	if (pretty && ((r->n && printbuf_strappend(pb, "\n") < 0) ||
		       runs_indent(pb, level, flags) < 0))
		return -1;
	return spaced ? printbuf_strappend(pb, " ]") : printbuf_strappend(pb, "]");
}

/* "runs": run[0..n) as objects, or written by runs_to_json. */
static json_object *runs_obj(const exq_run *run, size_t n, int objects)
{
	json_object *a = json_object_new_array();
	struct runs_json *r;
	size_t i;
	if (!a)
		return NULL;
	if (objects || n <= RUNS_AS_OBJECTS) {
		for (i = 0; i < n; i++) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "pa", cli_jhex(run[i].base_page << 12));
			json_object_object_add(
			    o, "pages", json_object_new_int64((int64_t)run[i].page_count));
			json_object_array_add(a, o);
		}
		return a;
	}
	r = calloc(1, sizeof(*r));
	if (r && !(r->run = malloc(n * sizeof(*run)))) {
		free(r);
		r = NULL;
	}
	if (!r) {
		json_object_put(a);
		return cli_jchk(NULL); /* records the NOMEM */
	}
	/* (both adds tried: a value not added is kept by cli_jadd) */
	r->one = json_object_new_object();
	r->pa = json_object_new_string("0x0");
	r->pages = json_object_new_int64(0);
	if ((json_object_object_add(r->one, "pa", r->pa) != 0) |
	    (json_object_object_add(r->one, "pages", r->pages) != 0)) {
		json_object_put(r->one);
		free(r->run);
		free(r);
		json_object_put(a);
		return NULL; /* (the NOMEM is recorded) */
	}
	memcpy(r->run, run, n * sizeof(*run));
	r->n = n;
	json_object_set_serializer(a, runs_to_json, r, runs_json_free);
	return a;
}

static json_object *jstr_or_null(const char *s)
{
	return s ? json_object_new_string(s) : jnull();
}

/* Names of the common bugcheck codes (Microsoft's "Bug check code
 * reference"); the 0x1000xxxx forms are the same checks raised with
 * extended parameters (the _M names). */
static const struct {
	uint32_t code;
	const char *name;
} bugchecks[] = {
	{0x0a, "IRQL_NOT_LESS_OR_EQUAL"},
	{0x19, "BAD_POOL_HEADER"},
	{0x1a, "MEMORY_MANAGEMENT"},
	{0x1e, "KMODE_EXCEPTION_NOT_HANDLED"},
	{0x24, "NTFS_FILE_SYSTEM"},
	{0x3b, "SYSTEM_SERVICE_EXCEPTION"},
	{0x50, "PAGE_FAULT_IN_NONPAGED_AREA"},
	{0x7a, "KERNEL_DATA_INPAGE_ERROR"},
	{0x7b, "INACCESSIBLE_BOOT_DEVICE"},
	{0x7e, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED"},
	{0x7f, "UNEXPECTED_KERNEL_MODE_TRAP"},
	{0x8e, "KERNEL_MODE_EXCEPTION_NOT_HANDLED"},
	{0x96, "INVALID_WORK_QUEUE_ITEM"},
	{0x9c, "MACHINE_CHECK_EXCEPTION"},
	{0x9f, "DRIVER_POWER_STATE_FAILURE"},
	{0xa0, "INTERNAL_POWER_ERROR"},
	{0xc2, "BAD_POOL_CALLER"},
	{0xc4, "DRIVER_VERIFIER_DETECTED_VIOLATION"},
	{0xc5, "DRIVER_CORRUPTED_EXPOOL"},
	{0xd1, "DRIVER_IRQL_NOT_LESS_OR_EQUAL"},
	{0xe2, "MANUALLY_INITIATED_CRASH"},
	{0xef, "CRITICAL_PROCESS_DIED"},
	{0xf4, "CRITICAL_OBJECT_TERMINATION"},
	{0xfc, "ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY"},
	{0x101, "CLOCK_WATCHDOG_TIMEOUT"},
	{0x109, "CRITICAL_STRUCTURE_CORRUPTION"},
	{0x116, "VIDEO_TDR_FAILURE"},
	{0x124, "WHEA_UNCORRECTABLE_ERROR"},
	{0x133, "DPC_WATCHDOG_VIOLATION"},
	{0x139, "KERNEL_SECURITY_CHECK_FAILURE"},
	{0x13a, "KERNEL_MODE_HEAP_CORRUPTION"},
	{0x144, "BUGCODE_USB3_DRIVER"},
	{0x154, "UNEXPECTED_STORE_EXCEPTION"},
	{0x15f, "CONNECTED_STANDBY_WATCHDOG_TIMEOUT_LIVEDUMP"},
	{0x1000007e, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M"},
	{0x1000007f, "UNEXPECTED_KERNEL_MODE_TRAP_M"},
	{0x1000008e, "KERNEL_MODE_EXCEPTION_NOT_HANDLED_M"},
	{0x100000ea, "THREAD_STUCK_IN_DEVICE_DRIVER_M"},
	{0xea, "THREAD_STUCK_IN_DEVICE_DRIVER"},
	{0xdeaddead, "MANUALLY_INITIATED_CRASH1"},
};

static const char *bugcheck_name(uint32_t code)
{
	size_t i;
	for (i = 0; i < sizeof(bugchecks) / sizeof(bugchecks[0]); i++)
		if (bugchecks[i].code == code)
			return bugchecks[i].name;
	return NULL;
}

/* The module a bugcheck parameter points into, as module+0xoff: through
 * the kernel's module list, or a triage dump's stored driver list. */
static int param_module(const exq_image *img, const exq_kernel *k, uint64_t addr,
			char *buf, size_t len)
{
	const exq_triage_info *t = exq_image_get_info(img)->triage;
	size_t i;
	if (k && cli_symbolize((exq_kernel *)k, addr, buf, len) == EXQ_OK)
		return 1;
	for (i = 0; t && i < t->ndrivers; i++) {
		const exq_triage_driver *d = &t->drivers[i];
		if (addr >= d->base && addr - d->base < d->size) {
			const char *b = strrchr(d->name, '\\');
			snprintf(buf, len, "%s+0x%" PRIx64, b ? b + 1 : d->name, addr - d->base);
			return 1;
		}
	}
	return 0;
}

static json_object *header_obj(const exq_image_info *in)
{
	json_object *h, *c;
	if (!strcmp(in->format, "raw"))
		return NULL;
	h = json_object_new_object();
	json_object_object_add(h, "major_version",
			       json_object_new_int64(in->major_version));
	json_object_object_add(h, "minor_version",
			       json_object_new_int64(in->minor_version));
	json_object_object_add(h, "dump_type_code",
			       json_object_new_int64(in->dump_type_code));
#define HEXF(bit, key, val) \
	json_object_object_add(h, key, in->have & (bit) ? cli_jhex(val) : NULL)
	HEXF(EXQ_HAVE_PFN_DATABASE, "pfn_database", in->pfn_database);
	HEXF(EXQ_HAVE_MODULE_LIST, "ps_loaded_module_list",
	     in->ps_loaded_module_list);
	HEXF(EXQ_HAVE_PROCESS_HEAD, "ps_active_process_head",
	     in->ps_active_process_head);
	HEXF(EXQ_HAVE_UPTIME, "system_uptime", in->system_uptime);
#undef HEXF
	json_object_object_add(h, "product_type",
			       in->have & EXQ_HAVE_PRODUCT
				       ? json_object_new_int64(in->product_type)
				       : NULL);
	json_object_object_add(h, "suite_mask", in->have & EXQ_HAVE_PRODUCT
							? cli_jhex(in->suite_mask)
							: NULL);
	c = NULL;
	if (in->have & EXQ_HAVE_CONTEXT) {
		c = json_object_new_object();
		json_object_object_add(c, "pc", cli_jhex(in->context_pc));
		json_object_object_add(c, "sp", cli_jhex(in->context_sp));
		json_object_object_add(c, "source",
				       json_object_new_string(in->context_source));
	}
	json_object_object_add(h, "context", c);
	c = NULL;
	if (in->have & EXQ_HAVE_EXCEPTION) {
		c = json_object_new_object();
		json_object_object_add(c, "code", cli_jhex(in->exception_code));
		json_object_object_add(c, "address",
				       cli_jhex(in->exception_address));
	}
	json_object_object_add(h, "exception", c);
	return h;
}

static json_object *triage_obj(const exq_triage_info *t)
{
	json_object *o = json_object_new_object(), *k, *drv;
	size_t i;
	struct {
		const char *name;
		uint64_t v;
	} f[] = {
		{"service_pack_build", t->service_pack_build},
		{"size_of_dump", t->size_of_dump},
		{"valid_offset", t->valid_offset},
		{"context_offset", t->context_offset},
		{"exception_offset", t->exception_offset},
		{"mm_offset", t->mm_offset},
		{"unloaded_drivers_offset", t->unloaded_drivers_offset},
		{"prcb_offset", t->prcb_offset},
		{"process_offset", t->process_offset},
		{"thread_offset", t->thread_offset},
		{"callstack_offset", t->callstack_offset},
		{"callstack_size", t->callstack_size},
		{"driver_list_offset", t->driver_list_offset},
		{"string_pool_offset", t->string_pool_offset},
		{"string_pool_size", t->string_pool_size},
		{"broken_driver_offset", t->broken_driver_offset},
		{"triage_options", t->triage_options},
		{"top_of_stack", t->top_of_stack},
		{"data_page_address", t->data_page_address},
		{"data_page_offset", t->data_page_offset},
		{"data_page_size", t->data_page_size},
		{"debugger_data_offset", t->debugger_data_offset},
		{"debugger_data_size", t->debugger_data_size},
		{"data_blocks_offset", t->data_blocks_offset},
	};
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		json_object_object_add(o, f[i].name, cli_jhex(f[i].v));
	json_object_object_add(o, "driver_count",
			       json_object_new_int64(t->driver_count));
	json_object_object_add(o, "data_blocks_count",
			       json_object_new_int64(t->data_blocks_count));
	json_object_object_add(o, "valid", json_object_new_boolean(t->valid));
	k = NULL;
	if (t->has_kdbg) {
		k = json_object_new_object();
		json_object_object_add(k, "size", cli_jhex(t->kdbg_size));
		json_object_object_add(k, "kernel_base", cli_jhex(t->kdbg_kernbase));
		json_object_object_add(k, "ps_loaded_module_list",
				       cli_jhex(t->kdbg_ps_loaded_module_list));
	}
	json_object_object_add(o, "kdbg_copy", k);
	drv = json_object_new_array();
	for (i = 0; i < t->ndrivers; i++) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "name",
				       json_object_new_string(t->drivers[i].name));
		json_object_object_add(d, "base", cli_jhex(t->drivers[i].base));
		json_object_object_add(d, "size", cli_jhex(t->drivers[i].size));
		json_object_array_add(drv, d);
	}
	json_object_object_add(o, "drivers", drv);
	return o;
}

/* A triage dump holds no kernel pages, but its KDBG copy names the
 * kernel base and its driver list the module there (issue 13). */
static json_object *triage_kernel_obj(const exq_image_info *in)
{
	const exq_triage_info *t = in->triage;
	const char *name = NULL, *slash;
	json_object *o;
	size_t i;
	if (!t || !t->has_kdbg || !t->kdbg_kernbase)
		return NULL;
	o = json_object_new_object();
	for (i = 0; i < t->ndrivers; i++)
		if (t->drivers[i].base == t->kdbg_kernbase && t->drivers[i].name &&
		    t->drivers[i].name[0]) {
			name = t->drivers[i].name;
			break;
		}
	slash = name ? strrchr(name, '\\') : NULL;
	json_object_object_add(o, "name", name ? json_object_new_string(slash ? slash + 1 : name)
					       : NULL);
	json_object_object_add(o, "base", cli_jhex(t->kdbg_kernbase));
	json_object_object_add(o, "size", name ? cli_jhex(t->drivers[i].size) : NULL);
	json_object_object_add(o, "base_source", json_object_new_string("kdbg"));
	json_object_object_add(o, "build", in->have & EXQ_HAVE_BUILD
						   ? json_object_new_int64(in->build)
						   : NULL);
	json_object_object_add(o, "module_list", t->kdbg_ps_loaded_module_list
							 ? cli_jhex(t->kdbg_ps_loaded_module_list)
							 : NULL);
	return o;
}

static json_object *info_json(const exq_image *img, const char *path,
			      const struct opts *o, const exq_kernel *k,
			      const exq_run *run)
{
	const exq_image_info *in = exq_image_get_info(img);
	json_object *doc = cli_doc("info"), *bc = NULL;
	char tb[32];
	size_t i;

	json_object_object_add(doc, "image", cli_image_obj(img, path, o));
	json_object_object_add(doc, "kernel", k ? cli_kernel_obj(k) : triage_kernel_obj(in));
	json_object_object_add(doc, "cpus", in->have & EXQ_HAVE_CPUS
						    ? json_object_new_int64(in->cpus)
						    : NULL);
	json_object_object_add(doc, "kdbg",
			       in->have & EXQ_HAVE_KDBG ? cli_jhex(in->kdbg_va)
							: NULL);
	if (in->have & EXQ_HAVE_BUGCHECK) {
		json_object *p = json_object_new_array();
		bc = json_object_new_object();
		json_object_object_add(bc, "code", cli_jhex(in->bugcheck_code));
		json_object_object_add(bc, "name", jstr_or_null(bugcheck_name(in->bugcheck_code)));
		for (i = 0; i < 4; i++)
			json_object_array_add(p, cli_jhex(in->bugcheck_params[i]));
		json_object_object_add(bc, "params", p);
		p = json_object_new_array();
		for (i = 0; i < 4; i++) {
			char sym[300];
			json_object_array_add(p, param_module(img, k, in->bugcheck_params[i], sym,
							      sizeof(sym))
							 ? json_object_new_string(sym)
							 : NULL);
		}
		json_object_object_add(bc, "param_modules", p);
	}
	json_object_object_add(doc, "bugcheck", bc);
	json_object_object_add(
		doc, "system_time",
		in->have & EXQ_HAVE_SYSTEM_TIME
			? jstr_or_null(cli_filetime(tb, sizeof(tb), in->system_time))
			: NULL);
	json_object_object_add(doc, "runs",
			       runs_obj(run, in->nruns, o->expect != NULL));
	json_object_object_add(doc, "pages_present",
			       json_object_new_int64((int64_t)in->pages_present));
	json_object_object_add(doc, "header", header_obj(in));
	json_object_object_add(doc, "triage", in->triage ? triage_obj(in->triage) : NULL);
	json_object_object_add(doc, "warnings", cli_warnings(img));
	{
		json_object *im;
		if (json_object_object_get_ex(doc, "image", &im))
			cli_fill_from_kernel(doc, im, k);
	}
	return doc;
}

static void line(const char *k, const char *v)
{
	printf("%-22s %s\n", k, v ? v : "-");
}

static void info_text(const exq_image *img, const char *path,
		      const exq_kernel *k, int verbose, const exq_run *run)
{
	const exq_image_info *in = exq_image_get_info(img);
	char b[64], b2[64];
	size_t i;

	line("image:", path);
	snprintf(b, sizeof(b), "%s%s", in->format, in->gzip ? " (gzip)" : "");
	line("format:", b);
	line("dump type:", in->dump_type);
	line("machine:", exq_machine_name(in->machine));
	line("paging:", exq_paging_name(in->paging));
	if (in->have & EXQ_HAVE_DTB) {
		snprintf(b, sizeof(b), "%s (%s)", cli_hex(b2, in->dtb), in->dtb_source);
		line("dtb:", b);
	} else {
		line("dtb:", NULL);
	}
	if (in->have & EXQ_HAVE_BUILD) {
		snprintf(b, sizeof(b), "%u", in->build);
		line("build:", b);
	}
	if (k)
		cli_kernel_text(k);
	if (in->have & EXQ_HAVE_CPUS) {
		snprintf(b, sizeof(b), "%u", in->cpus);
		line("cpus:", b);
	}
	if (in->have & EXQ_HAVE_BUGCHECK) {
		const char *name = bugcheck_name(in->bugcheck_code);
		printf("%-22s %s%s0x%x%s (0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64
		       ", 0x%" PRIx64 ")\n",
		       "bugcheck:", name ? name : "", name ? " (" : "", in->bugcheck_code,
		       name ? ")" : "", in->bugcheck_params[0],
		       in->bugcheck_params[1], in->bugcheck_params[2],
		       in->bugcheck_params[3]);
		for (i = 0; i < 4; i++) {
			char sym[300];
			if (param_module(img, k, in->bugcheck_params[i], sym, sizeof(sym)))
				printf("  parameter %zu: 0x%" PRIx64 " is %s\n", i + 1,
				       in->bugcheck_params[i], sym);
		}
	}
	if (in->have & EXQ_HAVE_SYSTEM_TIME)
		line("system time:", cli_filetime(b, sizeof(b), in->system_time));
	if (in->have & EXQ_HAVE_KDBG)
		line("kdbg:", cli_hex(b, in->kdbg_va));
	if (in->have & EXQ_HAVE_MODULE_LIST)
		line("PsLoadedModuleList:", cli_hex(b, in->ps_loaded_module_list));
	if (in->have & EXQ_HAVE_CONTEXT) {
		printf("%-22s pc 0x%" PRIx64 " sp 0x%" PRIx64 " (%s)\n", "context:",
		       in->context_pc, in->context_sp, in->context_source);
	}
	snprintf(b, sizeof(b), "%" PRIu64 " (%.1f MiB) in %zu run%s%s",
		 in->pages_present, (double)in->pages_present / 256.0, in->nruns,
		 in->nruns == 1 ? "" : "s", verbose || !in->nruns ? "" : " (-v lists them)");
	line("pages present:", b);
	for (i = 0; verbose && i < in->nruns && i < 32; i++)
		printf("  run %-4zu pa 0x%" PRIx64 " pages 0x%" PRIx64 "\n", i,
		       run[i].base_page << 12, run[i].page_count);
	if (verbose && in->nruns > 32)
		printf("  ... %zu more runs (see --json)\n", in->nruns - 32);
	if (in->triage) {
		const exq_triage_info *t = in->triage;
		printf("triage:                %s, %u drivers, %u data blocks\n",
		       t->valid ? "valid (TRGD)" : "no TRGD tag", t->driver_count,
		       t->data_blocks_count);
		if (t->has_kdbg)
			printf("  KDBG copy: KernBase 0x%" PRIx64
			       " PsLoadedModuleList 0x%" PRIx64 "\n",
			       t->kdbg_kernbase, t->kdbg_ps_loaded_module_list);
		printf("  a triage dump holds only selected pages: the worker "
		       "queues cannot be walked from it\n");
	}
	for (i = 0; i < exq_image_warning_count(img); i++)
		printf("warning: %s\n", exq_image_warning(img, i));
}

/* The DTB for every format: scan a raw image that names none; find the
 * paging mode of a DTB given without one. A failure becomes a warning
 * (info still reports everything else); a scan that finds nothing leaves
 * dtb null, with a note in text (-v lists the candidates). */
static void resolve_dtb(const struct opts *o, exq_image *img,
			exq_dtb_candidate **c, size_t *n, char *warn,
			size_t wlen, char *note, size_t nlen)
{
	exq_status st = cli_find_dtb(o, img, c, n);
	const exq_image_info *in = exq_image_get_info(img);
	cli_note_status(st);
	warn[0] = note[0] = '\0';
	if (st != EXQ_OK) {
		snprintf(warn, wlen, "DTB scan failed: %s (%s)",
			 exq_image_error(img), exq_strerror(st));
	} else if (*c && !(*n && (*c)[0].chosen)) {
		snprintf(note, nlen, "no DTB: the scan found no page directory "
				     "that maps kernel space (%zu candidate%s "
				     "rejected%s)",
			 *n, *n == 1 ? "" : "s",
			 o->verbose ? "" : "; -v lists them");
	} else if ((in->have & EXQ_HAVE_DTB) &&
		   in->paging == EXQ_PAGING_UNKNOWN && !in->triage) {
		exq_vspace *vs = NULL;
		st = exq_vspace_open(&vs, img); /* records the paging mode */
		cli_note_status(st);
		if (st != EXQ_OK)
			snprintf(warn, wlen, "%s (%s)", exq_image_error(img),
				 exq_strerror(st));
		exq_vspace_free(vs);
	}
}

/* The kernel, when the image has an address space: info reports it, and
 * says why not as a warning (info itself does not fail for it). */
static exq_kernel *find_kernel(const struct opts *o, exq_image *img,
			       exq_vspace **vs, char *why, size_t whylen)
{
	const exq_image_info *in = exq_image_get_info(img);
	exq_kernel_opts ko;
	exq_kernel *k = NULL;
	exq_status st;
	*vs = NULL;
	if (in->triage || !(in->have & EXQ_HAVE_DTB))
		return NULL;
	st = exq_vspace_open(vs, img);
	cli_note_status(st);
	if (st != EXQ_OK) {
		snprintf(why, whylen, "no kernel address space: %s",
			 exq_image_error(img));
		return NULL;
	}
	cli_kernel_opts(o, &ko);
	st = exq_kernel_open(&k, *vs, &ko);
	cli_note_status(st);
	if (st != EXQ_OK) {
		snprintf(why, whylen, "kernel not found: %s", exq_image_error(img));
		k = NULL;
	}
	return k;
}

int cmd_info(const struct opts *o)
{
	exq_image *img;
	exq_vspace *vs = NULL;
	exq_kernel *k = NULL;
	char kwhy[1200];
	exq_dtb_candidate *cands = NULL;
	size_t ncands = 0;
	char warn[1200], note[200];
	int code = 0;
	const char *path;
	const exq_run *run = NULL;
	size_t nrun = 0;
	exq_status st;
	if (o->npos != 1)
		return cli_fail(o, EXIT_USAGE, EXQ_INVALID,
				"usage: exq info [--json] IMAGE");
	path = o->pos[0];
	img = cli_open(o, path, &code);
	if (!img)
		return code;
	resolve_dtb(o, img, &cands, &ncands, warn, sizeof(warn), note,
		    sizeof(note));
	kwhy[0] = '\0';
	k = find_kernel(o, img, &vs, kwhy, sizeof(kwhy));
	/* the runs, built now for a bitmap dump: only when listed */
	if ((o->json || o->verbose) &&
	    (st = exq_image_runs(img, &run, &nrun)) != EXQ_OK) {
		code = cli_fail(o, cli_exit_analysis(st), st,
				"listing the physical runs: %s",
				exq_image_error(img));
		exq_dtb_candidates_free(cands);
		exq_kernel_free(k);
		exq_vspace_free(vs);
		exq_image_free(img);
		return code;
	}
	if (o->json) {
		json_object *doc = info_json(img, path, o, k, run), *w;
		if (warn[0] && json_object_object_get_ex(doc, "warnings", &w))
			json_object_array_add(w, json_object_new_string(warn));
		if (kwhy[0] && json_object_object_get_ex(doc, "warnings", &w))
			json_object_array_add(w, json_object_new_string(kwhy));
		if (o->verbose && cands)
			json_object_object_add(doc, "dtb_candidates",
					       cli_dtb_candidates_json(cands, ncands));
		cli_print_json(doc);
		json_object_put(doc);
	} else {
		info_text(img, path, k, o->verbose, run);
		if (o->verbose && cands) {
			printf("DTB candidates (scan):\n");
			cli_dtb_candidates_text(stdout, cands, ncands);
		}
		if (note[0])
			printf("note: %s\n", note);
		if (warn[0])
			printf("warning: %s\n", warn);
		if (kwhy[0])
			printf("note: %s\n", kwhy);
	}
	exq_dtb_candidates_free(cands);
	exq_kernel_free(k);
	exq_vspace_free(vs);
	exq_image_free(img);
	return EXIT_OK;
}
