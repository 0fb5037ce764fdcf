# Shared settings of the project's scripts; sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Build outputs live outside the clone so fresh clones reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/serratus-target}"
GUEST_TARGET=wasm32-wasip2
GUEST_PROFILE=release-guest
GUEST_WASM="$CARGO_TARGET_DIR/$GUEST_TARGET/$GUEST_PROFILE/summary_guest.wasm"
SPIN_WASM="$CARGO_TARGET_DIR/$GUEST_TARGET/$GUEST_PROFILE/summary_spin.wasm"
HOST_BIN="$CARGO_TARGET_DIR/release/summary-uploader"
VENV="$ROOT/.venv"
# Tools the project installs for itself (s3s-fs), outside the clone.
TOOLS="${SERRATUS_TOOLS:-$HOME/.cache/serratus-tools}"
export S3S_FS="$TOOLS/bin/s3s-fs"
export SUMMARY_COMPONENT="$ROOT/bin/summary_guest.wasm"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
