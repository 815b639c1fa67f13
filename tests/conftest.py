"""
Shared pytest configuration.
"""
