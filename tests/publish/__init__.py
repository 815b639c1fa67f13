"""
Tests of L{txdane.publish} and C{txdane publish}.
"""
