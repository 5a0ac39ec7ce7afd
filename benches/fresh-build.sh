#!/usr/bin/env bash
# Benchmark (not a test), issue 15 goal 5: the README's first command on a fresh machine.
# Clones REV (default HEAD) into a temporary directory and runs its scripts/demo.sh there as a
# new user would: a new HOME, so an empty cargo registry, pip cache, venv and build dirs. The
# toolchain (rustup), its targets and the Debian packages are this machine's; on a machine
# without them, apt and rustup add about 20 s before the build. Every rustc runs under a timer
# (RUSTC_WRAPPER). Prints the wall time against the 15-minute goal, the phases before, during
# and after the compile, the CPU, and the compile's CPU by crate group. About 18 minutes on 2
# cores; it keeps both busy, so run nothing else beside it.
# Whole runs of the same tree differ by about 4 % of rustc CPU on one machine, more than most
# single changes save. FRESH_BUILD_TIMES=FILE keeps a run's rustc timings (epoch start, user,
# sys, wall, crate); `--compare BEFORE AFTER` prints two such files' CPU for each crate that
# moved by more than 1 s, then the totals of all crates.
# Usage: benches/fresh-build.sh [REV]
#        benches/fresh-build.sh --compare BEFORE AFTER
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --compare ]; then
  [ $# -eq 3 ] || { echo "usage: $0 --compare BEFORE AFTER" >&2; exit 2; }
  # Lines that are not five fields (a rustc that failed adds one) are not timings.
  awk 'NF == 5 { cpu[$5, FILENAME == ARGV[1]] += $2 + $3; seen[$5] = 1 }
    END {
      for (c in seen) {
        b = cpu[c, 1]; a = cpu[c, 0]; tb += b; ta += a
        if (b - a > 1 || a - b > 1) printf "%8.1f %8.1f %+7.1f  %s\n", b, a, a - b, c | "sort -k3 -n"
      }
      close("sort -k3 -n")
      printf "%8.1f %8.1f %+7.1f  all rustc (CPU-s: before, after, change)\n", tb, ta, ta - tb
    }' "$2" "$3"
  exit 0
fi
rev=$(git -C "$root" rev-parse --short "${1:-HEAD}")
goal_s=900

work=$(mktemp -d)
trap 'if [ -n "${FRESH_BUILD_TIMES:-}" ] && [ -f "${times:-}" ]; then cp "$times" "$FRESH_BUILD_TIMES"; fi; rm -rf "$work"' EXIT
git clone -q "$root" "$work/main"
git -C "$work/main" checkout -q "$rev"
mkdir "$work/home"
times="$work/rustc-times"

# One line per rustc: start (epoch s), user, sys and wall s, crate name.
cat >"$work/rustc-timer" <<'EOF'
#!/usr/bin/env bash
rustc=$1
shift
name= prev=
for arg in "$@"; do
  [ "$prev" = --crate-name ] && name=$arg
  prev=$arg
done
[ -n "$name" ] || exec "$rustc" "$@"
exec /usr/bin/time -a -o "$RUSTC_TIMES" -f "$(date +%s.%N) %U %S %e $name" "$rustc" "$@"
EOF
chmod +x "$work/rustc-timer"

echo "fresh build of $rev: scripts/demo.sh in a clean clone with a new HOME ($(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1))" >&2
start=$(date +%s.%N)
rc=0
(
  cd "$work/main"
  export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}"
  export HOME="$work/home" RUSTC_WRAPPER="$work/rustc-timer" RUSTC_TIMES="$times"
  exec /usr/bin/time -o "$work/demo-time" -f "%U %S" scripts/demo.sh
) >"$work/demo.log" 2>&1 || rc=$?
end=$(date +%s.%N)
if [ "$rc" -ne 0 ]; then
  tail -30 "$work/demo.log" >&2
  echo "error: scripts/demo.sh of $rev failed ($rc)" >&2
  exit 1
fi

awk -v start="$start" -v end="$end" -v goal="$goal_s" -v cpu="$(cat "$work/demo-time")" '
function mmss(s) { return s < 60 ? sprintf("%.1f s", s) : sprintf("%dm %02ds", int(s / 60), int(s % 60 + 0.5)) }
function group(c) {
  if (c ~ /^aws_sdk_/) return "AWS SDK clients"
  if (c ~ /^aws_/ && c !~ /^aws_lc/) return "AWS SDK runtime (smithy, config, sigv4)"
  if (c ~ /^(wasmtime|cranelift|pulley|wasmparser|wasm_|wasmprinter|wit_|wasi_)/) return "wasmtime, cranelift, Wasm tools"
  if (c == "wxrun") return "wxrun"
  if (c ~ /^(wxinfra|spin_bundle|registry_auth)$/) return "wxinfra"
  if (c ~ /^(mysql|redis|rumqttc|tokio_postgres|postgres|deadpool|rusqlite|libsqlite3_sys)/) return "database and broker clients"
  return "everything else"
}
{
  c = $2 + $3; total += c; by[group($5)] += c; crate[$5] += c
  if (first == "" || $1 < first) first = $1
  if ($1 + $4 > last) last = $1 + $4
}
END {
  split(cpu, u, " "); all = u[1] + u[2]; wall = end - start
  printf "demo first run      %s   goal %s   ratio %.2f\n", mmss(wall), mmss(goal), wall / goal
  printf "  before compiling  %s   (tools, the first rustc)\n", mmss(first - start)
  printf "  compiling         %s   (first rustc start to last rustc end)\n", mmss(last - first)
  printf "  after compiling   %s   (validate, plan, apply, destroy)\n", mmss(end - last)
  printf "CPU (user + sys)    %s   %.2f cores on average over the run\n", mmss(all), all / wall
  printf "  rustc             %s   %.0f CPU-s in %d runs; the rest is C in build scripts, pip, componentize-py, the demo\n", mmss(total), total, NR
  printf "rustc CPU by group\n"
  for (g in by) printf "  %7.0f s  %4.1f%%  %s\n", by[g], 100 * by[g] / total, g | "sort -rn"
  close("sort -rn")
  printf "largest crates\n"
  for (k in crate) printf "  %7.1f s  %s\n", crate[k], k | "sort -rn | head -12"
  close("sort -rn | head -12")
}' "$times"
