#!/usr/bin/env bash
# Run a command with CPU-burning processes beside it (BURNERS, default 3), as on a busy machine.
# The burners are stopped however the command ends (success, failure, Ctrl-C).
set -euo pipefail
burners=${BURNERS:-3}
pids=()
stop_burners() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_burners EXIT
trap 'exit 130' INT TERM
for _ in $(seq "$burners"); do
    python3 -c 'while True: pass' &
    pids+=("$!")
done
echo "under load: ${#pids[@]} CPU burners (pids ${pids[*]}) beside: $*" >&2
"$@"
