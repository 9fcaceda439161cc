#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every unit test program and every golden script; prints one line per
# suite (with its wall time) and a closing "N passed, N failed" line.
# Called by `make test` and `make check` from the repository root with
# BUILD set.
set -u
BUILD=${BUILD:-build}
EXQ=$BUILD/exq
TOOLS=$BUILD/tools
export BUILD EXQ TOOLS
# Sanitizer runs: leaks are errors; a report aborts the program.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0
failed=0
failures=""
mode="quick; make test-full runs the full matrix"
[ "${EXQ_TEST_FULL:-0}" = 1 ] && mode="full matrix"
nunit=$(ls "$BUILD"/tests/test_* 2> /dev/null | wc -l)
ngolden=$(ls tests/golden/*.sh | wc -l)
echo "exq tests in $BUILD: $nunit unit programs, $ngolden golden suites ($mode)"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	t0=$(date +%s)
	if "$t" > "$BUILD/$name.log" 2>&1; then
		passed=$((passed + 1))
		echo "PASS unit/$name [$(($(date +%s) - t0)) s]"
	else
		failed=$((failed + 1))
		failures="$failures unit/$name"
		echo "FAIL unit/$name (log follows)"
		sed 's/^/    /' "$BUILD/$name.log"
	fi
done
for g in tests/golden/*.sh; do
	[ -f "$g" ] || continue
	name=$(basename "$g" .sh)
	t0=$(date +%s)
	if sh "$g" > "$BUILD/golden-$name.log" 2>&1; then
		passed=$((passed + 1))
		echo "PASS golden/$name ($(tail -n 1 "$BUILD/golden-$name.log")) [$(($(date +%s) - t0)) s]"
	else
		failed=$((failed + 1))
		failures="$failures golden/$name"
		echo "FAIL golden/$name (failing checks follow)"
		grep -v '^ok ' "$BUILD/golden-$name.log" | sed 's/^/    /' | head -n 60
	fi
done
[ -n "$failures" ] && echo "failed suites:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
