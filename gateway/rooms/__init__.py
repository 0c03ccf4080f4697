"""Rooms: one speaker, many listeners, each hearing the translation into their language; the seat a socket
takes in one, routing a room socket to the process or gateway that holds the room, and its QR links."""
