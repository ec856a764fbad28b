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
gpus="${GPUS:-8}"
gpus_per_node="${GPUS_PER_NODE:-8}"
read -r -a srun_args <<< "${SRUN_ARGS:-}"
cd "$(dirname "$0")/.."
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" srun \
    --partition="$partition" \
    --job-name="$job_name" \
    --gres=gpu:"$gpus_per_node" \
    --ntasks="$gpus" \
    --ntasks-per-node="$gpus_per_node" \
    --cpus-per-task="${CPUS_PER_TASK:-5}" \
    --kill-on-bad-exit=1 \
    "${srun_args[@]}" \
    python -u demo/caption_video.py "$input" "$config" "${checkpoint[@]}" \
    --out "$out" --launcher=slurm "$@"
