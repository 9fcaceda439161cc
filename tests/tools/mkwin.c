/* SPDX-License-Identifier: MIT */
/*
 * mkwin — writes a generated 32-bit Windows machine ("world") and its
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
 *                       memory as PAGEDUMP full / kernel / bitmap and .gz
 *   NAME.queues.json    truth: `exq queues --json` (subset, DESIGN §9)
 *   NAME.modules.json   truth: `exq modules --json`
 *   NAME.kernel.json    truth: the container-independent part of
 *                       `exq info --json` (image, kernel, kdbg)
 *
 * The world builder lives in tests/unit/tlib_win.c, which the unit tests
 * link. The Makefile builds each tests/tools/X.c alone (no test library),
 * so the builder is included here as source: one generator, two users.
 */
#include "../unit/tlib_win.c"

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
		"                     7601 (7 SP1, default), 9200 (8: unsupported)\n"
		"  --sp N             service pack (3790: 0 = SP0 layout; default 2)\n"
		"  --paging pae|x86   default pae\n"
		"  --damage KIND      none cycle dangling missing_page no_pattern win8 limit\n"
		"  --damage-queue N   queue that carries the damage (default 1)\n"
		"  --damage-at N      item index of the damage (default 1)\n"
		"  --seed N           default 1\n"
		"  --phys-size N      bytes, multiple of 4 MiB, 16..64 MiB (default 32 MiB)\n"
		"  --cpus N           default 2\n"
		"  --threads A,B,C    worker threads per queue (default 5,3,1)\n"
		"  --items A,B,C      pending items per queue (default 3,4,0)\n"
		"  --io-items A,B,C   of which IO_WORKITEMs (default 1,2,0)\n"
		"  --max-items N      walk bound the truth assumes (default 4096)\n"
		"  --bugcheck CODE    default 0xe2; 0x96 (P3 = ExWorkerQueue) with\n"
		"                     --damage no_pattern\n"
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

static void triple(const char *s, unsigned *v)
{
	unsigned a, b, c;
	char z;
	if (sscanf(s, "%u,%u,%u%c", &a, &b, &c, &z) != 3)
		die("want A,B,C: ", s);
	v[0] = a;
	v[1] = b;
	v[2] = c;
}

static void parse(int argc, char **argv, struct tw_spec *s, const char **dir,
		  const char **name)
{
	uint32_t build = 7601, sp = UINT32_MAX;
	int pae = 1, damage = 0, have_bugcheck = 0;
	struct tw_spec o; /* overrides, applied after tw_spec_init */
	memset(&o, 0, sizeof o);
	o.seed = 1;
	int have[8] = { 0 };
	unsigned t[3], it[3], io[3];
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
			triple(v, t), have[4] = 1;
		else if (strcmp(k, "--items") == 0)
			triple(v, it), have[5] = 1;
		else if (strcmp(k, "--io-items") == 0)
			triple(v, io), have[6] = 1;
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
	tw_spec_init(s, build, pae, o.seed);
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
	for (unsigned q = 0; q < 3; q++) {
		if (have[4])
			s->threads[q] = t[q];
		if (have[5])
			s->items[q] = it[q];
		if (have[6])
			s->io_items[q] = io[q];
	}
	if (have[7])
		s->max_items = o.max_items;
	if (have_bugcheck)
		s->bugcheck = o.bugcheck;
	else if (s->damage == TW_DAMAGE_NO_PATTERN)
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
	fprintf(f, "# A generated %s x86 %s world; written by:\n#  ", w->os,
		w->pae ? "PAE" : "non-PAE");
	for (int i = 0; i < argc; i++)
		fprintf(f, " %s", argv[i]);
	fprintf(f, "\n# Page bytes come from the raw file; truth: %s.*.json\n", name);
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
	fprintf(f, "bugcheck 0x%" PRIx32 " 0x%" PRIx32 " 0x%" PRIx32 " 0x%" PRIx32
		   " 0x%" PRIx32 "\n",
		w->bugcheck, w->bugcheck_params[0], w->bugcheck_params[1],
		w->bugcheck_params[2], w->bugcheck_params[3]);
	fprintf(f, "kdbg 0x%" PRIx32 "\n", w->kdbg);
	fprintf(f, "ps_loaded_module_list 0x%" PRIx32 "\n", w->module_list);
	fprintf(f, "ps_active_process_head 0x%" PRIx32 "\n", w->process_head);
	fprintf(f, "pfn_database 0x%" PRIx32 "\n", w->pfn_database);
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
