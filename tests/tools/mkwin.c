/* SPDX-License-Identifier: MIT */
/*
 * mkwin — writes a generated Windows machine ("world", x86 or x64) and its
 * truth to disk.
 *
 *   mkwin [options] OUTDIR NAME
 *
 * Writes into OUTDIR:
 *   NAME.raw            physical memory (file offset = PA), up to the end of
 *                       the last run; pages outside the runs are zeros
 *   NAME.spec           a mkfixture spec (content_from NAME.raw): runs,
 *                       header facts, kernel_pages = every page the world
 *                       uses, so `mkfixture NAME.spec OUTDIR` wraps the same
 *                       memory as PAGEDUMP full / kernel / bitmap (x64:
 *                       PAGEDU64 full / bitmap) and .gz
 *   NAME.queues.json    truth: `exq queues --json` (subset, DESIGN §9)
 *   NAME.modules.json   truth: `exq modules --json`
 *   NAME.kernel.json    truth: the container-independent part of
 *                       `exq info --json` (image, kernel, kdbg)
 *
 * The world builder lives in tests/unit/tlib_win.c and tlib_win_queues.c,
 * which the unit tests link. The Makefile builds each tests/tools/X.c alone
 * (no test library), so the builder is included here as source: one
 * generator, two users.
 */
#include "../unit/tlib_win.c"
#include "../unit/tlib_win_queues.c"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "mkwin: %s%s\n", what, arg);
	exit(2);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mkwin [options] OUTDIR NAME\n"
		"  --build N          2600 (XP SP3), 3790 (2003), 6001 (Vista SP1),\n"
		"                     7601 (7 SP1, default), 9200 (8), 9600 (8.1),\n"
		"                     10240 10586 14393 15063 16299 17763 19041 19045\n"
		"                     (10), 22000 22621 26100 (11, x64 only)\n"
		"  --machine x86|x64  default x86\n"
		"  --nodes N          NUMA nodes, 1 or 2 (Windows 8 and later)\n"
		"  --sp N             service pack (3790: 0 = SP0 layout; default 2)\n"
		"  --paging pae|x86   x86 only; default pae (8 and later: pae)\n"
		"  --damage KIND      none cycle dangling missing_page no_pattern win8 limit\n"
		"                     (8 and later, 7 x64: none or no_pattern)\n"
		"  --damage-queue N   queue that carries the damage (default 1)\n"
		"  --damage-at N      item index of the damage (default 1)\n"
		"  --seed N           default 1\n"
		"  --phys-size N      bytes, multiple of 4 MiB, 16..64 MiB (default 32 MiB)\n"
		"  --cpus N           default 2\n"
		"  --threads A,B,...  worker threads per queue index (default 5,3,1;\n"
		"                     8: 5,3,1,2,1,1,1; 8.1 and later: 4,2)\n"
		"  --items A,B,...    pending items per queue index (default 3,4,0;\n"
		"                     8: 3,4,0,2,1,0,0; 8.1 and later: 6,3)\n"
		"  --io-items A,B,... of which IO_WORKITEMs (default 1,2,0; 8:\n"
		"                     1,2,0,1,0,0,0; 8.1 and later: 2,2)\n"
		"  --max-items N      walk bound the truth assumes (default 4096)\n"
		"  --bugcheck CODE    default 0xe2; 0x96 (P3 = ExWorkerQueue) with\n"
		"                     --damage no_pattern on x86 XP … 7\n"
		"  --kdbg-sext        KDBG pointers sign-extended to 64 bits\n");
	exit(2);
}

static uint64_t num(const char *s)
{
	char *end;
	errno = 0;
	uint64_t v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		die("bad number: ", s);
	return v;
}

/* A,B,... (1..TW_QPN numbers); returns how many. */
static unsigned list_of(const char *s, unsigned *v)
{
	unsigned n = 0;
	const char *p = s;
	for (;;) {
		char *end;
		errno = 0;
		unsigned long x = strtoul(p, &end, 0);
		if (errno || end == p || *p == '-' || n >= TW_QPN || x > 100000)
			die("want A,B,... (up to 8 numbers): ", s);
		v[n++] = (unsigned)x;
		if (*end == 0)
			return n;
		if (*end != ',')
			die("want A,B,... (up to 8 numbers): ", s);
		p = end + 1;
	}
}

static void parse(int argc, char **argv, struct tw_spec *s, const char **dir,
		  const char **name)
{
	uint32_t build = 7601, sp = UINT32_MAX;
	int pae = 1, damage = 0, have_bugcheck = 0, have_nodes = 0;
	enum tw_machine machine = TW_X86;
	unsigned nodes = 1, nt = 0, nit = 0, nio = 0;
	struct tw_spec o; /* overrides, applied after tw_spec_init */
	memset(&o, 0, sizeof o);
	o.seed = 1;
	int have[8] = { 0 };
	unsigned t[TW_QPN], it[TW_QPN], io[TW_QPN];
	int i;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		const char *k = argv[i];
		if (strcmp(k, "--kdbg-sext") == 0) {
			o.kdbg_sign_extend = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (strcmp(k, "--build") == 0)
			build = (uint32_t)num(v);
		else if (strcmp(k, "--machine") == 0) {
			if (strcmp(v, "x86") && strcmp(v, "x64"))
				die("--machine is x86 or x64: ", v);
			machine = strcmp(v, "x64") == 0 ? TW_X64 : TW_X86;
		} else if (strcmp(k, "--nodes") == 0)
			nodes = (unsigned)num(v), have_nodes = 1;
		else if (strcmp(k, "--sp") == 0)
			sp = (uint32_t)num(v);
		else if (strcmp(k, "--paging") == 0) {
			if (strcmp(v, "pae") && strcmp(v, "x86"))
				die("--paging is pae or x86: ", v);
			pae = strcmp(v, "pae") == 0;
		} else if (strcmp(k, "--damage") == 0) {
			if ((damage = tw_damage_by_name(v)) < 0)
				die("unknown damage: ", v);
		} else if (strcmp(k, "--damage-queue") == 0)
			o.damage_queue = (unsigned)num(v), have[0] = 1;
		else if (strcmp(k, "--damage-at") == 0)
			o.damage_at = (unsigned)num(v), have[1] = 1;
		else if (strcmp(k, "--seed") == 0)
			o.seed = num(v);
		else if (strcmp(k, "--phys-size") == 0)
			o.phys_size = num(v), have[2] = 1;
		else if (strcmp(k, "--cpus") == 0)
			o.cpus = (uint32_t)num(v), have[3] = 1;
		else if (strcmp(k, "--threads") == 0)
			nt = list_of(v, t), have[4] = 1;
		else if (strcmp(k, "--items") == 0)
			nit = list_of(v, it), have[5] = 1;
		else if (strcmp(k, "--io-items") == 0)
			nio = list_of(v, io), have[6] = 1;
		else if (strcmp(k, "--max-items") == 0)
			o.max_items = (unsigned)num(v), have[7] = 1;
		else if (strcmp(k, "--bugcheck") == 0)
			o.bugcheck = (uint32_t)num(v), have_bugcheck = 1;
		else
			usage();
	}
	if (argc - i != 2)
		usage();
	*dir = argv[i];
	*name = argv[i + 1];
	tw_spec_init_machine(s, machine, build, o.seed);
	s->pae = pae;
	if (have_nodes)
		s->nodes = nodes;
	if (sp != UINT32_MAX)
		s->sp = sp;
	s->damage = (enum tw_damage)damage;
	s->kdbg_sign_extend = o.kdbg_sign_extend;
	if (have[0])
		s->damage_queue = o.damage_queue;
	if (have[1])
		s->damage_at = o.damage_at;
	if (have[2])
		s->phys_size = o.phys_size;
	if (have[3])
		s->cpus = o.cpus;
	for (unsigned q = 0; q < TW_QPN; q++) {
		if (have[4])
			s->threads[q] = q < nt ? t[q] : 0;
		if (have[5])
			s->items[q] = q < nit ? it[q] : 0;
		if (have[6])
			s->io_items[q] = q < nio ? io[q] : 0;
	}
	if (have[7])
		s->max_items = o.max_items;
	if (have_bugcheck)
		s->bugcheck = o.bugcheck;
	else if (s->damage == TW_DAMAGE_NO_PATTERN && machine == TW_X86 &&
		 build < 9200)
		s->bugcheck = 0x96;
}

static FILE *create(const char *dir, const char *name, const char *suffix)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/%s%s", dir, name, suffix) >=
	    sizeof path)
		die("path too long: ", dir);
	FILE *f = fopen(path, "wb");
	if (!f)
		die("cannot create ", path);
	return f;
}

static void done(FILE *f, const char *what)
{
	if (ferror(f) | (fclose(f) != 0))
		die("cannot write ", what);
}

/* Physical memory up to the end of the last run; pages outside the runs
 * are written as zeros (the world keeps the missing page's bytes, no
 * image does). */
static void write_raw(const struct tw_world *w, FILE *f)
{
	static const uint8_t zero[PG];
	uint64_t end = runs_end(w);
	for (uint64_t p = 0; p < end; p++)
		fwrite(tw_present(w, p) ? w->mem + p * PG : zero, 1, PG, f);
}

/* kernel_pages lines: every used page inside a run, as ranges. */
static void write_kernel_pages(const struct tw_world *w, FILE *f)
{
	unsigned on_line = 0;
	for (uint64_t p = 0; p < w->npages;) {
		if (!w->used[p] || !tw_present(w, p)) {
			p++;
			continue;
		}
		uint64_t q = p;
		while (q + 1 < w->npages && w->used[q + 1] && tw_present(w, q + 1))
			q++;
		if (on_line == 0)
			fprintf(f, "kernel_pages");
		if (q == p)
			fprintf(f, " 0x%" PRIx64, p);
		else
			fprintf(f, " 0x%" PRIx64 "-0x%" PRIx64, p, q);
		if (++on_line == 12) {
			fprintf(f, "\n");
			on_line = 0;
		}
		p = q + 1;
	}
	if (on_line)
		fprintf(f, "\n");
}

static void write_spec(const struct tw_world *w, const char *name, FILE *f,
		       int argc, char **argv)
{
	int x64 = w->machine == TW_X64;
	fprintf(f, "# A generated %s %s world (%s); written by:\n#  ", w->os,
		x64 ? "x64" : w->pae ? "x86 PAE" : "x86 non-PAE",
		tw_model_name(w->model));
	for (int i = 0; i < argc; i++)
		fprintf(f, " %s", argv[i]);
	fprintf(f, "\n# Page bytes come from the raw file; truth: %s.*.json\n", name);
	if (x64)
		fprintf(f, "width 64\nkinds raw dmp64-full dmp64-bitmap\n");
	else
		fprintf(f, "width 32\nkinds raw dmp32-full dmp32-kernel dmp32-bitmap\n");
	fprintf(f, "content_from %s.raw\n", name);
	fprintf(f, "phys_size 0x%" PRIx64 "\n", w->mem_size);
	for (size_t i = 0; i < w->nruns; i++)
		fprintf(f, "run 0x%" PRIx64 " 0x%" PRIx64 "\n", w->runs[i].first,
			w->runs[i].count);
	write_kernel_pages(w, f);
	fprintf(f, "major_version 0xf\nbuild %" PRIu32 "\n", w->build);
	fprintf(f, "dtb 0x%" PRIx64 "\npae %d\ncpus %" PRIu32 "\n", w->dtb, w->pae,
		w->spec.cpus);
	fprintf(f, "bugcheck 0x%" PRIx32 " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64
		   " 0x%" PRIx64 "\n",
		w->bugcheck, w->bugcheck_params[0], w->bugcheck_params[1],
		w->bugcheck_params[2], w->bugcheck_params[3]);
	fprintf(f, "kdbg 0x%" PRIx64 "\n", w->kdbg);
	fprintf(f, "ps_loaded_module_list 0x%" PRIx64 "\n", w->module_list);
	fprintf(f, "ps_active_process_head 0x%" PRIx64 "\n", w->process_head);
	fprintf(f, "pfn_database 0x%" PRIx64 "\n", w->pfn_database);
	fprintf(f, "system_time 0x%" PRIx64 "\n", w->spec.system_time);
	fprintf(f, "system_uptime 0x2b6e6a0\nproduct_type 1\nsuite_mask 0x110\n");
}

int main(int argc, char **argv)
{
	struct tw_spec s;
	const char *dir, *name;
	char err[256] = "";
	parse(argc, argv, &s, &dir, &name);
	struct tw_world *w = tw_build(&s, err, sizeof err);
	if (!w)
		die("cannot build the world: ", err);
	FILE *f = create(dir, name, ".raw");
	write_raw(w, f);
	done(f, "raw");
	f = create(dir, name, ".spec");
	write_spec(w, name, f, argc, argv);
	done(f, "spec");
	f = create(dir, name, ".queues.json");
	tw_write_queues_json(w, f);
	done(f, "queues.json");
	f = create(dir, name, ".modules.json");
	tw_write_modules_json(w, f);
	done(f, "modules.json");
	f = create(dir, name, ".kernel.json");
	tw_write_kernel_json(w, f);
	done(f, "kernel.json");
	tw_free(w);
	return 0;
}
