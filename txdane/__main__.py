"""
C{python -m txdane}: the same as the C{txdane} command.
"""

from txdane.cli import run

run()
