"""Offline quality and latency evaluation of a worker through its gRPC API (bench/evaluate.py is the entry point).

One module per job: ``manifest`` (what to evaluate), ``builtin`` (the built-in set, spoken by espeak-ng),
``client`` (streams a file and records every output with its input offset), ``timeline`` (when each target
word settled), ``metrics`` (the scores), ``asr`` (Whisper transcribes the output speech), ``report``
(table and JSON).
"""
