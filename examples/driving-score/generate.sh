#!/usr/bin/env bash
# Five drivers; each drives for 60 to 120 s, parks for 40 s (a new trip), and drives again. Now and
# then a driver brakes or accelerates hard, or speeds.
set -euo pipefail
url="${WATERSHED_URL:-http://127.0.0.1:7070}"
# the platform's admin token (written by `watershed up --project` in the project's .watershed), or $WATERSHED_TOKEN
token="${WATERSHED_TOKEN:-$(cat "$(dirname "$0")/.watershed/admin.token" 2>/dev/null || true)}"
[ -n "$token" ] || { echo "no token: start the platform with ./watershed up --project $(dirname "$0"), or set WATERSHED_TOKEN" >&2; exit 1; }
drivers=(kim lee park choi jung)
declare -A left speed
for d in "${drivers[@]}"; do left[$d]=$((60 + RANDOM % 60)); speed[$d]=60; done
echo "posting telemetry to $url/v1/streams/telemetry/events (Ctrl-C stops)" >&2
while true; do
  body=""
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  for d in "${drivers[@]}"; do
    left[$d]=$((left[$d] - 1))
    if (( left[$d] < -40 )); then left[$d]=$((60 + RANDOM % 60)); fi
    (( left[$d] < 0 )) && continue   # parked
    r=$((RANDOM % 100)); accel="0.$((RANDOM % 9))"
    if (( r < 3 )); then accel="-4.5"; elif (( r < 5 )); then accel="3.8"; fi
    speed[$d]=$(( speed[$d] + (RANDOM % 11) - 5 )); (( speed[$d] < 20 )) && speed[$d]=20; (( speed[$d] > 130 )) && speed[$d]=130
    body+="{\"driver\":\"$d\",\"speed_kmh\":${speed[$d]},\"accel\":$accel,\"ts\":\"$now\"}"$'\n'
  done
  [ -n "$body" ] && { curl -sf -H "Authorization: Bearer $token" -o /dev/null "$url/v1/streams/telemetry/events" --data-binary "$body" || echo "post failed; is the platform up?" >&2; }
  sleep 1
done
