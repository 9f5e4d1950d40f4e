"""One module per benchmark of the paper, each declaring one `Benchmark` (or, where one dataset
gives two benchmarks, one per part). Registered in `repro/benchmarks/__init__.py`."""
