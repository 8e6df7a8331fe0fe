#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter: pyenv's (through .python-version) first,
# then python3.10 on PATH. Rasa 3.6 does not install on 3.11 or newer.
set -u
is_310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }
if command -v pyenv >/dev/null 2>&1; then
  candidate=$(pyenv which python3.10 2>/dev/null) && is_310 "$candidate" && { echo "$candidate"; exit 0; }
fi
for candidate in python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
  path=$(command -v "$candidate" 2>/dev/null) && is_310 "$path" && { echo "$path"; exit 0; }
done
echo "找不到 Python 3.10（Rasa 3.6 只支持 3.10）。请安装：pyenv install 3.10，或用系统包管理器安装 python3.10，然后重试。" >&2
echo "Python 3.10 not found (Rasa 3.6 needs 3.10): install it with pyenv or your package manager, then retry." >&2
exit 1
