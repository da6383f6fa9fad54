"""What gunicorn and ``flask --app wsgi`` load."""

import gc

from trace import create_app
from trace.config import prepare_instance

app = create_app()
prepare_instance(app)
# Everything loaded so far lives as long as the process: keep it out of the garbage collector's
# full passes, which would otherwise walk it again and again while pages are served.
gc.freeze()
