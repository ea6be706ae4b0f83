"""Platform accounts: OAuth 2 (PKCE where supported), signed single-use state, encrypted token store, refresh."""
