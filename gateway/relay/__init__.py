"""The one-to-one relay: a browser WebSocket's frames to a worker's gRPC stream and its events back
(socket_relay.py), in three parts: the receive loop, the worker session and the send path."""
