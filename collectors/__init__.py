"""One module per platform: each fetches from the platform's real client library and turns
its objects into the archive's records (`collectors.base`). None of them writes SQL."""
