#!/bin/sh
# The image's entrypoint: runs one role of Summary Bot NG, given as the container's command.
#   web       daphne on 0.0.0.0:$PORT (default 8000)
#   worker    manage.py qcluster (django-q2)
#   bot       manage.py runbot (discord.py gateway); with SHARD_IDS_FROM_HOSTNAME=true (a Kubernetes
#             StatefulSet), SHARD_IDS is this pod's ordinal, the number that ends its host name
#   migrate   manage.py migrate (the whole database setup; run once per release, before the others)
#   wait-for-migrations  returns once the database has every migration of this image (an init container's
#             command, where nothing orders the migrate Job before the other pods)
#   healthcheck  the image's HEALTHCHECK: GET /health for web, nothing to check for the other roles
#   manage ARGS  any other management command; anything else is run as given
# Nothing here is written outside /tmp, so the root filesystem can be read-only.
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

prepare_metrics_dir() {
    # prometheus_client's multiprocess directory: it must exist, be writable and start empty, else the
    # counters of a previous run (or another container's pids) would be added to this one's.
    if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
        mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
        find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -maxdepth 1 -name '*.db' -delete
    fi
}

case "$role" in
    web)
        prepare_metrics_dir
        echo "$role" > /tmp/summarybot-role
        # No --proxy-headers: the client address comes from DJANGO_TRUSTED_PROXY_COUNT (.env.example).
        exec daphne -b 0.0.0.0 -p "${PORT:-8000}" summarybot.asgi:application "$@"
        ;;
    worker)
        prepare_metrics_dir
        echo "$role" > /tmp/summarybot-role
        exec python manage.py qcluster "$@"
        ;;
    bot)
        if [ "${SHARD_IDS_FROM_HOSTNAME:-false}" = "true" ]; then
            host="${HOSTNAME:-$(hostname)}"
            ordinal="${host##*-}"
            case "$ordinal" in
                ''|*[!0-9]*)
                    echo "entrypoint: SHARD_IDS_FROM_HOSTNAME=true but host name '$host' does not end in -<ordinal>" >&2
                    exit 64
                    ;;
            esac
            if [ -z "${SHARD_COUNT:-}" ] || [ "$ordinal" -ge "$SHARD_COUNT" ]; then
                echo "entrypoint: shard $ordinal needs SHARD_COUNT above it (the StatefulSet's replicas), got '${SHARD_COUNT:-}'" >&2
                exit 64
            fi
            SHARD_IDS="$ordinal"
            export SHARD_IDS
        fi
        prepare_metrics_dir
        echo "$role" > /tmp/summarybot-role
        exec python manage.py runbot "$@"
        ;;
    migrate)
        exec python manage.py migrate --noinput "$@"
        ;;
    wait-for-migrations)
        until python manage.py migrate --check >/dev/null; do
            echo "entrypoint: waiting for the migrate job (the database lacks this release's migrations)" >&2
            sleep 5
        done
        ;;
    healthcheck)
        [ "$(cat /tmp/summarybot-role 2>/dev/null || true)" = "web" ] || exit 0
        # Django answers only to DJANGO_ALLOWED_HOSTS, so ask with the first of them as Host.
        exec python - <<'PY'
import os
import sys
import urllib.request

hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
host = hosts[0].lstrip(".") if hosts and hosts[0] != "*" else "localhost"
request = urllib.request.Request(f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health", headers={"Host": host})
try:
    with urllib.request.urlopen(request, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:
    print(f"healthcheck: {exc}", file=sys.stderr)
    sys.exit(1)
PY
        ;;
    manage)
        exec python manage.py "$@"
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
