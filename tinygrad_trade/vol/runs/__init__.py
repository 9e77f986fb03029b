"""The runs layer: how forecasts are produced at scale.

``walkforward`` (the protocol, jobs and tasks), ``universe`` (many assets, pooled models), ``sweep`` (assets x
models x seeds), ``cluster`` (where tasks run: here, a process pool, Dask), ``persistence`` (saved models).
Imports the models, features and data layers; never the report or the jobs.
"""
