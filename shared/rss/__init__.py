"""RSS automation: feeds become captioned, scheduled posts.

Pure rules (filters, identity, text length, schedule, backoff) live apart from the I/O adapters (fetcher,
parser, images, captions, repository, queue, poller). See docs/architecture/rss.md.
"""
