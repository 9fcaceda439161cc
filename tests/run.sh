#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every unit test program and every golden script; prints one line per
# suite as it finishes (with its wall time), the logs of failing suites,
# and a closing "N passed, N failed" line. TEST_JOBS suites run at once
# (`make -j2 test` sets it to 2; each suite keeps its own directory under
# $BUILD). Called by `make test`, `make test-full` and `make check` from the
# repository root with BUILD set; `run.sh --one SUITE` runs one suite.
set -u
BUILD=${BUILD:-build}
EXQ=$BUILD/exq
TOOLS=$BUILD/tools
R=$BUILD/test-results
export BUILD EXQ TOOLS
# Sanitizer runs: leaks are errors; a report aborts the program.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# --one SUITE: a unit program ($BUILD/tests/test_*) or a golden script;
# writes $R/NAME.log and $R/NAME.pass or $R/NAME.fail, prints one line.
if [ "${1:-}" = --one ]; then
	s=$2
	t0=$(date +%s)
	case $s in
	*.sh)
		name=golden-$(basename "$s" .sh)
		label=golden/$(basename "$s" .sh)
		sh "$s" > "$R/$name.log" 2>&1 ;;
	*)
		name=unit-$(basename "$s")
		label=unit/$(basename "$s")
		"$s" > "$R/$name.log" 2>&1 ;;
	esac
	rc=$?
	dt=$(($(date +%s) - t0))
	if [ "$rc" -eq 0 ]; then
		: > "$R/$name.pass"
		case $s in
		*.sh) echo "PASS $label ($(tail -n 1 "$R/$name.log")) [$dt s]" ;;
		*) echo "PASS $label [$dt s]" ;;
		esac
	else
		: > "$R/$name.fail"
		echo "FAIL $label (exit $rc) [$dt s]"
	fi
	exit 0
fi

jobs=${TEST_JOBS:-1}
case $jobs in '' | *[!0-9]* | 0) jobs=1 ;; esac
mode="quick; make test-full runs the full matrix"
[ "${EXQ_TEST_FULL:-0}" = 1 ] && mode="full matrix"
rm -rf "$R"
mkdir -p "$R"
# the longest suites first, so that parallel runs end together
: > "$R/list"
for g in worlds physical corpus; do
	[ -f "tests/golden/$g.sh" ] && echo "tests/golden/$g.sh" >> "$R/list"
done
for t in "$BUILD"/tests/test_*; do [ -x "$t" ] && echo "$t"; done >> "$R/list"
for g in tests/golden/*.sh; do
	[ -f "$g" ] && ! grep -qxF "$g" "$R/list" && echo "$g"
done >> "$R/list"
echo "exq tests in $BUILD: $(wc -l < "$R/list") suites, $jobs at a time ($mode)"
xargs -P "$jobs" -n 1 sh tests/run.sh --one < "$R/list"
passed=$(ls "$R" | grep -c '\.pass$')
failed=$(ls "$R" | grep -c '\.fail$')
for f in "$R"/*.fail; do
	[ -e "$f" ] || continue
	name=$(basename "$f" .fail)
	echo "--- $name (failing checks / log follow)"
	case $name in
	golden-*) grep -v '^ok ' "$R/$name.log" | sed 's/^/    /' | head -n 60 ;;
	*) sed 's/^/    /' "$R/$name.log" | tail -n 60 ;;
	esac
done
[ "$((passed + failed))" -ne "$(wc -l < "$R/list")" ] && echo "some suites did not report"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && [ "$((passed + failed))" -eq "$(wc -l < "$R/list")" ]
