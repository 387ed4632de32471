"""Environment defaults for the test run, set before pytest-django reads the settings (loaded with `-p`).

Q_BROKER=orm: the suite's tests read the queued tasks off the ORM broker (each test database its own queue),
also on the PostgreSQL + Redis run where REDIS_URL would otherwise choose Redis. The tests of the Redis
broker (tests/summaries/test_worker_scale.py) choose it themselves.
"""

import os

os.environ.setdefault("Q_BROKER", "orm")
