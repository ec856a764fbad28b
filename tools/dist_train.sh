#!/usr/bin/env bash
# Train on NUM_PROCESSES processes of this machine (or of several machines
# with NNODES, NODE_RANK, MASTER_ADDR and PORT set):
#   bash tools/dist_train.sh CONFIG NUM_PROCESSES [train.py options]
# On one machine without PORT, torchrun's standalone rendezvous binds a free
# port itself: no port is chosen before it is taken, so runs side by side
# (tests, several jobs) cannot collide on one.
set -euo pipefail
if [ "$#" -lt 2 ]; then
    echo "usage: bash tools/dist_train.sh CONFIG NUM_PROCESSES [options]" >&2
    exit 2
fi
config="$1"
nproc="$2"
shift 2
cd "$(dirname "$0")/.."
source tools/torchrun.sh
run_torchrun \
    --nproc_per_node="$nproc" \
    tools/train.py "$config" --launcher pytorch "$@"
