"""Act on what is found: verify a token against its provider (live / invalid / unknown, with the evidence)
and revoke it through the provider's API. Plaintext is re-read at the time of use and never stored."""
