#!/usr/bin/env bash
# Opens each store with 100 of every product, then sells about 20 items a second and restocks a
# product by 60 every 15 seconds or so.
set -euo pipefail
url="${WATERSHED_URL:-http://127.0.0.1:7070}"
# the platform's admin token (written by `watershed up --project` in the project's .watershed), or $WATERSHED_TOKEN
token="${WATERSHED_TOKEN:-$(cat "$(dirname "$0")/.watershed/admin.token" 2>/dev/null || true)}"
[ -n "$token" ] || { echo "no token: start the platform with ./watershed up --project $(dirname "$0"), or set WATERSHED_TOKEN" >&2; exit 1; }
stores=(seoul busan incheon)
products=(coffee tea milk bread apples rice noodles water)
post() { curl -sf -H "Authorization: Bearer $token" -o /dev/null "$url/v1/streams/$1/events" --data-binary "$2" || echo "post to $1 failed; is the platform up?" >&2; }
now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
body=""
for s in "${stores[@]}"; do for p in "${products[@]}"; do
  body+="{\"store\":\"$s\",\"product\":\"$p\",\"qty\":100,\"ts\":\"$(now)\"}"$'\n'
done; done
post restocks "$body"
echo "opened ${#stores[@]} stores with 100 of each product; selling (Ctrl-C stops)" >&2
while true; do
  body=""
  for _ in $(seq 20); do
    body+="{\"store\":\"${stores[RANDOM % ${#stores[@]}]}\",\"product\":\"${products[RANDOM % ${#products[@]}]}\",\"qty\":$((1 + RANDOM % 3)),\"ts\":\"$(now)\"}"$'\n'
  done
  post sales "$body"
  if (( RANDOM % 15 == 0 )); then
    post restocks "{\"store\":\"${stores[RANDOM % ${#stores[@]}]}\",\"product\":\"${products[RANDOM % ${#products[@]}]}\",\"qty\":60,\"ts\":\"$(now)\"}"
  fi
  sleep 1
done
