import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procuresync.settings")
application = get_wsgi_application()

# What is loaded by now (Django, our modules: about 100,000 objects) lives as long as the process,
# yet every full garbage collection scanned it: a pause of about 65 ms every twenty-odd requests of
# a list page on our 2-core machine, the whole of the Payments page's p95 tail in bench/lists.py.
# Frozen, a full collection takes about 10 ms (gc.freeze, Python 3.7+).
gc.freeze()
