"""Publishing engine: connections, platform adapters, publications. Other capabilities call `gateway` only."""
