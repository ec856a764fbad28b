#!/usr/bin/env bash
# Caption a folder or list of videos on NUM_PROCESSES processes of this
# machine (or of several machines with NNODES, NODE_RANK, MASTER_ADDR and
# PORT set, as for dist_train.sh) into one JSON Lines file:
#   bash tools/dist_caption.sh CONFIG CHECKPOINT INPUT OUT.jsonl NUM_PROCESSES [options]
# CHECKPOINT `none` keeps the config's weights. Each process writes its
# part of OUT and the first merges them in input order at the end; the
# same command again skips what OUT (and any part) holds. The options go to
# demo/caption_video.py (--batch-size, --workers, --cfg-options ...).
set -euo pipefail
usage="usage: bash tools/dist_caption.sh CONFIG CHECKPOINT|none INPUT OUT.jsonl NUM_PROCESSES [options]"
if [ "$#" -lt 5 ]; then
    echo "$usage" >&2
    exit 2
fi
config="$1"
checkpoint=()
if [ "$2" != none ]; then
    checkpoint=(--checkpoint "$2")
fi
input="$3"
out="$4"
nproc="$5"
shift 5
if ! [[ "$nproc" =~ ^[1-9][0-9]*$ ]]; then
    echo "dist_caption.sh: NUM_PROCESSES must be a positive number, got" \
        "'$nproc'. $usage" >&2
    exit 2
fi
cd "$(dirname "$0")/.."
source tools/torchrun.sh
run_torchrun \
    --nproc_per_node="$nproc" \
    demo/caption_video.py "$input" "$config" "${checkpoint[@]}" \
    --out "$out" --launcher pytorch "$@"
