#!/usr/bin/env bash
# Debian's programs the ITs drive, installed here when missing (CI runs as root):
# - chromium for ConsoleIT. Playwright's own browser download is not used: playwright-core only drives /usr/bin/chromium.
# - kcat for KafkaAccessIT: Debian's kcat is on librdkafka 2.0.2, the old client whose SCRAM fails with Kafka 4
#   (librdkafka#4895) and which logs in with SASL/PLAIN instead.
# - postgresql-client (psql) for PgWireIT, a real client of the Postgres wire protocol.
# - prometheus-alertmanager for AlertsIT, which starts its own on a free loopback port (the package's service, where
#   systemd starts it, is not used).
# - mosquitto and mosquitto-clients for MqttSourceIT, which starts its own broker on a free loopback port and publishes
#   with mosquitto_pub (the package's service is not used).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/kcat ] || missing+=(kcat)
[ -x /usr/bin/prometheus-alertmanager ] || missing+=(prometheus-alertmanager)
[ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
[ -x /usr/bin/mosquitto_pub ] || missing+=(mosquitto-clients)
[ -x /usr/bin/psql ] || missing+=(postgresql-client)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo -n)
else
  sudo=()
fi
echo "Installing Debian's ${missing[*]} for the integration tests..."
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
  "${sudo[@]}" apt-get update -q >/dev/null
  "${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null
}
/usr/bin/chromium --version
/usr/bin/kcat -V | head -n 4 | tail -n 1
/usr/bin/prometheus-alertmanager --version 2>&1 | head -n 1
{ /usr/sbin/mosquitto -h 2>&1 || true; } | head -n 1
/usr/bin/psql --version
