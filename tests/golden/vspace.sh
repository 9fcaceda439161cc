#!/bin/sh
# SPDX-License-Identifier: MIT
# Golden checks for virtual addresses (issue 4, DESIGN §5, §8): images from
# tests/tools/mkpt (raw PAE + the same memory as a PAGEDUMP full dump, raw
# non-PAE) against the generator's truth:
#   - exq vtop of every mapped kernel page gives the true PA (raw: DTB by
#     scan; dmp: DTB from the header); an unmapped VA exits 1 with the reason
#   - exq read --va of a structure straddling two non-adjacent physical
#     pages returns the right bytes on raw and dmp
#   - exq info --json on a raw image reports dtb_source "scan" and the DTB;
#     exq scan finds it; an image with no page tables exits 4
# Run from the repository root; EXQ, TOOLS, BUILD come from tests/run.sh.
set -u
EXQ=${EXQ:-build/exq}
TOOLS=${TOOLS:-build/tools}
T=$(mktemp -d "${TMPDIR:-/tmp}/exq-vspace.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $*"
}
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

if ! "$TOOLS/mkpt" "$T"; then
	not_ok "mkpt writes the images"
	finish
fi
ok "mkpt writes the images"

# vtop_truth IMAGE TRUTH LABEL: every "map VA PA" line through exq vtop.
vtop_truth() {
	n=0
	bad=0
	while read -r kind va pa _rest; do
		[ "$kind" = map ] || continue
		n=$((n + 1))
		got=$("$EXQ" vtop "$va" "$1" 2>"$T/err" | sed -n 's/^PA \(0x[0-9a-f]*\) .*/\1/p')
		if [ "$got" != "$pa" ]; then
			bad=$((bad + 1))
			[ "$bad" -le 3 ] && echo "# $3: vtop $va: got '$got', want $pa ($(cat "$T/err"))"
		fi
	done < "$2"
	if [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]; then
		ok "$3: vtop agrees with the truth on $n kernel pages"
	else
		not_ok "$3: vtop disagrees on $bad of $n kernel pages"
	fi
}

# straddle IMAGE TRUTH LABEL: read --va -o of the straddling structure.
straddle() {
	set -- "$1" "$2" "$3" $(sed -n 's/^straddle //p' "$2")
	rm -f "$T/out"
	if "$EXQ" read --va "$4" "$5" -o "$T/out" "$1" 2>"$T/err" &&
		[ "$(od -An -v -tx1 "$T/out" | tr -d ' \n')" = "$6" ]; then
		ok "$3: read --va $4 $5 across two non-adjacent pages"
	else
		not_ok "$3: read --va $4 $5 ($(cat "$T/err"))"
	fi
	if "$EXQ" read --va "$4" "$5" "$1" 2>/dev/null | grep -q 'EXQ-STRADDLE'; then
		ok "$3: read --va hex dump shows the structure"
	else
		not_ok "$3: read --va hex dump"
	fi
}

# absent IMAGE TRUTH LABEL: an unmapped kernel VA exits 1 naming the entry.
absent() {
	va=$(sed -n 's/^absent //p' "$2")
	"$EXQ" vtop "$va" "$1" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q 'PTE\[0x[0-9a-f]*\] = 0x0 not present' "$T/err"; then
		ok "$3: vtop $va exits 1: $(sed 's/^exq: vtop: //' "$T/err")"
	else
		not_ok "$3: vtop $va: exit $rc, $(cat "$T/err")"
	fi
}

for img in pae.raw pae.dmp; do
	vtop_truth "$T/$img" "$T/pae.truth" "$img"
	straddle "$T/$img" "$T/pae.truth" "$img"
	absent "$T/$img" "$T/pae.truth" "$img"
done
vtop_truth "$T/x86.raw" "$T/x86.truth" x86.raw
straddle "$T/x86.raw" "$T/x86.truth" x86.raw
absent "$T/x86.raw" "$T/x86.truth" x86.raw

# info --json: the raw images' DTB comes from the scan; the dump's from its
# header.
for case in "pae.raw scan pae" "x86.raw scan x86" "pae.dmp header pae"; do
	set -- $case
	dtb=$(sed -n 's/^dtb //p' "$T/${1%.*}.truth")
	"$EXQ" info --json "$T/$1" >"$T/info.json" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 0 ] &&
		grep -q "\"dtb\": \"$dtb\"" "$T/info.json" &&
		grep -q "\"dtb_source\": \"$2\"" "$T/info.json" &&
		grep -q "\"paging\": \"$3\"" "$T/info.json"; then
		ok "$1: info --json: dtb $dtb, dtb_source $2, paging $3"
	else
		not_ok "$1: info --json (exit $rc): $(grep -E '"(dtb|dtb_source|paging)"' "$T/info.json" | tr -d '\n') $(cat "$T/err")"
	fi
done

# info -v lists the rejected candidates (the decoy page).
if "$EXQ" info -v "$T/pae.raw" 2>&1 | grep -q 'rejected 0x30000 '; then
	ok "pae.raw: info -v lists the rejected decoy 0x30000"
else
	not_ok "pae.raw: info -v does not list the decoy"
fi

# scan --json: chosen DTB with evidence; exit 0.
"$EXQ" scan --json "$T/pae.raw" >"$T/scan.json" 2>"$T/err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q '"chosen": true' "$T/scan.json" &&
	grep -q '"boot-layout"' "$T/scan.json" && grep -q '"dtb": "0x185000"' "$T/scan.json"; then
	ok "pae.raw: scan --json chooses 0x185000 (boot layout)"
else
	not_ok "pae.raw: scan --json (exit $rc) $(cat "$T/err")"
fi

# --dtb/--paging overrides: vtop through the given DTB, source "override".
if "$EXQ" vtop 0x82a00000 "$T/pae.raw" --dtb 0x185000 --paging pae --json 2>/dev/null |
	grep -q '"dtb_source": "override"'; then
	ok "pae.raw: --dtb/--paging override"
else
	not_ok "pae.raw: --dtb/--paging override"
fi

# No page tables at all: vtop and scan exit 4.
dd if=/dev/zero of="$T/zero.raw" bs=4096 count=64 2>/dev/null
"$EXQ" vtop 0x80000000 "$T/zero.raw" >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 4 ] && grep -q 'no DTB' "$T/err"; then
	ok "zero.raw: vtop exits 4 (no DTB)"
else
	not_ok "zero.raw: vtop exit $rc ($(cat "$T/err"))"
fi
"$EXQ" scan "$T/zero.raw" >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 4 ]; then
	ok "zero.raw: scan exits 4"
else
	not_ok "zero.raw: scan exit $rc"
fi
"$EXQ" vtop 0x100000000 "$T/pae.raw" >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 2 ]; then
	ok "pae.raw: vtop of a VA above 4 GiB is a usage error (2)"
else
	not_ok "pae.raw: vtop 0x100000000 exit $rc"
fi

finish
