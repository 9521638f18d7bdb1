#!/usr/bin/env bash
# The package stands alone: build a wheel from a clean clone of the committed tree, install it
# into a fresh plain venv (no system site-packages), and run `lowlight train lucent_sice` and
# `lowlight enhance` from a folder outside any checkout.
#
#   bash benchmarks/wheel_smoke.sh [WORKDIR]      # ~5 min (torch from pip's cache, one thread)
#
# Needs ../shared/data (SICE Part1, LOL eval15, the SCI samples) or LOWLIGHT_DATA=/path/to/data.
# Keep the log: bash benchmarks/wheel_smoke.sh | tee benchmarks/results/wheel_smoke/wheel_smoke.log
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
DATA="${LOWLIGHT_DATA:-$REPO/../shared/data}"
DATA="$(cd "$DATA" && pwd)"
WORK="${1:-$(mktemp -d /tmp/lowlight_wheel.XXXXXX)}"
TORCH="${TORCH:-torch==2.13.0}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONNOUSERSITE=1
unset PYTHONPATH
step() { printf '\n== %s\n' "$*"; }

step "clean clone of $(git -C "$REPO" rev-parse --short HEAD) into $WORK/src"
rm -rf "$WORK/src" "$WORK/dist" "$WORK/venv" "$WORK/run"
git clone -q "$REPO" "$WORK/src"
git -C "$WORK/src" log --oneline -1

step "fresh venv (plain: no system site-packages)"
python3 -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
"$PY" -c "import sys; assert sys.prefix != sys.base_prefix; print(sys.version.split()[0], sys.prefix)"
"$PY" -m pip install -q --upgrade pip

step "build the wheel"
"$PY" -m pip wheel -q --no-deps -w "$WORK/dist" "$WORK/src"
WHEEL="$(ls "$WORK"/dist/lowlight-*.whl)"
ls -l "$WHEEL"
"$PY" - "$WHEEL" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
need = ["lowlight/recipes/lucent_sice.yaml", "lowlight/pretrained/lucent_sice.safetensors",
        "lowlight/deploy/static/index.html"]
missing = [n for n in need if n not in names]
assert not missing, missing
assert any(n.endswith("licenses/LICENSE") or n.endswith("/LICENSE") for n in names), "no LICENSE"
print(f"{len(names)} files; recipes: {sorted(n.split('/')[-1] for n in names if '/recipes/' in n and n.endswith('.yaml'))}")
PY

step "install $TORCH and the wheel (+ the extras the lucent_sice recipe uses)"
"$PY" -m pip install -q "$TORCH"
"$PY" -m pip install -q "${WHEEL}[semantic,metrics]"

mkdir -p "$WORK/run" && cd "$WORK/run"
step "from $(pwd): which lowlight"
"$PY" -c "import lowlight, lowlight.recipes as r; print(lowlight.__file__); print(r.list_recipes())"
"$PY" -c "import lowlight; assert 'site-packages' in lowlight.__file__"

step "lowlight train lucent_sice --set train.steps=2"
"$WORK/venv/bin/lowlight" train lucent_sice --set train.steps=2 --set train.threads=1 \
  --set data.train.root="$DATA/sice_part1" --set data.val.root="$DATA/lol_v1/eval15" \
  --set train.out_dir=runs/lucent_smoke -q
ls runs/lucent_smoke/export/

step "lowlight enhance (lime, and the weights just trained)"
"$WORK/venv/bin/lowlight" enhance "$DATA/sci_samples/easy" -o out_lime --model lime -q
"$WORK/venv/bin/lowlight" enhance "$DATA/sci_samples/easy" -o out_lucent --model lucent \
  --weights runs/lucent_smoke/export/lucent_sice.safetensors -q
find out_lime out_lucent -type f | wc -l

step "OK: wheel $(basename "$WHEEL") trains and enhances outside the source tree"
