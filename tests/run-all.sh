#!/usr/bin/env bash
# Runs every test of the project: lints, the guest programs' build, unit and end-to-end tests.
# This is the README's test command; .ci/run calls it after installing packages.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -q -- -D warnings
echo "== guest programs (resources/guest)"
make -s -C resources/guest
echo "== vmm (release, used by the end-to-end tests)"
cargo build --release -q -p vmm
echo "== cargo test"
cargo test --workspace
