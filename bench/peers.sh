#!/usr/bin/env bash
# Measures W1/W2/W3 for tintype, libvips and Pillow on one core, on the same generated inputs.
#   usage: bench/peers.sh [ITERATIONS]        (from the repository root)
# Needs: Debian libvips42 (or libvips-tools), and from PyPI pyvips and pillow==13.0.0.
#   apt-get install -y libvips-tools && pip install pyvips pillow==13.0.0
# PYTHON names the interpreter that has them (default python3), e.g. a venv's bin/python.
# Inputs are made from the public corpus (shared/corpus/build.sh) by the bench_inputs example.
set -euo pipefail
n=${1:-10}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
dir=$target/bench-inputs
cd "$root"
cargo build --release -p image-engine --example bench_inputs
bin=$target/release/examples/bench_inputs
"$bin" "$dir" >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# One core for everyone: the engine never spawns threads of its own; libvips is told the same.
for w in W1 W2 W3; do taskset -c 0 "$bin" "$dir" run "$w" "$n" | tail -1; done
VIPS_CONCURRENCY=1 OMP_NUM_THREADS=1 taskset -c 0 "${PYTHON:-python3}" "$root/bench/peers.py" "$dir" "$n"
# Peak memory of one W1 and one W2 job in a fresh process.
for w in W1 W2; do
  /usr/bin/time -f "tintype $w peak RSS: %M KiB" taskset -c 0 "$bin" "$dir" run "$w" 1 >/dev/null
done
