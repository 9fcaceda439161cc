#!/bin/sh
# make demo: generate the bundled Windows 7 PAE fixture from its spec
# (fixtures/specs/win7pae.spec) and run exq on it; also on the real triage
# dump of ../shared when it is there.
set -eu
BUILD=${1:-build}
OUT=$BUILD/demo
mkdir -p "$OUT"
"$BUILD/tools/mkfixture" fixtures/specs/win7pae.spec "$OUT" > /dev/null
FIX=$OUT/win7pae.dmp32-kernel.gz
run() { echo "\$ $*"; "$@" || echo "(exit $?)"; echo; }
run "$BUILD/exq" info "$FIX"
run "$BUILD/exq" read --pa 0x100ff0 32 "$FIX"
run "$BUILD/exq" read --pa 0x150000 16 "$FIX"
REAL=../shared/fixtures/real/triage_x64.dmp
[ -r "$REAL" ] && run "$BUILD/exq" info "$REAL"
exit 0
