#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs each libFuzzer target for SECONDS on its seed corpus (called by
# `make fuzz`): one fuzzer at a time, one job each. New inputs go to
# build-fuzz/corpus/TARGET (the committed seeds in tests/fuzz/corpus/ are
# read, never written); a crash leaves build-fuzz/artifacts/TARGET/crash-*
# — copy it to tests/fuzz/regress/TARGET/ with the fix. Prints one summary
# line per target (executions, coverage) and fails when any target did.
#   sh tests/fuzz/run.sh SECONDS [TARGET...]
# FUZZ_TIMEOUT: seconds one input may take (10; more for a fuzzer run at
# low priority beside other work, whose inputs can wait that long).
set -u
T=${1:-60}
shift
B=build-fuzz
[ $# -gt 0 ] || set -- open vmcore pe dtb queues pattern models
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# the one leak that is not exq's (libkdumpfile's; see the file)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/fuzz/lsan.supp:print_suppressions=0}
failed=""
for t in "$@"; do
	bin=$B/fuzz/fuzz_$t
	mkdir -p "$B/corpus/$t" "$B/artifacts/$t" "tests/fuzz/corpus/$t"
	case $t in
	dtb) maxlen=131072 ;;
	open | vmcore) maxlen=65536 ;;
	queues) maxlen=32768 ;;
	*) maxlen=16384 ;;
	esac
	"$bin" -max_total_time="$T" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 \
		-max_len="$maxlen" -print_final_stats=1 \
		-artifact_prefix="$B/artifacts/$t/" \
		"$B/corpus/$t" "tests/fuzz/corpus/$t" > "$B/fuzz-$t.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/fuzz-$t.log")
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$B/fuzz-$t.log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz $t: ${T}s, ${execs:-?} runs, ${cov:-no coverage line}"
	else
		echo "FAIL fuzz $t (exit $rc; log $B/fuzz-$t.log):"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$B/fuzz-$t.log" | head -n 8 | sed 's/^/    /'
		failed="$failed $t"
	fi
done
[ -z "$failed" ] || { echo "fuzz targets failed:$failed"; exit 1; }
