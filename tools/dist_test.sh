#!/usr/bin/env bash
# Test on NUM_PROCESSES processes (NNODES, NODE_RANK, MASTER_ADDR and PORT
# as for dist_train.sh; on one machine without PORT torchrun binds a free
# port itself):
#   bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [test.py options]
set -euo pipefail
if [ "$#" -lt 3 ]; then
    echo "usage: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES" \
        "[options]" >&2
    exit 2
fi
config="$1"
checkpoint="$2"
nproc="$3"
shift 3
cd "$(dirname "$0")/.."
if [ "${NNODES:-1}" = 1 ] && [ -z "${PORT:-}" ]; then
    rendezvous=(--standalone --local-addr=127.0.0.1)
else
    rendezvous=(
        --nnodes="${NNODES:-1}"
        --node_rank="${NODE_RANK:-0}"
        --master_addr="${MASTER_ADDR:-127.0.0.1}"
        --master_port="${PORT:-29500}"
    )
fi
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" python -m torch.distributed.run \
    "${rendezvous[@]}" \
    --nproc_per_node="$nproc" \
    tools/test.py "$config" "$checkpoint" --launcher pytorch "$@"
