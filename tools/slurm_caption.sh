#!/usr/bin/env bash
# Caption a folder or list of videos under Slurm, one task per GPU (GPUS,
# GPUS_PER_NODE, CPUS_PER_TASK and SRUN_ARGS as for slurm_train.sh):
#   bash tools/slurm_caption.sh PARTITION JOB_NAME CONFIG CHECKPOINT INPUT OUT.jsonl [options]
# CHECKPOINT `none` keeps the config's weights; OUT must be on storage all
# nodes share. The options go to demo/caption_video.py.
set -euo pipefail
if [ "$#" -lt 6 ]; then
    echo "usage: bash tools/slurm_caption.sh PARTITION JOB_NAME CONFIG" \
        "CHECKPOINT|none INPUT OUT.jsonl [options]" >&2
    exit 2
fi
partition="$1"
job_name="$2"
config="$3"
checkpoint=()
if [ "$4" != none ]; then
    checkpoint=(--checkpoint "$4")
fi
input="$5"
out="$6"
shift 6
cd "$(dirname "$0")/.."
source tools/srun.sh
run_srun "$partition" "$job_name" \
    python -u demo/caption_video.py "$input" "$config" "${checkpoint[@]}" \
    --out "$out" --launcher=slurm "$@"
