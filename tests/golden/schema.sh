#!/bin/sh
# SPDX-License-Identifier: MIT
# The exq/1 JSON Schema (doc/exq-1.schema.json) against real outputs: every
# command's --json / --jsonl documents on the demo dump, on generated worlds
# (clean, damaged, Windows 8: exit 0, 1 and 4), failures (usage errors,
# missing files, not an image), and the real triage dump when present; all
# validated in one process by python3-jsonschema (Debian package, installed
# by scripts/deps.sh). Documents that break the schema must be rejected.
set -u
EXQ=${EXQ:-build/exq}
TOOLS=${TOOLS:-build/tools}
BUILD=${BUILD:-build}
T=$BUILD/golden-schema
rm -rf "$T"; mkdir -p "$T"
. tests/lib.sh
PY=/usr/bin/python3
SCHEMA=doc/exq-1.schema.json
DEMO=fixtures/demo/win7pae.dmp32-kernel.gz
REAL=../shared/fixtures/real/triage_x64.dmp
D=$T/docs.jsonl

if ! "$PY" -c 'import jsonschema' 2> /dev/null; then
	nok "python3-jsonschema missing (make deps installs it)"
	echo "$pass passed, $fail failed"; exit 1
fi
# jl ARGS...: exq --jsonl ARGS, appended to the documents
jl() { "$EXQ" --jsonl "$@" >> "$D" 2> /dev/null; }

for w in "win7pae --build 7601 --paging pae --seed 0x7601" \
	"cycle --build 7601 --damage cycle --seed 0xc1 --phys-size 0x1000000" \
	"win8 --build 9200 --damage win8 --seed 0x9200 --phys-size 0x1000000"; do
	set -- $w
	name=$1; shift
	"$TOOLS/mkwin" "$@" "$T" "$name" > /dev/null 2>&1 &&
		"$TOOLS/mkfixture" "$T/$name.spec" "$T" > /dev/null 2>&1 ||
		nok "$name: world not generated"
	for c in info queues modules scan; do jl "$c" "$T/$name.raw" "$T/$name.dmp32-kernel"; done
done
for c in info queues modules scan; do jl "$c" "$DEMO"; done
jl info -v "$T/win7pae.raw"
jl vtop 82a0b000 "$DEMO"
jl vtop 0x1000 "$DEMO"
jl read --pa 0x185000 64 "$DEMO"
jl read --va 82a0b000 16 "$DEMO"
jl read --pa 0x7fff0000 16 "$DEMO"
printf 'hello' > "$T/tiny"
jl info "$T/tiny"
jl queues "$T/does-not-exist"
jl info --frob "$DEMO"
jl help nosuch
jl read --pa 0 zero "$DEMO"
jl frobnicate "$DEMO"
if [ -r "$REAL" ]; then
	for c in info queues modules; do jl "$c" "$REAL"; done
fi
# out of memory (exit 7): the document built without allocating, and one
# whose library call failed (not under the sanitizers: their runtime owns
# malloc)
if [ "${SAN:-0}" != 1 ] && [ -f "$TOOLS/failalloc.so" ]; then
	for at in 1 40 400; do
		EXQ_FAILALLOC_AT=$at LD_PRELOAD="$(pwd)/$TOOLS/failalloc.so" \
			"$EXQ" --jsonl queues "$DEMO" >> "$D" 2> /dev/null
	done
fi
"$EXQ" queues --json "$DEMO" > "$T/pretty.json" 2> /dev/null
n=$(wc -l < "$D")
[ "$n" -ge 40 ] && ok "$n documents collected" || nok "only $n documents collected"

cat > "$T/validate.py" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator(schema)
bad = 0
docs = [json.loads(l) for l in open(sys.argv[2])] + [json.load(open(f)) for f in sys.argv[3:]]
for i, d in enumerate(docs):
    for e in v.iter_errors(d):
        bad += 1
        print("doc %d (%s %s): %s at %s" % (i + 1, d.get("command"), d.get("image", {}).get("path"),
              e.message[:200], "/".join(map(str, e.absolute_path))))
print("%d documents, %d errors" % (len(docs), bad))
sys.exit(1 if bad else 0)
PY
if "$PY" "$T/validate.py" "$SCHEMA" "$D" "$T/pretty.json" > "$T/out" 2>&1; then
	ok "every document is valid exq/1 ($(tail -1 "$T/out"))"
else
	nok "documents that break the schema:"; sed 's/^/    # /' "$T/out" | head -20
fi
# the schema rejects what it must: an unpadded address without 0x, a
# count as a string, an unknown item kind, a bad exit code
head -1 "$D" | sed 's/"dtb":"0x\([0-9a-f]*\)"/"dtb":"\1"/' > "$T/bad1.jsonl"
grep '"command":"queues"' "$D" | head -1 | sed 's/"kind":"work_queue_item"/"kind":"work_item"/' > "$T/bad2.jsonl"
head -1 "$D" | sed 's/"pages_present":\([0-9]*\)/"pages_present":"\1"/' > "$T/bad3.jsonl"
head -1 "$D" | sed 's/"exit_code":0/"exit_code":9/' > "$T/bad4.jsonl"
for b in 1 2 3 4; do
	if cmp -s "$T/bad$b.jsonl" "$D" || ! [ -s "$T/bad$b.jsonl" ]; then
		nok "broken document $b not made"
	elif "$PY" "$T/validate.py" "$SCHEMA" "$T/bad$b.jsonl" > "$T/out" 2>&1; then
		nok "broken document $b accepted"
	else
		ok "broken document $b rejected: $(head -1 "$T/out" | cut -c1-100)"
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
