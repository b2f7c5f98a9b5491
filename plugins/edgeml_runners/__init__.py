"""Built-in runners: ``host`` (the host C compiler) and ``emulator`` (arm-none-eabi-gcc + unicorn).

A runner builds an :class:`edgeml.Program` for a target and puts examples
through its entry point; see :mod:`edgeml_runners.host` and
:mod:`edgeml_runners.emulator_runner`.
"""
