#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench: generates the large inputs on the fly in $TMPDIR (or /tmp),
# times exq against cat / dd bs=1M / zcat on the same files in the same run,
# cold (pages evicted with posix_fadvise DONTNEED) and warm, and writes
# tests/bench/RESULTS.md. Not part of `make test`. Everything it writes in
# the temporary directory is removed at the end.
#
# Knobs (environment): BENCH_RUNS (5), BENCH_RAW_MIB (4096: the raw image),
# BENCH_BITMAP_GIB (16: the fragmented bitmap dump's machine),
# BENCH_GZ_MIB (1024: the gzip'd image), BENCH_XLAT_RUNS (5: bench_xlat
# processes, reported as their median), BENCH_BASELINE (an older exq
# binary to time beside this one, e.g. one built from the parent branch),
# BENCH_OUT (tests/bench/RESULTS.md).
set -u
BUILD=${BUILD:-build}
BUILD=$(cd "$BUILD" && pwd) || exit 1
EXQ=$BUILD/exq
TOOLS=$BUILD/tools
RUNS=${BENCH_RUNS:-5}
RAW_MIB=${BENCH_RAW_MIB:-4096}
BM_GIB=${BENCH_BITMAP_GIB:-16}
GZ_MIB=${BENCH_GZ_MIB:-1024}
XLAT_RUNS=${BENCH_XLAT_RUNS:-5}
BASE=${BENCH_BASELINE:-}
OUT=${BENCH_OUT:-tests/bench/RESULTS.md}
T=$(mktemp -d "${TMPDIR:-/tmp}/exq-bench.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
R=$T/results
: > "$R"

say() { echo "bench: $*" >&2; }

# measure NAME MODE CMD...: MODE cold|warm; RUNS timed runs (warm: after
# one untimed run; cold: the input files evicted before each run). Appends
# "NAME|MODE|median ms|max RSS KiB|command" to $R.
measure() {
	name=$1 mode=$2
	shift 2
	: > "$T/ms"
	rss=0
	[ "$mode" = warm ] && "$@" > /dev/null 2>&1
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		[ "$mode" = cold ] && "$TOOLS/mkbench" evict $FILES
		"$TOOLS/rusage" -t 300 -o "$T/ru" -- "$@" > /dev/null 2> "$T/err"
		rc=$?
		if [ "$rc" -gt 1 ]; then
			say "$name: exit $rc: $(head -n 2 "$T/err")"
			exit 1
		fi
		ms=$(sed 's/.*wall_ms=\([0-9]*\).*/\1/' "$T/ru")
		kb=$(sed 's/maxrss_kb=\([0-9]*\).*/\1/' "$T/ru")
		echo "$ms" >> "$T/ms"
		[ "$kb" -gt "$rss" ] && rss=$kb
		i=$((i + 1))
	done
	med=$(sort -n "$T/ms" | sed -n "$(((RUNS + 1) / 2))p")
	cmd=$(echo "$*" | sed -e "s|$T/||g" -e "s|$BUILD/|build/|g")
	echo "$name|$mode|$med|$rss|$cmd" >> "$R"
	say "$name $mode: $med ms (max RSS $rss KiB)"
}

ms_of() { awk -F'|' -v n="$1" -v m="$2" '$1 == n && $2 == m { print $3 }' "$R"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# ---------------------------------------------------------------- inputs
say "generating inputs in $T"
"$TOOLS/mkwin" --seed 7 "$T" w7 > /dev/null || exit 1
mkdir -p "$T/fx"
(cd "$T" && "$TOOLS/mkfixture" w7.spec fx > /dev/null) || exit 1
"$TOOLS/mkbench" raw "$T/w7.raw" "$T/big.raw" "$RAW_MIB" || exit 1
"$TOOLS/mkbench" bitmap "$T/fx/w7.dmp32-bitmap" "$T/frag.dmp" "$BM_GIB" 32 \
	> "$T/frag.txt" || exit 1
"$TOOLS/mkbench" bitmap "$T/fx/w7.dmp32-bitmap" "$T/alt.dmp" "$BM_GIB" 1 \
	> "$T/alt.txt" || exit 1
cp "$T/w7.raw" "$T/gz.raw" && truncate -s "${GZ_MIB}M" "$T/gz.raw" &&
	gzip -1 -k "$T/gz.raw" || exit 1

# ------------------------------------------------------------------ cases
FILES=$T/big.raw
for mode in cold warm; do
	measure "cat raw" $mode cat "$T/big.raw"
	measure "dd raw" $mode dd if="$T/big.raw" of=/dev/null bs=1M
	measure "exq queues raw" $mode "$EXQ" queues "$T/big.raw"
	measure "exq scan raw" $mode "$EXQ" scan "$T/big.raw"
	[ -n "$BASE" ] && measure "baseline queues raw" $mode "$BASE" queues "$T/big.raw"
done
FILES=$T/frag.dmp
for mode in cold warm; do
	measure "exq queues bitmap" $mode "$EXQ" queues "$T/frag.dmp"
	[ -n "$BASE" ] && measure "baseline queues bitmap" $mode "$BASE" queues "$T/frag.dmp"
done
FILES=$T/alt.dmp
for mode in cold warm; do
	measure "exq queues bitmap-alt" $mode "$EXQ" queues "$T/alt.dmp"
	[ -n "$BASE" ] && measure "baseline queues bitmap-alt" $mode "$BASE" queues "$T/alt.dmp"
done
FILES="$T/fx/w7.dmp32-full $T/fx/w7.dmp32-kernel"
for k in dmp32-full dmp32-kernel; do
	measure "exq queues $k" warm "$EXQ" queues "$T/fx/w7.$k"
	[ -n "$BASE" ] && measure "baseline queues $k" warm "$BASE" queues "$T/fx/w7.$k"
done
FILES=$T/gz.raw.gz
for mode in cold warm; do
	measure "zcat gz" $mode zcat "$T/gz.raw.gz"
	measure "exq queues gz" $mode "$EXQ" queues "$T/gz.raw.gz"
done
# bench_xlat is memory-latency bound, and a shared machine's neighbours
# move one process's numbers by tens of %: XLAT_RUNS processes (each the
# median of 5 runs of every case), reported as their median [lowest-highest]
say "bench_xlat x $XLAT_RUNS"
: > "$T/xlat.all"
i=0
while [ "$i" -lt "$XLAT_RUNS" ]; do
	"$BUILD/bench/bench_xlat" >> "$T/xlat.all" || exit 1
	i=$((i + 1))
done
awk '{ k = $1 " " $2; if (!(k in n)) { order[++nk] = k; rest[k] = "" }
	v[k, ++n[k]] = $3; if (NF > 4) { r = $5; for (j = 6; j <= NF; j++) r = r " " $j; rest[k] = " " r } }
END { for (o = 1; o <= nk; o++) { k = order[o]; m = n[k]
	for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (v[k, b] < v[k, a]) { t = v[k, a]; v[k, a] = v[k, b]; v[k, b] = t }
	med = m % 2 ? v[k, (m + 1) / 2] : (v[k, m / 2] + v[k, m / 2 + 1]) / 2
	printf "%s %.1f M/s [%.1f-%.1f]%s\n", k, med, v[k, 1], v[k, m], rest[k] } }' \
	"$T/xlat.all" > "$T/xlat.txt"
say "bench_gzip"
"$BUILD/bench/bench_gzip" > "$T/gzip.txt" 2>&1 || exit 1

# ----------------------------------------------------------------- report
{
	echo "# Benchmark results"
	echo
	echo "Written by \`make bench\` (tests/bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'); rerun to"
	echo "replace. Times are medians of $RUNS runs (wall clock, from tests/tools/rusage), RSS the"
	echo "largest of them. Cold: the input's pages dropped from the page cache (posix_fadvise"
	echo "DONTNEED, tests/tools/mkbench evict) before each run; warm: after one untimed run."
	echo
	echo "## Machine"
	echo
	echo "- \`nproc\`: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "- $(uname -sr), $(cc --version | head -n 1), zlib $(pkg-config --modversion zlib 2>/dev/null)"
	echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: expect"
	echo "  +-30 % between runs)"
	echo
	echo "## Inputs"
	echo
	echo "- \`big.raw\`: ${RAW_MIB} MiB raw image: a generated Windows 7 PAE world (\`mkwin --seed 7\`,"
	echo "  32 MiB, DTB 0x185000) followed by non-zero filler (xorshift bytes); no DTB hint."
	echo "- \`frag.dmp\`: the world's PAGEDUMP bitmap dump grown to a ${BM_GIB} GiB machine with a"
	echo "  fragmented bitmap ($(cat "$T/frag.txt" | sed 's/.*: //'), 32 of every 64"
	echo "  pages above the world: $((BM_GIB * 262144 / 64)) runs; sparse data)."
	echo "- \`alt.dmp\`: the same with every other page stored above the world, the most"
	echo "  fragmented bitmap there is ($(cat "$T/alt.txt" | sed 's/.*: //'): about"
	echo "  $((BM_GIB * 262144 / 2)) runs of one page)."
	echo "- \`w7.dmp32-full\`, \`w7.dmp32-kernel\`: the world as mkfixture writes it."
	echo "- \`gz.raw.gz\`: the world followed by zeros up to ${GZ_MIB} MiB, \`gzip -1\`."
	echo
	echo "## Commands"
	echo
	echo "| case | mode | median ms | ratio | peak RSS KiB | command |"
	echo "|---|---|---|---|---|---|"
	while IFS='|' read -r name mode med rss cmd; do
		case $name in
		*" raw") ref=$(ms_of "cat raw" "$mode") ;;
		*" gz") ref=$(ms_of "zcat gz" "$mode") ;;
		*) ref= ;;
		esac
		case $name in
		"cat raw" | "zcat gz") r="1 (reference)" ;;
		"dd raw") r="$(ratio "$med" "$ref") x cat" ;;
		*" raw") r="$(ratio "$med" "$ref") x cat" ;;
		*" gz") r="$(ratio "$med" "$ref") x zcat" ;;
		*) r="-" ;;
		esac
		echo "| $name | $mode | $med | $r | $rss | \`$cmd\` |"
	done < "$R"
	echo
	echo "Per GiB (raw, warm): exq scan $(awk -v a="$(ms_of "exq scan raw" warm)" -v m="$RAW_MIB" 'BEGIN { printf "%.3f", a / 1000 / (m / 1024) }') s/GiB,"
	echo "exq queues $(awk -v a="$(ms_of "exq queues raw" warm)" -v m="$RAW_MIB" 'BEGIN { printf "%.3f", a / 1000 / (m / 1024) }') s/GiB."
	echo
	echo "## Translation (tests/bench/bench_xlat, $XLAT_RUNS processes: median [lowest-highest])"
	echo
	echo '```'
	cat "$T/xlat.txt"
	echo '```'
	echo
	echo "## gzip random access (tests/bench/bench_gzip, in process)"
	echo
	echo '```'
	cat "$T/gzip.txt"
	echo '```'
	if [ -f tests/bench/NOTES.md ]; then
		echo
		cat tests/bench/NOTES.md
	fi
} > "$OUT"
say "wrote $OUT"
