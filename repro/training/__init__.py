"""Training the checkpoints the paper never released: the run table (runs), the engine's
Hydra overrides and launch command (overrides), the composition check against the engine's
own config tree (compose, needs hydra-core), and the training data in VeRL's parquet schema
(data, needs pyarrow to write). docs/training.md explains the runs and their sources."""
