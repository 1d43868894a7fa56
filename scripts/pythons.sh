#!/usr/bin/env bash
# The supported Python interpreters on this machine, newest first, one path a line:
# for each of 3.14, 3.13, 3.12, 3.11, `python3.X` on PATH, else pyenv's newest 3.X.*
# ($PYENV_ROOT, default ~/.pyenv), else /usr/bin or /usr/local/bin. A candidate counts
# only if it runs, is that version and can make a venv (pyenv's shims for versions
# not selected, and Debian's python3.X without python3.X-venv, do not count).
#
#   scripts/pythons.sh            the paths found
#   scripts/pythons.sh --missing  the supported versions not found
set -uo pipefail

SUPPORTED="3.14 3.13 3.12 3.11"
PYENV_DIR="${PYENV_ROOT:-$HOME/.pyenv}"

usable() {  # usable PATH X.Y
    [ -n "$1" ] && [ -x "$1" ] || return 1
    "$1" -c "import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != ($2,))" \
        >/dev/null 2>&1 </dev/null
}

find_one() {  # find_one X.Y: print the first usable interpreter of that version
    local candidate
    for candidate in "$(command -v "python$1" 2>/dev/null)" \
        $(ls -d "$PYENV_DIR"/versions/"$1".*/bin/"python$1" 2>/dev/null | sort -rV) \
        "/usr/bin/python$1" "/usr/local/bin/python$1"; do
        if usable "$candidate" "${1/./, }"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

for version in $SUPPORTED; do
    if [ "${1:-}" = --missing ]; then
        find_one "$version" >/dev/null || echo "$version"
    else
        find_one "$version"
    fi
done
exit 0
