"""I/O rules (IO): N+1 queries and calls, blocking I/O in async code."""
