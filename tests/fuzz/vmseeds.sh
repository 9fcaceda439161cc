#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes the vmcore fuzz target's seeds (called by `make fuzz-corpus`):
# tests/fuzz/vmcore.spec through mkfixture, each VM-snapshot kind behind a
# control byte (tests/fuzz/fuzz.h): 0x00 from memory, default vCPU; 0x82
# through a file descriptor, vCPU 1; the kdump also as 0x83 (vCPU 2, which
# is not there).
#   sh tests/fuzz/vmseeds.sh MKFIXTURE OUTDIR
set -eu
MK=$1
OUT=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$MK" tests/fuzz/vmcore.spec "$T" >/dev/null
mkdir -p "$OUT"
seed() { # NAME CONTROL-OCTAL FILE
	{ printf "\\$2"; cat "$3"; } > "$OUT/$1"
}
seed elf32 000 "$T/vmcore.elf32"
seed elf64-fd-cpu1 202 "$T/vmcore.elf64"
seed kdump 000 "$T/vmcore.kdump"
seed kdump-fd-cpu1 202 "$T/vmcore.kdump"
seed kdump-flat 000 "$T/vmcore.kdump-flat"
seed kdump-flat-cpu2 003 "$T/vmcore.kdump-flat"
seed elf32.gz 000 "$T/vmcore.elf32.gz"
# Pages flagged lzo / zstd (their data stays zlib): the path through
# libkdumpfile, opened on the first such page. Descriptors at 0x4000,
# 24 bytes each, flags at +12.
cp "$T/vmcore.kdump" "$T/lzo"
printf '\002' | dd of="$T/lzo" bs=1 seek=$((0x4000 + 12)) conv=notrunc 2> /dev/null
seed kdump-lzo-flag 000 "$T/lzo"
cp "$T/vmcore.kdump" "$T/zstd"
printf '\040' | dd of="$T/zstd" bs=1 seek=$((0x4018 + 12)) conv=notrunc 2> /dev/null
seed kdump-fd-zstd-flag 200 "$T/zstd"
