#!/bin/sh
# SPDX-License-Identifier: MIT
# Licence: LICENSE is the MIT text, and every source file (C, headers,
# assembly, linker map, shell scripts, Makefile) names its licence with an
# SPDX line in its first three lines. The file list is git's when this is
# a clone, else a find over the same kinds.
set -u
BUILD=${BUILD:-build}
T=$BUILD/golden-licence
rm -rf "$T"; mkdir -p "$T"
. tests/lib.sh

sources() {
	if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
		git ls-files -- '*.c' '*.h' '*.S' '*.map' '*.sh' Makefile .ci/run
	else
		find . -path ./build -prune -o -path './build-*' -prune -o -type f \
			\( -name '*.[chS]' -o -name '*.map' -o -name '*.sh' -o -name Makefile \) -print |
			sed 's|^\./||'
		[ -f .ci/run ] && echo .ci/run
	fi
}
# lacking FILE...: prints the files without the SPDX line near the top
lacking() {
	for f in "$@"; do
		[ -f "$f" ] || continue
		head -n 3 "$f" | grep -q 'SPDX-License-Identifier: MIT' || echo "$f"
	done
}

if grep -q '^MIT License' LICENSE 2> /dev/null &&
	grep -q 'Permission is hereby granted, free of charge' LICENSE; then
	ok "LICENSE holds the MIT text"
else
	nok "LICENSE is missing or not the MIT text"
fi
sources > "$T/list"
n=$(wc -l < "$T/list")
[ "$n" -gt 50 ] && ok "$n source files listed" || nok "only $n source files listed"
# shellcheck disable=SC2046 # file names have no spaces
lacking $(cat "$T/list") > "$T/lacking"
if [ -s "$T/lacking" ]; then
	nok "source files without 'SPDX-License-Identifier: MIT' in their first lines:"
	sed 's/^/    # /' "$T/lacking"
else
	ok "every source file carries the SPDX line"
fi
# the checker itself sees a file without it
printf '/* no licence line */\nint x;\n' > "$T/bare.c"
[ "$(lacking "$T/bare.c")" = "$T/bare.c" ] && ok "a file without the line is reported" ||
	nok "the checker misses a file without the line"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
