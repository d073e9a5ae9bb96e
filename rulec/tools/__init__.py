"""The analyst's tools, each a caller of the one checked rule set and the one ``decide``."""
