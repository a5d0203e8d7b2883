#!/usr/bin/env bash
# Posts about 50 searches a second; a few terms are far more popular than the rest.
set -euo pipefail
url="${WATERSHED_URL:-http://127.0.0.1:7070}"
# the platform's admin token (written by `watershed up --project` in the project's .watershed), or $WATERSHED_TOKEN
token="${WATERSHED_TOKEN:-$(cat "$(dirname "$0")/.watershed/admin.token" 2>/dev/null || true)}"
[ -n "$token" ] || { echo "no token: start the platform with ./watershed up --project $(dirname "$0"), or set WATERSHED_TOKEN" >&2; exit 1; }
terms=(laptop laptop laptop phone phone phone headphones headphones monitor keyboard mouse tablet camera \
       charger "usb cable" speaker watch backpack desk chair lamp)
echo "posting searches to $url/v1/streams/searches/events (Ctrl-C stops)" >&2
while true; do
  body=""
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  for _ in $(seq 50); do
    body+="{\"user\":\"u$((RANDOM % 500))\",\"term\":\"${terms[RANDOM % ${#terms[@]}]}\",\"ts\":\"$now\"}"$'\n'
  done
  curl -sf -H "Authorization: Bearer $token" -o /dev/null "$url/v1/streams/searches/events" --data-binary "$body" || echo "post failed; is the platform up?" >&2
  sleep 1
done
