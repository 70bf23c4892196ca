"""Memory rules (MEM): leaks, unbounded caches, needless materialization."""
