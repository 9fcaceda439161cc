#!/bin/sh
# SPDX-License-Identifier: MIT
# Malformed images must be refused cleanly (DESIGN §3, §8): `exq info`
# exits 3 ("cannot open the image"), stderr starts with "exq: info: " and
# names the lying field; with --json, stdout still holds one exq/1 document.
# The variants are written by `mkfixture --corrupt KIND:CASE[+gz]` from a
# valid spec (see its usage text); the table below is the expectation.
# Fragments are extended regular expressions, matched case-sensitively, and
# name only the field so the library's wording stays free.
# Called by tests/run.sh from the repository root with EXQ, TOOLS, BUILD.
set -u
EXQ=${EXQ:-build/exq}
TOOLS=${TOOLS:-build/tools}
BUILD=${BUILD:-build}
F=$BUILD/fixtures/malformed
mkdir -p "$F"
. tests/lib.sh

printf '{ "schema": "exq/1", "command": "info" }\n' > "$F/failure.expect.json"

# tolerated WHAT FILE FRAGMENT: a redundant count that disagrees with the
# data it counts, while the file holds all that data, is not fatal: info
# exits 0 and a warning names the field.
tolerated() {
	"$EXQ" info --json "$2" > "$F/out" 2> "$F/err"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$1: info --json exits 0"
	else
		nok "$1: info --json exits $rc, want 0 (with a warning)"
		note "$F/err"
		return
	fi
	if ! grep -q '"warnings": \[ *\]' "$F/out" && grep -Eq -- "$3" "$F/out"; then
		ok "$1: a warning names /$3/"
	else
		nok "$1: no warning naming /$3/"
		grep -A3 '"warnings"' "$F/out" | sed 's/^/    # /'
	fi
}

# check SPEC CASE EXIT FRAGMENT
#   EXIT 0 means "tolerated with a warning", anything else "refused".
check() {
	spec=fixtures/specs/$1.spec
	file=$F/$1.$(printf '%s' "$2" | tr ':+' '._')
	if ! "$TOOLS/mkfixture" --corrupt "$2" "$spec" "$file" 2> "$F/err"; then
		nok "$1 $2: mkfixture --corrupt failed"
		note "$F/err"
		return
	fi
	what="$1 $2"
	if [ "$3" -eq 0 ]; then
		tolerated "$what" "$file" "$4"
		return
	fi
	"$EXQ" info "$file" > "$F/out" 2> "$F/err"
	rc=$?
	if [ "$rc" -eq "$3" ]; then
		ok "$what: info exits $rc"
	else
		nok "$what: info exits $rc, want $3"
		note "$F/err"
	fi
	if head -n 1 "$F/err" | grep -q '^exq: info: '; then
		ok "$what: stderr starts with 'exq: info: '"
	else
		nok "$what: stderr does not start with 'exq: info: '"
		note "$F/err"
	fi
	if [ -n "$4" ]; then
		if grep -Eq -- "$4" "$F/err"; then
			ok "$what: message names /$4/"
		else
			nok "$what: message does not name /$4/"
			note "$F/err"
		fi
	fi
	"$EXQ" info --json "$file" > "$F/out" 2> "$F/err"
	rc=$?
	if [ "$rc" -eq "$3" ] && "$TOOLS/jsonsub" "$F/failure.expect.json" "$F/out" \
		> "$F/diff" 2>&1 && grep -q '"error"' "$F/out"; then
		ok "$what: info --json exits $rc with one exq/1 error document"
	else
		nok "$what: info --json: exit $rc (want $3) or no exq/1 error document"
		note "$F/diff"
		note "$F/out"
	fi
}

# spec      case                               exit  fragment (ERE)
while read -r spec case want frag; do
	case $spec in '#'* | '') continue ;; esac
	[ "$frag" = '-' ] && frag=''
	check "$spec" "$case" "$want" "$frag" < /dev/null
done <<'EOF'
# not an image at all
win7pae  empty                                3  -
win7pae  garbage                              3  -
win7pae  subpage                              3  -
win7pae  empty+gz                             3  -
# header shorter than its fixed size
win7pae  dmp32-full:short-header              3  [Hh]eader
win10x64 dmp64-full:short-header              3  [Hh]eader
# unknown DumpType
win7pae  dmp32-full:dump-type                 3  DumpType
win10x64 dmp64-full:dump-type                 3  DumpType
# PhysicalMemoryBlock that lies
win7pae  dmp32-full:runs-overflow             3  NumberOfRuns
win10x64 dmp64-full:runs-overflow             3  NumberOfRuns
win7pae  dmp32-full:runs-overflow+gz          3  NumberOfRuns
# NumberOfPages disagrees with the runs, which the file holds: tolerated
win7pae  dmp32-full:pages-mismatch            0  NumberOfPages
win10x64 dmp64-full:pages-mismatch            0  NumberOfPages
# a body cut short is a truncated dump, not a lie: opens with a warning
# (DESIGN §8); the missing pages read as NODATA
win7pae  dmp32-full:truncated-body            0  dump truncated: 0x[0-9a-f]+ of 0x[0-9a-f]+ pages present
win10x64 dmp64-full:truncated-body            0  dump truncated: 0x[0-9a-f]+ of 0x[0-9a-f]+ pages present
win7pae  dmp32-full:truncated-body+gz         0  dump truncated: 0x[0-9a-f]+ of 0x[0-9a-f]+ pages present
win7pae  dmp32-full:zero-pages                3  NumberOf(Runs|Pages)
win10x64 dmp64-full:zero-pages                3  NumberOf(Runs|Pages)
win7pae  dmp32-full:overlap                   3  [Oo]verlap
win10x64 dmp64-full:overlap                   3  [Oo]verlap
# SUMMARY_DUMP32 (kernel dump) that lies
win7pae  dmp32-kernel:truncated-body          0  dump truncated: 0x[0-9a-f]+ of 0x[0-9a-f]+ pages present
win7pae  dmp32-kernel:bitmap-eof              3  BitmapSize
win7pae  dmp32-kernel:pages-count             0  Pages
win7pae  dmp32-kernel:first-page-eof          3  HeaderSize
win7pae  dmp32-kernel:zero-pages              3  Pages|[Bb]itmap
win7pae  dmp32-kernel:short-header            3  [Hh]eader
win7pae  dmp32-kernel:short-subheader         3  [Hh]eader|[Ss]ummary|SDMP|[Bb]itmap
# SUMMARY_DUMP64 (PAGEDU64 kernel dump), the same way
win10x64 dmp64-kernel:truncated-body          0  dump truncated: 0x[0-9a-f]+ of 0x[0-9a-f]+ pages present
win10x64 dmp64-kernel:bitmap-eof              3  BitmapSize
win10x64 dmp64-kernel:first-page-eof          3  HeaderSize
win10x64 dmp64-kernel:short-subheader         3  [Hh]eader|[Ss]ummary|SDMP|[Bb]itmap
# bitmap dump header that lies, both widths
win7pae  dmp32-bitmap:truncated-body          0  dump truncated: 0x[0-9a-f]+ of 0x[0-9a-f]+ pages present
win10x64 dmp64-bitmap:truncated-body          0  dump truncated: 0x[0-9a-f]+ of 0x[0-9a-f]+ pages present
win7pae  dmp32-bitmap:bitmap-eof              3  BitmapSize
win10x64 dmp64-bitmap:bitmap-eof              3  BitmapSize
win10x64 dmp64-bitmap:bitmap-eof+gz           3  BitmapSize
win7pae  dmp32-bitmap:pages-count             0  Pages
win10x64 dmp64-bitmap:pages-count             0  Pages
win7pae  dmp32-bitmap:first-page-eof          3  FirstPage
win10x64 dmp64-bitmap:first-page-eof          3  FirstPage
win10x64 dmp64-bitmap:zero-pages              3  Pages|[Bb]itmap
win10x64 dmp64-bitmap:short-subheader         3  [Hh]eader|SDMP|FDMP|[Bb]itmap
# a gzip stream cut in half
win7pae  dmp32-full:gz-truncated              3  -
win10x64 raw:gz-truncated                     3  -
EOF
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
