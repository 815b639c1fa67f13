"""
An on-path attacker between the validator and a signed test hierarchy.

L{tests.attack.world} builds the hierarchy (the one of L{txdane.testing}, plus parents that
were signed before a child zone was split out of them, whose old records an attacker keeps);
L{tests.attack.attacker} rewrites every response with material an attacker could have;
L{tests.attack.trials} runs seeded trials and sorts their outcomes. The property: a C{secure}
result is always the honest answer.

    python -m tests.attack --trials 100000 --seed 1
"""
