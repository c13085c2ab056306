#!/usr/bin/env python3
"""Moves the inline script Trunk writes into the built index.html (the module that loads the wasm)
into a file of its own, named by its content's hash, with the service worker's registration
appended: the console then runs under a Content-Security-Policy that allows no inline script.

Usage: boot-script.py DIST_DIR SW_REGISTER_JS
"""
import hashlib
import pathlib
import re
import sys

dist, register = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
index = dist / "index.html"
html = index.read_text()
inline = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)
found = [m for m in inline.finditer(html) if "src=" not in m.group("attrs")]
if len(found) != 1 or 'type="module"' not in found[0].group("attrs"):
    sys.exit(f"error: expected Trunk's one inline module script in {index}, found {len(found)} inline scripts")
body = found[0].group("body").strip() + "\n\n" + register.read_text()
name = f"boot-{hashlib.sha256(body.encode()).hexdigest()[:16]}.js"
(dist / name).write_text(body)
index.write_text(html[: found[0].start()] + f'<script type="module" src="/{name}"></script>' + html[found[0].end() :])
print(f"moved the inline script to {name}")
