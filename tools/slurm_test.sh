#!/usr/bin/env bash
# Test under Slurm, one task per GPU (GPUS, GPUS_PER_NODE, CPUS_PER_TASK and
# SRUN_ARGS as for slurm_train.sh):
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [options]
# CHECKPOINT `none` keeps the config's load_from (a zero-shot config has
# none); the options go to tools/test.py.
set -euo pipefail
if [ "$#" -lt 4 ]; then
    echo "usage: bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG" \
        "CHECKPOINT|none [options]" >&2
    exit 2
fi
partition="$1"
job_name="$2"
config="$3"
checkpoint=()
if [ "$4" != none ]; then
    checkpoint=("$4")
fi
shift 4
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
    python -u tools/test.py "$config" "${checkpoint[@]}" --launcher=slurm "$@"
