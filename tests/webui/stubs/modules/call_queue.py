"""Mirrors ``modules/call_queue.py``: ``queue_lock``, held by every generation and API job."""
import threading

queue_lock = threading.Lock()
