#!/usr/bin/env bash
# Offline checks of the deployment files (make validate-deploy; CI's lint step runs it):
#   the Kubernetes manifests: `kubectl kustomize deploy/k8s`, then every resource (and the Secret template)
#   against the Kubernetes API schemas that kubernetes-validate bundles (--strict: unknown fields fail);
#   docker-compose.yml: against the compose-spec JSON schema (the one `docker compose` itself checks with,
#   as check-jsonschema ships it: unknown keys and wrong types fail), and `docker compose config -q` too
#   when the compose plugin is installed. Debian's docker-compose 1.29 is no use: it predates the spec's
#   top-level `name`. The structural rules of both are in tests/deploy/test_deploy_files.py (make test).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
validate="$(dirname "$PY")/kubernetes-validate"
check_jsonschema="$(dirname "$PY")/check-jsonschema"

if command -v kubectl >/dev/null 2>&1; then
    rendered="$(mktemp)"
    trap 'rm -f "$rendered"' EXIT
    kubectl kustomize deploy/k8s > "$rendered"
    "$validate" --strict --quiet "$rendered" deploy/k8s/secret.example.yaml
    echo "deploy/k8s: kustomize renders, every resource matches the Kubernetes schemas"
else
    echo "warning: kubectl not found: validating deploy/k8s's files one by one, without kustomize" >&2
    "$validate" --strict --quiet $(ls deploy/k8s/*.yaml | grep -v kustomization.yaml)
fi

"$check_jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
echo "docker-compose.yml: matches the compose-spec schema"

if docker compose version >/dev/null 2>&1; then
    # The services read .env (env_file): without one, check with the template, then remove it again.
    if [ ! -f .env ]; then
        cp .env.example .env
        trap 'rm -f "${rendered:-}" .env' EXIT
    fi
    POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-validate}" docker compose -f docker-compose.yml config -q
    echo "docker-compose.yml: docker compose config passes"
else
    echo "docker compose not installed: docker-compose.yml checked by its schema and tests/deploy only"
fi
