"""The syntax tree's nodes: the fast constructor the parser uses builds the same nodes."""

from hypothesis import given
from hypothesis import strategies as st

from rulec.dsl.nodes import Comment, Name, Span, comment_at, name_at


@given(
    text=st.text(min_size=1, max_size=20),
    line=st.integers(min_value=1, max_value=10**6),
    column=st.integers(min_value=1, max_value=10**4),
)
def test_name_at_builds_what_the_constructors_build(text, line, column):
    fast = name_at(text, "f.rules", line, column)
    slow = Name(text, span=Span("f.rules", line, column, line, column + len(text)))
    assert fast == slow and fast.span == slow.span
    assert repr(fast) == repr(slow) and hash(fast) == hash(slow)
    assert type(fast) is Name and type(fast.span) is Span


@given(
    text=st.text(max_size=20).map(lambda s: "#" + s),
    line=st.integers(min_value=1, max_value=10**6),
    column=st.integers(min_value=1, max_value=10**4),
)
def test_comment_at_builds_what_the_constructors_build(text, line, column):
    fast = comment_at(text, "f.rules", line, column)
    slow = Comment(text, span=Span("f.rules", line, column, line, column + len(text)))
    assert fast == slow and fast.span == slow.span
    assert repr(fast) == repr(slow) and hash(fast) == hash(slow)
    assert type(fast) is Comment and type(fast.span) is Span
