#!/usr/bin/env bash
# Prints a working interpreter for the wanted minor version (e.g. 3.12), else python3.
# pyenv shims exist for every installed version but fail unless that version is selected,
# so each candidate is actually run.
want="${1:-3.12}"
for candidate in "python$want" "$HOME"/.pyenv/versions/"$want"*/bin/"python$want" "/usr/bin/python$want" "/usr/local/bin/python$want"; do
  [ -n "$candidate" ] || continue
  if "$candidate" -c 'import sys' >/dev/null 2>&1; then
    command -v "$candidate" 2>/dev/null || echo "$candidate"
    exit 0
  fi
done
command -v python3
