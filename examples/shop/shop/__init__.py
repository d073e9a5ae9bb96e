"""An example shop that binds rulec to its own models (docs/adopting.md)."""
