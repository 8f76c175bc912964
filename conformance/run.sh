#!/usr/bin/env bash
# Independent-peer conformance suites for Realmgate.
#
#   bash conformance/run.sh                 install deps if needed, then run both peers
#   bash conformance/run.sh --install-only  only install/verify the deps
#
# Needs (for the run, not for --install-only):
#   REALMGATE_URL             e.g. http://127.0.0.1:40123 (also the public URL/issuer base)
#   REALMGATE_ADMIN_USER      master-realm admin
#   REALMGATE_ADMIN_PASSWORD
#   REALMGATE_STORE           sqlite|postgres (informational)
#
# Installs its own dependencies (idempotent, quick when already installed):
#   conformance/.venv                      Python venv with conformance/python/requirements.txt
#   conformance/keycloak-admin/node_modules npm ci from package-lock.json
# Any install failure is fatal: the suites are never skipped.
#
# Runs `pytest -v conformance/python` and `node --test` on conformance/keycloak-admin/,
# both to completion, and exits non-zero if either failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PYDIR="$HERE/python"
NODEDIR="$HERE/keycloak-admin"

log() { printf '[conformance] %s\n' "$*" >&2; }
die() { printf '[conformance] FATAL: %s\n' "$*" >&2; exit 2; }

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

install_python() {
  local py="${PYTHON:-}"
  if [[ -z "$py" ]]; then
    for cand in python3 python; do
      if command -v "$cand" >/dev/null 2>&1; then py="$cand"; break; fi
    done
  fi
  [[ -n "$py" ]] || die "no python3 found on PATH (set PYTHON=/path/to/python3.10+)"
  "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "$py is $("$py" --version 2>&1); the pinned deps need Python >= 3.10"

  # (Re)create the venv if it is missing or broken (e.g. its base interpreter moved).
  if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "creating Python venv at $VENV"
    rm -rf "$VENV"
    "$py" -m venv "$VENV" \
      || die "'$py -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
  fi

  local want stamp="$VENV/.requirements.sha256"
  want="$(hash_of "$PYDIR/requirements.txt") $("$VENV/bin/python" -c 'import sys; print(sys.version)' | tr -d '\n' | sha256sum | cut -c1-16)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "Python deps up to date ($VENV)"
  else
    log "installing Python deps from $PYDIR/requirements.txt"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
      -r "$PYDIR/requirements.txt" \
      || die "pip install -r $PYDIR/requirements.txt failed"
    "$VENV/bin/python" -c 'import authlib, jwcrypto, requests, pytest' \
      || die "Python deps installed but not importable"
    printf '%s' "$want" >"$stamp"
  fi
}

install_node() {
  command -v node >/dev/null 2>&1 || die "node not found on PATH (need Node.js >= 18)"
  command -v npm >/dev/null 2>&1 || die "npm not found on PATH"
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' \
    || die "node $(node --version) is too old; need >= 18 (node:test, global fetch)"

  local want stamp="$NODEDIR/node_modules/.conformance-stamp"
  if [[ -f "$NODEDIR/package-lock.json" ]]; then
    want="$(hash_of "$NODEDIR/package.json" "$NODEDIR/package-lock.json") node-$(node --version)"
  else
    want="$(hash_of "$NODEDIR/package.json") node-$(node --version)"
  fi
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" \
        && -f "$NODEDIR/node_modules/@keycloak/keycloak-admin-client/package.json" ]]; then
    log "npm deps up to date ($NODEDIR/node_modules)"
    return
  fi
  log "installing npm deps in $NODEDIR"
  if [[ -f "$NODEDIR/package-lock.json" ]]; then
    (cd "$NODEDIR" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $NODEDIR"
  else
    (cd "$NODEDIR" && npm install --no-audit --no-fund --loglevel=error) || die "npm install failed in $NODEDIR"
  fi
  [[ -f "$NODEDIR/node_modules/@keycloak/keycloak-admin-client/package.json" ]] \
    || die "npm finished but @keycloak/keycloak-admin-client is not installed"
  printf '%s' "$want" >"$stamp"
}

install_only=0
case "${1:-}" in
  --install-only) install_only=1 ;;
  "") ;;
  *) die "unknown argument: $1 (usage: run.sh [--install-only])" ;;
esac

install_python
install_node
if [[ $install_only -eq 1 ]]; then
  log "dependencies installed"
  exit 0
fi

missing=()
for v in REALMGATE_URL REALMGATE_ADMIN_USER REALMGATE_ADMIN_PASSWORD; do
  [[ -n "${!v:-}" ]] || missing+=("$v")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  die "not set: ${missing[*]} (run via 'cargo xtask test', or export them; see conformance/README.md)"
fi
export REALMGATE_URL REALMGATE_ADMIN_USER REALMGATE_ADMIN_PASSWORD
export REALMGATE_STORE="${REALMGATE_STORE:-unknown}"
log "server: $REALMGATE_URL (store: $REALMGATE_STORE)"

py_rc=0
node_rc=0

log "=== Python peer: Authlib RP + jwcrypto (pytest) ==="
(
  cd "$PYDIR"
  PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" -m pytest -v -p no:cacheprovider "$PYDIR"
) || py_rc=$?

log "=== Node peer: @keycloak/keycloak-admin-client (node --test) ==="
# Test files are passed explicitly: `node --test <dir>` is not portable across Node majors.
shopt -s nullglob
node_tests=("$NODEDIR"/*.test.mjs)
shopt -u nullglob
[[ ${#node_tests[@]} -gt 0 ]] || die "no *.test.mjs files in $NODEDIR"
(
  cd "$NODEDIR"
  node --test "${node_tests[@]}"
) || node_rc=$?

log "python peer exit=$py_rc, node peer exit=$node_rc"
if [[ $py_rc -ne 0 || $node_rc -ne 0 ]]; then
  exit 1
fi
