#!/usr/bin/env bash
# Quick start, command 2: install everything from scratch and run every test.
# Ends with the line `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools the tests drive for real: skopeo and podman (OCI clients), chromium (dashboard
# browser test), slapd (the LDAP directory the registry's LDAP auth is tested against), FUSE
# with fusepy for the system python (crashfs, the power-loss simulator of
# e2e/src/power-loss.e2e.test.ts); promtool (Debian's prometheus package, ~35 s to install)
# checks the alert rules.
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v skopeo >/dev/null || need+=(skopeo)
command -v chromium >/dev/null || need+=(chromium)
command -v podman >/dev/null || need+=(podman)
command -v slapd >/dev/null || need+=(slapd)
/usr/bin/python3 -c 'import fusepy' 2>/dev/null && command -v fusermount3 >/dev/null || need+=(python3-fusepy libfuse2 fuse3)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (apt)"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# turbo (pnpm build) would print its telemetry notice on a fresh machine.
export TURBO_TELEMETRY_DISABLED=1
bash scripts/install-pnpm.sh
bash scripts/ensure-services.sh
pnpm install --frozen-lockfile --reporter=silent
# The outbox's add-jobs script against the newest bullmq release (the pinned one is tested by
# `pnpm test`): a break is printed loudly but does not fail this run, because what ships is the
# pin, and an upstream release must not turn every unrelated change red (packages/outbox README).
set +e
node scripts/bullmq-latest/check.mjs
case $? in
  0) ;;
  1) echo "WARNING: the newest bullmq breaks the add-jobs contract (details above); do not bump the pin before fixing it" ;;
  *) echo "WARNING: the add-jobs contract was not checked against the newest bullmq (details above)" ;;
esac
set -e
# The chaos suite picks a random fault schedule unless given a seed; this command pins one so a
# run is repeatable (`BERTH_CHAOS_SEED=... pnpm test:chaos` explores others).
export BERTH_CHAOS_SEED="${BERTH_CHAOS_SEED:-12345}"
# What `pnpm test` runs, step by step: run through pnpm, a failing run would end with pnpm's
# ELIFECYCLE line instead of the runner's `N passed, N failed`.
pnpm typecheck
pnpm lint
promtool check rules deploy/prometheus/berth-alerts.yml
exec node scripts/run-tests.mjs --suite all
