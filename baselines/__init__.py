"""CrossClaim baselines (the package ``crossclaim.baselines``): one module per system, same interface.

Each system module defines one ``crossclaim.systems.base.System``; the other modules are rules the
systems share (``figures``: figure spans and their values). Which systems exist is said once, by the
registry ``crossclaim.systems.registry.BUILTIN`` (name -> ``module:class``), and what each does by the
README's table of systems, so no list here can go stale; a test checks that every system defined here
is registered.
"""
