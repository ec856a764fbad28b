#!/usr/bin/env bash
# Test on NUM_PROCESSES processes (NNODES, NODE_RANK, MASTER_ADDR and PORT
# as for dist_train.sh; on one machine without PORT torchrun binds a free
# port itself):
#   bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [test.py options]
#   bash tools/dist_test.sh CONFIG NUM_PROCESSES [test.py options]
# Without CHECKPOINT (or with CHECKPOINT `none`) the config's load_from is
# kept: a zero-shot config has none. A second argument made of digits is
# NUM_PROCESSES unless a file of that name exists.
set -euo pipefail
usage="usage: bash tools/dist_test.sh CONFIG [CHECKPOINT|none] NUM_PROCESSES"
if [ "$#" -lt 2 ]; then
    echo "$usage [options]" >&2
    exit 2
fi
config="$1"
checkpoint=()
if [[ "$2" =~ ^[0-9]+$ && ! -e "$2" ]]; then
    shift 1
else
    if [ "$#" -lt 3 ]; then
        echo "$usage [options]" >&2
        exit 2
    fi
    if [ "$2" != none ]; then
        checkpoint=("$2")
    fi
    shift 2
fi
nproc="$1"
shift 1
if ! [[ "$nproc" =~ ^[1-9][0-9]*$ ]]; then
    echo "dist_test.sh: NUM_PROCESSES must be a positive number, got" \
        "'$nproc'. $usage [options]" >&2
    exit 2
fi
cd "$(dirname "$0")/.."
source tools/torchrun.sh
run_torchrun \
    --nproc_per_node="$nproc" \
    tools/test.py "$config" "${checkpoint[@]}" --launcher pytorch "$@"
