#!/bin/sh
# SPDX-License-Identifier: MIT
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
. tests/lib.sh
trim() { printf '%s' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }

if "$TOOLS/mkbad" "$F" 2> "$T/err"; then
	ok "mkbad wrote $(ls "$F" | wc -l) files"
else
	nok "mkbad failed"
	note "$T/err"
fi

# VM snapshots (read in every build; none of these needs libkdumpfile):
# tests/fuzz/vmcore.spec written by mkfixture as ELF cores and kdump
# files, then cut at header boundaries and patched. Offsets
# are those of that spec's files: ELF32 header 0x34 bytes, three program
# headers to 0x94, notes to 0x42c, data from 0x1000; kdump in the 64-bit
# layout (bitmap_blocks at 436), sub-header at 0x1000 (offset_note at
# +48), bitmaps 0x2000-0x3fff, four 24-byte page descriptors at 0x4000,
# zlib data from 0x5060 to 0x6de5.
VM=1
cut() { head -c $(($2)) "$1" > "$F/$3"; }
patch() { # FILE OFFSET PRINTF-BYTES NEWNAME
	cp "$1" "$F/$4"
	printf "$3" | dd of="$F/$4" bs=1 seek=$(($2)) conv=notrunc 2> /dev/null
}
if [ "$VM" = 1 ]; then
	mkdir -p "$T/vm"
	if "$TOOLS/mkfixture" tests/fuzz/vmcore.spec "$T/vm" > /dev/null 2> "$T/err"; then
		ok "mkfixture wrote the VM snapshots"
	else
		nok "mkfixture failed on tests/fuzz/vmcore.spec"
		note "$T/err"
	fi
	e32=$T/vm/vmcore.elf32
	kd=$T/vm/vmcore.kdump
	cut "$e32" 0x28 vm.elf32.cut-0x28
	cut "$e32" 0x64 vm.elf32.cut-0x64
	cut "$e32" 0x200 vm.elf32.cut-0x200
	cut "$e32" 0x4800 vm.elf32.cut-0x4800
	patch "$e32" 44 '\376\377' vm.elf32.phnum-0xfffe
	patch "$T/vm/vmcore.elf64" 32 '\300\377\377\377\377\377\377\377' vm.elf64.phoff-wraps
	cut "$kd" 0x12c vm.kdump.cut-0x12c
	cut "$kd" 0x2000 vm.kdump.cut-0x2000
	cut "$kd" 0x4010 vm.kdump.cut-0x4010
	cut "$kd" 0x6978 vm.kdump.cut-0x6978
	patch "$kd" 436 '\377\377\377\177' vm.kdump.bitmap-blocks-huge
	patch "$kd" 0x4018 '\000\000\020\000\000\000\000\000' vm.kdump.desc-past-eof
	patch "$kd" 0x50c4 '\377\377\377\377\377\377\377\377' vm.kdump.zlib-garbage
	patch "$kd" 0x1030 '\000\000\000\000\000\001\000\000' vm.kdump.notes-outside
	cut "$T/vm/vmcore.kdump-flat" 0x1388 vm.kdump-flat.cut-0x1388
	cut "$T/vm/vmcore.kdump-flat" 0x7d0 vm.kdump-flat.cut-0x7d0
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
	case $file in vm.*) [ "$VM" = 1 ] || continue ;; esac
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
