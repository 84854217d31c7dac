"""Input sources: each yields Blobs (bytes + origin) and SkippedItems."""
