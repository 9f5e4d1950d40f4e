# GPU image for repro (see docs/container.md).
#
#   docker build -t repro:0.1.0 .
#   docker run --rm --gpus all --ipc=host -v "$PWD/data:/data" repro:0.1.0 all
#
# Base image: official NVIDIA CUDA 13.0 runtime on Ubuntu 24.04, pinned by digest so a
# rebuild cannot silently pick up a different OS or CUDA layer. CUDA 13.0 because the
# PyPI wheel of torch 2.13.0 (required exactly by vllm 0.32.0) is built for CUDA 13.0;
# the torch wheels bring their own CUDA user-space libraries, and the base image's CUDA
# matches them. The host needs an NVIDIA driver of the 580 series or newer.
#
# Digest source: not pulled while writing this file. Taken from public GitHub projects
# that pin this exact reference (tag plus digest) of the Docker Hub image: the same
# 64-hex digest appears, character for character, in the Dockerfiles and build files of
# several unrelated projects, one of which keeps it current with Dependabot's Docker
# updater; it is used there for both linux/amd64 and linux/arm64 builds, i.e. it is the
# multi-platform index digest. Confirm it before a release with:
#   docker buildx imagetools inspect nvidia/cuda:13.0.1-runtime-ubuntu24.04
# ---------------------------------------------------------------- training image (docs/training.md)
#   docker build --target train -t repro-train:0.1.0 .
# A separate stage because VeRL 0.3.0.post1 (the paper's time) needs vllm<=0.8.2, and the newest
# installable release in that range, vllm 0.7.3, runs torch 2.5.1 on CUDA 12.4, while the evaluation
# image below runs vllm 0.32 on torch 2.13 (requirements/train-gpu.txt says why not 0.8.x).
# It comes first so that a plain `docker build` still builds the evaluation image (the last stage).
# The base is pinned by digest, sourced like the evaluation image's below (not pulled while
# writing this file): the multi-platform index digest that public build logs resolve this tag to
# and that public projects pin (one records it from Docker Hub's tag API); another digest seen
# pinned elsewhere (0a1cb6e7...) is the linux/amd64 manifest under the same index. Confirm
# before a release: docker buildx imagetools inspect nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04
FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04@sha256:622e78a1d02c0f90ed900e3985d6c975d8e2dc9ee5e61643aed587dcf9129f42 AS train
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Python 3.11 (Ubuntu 22.04's python3.11 package): the package needs 3.11 or newer.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11 python3.11-venv python3.11-dev build-essential git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN python3.11 -m venv /opt/venv
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
WORKDIR /opt/repro
# Every package at the version and hash of the lock (`bash scripts/lock`); flash-attn, VeRL's
# padding-free path, after torch and against it, as VeRL's install docs say (it builds from source).
COPY requirements/train-gpu.lock requirements/train-gpu.lock
RUN pip install --require-hashes -r requirements/train-gpu.lock \
    && pip install --no-build-isolation flash-attn==2.7.4.post1
# The DAPO recipe is in no wheel: the repository at the pinned commit (repro.training.runs.VERL_DAPO_COMMIT).
# Its run puts this checkout first on PYTHONPATH (the recipe needs the verl of its own commit).
ARG VERL_DAPO_COMMIT=3a27a98647536fef2b848c4897aebdcfb0b42110
RUN git clone https://github.com/volcengine/verl.git /opt/verl-dapo \
    && git -C /opt/verl-dapo checkout "${VERL_DAPO_COMMIT}"
ENV REPRO_VERL_DAPO_DIR=/opt/verl-dapo REPRO_VERL_DAPO_CONFIG=/opt/verl-dapo/recipe/dapo/src/config
COPY . .
RUN pip install --no-deps .
# The reward grades in a second interpreter: VeRL's Hydra needs ANTLR 4.9, the math grader 4.11
# (repro/training_reward.py: REPRO_GRADER_PYTHON; requirements/grader.txt).
RUN python3.11 -m venv /opt/grader \
    && /opt/grader/bin/pip install -r requirements/grader.txt \
    && /opt/grader/bin/pip install --no-deps .
ENV REPRO_GRADER_PYTHON=/opt/grader/bin/python
# The build record, as in the evaluation image below (docs/provenance.md): each launch records it.
ARG REPRO_GIT_COMMIT=""
ARG REPRO_GIT_DIRTY=""
LABEL org.opencontainers.image.revision="${REPRO_GIT_COMMIT}"
RUN python -m repro.provenance build-info /opt/repro requirements/train-gpu.lock "${REPRO_GIT_COMMIT}" \
        "${REPRO_GIT_DIRTY}" > /opt/repro/build-info.json
ENV REPRO_BUILD_INFO=/opt/repro/build-info.json
ENV HF_HOME=/data/hf REPRO_HOME=/data/runs XDG_CACHE_HOME=/data/cache
VOLUME ["/data"]
WORKDIR /data
ENTRYPOINT ["repro"]
CMD ["train", "--help"]

# ---------------------------------------------------------------- evaluation image (the default target)
FROM nvidia/cuda:13.0.1-runtime-ubuntu24.04@sha256:c3fde347d52d578c84fd644bc177bc7ec333feaf11550d990da4084d7612e4c7

# The public repository URL is not fixed yet: pass it at build time with
#   docker build --build-arg REPRO_SOURCE_URL=https://... -t repro:0.1.0 .
ARG REPRO_SOURCE_URL=""
ARG REPRO_VERSION=0.1.0
LABEL org.opencontainers.image.title="repro" \
      org.opencontainers.image.description="Reproduction of 'Does Reinforcement Learning Really Incentivize Reasoning Capacity in LLMs Beyond the Base Model?' (arXiv 2504.13837): pass@k of base and RLVR-trained models, rerun with vLLM and compared with the paper" \
      org.opencontainers.image.version="${REPRO_VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${REPRO_SOURCE_URL}" \
      org.opencontainers.image.base.name="nvidia/cuda:13.0.1-runtime-ubuntu24.04"

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Ubuntu 24.04's own Python (3.12; vllm 0.32.0 accepts 3.11-3.14).
# python3-dev and build-essential are runtime needs, not build leftovers: Triton (used by
# vLLM) compiles a small C launcher with the system compiler and Python headers the first
# time it runs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3 python3-venv python3-dev build-essential ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# A virtual environment keeps pip away from the distribution's Python (PEP 668).
RUN python3 -m venv /opt/venv
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /opt/repro

# The interpreter of sandboxed programs (docs/sandbox.md, "The programs' interpreter"): the system
# Python plus the modules LiveCodeBench's test process has importable (requirements/sandbox.txt:
# numpy at LCB's lock version; pandas for rllm's prelude), world-readable because the sandbox runs
# programs under a private uid. repro finds it at this path (repro/sandbox/limits.py).
COPY requirements/sandbox.txt requirements/sandbox.txt
RUN /usr/bin/python3 -m venv /opt/repro-sandbox \
    && /opt/repro-sandbox/bin/pip install -r requirements/sandbox.txt \
    && chmod -R a+rX /opt/repro-sandbox

# Same two steps as the CPU install in .ci/run: first the dependencies, then the package itself
# without dependency resolution. The dependencies come from requirements/gpu.lock: every package
# (about 220, not only the ~25 pinned in requirements/gpu.txt) at the version the resolver chose
# for this image's Python and platform, with the sha256 of each file (`bash scripts/lock`; CI
# checks it is current), so a rebuild next year installs the same files or fails. Copying the
# lock alone first keeps this large layer cached when only the source changes.
COPY requirements/gpu.lock requirements/gpu.lock
RUN pip install --require-hashes -r requirements/gpu.lock
COPY . .
RUN pip install --no-deps . \
    && repro --help > /dev/null
# A regular (non-editable) install puts the package in site-packages, away from the
# project's top-level expected/ folder; point the package at the copy kept here.
ENV REPRO_EXPECTED_DIR=/opt/repro/expected

# Bake the math benchmark files into the image: downloaded from their pinned commits and
# verified by sha256 now (hashes checked against the files themselves when this package was
# made), then read from this folder as a data folder (REPRO_DATA_DIR), which may be read-only.
# The code and visual files are downloaded at their pinned revisions on first use into
# REPRO_CACHE_DIR on the /data volume (LiveCodeBench alone is about 4.4 GB; some of their
# hashes come from third-party records, so a mismatch fails those experiments at run time,
# never the image build), where the derived files (per-problem test suites, evalplus expected
# outputs computed in the sandbox, images) are written too (see docs/benchmarks.md).
RUN REPRO_CACHE_DIR=/opt/repro/benchmarks python -c "from repro.benchmarks import math_files; math_files.prefetch()"
ENV REPRO_DATA_DIR=/opt/repro/benchmarks \
    REPRO_CACHE_DIR=/data/cache/repro-benchmarks

# Provenance (docs/provenance.md). The build context has no .git, so the commit is passed in:
#   docker build --build-arg REPRO_GIT_COMMIT=$(git rev-parse HEAD) \
#     --build-arg REPRO_GIT_DIRTY=$(test -z "$(git status --porcelain)" && echo false || echo true) -t repro:0.1.0 .
# The build record holds what is known while building: that commit, the base image with its
# digest (from the FROM line above), the sha256 of requirements/gpu.lock (every installed file,
# hashed) and the build time.
# Every run records it (REPRO_BUILD_INFO). The image's own digest exists only once the image
# is finished, so it cannot be inside; pass it when starting a container if it should be
# recorded: -e REPRO_IMAGE_DIGEST=$(docker inspect --format '{{index .RepoDigests 0}}' repro:0.1.0).
# Declared here, after the large layers, so that a new commit does not rebuild them.
ARG REPRO_GIT_COMMIT=""
ARG REPRO_GIT_DIRTY=""
LABEL org.opencontainers.image.revision="${REPRO_GIT_COMMIT}"
RUN python -m repro.provenance build-info /opt/repro requirements/gpu.lock "${REPRO_GIT_COMMIT}" "${REPRO_GIT_DIRTY}" \
        > /opt/repro/build-info.json
ENV REPRO_BUILD_INFO=/opt/repro/build-info.json

# Everything that grows lives under the /data volume: model weights and datasets are
# downloaded at run time from the hub into HF_HOME (at the pinned revisions), runs and
# reports go to REPRO_HOME, and compile caches (vLLM, Triton) go under XDG_CACHE_HOME so
# that a second run starts faster. Under Apptainer the image is read-only, so these
# paths must be a bind mount there too.
ENV HF_HOME=/data/hf \
    REPRO_HOME=/data/runs \
    XDG_CACHE_HOME=/data/cache \
    HF_HUB_DISABLE_TELEMETRY=1
RUN mkdir -p /data/hf /data/runs /data/cache
VOLUME ["/data"]

# The image keeps the root user on purpose: the code-execution sandbox for model-written
# programs may need to create namespaces (unshare), which an unprivileged user inside
# Docker usually cannot. Under Apptainer the container runs as the calling user anyway.
WORKDIR /data

ENTRYPOINT ["repro"]
CMD ["--help"]
