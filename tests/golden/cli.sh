#!/bin/sh
# SPDX-License-Identifier: MIT
# CLI contract (DESIGN §8, §9): options anywhere, exit codes, one JSON
# document per run also on failure, the real triage dump's README values.
set -u
EXQ=${EXQ:-build/exq}
TOOLS=${TOOLS:-build/tools}
BUILD=${BUILD:-build}
T=$BUILD/golden-cli
rm -rf "$T"; mkdir -p "$T"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
nok() { fail=$((fail + 1)); echo "not ok - $1"; }
# expect_rc WANT DESCRIPTION CMD...: run, keep stdout/stderr in $T/out, $T/err
expect_rc() {
	want=$1; what=$2; shift 2
	"$@" > "$T/out" 2> "$T/err"; rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what (exit $rc)"; else
		nok "$what: exit $rc, want $want"; sed 's/^/    # /' "$T/err" | head -5; fi
}
err_has() {
	if grep -q -- "$1" "$T/err"; then ok "stderr names '$1'"; else
		nok "stderr lacks '$1'"; sed 's/^/    # /' "$T/err" | head -3; fi
}

REAL=../shared/fixtures/real/triage_x64.dmp
printf 'hello' > "$T/tiny"
: > "$T/empty"

expect_rc 2 "no command" "$EXQ"
expect_rc 2 "unknown command" "$EXQ" frobnicate "$T/tiny"
err_has "unknown command 'frobnicate'"
expect_rc 2 "unknown option" "$EXQ" info --frob "$T/tiny"
err_has "unknown option '--frob'"
expect_rc 2 "info without IMAGE" "$EXQ" info
expect_rc 2 "read without --pa" "$EXQ" read 16 "$T/tiny"
expect_rc 2 "read with a bad length" "$EXQ" read --pa 0 zero "$T/tiny"
expect_rc 2 "bad --paging" "$EXQ" info --paging amd "$T/tiny"
expect_rc 0 "--version" "$EXQ" --version
grep -q '^exq [0-9]' "$T/out" && ok "--version prints the version" || nok "--version output"
expect_rc 0 "--help" "$EXQ" --help
expect_rc 3 "missing file" "$EXQ" info "$T/does-not-exist"
err_has "^exq: info: "
err_has "No such file"
expect_rc 3 "empty file" "$EXQ" info "$T/empty"
err_has "whole 4 KiB page"
expect_rc 3 "5-byte file" "$EXQ" info --json "$T/tiny"
if grep -q '"status": "CORRUPT"' "$T/out" && grep -q '"schema": "exq/1"' "$T/out"; then
	ok "failure prints one exq/1 JSON document with the status"
else
	nok "failure JSON"; cat "$T/out"
fi
expect_rc 2 "forced unknown format" "$EXQ" info --format nope "$T/tiny"

if [ -r "$REAL" ]; then
	expect_rc 0 "info --json on the real triage dump" "$EXQ" info --json "$REAL"
	if "$TOOLS/jsonsub" tests/golden/expect/real_triage_x64.info.json "$T/out" > "$T/diff" 2>&1; then
		ok "real triage dump: every README value"
	else
		nok "real triage dump values"; sed 's/^/    # /' "$T/diff" | head -20
	fi
	"$EXQ" --json info "$REAL" > "$T/out2" 2>/dev/null
	if cmp -s "$T/out" "$T/out2"; then ok "options and IMAGE in any order give the same output"; else nok "option order changes the output"; fi
	expect_rc 1 "read --pa on a triage dump (no physical pages)" "$EXQ" read --pa 0x1ad000 16 "$REAL"
	err_has "NODATA"
	expect_rc 0 "info text on the real triage dump" "$EXQ" info "$REAL"
	grep -q "151 drivers" "$T/out" && ok "text names the 151 drivers" || nok "text lacks driver count"
	grep -q "cannot be walked" "$T/out" && ok "text says queues cannot be walked" || nok "text lacks the triage note"
	expect_rc 0 "modules --json on the real triage dump" "$EXQ" modules --json "$REAL"
	n=$(grep -c '"name": "[^"][^"]*"' "$T/out")
	[ "$n" -eq 151 ] && ok "151 drivers with names" || nok "modules lists $n named drivers, want 151"
	grep -q '"name": "ntoskrnl.exe", "base": "0xfffff8047ba00000"' "$T/out" ||
		grep -A1 '"name": "ntoskrnl.exe"' "$T/out" | grep -q '"base": "0xfffff8047ba00000"' &&
		ok "first driver ntoskrnl.exe at KernBase" || nok "ntoskrnl.exe at 0xfffff8047ba00000 not listed"
	expect_rc 4 "queues on a triage dump" "$EXQ" queues "$REAL"
	err_has "triage dump"
else
	echo "# skipping real-dump checks: $REAL is absent"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
