"""Who may open a session and what it may do: grants, the authenticator, JWT checking and minting, JWKS."""
