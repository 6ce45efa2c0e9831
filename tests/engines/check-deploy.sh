#!/usr/bin/env bash
# Checks what Burnrate ships in deploy/ with the engines' own tools (Debian's prometheus and
# prometheus-alertmanager packages): the rules load and their unit tests pass, the example
# Prometheus and Alertmanager configurations load, the Grafana dashboard is valid and reads only
# Burnrate's metrics. No service is started. Run from anywhere; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in promtool amtool python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found; run scripts/setup --test" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "--- promtool check rules"
promtool check rules deploy/prometheus/burnrate-rules.yml
echo "--- promtool test rules"
promtool test rules deploy/prometheus/burnrate-rules.test.yml

echo "--- promtool check config (example prometheus.yml, with its paths pointed into a temp dir)"
# The example names /etc/prometheus/…; promtool checks that the rule and token files exist.
cp deploy/prometheus/burnrate-rules.yml "$tmp/burnrate-rules.yml"
printf 'example-token' > "$tmp/burnrate.token"
sed -e "s#/etc/prometheus/burnrate-rules.yml#$tmp/burnrate-rules.yml#" \
    -e "s#/etc/prometheus/burnrate.token#$tmp/burnrate.token#" \
    deploy/prometheus/prometheus.yml > "$tmp/prometheus.yml"
if grep -v '^ *#' "$tmp/prometheus.yml" | grep -q '/etc/prometheus'; then
  echo "error: deploy/prometheus/prometheus.yml names a path this check does not replace:" >&2
  grep -n '/etc/prometheus' "$tmp/prometheus.yml" >&2; exit 1
fi
promtool check config "$tmp/prometheus.yml"

echo "--- amtool check-config"
amtool check-config deploy/alertmanager/alertmanager.yml

echo "--- Grafana dashboard"
python3 tests/engines/check-dashboard.py deploy/grafana/burnrate-dashboard.json

if command -v systemd-analyze >/dev/null; then
  echo "--- systemd-analyze verify (ExecStart pointed at /bin/true: burnrate is not installed here)"
  sed 's#^ExecStart=/usr/local/bin/burnrate .*#ExecStart=/bin/true#' \
    deploy/systemd/burnrate-serve.service > "$tmp/burnrate-serve.service"
  out=$(systemd-analyze verify "$tmp/burnrate-serve.service" 2>&1) || { echo "$out" >&2; exit 1; }
  # verify also reports unrelated units of the host; only lines about this unit count.
  if grep -q 'burnrate-serve.service' <<<"$out"; then echo "$out" >&2; exit 1; fi
  echo "burnrate-serve.service: verified"
fi
echo "deploy/: all checks passed"
