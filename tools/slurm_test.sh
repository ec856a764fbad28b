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
cd "$(dirname "$0")/.."
source tools/srun.sh
run_srun "$partition" "$job_name" \
    python -u tools/test.py "$config" "${checkpoint[@]}" --launcher=slurm "$@"
