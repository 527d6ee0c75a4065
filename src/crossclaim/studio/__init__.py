"""Label Studio round trips: a local server, an API client, and push / pull."""
