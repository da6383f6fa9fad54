"""What gunicorn and ``flask --app wsgi`` load."""

from trace import create_app
from trace.config import prepare_instance

app = create_app()
prepare_instance(app)
