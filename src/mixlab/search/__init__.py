"""Cheap mixture search: a few proxy runs through ``study``, surrogates fitted on them, every candidate
mixture predicted with an interval, a recommendation for the user's objective, and a validation against a
full grid. It sits above ``study`` and beside ``analysis``; the report reads its output files.
"""
