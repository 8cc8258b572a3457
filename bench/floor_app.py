"""The framework floor: a bare Flask endpoint returning constant JSON, served exactly like the
registry, so the benchmark can say what the registry costs on top of Flask + gunicorn."""

from flask import Flask

app = Flask(__name__)


@app.get("/floor")
def floor():
    return {"status": "matched", "facility_id": 1, "name": "constant"}
