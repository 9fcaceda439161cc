/* SPDX-License-Identifier: MIT */
/* --expect FILE.json: is the run's document what a team keeps in git?
 * Fields the expectation omits are ignored, lists are compared element by
 * element (an expected list may be shorter: the rest is not checked),
 * scalars exactly; image.path and image.size are never compared (the same
 * dump lives at other paths, and gzip'd or not). */
#include "cli.h"

#include <string.h>

static const char *show(json_object *o)
{
	return o ? json_object_to_json_string_ext(
		       o,
		       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
		 : "null";
}

static int same_scalar(json_object *e, json_object *a)
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
		return json_object_get_string_len(e) ==
			   json_object_get_string_len(a) &&
		       !memcmp(json_object_get_string(e),
			       json_object_get_string(a),
			       (size_t)json_object_get_string_len(e));
	default:
		return !strcmp(show(e), show(a)); /* numbers: their text */
	}
}

static void differs(FILE *out, const char *path, json_object *e, json_object *a,
		    int missing)
{
	fprintf(out, "%s: expected %s, got ", path[0] ? path : ".", show(e));
	fprintf(out, "%s\n", missing ? "(missing)" : show(a));
}

static int cmp(json_object *e, json_object *a, const char *path, FILE *out)
{
	char sub[1024];
	int bad = 0;
	if (json_object_get_type(e) == json_type_object &&
	    json_object_get_type(a) == json_type_object) {
		json_object_object_foreach(e, key, ev)
		{
			json_object *av;
			if (!strcmp(path, ".image") &&
			    (!strcmp(key, "path") || !strcmp(key, "size")))
				continue;
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			if (!json_object_object_get_ex(a, key, &av)) {
				differs(out, sub, ev, NULL, 1);
				bad++;
			} else {
				bad += cmp(ev, av, sub, out);
			}
		}
		return bad;
	}
	if (json_object_get_type(e) == json_type_array &&
	    json_object_get_type(a) == json_type_array) {
		size_t ne = json_object_array_length(e),
		       na = json_object_array_length(a), i;
		for (i = 0; i < ne; i++) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (i >= na) {
				differs(out, sub,
					json_object_array_get_idx(e, i), NULL,
					1);
				bad++;
			} else {
				bad += cmp(json_object_array_get_idx(e, i),
					   json_object_array_get_idx(a, i), sub,
					   out);
			}
		}
		return bad;
	}
	if (!same_scalar(e, a)) {
		differs(out, path, e, a, 0);
		return 1;
	}
	return 0;
}

int cli_expect(json_object *doc, const char *file, FILE *out, char *err,
	       size_t errlen)
{
	json_object *e = json_object_from_file(file);
	int bad;
	if (!e) {
		snprintf(err, errlen, "cannot read '%s' as JSON: %s", file,
			 json_util_get_last_err() ? json_util_get_last_err()
						  : "?");
		return -1;
	}
	if (json_object_get_type(e) != json_type_object) {
		snprintf(err, errlen, "'%s' is not a JSON object", file);
		json_object_put(e);
		return -1;
	}
	bad = cmp(e, doc, "", out);
	json_object_put(e);
	return bad ? 1 : 0;
}
