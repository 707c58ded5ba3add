"""What the daemon and the commands do with the archive: collect, refresh, fetch media, schedule."""
