#!/bin/bash
# Repair a whole season on a cluster: one array task per shard, then one merge step.
#
#   sbatch --array=0-7 examples/slurm/inpaint-array.sh /data/season2
#   # when all tasks are done (or chain it: sbatch --dependency=afterok:<jobid> ...):
#   rootrepair inpaint /data/season2        # repairs nothing new; merges the shard manifests
#
#SBATCH --job-name=rootrepair
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=04:00:00
#SBATCH --output=rootrepair-%A_%a.log
set -euo pipefail
INPUT=${1:?usage: sbatch --array=0-N inpaint-array.sh INPUT_FOLDER}
N=$(( SLURM_ARRAY_TASK_MAX + 1 ))
# every task writes its own manifest-shard-i-of-n.json in the same output folder
rootrepair inpaint "$INPUT" --shard "${SLURM_ARRAY_TASK_ID}/${N}" --threads "${SLURM_CPUS_PER_TASK:-4}"
