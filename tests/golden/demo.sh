#!/bin/sh
# SPDX-License-Identifier: MIT
# The bundled fixture of `make demo` (fixtures/demo/, provenance in
# fixtures/README.md): regenerating it from its world gives the same bytes,
# and exq reads it as the generator's truth says.
set -u
EXQ=${EXQ:-build/exq}
TOOLS=${TOOLS:-build/tools}
BUILD=${BUILD:-build}
D=fixtures/demo
T=$BUILD/golden-demo
rm -rf "$T"; mkdir -p "$T"
. tests/lib.sh
opts=$(sed -n 's/^win7pae[[:space:]]*//p' fixtures/specs/worlds.txt)
# shellcheck disable=SC2086
if "$TOOLS/mkwin" $opts "$T" win7pae > /dev/null 2>&1 &&
	"$TOOLS/mkfixture" "$T/win7pae.spec" "$T" > /dev/null 2>&1; then
	ok "regenerated the win7pae world and its containers"
else
	nok "regenerating win7pae"
fi
if gzip -dc "$D/win7pae.dmp32-kernel.gz" | cmp -s - "$T/win7pae.dmp32-kernel"; then
	ok "the committed fixture is the generated kernel dump, byte for byte"
else
	nok "the committed fixture differs from a fresh generation"
fi
for f in queues modules kernel; do
	cmp -s "$D/win7pae.$f.json" "$T/win7pae.$f.json" && ok "committed $f truth is the generator's" ||
		nok "committed $f truth differs from the generator's"
done
check() {
	what=$1; want=$2; shift 2
	"$EXQ" "$@" --json "$D/win7pae.dmp32-kernel.gz" > "$T/out.json" 2> "$T/err"
	rc=$?
	if [ "$rc" -ne 0 ]; then nok "$what: exit $rc"; sed 's/^/    # /' "$T/err"; return; fi
	if "$TOOLS/jsonsub" "$want" "$T/out.json" > "$T/diff" 2>&1; then ok "$what matches the truth"; else
		nok "$what differs from the truth"; sed 's/^/    # /' "$T/diff" | head -20; fi
}
check "queues --json" "$D/win7pae.queues.json" queues
check "modules --json" "$D/win7pae.modules.json" modules
check "info --json (kernel)" "$D/win7pae.kernel.json" info
if sh scripts/demo.sh "$BUILD" > "$T/demo.txt" 2>&1 && grep -q '^\*\*\*\* Critical WorkQueue' "$T/demo.txt"; then
	ok "make demo's script runs and prints the queues"
else
	nok "demo script"; tail -5 "$T/demo.txt" | sed 's/^/    # /'
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
