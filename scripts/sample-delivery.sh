#!/usr/bin/env bash
# Sends a signed sample delivery to a running `meshbot serve`, signed as
# GitHub signs it (X-Hub-Signature-256: sha256=HMAC-SHA256 of the exact body),
# and prints the response.
#
#   GITHUB_WEBHOOK_SECRET=... scripts/sample-delivery.sh [URL] [EVENT PAYLOAD.json]
#
# URL defaults to http://localhost:8080/webhook. Without EVENT and PAYLOAD it
# sends a built-in pull_request "opened" delivery; otherwise the file's bytes
# as they are, e.g.
#
#   scripts/sample-delivery.sh http://localhost:8080/webhook push my-push.json
#
# GITHUB_WEBHOOK_SECRET is the secret meshbot verifies with: the one you set,
# or the development secret `meshbot serve` prints when none is configured.
# MESHBOT_DELIVERY sets the X-GitHub-Delivery id (send the same id twice to
# see a redelivery acknowledged as a duplicate). Needs openssl and curl.
set -euo pipefail

url=${1:-http://localhost:8080/webhook}
event=${2:-pull_request}
file=${3:-}

if [ -z "${GITHUB_WEBHOOK_SECRET:-}" ]; then
	echo "sample-delivery: set GITHUB_WEBHOOK_SECRET to the secret meshbot verifies with" >&2
	echo "  (meshbot serve prints a development secret when none is configured)" >&2
	exit 2
fi
for tool in openssl curl; do
	command -v "$tool" >/dev/null || { echo "sample-delivery: $tool is required" >&2; exit 2; }
done
if [ -n "${2:-}" ] && [ -z "$file" ]; then
	echo "usage: $0 [URL] [EVENT PAYLOAD.json]" >&2
	exit 2
fi

body=$(mktemp)
trap 'rm -f "$body"' EXIT
if [ -n "$file" ]; then
	cp "$file" "$body"
else
	# A pull request of installation 1 in acme/mesh-example, as GitHub sends
	# it, trimmed to the fields meshbot reads.
	cat >"$body" <<'JSON'
{
  "action": "opened",
  "number": 7,
  "pull_request": {
    "number": 7,
    "state": "open",
    "draft": false,
    "title": "orders: drop currency from order_event",
    "head": {"ref": "drop-currency", "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821"},
    "base": {"ref": "main", "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"}
  },
  "repository": {
    "id": 186853002,
    "name": "mesh-example",
    "full_name": "acme/mesh-example",
    "owner": {"login": "acme", "type": "Organization"},
    "default_branch": "main"
  },
  "installation": {"id": 1},
  "sender": {"login": "octocat", "type": "User"}
}
JSON
fi

delivery=${MESHBOT_DELIVERY:-$(openssl rand -hex 16 | sed -E 's/(.{8})(.{4})(.{4})(.{4})(.{12})/\1-\2-\3-\4-\5/')}
signature=$(openssl dgst -sha256 -hmac "$GITHUB_WEBHOOK_SECRET" -r "$body" | cut -d' ' -f1)

echo "POST $url  event=$event  delivery=$delivery" >&2
curl -sS -X POST "$url" \
	-H "Content-Type: application/json" \
	-H "User-Agent: GitHub-Hookshot/sample" \
	-H "X-GitHub-Event: $event" \
	-H "X-GitHub-Delivery: $delivery" \
	-H "X-Hub-Signature-256: sha256=$signature" \
	--data-binary "@$body" \
	-w '\nHTTP %{http_code} in %{time_total}s\n'
