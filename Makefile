# SPDX-License-Identifier: MIT
# exq — plain GNU make. `make help` lists the targets.
#
#   make deps        install missing Debian packages (apt-get; quick when none are)
#   make / make all  library (static + shared), CLI, test programs
#   make test        deps, build, unit tests + CLI golden tests (quick)
#   make test-full   the same with every world x container x command (CI),
#                    then make test-nokdumpfile
#   make test-nokdumpfile  the quick tests of a WITH_KDUMPFILE=0 build in
#                    build-nokd/ (ELF cores and kdump files without it)
#   make check       the same tests under ASan+UBSan in build-check/
#   make demo        deps, build, run exq on a bundled fixture
#   make bench       benchmarks: writes tests/bench/RESULTS.md (not in make test)
#   make fuzz        libFuzzer targets (clang-14) over tests/fuzz/corpus,
#                    FUZZ_TIME seconds each, in build-fuzz/
#   make install     PREFIX=/usr/local DESTDIR=  (header, libs, exq.pc, CLI,
#                    exq(1), the exq/1 JSON Schema, LICENSE and README)

PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
PKGDIR ?= $(LIBDIR)/pkgconfig
DATADIR ?= $(PREFIX)/share
DOCDIR ?= $(DATADIR)/doc/exq
MANDIR ?= $(DATADIR)/man

VERSION := 0.1.0
SOMAJOR := 0

BUILD ?= build
SAN ?= 0
WITH_KDUMPFILE ?= 1

CC ?= cc
PKG_CONFIG ?= pkg-config
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Werror
OPT ?= -O2 -g
CFLAGS ?=
CPPFLAGS_ALL := -Iinclude -Ilib -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE
CFLAGS_ALL := -std=c11 $(OPT) $(WARN) $(CFLAGS)
LDFLAGS ?=

ifeq ($(SAN),1)
CFLAGS_ALL += -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

ZLIB_CFLAGS := $(shell $(PKG_CONFIG) --cflags zlib 2>/dev/null)
ZLIB_LIBS := $(shell $(PKG_CONFIG) --libs zlib 2>/dev/null || echo -lz)
JSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
JSON_LIBS := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
ifeq ($(WITH_KDUMPFILE),1)
KDUMP_CFLAGS := $(shell $(PKG_CONFIG) --cflags libkdumpfile 2>/dev/null) -DEXQ_WITH_KDUMPFILE=1
# pkg-config does not add libaddrxlat (DESIGN §5): list both.
KDUMP_LIBS := $(shell $(PKG_CONFIG) --libs libkdumpfile 2>/dev/null || echo -lkdumpfile) -laddrxlat
else
KDUMP_CFLAGS := -DEXQ_WITH_KDUMPFILE=0
KDUMP_LIBS :=
endif

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TESTLIB_SRC := $(sort $(wildcard tests/unit/tlib_*.c))
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/%.o)
TOOL_SRC := $(sort $(filter-out tests/tools/failalloc.c,$(wildcard tests/tools/*.c)))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%) $(BUILD)/tools/failalloc.so
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

STATIC := $(BUILD)/libexq.a
SHARED := $(BUILD)/libexq.so.$(VERSION)
SONAME := libexq.so.$(SOMAJOR)
CLI := $(BUILD)/exq

# --as-needed: libexq loads libkdumpfile itself (dlopen) on the first page
# that needs it, so exq and libexq.so do not pull it in at start-up; the
# tests that call it directly (the oracle) still link it.
LIB_LIBS := -Wl,--as-needed $(ZLIB_LIBS) $(KDUMP_LIBS) $(if $(filter 1,$(WITH_KDUMPFILE)),-ldl)

.PHONY: all lib cli tests tools test test-full test-nokdumpfile check demo deps bench install uninstall clean help
.DEFAULT_GOAL := all
.SECONDARY:

all: lib cli tests tools

lib: $(STATIC) $(SHARED)
cli: $(CLI)
tests: $(TEST_BIN)
tools: $(TOOL_BIN)

# Objects depend on a record of the flags they were built with, so that a
# build directory reused with other flags (WITH_KDUMPFILE, CC, SAN, CFLAGS)
# is rebuilt instead of mixing objects.
FLAGS_LINE := $(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(KDUMP_CFLAGS) | $(LDFLAGS) | $(LIB_LIBS)
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FLAGS_LINE)' ]; then \
		printf '%s\n' '$(FLAGS_LINE)' > $@; fi
.PHONY: FORCE
FORCE:

$(BUILD)/lib/%.o: lib/%.c lib/exq_int.h include/exq.h $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -DEXQ_BUILDING $(ZLIB_CFLAGS) $(KDUMP_CFLAGS) $(CFLAGS_ALL) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/cli/%.o: cli/%.c $(wildcard cli/*.h) include/exq.h $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(JSON_CFLAGS) $(filter -DEXQ_WITH_KDUMPFILE%,$(KDUMP_CFLAGS)) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c $(wildcard tests/unit/*.h tests/fuzz/*.h) lib/exq_int.h include/exq.h $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -Itests/unit $(CMOCKA_CFLAGS) $(KDUMP_CFLAGS) $(ZLIB_CFLAGS) $(CFLAGS_ALL) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ) lib/exq.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/exq.map -Wl,--no-undefined \
		$(LDFLAGS) -o $@ $(LIB_OBJ) $(LIB_LIBS)
	ln -sf libexq.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libexq.so

$(CLI): $(CLI_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(JSON_LIBS) $(LIB_LIBS)

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(TESTLIB_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $< $(TESTLIB_OBJ) $(STATIC) $(CMOCKA_LIBS) $(LIB_LIBS)

# test_fmt_kdump writes lzo, snappy and zstd pages (the compressions exq
# leaves to libkdumpfile): libkdumpfile-dev brings their -dev packages.
ifeq ($(WITH_KDUMPFILE),1)
KDUMP_TEST_LIBS := $(shell $(PKG_CONFIG) --libs lzo2 snappy libzstd 2>/dev/null || echo -llzo2 -lsnappy -lzstd)
$(BUILD)/tests/test_fmt_kdump: $(BUILD)/tests/unit/test_fmt_kdump.o $(TESTLIB_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $< $(TESTLIB_OBJ) $(STATIC) $(CMOCKA_LIBS) $(LIB_LIBS) $(KDUMP_TEST_LIBS)
endif

$(BUILD)/tools/%: tests/tools/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(ZLIB_CFLAGS) $(JSON_CFLAGS) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $< $(STATIC) $(JSON_LIBS) $(LIB_LIBS)

# The out-of-memory shim (LD_PRELOAD; tests/golden/nomem.sh): no sanitizer
# flags, whatever the build (their runtime owns malloc).
$(BUILD)/tools/failalloc.so: tests/tools/failalloc.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -fPIC -shared -o $@ $<

$(BUILD)/bench/%: tests/bench/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(ZLIB_CFLAGS) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $< $(STATIC) $(LIB_LIBS)

# The test targets install what is missing first, then re-enter make so that
# pkg-config sees the freshly installed packages.
deps:
	@sh scripts/deps.sh

# Suites run TEST_JOBS at a time: `make -j2 test` runs two (the -j of the
# command line; 1 without it).
TEST_JOBS ?= $(or $(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS))),1)

test:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@TEST_JOBS=$(TEST_JOBS) BUILD=$(BUILD) sh tests/run.sh

# The whole world x container x command matrix one by one (tests/golden/
# worlds.sh); run by .ci/run. `make test` checks the same worlds and
# containers in a few processes (and .gz once per container kind).
# Then the quick tests of a build without libkdumpfile, which reads ELF
# cores and kdump files too (only lzo/snappy/zstd pages need it).
test-full:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@TEST_JOBS=$(TEST_JOBS) EXQ_TEST_FULL=1 BUILD=$(BUILD) sh tests/run.sh
	@$(MAKE) --no-print-directory test-nokdumpfile

test-nokdumpfile:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory BUILD=build-nokd WITH_KDUMPFILE=0 all
	@TEST_JOBS=$(TEST_JOBS) BUILD=build-nokd sh tests/run.sh

check:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory BUILD=build-check SAN=1 OPT="-O1 -g" all
	@TEST_JOBS=$(TEST_JOBS) BUILD=build-check SAN=1 sh tests/run.sh

demo:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh $(BUILD)

bench:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@BUILD=$(BUILD) sh tests/bench/run.sh

install: lib cli
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGDIR)
	install -m 644 include/exq.h $(DESTDIR)$(INCDIR)/exq.h
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libexq.a
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libexq.so.$(VERSION)
	ln -sf libexq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libexq.so
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/exq
	install -d $(DESTDIR)$(DOCDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DATADIR)/exq
	install -m 644 LICENSE README.md $(DESTDIR)$(DOCDIR)/
	install -m 644 doc/exq.1 $(DESTDIR)$(MANDIR)/man1/exq.1
	install -m 644 doc/exq-1.schema.json $(DESTDIR)$(DATADIR)/exq/exq-1.schema.json
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' -e 's|@PRIVLIBS@|$(LIB_LIBS)|' lib/exq.pc.in \
		> $(DESTDIR)$(PKGDIR)/exq.pc

uninstall:
	rm -f $(DESTDIR)$(INCDIR)/exq.h $(DESTDIR)$(LIBDIR)/libexq.a \
		$(DESTDIR)$(LIBDIR)/libexq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
		$(DESTDIR)$(LIBDIR)/libexq.so $(DESTDIR)$(BINDIR)/exq $(DESTDIR)$(PKGDIR)/exq.pc \
		$(DESTDIR)$(DOCDIR)/LICENSE $(DESTDIR)$(DOCDIR)/README.md \
		$(DESTDIR)$(MANDIR)/man1/exq.1 $(DESTDIR)$(DATADIR)/exq/exq-1.schema.json
	-rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DATADIR)/exq 2> /dev/null

clean:
	rm -rf build build-check build-fuzz build-nokd

help:
	@sed -n '3,/^[^#]/{/^#/p}' Makefile | sed 's/^# \{0,1\}//'

# mkwin includes the world builder (tests/unit/tlib_win.c) as source.
$(BUILD)/tools/mkwin: $(wildcard tests/unit/tlib_win*.c tests/unit/tlib_win*.h)
# mkbad (the malformed-input corpus) includes it and the dump builders.
$(BUILD)/tools/mkbad: $(wildcard tests/unit/tlib_win*.c tests/unit/tlib_win*.h) tests/unit/tlib_dump.c
# bench_xlat includes the page-table builder and, for it, the dump builders.
$(BUILD)/bench/bench_xlat: $(wildcard tests/unit/tlib*.c tests/unit/tlib*.h)

# ------------------------------------------------------------ fuzzing
# `make fuzz FUZZ_TIME=s [FUZZ_TARGETS="open pe"]`: clang-14 + libFuzzer,
# ASan+UBSan, in build-fuzz/, with libkdumpfile like the default build
# (FUZZ_KDUMPFILE=0 leaves it out: the ELF and kdump readers are still
# fuzzed, lzo/snappy/zstd kdump pages then fail with DEP). Only this path needs
# clang; libkdumpfile itself is not instrumented. The entry code of each target (tests/fuzz/fuzz_*.c)
# is also linked into test_regress, which replays the corpus and every
# input that once crashed (tests/fuzz/regress/) in `make test`.
FUZZ_CC ?= clang-14
FUZZ_KDUMPFILE ?= $(WITH_KDUMPFILE)
FUZZ_TIME ?= 60
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/fuzz/fuzz_*.c) tests/fuzz/fworld.c tests/fuzz/fimage.c)
FUZZ_HELP_OBJ := $(patsubst %.c,$(BUILD)/%.o,tests/fuzz/fworld.c tests/fuzz/fimage.c tests/unit/tlib_win.c \
	tests/unit/tlib_win_queues.c \
	tests/unit/tlib_dump.c)
.PHONY: fuzz fuzz-bins fuzz-corpus

fuzz:
	@sh scripts/deps.sh --fuzz
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=$(FUZZ_CC) WITH_KDUMPFILE=$(FUZZ_KDUMPFILE) \
		OPT="-O1 -g" CFLAGS="-DEXQ_LIBFUZZER -fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
		LDFLAGS="$(FUZZ_SAN)" FUZZ_TARGETS="$(FUZZ_TARGETS)" fuzz-bins
	@sh tests/fuzz/run.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_HELP_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIB_LIBS)

# Regenerate the seed corpora (tests/fuzz/corpus/) from the generators.
# The vmcore seeds are tests/fuzz/vmcore.spec written by mkfixture as ELF
# cores, kdump and flattened kdump, each behind a control byte (fuzz.h).
fuzz-corpus: $(BUILD)/fuzz-mkseeds $(BUILD)/tools/mkfixture
	$(BUILD)/fuzz-mkseeds tests/fuzz/corpus
	sh tests/fuzz/vmseeds.sh $(BUILD)/tools/mkfixture tests/fuzz/corpus/vmcore

$(BUILD)/fuzz-mkseeds: $(BUILD)/tests/fuzz/mkseeds.o $(FUZZ_OBJ) $(TESTLIB_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIB_LIBS)

$(BUILD)/tests/test_regress: $(BUILD)/tests/unit/test_regress.o $(FUZZ_OBJ) $(TESTLIB_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIB_LIBS)
