#!/usr/bin/env bash
# Sets up what the tests need (scripts/setup.sh --test) and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check nounlens tests
exec .venv/bin/python -m pytest -q "$@"
