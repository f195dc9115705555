#!/usr/bin/env bash
# Quick start, command 1: install, build and run the whole local stack on the example config.
set -euo pipefail
cd "$(dirname "$0")/.."
# turbo (pnpm build) would print its telemetry notice on a fresh machine.
export TURBO_TELEMETRY_DISABLED=1
bash scripts/install-pnpm.sh
if ! bash scripts/ensure-services.sh; then
  echo "Berth needs Redis and NATS on localhost; see the lines above, then run this again."
  exit 1
fi
pnpm install --frozen-lockfile --reporter=silent
pnpm build --output-logs=errors-only
exec node scripts/stack.mjs "$@"
