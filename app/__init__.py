"""Salesflow: a B2B sales-process backend that enforces the sales SOP."""
