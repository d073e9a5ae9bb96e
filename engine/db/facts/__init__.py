"""The fact catalog: every fact the engine reads from the database, each defined once.

* :mod:`.catalog`: the definitions (meaning, value from a row in memory, SQL expression);
* :mod:`.sql`: the subjects facts are read about, as SQL, and the SQL pieces they share;
* :mod:`.row`: the single-row reader (one order or label holder, as ``Engine.fire`` reads it);
* :mod:`.batch`: the batch readers (pages of orders or customers; labels of many rows);
* :mod:`.binding`: the mapped classes the readers go through (the reference models).
"""
