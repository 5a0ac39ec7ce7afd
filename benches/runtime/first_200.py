#!/usr/bin/env python3
"""Prints the milliseconds from starting CMD to URL's first 200, polling every
millisecond (a curl per poll costs ~5 ms and blurs a 20 ms start), to 0.1 ms, then stops
CMD. Usage: first_200.py URL CMD [ARGS...]"""
import http.client
import subprocess
import sys
import time
import urllib.parse

url = urllib.parse.urlsplit(sys.argv[1])
start = time.monotonic()
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while True:
        if proc.poll() is not None:
            sys.exit(f"{sys.argv[2]} exited with {proc.returncode} before answering")
        if time.monotonic() - start > 600:
            sys.exit(f"no 200 from {sys.argv[1]} within 600 s")
        try:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
            conn.request("GET", url.path or "/")
            if conn.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.001)
        finally:
            conn.close()
    print(f"{(time.monotonic() - start) * 1000:.1f}")
finally:
    proc.terminate()
    proc.wait()
