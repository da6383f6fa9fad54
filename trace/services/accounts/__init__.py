"""Console accounts: users, passwords, server-side sessions (and, in later modules, one-time
links and the sign-in throttle). The console calls these; the CLI too (``user create``)."""
