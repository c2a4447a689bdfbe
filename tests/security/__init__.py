"""Security tests: crafted model files must never run code through sdkit.

:mod:`tests.security.payloads` builds the payload corpus; ``test_payloads.py``
proves each attack runs code through plain PySD and that sdkit never lets it.
"""
