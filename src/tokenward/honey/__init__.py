"""Honeytokens: format-valid canary credentials planted in files, registered so any use raises an alert."""
