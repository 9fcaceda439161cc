#!/bin/sh
# SPDX-License-Identifier: MIT
# make install into a DESTDIR, then build and run a program against the
# installed header, shared library and exq.pc (and check the export list).
set -u
BUILD=${BUILD:-build}
. tests/lib.sh
if [ "${SAN:-0}" = 1 ]; then
	echo "# sanitizer build: install check runs in the plain build only"
	echo "0 passed, 0 failed"; exit 0
fi
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
# Install the build under test as it was configured: a make with other
# settings would rebuild $BUILD (it records its flags in $BUILD/.flags).
KD=1
grep -q 'EXQ_WITH_KDUMPFILE=0' "$BUILD/.flags" 2> /dev/null && KD=0
if make -s install BUILD="$BUILD" WITH_KDUMPFILE=$KD DESTDIR="$D/root" PREFIX=/usr > "$D/log" 2>&1; then
	ok "make install DESTDIR=… PREFIX=/usr"
else
	nok "make install"; cat "$D/log"
fi
for f in usr/include/exq.h usr/lib/libexq.a usr/lib/libexq.so.0 usr/lib/libexq.so \
	usr/lib/pkgconfig/exq.pc usr/bin/exq usr/share/doc/exq/LICENSE usr/share/doc/exq/README.md \
	usr/share/man/man1/exq.1 usr/share/exq/exq-1.schema.json; do
	[ -e "$D/root/$f" ] && ok "installed $f" || nok "missing $f"
done
soname=$(readelf -d "$D/root/usr/lib/libexq.so.0" 2>/dev/null | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libexq.so.0 ] && ok "SONAME libexq.so.0" || nok "SONAME is '$soname'"
if nm -D --defined-only "$D/root/usr/lib/libexq.so.0" | awk '{print $3}' | grep -v '^exq_' | grep -v '^EXQ_0$' | grep -q .; then
	nok "the shared library exports symbols outside exq_*"
else
	ok "only exq_* symbols exported"
fi
nm -D --defined-only "$D/root/usr/lib/libexq.so.0" | grep -q ' exq__' && nok "internal exq__ symbols exported" || ok "no internal symbols exported"
cat > "$D/use.c" <<'C'
#include <exq.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
	static unsigned char mem[8192];
	exq_image *img = exq_image_new();
	unsigned char b[4];
	memcpy(mem + 4096, "exq!", 4);
	if (exq_image_open_mem(img, mem, sizeof mem) != EXQ_OK) return 1;
	if (exq_read_phys(img, 4096, b, 4, NULL) != EXQ_OK || memcmp(b, "exq!", 4)) return 2;
	printf("%s %s\n", exq_version(), exq_image_get_info(img)->format);
	exq_image_free(img);
	return 0;
}
C
PCDIR="$D/root/usr/lib/pkgconfig"
cflags=$(PKG_CONFIG_PATH=$PCDIR PKG_CONFIG_SYSROOT_DIR="$D/root" pkg-config --cflags exq)
libs=$(PKG_CONFIG_PATH=$PCDIR PKG_CONFIG_SYSROOT_DIR="$D/root" pkg-config --libs exq)
if cc $cflags -o "$D/use" "$D/use.c" $libs 2> "$D/cc.log"; then
	ok "a program builds with pkg-config --cflags/--libs exq"
	out=$(LD_LIBRARY_PATH="$D/root/usr/lib" "$D/use")
	[ "$out" = "0.1.0 raw" ] && ok "and runs against the installed libexq.so.0 ($out)" || nok "consumer printed '$out'"
else
	nok "consumer build"; cat "$D/cc.log"
fi
if make -s uninstall BUILD="$BUILD" WITH_KDUMPFILE=$KD DESTDIR="$D/root" PREFIX=/usr > "$D/log" 2>&1 && [ ! -e "$D/root/usr/lib/libexq.so.0" ]; then
	ok "make uninstall removes the files"
else
	nok "make uninstall"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
