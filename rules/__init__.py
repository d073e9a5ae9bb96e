"""The rule files rulec ships, installed with it as package data.

``rulec.shipped_rules()`` gives their folder wherever rulec is installed, so
``rulec demo`` and the README's examples run from any folder.
"""
