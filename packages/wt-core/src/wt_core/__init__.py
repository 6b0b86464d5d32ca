"""wt-core: manifests, output directories, CLI plumbing and tracking helpers shared by every WildTrain tool.

Importing it loads no heavy library (no torch, mlflow, ultralytics, lightning).
"""

__version__ = "0.1.0"
