#!/bin/sh
# SPDX-License-Identifier: MIT
# make demo: exq's main job on the bundled fixture, a generated Windows 7
# SP1 x86 PAE kernel dump (fixtures/demo/, provenance in fixtures/README.md):
# the system worker queues as WinDbg's !exqueue shows them, then the same
# as JSON; also the real triage dump of ../shared when it is there.
set -eu
BUILD=${1:-build}
FIX=fixtures/demo/win7pae.dmp32-kernel.gz
run() { echo "\$ $*"; "$@" || echo "(exit $?)"; echo; }
run "$BUILD/exq" info "$FIX"
run "$BUILD/exq" queues "$FIX"
echo "\$ $BUILD/exq queues --json $FIX | head -40"
"$BUILD/exq" queues --json "$FIX" | head -40
echo
run "$BUILD/exq" modules "$FIX"
REAL=../shared/fixtures/real/triage_x64.dmp
[ -r "$REAL" ] && run "$BUILD/exq" queues "$REAL"
exit 0
