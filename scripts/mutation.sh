#!/usr/bin/env bash
# Mutation testing (mutmut) of the ledger, capture authorisation, the recall banner and gs1/,
# outside the test suite. Usage: scripts/mutation.sh [ledger capture recalls gs1] [--max-children N]
# Prints each target's score, its surviving mutants and the equivalent ones left out.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_venv.sh
source scripts/_venv.sh
install_project "test,mutation"
exec .venv/bin/python tests/bench/mutation.py "$@"
