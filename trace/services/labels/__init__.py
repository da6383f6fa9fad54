"""QR codes as data: issuing batch and unit codes, print runs, and the job that renders a run's
sheets with the pure engine in :mod:`trace.labels`."""
