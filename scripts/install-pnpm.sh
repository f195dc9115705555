#!/usr/bin/env bash
# Installs the pinned pnpm (package.json "packageManager") when it is not already on PATH.
set -eu
want=12.4.2
if ! command -v pnpm >/dev/null || [ "$(pnpm --version)" != "$want" ]; then
  echo "installing pnpm $want"
  npm install -g --silent "pnpm@$want" >/dev/null 2>&1 || corepack prepare "pnpm@$want" --activate
fi
