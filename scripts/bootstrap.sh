#!/usr/bin/env bash
# Creates the virtualenv and installs the project with its dev tools. Idempotent.
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python 3.11 or newer is required (found: $("$python" --version 2>&1))" >&2
    exit 2
fi
if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -m venv "$venv" 2>/dev/null; then
        # Debian/Ubuntu split venv into its own package.
        echo "python3 -m venv failed; installing python3-venv" >&2
        if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv;
        else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv; fi
        rm -rf "$venv"
        "$python" -m venv "$venv"
    fi
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e ".[dev]"
