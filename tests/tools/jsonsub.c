/* SPDX-License-Identifier: MIT */
/*
 * jsonsub — is EXPECTED a subset of ACTUAL?
 *
 *   jsonsub EXPECTED.json ACTUAL.json
 *
 * Exit 0 when every key of EXPECTED is present in ACTUAL with an equal
 * value: objects recursively by the same rule, arrays of equal length
 * element by element by the same rule, numbers / strings / booleans / null
 * exactly (an integer never equals a double). Otherwise each mismatch is
 * printed as a JSON path with both values, and the exit code is 1; 2 when
 * a file cannot be read or parsed.
 *
 *   jsonsub --each ACTUAL.jsonl EXPECTED.json...
 *
 * The same rule for line i of a JSON Lines file and the i-th expectation.
 */
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *show(struct json_object *o)
{
	return o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)
		 : "null";
}

static int same_scalar(struct json_object *e, struct json_object *a)
{
	json_type te = json_object_get_type(e), ta = json_object_get_type(a);
	if (te != ta)
		return 0;
	switch (te) {
	case json_type_null:
		return 1;
	case json_type_boolean:
		return json_object_get_boolean(e) == json_object_get_boolean(a);
	case json_type_string:
		return json_object_get_string_len(e) == json_object_get_string_len(a) &&
		       memcmp(json_object_get_string(e), json_object_get_string(a),
			      (size_t)json_object_get_string_len(e)) == 0;
	default:
		/* numbers: compare their plain text, which is exact for
		 * integers of any size json-c keeps */
		return strcmp(show(e), show(a)) == 0;
	}
}

static void mismatch(const char *path, const char *why, struct json_object *e,
		     struct json_object *a)
{
	printf("%s: %s: expected %s", path, why, show(e));
	if (a || strcmp(why, "missing") != 0)
		printf(", actual %s", show(a));
	printf("\n");
}

static int sub(struct json_object *e, struct json_object *a, const char *path);

static int sub_object(struct json_object *e, struct json_object *a,
		      const char *path)
{
	int bad = 0;
	char sub_path[1024];
	json_object_object_foreach(e, key, ev)
	{
		struct json_object *av = NULL;
		snprintf(sub_path, sizeof sub_path, "%s.%s", path, key);
		if (!json_object_object_get_ex(a, key, &av)) {
			mismatch(sub_path, "missing", ev, NULL);
			bad++;
			continue;
		}
		bad += sub(ev, av, sub_path);
	}
	return bad;
}

static int sub_array(struct json_object *e, struct json_object *a,
		     const char *path)
{
	size_t ne = json_object_array_length(e), na = json_object_array_length(a);
	char sub_path[1024];
	int bad = 0;
	if (ne != na) {
		printf("%s: array length: expected %zu, actual %zu\n", path, ne, na);
		bad++;
	}
	for (size_t i = 0; i < ne && i < na; i++) {
		snprintf(sub_path, sizeof sub_path, "%s[%zu]", path, i);
		bad += sub(json_object_array_get_idx(e, i),
			   json_object_array_get_idx(a, i), sub_path);
	}
	return bad;
}

/* Number of mismatches under path. */
static int sub(struct json_object *e, struct json_object *a, const char *path)
{
	json_type te = json_object_get_type(e);
	if (te != json_object_get_type(a)) {
		mismatch(path, "type", e, a);
		return 1;
	}
	if (te == json_type_object)
		return sub_object(e, a, path);
	if (te == json_type_array)
		return sub_array(e, a, path);
	if (!same_scalar(e, a)) {
		mismatch(path, "value", e, a);
		return 1;
	}
	return 0;
}

/* The document in path; NULL (with a message) when it cannot be read or
 * parsed. A document that is just `null` counts as unparsable too. */
static struct json_object *load(const char *path)
{
	struct json_object *o = json_object_from_file(path);
	if (!o) {
		const char *err = json_util_get_last_err();
		fprintf(stderr, "jsonsub: %s: %s%s", path,
			err ? err : "not a JSON object or array",
			err ? "" : "\n");
	}
	return o;
}

/* --each ACTUAL.jsonl EXPECTED...: line i of ACTUAL (JSON Lines, one
 * document per line, as `exq --jsonl` writes them) against EXPECTED i;
 * the line count must equal the number of expectations. */
static int each(const char *lines, int nexp, char **exp)
{
	FILE *f = fopen(lines, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int i = 0, bad = 0;
	if (!f) {
		perror(lines);
		return 2;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct json_object *a, *e;
		char path[64];
		if (i >= nexp) {
			printf("%s: line %d: more lines than the %d expectations\n", lines, i + 1, nexp);
			bad++;
			break;
		}
		a = json_tokener_parse(line);
		if (!a) {
			printf("%s: line %d does not parse as JSON\n", lines, i + 1);
			bad++;
			i++;
			continue;
		}
		e = load(exp[i]);
		if (!e) {
			json_object_put(a);
			bad++;
			i++;
			continue;
		}
		snprintf(path, sizeof path, "line%d$", i + 1);
		if (sub(e, a, path)) {
			printf("  (line %d: %s, expected %s)\n", i + 1,
			       json_object_get_string(json_object_object_get(
				       json_object_object_get(a, "image"), "path")),
			       exp[i]);
			bad++;
		}
		json_object_put(e);
		json_object_put(a);
		i++;
	}
	if (i < nexp) {
		printf("%s: %d lines, %d expectations\n", lines, i, nexp);
		bad++;
	}
	free(line);
	fclose(f);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--each") == 0)
		return each(argv[2], argc - 3, argv + 3);
	if (argc != 3) {
		fprintf(stderr, "usage: jsonsub EXPECTED.json ACTUAL.json\n"
				"       jsonsub --each ACTUAL.jsonl EXPECTED.json...\n");
		return 2;
	}
	struct json_object *e = load(argv[1]);
	if (!e)
		return 2;
	struct json_object *a = load(argv[2]);
	if (!a) {
		json_object_put(e);
		return 2;
	}
	int bad = sub(e, a, "$");
	json_object_put(e);
	json_object_put(a);
	return bad ? 1 : 0;
}
