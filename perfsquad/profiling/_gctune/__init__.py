"""The collector tunings ``perfsquad.audit.gcadvice`` measures (this directory goes on ``PYTHONPATH``)."""
