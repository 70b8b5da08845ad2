"""gunicorn's production settings: `gunicorn -c python:studio.gunicorn_conf studio.wsgi`.

Threaded workers: a request checking a large upload holds one thread while the process's other
threads go on answering, since Pillow, zlib and hashlib let go of the GIL while they decode,
inflate and hash (with sync workers, 4 large uploads held all 4 workers and a plain GET waited
up to 16 s). How many uploads a process checks at once is DELIVERY_UPLOAD_CHECKS_PER_PROCESS.
Anything here can be overridden on the command line (`--workers 4`, `--threads 16`).
"""

worker_class = "gthread"
threads = 8
