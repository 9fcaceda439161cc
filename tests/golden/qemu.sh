#!/bin/sh
# SPDX-License-Identifier: MIT
# Images written by QEMU itself (fixtures/qemu, made by fixtures/qemu/make.sh;
# provenance in fixtures/README.md): one 16 MiB Windows 7 PAE world loaded
# into a tiny guest that turned on PAE paging with CR3 = the world's DTB,
# dumped as ELF (dump-guest-memory), ELF with paging (-p), kdump-zlib
# (flattened, -z) and raw (pmemsave). Checks, on the .gz files and on
# their uncompressed copies (exq reads both itself, ELF segments and zlib
# kdump pages, in every build; libkdumpfile is not needed):
#   - `exq info --json` on the ELF and kdump files: format, dump type,
#     paging "pae", machine x86, dtb 0x185000 from "qemu-note", 2 CPUs;
#   - `exq read --pa` gives the same bytes as the pmemsave raw for a sample
#     of pages (page tables, kernel, BIOS area, last page);
#   - `exq queues --json` equals the world's truth on ELF, kdump and raw;
#   - the -p file opens without hanging; --cpu 1 (a vCPU with paging off)
#     warns and falls back to the scan; --cpu 2 is a usage error (exit 2).
# Called by tests/run.sh from the repository root with EXQ, TOOLS, BUILD.
set -u
EXQ=${EXQ:-build/exq}
TOOLS=${TOOLS:-build/tools}
BUILD=${BUILD:-build}
Q=fixtures/qemu
W=$BUILD/qemu
mkdir -p "$W"
. tests/lib.sh
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}

for f in qemu.elf qemu-paging.elf qemu.kdump qemu.raw; do
	if gzip -dc "$Q/$f.gz" > "$W/$f" 2> /dev/null; then
		ok "$f.gz decompresses"
	else
		nok "$f.gz decompresses"
	fi
done

cat > "$W/elf.expect.json" <<'J'
{ "schema": "exq/1", "command": "info",
  "image": { "format": "elf", "dump_type": "elf", "machine": "x86", "paging": "pae",
             "dtb": "0x185000", "dtb_source": "qemu-note" },
  "cpus": 2 }
J
sed -e 's/"elf"/"kdump"/g' "$W/elf.expect.json" > "$W/kdump.expect.json"

for img in qemu.elf qemu.kdump qemu-paging.elf; do
	case $img in
	*kdump*) exp=$W/kdump.expect.json ;;
	*) exp=$W/elf.expect.json ;;
	esac
	for path in "$Q/$img.gz" "$W/$img"; do
		if timeout 60 "$EXQ" info --json "$path" > "$W/out.json" 2> "$W/err"; then
			if "$TOOLS/jsonsub" "$exp" "$W/out.json" > "$W/diff" 2>&1; then
				ok "$path: info --json: format, paging pae, DTB 0x185000 from qemu-note"
			else
				nok "$path: info --json differs"
				note "$W/diff" 20
			fi
		else
			nok "$path: info --json exits $? (timeout is 124)"
			note "$W/err"
		fi
	done
done

# read --pa against the pmemsave raw: page tables, kernel pages, the BIOS
# area, the guest, the last page, a read across pages.
for img in "$Q/qemu.elf.gz" "$W/qemu.elf" "$Q/qemu.kdump.gz" "$W/qemu.kdump"; do
	bad=""
	n=0
	for spec in 0x0:0x1000 0x9f000:0x1000 0xf0000:0x1000 0x185000:0x5000 \
		0x1a9000:0x1000 0x2ae000:0x1000 0xa00000:0x2000 0xc95000:0x1000 \
		0x1800000:0x1000 0x1fff000:0x1000 0x1a9ff0:0x20; do
		pa=${spec%%:*}
		len=${spec##*:}
		"$EXQ" read --pa "$pa" "$len" -o "$W/got" "$img" 2> "$W/err" || { bad="$bad $pa(rc)"; continue; }
		if [ $((pa % 4096)) -eq 0 ]; then
			dd if="$W/qemu.raw" of="$W/want" bs=4096 skip=$((pa / 4096)) count=$(((len + 4095) / 4096)) 2> /dev/null
			head -c $((len)) "$W/want" > "$W/want2"
		else
			dd if="$W/qemu.raw" of="$W/want2" bs=1 skip=$((pa)) count=$((len)) 2> /dev/null
		fi
		cmp -s "$W/got" "$W/want2" || bad="$bad $pa"
		n=$((n + 1))
	done
	if [ -z "$bad" ]; then
		ok "$img: read --pa equals the pmemsave raw ($n ranges)"
	else
		nok "$img: read --pa differs from the raw at:$bad"
		note "$W/err"
	fi
done

for img in "$Q/qemu.elf.gz" "$Q/qemu.kdump.gz" "$Q/qemu.raw.gz" "$W/qemu.elf" "$W/qemu.kdump"; do
	if "$EXQ" queues --json "$img" > "$W/out.json" 2> "$W/err"; then
		if "$TOOLS/jsonsub" "$Q/world.queues.json" "$W/out.json" > "$W/diff" 2>&1; then
			ok "$img: queues --json equals the world's truth"
		else
			nok "$img: queues --json differs from the truth"
			note "$W/diff" 20
		fi
	else
		nok "$img: queues exits $?"
		note "$W/err"
	fi
done

# Structures that straddle two virtual pages mapped to non-adjacent
# physical pages: `read --va` gives the same bytes on ELF, kdump and raw.
for va in $(grep -o '"va": "0x[0-9a-f]*ff[0-9a-f]"' "$Q/world.queues.json" | sed 's/.*"\(0x[0-9a-f]*\)"/\1/'); do
	pa1=$("$EXQ" vtop --json "$va" "$W/qemu.elf" 2> /dev/null | sed -n 's/^  "pa": "\(0x[0-9a-f]*\)".*/\1/p')
	pa2=$("$EXQ" vtop --json $(printf '0x%x' $((va + 0x10))) "$W/qemu.elf" 2> /dev/null | sed -n 's/^  "pa": "\(0x[0-9a-f]*\)".*/\1/p')
	if [ -z "$pa1" ] || [ -z "$pa2" ] || [ $((pa2 - pa1)) -eq 16 ]; then
		nok "$va: does not straddle non-adjacent physical pages (PA $pa1 / $pa2)"
		continue
	fi
	same=1
	"$EXQ" read --va "$va" 32 -o "$W/va.raw" "$Q/qemu.raw.gz" 2> /dev/null || same=0
	for img in "$W/qemu.elf" "$W/qemu.kdump" "$Q/qemu.elf.gz" "$Q/qemu.kdump.gz"; do
		"$EXQ" read --va "$va" 32 -o "$W/va.out" "$img" 2> /dev/null && cmp -s "$W/va.raw" "$W/va.out" || same=0
	done
	if [ $same = 1 ]; then
		ok "read --va $va (32 bytes over PA $pa1 and $pa2): same bytes on raw, ELF and kdump"
	else
		nok "read --va $va differs between raw, ELF and kdump"
	fi
done

# QEMU's -p file names some physical pages twice (once per VA that maps
# them): overlapping PT_LOADs are said, not passed over (issue 16)
"$EXQ" info --json "$Q/qemu-paging.elf.gz" > "$W/out.json" 2> /dev/null
grep -q '2 PT_LOAD segments overlap earlier ones in physical memory (the first at PA 0xa00000)' "$W/out.json" &&
	ok "-p file: the overlapping PT_LOADs are a warning" || nok "-p file: no overlap warning"
"$EXQ" info --json "$Q/qemu.elf.gz" > "$W/out.json" 2> /dev/null
grep -q 'overlap' "$W/out.json" && nok "plain ELF: an overlap warning" || ok "plain ELF: no overlap warning"

# The x64 world (fixtures/qemu/make.sh build x64): Windows 10 22H2, two NUMA
# nodes, the partition model, dumped by QEMU from a long-mode guest (ELF
# with EM_X86_64, kdump whose QEMU notes carry CS.L).
cat > "$W/elf64.expect.json" <<'J'
{ "schema": "exq/1", "command": "info",
  "image": { "format": "elf", "dump_type": "elf", "machine": "x64", "paging": "x64",
             "dtb": "0x1aa000", "dtb_source": "qemu-note", "build": 19045 },
  "kernel": { "name": "ntoskrnl.exe", "base": "0xfffff8047ba00000", "profile": "win10-2004-x64" },
  "cpus": 2 }
J
sed -e 's/"elf"/"kdump"/g' "$W/elf64.expect.json" > "$W/kdump64.expect.json"
for f in qemu64.elf qemu64.kdump qemu64.raw; do
	gzip -dc "$Q/$f.gz" > "$W/$f" 2> /dev/null || nok "$f.gz decompresses"
done
for img in "$Q/qemu64.elf.gz" "$W/qemu64.elf" "$Q/qemu64.kdump.gz" "$W/qemu64.kdump"; do
	case $img in
	*kdump*) exp=$W/kdump64.expect.json ;;
	*) exp=$W/elf64.expect.json ;;
	esac
	"$EXQ" info --json "$img" > "$W/out.json" 2> "$W/err"
	if "$TOOLS/jsonsub" "$exp" "$W/out.json" > "$W/diff" 2>&1; then
		ok "$img: info --json: x64 from the long-mode vCPU, PML4 0x1aa000 from qemu-note"
	else
		nok "$img: info --json differs"
		note "$W/diff" 20
	fi
done
for img in "$Q/qemu64.elf.gz" "$Q/qemu64.kdump.gz" "$Q/qemu64.raw.gz" "$W/qemu64.elf" "$W/qemu64.kdump"; do
	for what in queues modules; do
		if "$EXQ" "$what" --json "$img" > "$W/out.json" 2> "$W/err" &&
			"$TOOLS/jsonsub" "$Q/world64.$what.json" "$W/out.json" > "$W/diff" 2>&1; then
			ok "$img: $what --json equals the x64 world's truth"
		else
			nok "$img: $what --json"
			note "$W/err"
			note "$W/diff" 20
		fi
	done
done

"$EXQ" info --json --cpu 1 "$Q/qemu.elf.gz" > "$W/out.json" 2> "$W/err"
rc=$?
if [ $rc -eq 0 ] && grep -q 'vCPU 1: paging is off' "$W/out.json" &&
	! grep -q '"dtb_source": "qemu-note"' "$W/out.json"; then
	ok "--cpu 1: paging off on that vCPU: a warning, no DTB from its note"
else
	nok "--cpu 1: exit $rc, or no warning / a qemu-note DTB"
fi
"$EXQ" info --cpu 2 "$Q/qemu.kdump.gz" > /dev/null 2> "$W/err"
rc=$?
if [ $rc -eq 2 ] && grep -q -- '--cpu 2: the image holds CPU state for 2 vCPUs' "$W/err"; then
	ok "--cpu 2: exit 2 naming the 2 vCPUs"
else
	nok "--cpu 2: exit $rc"
	note "$W/err"
fi
finish
