"""The rules service: pure functions over plain values plus policy as data.

Nothing in this package touches a database session, HTTP or the wall clock; the
caller passes the current instant in. The same rules run in the API, the SLA
sweeper and the reports.
"""
