"""Training on Apache Spark.

:mod:`bookrec.spark.job` is the PySpark program that ``bookrec train --engine spark`` submits
with ``spark-submit`` (the CLI carries its own copy of it). It is a standalone script: it imports
nothing from bookrec, so it runs on any Spark cluster whose Python has PySpark. Its output, an
export directory, becomes an ordinary bookrec model file with ``bookrec import-spark DIR --out
MODEL``.
"""

from pathlib import Path

#: Path of the job script, e.g. for ``spark-submit "$(python -c ...)" --ratings ...``.
JOB_PATH = Path(__file__).with_name("job.py")

__all__ = ["JOB_PATH"]
