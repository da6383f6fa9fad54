#!/usr/bin/env bash
# Run a benchmark from tests/bench/, installing what it needs first (the project, and Debian's
# wrk for the HTTP benchmarks). Usage: scripts/bench.sh public [--seconds 20 …]
#   names: public, console, dashboard, find, events, labels, kde_export, recall_impact, validation (tests/bench/bench_<name>.py)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_venv.sh
source scripts/_venv.sh
install_project test
TRACE_SYSTEM_PACKAGES="wrk" install_system_packages
name=${1:?usage: scripts/bench.sh <name> [args…]}
shift
exec .venv/bin/python "tests/bench/bench_${name}.py" "$@"
