"""Running the gateway: its serving processes (one or several sharing the port), their supervisor and the
per-IP limits they share."""
