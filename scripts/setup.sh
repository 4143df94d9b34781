#!/usr/bin/env bash
# Sets nounlens up on a fresh Debian machine: Debian packages, .venv, Python packages, pillow-simd,
# WordNet laid out for nltk, and the cached noun-vector table. Re-running skips what is already done.
#   scripts/setup.sh           the product
#   scripts/setup.sh --test    the product plus what the tests need
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
say() { printf '[setup] %s\n' "$*"; }

# --- Debian packages: WordNet 3.0 data, and headers to build pillow-simd ---------------------------
APT_PKGS=(wordnet-base wordnet-sense-index libjpeg-dev zlib1g-dev libpng-dev libtiff-dev libwebp-dev)
# the UI's browser test drives Debian's chromium (Playwright's own browsers are never downloaded)
if [ $WITH_TEST = 1 ]; then APT_PKGS+=(chromium); fi
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  say "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- virtual environment and Python packages (only when pyproject.toml changed) -----------------
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || { say "creating .venv"; "$PY" -m venv .venv; }
VPY=.venv/bin/python
EXTRAS=""; [ $WITH_TEST = 1 ] && EXTRAS="[test]"
stamp=".venv/.nounlens-installed"
want="$(sha256sum pyproject.toml | cut -c1-16)$EXTRAS"
have="$(cat "$stamp" 2>/dev/null || true)"
# the test install is a superset: the product's set-up after the tests' needs nothing new
if [ "$have" != "$want" ] && [ "$have" != "${want}[test]" ]; then
  say "installing Python packages (torch from local disk)"
  $VPY -m pip install -q --upgrade pip
  $VPY -m pip install -q -e ".$EXTRAS"
  rm -f .venv/.pillow-simd
  echo "$want" > "$stamp"
fi

# --- pillow-simd in place of Pillow: after everything that pulls Pillow, with Pillow removed first ---
if [ ! -f .venv/.pillow-simd ]; then
  CC_FLAGS="cc"
  grep -qw avx2 /proc/cpuinfo && CC_FLAGS="cc -mavx2"
  say "building pillow-simd from source with CC='$CC_FLAGS' (about 75 s the first time)"
  $VPY -m pip uninstall -q -y pillow pillow-simd >/dev/null 2>&1 || true
  CC="$CC_FLAGS" $VPY -m pip install -q --no-binary pillow-simd pillow-simd
  printf '{"cc": "%s"}\n' "$CC_FLAGS" > .venv/.pillow-simd
fi

# --- WordNet for nltk, the ImageNet check, and the noun-vector cache ----------------------------
$VPY -m nounlens.cli.setup_data
say "ready: $ROOT/.venv/bin/nounlens"
