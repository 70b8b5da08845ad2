# Sourced by scripts/demo and scripts/test: make .venv with Python 3.11+ and install the project.
# Usage: install_project EXTRAS   (e.g. "" or "test")
set -euo pipefail
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "This needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))." >&2
    exit 1
}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

install_project() {
    .venv/bin/python -m pip install --quiet --editable ".${1:+[$1]}"
}
