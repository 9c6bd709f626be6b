"""Trainers: the pipelines that turn data into models (the tabular trainer lives in ``tabular``)."""
