#!/bin/sh
# SPDX-License-Identifier: MIT
# Generated Windows worlds (tests/tools/mkwin, fixtures/specs/worlds.txt):
# each world is written as raw memory plus its truth, then wrapped by
# mkfixture (content_from) as PAGEDUMP full / kernel / bitmap and .gz, and,
# when exq is built with libkdumpfile, as the VM snapshots QEMU writes: ELF
# cores (elf32, elf64) and kdump-compressed files (kdump: the regular file;
# kdump-flat: the flattened stream of `dump-guest-memory -z`), each with
# QEMU CPU notes holding the world's CR3.
# Checks, for every world:
#   - mkwin and mkfixture succeed and every file exists;
#   - `exq info --json` on every container exits 0 and contains the expected
#     subset (jsonsub): for dumps mkfixture's expect file (format, dump type,
#     machine, paging, DTB, build, KDBG, runs, header); for raw the format.
# By default (WORLDS_TRUTH=1; 0 skips it) it also compares `exq queues/modules/info --json` on
# every container with the generator's truth (NAME.queues.json,
# NAME.modules.json, NAME.kernel.json), and the exit codes (0 clean,
# 1 damaged walk, 4 Windows 8).
# Quick by default (`make test`: one process per command over all of a
# world's containers, see quick()); EXQ_TEST_FULL=1 (`make test-full`) runs
# every container x command x .gz one by one, as before.
# Called by tests/run.sh from the repository root with EXQ, TOOLS, BUILD.
set -u
EXQ=${EXQ:-build/exq}
TOOLS=${TOOLS:-build/tools}
BUILD=${BUILD:-build}
W=$BUILD/worlds
T=$W/tmp
LIST=fixtures/specs/worlds.txt
mkdir -p "$W" "$T"
. tests/lib.sh

# subset NAME WHAT EXPECT ACTUAL
subset() {
	if "$TOOLS/jsonsub" "$3" "$4" > "$T/diff" 2>&1; then
		ok "$1: $2 matches $(basename "$3")"
	else
		nok "$1: $2 differs from $(basename "$3")"
		note "$T/diff" 20
	fi
}

# run_json NAME.KIND WANT_RC CMD... : CMD --json into $T/out.json
run_json() {
	label=$1
	want=$2
	shift 2
	"$EXQ" "$@" > "$T/out.json" 2> "$T/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$label: $1 exits $rc"
		return 0
	fi
	nok "$label: $1 exits $rc, want $want"
	note "$T/err" 3
	return 1
}

# text_facts LABEL WANT_RC IMAGE TRUTH: the text output (like !exqueue)
# shows the same facts: one PENDING line per item of the truth, each with
# the item's address, routine and (IO items) driver; one THREAD line per
# worker thread; a WorkQueue header per queue.
text_facts() {
	[ "$2" = 4 ] && return 0
	"$EXQ" queues "$3" > "$T/out.txt" 2> /dev/null
	want_items=$(grep -c '"kind"' "$4")
	want_threads=$(grep -c '"ethread"' "$4")
	got_items=$(grep -c '^PENDING: ' "$T/out.txt")
	got_threads=$(grep -c '^THREAD ' "$T/out.txt")
	got_queues=$(grep -c '^\*\*\*\* .* WorkQueue ( Threads: [0-9]*/[0-9]*, Concurrency: [0-9]*/[0-9]* )$' "$T/out.txt")
	missing=""
	for va in $(sed -n 's/.*"va": "0x\([0-9a-f]*\)", "kind".*/\1/p' "$4"); do
		grep -q "^PENDING: .* ($(printf '%08x' 0x$va)) Routine " "$T/out.txt" || missing="$missing $va"
	done
	for drv in $(sed -n 's/.*"driver": "\\\\Driver\\\\\([A-Za-z0-9_.]*\)".*/\1/p' "$4"); do
		grep '^PENDING: IoWorkItem ' "$T/out.txt" | grep -qF " \\Driver\\$drv " || missing="$missing $drv"
	done
	if [ "$got_items" -eq "$want_items" ] && [ "$got_threads" -eq "$want_threads" ] &&
		[ "$got_queues" -eq 3 ] && [ -z "$missing" ]; then
		ok "$1: text output: $got_queues queues, $got_threads THREAD and $got_items PENDING lines"
	else
		nok "$1: text output: queues $got_queues/3, threads $got_threads/$want_threads, items $got_items/$want_items, missing:$missing"
	fi
}

# truth NAME IMAGE LABEL: the generator's truth against queues/modules/info
truth() {
	want=0
	grep -q -- '--damage \(cycle\|dangling\|missing_page\|limit\)' "$W/$1.spec" && want=1
	grep -q '"error"' "$W/$1.queues.json" && want=4
	if run_json "$3" "$want" queues --json "$2"; then
		subset "$3" "queues --json" "$W/$1.queues.json" "$T/out.json"
	fi
	text_facts "$3" "$want" "$2" "$W/$1.queues.json"
	if run_json "$3" 0 modules --json "$2"; then
		subset "$3" "modules --json" "$W/$1.modules.json" "$T/out.json"
	fi
	if run_json "$3" 0 info --json "$2"; then
		subset "$3" "info --json (kernel)" "$W/$1.kernel.json" "$T/out.json"
	fi
}

# quick NAME KINDS: the world in every container kind through one
# `exq CMD --jsonl` process per command (each line checked against its
# expectation by one jsonsub), the .gz form of one kind per world (world i
# takes kind i mod the number of kinds: every kind's .gz within the first
# worlds), and the text rendering on the kernel dump only. EXQ_TEST_FULL=1
# (make test-full) runs every container, .gz and command one by one.
quick() {
	want=0
	grep -q -- '--damage \(cycle\|dangling\|missing_page\|limit\)' "$W/$1.spec" && want=1
	grep -q '"error"' "$W/$1.queues.json" && want=4
	imgs=""; info_exp=""; n=0; k=0
	set -- $2
	nkinds=$#
	for kind in "$@"; do
		for gz in "" .gz; do
			[ -n "$gz" ] && [ $((nworld % nkinds)) -ne "$k" ] && continue
			imgs="$imgs $W/$name.$kind$gz"
			case $kind in
			raw) info_exp="$info_exp $W/$name.raw.world.json" ;;
			*) info_exp="$info_exp $W/$name.$kind$gz.expect.json" ;;
			esac
			n=$((n + 1))
		done
		k=$((k + 1))
	done
	# shellcheck disable=SC2086 # lists of paths without spaces
	for cmd in info queues modules; do
		"$EXQ" $cmd --jsonl $imgs > "$T/$cmd.jsonl" 2> "$T/$cmd.err"
		rc=$?
		w=0
		[ $cmd = queues ] && w=$want
		if [ "$rc" -eq "$w" ] && [ "$(grep -c "\"exit_code\":$w}\$" "$T/$cmd.jsonl")" -eq "$n" ]; then
			ok "$name: $cmd --jsonl on $n containers: every one exits $w"
		else
			nok "$name: $cmd --jsonl on $n containers: exit $rc, want $w on each"
			note "$T/$cmd.err" 5
		fi
	done
	each() { # LABEL JSONL EXPECTATION...
		label=$1; lines=$2; shift 2
		if "$TOOLS/jsonsub" --each "$lines" "$@" > "$T/diff" 2>&1; then
			ok "$name: $label matches on $n containers"
		else
			nok "$name: $label differs"
			note "$T/diff" 20
		fi
	}
	same=""; i=0
	while [ $i -lt $n ]; do same="$same $W/$name.queues.json"; i=$((i + 1)); done
	each "queues --jsonl vs the generator's truth" "$T/queues.jsonl" $same
	each "modules --jsonl vs the generator's truth" "$T/modules.jsonl" $(echo "$same" | sed 's/queues\.json/modules.json/g')
	each "info --jsonl vs the containers' expectations" "$T/info.jsonl" $info_exp
	each "info --jsonl vs the kernel truth" "$T/info.jsonl" $(echo "$same" | sed 's/queues\.json/kernel.json/g')
	text_facts "$name.dmp32-kernel" "$want" "$W/$name.dmp32-kernel" "$W/$name.queues.json"
}
nworld=0

if [ ! -x "$EXQ" ]; then
	nok "no CLI at $EXQ"
fi
for tool in mkwin mkfixture jsonsub; do
	[ -x "$TOOLS/$tool" ] || nok "no $TOOLS/$tool"
done
[ -f "$LIST" ] || nok "no $LIST (run from the repository root)"
grep -v '^[[:space:]]*\(#\|$\)' "$LIST" 2> /dev/null > "$T/list"
while read -r name opts; do
	rm -f "$W/$name".*
	# shellcheck disable=SC2086 # options are words
	if ! "$TOOLS/mkwin" $opts "$W" "$name" 2> "$T/err" < /dev/null; then
		nok "$name: mkwin $opts"
		note "$T/err"
		continue
	fi
	# the VM snapshot forms too (ELF cores, kdump-compressed plain and
	# flattened; QEMU notes with the world's CR3), read in every build
	vm="elf32 elf64 kdump kdump-flat"
	echo "kinds raw dmp32-full dmp32-kernel dmp32-bitmap $vm" >> "$W/$name.spec"
	if ! "$TOOLS/mkfixture" "$W/$name.spec" "$W" 2> "$T/err" < /dev/null; then
		nok "$name: mkfixture $name.spec"
		note "$T/err"
		continue
	fi
	missing=""
	for suf in raw spec queues.json modules.json kernel.json dmp32-full \
		dmp32-kernel dmp32-bitmap raw.gz dmp32-full.gz dmp32-kernel.gz \
		dmp32-bitmap.gz; do
		[ -s "$W/$name.$suf" ] || missing="$missing $suf"
	done
	for suf in $vm; do
		for f in "$suf" "$suf.gz" "$suf.expect.json" "$suf.gz.expect.json"; do
			[ -s "$W/$name.$f" ] || missing="$missing $f"
		done
	done
	if [ -z "$missing" ]; then
		ok "$name: world and containers generated"
	else
		nok "$name: missing files:$missing"
		continue
	fi
	printf '{ "schema": "exq/1", "command": "info",\n  "image": { "format": "raw", "dump_type": "raw" } }\n' \
		> "$W/$name.raw.world.json"
	if [ "${EXQ_TEST_FULL:-0}" != 1 ]; then
		quick "$name" "raw dmp32-full dmp32-kernel dmp32-bitmap $vm"
		nworld=$((nworld + 1))
		continue
	fi
	for kind in raw dmp32-full dmp32-kernel dmp32-bitmap $vm; do
		for gz in "" .gz; do
			img=$W/$name.$kind$gz
			case $kind in
			raw) exp=$W/$name.raw.world.json ;;
			*) exp=$W/$name.$kind$gz.expect.json ;;
			esac
			if run_json "$name.$kind$gz" 0 info --json "$img"; then
				subset "$name.$kind$gz" "info --json" "$exp" "$T/out.json"
			fi
			if [ "${WORLDS_TRUTH:-1}" = 1 ]; then
				truth "$name" "$img" "$name.$kind$gz"
			fi
		done
	done
done < "$T/list"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
