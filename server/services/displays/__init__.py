"""Displays (issue 4): configuration, enrolment, manifests, slides, reports.

Modules: ``config`` (staff side), ``enrolment`` (D6), ``snapshot`` and ``manifest``
(what a player gets, cached per change), ``slides`` (rendering), ``warnings`` (the
priority channel's slot), ``reports`` (heartbeats, proof of play, acks, outages).
"""
