"""Gateway: terminates browser WebSockets and relays each session over one gRPC stream to a worker."""
