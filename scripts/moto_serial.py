"""moto_server, but DynamoDB requests run one at a time.

moto's DynamoDB has no locks: under werkzeug's threaded server two concurrent
UpdateItem ADDs (or two conditional PutItems) can both read the old item, which
real DynamoDB never allows. Serialising only DynamoDB keeps SQS long polls concurrent.
Usage: python moto_serial.py HOST PORT
"""
import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialised(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with lock:
            # Drain the body inside the lock: the response is built lazily otherwise.
            return list(app(environ, start_response))
    return app(environ, start_response)


if __name__ == "__main__":
    run_simple(sys.argv[1], int(sys.argv[2]), serialised, threaded=True,
               request_handler=MotoRequestHandler)
