#!/bin/sh
# SPDX-License-Identifier: MIT
# Physical layer against independent truth (DESIGN §4, §9, §11).
# Every fixtures/specs/*.spec goes through mkfixture, which writes each
# image kind (raw, PAGEDUMP full/kernel/bitmap, PAGEDU64 full/bitmap), its
# .gz, the expected `exq info --json` subset and a list of read checks.
# Then, for every image:
#   - `exq info --json` exits 0 and its output contains the expect file
#     (jsonsub: subset match);
#   - `exq read --pa` gives back the raw file's bytes for pages the image
#     holds (whole runs, first/last pages, straddling reads, unaligned
#     reads, a random sample), and exits 1 with NODATA on stderr for pages
#     it lacks (holes, pages left out of kernel/bitmap dumps, past the end).
# Called by tests/run.sh from the repository root with EXQ, TOOLS, BUILD.
set -u
EXQ=${EXQ:-build/exq}
TOOLS=${TOOLS:-build/tools}
BUILD=${BUILD:-build}
F=$BUILD/fixtures
T=$F/tmp
mkdir -p "$F" "$T"
. tests/lib.sh

# cut RAW PA LEN OUT: bytes [PA, PA+LEN) of RAW into OUT.
cut() {
	if [ $(($2 % 4096)) -eq 0 ] && [ $(($3 % 4096)) -eq 0 ]; then
		dd if="$1" of="$4" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) 2>/dev/null
	else
		dd if="$1" of="$4" bs=1 skip=$(($2)) count=$(($3)) 2>/dev/null
	fi
}

# check_info NAME IMAGE EXPECT
check_info() {
	"$EXQ" info --json "$2" > "$T/info.json" 2> "$T/err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		nok "$1: info --json exits $rc, want 0"
		note "$T/err"
		return
	fi
	if "$TOOLS/jsonsub" "$3" "$T/info.json" > "$T/diff" 2>&1; then
		ok "$1: info --json matches $(basename "$3")"
	else
		nok "$1: info --json differs from $(basename "$3")"
		note "$T/diff" 20
	fi
	if "$EXQ" info "$2" > /dev/null 2> "$T/err"; then
		ok "$1: info (text) exits 0"
	else
		nok "$1: info (text) fails"
		note "$T/err"
	fi
}

# check_reads NAME IMAGE RAW CHECKS SCOPE KIND
# SCOPE "plain": every check; "gz": the checks marked "all".
check_reads() {
	nd=0
	while read -r op pa len scope; do
		case $op in data | nodata) ;; *) continue ;; esac
		[ "$5" = gz ] && [ "$scope" != all ] && continue
		rm -f "$T/got"
		"$EXQ" read --pa "$pa" $((len)) -o "$T/got" "$2" 2> "$T/err" < /dev/null
		rc=$?
		if [ "$op" = data ]; then
			nd=$((nd + 1))
			if [ "$rc" -ne 0 ]; then
				nok "$1: read --pa $pa $len exits $rc, want 0"
				note "$T/err" 2
				continue
			fi
			cut "$3" "$pa" "$len" "$T/want"
			if ! cmp -s "$T/want" "$T/got"; then
				nok "$1: read --pa $pa $len differs from the raw bytes"
				cmp "$T/want" "$T/got" 2>&1 | sed 's/^/    # /' | head -n 2
				continue
			fi
			# A page a dump holds starts with its own PFN (the content
			# rule of mkfixture): this guards the generator as well.
			if [ "$6" != raw ] && [ $((pa % 4096)) -eq 0 ] &&
				[ "$(od -An -tu8 -N8 "$T/got" | tr -d ' ')" != $((pa / 4096)) ]; then
				nok "$1: page at $pa does not start with its PFN"
			else
				ok "$1: read --pa $pa $len equals the raw bytes"
			fi
		else
			if [ "$rc" -eq 1 ] && grep -q NODATA "$T/err"; then
				ok "$1: read --pa $pa $len is NODATA (exit 1)"
			else
				nok "$1: read --pa $pa $len: exit $rc, want 1 with NODATA on stderr"
				note "$T/err" 2
			fi
		fi
	done < "$4"
	if [ "$nd" -eq 0 ]; then
		nok "$1: no read-back checks found in $(basename "$4")"
	fi
}

if [ ! -x "$EXQ" ]; then
	nok "no CLI at $EXQ"
fi
set -- fixtures/specs/*.spec
[ -f "$1" ] || nok "no fixtures/specs/*.spec (run from the repository root)"
for spec in fixtures/specs/*.spec; do
	[ -f "$spec" ] || continue
	name=$(basename "$spec" .spec)
	rm -f "$F/$name".*
	if ! "$TOOLS/mkfixture" "$spec" "$F" 2> "$T/err"; then
		nok "$name: mkfixture $spec"
		note "$T/err"
		continue
	fi
	ok "$name: fixtures generated"
	raw=$F/$name.raw
	for exp in "$F/$name".*.expect.json; do
		img=${exp%.expect.json}
		kind=${img#"$F/$name".}
		case $kind in
		*.gz) base=${kind%.gz}; scope=gz ;;
		*) base=$kind; scope=plain ;;
		esac
		check_info "$name.$kind" "$img" "$exp"
		check_reads "$name.$kind" "$img" "$raw" "$F/$name.$base.checks" "$scope" "$base"
	done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
