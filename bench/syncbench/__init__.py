"""The parts of ``bench/sync_bench.py``: the data set, the servers, a simulated device, and the
five measurements of the native sync protocol."""
