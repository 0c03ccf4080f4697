"""Inference worker: a grpc.aio server holding one model and per-stream engine sessions."""
