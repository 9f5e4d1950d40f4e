"""Run one `repro` command as N shards on a Ray cluster: Ray places each shard on a node with
the GPUs it asks for, and each runs `repro ARGS --shard i/N` there (docs/cluster.md).

    ray start --head                       # on the first node; `ray start --address HEAD:6379` on the others
    python scripts/ray_shards.py --shards 4 --gpus-per-shard 8 -- all --tier full --out /shared/runs
    repro all --tier full --out /shared/runs    # then, on any node (no GPU needed): grade, compare, report

Ray does the scheduling (resources, placement, retries of a lost node); this script only asks
for N tasks. Ray sets CUDA_VISIBLE_DEVICES of each task to the GPUs it assigned, and the shard's
`repro` uses exactly those (repro.gpu_layout: one engine per GPU group). A task whose node
is lost is retried elsewhere by Ray; the store keeps the chunks the lost one finished.
Runs where Ray is installed (the training environment has it: scripts/install-train).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys


def shard_command(repro: list[str], args: list[str], index: int, count: int) -> list[str]:
    return [*repro, *args, "--shard", f"{index}/{count}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=int, required=True, help="N: how many shards (e.g. the number of nodes)")
    parser.add_argument("--gpus-per-shard", type=float, default=8, help="GPUs Ray gives each shard (default 8)")
    parser.add_argument("--repro", default=shutil.which("repro") or "repro",
                        help="how to call repro on the nodes (default: the repro on this PATH)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the repro command, e.g. -- all --tier full")
    options = parser.parse_args(argv)
    args = options.args[1:] if options.args[:1] == ["--"] else options.args
    if options.shards < 1 or not args:
        parser.error("give --shards N (N >= 1) and, after --, the repro command to shard")

    import ray  # Ray's own scheduler places the tasks; imported here so that --help needs no Ray

    ray.init()  # the cluster named by RAY_ADDRESS, or a local one

    @ray.remote(num_gpus=options.gpus_per_shard, max_retries=2)
    def run_shard(index: int) -> int:
        command = shard_command(options.repro.split(), args, index, options.shards)
        return subprocess.run(command, check=False).returncode

    codes = ray.get([run_shard.remote(index) for index in range(options.shards)])
    for index, code in enumerate(codes):
        print(f"shard {index}/{options.shards}: exit {code}", flush=True)
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
