# Sourced by slurm_train.sh, slurm_test.sh and slurm_caption.sh:
# `run_srun PARTITION JOB_NAME COMMAND...` runs COMMAND from the repository
# root as one Slurm task per GPU: GPUS tasks in all (default 8),
# GPUS_PER_NODE per node (default 8), CPUS_PER_TASK cores each (default 5),
# SRUN_ARGS added to srun's options; one failing task ends the others.
run_srun() {
    local partition="$1" job_name="$2" srun_args
    shift 2
    local gpus="${GPUS:-8}" gpus_per_node="${GPUS_PER_NODE:-8}"
    read -r -a srun_args <<< "${SRUN_ARGS:-}"
    PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" srun \
        --partition="$partition" \
        --job-name="$job_name" \
        --gres=gpu:"$gpus_per_node" \
        --ntasks="$gpus" \
        --ntasks-per-node="$gpus_per_node" \
        --cpus-per-task="${CPUS_PER_TASK:-5}" \
        --kill-on-bad-exit=1 \
        "${srun_args[@]}" \
        "$@"
}
