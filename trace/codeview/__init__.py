"""The read model of a scanned code: one view of a code (resolve it, read its freshness and
scan statistics, record the scan: :func:`pageview.view_code`, :func:`pageview.view_serial`,
:func:`pageview.view_lot`) and everything that keeps that one call cheap and true.

- :mod:`pageview`: the view itself, one statement on PostgreSQL, the portable path elsewhere;
- :mod:`live`, :mod:`changes`, :mod:`scanbuffer`: what a process remembers between views, the
  change feed that keeps it true, and the buffer that writes scans in batches;
- :mod:`scans`: scans and their statistics (and the consumers' reports' rate limit);
- :mod:`store`, :mod:`ledgercheck`: pages stored for every worker and the continuous ledger
  verifier behind the "checked at" mark.

Why a package of its own, beside ``services/`` rather than inside it: the services are
stateless domain logic called with a session; this holds process state tied to the app's life
(threads, a listening connection, remembered codes, a scan buffer started and stopped by
``gunicorn.conf.py``) and reads the app's settings. It sits between the services (which it
uses: :mod:`trace.services.lookup` for the page data) and ``public/`` (which keeps only HTTP:
negotiation, conditional GET, rendering); it imports neither ``public/`` nor Flask's request.
"""
