#!/usr/bin/env bash
# Posts about 50 web clicks a second to stream 'clicks' (Ctrl-C stops); about 2% carry a price the
# declared double column cannot hold, and land in raw.clicks__dlq with the reason.
set -euo pipefail
url="${WATERSHED_URL:-http://127.0.0.1:7070}"
# $WATERSHED_TOKEN, or the admin token `watershed up` wrote in the project's .watershed (`watershed demo`: beside the project)
here="$(dirname "$0")"
token="${WATERSHED_TOKEN:-$(cat "$here/.watershed/admin.token" 2>/dev/null || cat "$here/../admin.token" 2>/dev/null || true)}"
[ -n "$token" ] || { echo "no token: start the platform with 'watershed up --project $(dirname "$0")', or set WATERSHED_TOKEN" >&2; exit 1; }
users=(ada bob cyd dee eve fay gus hal ivy jo)
pages=(/home /search /product/17 /product/42 /cart /checkout)
terms=(shoes coat lamp desk kettle socks)
echo "posting clicks to $url (Ctrl-C stops)" >&2
while true; do
  body=""
  for _ in $(seq 10); do
    page=${pages[RANDOM % ${#pages[@]}]}
    click="{\"user\":\"${users[RANDOM % ${#users[@]}]}\",\"page\":\"$page\",\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)\""
    if [ "$page" = /search ]; then click+=",\"term\":\"${terms[RANDOM % ${#terms[@]}]}\""; fi
    if [ "$page" = /checkout ]; then
      if (( RANDOM % 12 == 0 )); then price='"free"'; else price="$((5 + RANDOM % 200)).$((RANDOM % 90 + 10))"; fi
      click+=",\"price\":$price,\"items\":[$((1 + RANDOM % 4))]"
    fi
    body+="$click}"$'\n'
  done
  curl -sf -H "Authorization: Bearer $token" -H "Content-Type: application/x-ndjson" -o /dev/null \
    "$url/v1/streams/clicks/events" --data-binary "$body" || echo "post failed; is the platform up at $url?" >&2
  sleep 0.2
done
