"""Paginated listings of the bucket for the studios' pickers (BackblazeBrowserFile)."""
