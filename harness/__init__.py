"""What tests and benchmarks share: real servers on free ports, a protocol client, test speech, tiny models.

Import it as `harness` from the repository root (pytest puts the root on the path; run benchmarks
as modules: `python -m bench.relay`).
"""
