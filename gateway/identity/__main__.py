"""`python -m gateway.identity`: mint a session token for testing (gateway/identity/jwt_tokens.py)."""

from gateway.identity.jwt_tokens import main

main()
