"""An extension that fails on import: it must be reported and skipped."""

raise RuntimeError("ext_broken is broken on purpose")
