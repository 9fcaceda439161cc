#!/bin/sh
# SPDX-License-Identifier: MIT
# Docs that ship: the man page (doc/exq.1) has every command of the
# commands[] table (its synopsis, as `exq --help` prints it), every global
# option, every exit code, the schema version and the address radix; the
# README has an example for every command; the README's "Library in one
# glance" program builds against the library and runs on a good dump, a
# damaged world, a triage dump (when present) and a missing file without
# crashing (exit 0, 1 or 3; never a signal).
set -u
EXQ=${EXQ:-build/exq}
BUILD=${BUILD:-build}
T=$BUILD/golden-docs
rm -rf "$T"; mkdir -p "$T"
. tests/lib.sh
MAN=doc/exq.1
REAL=../shared/fixtures/real/triage_x64.dmp
DEMO=fixtures/demo/win7pae.dmp32-kernel.gz

# the man page as plain text: roff escapes and fonts removed
sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\(em/--/g' "$MAN" > "$T/man.txt"
"$EXQ" --help > "$T/help.txt"
cmds=$(sed -n 's/^  exq \([a-z]*\) .*/\1/p' "$T/help.txt")
[ "$(echo "$cmds" | wc -w)" -ge 6 ] && ok "exq --help lists $(echo $cmds | wc -w) commands" || nok "exq --help lists: $cmds"
for c in $cmds; do
	syn=$(sed -n "s/^  exq \($c .*\)/\1/p" "$T/help.txt")
	grep -qF "exq $syn" "$T/man.txt" && ok "man SYNOPSIS: exq $syn" || nok "man page lacks 'exq $syn'"
	grep -q "^\\.TP" "$MAN" && grep -A1 '^\.TP' "$MAN" | sed 's/\\f[BIR]//g' | grep -q "^$c\\b" &&
		ok "man COMMANDS describes $c" || nok "man COMMANDS lacks $c"
	grep -q "^\$ exq $c " README.md && ok "README has an example of $c" || nok "README lacks an example of $c"
	"$EXQ" help "$c" | sed -n 's/^  \(--*[a-z][a-z-]*\).*/\1/p' > "$T/opts"
	missing=""
	for opt in $(cat "$T/opts"); do grep -qF -- "$opt" "$T/man.txt" || missing="$missing $opt"; done
	[ -z "$missing" ] && ok "man page has every option of $c" || nok "man page lacks options of $c:$missing"
done
for code in 0 1 2 3 4 5 6 7; do
	sed -n '/^\.SH EXIT STATUS/,/^\.SH EXAMPLES/p' "$MAN" | grep -q "^\\.B $code\$" &&
		ok "man EXIT STATUS: $code" || nok "man EXIT STATUS lacks $code"
done
grep -q 'exq/1' "$T/man.txt" && ok "man page names the schema exq/1" || nok "man page lacks exq/1"
grep -q 'hexadecimal, with or without' "$T/man.txt" && ok "man page states the address radix" || nok "man page lacks the radix"
grep -q '^\.SH EXAMPLES' "$MAN" && ok "man page has EXAMPLES" || nok "man page lacks EXAMPLES"
if command -v man > /dev/null 2>&1; then
	MANWIDTH=80 man --warnings -l "$MAN" > /dev/null 2> "$T/manwarn"
	[ -s "$T/manwarn" ] && { nok "man reports problems"; sed 's/^/    # /' "$T/manwarn" | head; } || ok "man renders doc/exq.1 without warnings"
fi

# the README's library program
awk '/^## Library in one glance/ { f = 1 } f && /^```c$/ { g = 1; next } g && /^```$/ { exit } g' README.md > "$T/glance.c"
[ -s "$T/glance.c" ] && ok "README: library program extracted ($(wc -l < "$T/glance.c") lines)" || nok "README: no C block under 'Library in one glance'"
# the build's own compiler, sanitizer flags and libraries ($BUILD/.flags: CC ... | LDFLAGS | LIBS)
cc=$(sed 's/ .*//' "$BUILD/.flags")
ldflags=$(sed 's/^[^|]*| \([^|]*\) |.*/\1/' "$BUILD/.flags")
libs=$(sed 's/.*| //' "$BUILD/.flags")
# shellcheck disable=SC2086
if $cc -std=c11 -Wall -Wextra -Werror $ldflags -Iinclude -o "$T/glance" "$T/glance.c" "$BUILD/libexq.a" $libs 2> "$T/cc.log"; then
	ok "README: library program builds with -Wall -Wextra -Werror"
	W=$BUILD/golden-docs/w
	mkdir -p "$W"
	"$BUILD/tools/mkwin" --build 2600 --paging x86 --damage dangling --seed 0xd1 --phys-size 0x1000000 "$W" dangling > /dev/null 2>&1
	for f in "$DEMO:0" "$W/dangling.raw:1" "$T/does-not-exist:3" "$REAL:1"; do
		img=${f%:*}; want=${f##*:}
		[ "$img" = "$REAL" ] && [ ! -r "$REAL" ] && { echo "# skipping the triage dump: $REAL absent"; continue; }
		"$T/glance" "$img" > "$T/out" 2> "$T/err"; rc=$?
		if [ "$rc" -eq "$want" ]; then
			ok "README program on $(basename "$img"): exit $rc ($(head -1 "$T/out"))"
		else
			nok "README program on $img: exit $rc, want $want"; sed 's/^/    # /' "$T/err" | head -3
		fi
	done
	"$T/glance" "$DEMO" 2> /dev/null | grep -q '^Critical: 3 items$' &&
		ok "README program: the demo's Critical queue has its 3 items (fixtures/demo/win7pae.queues.json)" ||
		nok "README program: wrong item count on the demo"
else
	nok "README: library program does not build"; sed 's/^/    # /' "$T/cc.log" | head
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
