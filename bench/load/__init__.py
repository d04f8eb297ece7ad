"""python -m bench.load: the patient pages under gunicorn at rising concurrency."""
