#!/bin/sh
# Malformed-input corpus (tests/malformed/MANIFEST): every input that
# build/tools/mkbad generates, run through the commands the manifest names.
# Checks per line: the exit code, a line matching the fragment, no exit 5
# and no sanitizer report, the time bound (10 s, a hang detector lenient
# enough for sanitizer builds) and the memory bound (peak RSS, README
# "Resource bounds": 32 MiB + 4 x the file size; 64 MiB + 4 x under
# ASan, whose shadow memory and quarantine inflate RSS). Also: every
# generated file has a manifest line. The last line reports the worst peak
# RSS and time seen.
# Called by tests/run.sh from the repository root with EXQ, TOOLS, BUILD.
set -u
EXQ=${EXQ:-build/exq}
TOOLS=${TOOLS:-build/tools}
BUILD=${BUILD:-build}
M=tests/malformed/MANIFEST
F=$BUILD/malformed-corpus
T=$F.tmp
TIME_LIMIT=10
if [ "${SAN:-0}" = 1 ]; then BASE_KB=65536; else BASE_KB=32768; fi
rm -rf "$F" "$T"
mkdir -p "$F" "$T"
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
nok() { fail=$((fail + 1)); echo "not ok - $1"; }
note() { sed 's/^/    # /' "$1" | head -n "${2:-4}"; }
trim() { printf '%s' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }

if "$TOOLS/mkbad" "$F" 2> "$T/err"; then
	ok "mkbad wrote $(ls "$F" | wc -l) files"
else
	nok "mkbad failed"
	note "$T/err"
fi

# Every generated file is in the manifest.
for f in "$F"/*; do
	b=$(basename "$f")
	grep -q "^$b[[:space:]]*|" "$M" || nok "$b: generated but not in $M"
done

worst_kb=0
worst_ms=0
while IFS='|' read -r file want frag cmd; do
	file=$(trim "$file")
	case $file in '#'* | '') continue ;; esac
	want=$(trim "$want")
	frag=$(trim "$frag")
	cmd=$(trim "$cmd")
	what="$file: exq $cmd"
	if [ ! -f "$F/$file" ]; then
		nok "$what: $file was not generated"
		continue
	fi
	# shellcheck disable=SC2086
	"$TOOLS/rusage" -t "$TIME_LIMIT" -o "$T/ru" -- "$EXQ" $cmd "$F/$file" \
		> "$T/out" 2> "$T/err" < /dev/null
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$what: exits $rc"
	else
		nok "$what: exits $rc, want $want"
		[ "$rc" -eq 124 ] && echo "    # killed after ${TIME_LIMIT}s: a hang?"
		note "$T/err"
	fi
	if grep -Eq 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error' "$T/err"; then
		nok "$what: sanitizer report"
		note "$T/err" 12
	fi
	if [ "$frag" != - ]; then
		if cat "$T/out" "$T/err" | grep -Eq -- "$frag"; then
			ok "$what: output matches /$frag/"
		else
			nok "$what: no line matches /$frag/"
			note "$T/err"
			note "$T/out"
		fi
	fi
	kb=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$T/ru")
	ms=$(sed -n 's/.*wall_ms=\([0-9]*\).*/\1/p' "$T/ru")
	size=$(wc -c < "$F/$file")
	limit=$((BASE_KB + 4 * size / 1024))
	if [ -n "$kb" ] && [ "$kb" -le "$limit" ]; then
		:
	else
		nok "$what: peak RSS ${kb:-?} KiB over the bound $limit KiB"
	fi
	[ -n "$kb" ] && [ "$kb" -gt "$worst_kb" ] && worst_kb=$kb
	[ -n "$ms" ] && [ "$ms" -gt "$worst_ms" ] && worst_ms=$ms
done < "$M"
echo "# worst peak RSS ${worst_kb} KiB, worst time ${worst_ms} ms"
echo "$pass passed, $fail failed (worst ${worst_kb} KiB, ${worst_ms} ms)"
[ "$fail" -eq 0 ]
