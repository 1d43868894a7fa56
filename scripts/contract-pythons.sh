#!/usr/bin/env bash
# The store's contract tests (the modules in tests/cluster_support.py BOTH_STORES, on
# the LevelDB store) on every supported Python found (scripts/pythons.sh) other than
# the one of .venv, where `make test` runs the whole suite. Each gets its own venv,
# .venv-py3.X, set up once per pyproject.toml. Every LevelDB binding installed there
# is tried (LEVELSTREAM_LEVELDB_DRIVER): on 3.12 both plyvel and plyvel-next install,
# so plyvel-next is also run under 3.12. Says which supported versions are absent.
set -euo pipefail
cd "$(dirname "$0")/.."

version_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

main_version=$(version_of .venv/bin/python)
modules=$(.venv/bin/python -c 'from tests.cluster_support import BOTH_STORES as m
print(" ".join(f"tests/{name}.py" for name in sorted(m)))')
sum=$(cksum <pyproject.toml | cut -d' ' -f1)
plyvel_next=$(grep -o 'plyvel-next==[0-9.]*' pyproject.toml)
missing=$(scripts/pythons.sh --missing | tr '\n' ' ')
if [ -n "$missing" ]; then
    echo "contract tests: no usable interpreter for Python ${missing}(not run there)"
fi
echo "contract tests: Python $main_version is .venv's (the whole suite runs there)"

status=0
for python in $(scripts/pythons.sh); do
    version=$(version_of "$python")
    [ "$version" = "$main_version" ] && continue
    venv=".venv-py$version"
    if [ ! -f "$venv/.installed-$sum" ]; then
        echo "contract tests: setting up $venv from $python"
        rm -rf "$venv"
        "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install -q --upgrade pip
        "$venv/bin/python" -m pip install -q -e '.[dev]'
        if [ "$version" = 3.12 ]; then "$venv/bin/python" -m pip install -q "$plyvel_next"; fi
        touch "$venv/.installed-$sum"
    fi
    for driver in plyvel plyvel_next; do
        "$venv/bin/python" -c "import $driver" 2>/dev/null || continue
        echo "contract tests: Python $version with $driver"
        export LEVELSTREAM_LEVELDB_DRIVER=$driver
        # The one import place honours the choice (else this run would prove nothing).
        "$venv/bin/python" -c "from app.store.leveldb_driver import plyvel
assert plyvel.__name__ == '$driver', plyvel.__name__"
        # shellcheck disable=SC2086
        "$venv/bin/python" -m pytest -q -p no:cacheprovider $modules -k "not postgres" || status=1
        unset LEVELSTREAM_LEVELDB_DRIVER
    done
done
exit $status
