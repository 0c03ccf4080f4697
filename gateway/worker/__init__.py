"""The gateway's side of the worker: the gRPC client, its status codes as client errors, coalesced audio writes."""
