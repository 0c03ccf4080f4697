"""Offline quality and latency evaluation of a worker through its gRPC API (bench/evaluate.py is the entry point).

One module per job: ``manifest`` (what to evaluate), ``builtin`` (the built-in set), ``speakers``
(who speaks it: eSpeak NG or neural voices), ``noise`` (noise mixed in at a chosen SNR),
``client`` (streams a file and records every output with its input offset), ``timeline`` (when each target
word settled), ``metrics`` (the scores), ``asr`` (Whisper transcribes the output speech), ``report``
(table and JSON).
"""
