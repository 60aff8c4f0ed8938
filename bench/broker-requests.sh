#!/bin/bash
# Requests per second each local process sends to the broker, over a window:
# the TCP data segments it sent to port 9092 (`ss -ti`, data_segs_out), which
# with Nagle off is about one per request. Run it next to a bench, e.g.
#   bench/broker-requests.sh 20 20 & node bench/e2e/run.ts latency --rates 10000 --step-s 30 --no-refs
# usage: bench/broker-requests.sh [delay-s=0] [window-s=20] [port=9092]
set -eu
delay="${1:-0}" window="${2:-20}" port="${3:-9092}"
sleep "$delay"
snap() {
  ss -tinpH "dport = :$port" | paste - - | awk '{
    match($0, /pid=[0-9]+/); pid = substr($0, RSTART + 4, RLENGTH - 4)
    match($0, /data_segs_out:[0-9]+/); segs = substr($0, RSTART + 14, RLENGTH - 14)
    print $4 "|" pid, segs + 0 }' | sort
}
a="$(mktemp)" b="$(mktemp)"
trap 'rm -f "$a" "$b"' EXIT
snap >"$a"; sleep "$window"; snap >"$b"
join "$a" "$b" | awk -v w="$window" '{ split($1, k, "|"); n[k[2]] += $3 - $2; c[k[2]]++ }
  END { for (p in n) printf "%.0f %s %d\n", n[p] / w, p, c[p] }' | sort -rn |
  while read -r rate pid conns; do
    printf '%6s req/s over %d connection(s): %s\n' "$rate" "$conns" "$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-90)"
  done
