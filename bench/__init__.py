"""Benchmarks: commands that print figures (ratios against baselines measured in the same run).

``python -m bench.engine`` measures the consumer engine; ``bench/simulator_load.sh`` the simulator.
"""
