"""Algorithm rules (ALG): complexity traps (the Big-O estimator is ``perfsquad.semantics.complexity``)."""
