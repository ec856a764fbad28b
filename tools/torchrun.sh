# Sourced by dist_train.sh, dist_test.sh and dist_caption.sh:
# `run_torchrun ARGS` runs `python -m torch.distributed.run` from the
# repository root with the rendezvous the environment asks for. On one machine without PORT,
# torchrun's standalone rendezvous binds a free port itself: no port is
# chosen before it is taken, so runs side by side (tests, several jobs)
# cannot collide on one. Otherwise NNODES, NODE_RANK, MASTER_ADDR and PORT
# (default 29500) say where the processes meet.
run_torchrun() {
    local rendezvous
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
    PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" \
        python -m torch.distributed.run "${rendezvous[@]}" "$@"
}
