#!/usr/bin/env bash
# Set up ./.venv and run docent on 127.0.0.1:8000 with SQLite and index files under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/docent serve --host 127.0.0.1 --port 8000 --data-dir data "$@"
