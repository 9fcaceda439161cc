#!/bin/sh
# SPDX-License-Identifier: MIT
# The worker queues of Windows 7 x64 and Windows 8 … 11 through the CLI
# (issue 13; DESIGN §7b): each world of fixtures/specs/worlds-win8plus.txt
# is written by mkwin with its truth, wrapped by mkfixture in every
# container of its width (x64: raw, PAGEDU64 full, kernel summary and
# bitmap, ELF core and kdump as a long-mode QEMU guest writes them; x86:
# raw, PAGEDUMP full, kernel summary and bitmap, ELF, kdump), and `exq queues --json` must
# contain the generator's truth (queue_root, every queue of every node,
# threads, items with their priority, found_by "threads" where the pattern
# was erased) and exit 0. The text output is checked once per world: one
# "**** NUMA Node" line per node, the queue headers, THREAD and PENDING
# lines with addresses as wide as the machine's (16 digits on x64).
# The API-level matrix (every field, every container) is test_wq_models;
# so `make test` (EXQ_TEST_FULL unset) runs the CLI on the raw image, one
# dump and one VM snapshot per world, and `make test-full` on every kind.
# Called by tests/run.sh from the repository root with EXQ, TOOLS, BUILD.
set -u
EXQ=${EXQ:-build/exq}
TOOLS=${TOOLS:-build/tools}
BUILD=${BUILD:-build}
W=$BUILD/modern
T=$W/tmp
LIST=fixtures/specs/worlds-win8plus.txt
mkdir -p "$W" "$T"
. tests/lib.sh

vm=1 # ELF cores and kdump files are read in every build

# text NAME IMAGE TRUTH WIDTH
text() {
	"$EXQ" queues "$2" > "$T/out.txt" 2> "$T/err"
	nodes=$(sed -n 's/.*"nodes": \([0-9]*\).*/\1/p' "$3" | head -n 1)
	want_items=$(grep -c '"kind"' "$3")
	want_threads=$(grep -c '"ethread"' "$3")
	want_queues=$(grep -c '"queue_index"' "$3")
	got_nodes=$(grep -c '^\*\*\*\* NUMA Node [0-9]*$' "$T/out.txt")
	got_queues=$(grep -c '^\*\*\*\* .* WorkQueue ( Threads: [0-9/]*, Concurrency: [0-9]*/[0-9]* )$' "$T/out.txt")
	got_threads=$(grep -c "^THREAD [0-9a-f]\{$4\}  Cid " "$T/out.txt")
	# KPRIQUEUE items carry their priority; a static array has no
	# NUMA Node lines (as !exqueue on 7)
	if grep -q '"priority"' "$3"; then prio=' Priority [0-9]*$'; else prio=')$'; fi
	grep -q '"model": "static-array"' "$3" && nodes=0
	got_items=$(grep -c "^PENDING: [A-Za-z]*WorkItem ([0-9a-f]\{$4\}) Routine .*$prio" "$T/out.txt")
	missing=""
	for va in $(sed -n 's/.*"va": "0x\([0-9a-f]*\)", "kind".*/\1/p' "$3"); do
		grep -q "^PENDING: .* ($(printf "%0${4}x" "0x$va")) Routine " "$T/out.txt" ||
			missing="$missing $va"
	done
	if [ "$got_nodes" = "$nodes" ] && [ "$got_queues" = "$want_queues" ] &&
		[ "$got_threads" = "$want_threads" ] && [ "$got_items" = "$want_items" ] &&
		[ -z "$missing" ]; then
		ok "$1: text: $got_nodes NUMA node(s), $got_queues queues, $got_threads THREAD and $got_items PENDING lines, $4-digit addresses"
	else
		nok "$1: text: nodes $got_nodes/$nodes, queues $got_queues/$want_queues, threads $got_threads/$want_threads, items $got_items/$want_items, missing:$missing"
		note "$T/out.txt" 12
	fi
}

for tool in mkwin mkfixture jsonsub; do
	[ -x "$TOOLS/$tool" ] || nok "no $TOOLS/$tool"
done
grep -v '^[[:space:]]*\(#\|$\)' "$LIST" > "$T/list" 2> /dev/null || nok "no $LIST"
while read -r name opts; do
	rm -f "$W/$name".*
	# shellcheck disable=SC2086 # options are words
	if ! "$TOOLS/mkwin" $opts "$W" "$name" 2> "$T/err" < /dev/null; then
		nok "$name: mkwin $opts"
		note "$T/err"
		continue
	fi
	if grep -q '^width 64' "$W/$name.spec"; then
		kinds="raw dmp64-full dmp64-kernel dmp64-bitmap"
		[ -n "$vm" ] && kinds="$kinds elf64 kdump kdump-flat"
		width=16
	else
		kinds="raw dmp32-full dmp32-kernel dmp32-bitmap"
		[ -n "$vm" ] && kinds="$kinds elf32 elf64 kdump kdump-flat"
		width=8
	fi
	if [ "${EXQ_TEST_FULL:-0}" != 1 ]; then # raw, a dump, a VM snapshot
		set -- $kinds
		kinds="$1 $2"
		[ -n "$vm" ] && kinds="$kinds kdump"
	fi
	echo "kinds $kinds" >> "$W/$name.spec"
	if ! "$TOOLS/mkfixture" "$W/$name.spec" "$W" 2> "$T/err" < /dev/null; then
		nok "$name: mkfixture $name.spec"
		note "$T/err"
		continue
	fi
	for kind in $kinds; do
		img=$W/$name.$kind
		label=$name.$kind
		"$EXQ" queues --json "$img" > "$T/out.json" 2> "$T/err"
		rc=$?
		if [ "$rc" -ne 0 ]; then
			nok "$label: queues exits $rc, want 0"
			note "$T/err" 3
			continue
		fi
		if "$TOOLS/jsonsub" "$W/$name.queues.json" "$T/out.json" > "$T/diff" 2>&1; then
			ok "$label: queues --json matches the truth"
		else
			nok "$label: queues --json differs from $name.queues.json"
			note "$T/diff" 20
		fi
		if [ "$kind" != raw ]; then
			"$EXQ" info --json "$img" > "$T/out.json" 2> "$T/err"
			if "$TOOLS/jsonsub" "$W/$name.$kind.expect.json" "$T/out.json" > "$T/diff" 2>&1; then
				ok "$label: info --json matches mkfixture's expectation"
			else
				nok "$label: info --json differs from $name.$kind.expect.json"
				note "$T/diff" 10
			fi
		fi
	done
	text "$name" "$W/$name.raw" "$W/$name.queues.json" "$width"
	# one compressed container per world
	set -- $kinds
	"$EXQ" queues --json "$W/$name.$2.gz" > "$T/out.json" 2> "$T/err" &&
		"$TOOLS/jsonsub" "$W/$name.queues.json" "$T/out.json" > "$T/diff" 2>&1 &&
		ok "$name.$2.gz: queues --json matches the truth" ||
		{ nok "$name.$2.gz: queues --json"; note "$T/diff" 10; }
done < "$T/list"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
