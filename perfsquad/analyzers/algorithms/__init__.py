"""Algorithm rules (ALG): complexity traps, and the Big-O estimator (``complexity``)."""
