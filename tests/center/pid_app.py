"""A WSGI app that answers with the id of the process serving it (the benchmark harness's tests)."""

import os
import time


def application(environ, start_response):
    time.sleep(0.05)  # long enough for every connection to be open while the others are served
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
