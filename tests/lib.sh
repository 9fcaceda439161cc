# SPDX-License-Identifier: MIT
# Helpers shared by the golden suites (tests/golden/*.sh), sourced from the
# repository root: `. tests/lib.sh`. Each suite prints one "ok - ..." or
# "not ok - ..." line per check and ends with "N passed, N failed".
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
nok() { fail=$((fail + 1)); echo "not ok - $1"; }
# note FILE [N]: the first N (5) lines of FILE as comments under a check
note() { sed 's/^/    # /' "$1" | head -n "${2:-5}"; }
