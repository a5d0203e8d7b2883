#!/usr/bin/env bash
# Loads the banned words once, then posts about 5 reviews a second; some contain a banned word.
set -euo pipefail
url="${WATERSHED_URL:-http://127.0.0.1:7070}"
# the platform's admin token (written by `watershed up --project` in the project's .watershed), or $WATERSHED_TOKEN
token="${WATERSHED_TOKEN:-$(cat "$(dirname "$0")/.watershed/admin.token" 2>/dev/null || true)}"
[ -n "$token" ] || { echo "no token: start the platform with ./watershed up --project $(dirname "$0"), or set WATERSHED_TOKEN" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
curl -sf -H "Authorization: Bearer $token" -o /dev/null "$url/v1/streams/banned_words/events" --data-binary "@$here/banned_words.ndjson" \
  || { echo "cannot post the banned words; is the platform up?" >&2; exit 1; }
products=(kettle toaster blender mixer)
good=("Works great, arrived early." "Nice build quality and quiet." "Good value for the money." "Does the job.")
bad=("Total scam, do not buy!" "This is garbage." "Looks fake to me." "Only an idiot would design this.")
echo "posting reviews to $url/v1/streams/reviews/events (Ctrl-C stops)" >&2
n=0
while true; do
  body=""
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  for _ in $(seq 5); do
    n=$((n + 1))
    if (( RANDOM % 10 == 0 )); then text=${bad[RANDOM % ${#bad[@]}]}; else text=${good[RANDOM % ${#good[@]}]}; fi
    body+="{\"review_id\":\"r$n\",\"product\":\"${products[RANDOM % ${#products[@]}]}\",\"body\":\"$text\",\"ts\":\"$now\"}"$'\n'
  done
  curl -sf -H "Authorization: Bearer $token" -o /dev/null "$url/v1/streams/reviews/events" --data-binary "$body" || echo "post failed; is the platform up?" >&2
  sleep 1
done
