#!/usr/bin/env bash
# Install everything the tests need and run the whole suite, ruff and mypy included.
# TRACE_TEST_DATABASE_URL picks the database (default: a fresh SQLite file), e.g.
#   TRACE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_venv.sh
source scripts/_venv.sh
install_project test
install_system_packages
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
