#!/bin/sh
# SPDX-License-Identifier: MIT
# Out of memory (issue 16 item 11): NOMEM reaches the user as NOMEM, exit 7,
# never as "not found", a lost queue, an internal error or an abort.
#
# build/tools/failalloc.so (LD_PRELOAD) makes the N-th allocation of the
# process and every later one fail, as `ulimit -v` does but at a point the
# test picks. For each case the run without failures gives the number of
# allocations A and the reference output; then for N in 1..A (about 150
# points and four commands under EXQ_TEST_FULL=1, about 12 otherwise) the
# run must either
#   - end exactly like the reference (same exit code, same stdout: the
#     allocation had a fallback that loses nothing), or
#   - exit 7 with every stderr line naming "out of memory" / NOMEM, and
#     with --json a document whose status is "NOMEM" and exit_code 7.
# Then EXQ_FAILALLOC_OVER (every allocation above a size fails) and real
# `ulimit -v` limits: the exit code is the reference's or 7.
# Skipped under the sanitizers (their runtime owns malloc and reserves
# terabytes of address space). Inputs: the bundled generated fixtures.
set -u
EXQ=${EXQ:-build/exq}
TOOLS=${TOOLS:-build/tools}
BUILD=${BUILD:-build}
W=$BUILD/golden-nomem
rm -rf "$W"; mkdir -p "$W"
. tests/lib.sh
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}
SHIM=$(pwd)/$TOOLS/failalloc.so
if [ "${SAN:-0}" = 1 ]; then
	ok "skipped: sanitizer build (its runtime owns malloc)"
	finish
fi
[ -f "$SHIM" ] || { nok "$SHIM missing"; finish; }

gzip -dc fixtures/demo/win7pae.dmp32-kernel.gz > "$W/win7.dmp" &&
	gzip -dc fixtures/qemu/qemu.kdump.gz > "$W/qemu.kdump" &&
	gzip -dc fixtures/qemu/qemu64.kdump.gz > "$W/qemu64.kdump" &&
	cp fixtures/qemu/qemu.raw.gz "$W/qemu.raw.gz" ||
	{ nok "fixtures decompress"; finish; }
printf '{"status":"NOMEM","exit_code":7}\n' > "$W/nomem.json"

# only_oom FILE: every line of FILE names the out-of-memory condition or
# is one the reference run printed too (a dump that has no DTB says so
# before the document runs out of memory)
only_oom() {
	! grep -v -e 'out of memory' -e 'NOMEM' "$1" | grep -v -x -F -f "$W/ref.err" > /dev/null
}

# is_nomem_doc FILE JSON: with JSON 1, FILE is a NOMEM document; with 2
# (--jsonl), its last line is
is_nomem_doc() {
	case $2 in
	0) return 0 ;;
	1) "$TOOLS/jsonsub" "$W/nomem.json" "$1" > /dev/null 2>&1 ;;
	2) tail -n 1 "$1" > "$1.last" &&
		"$TOOLS/jsonsub" "$W/nomem.json" "$1.last" > /dev/null 2>&1 ;;
	esac
}

# sweep LABEL JSON(0|1|2) ARGS...: the N-th-allocation sweep of one case
sweep() {
	label=$1; json=$2; shift 2
	EXQ_FAILALLOC_COUNT="$W/count" LD_PRELOAD="$SHIM" "$EXQ" "$@" \
		> "$W/ref.out" 2> "$W/ref.err"
	ref=$?
	A=$(cat "$W/count" 2> /dev/null || echo 0)
	if [ "$A" -lt 5 ]; then
		nok "$label: the shim counted $A allocations"; return
	fi
	if [ -n "${NOMEM_STEP:-}" ]; then step=$NOMEM_STEP # every point: 1
	elif [ "${EXQ_TEST_FULL:-0}" = 1 ]; then step=$((A / 150 + 1)); else step=$((A / 12 + 1)); fi
	bad=0 seen7=0 n=1
	while [ "$n" -le "$A" ]; do
		EXQ_FAILALLOC_AT=$n LD_PRELOAD="$SHIM" "$EXQ" "$@" \
			> "$W/out" 2> "$W/err"
		rc=$?
		if [ "$rc" -eq "$ref" ] && cmp -s "$W/out" "$W/ref.out"; then
			:
		elif [ "$rc" -eq 7 ] && only_oom "$W/err" &&
			is_nomem_doc "$W/out" "$json"; then
			seen7=$((seen7 + 1))
		else
			bad=$((bad + 1))
			if [ "$bad" -le 2 ]; then
				echo "    # $label: allocation $n of $A fails: exit $rc (reference $ref)"
				sed 's/^/    #   /' "$W/err" | head -n 3
				[ "$json" != 0 ] && tail -c 300 "$W/out" | sed 's/^/    #   /'
			fi
		fi
		n=$((n + step))
	done
	if [ "$bad" -eq 0 ] && [ "$seen7" -gt 0 ]; then
		ok "$label: $A allocations, every failing point ends as the reference or NOMEM (exit 7; $seen7 points)"
	elif [ "$bad" -eq 0 ]; then
		nok "$label: no failing point reached exit 7"
	else
		nok "$label: $bad failing points end otherwise"
	fi
}

if [ "${EXQ_TEST_FULL:-0}" = 1 ]; then
	for f in win7.dmp qemu.kdump qemu64.kdump qemu.raw.gz; do
		for c in queues info modules scan; do
			sweep "$c --json $f" 1 $c --json "$W/$f"
		done
		sweep "queues $f (text)" 0 queues "$W/$f"
	done
else # a spread of the same, in a few seconds
	for f in win7.dmp qemu.kdump qemu64.kdump qemu.raw.gz; do
		sweep "queues --json $f" 1 queues --json "$W/$f"
	done
	sweep "info --json qemu.kdump" 1 info --json "$W/qemu.kdump"
	sweep "queues qemu64.kdump (text)" 0 queues "$W/qemu64.kdump"
fi
sweep "queues --jsonl on two images" 2 queues --jsonl "$W/win7.dmp" "$W/qemu.kdump"
sweep "read --json" 1 read --json --pa 0x185000 64 "$W/win7.dmp"

# The first allocation of the process (the argument vector) already fails:
# still a document.
EXQ_FAILALLOC_AT=1 LD_PRELOAD="$SHIM" "$EXQ" queues --json "$W/win7.dmp" \
	> "$W/out" 2> "$W/err"
rc=$?
if [ "$rc" -eq 7 ] && "$TOOLS/jsonsub" "$W/nomem.json" "$W/out" > /dev/null; then
	ok "no memory at all: exit 7 and a NOMEM document"
else
	nok "no memory at all: exit $rc"; note "$W/out"
fi

# Large blocks refused (what `ulimit -v` does to the page cache, a scan's
# 1 MiB buffer, the gzip index): the reference or NOMEM, never 4 or 5.
for over in 65536 1048576 3000000; do
	for f in win7.dmp qemu.kdump qemu64.kdump qemu.raw.gz; do
		for c in queues info; do
			"$EXQ" $c --json "$W/$f" > "$W/ref.out" 2> /dev/null
			ref=$?
			EXQ_FAILALLOC_OVER=$over LD_PRELOAD="$SHIM" "$EXQ" $c --json \
				"$W/$f" > "$W/out" 2> "$W/err"
			rc=$?
			if { [ "$rc" -eq "$ref" ] && cmp -s "$W/out" "$W/ref.out"; } ||
				{ [ "$rc" -eq 7 ] && "$TOOLS/jsonsub" "$W/nomem.json" "$W/out" > /dev/null; }; then
				:
			else
				nok "blocks over $over bytes refused: $c $f: exit $rc (reference $ref)"
				note "$W/err" 3
			fi
		done
	done
done
ok "blocks over 64 KiB, 1 MiB, 3 MB refused: every run the reference or NOMEM"

# Memory follows what is read, not the bounds (issue 16 item 10): with
# --max-items at its cap (2^20 per list) a walk of short lists needs no
# block over 2 MiB (the visited set grows with the nodes; it was sized
# from --max-items: 32 MiB per list).
for f in win7.dmp qemu64.kdump; do
	"$EXQ" queues --json "$W/$f" > "$W/ref.out" 2> /dev/null
	EXQ_FAILALLOC_OVER=2097152 LD_PRELOAD="$SHIM" "$EXQ" queues --json \
		--max-items 1000000 "$W/$f" > "$W/out" 2> "$W/err"
	rc=$?
	if [ "$rc" -eq 0 ] && cmp -s "$W/out" "$W/ref.out"; then
		ok "queues --max-items 1000000 $f: no block over 2 MiB, same document"
	else
		nok "queues --max-items 1000000 $f with blocks over 2 MiB refused: exit $rc"
		note "$W/err" 3
	fi
done

# Real limits on the address space, from the lowest at which exq starts.
lo=""
for kb in 3000 4000 5000 6000 8000; do
	if (ulimit -v $kb 2> /dev/null && "$EXQ" --version) > /dev/null 2>&1; then
		lo=$kb; break
	fi
done
if [ -z "$lo" ]; then
	ok "skipped: ulimit -v does not apply here"
else
	badu=0
	if [ "${EXQ_TEST_FULL:-0}" = 1 ]; then
		kbs="$lo $((lo + 1000)) $((lo + 2000)) $((lo + 4000)) $((lo + 8000)) $((lo + 16000))"
	else
		kbs="$lo $((lo + 4000)) $((lo + 16000))"
	fi
	for kb in $kbs; do
		for f in win7.dmp qemu.kdump qemu64.kdump qemu.raw.gz; do
			"$EXQ" queues --json "$W/$f" > /dev/null 2>&1
			ref=$?
			(ulimit -v $kb && "$EXQ" queues --json "$W/$f") > "$W/out" 2> "$W/err"
			rc=$?
			if [ "$rc" -ne "$ref" ] && { [ "$rc" -ne 7 ] || ! "$TOOLS/jsonsub" "$W/nomem.json" "$W/out" > /dev/null; }; then
				badu=$((badu + 1))
				echo "    # ulimit -v $kb: queues $f: exit $rc (reference $ref)"
				sed 's/^/    #   /' "$W/err" | head -n 2
			fi
		done
	done
	if [ "$badu" -eq 0 ]; then
		ok "ulimit -v $lo … $((lo + 16000)) KiB: queues exits as the reference or 7 with a NOMEM document"
	else
		nok "ulimit -v: $badu runs end otherwise"
	fi
fi
finish
